import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseInfo } from '../../src/topology/info-parser.js';
import { FailoverCluster } from '../../src/index.js';
import type { FailoverEvent, RoleChangeEvent } from '../../src/index.js';
import { slotOf } from '../../src/cluster/slot.js';
import { startCluster, type Cluster } from '../../src/testing/index.js';

const hostPort = (a: string) => ({ host: a.slice(0, a.lastIndexOf(':')), port: Number(a.slice(a.lastIndexOf(':') + 1)) });

let cluster: Cluster;
let fc: FailoverCluster;
const failovers: FailoverEvent[] = [];
const nodesDown: string[] = [];
const roles: RoleChangeEvent[] = [];

/** A key of each initial shard. */
function keysByShard(prefix: string): string[] {
  return cluster.shards.map((s) => {
    for (let i = 0; ; i++) {
      const key = `${prefix}:${i}`;
      const slot = slotOf(key);
      if (s.slots.some(([a, b]) => slot >= a && slot <= b)) return key;
    }
  });
}

interface Tally {
  ok: number;
  maybeApplied: number;
  reads: number;
  other: Error[];
  /** The longest time between two successes, ms. */
  maxGapMs: number;
}

/** `workers` loops of INCR on `key` and two of reads of it, until `stop`; every outcome counted. */
function traffic(key: string, workers: number, read: (k: string) => Promise<unknown>): { stop(): Promise<Tally>; acked: () => number } {
  const tally: Tally = { ok: 0, maybeApplied: 0, reads: 0, other: [], maxGapMs: 0 };
  let running = true;
  let last = performance.now();
  const success = (): void => {
    const now = performance.now();
    tally.maxGapMs = Math.max(tally.maxGapMs, now - last);
    last = now;
    tally.ok++;
  };
  const writers = Array.from({ length: workers }, async (_, w) => {
    while (running) {
      try {
        // Half the writers use one-command pipelines: batches are held and judged alike.
        if (w % 2 === 0) await fc.incr(key);
        else {
          const [[error]] = (await fc.pipeline().incr(key).exec()) as [[Error | null, unknown]];
          if (error) throw error;
        }
        success();
      } catch (error) {
        if ((error as { code?: string }).code === 'ERR_MAYBE_APPLIED') tally.maybeApplied++;
        else tally.other.push(error as Error);
      }
    }
  });
  const readers = Array.from({ length: 2 }, async () => {
    while (running) {
      try {
        await read(key);
        tally.reads++;
      } catch (error) {
        tally.other.push(error as Error);
      }
    }
  });
  const loops = [...writers, ...readers];
  return {
    acked: () => tally.ok,
    async stop() {
      running = false;
      await Promise.all(loops);
      return tally;
    },
  };
}

/** Resolves (with performance.now()) once the client routes shard `i`'s writes to `to`. */
async function promoted(i: number, to: string): Promise<number> {
  const deadline = performance.now() + 15_000;
  while (fc.topology().shards[i]?.master?.address !== to && performance.now() < deadline) await delay(10);
  return performance.now();
}

beforeAll(async () => {
  cluster = await startCluster({ shards: 3, replicasPerShard: 1, nodeTimeoutMs: 1000 });
  fc = new FailoverCluster({ nodes: cluster.masters, failover: { downAfterMs: 1000 }, commandTimeoutMs: 15_000 });
  fc.on('error', () => {});
  fc.on('failover', (e) => failovers.push(e));
  fc.on('node-down', (e) => nodesDown.push(e.address));
  fc.on('role-change', (e) => roles.push(e));
  await fc.connect();
});
afterAll(async () => {
  fc?.disconnect();
  for (const addr of cluster?.nodes ?? []) {
    try {
      cluster.resume(addr);
    } catch {
      // not running
    }
  }
  await cluster?.stop();
});

