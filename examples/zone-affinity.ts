/**
 * Zone-affine reads, proven by the servers themselves (`INFO commandstats`, reset before each
 * phase): a master and three replicas spread over three availability zones — given by the `zones`
 * option, since Redis cannot report a zone (Valkey 8.1+ does, with its `availability-zone` config).
 *   - a client in az1 with `readFrom: 'zoneAffinity'`: its GETs on the two az1 replicas only;
 *   - both az1 replicas killed: the GETs go to the replica of another zone;
 *   - that one killed too: to the master.
 * Run: npx tsx examples/zone-affinity.ts
 */
import { Redis } from 'ioredis';
import { FailoverRedis } from 'redis-failover';
import { startReplicaSet } from 'redis-failover/testing';

const set = await startReplicaSet({ replicas: 3 });
const [a, b, c] = set.replicas as [string, string, string];
const zones: Record<string, string> = { [set.master]: 'az3', [a]: 'az1', [b]: 'az1', [c]: 'az2' };
const conns = new Map(set.nodes.map((address) => {
  const [host, port] = address.split(':');
  return [address, new Redis({ host, port: Number(port) })];
}));

/** Ten GETs with fresh statistics, and how many GETs each live server says it ran. */
async function phase(title: string, redis: FailoverRedis): Promise<void> {
  await Promise.all([...conns.values()].map((conn) => conn.config('RESETSTAT')));
  for (let i = 0; i < 10; i++) await redis.get('greeting');
  const counts = await Promise.all(
    [...conns].map(async ([address, conn]) => {
      const calls = Number(/cmdstat_get:calls=(\d+)/.exec(await conn.info('commandstats'))?.[1] ?? 0);
      return `${address === set.master ? 'master ' : 'replica'} ${zones[address]} ${address}: ${calls}`;
    }),
  );
  console.log(`${title.padEnd(28)} ${counts.join(' | ')}`);
}

async function kill(...addresses: string[]): Promise<void> {
  for (const address of addresses) {
    conns.get(address)!.disconnect();
    conns.delete(address);
    await set.kill(address);
  }
}

// In az1; the replicas are killed below, so no fence: the master keeps taking writes without them.
const redis = new FailoverRedis({ nodes: [set.master], readFrom: 'zoneAffinity', zone: 'az1', zones, fencing: false });
redis.on('error', () => undefined); // the killed replicas' connection errors are expected here
try {
  const master = conns.get(set.master)!;
  await master.set('greeting', 'hello');
  await master.wait(3, 1000); // every replica has it
  await redis.connect();
  console.log('GETs per server (role, zone, address), as each one counts them in INFO commandstats:');
  await phase('client in az1', redis);
  await kill(a, b);
  await redis.refreshTopology();
  await phase('az1 replicas killed', redis);
  await kill(c);
  await redis.refreshTopology();
  await phase('every replica killed', redis);
} finally {
  for (const conn of conns.values()) conn.disconnect();
  await redis.quit();
  await set.stop();
}
