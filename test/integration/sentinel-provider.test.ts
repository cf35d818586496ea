import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConnectionFactory, NodePool } from '../../src/pool/node-pool.js';
import { splitAddress } from '../../src/topology/address.js';
import { SentinelProvider } from '../../src/topology/sentinel-provider.js';
import { startReplicaSet, type ReplicaSet } from '../../src/testing/index.js';
import { freePort } from '../../src/testing/process.js';
import { direct } from '../helpers/redis.js';

let set: ReplicaSet;
let pool: NodePool;
const providers: SentinelProvider[] = [];
const checks = new Map<string, Redis>();

beforeAll(async () => {
  set = await startReplicaSet({ replicas: 2, sentinels: 3, downAfterMs: 1000 });
  pool = new NodePool({
    redisOptions: {},
    poolSize: 1,
    factory: defaultConnectionFactory,
    hooks: { onReady() {}, onClose() {}, onError() {} },
  });
});

afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
  for (const c of checks.values()) c.disconnect();
  await pool?.close(false);
  await set?.stop();
});

function provider(sentinels: string[], connectionName?: string): SentinelProvider {
  const p = new SentinelProvider({
    sentinels: sentinels.map(splitAddress),
    name: set.name,
    sentinelOptions: connectionName ? { connectionName } : {},
    pool,
    mapAddress: (a) => a,
    probeTimeoutMs: 1000,
  });
  providers.push(p);
  return p;
}

/** A plain connection for checks made on the servers themselves (one per address). */
function check(address: string): Redis {
  let c = checks.get(address);
  if (c === undefined) {
    c = direct(address, { maxRetriesPerRequest: 1 });
    c.on('error', () => undefined);
    checks.set(address, c);
  }
  return c;
}

/** This test's connections on a Sentinel, from its own CLIENT LIST (`<name>:redis-failover:<purpose>`). */
async function clientsNamed(sentinel: string, name: string): Promise<string[]> {
  const list = (await check(sentinel).call('CLIENT', ['LIST'])) as string;
  return list.split('\n').filter((line) => line.includes(` name=${name}:redis-failover:`));
}

/** Resolves once a connection of this test, named `name`, is subscribed on `sentinel` to all ten channels. */
async function subscribed(sentinel: string, name: string, timeoutMs = 5000): Promise<void> {
  const ok = async () => ((await clientsNamed(sentinel, name)).some((line) => / sub=10 /.test(line)) ? true : undefined);
  await until(`subscriber on ${sentinel}`, ok, timeoutMs);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await delay(50);
  }
}

