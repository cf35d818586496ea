/**
 * `npm run bench -- --only calls`: the cost of one command, counted rather than timed — the
 * JavaScript function calls and the allocations of one awaited GET and one awaited SET, through
 * FailoverRedis (defaults, and `readFrom: 'master'`), plain ioredis and the peers on the same
 * servers; then FailoverCluster against ioredis `Cluster`. How each number is taken is said in
 * calls-child.ts (which runs in a child process per client and mode) and in the table's notes.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';
import { slotOf } from '../src/cluster/slot.js';
import { startCluster } from '../src/testing/index.js';
import { bucketOf, fmtBytes, fmtCount, perBucket, top, withRatio } from './calls-aggregate.js';
import { withDirect, withReplicaSet, type Settings } from './harness.js';
import { GLIDE, NODE_REDIS } from './peers.js';
import type { SectionResult, Table } from './report.js';
import { median } from './stats.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
// Under bench/results/ (ignored by git and lint) so that the bundle resolves packages from node_modules.
const outDir = join(here, 'results', '.build-calls');

const CALLS_FLAGS = ['--no-opt', '--no-sparkplug', '--no-maglev'];
const BYTES_FLAGS = ['--expose-gc', '--max-semi-space-size=64', '--min-semi-space-size=64'];

interface Kind {
  kind: string;
  label: string;
  /** The kind whose numbers the ratios are taken against. */
  baseline: string;
  note?: string;
}

const REPLICA_SET_KINDS: Kind[] = [
  { kind: 'ioredis', label: 'ioredis 6 (on the master)', baseline: 'ioredis' },
  { kind: 'failover-master', label: "FailoverRedis `readFrom: 'master'`", baseline: 'ioredis' },
  { kind: 'failover-defaults', label: 'FailoverRedis defaults (`replicaPreferred`, read-your-writes; GETs on a replica)', baseline: 'ioredis' },
  { kind: 'node-redis', label: `${NODE_REDIS} \`createClient\` (on the master)`, baseline: 'ioredis' },
  { kind: 'glide', label: `${GLIDE} \`GlideClient\` (on the master)`, baseline: 'ioredis', note: 'JS side only: its Rust core does the protocol work outside V8' },
];

const CLUSTER_KINDS: Kind[] = [
  { kind: 'ioredis-cluster', label: 'ioredis 6 `Cluster`', baseline: 'ioredis-cluster' },
  { kind: 'failover-cluster-master', label: "FailoverCluster `readFrom: 'master'`", baseline: 'ioredis-cluster' },
  { kind: 'failover-cluster-defaults', label: 'FailoverCluster defaults (`replicaPreferred`, read-your-writes)', baseline: 'ioredis-cluster' },
];

async function bundle(): Promise<string> {
  rmSync(outDir, { recursive: true, force: true });
  await build({
    entry: { 'calls-child': join(here, 'calls-child.ts') },
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    outDir,
    splitting: true,
    sourcemap: true,
    dts: false,
    config: false,
    silent: true,
    skipNodeModulesBundle: true,
  });
  return join(outDir, 'calls-child.js');
}

function child(script: string, flags: string[], mode: string, kind: string, config: object): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...flags, script, mode, kind, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'], cwd: outDir });
    let out = '';
    let err = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 180_000);
    proc.once('error', reject);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (code !== 0 || !line) return reject(new Error(`calls child (${mode} ${kind}) exited with ${signal ?? code}: ${(err.trim() || out.trim()).slice(-2000)}`));
      resolve(JSON.parse(line) as Record<string, unknown>);
    });
  });
}

interface Fn {
  name: string;
  file: string;
  line: number;
  count: number;
}

interface OpCalls {
  callsPerWindow: number[];
  functions: Fn[];
  objectsPerCommand: number[];
  sampledBytesPerCommand: number[];
  allocationSites: Fn[];
}

interface Measured {
  kind: Kind;
  perWindow: number;
  calls: Record<'get' | 'set', OpCalls>;
  bytes: Record<'get' | 'set', { bytesPerCommand: number | null; windows: unknown[] }>;
}

async function measureKinds(script: string, kinds: Kind[], config: object): Promise<Measured[]> {
  const out: Measured[] = [];
  for (const kind of kinds) {
    const calls = await child(script, CALLS_FLAGS, 'calls', kind.kind, config);
    const bytes = await child(script, BYTES_FLAGS, 'bytes', kind.kind, config);
    out.push({
      kind,
      perWindow: calls['perWindow'] as number,
      calls: { get: calls['get'] as OpCalls, set: calls['set'] as OpCalls },
      bytes: { get: bytes['get'] as Measured['bytes']['get'], set: bytes['set'] as Measured['bytes']['set'] },
    });
  }
  return out;
}

