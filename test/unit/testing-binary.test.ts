import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findRedisServer, resolveRedisServer } from '../../src/testing/binary.js';
import type { RedisBuilder } from '../../src/testing/binary.js';
import { RedisServerNotFoundError } from '../../src/testing/errors.js';

const root = mkdtempSync(join(tmpdir(), 'redis-failover-binary-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A directory holding an executable `redis-server` (never run). */
function dirWithServer(name: string): { dir: string; binary: string } {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const binary = join(dir, 'redis-server');
  writeFileSync(binary, '#!/bin/sh\n');
  chmodSync(binary, 0o755);
  return { dir, binary };
}

const empty = join(root, 'empty');
mkdirSync(empty, { recursive: true });

const notInstalled = Object.assign(new Error("Cannot find package 'redis-memory-server' imported from /app/x.js"), {
  code: 'ERR_MODULE_NOT_FOUND',
});
const neverLoaded = (): Promise<RedisBuilder> => {
  throw new Error('redis-memory-server must not be loaded when a redis-server is found');
};

async function failure(promise: Promise<unknown>): Promise<RedisServerNotFoundError> {
  const error = await promise.then(
    () => expect.fail('resolved'),
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(RedisServerNotFoundError);
  expect(error).toMatchObject({ name: 'RedisServerNotFoundError', code: 'ERR_NO_REDIS_SERVER' });
  return error as RedisServerNotFoundError;
}

describe('resolveRedisServer', () => {
  it('takes REDISMS_SYSTEM_BINARY first, and loads nothing else', async () => {
    const named = dirWithServer('named');
    const onPath = dirWithServer('on-path');
    const env = { REDISMS_SYSTEM_BINARY: named.binary, PATH: onPath.dir };
    await expect(resolveRedisServer(env, neverLoaded)).resolves.toBe(named.binary);
  });

  it('takes the first redis-server on PATH, skipping a directory of that name', async () => {
    const decoy = join(root, 'decoy');
    mkdirSync(join(decoy, 'redis-server'), { recursive: true });
    const onPath = dirWithServer('on-path');
    const env = { PATH: [empty, decoy, onPath.dir].join(delimiter) };
    await expect(resolveRedisServer(env, neverLoaded)).resolves.toBe(onPath.binary);
  });

  it('without one and without redis-memory-server: says how to get one', async () => {
    const error = await failure(resolveRedisServer({ PATH: empty }, () => Promise.reject(notInstalled)));
    expect(error.message).toContain('no redis-server on PATH and REDISMS_SYSTEM_BINARY is not set');
    expect(error.message).toContain('apt-get install redis-server');
    expect(error.message).toContain('brew install redis');
    expect(error.message).toContain('set REDISMS_SYSTEM_BINARY');
    expect(error.message).toContain('npm install -D redis-memory-server');
    expect(error.cause).toBe(notInstalled);
  });

  it('asks redis-memory-server, where installed, only when there is none', async () => {
    const builder = { getPath: () => Promise.resolve('/cache/redis-server') };
    await expect(resolveRedisServer({ PATH: empty }, () => Promise.resolve(builder))).resolves.toBe('/cache/redis-server');
  });

  it('says so when redis-memory-server cannot build one (offline, no compiler)', async () => {
    const offline = new Error('getaddrinfo ENOTFOUND download.redis.io');
    const builder = { getPath: () => Promise.reject(offline) };
    const error = await failure(resolveRedisServer({ PATH: empty }, () => Promise.resolve(builder)));
    expect(error.message).toContain('redis-memory-server could not build one (getaddrinfo ENOTFOUND download.redis.io)');
    expect(error.message).toContain('apt-get install redis-server');
    expect(error.cause).toBe(offline);
  });

  it('tells a broken redis-memory-server from a missing one', async () => {
    const broken = Object.assign(new Error("Cannot find package 'tar' imported from /app/node_modules/redis-memory-server/lib/x.js"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const error = await failure(resolveRedisServer({ PATH: empty }, () => Promise.reject(broken)));
    expect(error.message).toContain('redis-memory-server did not load');
    expect(error.message).not.toContain('npm install -D redis-memory-server');
  });
});

describe('findRedisServer', () => {
  it('refuses a REDISMS_SYSTEM_BINARY that is not an executable file', async () => {
    const error = await failure(Promise.resolve().then(() => findRedisServer({ REDISMS_SYSTEM_BINARY: empty, PATH: empty })));
    expect(error.message).toContain(`REDISMS_SYSTEM_BINARY=${empty} is not an executable file`);
  });

  it('is null with nothing on PATH', () => {
    expect(findRedisServer({ PATH: empty })).toBeNull();
  });
});
