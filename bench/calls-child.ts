/**
 * Runs in a child process of its own, bundled with source maps by calls.ts, so that no TypeScript
 * loader sits in the measured process. Arguments: the mode, the client kind, and a JSON config.
 *
 * - `calls` (run with `--no-opt --no-sparkplug --no-maglev`): V8 precise coverage with call counts
 *   (`Profiler.startPreciseCoverage({ callCount: true, detailed: true })`) around windows of N
 *   awaited commands, one command at a time: the exact number of JavaScript function invocations
 *   per command, per function. Optimizing tiers are off because optimized and inlined code does not
 *   count its invocations; the interpreter counts every call the source makes. Then the sampling
 *   heap profiler at a 1-byte interval (every allocation is sampled) around more windows: objects
 *   allocated per command as the source allocates them (no escape analysis) and where.
 * - `bytes` (run with `--expose-gc` and a 64 MiB young generation): JS heap bytes allocated per
 *   command with every tier on, as in production: `v8.getHeapStatistics().used_heap_size` before
 *   and after a window that starts right after a full GC and in which no GC ran (checked with a
 *   `gc` PerformanceObserver; a window with a GC is discarded).
 *
 * Prints one JSON line.
 */
import { Session } from 'node:inspector/promises';
import { SourceMap } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { bytesPerCommand, fewestWindow, functionCounts, medianWindow, totalCalls, lineColumn, type FunctionCount, type ScriptCoverage } from './calls-aggregate.js';

interface Config {
  root: string;
  /** Data nodes (the cluster's masters for a cluster kind), master first. */
  nodes: string[];
  /** A key that exists and that this client never wrote (read-your-writes leaves its GETs alone). */
  getKey: string;
  calls: Shape;
  bytes: Shape;
}

/** Windows of `perWindow` commands each, after `warmup` commands of each kind. */
export interface Shape {
  windows: number;
  perWindow: number;
  warmup: number;
}

interface Client {
  get(key: string): Promise<unknown>;
  set(key: string, value: string): Promise<unknown>;
  close(): Promise<unknown> | void;
}

const [mode, kind, json] = process.argv.slice(2) as ['calls' | 'bytes', string, string];
const config = JSON.parse(json) as Config;
const VALUE = 'v'.repeat(32);
const hostPort = (a: string) => ({ host: a.slice(0, a.lastIndexOf(':')), port: Number(a.slice(a.lastIndexOf(':') + 1)) });

