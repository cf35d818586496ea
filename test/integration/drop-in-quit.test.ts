import { Redis, type RedisOptions } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { FailoverRedis } from '../../src/index.js';
import { startReplicaSet, type ReplicaSet } from '../../src/testing/index.js';
import { compareOn, errorsOnClose, expectSame, recorder, unhandledErrors } from '../helpers/parity.js';
import { direct } from '../helpers/redis.js';

/**
 * quit(), a second quit(), and `error` events nobody listens to: the same steps against plain
 * ioredis (one connection to the master) and FailoverRedis, on real servers, compared — results,
 * the order in which they settle, events, errors.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Client = any;

const PASSWORD = 'quit-test-s3cret';
let set: ReplicaSet;
let locked: ReplicaSet;
beforeAll(async () => {
  [set, locked] = await Promise.all([startReplicaSet({ replicas: 1 }), startReplicaSet({ replicas: 0, password: PASSWORD })]);
});
afterAll(async () => {
  await Promise.all([set?.stop(), locked?.stop()]);
});
afterEach(() => {
  vi.restoreAllMocks();
});

const hostPort = (a: string) => ({ host: a.slice(0, a.lastIndexOf(':')), port: Number(a.slice(a.lastIndexOf(':') + 1)) });

type Maker = (redisOptions?: RedisOptions) => Client;
const clients: Record<string, Maker> = {
  ioredis: (redisOptions = {}) => new Redis({ ...hostPort(set.master), ...redisOptions }),
  'FailoverRedis (readFrom master)': (redisOptions = {}) => new FailoverRedis({ nodes: [set.master], readFrom: 'master', redisOptions }),
  'FailoverRedis (defaults)': (redisOptions = {}) => new FailoverRedis({ nodes: [set.replicas[0]!], redisOptions }),
};

async function flush(): Promise<void> {
  const conn = direct(set.master);
  await conn.flushall();
  await conn.wait(1, 1000);
  conn.disconnect();
}

/** Run `steps` on each kind of client (a fresh one, data flushed before) and return the results by kind. */
const compare = (steps: (make: Maker) => Promise<unknown>, kinds?: string[]): Promise<Record<string, unknown>> => compareOn(clients, flush, steps, kinds);

const STATUS_EVENTS = ['wait', 'connecting', 'connect', 'ready', 'close', 'reconnecting', 'end'];

/** A log of `redis`'s status events and each promise as it settles, in order. */
const record = (redis: Client): ReturnType<typeof recorder> => recorder(redis, STATUS_EVENTS);

const stored = async (...keys: string[]) => {
  const conn = direct(set.master);
  const values = await conn.mget(...keys);
  conn.disconnect();
  return values;
};

describe('quit() on a client that has not connected yet, as ioredis', () => {
  // Reads on the master only: with reads on the replicas, a GET issued right after a SET while the
  // client connects may reach a replica that is ready before the SET reaches the master (a
  // read-your-writes gap in dispatch, reported apart; about 1 run in 15).
  it.each([false, true])('lazyConnect %s: the commands issued before quit() are sent and answered, then it quits', async (lazyConnect) => {
    expectSame(
      await compare(async (make) => {
        const redis = make({ lazyConnect });
        const { log, track } = record(redis);
        // Not awaited: the client is still connecting (or waiting, lazily) when quit() is called.
        // Batches are compared by result, not by when they settle: ioredis settles a pipeline a
        // few promise hops after its replies (after QUIT's, here); the wire order is the same.
        const batches = Promise.all([redis.pipeline().incr('n').get('k').exec(), redis.multi().incr('n').get('n').exec()]);
        await Promise.all([track('set', redis.set('k', 'v')), track('incr', redis.incr('n')), track('get', redis.get('k')), track('quit', redis.quit())]);
        const results = await batches;
        await sleep(50);
        return [log, results, redis.status, await stored('k', 'n')];
      }, ['ioredis', 'FailoverRedis (readFrom master)']),
    );
  });

  it.each([false, true])('lazyConnect %s: with nothing to send, quit() (twice) resolves at once, and commands after it reject', async (lazyConnect) => {
    expectSame(
      await compare(async (make) => {
        const redis = make({ lazyConnect });
        const { log, track } = record(redis);
        await Promise.all([track('quit', redis.quit()), track('quit again', redis.quit()), track('get', redis.get('k'))]);
        await sleep(50);
        return [log, redis.status, await track('after end', redis.quit()).then(() => log.at(-1))];
      }),
    );
  });

  it('disconnect() before connecting: the same statuses, and commands reject', async () => {
    expectSame(
      await compare(async (make) => {
        const out: unknown[] = [];
        for (const lazyConnect of [false, true]) {
          const redis = make({ lazyConnect });
          const { log, track } = record(redis);
          redis.disconnect();
          await track('get', redis.get('k'));
          await sleep(50);
          out.push([log, redis.status]);
        }
        return out;
      }),
    );
  });
});

