import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { once } from 'node:events';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The package as a user gets it: built, packed with `npm pack`, installed alone into a fresh
 * project (no redis-memory-server, no package.json settings for it, no environment variable),
 * then used from an ES module and from CommonJS.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'redis-failover-packaging-'));
const app = join(work, 'app');
/** A PATH with nothing on it: no redis-server (node is run by its full path). */
const nowhere = join(work, 'empty-bin');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: options.cwd, env: options.env ?? cleanEnv(), timeout: options.timeoutMs ?? 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * This process's environment without what `npm run`/`npx` put there about this repository
 * (`npm_config_local_prefix` would make npm install into it), and without REDISMS_SYSTEM_BINARY.
 */
function cleanEnv(overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const keep = /^npm_config_(cache|userconfig|cafile|registry)$/i;
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) && !keep.test(key)) continue;
    if (key === 'REDISMS_SYSTEM_BINARY') continue;
    env[key] = value;
  }
  return { ...env, ...overrides };
}

function ok(result: Run): Run {
  if (result.code !== 0) throw new Error(`exit ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result;
}

const ESM = `
import { FailoverRedis } from 'redis-failover';
import { RedisServerNotFoundError, startReplicaSet } from 'redis-failover/testing';

try {
  const set = await startReplicaSet({ replicas: 1 });
  try {
    const redis = new FailoverRedis({ nodes: [set.master] });
    await redis.set('packaging', 'esm');
    const read = await redis.get('packaging');
    const { master, replicas } = redis.topology();
    await redis.quit();
    console.log(JSON.stringify({ master: master?.address, replicas: replicas.map((r) => r.address), set: set.nodes, read }));
  } finally {
    await set.stop();
  }
} catch (error) {
  const typed = error instanceof RedisServerNotFoundError;
  console.log(JSON.stringify({ error: { name: error.name, code: error.code, message: error.message, typed } }));
}
`;

const CJS = `
const { FailoverRedis } = require('redis-failover');
const { RedisServerNotFoundError, startReplicaSet } = require('redis-failover/testing');

async function main() {
  const set = await startReplicaSet({ replicas: 1 });
  try {
    const redis = new FailoverRedis({ nodes: [set.master] });
    await redis.set('packaging', 'cjs');
    const read = await redis.get('packaging');
    const { master, replicas } = redis.topology();
    await redis.quit();
    return { master: master && master.address, replicas: replicas.map((r) => r.address), set: set.nodes, read };
  } finally {
    await set.stop();
  }
}

main().then(
  (result) => console.log(JSON.stringify(result)),
  (error) => {
    const typed = error instanceof RedisServerNotFoundError;
    console.log(JSON.stringify({ error: { name: error.name, code: error.code, message: error.message, typed } }));
  },
);
`;

interface Outcome {
  master?: string;
  replicas?: string[];
  set?: string[];
  read?: string;
  error?: { name: string; code: string; message: string; typed: boolean };
}

async function script(name: string, env: NodeJS.ProcessEnv): Promise<Outcome> {
  const { stdout } = ok(await run(process.execPath, [name], { cwd: app, env }));
  return JSON.parse(stdout.trim()) as Outcome;
}

async function refused(addr: string): Promise<boolean> {
  const socket = connect(Number(addr.split(':')[1]), '127.0.0.1');
  const [error] = (await Promise.race([once(socket, 'error'), once(socket, 'connect').then(() => [null])])) as [NodeJS.ErrnoException | null];
  socket.destroy();
  return error?.code === 'ECONNREFUSED';
}

beforeAll(async () => {
  // The package's files, as `files` in package.json names them, with dist built from the
  // sources. No declaration files (a slow build, and nothing here runs them; attw checks them).
  const stage = join(work, 'package');
  mkdirSync(stage);
  ok(await run(join(root, 'node_modules/.bin/tsup'), ['--out-dir', join(stage, 'dist'), '--no-dts', '--silent'], { cwd: root }));
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[] };
  for (const entry of manifest.files.filter((f) => f !== 'dist')) cpSync(join(root, entry), join(stage, entry), { recursive: true });
  for (const file of ['package.json', 'LICENSE']) copyFileSync(join(root, file), join(stage, file));
  const packed = ok(await run('npm', ['pack', stage, '--pack-destination', work, '--json', '--silent'], { cwd: work }));
  const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];

  // The dependencies come from npm's cache when it has them (the registry only for the rest).
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  const install = ['install', join(work, filename), '--prefer-offline', '--no-audit', '--no-fund', '--no-update-notifier'];
  ok(await run('npm', install, { cwd: app, timeoutMs: 60_000 }));
  writeFileSync(join(app, 'check.mjs'), ESM);
  writeFileSync(join(app, 'check.cjs'), CJS);
  mkdirSync(nowhere);
}, 90_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed package, installed alone', () => {
  it('has no redis-memory-server beside it', () => {
    expect(existsSync(join(app, 'node_modules/redis-failover/dist/testing/index.js'))).toBe(true);
    expect(existsSync(join(app, 'node_modules/redis-memory-server'))).toBe(false);
  });

  it.each([
    ['an ES module', 'check.mjs', 'esm'],
    ['CommonJS', 'check.cjs', 'cjs'],
  ])('from %s: starts a replica set with the redis-server on PATH, serves through FailoverRedis, stops it', async (_, file, value) => {
    const outcome = await script(file, cleanEnv());
    expect(outcome.error).toBeUndefined();
    expect(outcome.read).toBe(value);
    expect(outcome.set).toHaveLength(2);
    expect(outcome.master).toBe(outcome.set?.[0]);
    expect(outcome.replicas).toEqual(outcome.set?.slice(1));
    for (const addr of outcome.set ?? []) expect(await refused(addr)).toBe(true);
  });

  it.each([
    ['an ES module', 'check.mjs'],
    ['CommonJS', 'check.cjs'],
  ])('from %s, with no redis-server: a RedisServerNotFoundError that says how to get one', async (_, file) => {
    const { error } = await script(file, cleanEnv({ PATH: nowhere }));
    expect(error).toMatchObject({ name: 'RedisServerNotFoundError', code: 'ERR_NO_REDIS_SERVER', typed: true });
    expect(error?.message).toContain('apt-get install redis-server');
    expect(error?.message).toContain('brew install redis');
    expect(error?.message).toContain('REDISMS_SYSTEM_BINARY');
    expect(error?.message).toContain('npm install -D redis-memory-server');
  });

  it('`redis-failover demo` with no redis-server says how to get one', async () => {
    const bin = join(app, 'node_modules/.bin/redis-failover');
    const result = await run(process.execPath, [bin, 'demo', '--no-sentinel'], { cwd: app, env: cleanEnv({ PATH: nowhere, NO_COLOR: '1' }) });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('no redis-server on PATH');
    expect(result.stderr).toContain('apt-get install redis-server');
  });
});
