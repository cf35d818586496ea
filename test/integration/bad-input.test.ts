import createDebug from 'debug';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandTimeoutError, FailoverRedis, InvalidOptionError } from '../../src/index.js';
import { startReplicaSet, type ReplicaSet } from '../../src/testing/index.js';

let set: ReplicaSet;
beforeAll(async () => {
  set = await startReplicaSet({ replicas: 1, password: 's3cret' });
});
afterAll(async () => {
  await set?.stop();
});

describe('bad input', () => {
  it('invalid options throw synchronously, naming the option', () => {
    expect(() => new FailoverRedis({})).toThrow(InvalidOptionError);
    expect(() => new FailoverRedis({ nodes: ['127.0.0.1:abc'] })).toThrow(/nodes/);
    expect(() => new FailoverRedis({ nodes: ['127.0.0.1:6379'], readFrom: 'slaves' as never })).toThrow(/readFrom/);
    expect(() => new FailoverRedis({ sentinels: ['127.0.0.1:26379'] })).toThrow(/name/);
    expect(() => new FailoverRedis({ nodes: ['127.0.0.1:6379'], commandTimeoutMs: -1 })).toThrow(/commandTimeoutMs/);
  });

  it('an unreachable replica set: commands reject with a typed error within connectTimeout + commandTimeoutMs', async () => {
    const redis = new FailoverRedis({ nodes: ['127.0.0.1:1'], commandTimeoutMs: 500, redisOptions: { connectTimeout: 300 } });
    redis.on('error', () => undefined);
    const started = Date.now();
    const error = await redis.get('k').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandTimeoutError);
    expect((error as CommandTimeoutError).code).toBe('ERR_COMMAND_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(3000);
    await redis.quit();
  });

  it('a wrong password surfaces as an auth error, promptly, not as endless waiting', async () => {
    const redis = new FailoverRedis({ nodes: [set.master], commandTimeoutMs: 20_000, redisOptions: { password: 'wrong' } });
    const errors: Error[] = [];
    redis.on('error', (e) => errors.push(e));
    const started = Date.now();
    const error = (await redis.get('k').catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/WRONGPASS|invalid password|NOAUTH/);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) expect(e.message).not.toContain('wrong');
    await redis.quit();
  });

  it('the right password works (and applies to every node)', async () => {
    const redis = new FailoverRedis({ nodes: [set.replicas[0]!], redisOptions: { password: 's3cret' } });
    await redis.set('k', 'v');
    expect(await redis.withReadFrom('master').get('k')).toBe('v');
    expect(redis.topology().replicas).toHaveLength(1);
    await redis.quit();
  });

  it('malformed INFO from a node does not crash the client', async () => {
    // A real connection whose INFO reply is replaced by garbage for one node: the factory is the
    // injection point, no mock of Redis.
    const garbled = set.replicas[0]!;
    const redis = new FailoverRedis({ nodes: [set.master], redisOptions: { password: 's3cret' } }, undefined, {
      connectionFactory: (node, purpose, options) => {
        const conn = new Redis({ ...options, host: node.host, port: node.port });
        if (purpose === 'control' && `${node.host}:${node.port}` === garbled) {
          (conn as unknown as { info: () => Promise<string> }).info = async () => 'role:\x00\x01\r\nslave0:ip=,port=x\r\n###\r\nmaster_repl_offset:NaN';
        }
        return conn;
      },
    });
    await redis.set('k', 'v');
    expect(await redis.withReadFrom('master').get('k')).toBe('v');
    await redis.refreshTopology();
    expect(redis.topology().master?.address).toBe(set.master);
    await redis.quit();
  });

  it('never prints a password: not in DEBUG=redis-failover:* logs, events or errors', async () => {
    const lines: string[] = [];
    const log = createDebug.log;
    createDebug.log = (...args: unknown[]) => lines.push(args.map(String).join(' '));
    createDebug.enable('redis-failover:*');
    try {
      for (const password of ['wrong-pass-1234', 's3cret']) {
        const redis = new FailoverRedis(`redis://:${password}@${set.master}?commandTimeoutMs=1000`);
        const seen: string[] = [];
        redis.on('error', (e) => seen.push(`${e.message} ${String((e as { cause?: unknown }).cause)}`));
        redis.on('topology', (t) => seen.push(JSON.stringify(t)));
        const outcome = await redis.set('k', 'v').then(String, (e: Error) => `${e.message} ${e.stack}`);
        seen.push(outcome);
        await redis.quit();
        for (const text of [...lines, ...seen]) expect(text).not.toContain(password);
      }
      expect(lines.length).toBeGreaterThan(5);
    } finally {
      createDebug.disable();
      createDebug.log = log;
    }
  });
});