describe('a second quit(), as ioredis', () => {
  it("rejects with 'Connection is closed.': issued with the first, after it, and once ended", async () => {
    expectSame(
      await compare(async (make) => {
        const redis = make();
        await redis.ping();
        const { log, track } = record(redis);
        await Promise.all([track('quit', redis.quit()), track('quit again', redis.quit())]);
        const later = make();
        await later.ping();
        const second = record(later);
        await second.track('quit', later.quit());
        await second.track('quit after its reply', later.quit());
        await sleep(50);
        await second.track('quit once ended', later.quit());
        await second.track('get once ended', later.get('k'));
        return [log, second.log, redis.status, later.status];
      }),
    );
  });

  it('after disconnect() on a connected client, quit() resolves (nothing is sent) and commands reject', async () => {
    expectSame(
      await compare(async (make) => {
        const redis = make();
        await redis.ping();
        const { log, track } = record(redis);
        redis.disconnect();
        await Promise.all([track('quit', redis.quit()), track('get', redis.get('k'))]);
        await sleep(50);
        return [log, redis.status];
      }),
    );
  });
});

describe("'error' events nobody listens to, as ioredis", () => {
  const lockedClients: Record<string, (password: string, listen: boolean) => Client> = {
    ioredis: (password) => new Redis({ ...hostPort(locked.master), password }),
    FailoverRedis: (password) => new FailoverRedis({ nodes: [locked.master], redisOptions: { password } }),
  };

  /** console.error's calls, and the errors heard, while a client with a wrong password tries. */
  const printed = (make: (password: string, listen: boolean) => Client, listen: boolean) => unhandledErrors(() => make('wrong-password-4711', listen), listen);

  it("are printed with console.error as '[<library>] Unhandled error event: <stack>', without the password", async () => {
    const out: Record<string, unknown> = {};
    for (const [name, make] of Object.entries(lockedClients)) {
      const { calls } = await printed(make, false);
      expect(calls.length, name).toBeGreaterThan(0);
      const [prefix, stack] = calls[0] as [string, string];
      expect(typeof stack, name).toBe('string');
      expect(JSON.stringify(calls), name).not.toContain('wrong-password-4711');
      expect(JSON.stringify(calls), name).not.toContain(PASSWORD);
      // The error's class and message: the stack's first line.
      out[name] = [prefix.replace('[ioredis]', '[<library>]').replace('[redis-failover]', '[<library>]'), stack.split('\n')[0]];
    }
    expect(out['ioredis']).toEqual(['[<library>] Unhandled error event:', expect.stringMatching(/^ReplyError: WRONGPASS/)]);
    // The same line, with this library's typed error for refused credentials (ERR_AUTH), which says WRONGPASS too.
    expect(out['FailoverRedis']).toEqual(['[<library>] Unhandled error event:', expect.stringMatching(/^AuthError: .*\(WRONGPASS\)/)]);
  });

  it('are emitted, not printed, when someone listens', async () => {
    for (const [name, make] of Object.entries(lockedClients)) {
      const { calls, heard } = await printed(make, true);
      expect(calls, name).toEqual([]);
      // ioredis's ReplyError; this library's AuthError (code ERR_AUTH), whose message says WRONGPASS.
      expect(heard[0]?.message, name).toMatch(/WRONGPASS/);
    }
  });

  it('nothing is printed for closing a client (quit, disconnect) before or after it connected', async () => {
    const out: Record<string, unknown> = {};
    for (const [name, make] of Object.entries(clients)) out[name] = await errorsOnClose(make, 'k', 100);
    expectSame(out);
    expect(out['ioredis']).toEqual([]);
  });
});
