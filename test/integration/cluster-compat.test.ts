import { Cluster as IoCluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailoverCluster } from '../../src/index.js';
import { startCluster, type Cluster } from '../../src/testing/index.js';

// The same steps against plain ioredis `Cluster` and FailoverCluster, on the same real cluster
// (each client its own key space), and their results compared.

let cluster: Cluster;
let io: IoCluster;
let fc: FailoverCluster;

const hostPort = (a: string) => ({ host: a.slice(0, a.lastIndexOf(':')), port: Number(a.slice(a.lastIndexOf(':') + 1)) });

/** Typed as ioredis's: FailoverCluster has the same command methods. */
type Client = IoCluster;

/** An outcome, comparable across clients: a value, or an error's class and message. */
async function outcome(p: Promise<unknown> | unknown): Promise<unknown> {
  try {
    const value = await p;
    return { value: normalise(value) };
  } catch (error) {
    return { error: (error as Error).constructor.name, message: (error as Error).message };
  }
}

function normalise(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalise);
  if (v instanceof Error) return { error: v.constructor.name, message: v.message };
  return v;
}

/** The steps, on keys under `p` (a hash tag, so the multi-key steps stay in one slot). */
async function steps(c: Client, p: string, of: Client): Promise<Record<string, unknown>> {
  const k = (name: string): string => `{${p}}:${name}`;
  const other = of.duplicate();
  other.on('error', () => {});
  const r: Record<string, unknown> = {};
  try {
    r['set'] = await outcome(c.set(k('s'), '1'));
    r['set nx'] = await outcome(c.set(k('s'), '2', 'NX'));
    r['incr'] = await outcome(c.incr(k('s')));
    r['get'] = await outcome(c.get(k('s')));
    r['getBuffer'] = await outcome(c.getBuffer(k('s')));
    r['wrongtype'] = await outcome(c.hget(k('s'), 'f'));
    r['hset'] = await outcome(c.hset(k('h'), { a: '1', b: '2' }));
    r['hgetall'] = await outcome(c.hgetall(k('h')));
    r['mset'] = await outcome(c.mset(k('m1'), 'x', k('m2'), 'y'));
    r['mget'] = await outcome(c.mget(k('m1'), k('m2'), k('none')));
    r['crossslot'] = await outcome(c.mget(`{${p}a}x`, `{${p}b}y`));
    r['exists'] = await outcome(c.exists(k('m1'), k('m2'), k('none')));
    r['expire/ttl'] = await outcome(c.expire(k('m1'), 100).then(() => c.ttl(k('m1'))));
    r['zadd/zrange'] = await outcome(c.zadd(k('z'), '1', 'a', '2', 'b').then(() => c.zrange(k('z'), '0', '-1', 'WITHSCORES')));
    r['xadd/xlen'] = await outcome(c.xadd(k('x'), '*', 'f', 'v').then(() => c.xlen(k('x'))));
    r['blpop timeout'] = await outcome(c.blpop(k('q'), 0.1));
    // Key names in replies differ by client: `{io}:q`, `{fc}:q` → `{*}:q`.
    r['rpush/blpop'] = await outcome(c.rpush(k('q'), 'v').then(async () => (await c.blpop(k('q'), 1))?.map((x) => x.replace(`{${p}}`, '{*}'))));
    r['eval'] = await outcome(c.eval("return redis.call('GET', KEYS[1])", 1, k('s')));
    r['call'] = await outcome(c.call('GET', k('s')));
    r['pipeline'] = await outcome(c.pipeline().set(k('p'), 'v').get(k('p')).incr(k('p')).exec());
    r['multi'] = await outcome(c.multi().set(k('t'), '1').incr(k('t')).exec());
    r['multi error'] = await outcome(c.multi().set(k('t'), '1').hget(k('t'), 'f').exec());
    // WATCH…MULTI…EXEC: untouched, it runs; touched by another client, EXEC answers null.
    await c.watch(k('w'));
    r['watch ok'] = await outcome(c.multi().set(k('w'), '1').exec());
    await c.watch(k('w'));
    await other.set(k('w'), 'other');
    r['watch conflict'] = await outcome(c.multi().set(k('w'), '2').exec());
    r['watch after'] = await outcome(c.get(k('w')));
    r['ping'] = await outcome(c.ping());
    r['unknown'] = await outcome(c.call('NOSUCHCOMMAND'));
    r['del'] = await outcome(c.del(k('s'), k('h')));
    r['nodes'] = of.nodes('master').length;
  } finally {
    other.disconnect();
  }
  return r;
}

beforeAll(async () => {
  cluster = await startCluster({ shards: 3, replicasPerShard: 1, nodeTimeoutMs: 1000 });
  io = new IoCluster(cluster.masters.map(hostPort));
  io.on('error', () => {});
  fc = new FailoverCluster({ nodes: [cluster.masters[0]!] });
  fc.on('error', () => {});
  await fc.connect();
});
afterAll(async () => {
  io?.disconnect();
  fc?.disconnect();
  await cluster?.stop();
});

describe('FailoverCluster against ioredis Cluster, step by step', () => {
  it('the same results and errors, the defaults (replicaPreferred + read-your-writes) and readFrom master', async () => {
    const theirs = await steps(io, 'io', io);
    const ours = await steps(fc as unknown as Client, 'fc', fc as unknown as Client);
    const master = await steps(fc.withReadFrom('master') as unknown as Client, 'fm', fc as unknown as Client);
    expect(ours).toEqual(theirs);
    expect(master).toEqual(theirs);
    // The steps meant something: errors where Redis gives them, values elsewhere.
    expect(theirs['crossslot']).toMatchObject({ message: expect.stringMatching(/^CROSSSLOT/) });
    expect(theirs['wrongtype']).toMatchObject({ message: expect.stringMatching(/^WRONGTYPE/) });
    expect(theirs['watch conflict']).toEqual({ value: null });
    expect(theirs['watch after']).toEqual({ value: 'other' });
  });

  it("a Node EventEmitter as ioredis Cluster is, whose status libraries may write (BullMQ sets 'end' after quit)", () => {
    for (const c of [io, fc] as Array<{ getMaxListeners(): number; setMaxListeners(n: number): unknown; status: string }>) {
      c.setMaxListeners(c.getMaxListeners() + 5);
      expect(c.getMaxListeners()).toBeGreaterThan(5);
    }
    const status = fc.status;
    expect(() => ((fc as unknown as { status: string }).status = 'end')).not.toThrow();
    // Ours to keep: the write is ignored.
    expect(fc.status).toBe(status);
  });
});
