import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailoverRedis } from '../../src/index.js';
import { startReplicaSet, type ReplicaSet } from '../../src/testing/index.js';
import { direct } from '../helpers/redis.js';

/**
 * Code written for `new Redis(...)`, run unchanged against plain ioredis and FailoverRedis: the
 * results must be identical. (`any`: the point is that the same untyped-at-the-edges code runs.)
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Client = any;

async function scenario(redis: Client): Promise<unknown[]> {
  const out: unknown[] = [];
  const settle = (p: Promise<unknown>) => p.then((v) => ['ok', v], (e: Error) => ['error', e.constructor.name, e.message]);
  out.push(await redis.set('s', 'hello'));
  out.push(await redis.get('s'));
  out.push(await redis.getBuffer('s'));
  out.push(await redis.set('s2', Buffer.from([0, 1, 2, 255])));
  out.push(await redis.getBuffer('s2'));
  out.push(await redis.hset('h', { a: 1, b: 'two' }));
  out.push(await redis.hset('h2', new Map([['x', '1']])));
  out.push(await redis.hgetall('h'));
  out.push(await redis.mset({ m1: '1', m2: '2' }));
  out.push(await redis.mget('m1', 'm2', 'missing'));
  out.push(await redis.mget(['m1', 'm2']));
  out.push(await redis.incr('n'), await redis.incrby('n', 10), await redis.incrbyfloat('n', 0.5));
  out.push(await redis.rpush('l', 'a', 'b', 'c'), await redis.lrange('l', 0, -1));
  out.push(await redis.zadd('z', 1, 'one', 2, 'two'), await redis.zrange('z', 0, -1, 'WITHSCORES'));
  out.push(await redis.expire('s', 100), await redis.ttl('s'));
  out.push(await redis.call('SET', 'c', 'called'), await redis.call('GET', 'c'));
  out.push(await redis.exists('s', 'c', 'nope'));
  out.push(await settle(redis.incr('s')));
  out.push(await settle(redis.call('NOSUCHCOMMAND')));
  out.push(await redis.pipeline().set('p', '1').incr('p').get('p').hgetall('h').exec());
  out.push(await redis.pipeline([['set', 'pb', 'x'], ['get', 'pb']]).exec());
  out.push(await redis.pipeline().get('p').incr('s').get('p').exec().then((r: [Error | null, unknown][]) => r.map(([e, v]) => [e?.message ?? null, v])));
  out.push(await redis.multi().set('t', '1').incr('t').get('t').exec());
  out.push(await redis.multi([['incr', 't'], ['get', 't']]).exec());
  out.push(await settle(redis.multi().set('t', '1').lpush('t', 'x').exec().then((r: [Error | null, unknown][]) => r.map(([e, v]) => [e?.message ?? null, v]))));
  out.push(await redis.xadd('st', '1-1', 'f', 'v'), await redis.xrange('st', '-', '+'));
  out.push(await redis.sadd('set', 'a', 'b'), (await redis.smembers('set')).sort());
  redis.defineCommand('getTwice', { numberOfKeys: 1, lua: "return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[1])}" });
  out.push(await redis.getTwice('p'));
  out.push(await redis.pipeline().getTwice('p').get('p').exec());
  out.push(
    await new Promise((resolve) => redis.get('p', (err: Error | null, value: unknown) => resolve([err, value]))),
  );
  const keys: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const stream = redis.scanStream({ match: '*', count: 5 });
    stream.on('data', (batch: string[]) => keys.push(...batch));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  out.push(keys.sort());
  const fields: string[] = [];
  for await (const batch of redis.hscanStream('h')) fields.push(...batch);
  out.push(fields);
  out.push(await redis.watch('t'), await redis.get('t'), await redis.multi().set('t', '9').exec(), await redis.get('t'));
  out.push(await redis.multi({ pipeline: false }), await redis.set('mp', '1'), await redis.incr('mp'), await redis.exec());
  out.push(await redis.eval("return {KEYS[1], ARGV[1]}", 1, 'k', 'v'));
  out.push(await redis.evalsha('0000000000000000000000000000000000000000', 0).catch((e: Error) => e.message));

  const sub = redis.duplicate();
  const messages: unknown[] = [];
  sub.on('message', (channel: string, message: string) => messages.push(['message', channel, message]));
  sub.on('pmessage', (pattern: string, channel: string, message: string) => messages.push(['pmessage', pattern, channel, message]));
  out.push(await sub.subscribe('news', 'sport'));
  out.push(await sub.psubscribe('n*'));
  out.push(await redis.publish('news', 'hi'));
  await new Promise((r) => setTimeout(r, 100));
  out.push(messages.sort());
  out.push(await sub.unsubscribe('news'));
  await sub.quit();
  out.push(await redis.quit());
  // ioredis resolves QUIT before its socket closes; both are 'end' once it has.
  await new Promise((r) => setTimeout(r, 50));
  out.push(redis.status);
  return out;
}

let set: ReplicaSet;
beforeAll(async () => {
  set = await startReplicaSet({ replicas: 1 });
});
afterAll(async () => {
  await set?.stop();
});

async function flush() {
  const conn = direct(set.master);
  await conn.flushall();
  conn.disconnect();
}

describe('drop-in: the same code against ioredis and FailoverRedis', () => {
  it('gives identical results', async () => {
    await flush();
    const [host, port] = [set.master.split(':')[0], Number(set.master.split(':')[1])];
    const expected = await scenario(new Redis({ host, port }));
    await flush();
    const actual = await scenario(new FailoverRedis({ nodes: [set.replicas[0]!], readFrom: 'master' }));
    expect(actual).toEqual(expected);
  });

  it('applies redisOptions (keyPrefix, db) like ioredis does', async () => {
    await flush();
    const redis = new FailoverRedis({ nodes: [set.master], readFrom: 'master', redisOptions: { keyPrefix: 'app:', db: 2 } });
    await redis.set('k', 'v');
    expect(await redis.get('k')).toBe('v');
    await redis.quit();
    const check = direct(set.master, { db: 2 });
    expect(await check.get('app:k')).toBe('v');
    check.disconnect();
  });
});