/** The calls of the median window, per command. */
const callsPer = (m: Measured, op: 'get' | 'set'): number => median(m.calls[op].callsPerWindow) / m.perWindow;
const bytesPer = (m: Measured, op: 'get' | 'set'): number => m.bytes[op].bytesPerCommand ?? Number.NaN;
const objectsPer = (m: Measured, op: 'get' | 'set'): number => Math.min(...m.calls[op].objectsPerCommand);

const SHORT: Record<string, string> = { 'redis-failover': 'src/', 'Node internals': 'Node', 'bench loop': 'loop' };

/** `src/ 41.0 · ioredis 62.0 · Node 112.0 · denque 2.0`: the calls of one GET by where the code lives. */
function bucketsCell(fns: readonly Fn[]): string {
  const b = perBucket(
    fns.map((f) => ({ file: f.file, count: f.count })),
    1,
  );
  return Object.entries(b)
    .filter(([, n]) => n >= 0.5)
    .sort((x, y) => y[1] - x[1])
    .map(([k, n]) => `${SHORT[k] ?? k.replace(/^package /, '')} ${n.toFixed(1)}`)
    .join(' · ');
}

function rowsOf(measured: Measured[]): string[][] {
  const by = new Map(measured.map((m) => [m.kind.kind, m]));
  return measured.map((m) => {
    const base = by.get(m.kind.baseline);
    const isBase = m.kind.kind === m.kind.baseline;
    const cell = (value: (x: Measured) => number, fmt: (n: number) => string) => withRatio(value(m), base ? value(base) : Number.NaN, fmt, isBase);
    return [
      m.kind.label + (m.kind.note ? ` — ${m.kind.note}` : ''),
      cell((x) => callsPer(x, 'get'), fmtCount),
      cell((x) => callsPer(x, 'set'), fmtCount),
      bucketsCell(m.calls.get.functions),
      cell((x) => bytesPer(x, 'get'), fmtBytes),
      cell((x) => bytesPer(x, 'set'), fmtBytes),
      `${fmtCount(objectsPer(m, 'get'))} / ${fmtCount(objectsPer(m, 'set'))}`,
    ];
  });
}

const COLUMNS = [
  'client',
  'JS calls per GET (× baseline)',
  'JS calls per SET (× baseline)',
  'the calls of one GET, by where the code lives',
  'JS heap bytes per GET, optimized (× baseline)',
  'JS heap bytes per SET, optimized (× baseline)',
  'objects allocated per GET / SET, as written (interpreter)',
];

function topTable(title: string, fns: readonly Fn[], n: number, unit: string): Table {
  return {
    title,
    columns: ['#', 'function', 'file:line', unit],
    rows: top(fns, n).map((f, i) => [String(i + 1), `\`${f.name}\``, `\`${f.line > 0 ? `${f.file}:${f.line}` : f.file}\``, f.count.toFixed(2)]),
    notes: [],
  };
}

