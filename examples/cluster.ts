/**
 * Redis Cluster: FailoverCluster on an embedded 3-shard cluster (one replica each). Reads go to
 * each shard's replica (the servers count them), a read right after a write sees it, and when a
 * shard master is killed its writes are held, not failed, until the cluster has elected the
 * replica — asked to at once by `failover: { assist: true }` instead of waiting out the cluster's
 * node-timeout (set to the default 15 s here).
 * Run: npx tsx examples/cluster.ts
 */
import { Redis } from 'ioredis';
import { FailoverCluster } from 'redis-failover';
import { startCluster } from 'redis-failover/testing';

/** How many GETs `address` has run, from its own `INFO commandstats`. */
async function gets(address: string): Promise<number> {
  const [host, port] = address.split(':');
  const node = new Redis({ host, port: Number(port), lazyConnect: true, retryStrategy: () => null });
  try {
    await node.connect();
    return Number(/cmdstat_get:calls=(\d+)/.exec(await node.info('commandstats'))?.[1] ?? 0);
  } finally {
    node.disconnect();
  }
}

const cluster = await startCluster({ shards: 3, replicasPerShard: 1, nodeTimeoutMs: 15_000 });
const fc = new FailoverCluster({ nodes: [cluster.masters[0]!], failover: { assist: true, downAfterMs: 1000 } });
fc.on('error', () => undefined);
try {
  await fc.connect();
  for (const [i, shard] of fc.topology().shards.entries()) {
    console.log(`shard ${i}: slots ${shard.slots.map(([a, b]) => `${a}-${b}`).join(',')}, master ${shard.master?.address}, replicas ${shard.replicas.map((r) => r.address).join(', ')}`);
  }

  // Read-your-writes: each value read right after its write (on the master until a replica has it).
  const keys = Array.from({ length: 30 }, (_, i) => `user:${i}`);
  let stale = 0;
  for (const key of keys) {
    await fc.set(key, key);
    if ((await fc.get(key)) !== key) stale++;
  }
  console.log(`30 writes, each read back at once: ${stale} stale`);
  // Later reads go to the replicas of each key's shard.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const before = await Promise.all(cluster.nodes.map(gets));
  for (let round = 0; round < 5; round++) await Promise.all(keys.map((k) => fc.get(k)));
  const after = await Promise.all(cluster.nodes.map(gets));
  for (const [i, address] of cluster.nodes.entries()) {
    console.log(`${cluster.masters.includes(address) ? 'master ' : 'replica'} ${address}: ${after[i]! - before[i]!} GETs`);
  }

  // Kill a shard master under writes.
  fc.on('failover', (e) => console.log(`failover event: ${e.from} -> ${e.to} in ${e.durationMs} ms (${e.reason})`));
  const victim = cluster.shards[0]!;
  // A key of the victim's shard: the cluster says which slot a key has.
  let key = '';
  for (const k of keys) {
    const slot = Number(await fc.call('CLUSTER', 'KEYSLOT', k));
    if (victim.slots.some(([a, b]) => slot >= a && slot <= b)) {
      key = k;
      break;
    }
  }
  let acknowledged = 0;
  const errors: string[] = [];
  let running = true;
  let lastAck = performance.now();
  let longestGap = 0;
  const writer = (async () => {
    while (running) {
      try {
        await fc.incr(`{${key}}:visits`);
        acknowledged++;
        const now = performance.now();
        longestGap = Math.max(longestGap, now - lastAck);
        lastAck = now;
      } catch (error) {
        errors.push(`${(error as { code?: string }).code ?? (error as Error).message}`);
      }
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const killedAt = performance.now();
  await cluster.kill(victim.master);
  console.log(`killed the shard master ${victim.master} (cluster-node-timeout 15000 ms)`);
  while (fc.topology().shards.find((s) => s.slots.length > 0 && s.slots[0]![0] === victim.slots[0]![0])?.master?.address === victim.master) {
    if (performance.now() - killedAt > 20_000) throw new Error('no failover within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  running = false;
  await writer;
  console.log(`writes: ${acknowledged} acknowledged, ${errors.length} errors${errors.length ? ` (${errors.join(', ')})` : ''}; longest wait ${Math.round(longestGap)} ms`);
  console.log(`visits on the new master: ${await fc.withReadFrom('master').get(`{${key}}:visits`)}`);
} finally {
  fc.disconnect();
  await cluster.stop();
}
