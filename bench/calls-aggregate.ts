/**
 * The arithmetic of the per-command cost section (bench/calls.ts): plain functions over the
 * shapes V8's inspector returns, unit-tested on made-up profiles (test/unit/bench-calls.test.ts).
 * Nothing here touches a socket, a clock or the inspector.
 */
import { median } from './stats.js';

/** The part of `Profiler.takePreciseCoverage`'s result used here. */
export interface ScriptCoverage {
  scriptId: string;
  url: string;
  functions: { functionName: string; ranges: { startOffset: number; endOffset: number; count: number }[] }[];
}

/** One function seen in a coverage window: where it is (generated code) and how often it ran. */
export interface FunctionCount {
  /** `scriptId:startOffset`, unique within one process. */
  id: string;
  scriptId: string;
  url: string;
  name: string;
  startOffset: number;
  count: number;
}

/**
 * Invocations per function in one window. With `detailed: true` the first range of a function is
 * the whole function and its count the number of calls (the later ranges are its blocks).
 * Functions that did not run are left out.
 */
export function functionCounts(coverage: readonly ScriptCoverage[]): FunctionCount[] {
  const out: FunctionCount[] = [];
  for (const script of coverage) {
    for (const fn of script.functions) {
      const whole = fn.ranges[0];
      if (!whole || whole.count === 0) continue;
      out.push({ id: `${script.scriptId}:${whole.startOffset}`, scriptId: script.scriptId, url: script.url, name: fn.functionName, startOffset: whole.startOffset, count: whole.count });
    }
  }
  return out;
}

export function totalCalls(counts: readonly FunctionCount[]): number {
  let total = 0;
  for (const c of counts) total += c.count;
  return total;
}

/**
 * The window whose total is the median of all windows (the lower middle one for an even count):
 * a refresh timer that fired inside one window adds its calls to that window only, and the
 * median window is one without it. Returns its index.
 */
export function medianWindow(totals: readonly number[]): number {
  if (totals.length === 0) throw new RangeError('medianWindow of no windows');
  const order = totals.map((t, i) => [t, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return order[(order.length - 1) >> 1]![1];
}

/**
 * The window with the fewest (the first of equals): for allocations, where a client's periodic
 * refresh (INFO parsing makes thousands of strings) lands in some windows and not in others, the
 * fewest is the command's own path. Returns its index.
 */
export function fewestWindow(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('fewestWindow of no windows');
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! < values[best]!) best = i;
  return best;
}

/** 0-based line and column of `offset` in `source`. */
export function lineColumn(source: string, offset: number): { line: number; column: number } {
  if (offset < 0 || offset > source.length) throw new RangeError(`offset ${offset} outside a source of ${source.length} characters`);
  let line = 0;
  let start = 0;
  for (let i = source.indexOf('\n'); i !== -1 && i < offset; i = source.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start };
}

/** Where a piece of code belongs, for the per-client breakdown. */
export type Bucket = 'redis-failover' | 'bench loop' | 'Node internals' | `package ${string}` | 'other';

/**
 * The bucket of a function from its (source-mapped) file: `src/…` is this library, `bench/…` the
 * measuring loop, `node:…` Node's own JavaScript, `…/node_modules/<pkg>/…` that package.
 */
export function bucketOf(file: string): Bucket {
  if (file.startsWith('node:')) return 'Node internals';
  const nm = file.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const rest = file.slice(nm + 'node_modules/'.length).split('/');
    const pkg = rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
    return `package ${pkg}`;
  }
  if (/(^|\/)src\//.test(file)) return 'redis-failover';
  if (/(^|\/)bench\//.test(file)) return 'bench loop';
  return 'other';
}

/** Sums per bucket, divided by `per` (the commands of the window). */
export function perBucket(entries: readonly { file: string; count: number }[], per: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of entries) {
    const b = bucketOf(e.file);
    out[b] = (out[b] ?? 0) + e.count / per;
  }
  return out;
}

/** The `n` largest by `count`, ties by name then file, so the list is the same run to run. */
export function top<T extends { count: number; name: string; file: string }>(entries: readonly T[], n: number): T[] {
  return [...entries].sort((a, b) => b.count - a.count || a.name.localeCompare(b.name) || a.file.localeCompare(b.file)).slice(0, n);
}

/** Bytes allocated per command from heap-use deltas of windows with no GC inside; NaN if none qualifies. */
export function bytesPerCommand(windows: readonly { before: number; after: number; gcs: number }[], per: number): number {
  const clean = windows.filter((w) => w.gcs === 0 && w.after >= w.before).map((w) => (w.after - w.before) / per);
  return clean.length === 0 ? Number.NaN : median(clean);
}

/** `219.0`, `3.1 KiB`, and `1.23×` cells; `n/a` where a number is missing. */
export function fmtCount(n: number): string {
  return Number.isFinite(n) ? n.toFixed(1) : 'n/a';
}

export function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n >= 1024 ? `${(n / 1024).toFixed(2)} KiB` : `${Math.round(n)} B`;
}

/** A value with its ratio to the baseline: `251.0 (1.146×)`; the baseline itself shows no ratio. */
export function withRatio(value: number, baseline: number, fmt: (n: number) => string, isBaseline = false): string {
  if (isBaseline || !Number.isFinite(value) || !Number.isFinite(baseline) || baseline === 0) return fmt(value);
  return `${fmt(value)} (${(value / baseline).toFixed(3)}×)`;
}
