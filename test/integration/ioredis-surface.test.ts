import { Command, Redis, type RedisOptions } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailoverRedis, type FailoverRedisOptions } from '../../src/index.js';
import { startReplicaSet, type ReplicaSet } from '../../src/testing/index.js';
import { compareOn, expectSame } from '../helpers/parity.js';
import { direct } from '../helpers/redis.js';

/**
 * The same steps against plain ioredis (one connection to the master) and FailoverRedis, on real
 * servers, compared — with reads on the master, and with the defaults (reads on the replicas).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Client = any;

let set: ReplicaSet;
beforeAll(async () => {
  set = await startReplicaSet({ replicas: 2 });
});
afterAll(async () => {
  await set?.stop();
});

const hostPort = () => ({ host: set.master.slice(0, set.master.lastIndexOf(':')), port: Number(set.master.slice(set.master.lastIndexOf(':') + 1)) });

type Maker = (redisOptions?: RedisOptions) => Client;
const clients: Record<string, Maker> = {
  ioredis: (redisOptions = {}) => new Redis({ ...hostPort(), ...redisOptions }),
  'FailoverRedis (readFrom master)': (redisOptions = {}) => quiet(new FailoverRedis({ nodes: [set.master], readFrom: 'master', redisOptions })),
  'FailoverRedis (defaults)': (redisOptions = {}) => quiet(new FailoverRedis({ nodes: [set.replicas[0]!], redisOptions })),
};

function quiet(c: FailoverRedis): FailoverRedis {
  c.on('error', () => undefined);
  return c;
}

async function flush(): Promise<void> {
  const conn = direct(set.master);
  await conn.flushall();
  await conn.wait(2, 1000);
  conn.disconnect();
}

/** Run `steps` on each kind of client (fresh ones, flushed data between) and return the results by kind. */
const compare = (steps: (make: Maker) => Promise<unknown>): Promise<Record<string, unknown>> => compareOn(clients, flush, steps);

const errorOf = (e: unknown) => [(e as Error).constructor.name === 'ReplyError' ? 'ReplyError' : 'Error', (e as Error).message];
const settle = (p: Promise<unknown>) => p.then((v) => ['ok', v], (e: unknown) => ['error', ...errorOf(e)]);
const pairs = (r: [Error | null, unknown][] | null) => r?.map(([e, v]) => (e ? ['error', e.message] : ['ok', v])) ?? null;

describe('pipelines and transactions, as ioredis', () => {
  it('inline transactions (pipeline().multi()…exec()…exec()), batches, length, transformers inside', async () => {
    expectSame(
      await compare(async (make) => {
        const redis = make();
        const out: unknown[] = [];
        await redis.hset('h', { a: '1' });
        const p = redis.pipeline().set('a', '1').multi().incr('a').hgetall('h').exec().get('a');
        out.push(p.length);
        out.push(pairs(await p.exec()));
        const m = redis.multi().set('b', '1').hgetall('h');
        out.push(m.length);
        out.push(pairs(await m.exec()));
        out.push(pairs(await redis.pipeline([['set', 'c', '1'], ['hgetall', 'h'], ['incr', 'c']]).exec()));
        out.push(pairs(await redis.multi([['incr', 'c'], ['hgetall', 'h']]).exec()));
        // An error inside a transaction, and one when a command is queued.
        out.push(await settle(redis.multi().set('t', 'x').lpush('t', 'y').exec().then(pairs)));
        out.push(await settle(redis.multi().set('t', 'x').call('NOSUCH').exec().then(pairs)));
        const used = redis.pipeline().get('a');
        await used.exec();
        out.push(await settle(used.exec()));
        await redis.quit();
        return out;
      }),
    );
  });

  it('scripts in pipelines: loaded on a fresh connection, EVAL again after SCRIPT FLUSH', async () => {
    expectSame(
      await compare(async (make) => {
        const redis = make();
        const out: unknown[] = [];
        redis.defineCommand('twice', { numberOfKeys: 1, lua: "return {redis.call('INCR', KEYS[1]), redis.call('INCR', KEYS[1])}" });
        out.push(pairs(await redis.pipeline().twice('s').twice('s').exec()));
        out.push(pairs(await redis.multi().twice('s').exec()));
        const admin = direct(set.master);
        await admin.script('FLUSH');
        admin.disconnect();
        out.push(pairs(await redis.pipeline().twice('s').exec()));
        out.push(await redis.twice('s'));
        await redis.quit();
        return out;
      }),
    );
  });

  it('commands defined from redisOptions.scripts', async () => {
    const scripts = { greet: { numberOfKeys: 0, lua: "return 'hello'" } };
    expectSame(
      await compare(async (make) => {
        const redis = make({ scripts });
        const out = [await redis.greet(), typeof redis.greetBuffer];
        await redis.quit();
        return out;
      }),
    );
  });
});