describe('SentinelProvider against real Sentinels', () => {
  it('discovers master and replicas from any one Sentinel, and finds the other Sentinels', async () => {
    for (const seed of set.sentinels) {
      const p = provider([seed]);
      const t = await p.discover(null);
      expect(t.source).toBe('sentinel');
      expect(t.master).toMatchObject({ address: set.master, role: 'master', up: true });
      expect(t.replicas.map((r) => r.address).sort()).toEqual([...set.replicas].sort());
      for (const r of t.replicas) {
        expect(r).toMatchObject({ role: 'replica', up: true, linkStatus: 'up', masterAddress: set.master, priority: 100 });
        expect(typeof r.latencyMs).toBe('number');
      }
      expect(p.sentinels.sort()).toEqual([...set.sentinels].sort());
      await p.close();
    }
  });

  it('skips an unreachable Sentinel seed quickly', async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const p = provider([dead, set.sentinels[1]!]);
    const started = performance.now();
    const t = await p.discover(null);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(t.master?.address).toBe(set.master);
    await p.close();
  });

  it('skips a hung Sentinel (SIGSTOP) after probeTimeoutMs', async () => {
    const p = new SentinelProvider({
      sentinels: set.sentinels.slice(0, 2).map(splitAddress),
      name: set.name,
      sentinelOptions: {},
      pool,
      mapAddress: (a) => a,
      probeTimeoutMs: 300,
    });
    providers.push(p);
    // Paused well under 2 s: longer, and the Sentinel would enter TILT mode when resumed.
    set.pause(set.sentinels[0]!);
    try {
      const started = performance.now();
      const t = await p.discover(null);
      expect(performance.now() - started).toBeLessThan(800);
      expect(t.master?.address).toBe(set.master);
    } finally {
      set.resume(set.sentinels[0]!);
    }
    await p.close();
  });

  it('rejects with each Sentinel and why when none answers, without the password', async () => {
    const dead = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
    const p = new SentinelProvider({
      sentinels: dead.map(splitAddress),
      name: set.name,
      sentinelOptions: { password: 'pw-not-to-be-printed' },
      pool,
      mapAddress: (a) => a,
      probeTimeoutMs: 1000,
    });
    providers.push(p);
    const error = await p.discover(null).then(
      () => new Error('resolved'),
      (e: Error) => e,
    );
    for (const address of dead) expect(error.message).toContain(`${address}: connect ECONNREFUSED`);
    expect(error.message).not.toContain('pw-not-to-be-printed');
    await p.close();
  });

  it('close() leaves no connection open; a Sentinel that comes back is resubscribed', async () => {
    const name = `sp-${process.pid}-close`;
    const p = provider([set.sentinels[0]!], name);
    p.watch(() => undefined);
    await p.discover(null);
    // A subscriber on each Sentinel (subscribed to every channel), plus the query connection on the one asked.
    for (const s of set.sentinels) await subscribed(s, name);
    expect(await clientsNamed(set.sentinels[0]!, name)).toHaveLength(2);

    const restarted = set.sentinels[2]!;
    await set.restart(restarted);
    await subscribed(restarted, name, 8000);
    // Leave the set whole for the next test: the other Sentinels linked to the restarted one again
    // (until then they flag it `disconnected`, and discovery, like ioredis, does not add it).
    for (const s of set.sentinels.filter((x) => x !== restarted)) {
      await until(
        `${s} linked to ${restarted} again`,
        async () => {
          const peers = (await check(s).call('SENTINEL', ['sentinels', set.name])) as string[][];
          const entry = peers.find((f) => `${f[f.indexOf('ip') + 1]}:${f[f.indexOf('port') + 1]}` === restarted);
          return entry && !entry[entry.indexOf('flags') + 1]!.includes('disconnected') ? true : undefined;
        },
        8000,
      );
    }

    await p.close();
    for (const s of set.sentinels) {
      await until(`no connection left on ${s}`, async () => ((await clientsNamed(s, name)).length === 0 ? true : undefined), 2000);
    }
    // And none comes back: nothing reconnects after close().
    await delay(500);
    for (const s of set.sentinels) expect(await clientsNamed(s, name)).toEqual([]);
  });

  it('follows a Sentinel failover: +switch-master through watch, then discover names the new master', async () => {
    const name = `sp-${process.pid}-failover`;
    const p = provider([set.sentinels[0]!], name);
    await p.discover(null);
    const signals: Array<{ reason: string; at: number }> = [];
    p.watch((reason) => signals.push({ reason, at: performance.now() }));
    for (const s of set.sentinels) await subscribed(s, name);

    const old = set.master;
    const killed = performance.now();
    await set.kill(old);
    const switched = await until('+switch-master signal', async () => signals.find((s) => s.reason === 'sentinel +switch-master'), 15_000);
    const seconds = (switched.at - killed) / 1000;
    console.log(`kill → 'sentinel +switch-master' signal: ${seconds.toFixed(2)} s; signals: ${[...new Set(signals.map((s) => s.reason))].join(', ')}`);
    expect(seconds).toBeLessThan(10);

    const t = await p.discover(null);
    const named = (await check(set.sentinels[1]!).call('SENTINEL', ['get-master-addr-by-name', set.name])) as [string, string];
    expect(t.master?.address).toBe(named.join(':'));
    expect(t.master?.address).not.toBe(old);
    expect(set.replicas).toContain(t.master?.address);
    expect(t.master).toMatchObject({ role: 'master', up: true });
    expect(await check(t.master!.address).info('replication')).toMatch(/^role:master\r?$/m);

    const oldEntry = t.replicas.find((r) => r.address === old);
    expect(oldEntry).toMatchObject({ up: false });
    const other = set.replicas.find((r) => r !== t.master?.address)!;
    await until(
      'the other replica repointed',
      async () => ((await p.discover(t)).replicas.find((r) => r.address === other)?.masterAddress === t.master?.address ? true : undefined),
      10_000,
    );
  });
});