async function open(): Promise<Client> {
  const nodes = config.nodes;
  switch (kind) {
    case 'ioredis': {
      const { Redis } = await import('ioredis');
      const r = new Redis(hostPort(nodes[0]!));
      await r.ping();
      return { get: (k) => r.get(k), set: (k, v) => r.set(k, v), close: () => r.disconnect() };
    }
    case 'failover-master':
    case 'failover-defaults': {
      const { FailoverRedis } = await import('../src/index.js');
      const r = new FailoverRedis({ nodes: [nodes[0]!], ...(kind === 'failover-master' ? { readFrom: 'master' as const } : {}) });
      r.on('error', () => undefined);
      await r.connect();
      return { get: (k) => r.get(k), set: (k, v) => r.set(k, v), close: () => r.disconnect() };
    }
    case 'node-redis': {
      const { createClient } = await import('redis');
      const r = createClient({ socket: hostPort(nodes[0]!) });
      r.on('error', () => undefined);
      await r.connect();
      return { get: (k) => r.get(k), set: (k, v) => r.set(k, v), close: () => r.destroy() };
    }
    case 'glide': {
      const { GlideClient } = await import('@valkey/valkey-glide');
      const r = await GlideClient.createClient({ addresses: [hostPort(nodes[0]!)] });
      return { get: (k) => r.get(k), set: (k, v) => r.set(k, v), close: () => r.close() };
    }
    case 'ioredis-cluster': {
      const { Cluster } = await import('ioredis');
      const r = new Cluster(nodes.map(hostPort));
      r.on('error', () => undefined);
      await r.set('bench:calls:warm', '1');
      return { get: (k) => r.get(k), set: (k, v) => r.set(k, v), close: () => r.disconnect() };
    }
    case 'failover-cluster-master':
    case 'failover-cluster-defaults': {
      const { FailoverCluster } = await import('../src/index.js');
      const r = new FailoverCluster({ nodes, ...(kind === 'failover-cluster-master' ? { readFrom: 'master' as const } : {}) });
      r.on('error', () => undefined);
      await r.set('bench:calls:warm', '1');
      return { get: (k) => r.get(k), set: (k, v) => r.set(k, v), close: () => r.disconnect() };
    }
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}

type Op = 'get' | 'set';
const SET_KEYS = 64;

/** N awaited commands, one at a time. SETs cycle over a few keys, so bookkeeping stays bounded. */
async function run(client: Client, op: Op, n: number, offset: number): Promise<void> {
  if (op === 'get') {
    for (let i = 0; i < n; i++) await client.get(config.getKey);
  } else {
    for (let i = 0; i < n; i++) await client.set(`bench:calls:set:${(offset + i) % SET_KEYS}`, VALUE);
  }
}

// ------------------------------------------------------------------ locations

const maps = new Map<string, SourceMap | null>();

function sourceMapOf(file: string): SourceMap | null {
  if (!maps.has(file)) {
    try {
      maps.set(file, new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8'))));
    } catch {
      maps.set(file, null);
    }
  }
  return maps.get(file)!;
}

/** `src/dispatch/attempt.ts:95`, `ioredis/built/Redis.js:340`, `node:internal/streams/readable:512`. */
function locate(url: string, line0: number, column0: number): { file: string; line: number } {
  if (url === '') return { file: '(V8 builtin)', line: 0 };
  if (!url.startsWith('file:') && !url.startsWith('/')) return { file: url, line: line0 + 1 };
  const path = url.startsWith('file:') ? fileURLToPath(url) : url;
  const map = sourceMapOf(path);
  if (map) {
    const entry = map.findEntry(line0, column0) as { originalSource?: string; originalLine?: number };
    if (entry.originalSource) {
      const original = entry.originalSource.startsWith('file:') ? fileURLToPath(entry.originalSource) : resolve(dirname(path), entry.originalSource);
      return { file: shorten(original), line: (entry.originalLine ?? 0) + 1 };
    }
  }
  return { file: shorten(path), line: line0 + 1 };
}

/**
 * The bundler renames a function whose name another module also uses (`classOf` → `classOf2`);
 * V8 reports the bundled name. Give back the source's name when its line says so.
 */
function sourceName(name: string, file: string, line: number): string {
  const bare = name.replace(/\d+$/, '');
  if (bare === name || bare === '' || file.startsWith('node')) return name;
  try {
    const text = readFileSync(resolve(config.root, file), 'utf8').split('\n')[line - 1] ?? '';
    const has = (id: string) => new RegExp(`(^|[^\\w$#])${id.replace(/[$]/g, '\\$')}\\b`).test(text);
    return has(bare) && !has(name) ? bare : name;
  } catch {
    return name;
  }
}

function shorten(path: string): string {
  const nm = path.lastIndexOf('node_modules/');
  if (nm !== -1) return path.slice(nm);
  return relative(config.root, path);
}

// ------------------------------------------------------------------ calls mode

interface Located {
  name: string;
  file: string;
  line: number;
  count: number;
}

async function callsMode(client: Client, session: Session) {
  const { windows, perWindow } = config.calls;
  const out: Record<string, unknown> = {};
  const sources = new Map<string, string>();
  const source = async (scriptId: string): Promise<string> => {
    if (!sources.has(scriptId)) sources.set(scriptId, (await session.post('Debugger.getScriptSource', { scriptId })).scriptSource);
    return sources.get(scriptId)!;
  };
  const measured: Record<Op, { totals: number[]; median: FunctionCount[] }> = { get: { totals: [], median: [] }, set: { totals: [], median: [] } };
  for (const op of ['get', 'set'] as const) {
    const all: FunctionCount[][] = [];
    for (let w = 0; w < windows; w++) {
      await session.post('Profiler.takePreciseCoverage'); // resets the counters
      await run(client, op, perWindow, w * perWindow);
      const { result } = await session.post('Profiler.takePreciseCoverage');
      all.push(functionCounts(result as ScriptCoverage[]));
    }
    const totals = all.map(totalCalls);
    measured[op] = { totals, median: all[medianWindow(totals)]! };
  }
  // Allocation sampling: every allocation (1-byte mean interval), collected objects kept.
  const allocations: Record<Op, { objects: number[]; bytes: number[]; sites: Map<string, Located> }> = {
    get: { objects: [], bytes: [], sites: new Map() },
    set: { objects: [], bytes: [], sites: new Map() },
  };
  await session.post('HeapProfiler.enable');
  type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }; children: Node[] };
  for (const op of ['get', 'set'] as const) {
    const profiles: { samples: { size: number; nodeId: number }[]; head: Node }[] = [];
    for (let w = 0; w < windows; w++) {
      await session.post('HeapProfiler.startSampling', { samplingInterval: 1, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
      await run(client, op, perWindow, w * perWindow);
      const { profile } = await session.post('HeapProfiler.stopSampling');
      profiles.push(profile as unknown as (typeof profiles)[number]);
    }
    const objects = profiles.map((p) => p.samples.length / perWindow);
    allocations[op].objects = objects;
    allocations[op].bytes = profiles.map((p) => p.samples.reduce((a, s) => a + s.size, 0) / perWindow);
    // Allocation sites of the window with the fewest (see fewestWindow).
    const p = profiles[fewestWindow(objects)]!;
    const frames = new Map<number, Node['callFrame']>();
    const walk = (node: Node): void => {
      frames.set(node.id, node.callFrame);
      node.children.forEach(walk);
    };
    walk(p.head);
    for (const s of p.samples) {
      const f = frames.get(s.nodeId)!;
      const at = locate(f.url, f.lineNumber, f.columnNumber);
      const key = `${f.functionName}@${at.file}:${at.line}`;
      const site = allocations[op].sites.get(key) ?? { name: sourceName(f.functionName || '(anonymous)', at.file, at.line), file: at.file, line: at.line, count: 0 };
      site.count += 1 / perWindow;
      allocations[op].sites.set(key, site);
    }
  }
  // Where the functions are: only now, so the debugger is off while anything is measured.
  await session.post('Debugger.enable');
  for (const op of ['get', 'set'] as const) {
    const located: Located[] = [];
    for (const f of measured[op].median) {
      let line0 = 0;
      let column0 = 0;
      try {
        ({ line: line0, column: column0 } = lineColumn(await source(f.scriptId), f.startOffset));
      } catch {
        // no source (a native or vanished script): line 1
      }
      const at = locate(f.url, line0, column0);
      located.push({ name: sourceName(f.name || '(anonymous)', at.file, at.line), file: at.file, line: at.line, count: f.count / perWindow });
    }
    out[op] = {
      callsPerWindow: measured[op].totals,
      functions: located,
      objectsPerCommand: allocations[op].objects,
      sampledBytesPerCommand: allocations[op].bytes,
      allocationSites: [...allocations[op].sites.values()],
    };
  }
  return out;
}

// ------------------------------------------------------------------ bytes mode

/**
 * Bytes in use in the spaces that hold the program's objects. The code spaces are left out: the
 * optimizing compiler installs code there from its own thread, which is not the command's work.
 */
function heapUsed(): number {
  let used = 0;
  for (const space of v8.getHeapSpaceStatistics()) if (!space.space_name.startsWith('code')) used += space.space_used_size;
  return used;
}

async function bytesMode(client: Client) {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  let gcs = 0;
  const observer = new PerformanceObserver((list) => void (gcs += list.getEntries().length));
  observer.observe({ entryTypes: ['gc'] });
  const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const out: Record<string, unknown> = {};
  const { windows: count, perWindow } = config.bytes;
  for (const op of ['get', 'set'] as const) {
    const windows: { before: number; after: number; gcs: number }[] = [];
    for (let w = 0; w < count; w++) {
      gc();
      await tick(5); // the gc entries of our own gc() are delivered before counting starts
      const g0 = gcs;
      const before = heapUsed();
      await run(client, op, perWindow, w * perWindow);
      const after = heapUsed();
      await tick(5);
      windows.push({ before, after, gcs: gcs - g0 });
    }
    out[op] = { windows, bytesPerCommand: bytesPerCommand(windows, perWindow) };
  }
  observer.disconnect();
  return out;
}

async function main(): Promise<void> {
  const session = new Session();
  session.connect();
  if (mode === 'calls') {
    // Before any client code is loaded, so every function it compiles carries its counters.
    await session.post('Profiler.enable');
    await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  }
  const client = await open();
  try {
    // Warm-up: lazy structures, connections to every node the policy uses, compiled code.
    await run(client, 'get', config[mode].warmup, 0);
    await run(client, 'set', config[mode].warmup, 0);
    const result = mode === 'calls' ? await callsMode(client, session) : await bytesMode(client);
    process.stdout.write(`${JSON.stringify({ mode, kind, perWindow: config[mode].perWindow, ...result })}\n`);
  } finally {
    await client.close();
    session.disconnect();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
