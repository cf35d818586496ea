/**
 * What a fleet of clients costs the servers: N idle clients (connected, no application traffic)
 * and N busy ones, against the same N plain ioredis clients, in client mode and Sentinel mode.
 * Everything is read from the servers themselves over one window: `INFO commandstats` (commands
 * per client per second, per node), `INFO cpu` (used_cpu_sys + used_cpu_user) and `CLIENT LIST`
 * (connections per client per node, by name); the clients' own CPU from process.cpuUsage().
 * A phase with no client at all is the baseline (replication pings, Sentinel's own probes, the
 * counter's INFO) that every other phase is measured over.
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Redis } from 'ioredis';
import { FailoverRedis } from '../src/index.js';
import { parseInfo } from '../src/topology/info-parser.js';
import type { ReplicaSet } from '../src/testing/index.js';
import { hostPort, sleep, within, withReplicaSet, type Settings } from './harness.js';
import { targetCell, type SectionResult, type Target } from './report.js';
import { max, median } from './stats.js';

/**
 * A full collection before each window: what the phases before it left on the heap (100 busy
 * clients' garbage) is otherwise collected in some later window, ~300 ms of one mark-compact that
 * showed as 0.1 ms/s per idle client in one run of three.
 */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

/** Milliseconds spent in major (mark-compact) collections while `run` runs. */
async function majorGcMs<T>(run: () => Promise<T>): Promise<{ value: T; gcMs: number }> {
  let gcMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if ((entry as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) gcMs += entry.duration;
  });
  observer.observe({ entryTypes: ['gc'] });
  try {
    return { value: await run(), gcMs };
  } finally {
    observer.disconnect();
  }
}

/** The counter's own connections are named so, and left out of the connection counts. */
const COUNTER_NAME = 'fleet-bench-counter';
/** A busy client's loop: SET, then GET of the same key, then this pause. */
const BUSY_PAUSE_MS = 50;
/** The application's commands in the busy loop: what is left over is the client's own traffic. */
const APP_COMMANDS = new Set(['set', 'get']);

/** The issue's targets for an idle client (issue 21). */
export const IDLE_TARGETS = { masterCmds: 1, replicaCmds: 0.5, clientCpuMsPerS: 0.05, masterCpuPctPer100: 0.6 } as const;

type Kind = 'none' | 'ioredis' | 'failover';
type Activity = 'idle' | 'busy';
type Mode = 'nodes' | 'sentinel';

interface ServerSample {
  calls: Record<string, number>;
  cpuS: number;
}

interface Snapshot {
  at: number;
  clientCpuUs: number;
  servers: Record<string, ServerSample>;
}

/** Per server, over one window: commands (by name) per second, CPU share, connections by name. */
export interface ServerWindow {
  perSecond: Record<string, number>;
  cpuShare: number;
  connections: Record<string, number>;
}

export interface PhaseResult {
  mode: Mode;
  kind: Kind;
  activity: Activity;
  clients: number;
  seconds: number;
  clientCpuMsPerS: number;
  /** Time in major collections during the window, all clients together (the process's). */
  majorGcMs: number;
  servers: Record<string, ServerWindow>;
}

// ------------------------------------------------------------------ pure arithmetic

/** `cmdstat_ping:calls=12,usec=…` lines → `{ ping: 12 }`. Never throws. */
export function parseCommandstats(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(parseInfo(text))) {
    if (!key.startsWith('cmdstat_')) continue;
    const calls = /(?:^|,)calls=(\d+)/.exec(value);
    if (calls) out[key.slice('cmdstat_'.length)] = Number(calls[1]);
  }
  return out;
}

/** `used_cpu_sys` + `used_cpu_user`, in seconds. */
export function parseCpuSeconds(text: string): number {
  const f = parseInfo(text);
  return Number(f['used_cpu_sys'] ?? 0) + Number(f['used_cpu_user'] ?? 0);
}

/**
 * `CLIENT LIST` → connections by name, without the servers' own links: replication (flags `S`,
 * `M`), Sentinels (`sentinel-…`) and the counter. An unnamed connection counts as `(unnamed)`.
 */
