/**
 * The benchmark's arithmetic: plain functions over plain numbers, unit-tested on made-up samples
 * (test/unit/bench-stats.test.ts). Nothing here touches a socket or a clock.
 */

function finite(values: readonly number[], what: string): number[] {
  if (values.length === 0) throw new RangeError(`${what} of no samples`);
  for (const v of values) if (!Number.isFinite(v)) throw new RangeError(`${what}: ${v} is not a finite number`);
  return [...values].sort((a, b) => a - b);
}

/** The middle sample; the mean of the two middle ones for an even count. */
export function median(values: readonly number[]): number {
  const sorted = finite(values, 'median');
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Percentile `p` (0–100) with linear interpolation between closest ranks (numpy's default). */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile: p must be within 0..100, got ${p}`);
  const sorted = finite(values, 'percentile');
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

export function min(values: readonly number[]): number {
  return finite(values, 'min')[0]!;
}

export function max(values: readonly number[]): number {
  const sorted = finite(values, 'max');
  return sorted[sorted.length - 1]!;
}

export function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** `a / b`; NaN when `b` is 0, so a broken baseline never passes for a ratio. */
export function ratio(a: number, b: number): number {
  return b === 0 ? Number.NaN : a / b;
}

/**
 * One ratio per pair of rounds run back to back (`a[i] / b[i]`): drift of the machine between
 * pairs cancels out, which a ratio of overall means would not do.
 */
export function pairedRatios(a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length) throw new RangeError(`pairedRatios: ${a.length} samples against ${b.length}`);
  return a.map((x, i) => ratio(x, b[i]!));
}

/** The median of the per-pair ratios: the number the overhead rows report. */
export function medianRatio(a: readonly number[], b: readonly number[]): number {
  return median(pairedRatios(a, b));
}

/**
 * Which client runs first in round `i` of an A/B comparison: A B, B A, A B, … so that a steady
 * drift (a warming cache, a heating CPU) favours neither.
 */
export function roundOrder(i: number): ['a', 'b'] | ['b', 'a'] {
  return i % 2 === 0 ? ['a', 'b'] : ['b', 'a'];
}

/** Operations per second. */
export function rate(ops: number, elapsedMs: number): number {
  if (!(elapsedMs > 0)) throw new RangeError(`rate: elapsed time must be > 0 ms, got ${elapsedMs}`);
  return (ops * 1000) / elapsedMs;
}

/**
 * Shares of a total per key, and how far the most uneven one is from an even split, relative to
 * it: `{a: 45, b: 55}` → shares 0.45/0.55, deviation 0.1 (10 % off the even 0.5).
 */
export function shares(counts: Readonly<Record<string, number>>): { shares: Record<string, number>; maxDeviation: number } {
  const keys = Object.keys(counts);
  const total = sum(keys.map((k) => counts[k]!));
  if (keys.length === 0 || total <= 0) return { shares: {}, maxDeviation: Number.NaN };
  const even = 1 / keys.length;
  const out: Record<string, number> = {};
  let maxDeviation = 0;
  for (const k of keys) {
    const share = counts[k]! / total;
    out[k] = share;
    maxDeviation = Math.max(maxDeviation, Math.abs(share - even) / even);
  }
  return { shares: out, maxDeviation };
}

/** One write of a benchmark writer: when it was issued, and when it was answered. */
export interface WriteSample {
  issuedAt: number;
  /** Acknowledged at; null if it failed or is still pending. */
  ackAt: number | null;
}

/**
 * Milliseconds from `eventAt` to the acknowledgement of the first write *issued* after it — a
 * write issued before and held through the outage does not count — or null if there is none.
 */
export function resumedAfter(writes: readonly WriteSample[], eventAt: number): number | null {
  let first: number | null = null;
  for (const w of writes) {
    if (w.issuedAt > eventAt && w.ackAt !== null && (first === null || w.ackAt < first)) first = w.ackAt;
  }
  return first === null ? null : first - eventAt;
}

/**
 * The longest time without an acknowledgement within [from, to]: between consecutive
 * acknowledgements, and from `from` to the first one and from the last one to `to`. With no
 * acknowledgement at all it is the whole window.
 */
export function longestGap(ackTimes: readonly number[], from: number, to: number): number {
  if (!(to >= from)) throw new RangeError(`longestGap: window ends (${to}) before it starts (${from})`);
  const inside = ackTimes.filter((t) => t >= from && t <= to).sort((a, b) => a - b);
  let gap = 0;
  let last = from;
  for (const t of inside) {
    gap = Math.max(gap, t - last);
    last = t;
  }
  return Math.max(gap, to - last);
}

/** `{ 'READONLY': 3, 'ERR_MAYBE_APPLIED': 1 }` from a list of error labels. */
export function tally(labels: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of labels) out[l] = (out[l] ?? 0) + 1;
  return out;
}

/** One round of one awaited loop: the median and 99th percentile of every command's latency, in µs. */
export interface LatencyRound {
  medianUs: number;
  p99Us: number;
  commands: number;
}

/** Per-command latencies (ms) → one round's summary (µs). */
export function summarizeLatencies(samplesMs: readonly number[]): LatencyRound {
  return { medianUs: median(samplesMs) * 1000, p99Us: percentile(samplesMs, 99) * 1000, commands: samplesMs.length };
}
