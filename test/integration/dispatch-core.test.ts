import { Redis, type RedisOptions } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { FailoverRedis, FailoverRedisError, NotReplicatedError, type ConnectionPurpose } from '../../src/index.js';
import { parseInfo } from '../../src/topology/info-parser.js';
import type { HostPort } from '../../src/topology/address.js';
import { commandCalls, direct, resetStats } from '../helpers/redis.js';
import { resources } from '../helpers/resources.js';

const { client, replicaSet } = resources();

/** Every time each node saw `command`: executed, failed or rejected (Redis 7's commandstats). */
async function commandSeen(address: string, command: string): Promise<number> {
  const conn = direct(address);
  try {
    const entry = parseInfo(await conn.info('commandstats'))[`cmdstat_${command}`];
    if (!entry) return 0;
    return ['calls', 'rejected_calls', 'failed_calls'].reduce((n, field) => n + Number(new RegExp(`${field}=(\\d+)`).exec(entry)?.[1] ?? 0), 0);
  } finally {
    conn.disconnect();
  }
}

describe('views compose', () => {
  it('withDurability(d).withReadFrom(p) and withReadFrom(p).withDurability(d) both keep both settings', async () => {
    const set = await replicaSet({ replicas: 2 });
    const redis = client({ nodes: [set.master] });
    await redis.connect();
    await resetStats(set.nodes);
    const durable = { replicas: 1, timeoutMs: 1000 };
    await redis.withDurability(durable).withReadFrom('master').set('v:1', 'a');
    await redis.withReadFrom('master').withDurability(durable).set('v:2', 'b');
    // One WAIT per durable write, on the master, right behind it.
    expect((await commandCalls([set.master], 'wait'))[set.master]).toBe(2);
    // And the read policy of the view: these reads go to the master, not to the replicas.
    for (let i = 0; i < 10; i++) {
      expect(await redis.withDurability(durable).withReadFrom('master').get('v:1')).toBe('a');
      expect(await redis.withReadFrom('master').withDurability(durable).get('v:2')).toBe('b');
    }
    const gets = await commandCalls(set.nodes, 'get');
    expect(gets[set.master]).toBe(20);
    expect(gets[set.replicas[0]!]! + gets[set.replicas[1]!]!).toBe(0);
  });
});

