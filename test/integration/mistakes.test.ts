import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailoverCluster, FailoverRedis } from '../../src/index.js';
import { startCluster, startReplicaSet, type Cluster, type ReplicaSet } from '../../src/testing/index.js';
import { cli } from '../helpers/cli.js';
import { direct } from '../helpers/redis.js';
import { waitFor } from '../helpers/writer.js';

// Common configuration mistakes, against real servers and a real --sentinel: each must fail fast
// (well within BOUND_MS) with a typed error that names the mistake and shows the right form, through
// connect(), the `error` event and the commands that wait. Assertions are on `name` and `code`, so
// that this file also runs (and fails) on code from before these errors existed.

const BOUND_MS = 5000;
const PASSWORD = 'mistakes-s3cret';

let set: ReplicaSet;
let secured: ReplicaSet;
let cluster: Cluster;
let lone: ReplicaSet;
const measured: string[] = [];

beforeAll(async () => {
  [set, secured, cluster, lone] = await Promise.all([
    startReplicaSet({ replicas: 1, sentinels: 1 }),
    startReplicaSet({ replicas: 1, sentinels: 1, password: PASSWORD }),
    startCluster({ shards: 1, replicasPerShard: 0 }),
    startReplicaSet({ replicas: 0 }),
  ]);
});
afterAll(async () => {
  console.info(`settled in:\n  ${measured.join('\n  ')}`);
  await Promise.all([set?.stop(), secured?.stop(), cluster?.stop(), lone?.stop()]);
});

type Coded = Error & { code?: string; cause?: unknown; address?: string; found?: string; server?: string };

/** How `promise` settled within `BOUND_MS`: its rejection (or null when it resolved), and after how long. */
async function settle(label: string, promise: Promise<unknown>): Promise<{ error: Coded | null; ms: number }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), BOUND_MS)));
  const outcome = await Promise.race([promise.then(() => null, (e: Coded) => e), late]);
  clearTimeout(timer);
  const ms = Math.round(performance.now() - started);
  if (outcome === 'late') throw new Error(`${label}: neither resolved nor rejected within ${BOUND_MS} ms`);
  measured.push(`${label}: ${ms} ms (${outcome?.code ?? outcome?.name ?? 'resolved'})`);
  return { error: outcome, ms };
}

/**
 * A client that makes the mistake: `connect()`, a command sent at once (it waits for discovery), and
 * one sent after; each must reject with the same mistake, and so must the `error` event.
 */
async function mistake(label: string, client: FailoverRedis): Promise<Coded> {
  const events: Coded[] = [];
  client.on('error', (e: Coded) => events.push(e));
  const waiting = client.get('k');
  const connected = await settle(`${label}: connect()`, client.connect());
  const held = await settle(`${label}: a command waiting`, waiting);
  const later = await settle(`${label}: a command after`, client.get('k'));
  client.disconnect();
  const error = connected.error!;
  expect(error).not.toBeNull();
  expect(held.error).toMatchObject({ name: error.name, code: error.code });
  expect(later.error).toMatchObject({ name: error.name, code: error.code });
  expect(events[0]).toMatchObject({ name: error.name, code: error.code });
  return error;
}

describe('a Sentinel where a master or replica was expected', () => {
  it('FailoverRedis nodes: NotReplicaSetError (ERR_NOT_REPLICA_SET) showing the sentinels/name form with its master name', async () => {
    const sentinel = set.sentinels[0]!;
    const error = await mistake('nodes: [sentinel]', new FailoverRedis({ nodes: [sentinel], commandTimeoutMs: 30_000, redisOptions: { lazyConnect: true } }));
    expect(error).toMatchObject({ name: 'NotReplicaSetError', code: 'ERR_NOT_REPLICA_SET', address: sentinel, found: 'sentinel' });
    expect(error.message).toContain(`is a Sentinel`);
    expect(error.message).toContain(`{ sentinels: ['${sentinel}'], name: '${set.name}' }`);
    expect(error.message).toContain(`redis+sentinel://${sentinel}/${set.name}`);
  });

  it('the URL form, REDIS_URL=redis://sentinel:26379: the same', async () => {
    const error = await mistake('redis://sentinel', new FailoverRedis(`redis://${set.sentinels[0]!}?commandTimeoutMs=30000`, { redisOptions: { lazyConnect: true } }));
    expect(error).toMatchObject({ code: 'ERR_NOT_REPLICA_SET', found: 'sentinel' });
  });

  it('FailoverCluster nodes: NotClusterError (ERR_NOT_CLUSTER) saying it is a Sentinel, with the FailoverRedis form', async () => {
    const sentinel = set.sentinels[0]!;
    const fc = new FailoverCluster({ nodes: [sentinel], redisOptions: { lazyConnect: true } });
    const events: Coded[] = [];
    fc.on('error', (e: Coded) => events.push(e));
    const { error } = await settle('FailoverCluster nodes: [sentinel]: connect()', fc.connect());
    expect(error).toMatchObject({ name: 'NotClusterError', code: 'ERR_NOT_CLUSTER', address: sentinel, found: 'sentinel' });
    expect(error!.message).toContain(`{ sentinels: ['${sentinel}'], name: '${set.name}' }`);
    expect(events[0]).toMatchObject({ code: 'ERR_NOT_CLUSTER' });
    expect(fc.status).toBe('end');
  });
});

