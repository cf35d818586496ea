import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestContext } from 'vitest';
import {
  checkNetworkNamespaces,
  NetworkUnavailableError,
  PartitionGroupsError,
  startReplicaSet,
} from '../../src/testing/index.js';
import type { NamespacedReplicaSet } from '../../src/testing/index.js';

const run = promisify(execFile);
const unavailable = checkNetworkNamespaces();
// A replica gives up on a silent master after repl-timeout seconds (Redis's default is 60).
const REPL_TIMEOUT_S = 2;
const ARGS = ['--repl-timeout', String(REPL_TIMEOUT_S)];

/** Skips with the reason the library gives (not root, no `ip`, no `nft`), never passes silently. */
function needsNamespaces(ctx: TestContext): void {
  if (unavailable) ctx.skip(unavailable.message);
}

function hostPort(addr: string): { host: string; port: number } {
  const at = addr.lastIndexOf(':');
  return { host: addr.slice(0, at), port: Number(addr.slice(at + 1)) };
}

function client(addr: string, options: Record<string, unknown> = {}): Redis {
  const c = new Redis({
    ...hostPort(addr),
    connectTimeout: 1000,
    commandTimeout: 1000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    lazyConnect: true,
    retryStrategy: () => null,
    ...options,
  });
  c.on('error', () => {});
  return c;
}

/** `'PONG'` if a fresh connection from this process gets an answer, else the error message. */
async function reach(addr: string): Promise<string> {
  const c = client(addr);
  try {
    await c.connect();
    return await c.ping();
  } catch (err) {
    return (err as Error).message;
  } finally {
    c.disconnect();
  }
}

/**
 * A bare TCP connect from this process: `'connected'`, `'timeout'` (the SYN went unanswered: a
 * drop) or the error code (`ECONNREFUSED` would be a reject).
 */
function tcp(addr: string, timeoutMs = 500): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(hostPort(addr));
    const done = (outcome: string) => {
      socket.destroy();
      resolve(outcome);
    };
    socket.setTimeout(timeoutMs, () => done('timeout'));
    socket.once('connect', () => done('connected'));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