describe('status, events and closing, as ioredis', () => {
  it('goes through the same statuses and events, in the same order, from construction to quit', async () => {
    expectSame(
      await compare(async (make) => {
        const redis = make({ lazyConnect: true });
        const seen: string[] = [`status:${redis.status}`];
        for (const event of ['wait', 'connecting', 'connect', 'ready', 'close', 'reconnecting', 'end']) redis.on(event, () => seen.push(event));
        await sleep(10);
        await redis.set('k', 'v'); // connects on first use
        seen.push(`status:${redis.status}`);
        await redis.quit();
        await sleep(50);
        seen.push(`status:${redis.status}`);
        return seen;
      }),
    );
  });

  it("after quit() and disconnect() commands reject with ioredis's 'Connection is closed.'", async () => {
    const results = await compare(async (make) => {
      const a = make();
      await a.ping();
      await a.quit();
      const b = make();
      await b.ping();
      b.disconnect();
      await sleep(20);
      return [await settle(a.get('k')), await settle(b.get('k')), await settle(a.pipeline().get('k').exec().then(pairs)), await settle(a.multi().get('k').exec())];
    });
    expectSame(results);
    const redis = quiet(new FailoverRedis({ nodes: [set.master] }));
    await redis.quit();
    await expect(redis.get('k')).rejects.toMatchObject({ code: 'ERR_CLOSED', message: 'Connection is closed.' });
  });

  it('disconnect(true) drops the connection and reconnects; commands meanwhile wait and go', async () => {
    expectSame(
      await compare(async (make) => {
        const redis = make();
        await redis.set('k', 'v');
        redis.disconnect(true);
        const out = [await redis.get('k'), await redis.set('k', 'w'), await redis.get('k')];
        await redis.quit();
        return out;
      }),
    );
  });

  it('a dropped connection: the same statuses in the same order, and commands go on', async () => {
    const results: Record<string, unknown> = {};
    for (const [name, make] of Object.entries(clients)) {
      const redis = make();
      await redis.set('k', 'v');
      const seen: string[] = [];
      for (const event of ['connecting', 'connect', 'ready', 'close', 'reconnecting', 'end']) redis.on(event, () => seen.push(event));
      const admin = direct(set.master);
      await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      admin.disconnect();
      const deadline = Date.now() + 5000;
      while (!seen.includes('ready') && Date.now() < deadline) await sleep(20);
      results[name] = [[...seen], await redis.get('k'), redis.status];
      await redis.quit();
    }
    expectSame(results);
  });

  it('enableOfflineQueue: false rejects commands while not ready, with ioredis’s message', async () => {
    const results = await compare(async (make) => {
      const redis = make({ enableOfflineQueue: false, lazyConnect: true });
      const early = [await settle(redis.get('k')), await settle(redis.pipeline().get('k').exec().then(pairs)), await settle(redis.multi().get('k').exec())];
      // The first command connected it (lazyConnect): once ready, commands go.
      if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
      const later = await settle(redis.set('k', 'v'));
      await redis.quit();
      return [early, later];
    });
    expectSame(results);
  });

  it('commandTimeout applies to commands sent (a paused master)', async () => {
    const results: Record<string, unknown> = {};
    for (const [name, make] of Object.entries(clients).slice(0, 2)) {
      const redis = make({ commandTimeout: 100 });
      await redis.ping();
      const admin = direct(set.master);
      await admin.client('PAUSE', 400, 'ALL');
      results[name] = await settle(redis.get('k'));
      await sleep(400);
      admin.disconnect();
      await redis.quit();
    }
    expectSame(results);
  });
});