export async function calls(settings: Settings): Promise<SectionResult> {
  const began = performance.now();
  // The interpreter child is slow, and exact: few short windows do. The optimized child needs a
  // long warm-up (until the compiler is done) and long windows to be steady to a few per cent.
  const shape = settings.quick
    ? { calls: { windows: 5, perWindow: 200, warmup: 500 }, bytes: { windows: 7, perWindow: 1000, warmup: 5000 } }
    : { calls: { windows: 9, perWindow: 500, warmup: 2000 }, bytes: { windows: 9, perWindow: 1000, warmup: 10_000 } };
  const script = await bundle();
  try {
    const replicaSet = await withReplicaSet({ replicas: 2 }, async (set) => {
      const getKey = 'bench:calls:get';
      await withDirect(set.master, async (conn) => {
        await conn.set(getKey, 'v'.repeat(32));
        await conn.wait(set.replicas.length, 5000);
      });
      return measureKinds(script, REPLICA_SET_KINDS, { root, nodes: [set.master, ...set.replicas], getKey, ...shape });
    });
    const cluster = await (async () => {
      const c = await startCluster({ shards: 3, replicasPerShard: 1 });
      try {
        const getKey = 'bench:calls:get';
        const slot = slotOf(getKey);
        const shard = c.shards.find((s) => s.slots.some(([a, b]) => slot >= a && slot <= b))!;
        await withDirect(shard.master, async (conn) => {
          await conn.set(getKey, 'v'.repeat(32));
          await conn.wait(shard.replicas.length, 5000);
        });
        return await measureKinds(script, CLUSTER_KINDS, { root, nodes: c.masters, getKey, ...shape });
      } finally {
        await c.stop();
      }
    })();

    const defaults = replicaSet.find((m) => m.kind.kind === 'failover-defaults')!;
    const master = replicaSet.find((m) => m.kind.kind === 'failover-master')!;
    const ours = (fns: readonly Fn[]) => fns.filter((f) => bucketOf(f.file) === 'redis-failover');
    const more: Table[] = [
      topTable('7b. The 15 functions called most on the path of one GET — FailoverRedis defaults', defaults.calls.get.functions, 15, 'calls per GET'),
      topTable("7c. This library's own functions on the path of one GET — FailoverRedis defaults", ours(defaults.calls.get.functions), 40, 'calls per GET'),
      topTable("7d. This library's own functions on the path of one SET — FailoverRedis `readFrom: 'master'`", ours(master.calls.set.functions), 40, 'calls per SET'),
      topTable('7e. Where one GET allocates (objects per GET, interpreter) — FailoverRedis defaults', defaults.calls.get.allocationSites, 15, 'objects per GET'),
      topTable("7f. This library's own functions on the path of one SET — FailoverRedis defaults (read-your-writes bookkeeping and its offset sampler)", ours(defaults.calls.set.functions), 40, 'calls per SET'),
    ];
    return {
      id: 'calls',
      table: {
        title: '7. Cost of one command, counted: JavaScript calls and allocations per GET and per SET',
        columns: COLUMNS,
        rows: [...rowsOf(replicaSet), ...rowsOf(cluster)],
        notes: [
          'One client per child process (plain JavaScript bundled from the sources with source maps, nothing else loaded), one awaited command at a time, after a warm-up; the whole round trip in the client process is counted (send, socket, reply parsing, the awaiting loop). Baseline: ioredis 6 for the replica-set rows, ioredis 6 `Cluster` for the cluster rows (3 shards × 1 replica).',
          `Calls: V8 precise coverage with call counts (\`Profiler.startPreciseCoverage({ callCount: true, detailed: true })\`, \`node:inspector\`), read and reset around ${shape.calls.windows} windows of ${shape.calls.perWindow} commands; the median window is reported. The child runs with \`${CALLS_FLAGS.join(' ')}\`: optimized and inlined code does not count its calls, the interpreter counts every call the source makes, so the count is exact and the same run to run (a timer of the client that fires in a window adds to that window only, and the median leaves it out).`,
          `Heap bytes: a second child with every tier on (\`${BYTES_FLAGS.join(' ')}\`): \`v8.getHeapSpaceStatistics()\` summed over every space but the code spaces right after a full GC and after ${shape.bytes.perWindow} commands, in windows in which no GC ran (a \`gc\` PerformanceObserver checks it); the median of ${shape.bytes.windows} windows, after ${shape.bytes.warmup} commands of warm-up. This is what production code allocates after escape analysis; sockets' buffers outside the JS heap are not in it.`,
          'Objects: the sampling heap profiler at a 1-byte mean interval (every allocation is sampled; collected objects kept) in the interpreter child, the window with the fewest (a periodic topology refresh parses INFO into thousands of strings, in some windows and not others): allocations as the source makes them, before escape analysis — an upper bound of what optimized code allocates, and where (table 7e). The interpreter also boxes numbers that optimized code keeps unboxed (async ids, offsets), which inflates Node\'s own share alike for every client.',
          "Under read-your-writes (the defaults rows), a SET also pays, spread over the SETs, the offset sampler's `ROLE` round trips to the replicas that tell when a write may be read there (table 7f: `roleOffset` and its callers at their rate per SET). They follow time, not commands, so those cells move by a few per cent from run to run; every other cell is the same run to run within about 1 % (calls) and 2 % (bytes) on this machine.",
          `The breakdown column: \`src/\` is this library, \`Node\` Node's own JavaScript (streams, sockets, async hooks, \`process.nextTick\`), \`loop\` the measuring loop; packages by name. ${GLIDE}'s protocol work happens in its Rust threads, which neither count sees.`,
        ],
      },
      more,
      misses: [],
      data: { shape, replicaSet, cluster },
      durationMs: performance.now() - began,
    };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}