describe('FailoverCluster through shard failovers', () => {
  it('kill -9 of a shard master: its commands are held, not failed; writes resume after the promotion; the old master rejoins as a replica', async () => {
    const keys = keysByShard('kill');
    const victim = cluster.shards[0]!;
    const loads = keys.map((k) => traffic(k, 4, (key) => fc.withReadFrom('masterPreferred').get(key)));
    await delay(300);
    const killedAt = performance.now();
    await cluster.kill(victim.master);
    const resumedMs = (await promoted(0, victim.replicas[0]!)) - killedAt;
    await delay(500);
    const tallies = await Promise.all(loads.map((l) => l.stop()));
    if (process.env['CLUSTER_TEST_LOG']) console.log('tallies', Math.round(resumedMs), JSON.stringify(tallies.map((t) => ({ ...t, other: t.other.map(String) }))));
    expect(resumedMs).toBeLessThan(10_000);
    expect(tallies[0]!.other).toEqual([]);
    expect(tallies[0]!.maybeApplied).toBeLessThanOrEqual(4);
    for (const t of tallies.slice(1)) {
      expect(t.other).toEqual([]);
      expect(t.maybeApplied).toBe(0);
    }
    expect(failovers.some((e) => e.from === victim.master && e.to === victim.replicas[0])).toBe(true);
    expect(nodesDown).toContain(victim.master);
    const shard = fc.topology().shards[0]!;
    expect(shard.master?.address).toBe(victim.replicas[0]);
    expect(roles).toContainEqual({ address: victim.replicas[0], from: 'replica', to: 'master' });
    const stats = fc.stats();
    expect(stats.failovers).toBeGreaterThanOrEqual(1);
    expect(stats.masters).toContain(victim.replicas[0]);
    expect(stats.nodes.find((n) => n.address === victim.replicas[0])).toMatchObject({ role: 'master', up: true });
    expect(stats.nodes.find((n) => n.address === victim.replicas[0])!.commandsSent).toBeGreaterThan(0);
    // The writes in flight at the kill failed there.
    expect(stats.nodes.find((n) => n.address === victim.master)!.errors).toBeGreaterThanOrEqual(tallies[0]!.maybeApplied);
    expect(stats.commandsSent).toBeGreaterThan(tallies.reduce((n, t) => n + t.ok, 0) - 1);

    await cluster.restart(victim.master);
    for (let i = 0; i < 100; i++) {
      const s = (await fc.refreshTopology()).shards[0]!;
      if (s.replicas.some((r) => r.address === victim.master && r.linkStatus === 'up')) break;
      await delay(100);
    }
    const after = fc.topology().shards[0]!;
    expect(after.master?.address).toBe(victim.replicas[0]);
    expect(after.replicas.map((r) => r.address)).toContain(victim.master);
    expect(roles).toContainEqual({ address: victim.master, from: 'master', to: 'replica' });
    // Never written to: a write sent to a cluster replica would be answered MOVED, and counted there.
    const old = new Redis({ ...hostPort(victim.master), maxRetriesPerRequest: 0 });
    old.on('error', () => {});
    try {
      await old.config('RESETSTAT');
      for (let i = 0; i < 200; i++) await fc.set(keys[0]!, `after-rejoin-${i}`);
      expect(parseInfo(await old.info('errorstats'))['errorstat_MOVED']).toBeUndefined();
      expect(await old.call('DBSIZE')).toBeGreaterThan(0);
    } finally {
      old.disconnect();
    }
  });

  it('a hung shard master (SIGSTOP): its writes wait, then go to the new master; other shards go on', async () => {
    const keys = keysByShard('hang');
    const victim = cluster.shards[1]!;
    const loads = keys.map((k) => traffic(k, 4, (key) => fc.get(key)));
    await delay(300);
    const pausedAt = performance.now();
    cluster.pause(victim.master);
    const resumedMs = (await promoted(1, victim.replicas[0]!)) - pausedAt;
    await delay(500);
    const tallies = await Promise.all(loads.map((l) => l.stop()));
    if (process.env['CLUSTER_TEST_LOG']) console.log('tallies', Math.round(resumedMs), JSON.stringify(tallies.map((t) => ({ ...t, other: t.other.map(String) }))));
    cluster.resume(victim.master);
    // Writes of the hung shard stopped from about downAfterMs/2 until the promotion.
    expect(tallies[1]!.maxGapMs).toBeGreaterThan(400);
    expect(resumedMs).toBeLessThan(10_000);
    for (const t of tallies) expect(t.other).toEqual([]);
    expect(tallies[1]!.maybeApplied).toBeLessThanOrEqual(4);
    expect(fc.topology().shards[1]!.master?.address).toBe(victim.replicas[0]);
    // Resumed, the old master rejoins as a replica; the client sees it and never writes to it.
    for (let i = 0; i < 100; i++) {
      const s = (await fc.refreshTopology()).shards[1]!;
      if (s.replicas.some((r) => r.address === victim.master && r.up && r.linkStatus === 'up')) break;
      await delay(100);
    }
    expect(fc.topology().shards[1]!.replicas.find((r) => r.address === victim.master)).toMatchObject({ role: 'replica', up: true });
    await expect(fc.set(keys[1]!, 'after')).resolves.toBe('OK');
  });

  it('switchover({ to }): CLUSTER FAILOVER on the replica, writes held meanwhile, 0 errors and 0 lost', async () => {
    const shard = fc.topology().shards[2]!;
    const from = shard.master!.address;
    const to = shard.replicas[0]!.address;
    const [key] = keysByShard('switch').slice(2);
    await fc.del(key!);
    const load = traffic(key!, 4, (k) => fc.get(k));
    await delay(200);
    const result = await fc.switchover({ to });
    await delay(300);
    const tally = await load.stop();
    expect(result).toMatchObject({ from, to });
    expect(tally.other).toEqual([]);
    expect(tally.maybeApplied).toBe(0);
    expect(Number(await fc.withReadFrom('master').get(key!))).toBe(tally.ok);
    expect(fc.topology().shards[2]!.master?.address).toBe(to);
  });

  it('a hung replica (SIGSTOP): its reads move to the master, none fails or hangs', async () => {
    let replica: string | undefined;
    for (let i = 0; i < 100 && !replica; i++) {
      replica = (await fc.refreshTopology()).shards[2]!.replicas.find((r) => r.up && r.linkStatus === 'up')?.address;
      if (!replica) await delay(100);
    }
    expect(replica).toBeDefined();
    const [key] = keysByShard('hung-replica').slice(2);
    await fc.set(key!, 'v');
    await delay(300); // read-your-writes: let the replica show it has the write
    let reads = 0;
    const errors: unknown[] = [];
    let maxGap = 0;
    let last = performance.now();
    let running = true;
    const readers = Array.from({ length: 4 }, async () => {
      while (running) {
        try {
          expect(await fc.get(key!)).toBe('v');
          reads++;
          const now = performance.now();
          maxGap = Math.max(maxGap, now - last);
          last = now;
        } catch (error) {
          errors.push(error);
        }
      }
    });
    await delay(200);
    cluster.pause(replica!);
    await delay(2000);
    running = false;
    await Promise.all(readers);
    cluster.resume(replica!);
    expect(errors).toEqual([]);
    expect(reads).toBeGreaterThan(100);
    // About downAfterMs / 2 of silence before the reads stuck there are sent to the master.
    expect(maxGap).toBeLessThan(1500);
  });
});