export function parseClientList(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('id=')) continue;
    const fields = Object.fromEntries(line.trim().split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const flags = fields['flags'] ?? '';
    const name = fields['name'] ?? '';
    if (/[SM]/.test(flags) || name.startsWith('sentinel-') || name === COUNTER_NAME) continue;
    const key = name === '' ? '(unnamed)' : name;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/** Commands per second by name between two samples of one server. */
export function callRates(before: Record<string, number>, after: Record<string, number>, seconds: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, n] of Object.entries(after)) {
    const delta = n - (before[name] ?? 0);
    if (delta > 0) out[name] = delta / seconds;
  }
  return out;
}

/** `a - b` per name (a phase over the baseline), negative noise clamped to 0, divided by `clients`. */
export function perClient(a: Record<string, number>, b: Record<string, number>, clients: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, n] of Object.entries(a)) {
    const v = (n - (b[name] ?? 0)) / Math.max(1, clients);
    if (v > 0) out[name] = v;
  }
  return out;
}

export function total(rates: Record<string, number>, skip: ReadonlySet<string> = new Set()): number {
  let sum = 0;
  for (const [name, n] of Object.entries(rates)) if (!skip.has(name)) sum += n;
  return sum;
}

// ------------------------------------------------------------------ measuring

class ServerCounter {
  readonly #conns: Map<string, Redis>;

