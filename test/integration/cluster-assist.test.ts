import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailoverCluster } from '../../src/index.js';
import { slotOf } from '../../src/cluster/slot.js';
import { startCluster, type Cluster } from '../../src/testing/index.js';

let cluster: Cluster;
const clients: FailoverCluster[] = [];

beforeAll(async () => {
  // The default node-timeout: without help the cluster would wait 15 s before it elects.
  cluster = await startCluster({ shards: 3, replicasPerShard: 1, nodeTimeoutMs: 15_000 });
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await cluster?.stop();
});

describe('failover: { assist: true }', () => {
  it('asks the witness replica to take over (CLUSTER FAILOVER FORCE) once the master is down for downAfterMs', async () => {
    // Several clients: the request is idempotent, they converge on the same replica.
    for (let i = 0; i < 3; i++) {
      const c = new FailoverCluster({ nodes: cluster.masters, failover: { assist: true, downAfterMs: 1000 }, commandTimeoutMs: 15_000 });
      c.on('error', () => {});
      await c.connect();
      clients.push(c);
    }
    const fc = clients[0]!;
    const victim = cluster.shards[0]!;
    let key = '';
    for (let i = 0; !key; i++) if (victim.slots.some(([a, b]) => slotOf(`assist:${i}`) >= a && slotOf(`assist:${i}`) <= b)) key = `assist:${i}`;
    await fc.set(key, '0');
    const killedAt = performance.now();
    await cluster.kill(victim.master);
    const outcomes: Array<string | number> = [];
    // Commands issued during the outage are held, then answered by the new master.
    const held = Array.from({ length: 20 }, (_, i) =>
      delay(i * 50).then(() => fc.incr(key).then((v) => v, (e: { code?: string }) => e.code ?? 'error')),
    );
    outcomes.push(...(await Promise.all(held)));
    const resumedMs = performance.now() - killedAt;
    expect(outcomes.every((o) => typeof o === 'number')).toBe(true);
    // Well before the 15 s node-timeout.
    expect(resumedMs).toBeLessThan(8000);
    expect(fc.topology().shards[0]!.master?.address).toBe(victim.replicas[0]);
    if (process.env['CLUSTER_TEST_LOG']) console.log('assisted failover: writes resumed', Math.round(resumedMs), 'ms after kill -9');
  });
});