function field(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*?)\\r?$`, 'm').exec(info)?.[1];
}

/** `master_link_status` of a replica, asked from this process. */
async function linkStatus(addr: string): Promise<string> {
  const c = client(addr);
  try {
    await c.connect();
    return field(await c.info('replication'), 'master_link_status') ?? '?';
  } catch (err) {
    return `unreachable: ${(err as Error).message}`;
  } finally {
    c.disconnect();
  }
}

async function namespaceOf(set: NamespacedReplicaSet, addr: string): Promise<string> {
  const pid = set.pid(addr);
  if (pid === undefined) throw new Error(`${addr} is not running`);
  return (await run('ip', ['netns', 'identify', String(pid)])).stdout.trim();
}

/** A command run by `redis-cli` inside `addr`'s own namespace, against `addr` itself. */
async function fromInside(set: NamespacedReplicaSet, addr: string, ...args: string[]): Promise<string> {
  const { host, port } = hostPort(addr);
  const ns = await namespaceOf(set, addr);
  const cli = ['netns', 'exec', ns, 'redis-cli', '-h', host, '-p', String(port), ...args];
  return (await run('ip', cli, { timeout: 5000 })).stdout;
}

async function rules(namespace: string): Promise<string> {
  return (await run('ip', ['netns', 'exec', namespace, 'nft', 'list', 'ruleset'])).stdout.trim();
}

/** Polls `check` until it returns true; the last value goes into the error. Returns the ms it took. */
async function waitFor(what: string, check: () => Promise<boolean | string>, timeoutMs: number): Promise<number> {
  const began = Date.now();
  let last: boolean | string = false;
  while (Date.now() - began < timeoutMs) {
    last = await check().catch((err: Error) => err.message);
    if (last === true) return Date.now() - began;
    await delay(100);
  }
  throw new Error(`${what} not within ${timeoutMs} ms (last: ${String(last)})`);
}

/** What of a set's namespaces and root links is still there. */
async function leftovers(prefix: string, link: string): Promise<string[]> {
  const namespaces = (await run('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(prefix));
  const links = (await run('ip', ['-o', 'link'])).stdout.split('\n').filter((l) => l.includes(`${link}@`) || l.includes(`${link}:`));
  return [...namespaces, ...links];
}

/** The set's name prefix (`rfnet-<pid>-<n>-`) and root link (`rfn<pid>s<n>`), from a member's namespace. */
function namesOf(namespace: string): { prefix: string; link: string } {
  const match = /^rfnet-(\d+)-(\d+)-/.exec(namespace);
  if (!match) throw new Error(`unexpected namespace name ${namespace}`);
  return { prefix: match[0], link: `rfn${match[1]}s${match[2]}` };
}

describe('network: namespaces (no root, ip or nft)', () => {
  it('rejects at once with NetworkUnavailableError saying what is missing', async (ctx) => {
    if (!unavailable) ctx.skip('root, ip and nft are all present here');
    const began = Date.now();
    const error = await startReplicaSet({ network: 'namespaces' }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(NetworkUnavailableError);
    expect((error as NetworkUnavailableError).code).toBe('ERR_NETWORK_UNAVAILABLE');
    expect((error as NetworkUnavailableError).missing.length).toBeGreaterThan(0);
    expect(Date.now() - began).toBeLessThan(1000);
  });
});

describe('network: namespaces, master and replicas', () => {
  let set: NamespacedReplicaSet;

  beforeAll(async () => {
    if (!unavailable) set = await startReplicaSet({ network: 'namespaces', replicas: 2, args: ARGS });
  });
  afterEach(async () => {
    if (set && !stopped) await set.heal();
  });
  afterAll(async () => {
    await set?.stop();
  });
  let stopped = false;

  it('gives each member its own namespace and address; replicas replicate by address', async (ctx) => {
    needsNamespaces(ctx);
    const hosts = [...set.nodes].map((addr) => hostPort(addr).host);
    expect(new Set(hosts).size).toBe(3);
    const subnet = set.clientHost.replace(/\.1$/, '.');
    for (const host of hosts) expect(host.startsWith(subnet)).toBe(true);
    const namespaces = await Promise.all(set.nodes.map((addr) => namespaceOf(set, addr)));
    expect(new Set(namespaces).size).toBe(3);
    for (const ns of namespaces) expect(ns).toMatch(new RegExp(`^rfnet-${process.pid}-\\d+-`));

    const master = client(set.master);
    try {
      await master.connect();
      const info = await master.info('replication');
      for (const replica of set.replicas) expect(info).toContain(`ip=${hostPort(replica).host},port=6379`);
      expect(await master.client('LIST')).toContain(`addr=${set.clientHost}:`);
    } finally {
      master.disconnect();
    }
  });

  it('cuts the client from the master alone: no answer (a drop, not a refusal), replicas stay linked', async (ctx) => {
    needsNamespaces(ctx);
    const held = client(set.master);
    await held.connect();
    expect(await held.ping()).toBe('PONG');

    await set.partition([set.master, ...set.replicas], ['client']);
    expect(await tcp(set.master)).toBe('timeout');
    await expect(held.ping()).rejects.toThrow(/timed out/i);
    expect(await tcp(set.replicas[0] as string)).toBe('timeout');
    // Well past repl-timeout, the replicas still hear their master.
    await delay(REPL_TIMEOUT_S * 1000 + 1500);
    for (const replica of set.replicas) {
      expect(field(await fromInside(set, replica, 'INFO', 'replication'), 'master_link_status')).toBe('up');
    }
    expect(field(await fromInside(set, set.master, 'INFO', 'replication'), 'connected_slaves')).toBe('2');

    await set.heal();
    expect(await reach(set.master)).toBe('PONG');
    held.disconnect();
  });

  it('lets traffic flow only within each named group', async (ctx) => {
    needsNamespaces(ctx);
    const [r1, r2] = set.replicas as [string, string];
    const cut = Date.now();
    await set.partition([set.master, r1], ['client', r2]);
    expect(await reach(r2)).toBe('PONG');
    expect(await tcp(set.master)).toBe('timeout');
    expect(await tcp(r1)).toBe('timeout');
    await waitFor(`${r2} link down`, async () => (await linkStatus(r2)) === 'down', 15_000);
    // The replica noticed by its repl-timeout, not at once: the drop is silent.
    const noticedMs = Date.now() - cut;
    expect(noticedMs).toBeGreaterThan(REPL_TIMEOUT_S * 1000 - 1000);
    console.log(`replica saw its link down ${noticedMs} ms after the cut (repl-timeout ${REPL_TIMEOUT_S} s)`);
    expect(field(await fromInside(set, r1, 'INFO', 'replication'), 'master_link_status')).toBe('up');

    await set.heal();
    await waitFor(`${r2} link up again`, async () => (await linkStatus(r2)) === 'up', 15_000);
  });

  it('isolate(master): every replica loses its link; heal() restores it', async (ctx) => {
    needsNamespaces(ctx);
    await set.isolate(set.master);
    expect(await tcp(set.master)).toBe('timeout');
    await Promise.all(
      set.replicas.map((r) => waitFor(`${r} link down`, async () => (await linkStatus(r)) === 'down', 15_000)),
    );
    await set.heal();
    expect(await reach(set.master)).toBe('PONG');
    await Promise.all(
      set.replicas.map((r) => waitFor(`${r} link up`, async () => (await linkStatus(r)) === 'up', 15_000)),
    );
  });

  it('rejects bad groups with PartitionGroupsError naming the entry, and applies nothing', async (ctx) => {
    needsNamespaces(ctx);
    const [r1, r2] = set.replicas as [string, string];
    const attempts: [() => Promise<void>, string][] = [
      [() => set.partition([set.master], ['127.0.0.1:6379']), '127.0.0.1:6379'],
      [() => set.partition([set.master, r1], [r1, r2]), r1],
      [() => set.partition(['client'], ['client', r2]), 'client'],
      [() => set.isolate(`${hostPort(set.master).host}:6380`), `${hostPort(set.master).host}:6380`],
    ];
    for (const [attempt, address] of attempts) {
      const error = await attempt().catch((err: unknown) => err);
      expect(error).toBeInstanceOf(PartitionGroupsError);
      expect((error as PartitionGroupsError).code).toBe('ERR_PARTITION_GROUPS');
      expect((error as PartitionGroupsError).address).toBe(address);
      expect((error as Error).message).toContain(address);
    }
    for (const addr of set.nodes) expect(await rules(await namespaceOf(set, addr))).toBe('');

    // A bad call on a partitioned set leaves that partition as it was.
    await set.isolate(r2);
    await expect(set.partition([r2], ['nope:1'])).rejects.toThrow(PartitionGroupsError);
    expect(await rules(await namespaceOf(set, r2))).toContain('drop');
    expect(await tcp(r2)).toBe('timeout');
    await set.heal();
    for (const addr of set.nodes) expect(await rules(await namespaceOf(set, addr))).toBe('');
  });

  it('restarts a member in its own namespace, on the same address', async (ctx) => {
    needsNamespaces(ctx);
    const replica = set.replicas[1] as string;
    const namespace = await namespaceOf(set, replica);
    const pid = set.pid(replica);
    await set.kill(replica);
    expect(set.pid(replica)).toBeUndefined();
    await set.restart(replica, { asReplicaOf: set.master });
    expect(set.pid(replica)).not.toBe(pid);
    expect(await namespaceOf(set, replica)).toBe(namespace);
    await waitFor(`${replica} link up`, async () => (await linkStatus(replica)) === 'up', 15_000);
  });

  it('stop() removes its namespaces, links and rules', async (ctx) => {
    needsNamespaces(ctx);
    const { prefix, link } = namesOf(await namespaceOf(set, set.master));
    await set.isolate(set.master);
    expect((await leftovers(prefix, link)).length).toBe(5); // hub + 3 members + the root link
    await set.stop();
    stopped = true;
    // (No connection attempt after this: the address is nobody's now, and would route off the machine.)
    expect(await leftovers(prefix, link)).toEqual([]);
  });
});

describe('network: namespaces, with Sentinels', () => {
  let set: NamespacedReplicaSet;

  beforeAll(async () => {
    if (!unavailable) {
      set = await startReplicaSet({ network: 'namespaces', replicas: 2, sentinels: 3, downAfterMs: 1000, args: ARGS });
    }
  });
  afterAll(async () => {
    await set?.stop();
  });

  it('monitors by address, fails over when the master is isolated, and leaves nothing behind', async (ctx) => {
    needsNamespaces(ctx);
    const hosts = [...set.nodes, ...set.sentinels].map((addr) => hostPort(addr).host);
    expect(new Set(hosts).size).toBe(6);
    for (const sentinel of set.sentinels) expect(hostPort(sentinel).port).toBe(26379);
    const sentinel = client(set.sentinels[0] as string, { enableOfflineQueue: true, retryStrategy: () => 100 });
    const masterOf = async () => ((await sentinel.call('SENTINEL', 'get-master-addr-by-name', set.name)) as string[]).join(':');
    try {
      expect(await masterOf()).toBe(set.master);

      await set.isolate(set.master);
      const failoverMs = await waitFor('a replica promoted', async () => set.replicas.includes(await masterOf()), 30_000);
      await set.heal();
      expect(await reach(set.master)).toBe('PONG');
      // (Sentinel then waits ~8 s of stable role reports before it turns the old master into a
      // replica; not waited for here, to keep the file short.)
      console.log(`Sentinels promoted a replica ${failoverMs} ms after the master was isolated`);
    } finally {
      sentinel.disconnect();
    }

    const { prefix, link } = namesOf(await namespaceOf(set, set.master));
    await set.stop();
    expect(await leftovers(prefix, link)).toEqual([]);
  });
});