describe('a Redis Cluster node given to FailoverRedis', () => {
  it('in nodes: NotReplicaSetError (ERR_NOT_REPLICA_SET) showing the FailoverCluster form', async () => {
    const node = cluster.masters[0]!;
    const error = await mistake('nodes: [cluster node]', new FailoverRedis({ nodes: [node], commandTimeoutMs: 30_000, redisOptions: { lazyConnect: true } }));
    expect(error).toMatchObject({ name: 'NotReplicaSetError', code: 'ERR_NOT_REPLICA_SET', address: node, found: 'cluster' });
    expect(error.message).toContain(`new FailoverCluster({ nodes: ['${node}'] })`);
    expect(error.message).toContain(`redis+cluster://${node}`);
  });

  it('in sentinels: NotSentinelError (ERR_NOT_SENTINEL) showing the FailoverCluster form', async () => {
    const node = cluster.masters[0]!;
    const error = await mistake('sentinels: [cluster node]', new FailoverRedis({ sentinels: [node], name: 'mymaster', commandTimeoutMs: 30_000, redisOptions: { lazyConnect: true } }));
    expect(error).toMatchObject({ name: 'NotSentinelError', code: 'ERR_NOT_SENTINEL', address: node, found: 'cluster' });
    expect(error.message).toContain(`new FailoverCluster({ nodes: ['${node}'] })`);
  });
});

describe('a master given as a Sentinel', () => {
  it('NotSentinelError (ERR_NOT_SENTINEL) showing the nodes form', async () => {
    const error = await mistake('sentinels: [master]', new FailoverRedis({ sentinels: [set.master], name: set.name, commandTimeoutMs: 30_000, redisOptions: { lazyConnect: true } }));
    expect(error).toMatchObject({ name: 'NotSentinelError', code: 'ERR_NOT_SENTINEL', address: set.master, found: 'standalone' });
    expect(error.message).toContain(`{ nodes: ['${set.master}'] }`);
  });
});

describe('credentials', () => {
  function expectAuth(error: Coded, address: string, reply: RegExp): void {
    expect(error).toMatchObject({ name: 'AuthError', code: 'ERR_AUTH', address });
    expect((error.cause as Error).name).toBe('ReplyError');
    expect((error.cause as Error).message).toMatch(reply);
    expect(error.message).toContain(address);
    expect(error.message).not.toContain(PASSWORD);
  }

  it('nodes, no password: AuthError (ERR_AUTH) naming the node, NOAUTH, the reply as cause', async () => {
    const error = await mistake('nodes, no password', new FailoverRedis({ nodes: [secured.master], commandTimeoutMs: 30_000, redisOptions: { lazyConnect: true } }));
    expectAuth(error, secured.master, /^NOAUTH/);
    expect(error.message).toMatch(/requires a password and none was given \(NOAUTH\); set redisOptions\.password/);
  });

  it('nodes, wrong password: AuthError saying WRONGPASS, never the password', async () => {
    const wrong = `${PASSWORD}-not`;
    const error = await mistake('nodes, wrong password', new FailoverRedis({ nodes: [secured.replicas[0]!], commandTimeoutMs: 30_000, redisOptions: { lazyConnect: true, password: wrong } }));
    expectAuth(error, secured.replicas[0]!, /^WRONGPASS/);
    expect(`${error.message} ${error.stack} ${(error.cause as Error).message}`).not.toContain(wrong);
  });

  it('Sentinel mode, data nodes refusing: AuthError naming the master (connect() used never to settle)', async () => {
    const client = new FailoverRedis({ sentinels: secured.sentinels, name: secured.name, commandTimeoutMs: 30_000, redisOptions: { lazyConnect: true } });
    const error = await mistake('sentinel mode, data nodes without password', client);
    expectAuth(error, secured.master, /^NOAUTH/);
  });

  it('a Sentinel refusing: AuthError for the Sentinel (sentinelOptions)', async () => {
    const sentinel = secured.sentinels[0]!;
    const admin = direct(sentinel);
    await admin.call('ACL', 'SETUSER', 'default', 'on', `>${PASSWORD}`);
    try {
      const client = new FailoverRedis({ sentinels: [sentinel], name: secured.name, commandTimeoutMs: 30_000, redisOptions: { lazyConnect: true, password: PASSWORD } });
      const error = await mistake('a Sentinel without its password', client);
      expect(error).toMatchObject({ name: 'AuthError', code: 'ERR_AUTH', address: sentinel, server: 'sentinel' });
      expect(error.message).toContain('sentinelOptions.password');
      // With its password, the same client works.
      const right = new FailoverRedis({ sentinels: [sentinel], name: secured.name, sentinelOptions: { password: PASSWORD }, redisOptions: { password: PASSWORD } });
      await right.set('k', 'v');
      await right.quit();
    } finally {
      await admin.call('ACL', 'SETUSER', 'default', 'nopass');
      admin.disconnect();
    }
  });

  it("reply errors to ordinary commands still pass through unchanged (no code, Redis's message)", async () => {
    const redis = new FailoverRedis({ nodes: [secured.master], redisOptions: { password: PASSWORD } });
    await redis.set('str', 'v');
    const wrongType = (await redis.hget('str', 'f').catch((e: unknown) => e)) as Coded;
    expect(wrongType).toMatchObject({ name: 'ReplyError' });
    expect(wrongType.code).toBeUndefined();
    expect(wrongType.message).toMatch(/^WRONGTYPE/);
    const unknown = (await redis.call('NOSUCHCOMMAND').catch((e: unknown) => e)) as Coded;
    expect(unknown).toMatchObject({ name: 'ReplyError' });
    expect(unknown.message).toMatch(/^ERR unknown command/);
    await redis.quit();
  });
});

