import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { FailoverRedis } from '../src/index.js';
import { startReplicaSet, type NamespacedReplicaSet } from '../src/testing/index.js';
import { hostPort, type Settings } from './harness.js';
import { fmtMs, type SectionResult } from './report.js';
import { max, median } from './stats.js';

/**
 * Partitions on a real network of namespaces (`startReplicaSet({ network: 'namespaces' })`):
 * case 2 (the master isolated from everyone) and case 3 (the client stranded with the old master,
 * the Jepsen case). Every contender writes unique keys at once on the same set; after heal and
 * one master, every acknowledged key is looked for on it.
 */

const DOWN_AFTER_MS = 1000;
const HOLD_MS = 5000;
const ARGS = ['--repl-timeout', '2'];

interface Writer {
  label: string;
  incr(key: string): Promise<unknown>;
  close(): void;
}

interface Tally {
  label: string;
  acked: string[];
  ackTimes: number[];
  errors: number;
}

interface RunResult {
  oneMasterMs: number;
  tallies: { label: string; acked: number; lost: number; errors: number; lostWindowMs: number | null }[];
}

function writeLoop(w: Writer, prefix: string) {
  const tally: Tally = { label: w.label, acked: [], ackTimes: [], errors: 0 };
  let running = true;
  const done = (async () => {
    for (let i = 0; running; i++) {
      const key = `${prefix}:${i}`;
      try {
        await w.incr(key);
        tally.acked.push(key);
        tally.ackTimes.push(performance.now());
      } catch {
        tally.errors++;
      }
      await delay(5);
    }
  })();
  return {
    tally,
    stop: async () => {
      running = false;
      await done;
      return tally;
    },
  };
}

async function roleOf(address: string): Promise<{ role: string; master: string | null }> {
  const conn = new Redis({ ...hostPort(address), lazyConnect: true, connectTimeout: 500, commandTimeout: 500, maxRetriesPerRequest: 0, retryStrategy: () => null });
  conn.on('error', () => undefined);
  try {
    await conn.connect();
    const info = await conn.info('replication');
    const role = /role:(\w+)/.exec(info)?.[1] ?? 'unknown';
    const host = /master_host:(\S+)/.exec(info)?.[1];
    const port = /master_port:(\d+)/.exec(info)?.[1];
    return { role: role === 'slave' ? 'replica' : role, master: host && port ? `${host}:${port}` : null };
  } finally {
    conn.disconnect();
  }
}

/** Exactly one master, every other node following it. */
async function oneMaster(set: NamespacedReplicaSet, timeoutMs = 60_000): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const roles = await Promise.all(set.nodes.map(async (a) => ({ a, ...(await roleOf(a).catch(() => ({ role: 'down', master: null }))) })));
    const masters = roles.filter((r) => r.role === 'master');
    if (masters.length === 1 && roles.every((r) => r.a === masters[0]!.a || (r.role === 'replica' && r.master === masters[0]!.a))) return masters[0]!.a;
    await delay(50);
  }
  throw new Error('no single master within the time limit');
}

function failoverWriter(label: string, redis: FailoverRedis): Writer {
  redis.on('error', () => undefined);
  return { label, incr: (k) => redis.incr(k), close: () => redis.disconnect() };
}

function writersFor(set: NamespacedReplicaSet, sentinel: boolean): Writer[] {
  const base = {
    ...(sentinel ? { sentinels: [...set.sentinels], name: set.name } : { nodes: [set.master] }),
    failover: { downAfterMs: DOWN_AFTER_MS },
    commandTimeoutMs: 3000,
  };
  const mode = sentinel ? 'Sentinel' : 'client mode';
  const out = [
    failoverWriter(`FailoverRedis, ${mode}`, new FailoverRedis(base)),
    failoverWriter(`FailoverRedis, ${mode}, durable`, new FailoverRedis({ ...base, durability: { replicas: 1, timeoutMs: 300 } })),
  ];
  if (sentinel) {
    const redis = new Redis({ sentinels: set.sentinels.map(hostPort), name: set.name });
    redis.on('error', () => undefined);
    out.push({ label: 'ioredis 6 Sentinel', incr: (k) => redis.incr(k), close: () => redis.disconnect() });
  }
  return out;
}

