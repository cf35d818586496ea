/**
 * Read policies, proven by the servers themselves: each phase resets every node's statistics
 * (`CONFIG RESETSTAT`), sends 10 GETs, and reads back how many GETs each node ran (`INFO commandstats`).
 *   - the default policy, `replicaPreferred`: round robin over the replicas;
 *   - `withReadFrom('master')`, per call, over the same connections: the master;
 *   - a client made with `readFrom: 'replica'`: the replicas only;
 * and, once both replicas are gone, `replicaPreferred` falls back to the master while `replica`
 * rejects at once with ERR_NO_REPLICA.
 * Run: npx tsx examples/read-from.ts
 */
import { Redis } from 'ioredis';
import { FailoverRedis, NoReplicaError } from 'redis-failover';
import { startReplicaSet } from 'redis-failover/testing';

function connectTo(address: string): Redis {
  const [host, port] = address.split(':');
  return new Redis({ host, port: Number(port) });
}

const set = await startReplicaSet({ replicas: 2 });
const nodes = set.nodes.map((address) => ({ address, label: address === set.master ? 'master ' : 'replica', conn: connectTo(address) }));

/** Runs `reads` with fresh statistics and prints how many GETs each server says it ran. */
async function phase(title: string, reads: () => Promise<unknown>): Promise<void> {
  await Promise.all(nodes.map((n) => n.conn.config('RESETSTAT')));
  await reads();
  const counts = await Promise.all(
    nodes.map(async (n) => Number(/cmdstat_get:calls=(\d+)/.exec(await n.conn.info('commandstats'))?.[1] ?? 0)),
  );
  console.log(`${title.padEnd(34)} ${nodes.map((n, i) => `${n.label} ${n.address}: ${counts[i]}`).join(' | ')}`);
}

const tenGets = async (client: { get(key: string): Promise<string | null> }) => {
  for (let i = 0; i < 10; i++) await client.get('greeting');
};

const redis = new FailoverRedis({ nodes: [set.master] }); // default readFrom: 'replicaPreferred'
const replicaOnly = new FailoverRedis({ nodes: [set.master], readFrom: 'replica' });
// The replicas are killed below: their connection errors are expected here (unhandled, they are printed, as ioredis does).
for (const client of [redis, replicaOnly]) client.on('error', () => undefined);
try {
  // Another service wrote the key (reads of keys this client wrote itself would follow
  // read-your-writes and could go to the master until the replicas have applied them).
  const master = nodes[0]!.conn;
  await master.set('greeting', 'hello');
  await master.wait(2, 1000); // both replicas have it
  await Promise.all([redis.connect(), replicaOnly.connect()]);

  console.log('GETs per server, as each one counts them in INFO commandstats:');
  await phase(`default (replicaPreferred)`, () => tenGets(redis));
  await phase(`withReadFrom('master')`, () => tenGets(redis.withReadFrom('master')));
  await phase(`readFrom: 'replica'`, () => tenGets(replicaOnly));

  // Lose both replicas: the policies now differ.
  for (const n of nodes.splice(1)) {
    n.conn.disconnect();
    await set.kill(n.address);
  }
  await Promise.all([redis.refreshTopology(), replicaOnly.refreshTopology()]);
  console.log('both replicas killed:');
  await phase(`  default (replicaPreferred)`, () => tenGets(redis));
  try {
    await replicaOnly.get('greeting');
    console.log(`  readFrom: 'replica': GET answered (unexpected)`);
  } catch (error) {
    if (!(error instanceof NoReplicaError)) throw error;
    console.log(`  readFrom: 'replica': GET rejected with ${error.code}: ${error.message}`);
  }
} finally {
  for (const n of nodes) n.conn.disconnect();
  await Promise.all([redis.quit(), replicaOnly.quit()]);
  await set.stop();
}