describe('a command that timed out waiting for a node', () => {
  it('before any picture: names each member tried and its connection error, in message and cause', async () => {
    const port = await freePort();
    const redis = new FailoverRedis({ nodes: [`127.0.0.1:${port}`], commandTimeoutMs: 500, redisOptions: { connectTimeout: 300 } });
    redis.on('error', () => undefined);
    const error = (await redis.get('k').catch((e: unknown) => e)) as Coded;
    redis.disconnect();
    expect(error).toMatchObject({ name: 'CommandTimeoutError', code: 'ERR_COMMAND_TIMEOUT' });
    expect(error.message).toContain(`GET waited 500 ms`);
    expect(error.message).toContain(`127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`);
    expect((error.cause as Coded).message).toContain(`connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('the master lost: names it and its connection error (ECONNREFUSED), in message and cause', async () => {
    const redis = new FailoverRedis({ nodes: [lone.master], commandTimeoutMs: 1000, failover: { promote: 'manual' } });
    redis.on('error', () => undefined);
    await redis.set('k', 'v');
    await lone.kill(lone.master);
    // Once the client has seen the master go: a write sent into the dying socket is (rightly)
    // ERR_MAYBE_APPLIED, and kill() resolves at the process's exit, a moment before the socket knows.
    await waitFor('the client to see the master gone', () => redis.status !== 'ready');
    const error = (await redis.set('k', 'w').catch((e: unknown) => e)) as Coded;
    redis.disconnect();
    expect(error).toMatchObject({ name: 'CommandTimeoutError', code: 'ERR_COMMAND_TIMEOUT' });
    expect(error.message).toContain(lone.master);
    expect(error.message).toContain(`ECONNREFUSED ${lone.master}`);
    let root: unknown = error;
    while (root instanceof Error && root.cause instanceof Error) root = root.cause;
    expect(root).toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('the CLI', () => {
  it('a Sentinel address without --sentinel: says it is one, and to add --sentinel --name <its master>', async () => {
    const run = await cli(['status', set.sentinels[0]!], { timeoutMs: 20_000 });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${set.sentinels[0]!} is a Sentinel`);
    expect(run.stderr).toContain(`--sentinel --name ${set.name}`);
  });

  it('an authentication error: says the node answered with one, and how to pass credentials, not "no member answered"', async () => {
    const missing = await cli(['status', secured.master], { env: { REDIS_PASSWORD: '' }, timeoutMs: 20_000 });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`${secured.master} answered with an authentication error (NOAUTH`);
    expect(missing.stderr).toContain('REDIS_PASSWORD');
    expect(missing.stderr).not.toContain('no member answered');
    const wrong = await cli(['status', secured.master], { env: { REDIS_PASSWORD: `${PASSWORD}-not` }, timeoutMs: 20_000 });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(`${secured.master} answered with an authentication error (WRONGPASS`);
    expect(wrong.stderr).not.toContain(PASSWORD);
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
