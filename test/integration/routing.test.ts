import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailoverRedis, NoReplicaError } from '../../src/index.js';
import { startReplicaSet, type ReplicaSet } from '../../src/testing/index.js';
import { commandCalls, resetStats, waitForReplication } from '../helpers/redis.js';

let set: ReplicaSet;
const clients: FailoverRedis[] = [];
function client(options: ConstructorParameters<typeof FailoverRedis>[1] & object): FailoverRedis {
  const c = new FailoverRedis(options);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  set = await startReplicaSet({ replicas: 2 });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
  await set?.stop();
});

describe('discovery', () => {
  it('finds the master and every replica from one replica seed', async () => {
    const redis = client({ nodes: [set.replicas[1]!] });
    await redis.connect();
    const t = redis.topology();
    expect(t.source).toBe('nodes');
    expect(t.master?.address).toBe(set.master);
    expect(t.master).toMatchObject({ role: 'master', up: true });
    expect(t.replicas.map((r) => r.address).sort()).toEqual([...set.replicas].sort());
    for (const r of t.replicas) expect(r).toMatchObject({ role: 'replica', up: true, linkStatus: 'up', masterAddress: set.master });
    expect(typeof t.master?.latencyMs).toBe('number');
  });

  it('skips an unreachable seed', async () => {
    const redis = client({ nodes: ['127.0.0.1:1', set.master] });
    await redis.connect();
    expect(redis.topology().master?.address).toBe(set.master);
  });
});

describe('routing, proven by each node\'s INFO commandstats', () => {
  it('readFrom replica: GETs only on the replicas, spread within ±10%; SETs on the master', async () => {
    const redis = client({ nodes: [set.master], readFrom: 'replica' });
    await redis.connect();
    await redis.set('routing:k', 'v');
    await waitForReplication(set.master, 2);
    await resetStats(set.nodes);
    for (let i = 0; i < 300; i++) expect(await redis.get('routing:k')).toBe('v');
    await redis.set('routing:k2', 'v2');
    const gets = await commandCalls(set.nodes, 'get');
    expect(gets[set.master]).toBe(0);
    for (const r of set.replicas) expect(Math.abs(gets[r]! - 150)).toBeLessThanOrEqual(15);
    expect((await commandCalls([set.master], 'set'))[set.master]).toBe(1);
  });

  it('readFrom master and withReadFrom views', async () => {
    const redis = client({ nodes: [set.replicas[0]!], readFrom: 'master' });
    await redis.connect();
    await resetStats(set.nodes);
    await redis.get('x');
    await redis.withReadFrom('replica').get('x');
    await redis.withReadFrom('replica').get('x');
    const gets = await commandCalls(set.nodes, 'get');
    expect(gets[set.master]).toBe(1);
    expect(gets[set.replicas[0]!]! + gets[set.replicas[1]!]!).toBe(2);
  });

  it('pipelines: reads only → a replica; any write → the master; MULTI → the master', async () => {
    const redis = client({ nodes: [set.master], readFrom: 'replica' });
    await redis.connect();
    await resetStats(set.nodes);
    await redis.pipeline().get('a').get('b').exists('c').exec();
    await redis.pipeline().get('a').set('b', '1').exec();
    await redis.multi().get('a').get('b').exec();
    const gets = await commandCalls(set.nodes, 'get');
    expect(gets[set.master]).toBe(1 + 2);
    expect(gets[set.replicas[0]!]! + gets[set.replicas[1]!]!).toBe(2);
    expect((await commandCalls([set.master], 'exec'))[set.master]).toBe(1);
  });

  it('EVAL and FCALL go to the master, EVAL_RO to a replica', async () => {
    const redis = client({ nodes: [set.master], readFrom: 'replica' });
    await redis.connect();
    await resetStats(set.nodes);
    await redis.eval('return 1', 0);
    await redis.eval_ro("return redis.call('GET', KEYS[1])", 1, 'a');
    expect((await commandCalls(set.nodes, 'eval'))[set.master]).toBe(1);
    const ro = await commandCalls(set.nodes, 'eval_ro');
    expect(ro[set.master]).toBe(0);
    expect(ro[set.replicas[0]!]! + ro[set.replicas[1]!]!).toBe(1);
  });

  it('a blocking command gets its own connection and does not stall the others', async () => {
    const redis = client({ nodes: [set.master] });
    await redis.connect();
    const blocked = redis.blpop('routing:queue', 5);
    const started = Date.now();
    await redis.set('routing:other', '1');
    expect(await redis.withReadFrom('master').get('routing:other')).toBe('1');
    expect(Date.now() - started).toBeLessThan(1000);
    await redis.lpush('routing:queue', 'job');
    expect(await blocked).toEqual(['routing:queue', 'job']);
  });
});

describe('no eligible replica', () => {
  let lone: ReplicaSet;
  beforeAll(async () => {
    lone = await startReplicaSet({ replicas: 0 });
  });
  afterAll(async () => {
    await lone?.stop();
  });

  it('replicaPreferred falls back to the master; replica rejects at once with ERR_NO_REPLICA', async () => {
    const redis = client({ nodes: [lone.master] });
    await redis.set('k', 'v');
    expect(await redis.get('k')).toBe('v');
    const started = Date.now();
    const error = await redis.withReadFrom('replica').get('k').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoReplicaError);
    expect((error as NoReplicaError).code).toBe('ERR_NO_REPLICA');
    expect(Date.now() - started).toBeLessThan(500);
  });
});

describe('connect()', () => {
  it('resolves when the master is ready even if a replica is down, and rejects when no member answers', async () => {
    const partial = await startReplicaSet({ replicas: 2 });
    try {
      await partial.kill(partial.replicas[0]!);
      const redis = client({ nodes: [partial.master] });
      redis.on('error', () => undefined);
      await expect(redis.connect()).resolves.toBeUndefined();
      expect(redis.status).toBe('ready');
    } finally {
      await partial.stop();
    }
    const nobody = client({ nodes: ['127.0.0.1:1'], redisOptions: { lazyConnect: true, connectTimeout: 200 } });
    nobody.on('error', () => undefined);
    expect(nobody.status).toBe('wait');
    await expect(nobody.connect()).rejects.toThrow(/No member of the replica set answered/);
  });
});

describe('poolSize', () => {
  it('opens that many shared connections per node', async () => {
    const redis = client({ nodes: [set.master], readFrom: 'master', poolSize: 3, redisOptions: { connectionName: 'pooled' } });
    await redis.connect();
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => redis.set(`pool:${i}`, String(i))));
    expect(results.every((r) => r === 'OK')).toBe(true);
    const list = (await redis.client('LIST')) as string;
    const named = list.split('\n').filter((line) => line.includes('name=pooled'));
    // 3 shared data connections, plus the control connection.
    expect(named.length).toBeGreaterThanOrEqual(4);
  });
});
