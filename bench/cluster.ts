import { Cluster as IoCluster } from 'ioredis';
import { FailoverCluster } from '../src/index.js';
import { slotOf } from '../src/cluster/slot.js';
import { startCluster, type Cluster, type ClusterOptions } from '../src/testing/index.js';
import { CallCounter, errorLabel, hostPort, interleaved, isMaster, sleep, waitFor, withDirect, type Settings } from './harness.js';
import { compare, CONCURRENCY, cpuCell, getSet, loops, type KV } from './overhead.js';
import { fmtMs, fmtOps, fmtPct, fmtRatio, targetCell, throughputTarget, type SectionResult, type Target } from './report.js';
import { longestGap, median, sum, tally, type WriteSample } from './stats.js';

/**
 * Redis Cluster: FailoverCluster against ioredis `Cluster` on the same embedded cluster —
 * throughput with `readFrom: 'master'`, replica reads spread per shard, then the outage after `kill -9` of a shard master, then
 * the assisted failover at the default node-timeout (15 s). Contenders take turns on fresh
 * clusters; nothing runs in parallel.
 */

type Contender = 'ioredis Cluster' | 'FailoverCluster' | 'FailoverCluster (assist)';

async function withCluster<T>(options: ClusterOptions, use: (c: Cluster) => Promise<T>): Promise<T> {
  const cluster = await startCluster(options);
  try {
    return await use(cluster);
  } finally {
    await cluster.stop();
  }
}

function client(kind: Contender, cluster: Cluster): KV & { disconnect(): void; incr(key: string): Promise<unknown> } {
  if (kind === 'ioredis Cluster') {
    const io = new IoCluster(cluster.masters.map(hostPort));
    io.on('error', () => undefined);
    return io;
  }
  const fc = new FailoverCluster({
    nodes: cluster.masters,
    readFrom: 'master',
    failover: { downAfterMs: 1000, assist: kind === 'FailoverCluster (assist)' },
    commandTimeoutMs: 60_000,
  });
  fc.on('error', () => undefined);
  return fc as unknown as KV & { disconnect(): void; incr(key: string): Promise<unknown> };
}

/** A key of each shard, in shard order. */
function shardKeys(cluster: Cluster, prefix: string): string[] {
  return cluster.shards.map((s) => {
    for (let i = 0; ; i++) {
      const slot = slotOf(`${prefix}:${i}`);
      if (s.slots.some(([a, b]) => slot >= a && slot <= b)) return `${prefix}:${i}`;
    }
  });
}

export async function overheadPart(settings: Settings) {
  return withCluster({ shards: 3, replicasPerShard: 1 }, async (cluster) => {
    const io = client('ioredis Cluster', cluster);
    const fc = client('FailoverCluster', cluster);
    try {
      await Promise.all([io.set('warm', '1'), fc.set('warm', '1')]);
      const r = await interleaved(settings.rounds, () => loops(settings.roundMs, getSet(io)), () => loops(settings.roundMs, getSet(fc)));
      return compare(r.a, r.b);
    } finally {
      io.disconnect();
      fc.disconnect();
    }
  });
}

/**
 * Replica reads: 50 awaited GET loops over keys of every shard, ioredis `Cluster` with
 * `scaleReads: 'slave'` against FailoverCluster `readFrom: 'replica'`; GETs per node counted by
 * the servers (INFO commandstats) around the FailoverCluster rounds.
 */
export async function spreadPart(settings: Settings) {
  return withCluster({ shards: 3, replicasPerShard: 1 }, async (cluster) => {
    const keys = Array.from({ length: CONCURRENCY }, (_, i) => `bench:cspread:${i}`);
    const io = new IoCluster(cluster.masters.map(hostPort), { scaleReads: 'slave' });
    io.on('error', () => undefined);
    const fc = new FailoverCluster({ nodes: cluster.masters, readFrom: 'replica', consistency: 'eventual' });
    fc.on('error', () => undefined);
    const counter = new CallCounter(cluster.nodes);
    try {
      await Promise.all(keys.map((k) => fc.set(k, 'v'.repeat(32))));
      for (const m of cluster.masters) await withDirect(m, (c) => c.wait(1, 5000));
      const reads = (c: { get(key: string): Promise<unknown> }) => async (i: number): Promise<number> => {
        await c.get(keys[i]!);
        return 1;
      };
      const ioGets: Record<string, number> = Object.fromEntries(cluster.nodes.map((n) => [n, 0]));
      const fcGets: Record<string, number> = { ...ioGets };
      const r = await interleaved(
        settings.rounds,
        () => counter.around('get', ioGets, () => loops(settings.roundMs, reads(io))),
        () => counter.around('get', fcGets, () => loops(settings.roundMs, reads(fc as unknown as KV))),
      );
      // Each shard's reads should all be on its replica; the keys spread over the shards as their slots do.
      const onMasters = sum(cluster.masters.map((m) => fcGets[m]!));
      const perReplica = Object.fromEntries(cluster.replicas.map((x) => [x, fcGets[x]!]));
      return { ...compare(r.a, r.b), onMasters, perReplica, ioOnMasters: sum(cluster.masters.map((m) => ioGets[m]!)), total: sum(Object.values(fcGets)) };
    } finally {
      counter.close();
      io.disconnect();
      fc.disconnect();
    }
  });
}

