/**
 * Quick start: point FailoverRedis at any one member of a replica set; writes go to the master,
 * reads to the replicas — as each server's own INFO commandstats shows.
 * Run: npx tsx examples/quick-start.ts
 */
import { Redis } from 'ioredis';
import { FailoverRedis } from 'redis-failover';
import { startReplicaSet } from 'redis-failover/testing';

const set = await startReplicaSet({ replicas: 2 });
const direct = (address: string) => new Redis(Number(address.split(':')[1]), address.split(':')[0]!);
const redis = new FailoverRedis({ nodes: [set.replicas[0]!] }); // any one member will do
try {
  await redis.connect();
  const { master, replicas } = redis.topology();
  console.log(`discovered master ${master?.address} and replicas ${replicas.map((r) => r.address).join(', ')}`);

  // Written by another client (and replicated): this client's own writes are read back from the
  // master, or from a replica known to have them (read-your-writes).
  const other = direct(set.master);
  await other.set('greeting', 'hello');
  await other.wait(2, 1000);
  other.disconnect();
  for (const address of set.nodes) {
    const node = direct(address);
    await node.config('RESETSTAT');
    node.disconnect();
  }
  for (let i = 0; i < 10; i++) await redis.get('greeting');
  await redis.withReadFrom('master').get('greeting');

  for (const address of set.nodes) {
    const node = direct(address);
    const gets = /cmdstat_get:calls=(\d+)/.exec(await node.info('commandstats'))?.[1] ?? '0';
    console.log(`${address === set.master ? 'master ' : 'replica'} ${address}: ${gets} GETs`);
    node.disconnect();
  }
} finally {
  await redis.quit();
  await set.stop();
}