  constructor(addresses: readonly string[]) {
    this.#conns = new Map(
      addresses.map((a) => {
        const conn = new Redis({ ...hostPort(a), connectionName: COUNTER_NAME, maxRetriesPerRequest: 1, retryStrategy: () => null });
        conn.on('error', () => undefined);
        return [a, conn];
      }),
    );
  }

  async snapshot(): Promise<Snapshot> {
    const servers: Record<string, ServerSample> = {};
    // Client CPU first and last around the servers' samples: the counter's own work stays out.
    const clientCpu = process.cpuUsage();
    const at = performance.now();
    await Promise.all(
      [...this.#conns].map(async ([address, conn]) => {
        const [stats, cpu, totals] = await Promise.all([conn.info('commandstats'), conn.info('cpu'), conn.info('stats')]);
        const calls = parseCommandstats(stats);
        // A Sentinel (7.0) keeps no commandstats: its total is all there is to count.
        if (Object.keys(calls).length === 0) calls['(all commands)'] = Number(parseInfo(totals)['total_commands_processed'] ?? 0);
        servers[address] = { calls, cpuS: parseCpuSeconds(cpu) };
      }),
    );
    return { at, clientCpuUs: clientCpu.user + clientCpu.system, servers };
  }

  async connections(): Promise<Record<string, Record<string, number>>> {
    const out: Record<string, Record<string, number>> = {};
    await Promise.all([...this.#conns].map(async ([address, conn]) => (out[address] = parseClientList((await conn.call('CLIENT', 'LIST')) as string))));
    return out;
  }

  close(): void {
    for (const conn of this.#conns.values()) conn.disconnect();
  }
}

interface Client {
  connect(): Promise<unknown>;
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
  quit(): Promise<unknown>;
  disconnect(): void;
}

function makeClient(kind: Exclude<Kind, 'none'>, mode: Mode, set: ReplicaSet): Client {
  if (kind === 'failover') {
    const redis = mode === 'nodes' ? new FailoverRedis({ nodes: [set.master] }) : new FailoverRedis({ sentinels: set.sentinels, name: set.name });
    redis.on('error', () => undefined);
    return redis;
  }
  const options = { lazyConnect: true, maxRetriesPerRequest: 1 };
  const redis = mode === 'nodes' ? new Redis({ ...hostPort(set.master), ...options }) : new Redis({ sentinels: set.sentinels.map(hostPort), name: set.name, ...options });
  redis.on('error', () => undefined);
  return redis;
}

async function phase(set: ReplicaSet, counter: ServerCounter, mode: Mode, kind: Kind, activity: Activity, n: number, settleMs: number, windowMs: number): Promise<Omit<PhaseResult, 'servers'> & { before: Snapshot; after: Snapshot; connections: Record<string, Record<string, number>> }> {
  const clients = kind === 'none' ? [] : Array.from({ length: n }, () => makeClient(kind, mode, set));
  let running = true;
  const loops: Promise<void>[] = [];
  try {
    await within(Promise.all(clients.map((c) => c.connect())), 30_000, `${n} ${kind} clients connecting`);
    if (activity === 'busy') {
      clients.forEach((c, i) =>
        loops.push(
          (async () => {
            let j = 0;
            while (running) {
              const key = `fleet:${i}:${j++ % 100}`;
              await c.set(key, 'v').catch(() => undefined);
              await c.get(key).catch(() => undefined);
              await sleep(BUSY_PAUSE_MS);
            }
          })(),
        ),
      );
    }
    // Past connecting and the first refreshes: the steady state is what a fleet pays.
    await sleep(settleMs);
    collectGarbage();
    const before = await counter.snapshot();
    const { value: after, gcMs } = await majorGcMs(async () => {
      await sleep(windowMs);
      return counter.snapshot();
    });
    const connections = await counter.connections();
    const seconds = (after.at - before.at) / 1000;
    return {
      mode,
      kind,
      activity,
      clients: clients.length,
      seconds,
      clientCpuMsPerS: (after.clientCpuUs - before.clientCpuUs) / 1000 / seconds,
      majorGcMs: gcMs,
      before,
      after,
      connections,
    };
  } finally {
    running = false;
    await Promise.all(loops);
    await Promise.all(clients.map((c) => within(c.quit(), 5000, 'quit').catch(() => c.disconnect())));
  }
}

/** A phase over the baseline (no client), per client. */
function overBaseline(p: Awaited<ReturnType<typeof phase>>, base: Awaited<ReturnType<typeof phase>>): PhaseResult {
  const servers: Record<string, ServerWindow> = {};
  for (const address of Object.keys(p.after.servers)) {
    const rates = callRates(p.before.servers[address]!.calls, p.after.servers[address]!.calls, p.seconds);
    const baseRates = callRates(base.before.servers[address]!.calls, base.after.servers[address]!.calls, base.seconds);
    servers[address] = {
      perSecond: perClient(rates, baseRates, p.clients),
      cpuShare: (p.after.servers[address]!.cpuS - p.before.servers[address]!.cpuS) / p.seconds,
      connections: perClient(p.connections[address] ?? {}, base.connections[address] ?? {}, p.clients),
    };
  }
  const clientCpuMsPerS = Math.max(0, p.clientCpuMsPerS - base.clientCpuMsPerS) / Math.max(1, p.clients);
  return { mode: p.mode, kind: p.kind, activity: p.activity, clients: p.clients, seconds: p.seconds, clientCpuMsPerS, majorGcMs: p.majorGcMs, servers };
}

// ------------------------------------------------------------------ the section

interface Row {
  mode: Mode;
  kind: Kind;
  activity: Activity;
  runs: PhaseResult[];
}

function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

/** The commands of one phase on one server, per client per second: `4.50 info + 5.00 ping`. */
function breakdown(rates: Record<string, number>, skip: ReadonlySet<string>): string {
  const parts = Object.entries(rates)
    .filter(([name, n]) => !skip.has(name) && n >= 0.005)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${fmt(n)} ${name}`);
  return parts.length === 0 ? '0' : parts.join(' + ');
}

function connectionsCell(c: Record<string, number>): string {
  const parts = Object.entries(c)
    .filter(([, n]) => n >= 0.05)
    .sort()
    .map(([name, n]) => `${fmt(n, 1)} ${name.replace(/^redis-failover:/, ':')}`);
  return parts.length === 0 ? '0' : parts.join(', ');
}

export async function fleet(settings: Settings): Promise<SectionResult> {
  const began = performance.now();
  const n = settings.quick ? 50 : 100;
  // Idle FailoverRedis clients: the steady state starts after their first idle refresh (they spend
  // 2 s active after connecting, then refresh 60 s after their last discovery: all together, since
  // they connected together); the window then holds exactly one refresh each. Plain ioredis has no
  // periodic work: a short window says the same. Busy: 10 s after a short settle.
  const IDLE_REFRESH_MS = 60_000;
  const idle = { settleMs: IDLE_REFRESH_MS + 6000, windowMs: IDLE_REFRESH_MS };
  const other = { settleMs: 3000, windowMs: settings.quick ? 5000 : 10_000 };
  const timing = (kind: Kind, activity: Activity) => (kind === 'failover' && activity === 'idle' ? idle : other);
  const runs = Math.min(settings.runs, 3);
  const rows: Row[] = [];
  const raw: unknown[] = [];
  const row = (mode: Mode, kind: Kind, activity: Activity): Row => {
    let r = rows.find((x) => x.mode === mode && x.kind === kind && x.activity === activity);
    if (!r) rows.push((r = { mode, kind, activity, runs: [] }));
    return r;
  };
  const servers: Record<Mode, { master: string; replicas: string[]; sentinels: string[] }> = {} as never;
  // A quick run measures client mode only (the Sentinel rows take as long again).
  const modes: Mode[] = settings.quick ? ['nodes'] : ['nodes', 'sentinel'];
  for (const mode of modes) {
    await withReplicaSet({ replicas: 2, sentinels: mode === 'sentinel' ? 3 : 0 }, async (set) => {
      servers[mode] = { master: set.master, replicas: set.replicas, sentinels: set.sentinels };
      const counter = new ServerCounter([...set.nodes, ...set.sentinels]);
      try {
        // Unmeasured: the first clients of a kind load and compile what the measured ones then run.
        for (const kind of ['ioredis', 'failover'] as const) await phase(set, counter, mode, kind, 'busy', 5, 500, 100);
        for (let run = 0; run < runs; run++) {
          const base = await phase(set, counter, mode, 'none', 'idle', 0, 500, other.windowMs);
          raw.push({ mode, run, baseline: base });
          for (const activity of ['idle', 'busy'] as const) {
            // Alternate which client goes first from run to run.
            const kinds = run % 2 === 0 ? (['ioredis', 'failover'] as const) : (['failover', 'ioredis'] as const);
            for (const kind of kinds) {
              const { settleMs, windowMs } = timing(kind, activity);
              const p = overBaseline(await phase(set, counter, mode, kind, activity, n, settleMs, windowMs), base);
              row(mode, kind, activity).runs.push(p);
              raw.push({ run, ...p });
            }
          }
        }
      } finally {
        counter.close();
      }
    });
  }

  const misses: string[] = [];
  const tableRows: string[][] = [];
  for (const r of rows) {
    const { master, replicas, sentinels } = servers[r.mode];
    const skip = r.activity === 'busy' ? APP_COMMANDS : new Set<string>();
    const med = (f: (p: PhaseResult) => number): number => median(r.runs.map(f));
    const worst = (f: (p: PhaseResult) => number): number => max(r.runs.map(f));
    const masterCmds = (p: PhaseResult): number => total(p.servers[master]!.perSecond, skip);
    const replicaCmds = (p: PhaseResult): number => Math.max(...replicas.map((a) => total(p.servers[a]!.perSecond, skip)));
    const sentinelCmds = (p: PhaseResult): number => (sentinels.length === 0 ? 0 : Math.max(...sentinels.map((a) => total(p.servers[a]!.perSecond))));
    const masterCpu = (p: PhaseResult): number => p.servers[master]!.cpuShare;
    const replicaCpu = (p: PhaseResult): number => Math.max(...replicas.map((a) => p.servers[a]!.cpuShare));
    const last = r.runs[r.runs.length - 1]!;
    let target: Target | null = null;
    if (r.kind === 'failover' && r.activity === 'idle') {
      const cpuPer100 = (p: PhaseResult): number => (masterCpu(p) * 100 * 100) / Math.max(1, p.clients);
      const met =
        worst(masterCmds) <= IDLE_TARGETS.masterCmds &&
        worst(replicaCmds) <= IDLE_TARGETS.replicaCmds &&
        worst((p) => p.clientCpuMsPerS) <= IDLE_TARGETS.clientCpuMsPerS &&
        worst(cpuPer100) <= IDLE_TARGETS.masterCpuPctPer100;
      target = { text: `≤ ${IDLE_TARGETS.masterCmds}/s master, ≤ ${IDLE_TARGETS.replicaCmds}/s replica, ≤ ${IDLE_TARGETS.clientCpuMsPerS} ms/s client CPU, ≤ ${IDLE_TARGETS.masterCpuPctPer100} % master CPU per 100`, met };
      if (!met) {
        misses.push(
          `fleet, ${r.mode} mode, idle FailoverRedis: ${fmt(worst(masterCmds))} commands/s per client on the master, ${fmt(worst(replicaCmds))} on a replica, ` +
            `${fmt(worst((p) => p.clientCpuMsPerS), 3)} ms/s client CPU, master ${fmt(worst(cpuPer100))} % CPU per 100 clients (worst of ${r.runs.length}); target ${target.text}`,
        );
      }
    }
    tableRows.push([
      r.mode === 'nodes' ? 'client mode' : 'Sentinel',
      `${r.runs[0]!.clients} ${r.activity} ${r.kind === 'failover' ? 'FailoverRedis' : 'ioredis 6'}`,
      `${fmt(med(masterCmds))} (${breakdown(last.servers[master]!.perSecond, skip)})`,
      `${fmt(med(replicaCmds))} (${breakdown(last.servers[replicas[0]!]!.perSecond, skip)})`,
      sentinels.length === 0 ? '—' : `${fmt(med(sentinelCmds))} (${breakdown(last.servers[sentinels[0]!]!.perSecond, new Set())})`,
      `${connectionsCell(last.servers[master]!.connections)} / ${connectionsCell(last.servers[replicas[0]!]!.connections)}${sentinels.length ? ` / ${connectionsCell(last.servers[sentinels[0]!]!.connections)}` : ''}`,
      `${fmt(med(masterCpu) * 100, 2)} % / ${fmt(med(replicaCpu) * 100, 2)} %`,
      fmt(med((p) => p.clientCpuMsPerS), 3),
      targetCell(target),
    ]);
  }
  return {
    id: 'fleet',
    table: {
      title: `Fleet: what N clients cost the servers (N = ${n}; per client per second, over the no-client baseline; median of ${runs})`,
      columns: [
        'mode',
        'clients',
        'commands/s per client on the master',
        '… on a replica (the busier)',
        '… on a Sentinel',
        'connections per client: master / replica / Sentinel',
        'server CPU (all N): master / busier replica',
        'client CPU, ms per s per client',
        'target',
      ],
      rows: tableRows,
      notes: [
        `Idle: connected, no application command; FailoverRedis measured over ${idle.windowMs / 1000} s from ${idle.settleMs / 1000} s after connecting (past its first idle refresh), ioredis over ${other.windowMs / 1000} s. Busy: each client loops SET k, GET k, ${BUSY_PAUSE_MS} ms pause (≈ ${Math.round(2000 / (BUSY_PAUSE_MS + 1))} commands/s); its SET and GET are left out of the counts, so what shows is the client's own traffic.`,
        'Counts are the servers\' own `INFO commandstats` deltas, less those of a phase with no client (replication pings, Sentinel\'s probes, the counter\'s INFO). Connections: `CLIENT LIST`, without replication links, Sentinels\' own and the counter\'s. Server CPU: `used_cpu_sys + used_cpu_user` over the window, for all N clients (the baseline included).',
        'Client CPU: this process\'s `process.cpuUsage()` over the window, less the no-client phase, per client, after a full GC before each window (what earlier phases left on the heap is not this phase\'s cost). In the breakdowns, the figures are of the last run.',
      ],
    },
    misses,
    data: { n, idle, other, runs, raw },
    durationMs: performance.now() - began,
  };
}