interface OutageRun {
  contender: Contender;
  /** kill -9 → the replica's own `role:master`. */
  promotedMs: number | null;
  /** The replica's `role:master` → the first acknowledged write of the shard (held ones count). */
  firstWriteAfterPromotionMs: number | null;
  /** Longest time without an acknowledged write: the victim shard, and the worst other shard. */
  victimGapMs: number;
  otherGapMs: number;
  errors: Record<string, number>;
  writes: number;
}

async function outageRun(kind: Contender, nodeTimeoutMs: number, observeMs: number): Promise<OutageRun> {
  return withCluster({ shards: 3, replicasPerShard: 1, nodeTimeoutMs }, async (cluster) => {
    const c = client(kind, cluster);
    const keys = shardKeys(cluster, 'outage');
    const samples: WriteSample[][] = keys.map(() => []);
    const errors: string[] = [];
    let running = true;
    await Promise.all(keys.map((k) => c.set(k, '0')));
    const loopsDone = keys.flatMap((key, shard) =>
      Array.from({ length: 8 }, async () => {
        while (running) {
          const sample: WriteSample = { issuedAt: performance.now(), ackAt: null };
          samples[shard]!.push(sample);
          try {
            await c.incr(key);
            sample.ackAt = performance.now();
          } catch (error) {
            errors.push(label(error));
            await sleep(1);
          }
        }
      }),
    );
    try {
      await sleep(500);
      const victim = cluster.shards[0]!;
      const killedAt = performance.now();
      await cluster.kill(victim.master);
      let promotedAt: number | null = null;
      await waitFor('the replica reports role:master', async () => (await isMaster(victim.replicas[0]!)) && (promotedAt = performance.now()) !== null, observeMs, 5).catch(() => undefined);
      const until = (promotedAt ?? killedAt) + 1500;
      while (performance.now() < until) await sleep(50);
      running = false;
      await Promise.race([Promise.all(loopsDone), sleep(70_000)]);
      const end = performance.now();
      const acks = samples.map((s) => s.flatMap((w) => (w.ackAt === null ? [] : [w.ackAt])));
      const after = promotedAt === null ? [] : acks[0]!.filter((t) => t >= promotedAt!);
      return {
        contender: kind,
        promotedMs: promotedAt === null ? null : promotedAt - killedAt,
        firstWriteAfterPromotionMs: after.length === 0 ? null : Math.min(...after) - promotedAt!,
        victimGapMs: longestGap(acks[0]!, killedAt, end),
        otherGapMs: Math.max(...acks.slice(1).map((a) => longestGap(a, killedAt, end))),
        errors: tally(errors),
        writes: acks.reduce((n, a) => n + a.length, 0),
      };
    } finally {
      running = false;
      c.disconnect();
    }
  });
}

/** ioredis Cluster's `Too many Cluster redirections. Last error: …` with its last error's kind. */
function label(error: unknown): string {
  const m = /^Too many Cluster redirections\. Last error: (?:ReplyError: |Error: )?(\S+)/.exec(String((error as Error)?.message ?? ''));
  return m ? `Too many Cluster redirections (${m[1]!.replace(/\.$/, '')})` : errorLabel(error);
}

const errorsCell = (e: Record<string, number>): string => Object.entries(e).map(([k, n]) => `${k} ${n}`).join(', ') || '0';