async function runOnce(caseId: 2 | 3, sentinel: boolean, run: number): Promise<RunResult> {
  const set = await startReplicaSet({ network: 'namespaces', replicas: 2, sentinels: sentinel ? 3 : 0, downAfterMs: DOWN_AFTER_MS, args: ARGS });
  const writers = writersFor(set, sentinel);
  try {
    for (const w of writers) await w.incr(`warm:${w.label}`);
    const loops = writers.map((w, i) => writeLoop(w, `p${caseId}:${run}:${i}`));
    await delay(1000);
    const cutAt = performance.now();
    if (caseId === 2) await set.isolate(set.master);
    else await set.partition([set.master, 'client'], [...set.replicas, ...set.sentinels]);
    await delay(HOLD_MS);
    await set.heal();
    const healedAt = performance.now();
    const master = await oneMaster(set);
    const oneMasterMs = performance.now() - healedAt;
    await delay(1500);
    const tallies = await Promise.all(loops.map((l) => l.stop()));
    const check = new Redis({ ...hostPort(master), maxRetriesPerRequest: 1 });
    try {
      const out: RunResult['tallies'] = [];
      for (const t of tallies) {
        const values = t.acked.length ? await check.mget(t.acked) : [];
        const lostAt = t.acked.flatMap((_, i) => (Number(values[i] ?? 0) !== 1 ? [t.ackTimes[i]! - cutAt] : []));
        out.push({ label: t.label, acked: t.acked.length, lost: lostAt.length, errors: t.errors, lostWindowMs: lostAt.length ? Math.max(...lostAt) : null });
      }
      return { oneMasterMs, tallies: out };
    } finally {
      check.disconnect();
    }
  } finally {
    for (const w of writers) w.close();
    await set.stop();
  }
}

export async function partition(settings: Settings): Promise<SectionResult> {
  const started = performance.now();
  const runs = settings.quick ? 1 : Math.min(settings.runs, 2);
  const rows: string[][] = [];
  const misses: string[] = [];
  const data: unknown[] = [];
  for (const caseId of [2, 3] as const) {
    for (const sentinel of [false, true]) {
      const results: RunResult[] = [];
      for (let run = 0; run < runs; run++) results.push(await runOnce(caseId, sentinel, run));
      data.push({ caseId, sentinel, results });
      const labels = results[0]!.tallies.map((t) => t.label);
      for (const label of labels) {
        const of = results.map((r) => r.tallies.find((t) => t.label === label)!);
        const lost = of.map((t) => t.lost);
        const windows = of.flatMap((t) => (t.lostWindowMs === null ? [] : [t.lostWindowMs]));
        const durable = label.endsWith('durable');
        rows.push([
          caseId === 2 ? '2: master isolated' : '3: client stranded with the master',
          label,
          of.map((t) => t.acked).join(' / '),
          lost.join(' / '),
          windows.length ? fmtMs(max(windows)) : '—',
          of.map((t) => t.errors).join(' / '),
          fmtMs(median(results.map((r) => r.oneMasterMs))),
        ]);
        if (durable && lost.some((n) => n > 0)) misses.push(`case ${caseId}, ${label}: ${lost.join('/')} acknowledged writes lost (target 0)`);
        if (!durable && label.startsWith('FailoverRedis') && windows.some((w) => w > DOWN_AFTER_MS)) {
          misses.push(`case ${caseId}, ${label}: a lost write was acknowledged ${fmtMs(max(windows))} after the cut (target: within about downAfterMs = ${DOWN_AFTER_MS} ms)`);
        }
      }
    }
  }
  return {
    id: 'partition',
    table: {
      title: `Partitions (network namespaces, 2 replicas, 3 Sentinels in Sentinel mode; cut held ${HOLD_MS / 1000} s; downAfterMs ${DOWN_AFTER_MS}, repl-timeout 2 s; ${runs} run(s), values per run)`,
      columns: ['case', 'client', 'acked', 'lost', 'last lost ack after the cut', 'errors', 'one master after heal (median)'],
      rows,
      notes: [
        'acked/lost/errors: per run. Lost: acknowledged INCRs whose key is not 1 on the one master after heal.',
        'Client mode and Sentinel mode run on separate sets (two promoters on one set would fight); the contenders of a mode write at once on the same set.',
      ],
    },
    misses,
    data,
    durationMs: performance.now() - started,
  };
}