describe('members, as ioredis', () => {
  it('duplicate(override) takes ioredis options; options shows what was passed over ioredis’s defaults', async () => {
    const results = await compare(async (make) => {
      const redis = make({ connectionName: 'app' });
      const dup = redis.duplicate({ connectionName: 'worker', maxRetriesPerRequest: null, enableReadyCheck: false });
      await dup.ping();
      const o = dup.options;
      const picked = [o.connectionName, o.maxRetriesPerRequest, o.enableReadyCheck, o.enableOfflineQueue, o.db, o.keyPrefix, o.connectTimeout, redis.options.connectionName];
      const list = (await dup.client('LIST')) as string;
      const named = /name=worker\b/.test(list);
      await dup.quit();
      await redis.quit();
      return [picked, named, redis.isCluster, typeof redis.autoPipelineQueueSize];
    });
    expectSame(results);
  });

  it.each([{}, { protocol: 2 as const }])('subscriber mode %j: other commands rejected as on ioredis (RESP2), quit works while subscribed', async (options) => {
    expectSame(
      await compare(async (make) => {
        const sub = make(options);
        const out: unknown[] = [sub.mode];
        out.push(await sub.subscribe('c1'), sub.mode);
        out.push(await settle(sub.get('k')));
        out.push(await sub.ssubscribe('s1'));
        out.push(await sub.unsubscribe(), await sub.sunsubscribe(), sub.mode);
        out.push(await sub.get('k'));
        out.push(await sub.subscribe('c2'));
        out.push(await sub.quit());
        return out;
      }),
    );
  });

  it('subscriptions come back after a reconnect to the same node, as on ioredis', async () => {
    const results: Record<string, unknown> = {};
    for (const [name, make] of Object.entries(clients)) {
      const sub = make();
      const pub = make();
      const got: string[] = [];
      sub.on('message', (channel: string, message: string) => got.push(`${channel}:${message}`));
      sub.on('smessage', (channel: string, message: string) => got.push(`s/${channel}:${message}`));
      await sub.subscribe('c');
      await sub.ssubscribe('sc');
      await pub.publish('c', 'before');
      await pub.spublish('sc', 'before');
      await sleep(50);
      const admin = direct(set.master);
      await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      admin.disconnect();
      // Published until the resubscription is in: then both messages arrive.
      const deadline = Date.now() + 5000;
      for (let i = 0; !got.includes(`c:after`) && Date.now() < deadline; i++) {
        await pub.publish('c', 'after');
        await sleep(50);
      }
      await pub.spublish('sc', 'after');
      await sleep(100);
      results[name] = [...new Set(got)].sort();
      await sub.quit();
      await pub.quit();
    }
    expectSame(results);
  });

  it('monitor() watches the master', async () => {
    expectSame(
      await compare(async (make) => {
        const redis = make();
        const monitor = await redis.monitor();
        const seen: string[] = [];
        monitor.on('monitor', (_time: string, args: string[]) => seen.push(args.join(' ')));
        await redis.set('watched', 'v');
        await sleep(100);
        monitor.disconnect();
        await redis.quit();
        return [monitor.mode, seen.filter((s) => s.includes('watched'))];
      }),
    );
  });

  it('is a Node EventEmitter: max listeners, prepend, raw listeners, counts, names, off', async () => {
    expectSame(
      await compare(async (make) => {
        const redis = make({ lazyConnect: true });
        const order: string[] = [];
        redis.setMaxListeners(42);
        const a = () => order.push('a');
        redis.on('x', a);
        redis.prependListener('x', () => order.push('first'));
        redis.prependOnceListener('x', () => order.push('once'));
        redis.emit('x');
        redis.emit('x');
        const out = [redis.getMaxListeners(), order, redis.listenerCount('x'), redis.rawListeners('x').length, redis.eventNames().includes('x')];
        redis.off('x', a);
        out.push(redis.listenerCount('x'));
        await redis.connect();
        // A member libraries reach for: the socket.
        out.push(redis.stream?.writable);
        redis.disconnect();
        return out;
      }),
    );
  });

  it('addBuiltinCommand and Command reply transformers work as on ioredis', async () => {
    Command.setReplyTransformer('echo', (reply: unknown) => {
      if (String(reply) === 'boom') throw new Error('transformer failed');
      return `<${String(reply)}>`;
    });
    try {
      expectSame(
        await compare(async (make) => {
          const redis = make();
          redis.addBuiltinCommand('echo');
          const out = [
            await redis.echo('x'),
            await settle(redis.echo('boom')),
            pairs(await redis.pipeline().echo('y').echo('boom').exec()),
            pairs(await redis.multi().echo('z').echo('boom').exec()),
          ];
          await redis.quit();
          return out;
        }),
      );
    } finally {
      Command.setReplyTransformer('echo', (reply: unknown) => reply);
    }
  });
});

describe('read-your-writes for writes not yet answered (defaults: reads on the replicas)', () => {
  it('a read issued after a write on the same client sees it: not awaited, Promise.all, callbacks, call(), Buffers', async () => {
    await flush();
    const options: FailoverRedisOptions = { nodes: [set.master] };
    const redis = quiet(new FailoverRedis(options));
    await redis.connect();
    await redis.set('warm', '1');
    await redis.wait(2, 1000);
    await sleep(200);
    let stale = 0;
    for (let i = 0; i < 300; i++) {
      redis.set(`a:${i}`, String(i));
      if ((await redis.get(`a:${i}`)) !== String(i)) stale++;
      const [, got] = await Promise.all([redis.incr(`b:${i}`), redis.get(`b:${i}`)]);
      if (got !== '1') stale++;
      const viaCallbacks = await new Promise((resolve) => {
        redis.hset(`c:${i}`, 'f', String(i), () => undefined);
        redis.hget(`c:${i}`, 'f', (_e: Error | null | undefined, v?: string | null) => resolve(v));
      });
      if (viaCallbacks !== String(i)) stale++;
      redis.call('SET', `d:${i}`, String(i));
      if ((await redis.call('GET', `d:${i}`)) !== String(i)) stale++;
      redis.set(Buffer.from(`e:${i}`), Buffer.from([i % 256]));
      const buf = await redis.getBuffer(`e:${i}`);
      if (buf === null || buf[0] !== i % 256) stale++;
    }
    expect(stale).toBe(0);
    // Reads of keys written long ago still go to the replicas.
    const before = await replicaGets();
    for (let i = 0; i < 50; i++) expect(await redis.get('warm')).toBe('1');
    expect((await replicaGets()) - before).toBeGreaterThanOrEqual(45);
    await redis.quit();
  });
});

async function replicaGets(): Promise<number> {
  let n = 0;
  for (const replica of set.replicas) {
    const conn = direct(replica);
    const stats = (await conn.info('commandstats')) as string;
    conn.disconnect();
    n += Number(/cmdstat_get:calls=(\d+)/.exec(stats)?.[1] ?? 0);
  }
  return n;
}