export async function cluster(settings: Settings): Promise<SectionResult> {
  const began = performance.now();
  const misses: string[] = [];
  const rows: string[][] = [];
  const o = await overheadPart(settings);
  // Issue 18: ≥ 1.0× ioredis Cluster ops/s at ≤ 1.0× CPU per op, `readFrom: 'master'` and replica reads.
  const overheadTarget = throughputTarget(o.ratio, o.cpuRatio, 1, 1);
  if (!overheadTarget.met) misses.push(`cluster overhead: FailoverCluster at ${fmtRatio(o.ratio)} of ioredis Cluster, CPU per op ${cpuCell(o)} (target ${overheadTarget.text})`);
  rows.push(['throughput, 50 loops SET+GET, readFrom master', `${fmtOps(o.aOps)} → ${fmtOps(o.bOps)} (${fmtRatio(o.ratio)}, ${o.spread})`, cpuCell(o), targetCell(overheadTarget)]);
  const sp = await spreadPart(settings);
  const spreadSpeed = throughputTarget(sp.ratio, sp.cpuRatio, 1, 1);
  const spreadTarget: Target = {
    text: `every read on its shard replica, none on a master; ${spreadSpeed.text}`,
    met: sp.onMasters === 0 && Object.values(sp.perReplica).every((n) => n > 0) && spreadSpeed.met,
  };
  if (!spreadTarget.met) {
    misses.push(`cluster spread: ${sp.onMasters} GETs on masters, per replica ${Object.values(sp.perReplica).join(' / ')}, ${fmtRatio(sp.ratio)} of ioredis Cluster, CPU per read ${cpuCell(sp)} (target ${spreadTarget.text})`);
  }
  rows.push([
    "replica reads, 50 GET loops: ioredis scaleReads 'slave' → readFrom 'replica'",
    `${fmtOps(sp.aOps)} → ${fmtOps(sp.bOps)} (${fmtRatio(sp.ratio)}, ${sp.spread}); GETs per replica ${Object.values(sp.perReplica).map((n) => fmtPct(n / Math.max(sp.total, 1))).join(' / ')}, on masters ${sp.onMasters} (ioredis: ${sp.ioOnMasters})`,
    cpuCell(sp),
    targetCell(spreadTarget),
  ]);

  const runs: OutageRun[] = [];
  for (let i = 0; i < settings.runs; i++) {
    for (const kind of ['ioredis Cluster', 'FailoverCluster'] as const) runs.push(await outageRun(kind, 1000, 15_000));
  }
  const assist = [await outageRun('ioredis Cluster', 15_000, 40_000), await outageRun('FailoverCluster (assist)', 15_000, 40_000)];
  for (const r of [...runs, ...assist]) {
    const fc = r.contender !== 'ioredis Cluster';
    const onlyMaybe = Object.keys(r.errors).every((k) => k === 'ERR_MAYBE_APPLIED');
    const resumeTarget: Target | null = fc && r.contender === 'FailoverCluster' ? { text: '≤ 100 ms after promotion, errors only ERR_MAYBE_APPLIED', met: (r.firstWriteAfterPromotionMs ?? Infinity) <= 100 && onlyMaybe } : null;
    const assistTarget: Target | null = r.contender === 'FailoverCluster (assist)' ? { text: 'victim outage ≤ 2.5 s at node-timeout 15 s', met: r.victimGapMs <= 2500 && onlyMaybe } : null;
    const target = resumeTarget ?? assistTarget;
    if (target && !target.met) misses.push(`cluster outage (${r.contender}): promoted ${fmtMs(r.promotedMs)}, first write ${fmtMs(r.firstWriteAfterPromotionMs)} after it, victim gap ${fmtMs(r.victimGapMs)}, errors ${errorsCell(r.errors)} (target ${target.text})`);
    rows.push([
      `kill -9 of a shard master (node-timeout ${r.contender.includes('assist') || assist.includes(r) ? '15 s' : '1 s'}): ${r.contender}`,
      `promoted after ${fmtMs(r.promotedMs)}; first write ${fmtMs(r.firstWriteAfterPromotionMs)} after; victim shard gap ${fmtMs(r.victimGapMs)}, other shards ${fmtMs(r.otherGapMs)}`,
      `errors: ${errorsCell(r.errors)} (${r.writes} writes)`,
      targetCell(target),
    ]);
  }
  return {
    id: 'cluster',
    table: {
      title: 'Redis Cluster (3 shards × 1 replica): FailoverCluster vs ioredis Cluster',
      columns: ['scenario', 'result', 'cost / errors', 'target'],
      rows,
      notes: [
        'Throughput: ioredis Cluster → FailoverCluster, median of interleaved rounds, with the middle half of the pair ratios.',
        "Replica reads: GETs per node counted by the servers (INFO commandstats) around the rounds; the per-replica shares follow how the 50 keys fall on the shards' slots. ioredis's own `scaleReads: 'slave'` rounds are the baseline (no read-your-writes there; `consistency: 'eventual'` here).",
        `Outage runs: 8 INCR loops per shard; the victim's replica is polled (INFO replication, every 5 ms) for role:master. Median first write after promotion (FailoverCluster): ${fmtMs(median(runs.filter((r) => r.contender === 'FailoverCluster').map((r) => r.firstWriteAfterPromotionMs ?? NaN)))}.`,
      ],
    },
    misses,
    data: { overhead: o, spread: sp, runs, assist },
    durationMs: performance.now() - began,
  };
}