describe('blocking commands go through the same routing', () => {
  it('a blocking read right after a write honours read-your-writes; blocking reads of old data still go to replicas', async () => {
    const set = await replicaSet({ replicas: 1 });
    const replica = set.replicas[0]!;
    const redis = client({ nodes: [set.master] });
    await redis.connect();
    await redis.xadd('old', '*', 'f', 'v');
    await redis.wait(1, 1000);
    await sleep(200); // let the session learn the replica caught up
    await resetStats(set.nodes);
    for (let i = 0; i < 20; i++) expect(await redis.xread('COUNT', 1, 'BLOCK', 1, 'STREAMS', 'old', '0')).not.toBeNull();
    expect((await commandCalls([replica], 'xread'))[replica]).toBe(20);
    // The replica stops: it cannot have the next write. A blocking read of it must not go there.
    set.pause(replica);
    try {
      await redis.xadd('new', '*', 'n', '1');
      const read = redis.xread('COUNT', 1, 'BLOCK', 1000, 'STREAMS', 'new', '0');
      const entries = await Promise.race([read, sleep(500).then(() => 'no answer: sent to the stopped replica')]);
      expect(entries).toEqual([['new', [[expect.any(String), ['n', '1']]]]]);
    } finally {
      set.resume(replica);
    }
  });

  it('blocking writes, WATCH and MULTI wait during a switchover and run on the new master only', async () => {
    const set = await replicaSet({ replicas: 1 });
    const [oldMaster, target] = [set.master, set.replicas[0]!];
    // The target's catch-up check is made slow (300 ms) through the connection factory, a real
    // connection with one method delayed: the switchover then holds writes for that long.
    let slow = false;
    const factory = (node: HostPort, _purpose: ConnectionPurpose, options: RedisOptions): Redis => {
      const conn = new Redis({ ...options, host: node.host, port: node.port });
      if (`${node.host}:${node.port}` === target && _purpose === 'control') {
        const info = conn.info.bind(conn) as (...args: unknown[]) => Promise<string>;
        (conn as unknown as { info: (...args: unknown[]) => Promise<string> }).info = async (...args: unknown[]) => {
          if (slow && args[0] === 'replication') await sleep(300);
          return info(...args);
        };
      }
      return conn;
    };
    const redis = new FailoverRedis({ nodes: [oldMaster] }, undefined, { connectionFactory: factory });
    redis.on('error', () => undefined);
    try {
      await redis.rpush('src', 'a', 'b');
      await redis.wait(1, 1000);
      await resetStats([oldMaster, target]);
      slow = true;
      const switched = redis.switchover({ to: target });
      await sleep(100); // the switchover is under way: CLIENT PAUSE sent, the target being checked
      const moved = redis.blmove('src', 'dst', 'LEFT', 'RIGHT', 1);
      const watched = redis.watch('w');
      const opened = redis.multi({ pipeline: false });
      const queued = redis.set('w', 'in-tx');
      const executed = redis.exec();
      const result = await switched;
      slow = false;
      expect(result.to).toBe(target);
      expect(await moved).toBe('a');
      expect(await watched).toBe('OK');
      expect(await opened).toBe('OK');
      expect(await queued).toBe('QUEUED');
      expect(await executed).toEqual([[null, 'OK']]);
      for (const command of ['blmove', 'watch', 'multi', 'exec']) {
        expect(await commandSeen(oldMaster, command)).toBe(0);
        expect(await commandSeen(target, command)).toBe(1);
      }
      expect(await redis.withReadFrom('master').get('w')).toBe('in-tx');
    } finally {
      await redis.quit();
    }
  });
});

describe('outcomes', () => {
  it('a write rejected with NotReplicatedError is on the master, and read-your-writes knows it', async () => {
    const set = await replicaSet({ replicas: 1 });
    const redis = client({ nodes: [set.master] });
    await redis.set('nr', 'old');
    await redis.wait(1, 1000);
    await sleep(200);
    const replica = set.replicas[0]!;
    set.pause(replica);
    try {
      const error = await redis.withDurability({ replicas: 1, timeoutMs: 100 }).set('nr', 'new').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NotReplicatedError);
      // The replica has not applied it (it is stopped): this read must not go there.
      const read = await Promise.race([redis.get('nr'), sleep(1000).then(() => 'no answer: sent to the stopped replica')]);
      expect(read).toBe('new');
    } finally {
      set.resume(replica);
    }
  });

  it('SELECT reaches the idle leased connections too: a blocking command after it runs in the new database', async () => {
    const set = await replicaSet({ replicas: 1 });
    const redis = client({ nodes: [set.master], readFrom: 'master' });
    await redis.blpop('nothing', 0.01); // leases a blocking connection, then keeps it idle in db 0
    expect(await redis.select(3)).toBe('OK');
    await redis.rpush('q', 'v', 'w');
    expect(await redis.blpop('q', 1)).toEqual(['q', 'v']);
    const db0 = direct(set.master);
    const db3 = direct(set.master, { db: 3 });
    try {
      expect(await db3.lrange('q', 0, -1)).toEqual(['w']);
      expect(await db0.exists('q')).toBe(0);
    } finally {
      db0.disconnect();
      db3.disconnect();
    }
    expect(redis.options.db).toBe(3);
  });

  it('connect() rejects with a coded error when no member answers', async () => {
    const redis = new FailoverRedis({ nodes: ['127.0.0.1:1'], redisOptions: { connectTimeout: 200, lazyConnect: true } });
    redis.on('error', () => undefined);
    const error = await redis.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FailoverRedisError);
    expect((error as FailoverRedisError).code).toBe('ERR_NO_NODE');
    expect((error as Error).message).toMatch(/127\.0\.0\.1:1/);
    redis.disconnect();
  });
});
