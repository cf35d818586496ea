import { describe, expect, it } from 'vitest';
import {
  bucketOf,
  bytesPerCommand,
  fewestWindow,
  fmtBytes,
  fmtCount,
  functionCounts,
  lineColumn,
  medianWindow,
  perBucket,
  top,
  totalCalls,
  withRatio,
  type ScriptCoverage,
} from '../../bench/calls-aggregate.js';

const coverage: ScriptCoverage[] = [
  {
    scriptId: '7',
    url: 'node:internal/streams/readable',
    functions: [
      // The script's top level, then two functions; the later ranges are blocks.
      { functionName: '', ranges: [{ startOffset: 0, endOffset: 900, count: 0 }] },
      { functionName: 'read', ranges: [{ startOffset: 10, endOffset: 200, count: 400 }, { startOffset: 50, endOffset: 60, count: 3 }] },
      { functionName: 'never', ranges: [{ startOffset: 300, endOffset: 400, count: 0 }] },
    ],
  },
  {
    scriptId: '9',
    url: 'file:///x/bench/results/.build-calls/chunk.js',
    functions: [{ functionName: 'route', ranges: [{ startOffset: 120, endOffset: 180, count: 200 }] }],
  },
];

describe('per-command cost arithmetic', () => {
  it('functionCounts: the whole-function range counts calls, functions that never ran are left out', () => {
    const counts = functionCounts(coverage);
    expect(counts.map((c) => [c.name, c.count, c.id])).toEqual([
      ['read', 400, '7:10'],
      ['route', 200, '9:120'],
    ]);
    expect(totalCalls(counts)).toBe(600);
    expect(functionCounts([{ scriptId: '1', url: '', functions: [{ functionName: 'f', ranges: [] }] }])).toEqual([]);
  });

  it('medianWindow: the index of the middle total, the lower middle for an even count', () => {
    expect(medianWindow([50, 10, 30])).toBe(2);
    expect(medianWindow([5, 5, 9, 1])).toBe(0);
    expect(medianWindow([42])).toBe(0);
    expect(() => medianWindow([])).toThrow(RangeError);
  });

  it('fewestWindow: the index of the smallest, the first of equals', () => {
    expect(fewestWindow([199.8, 122.6, 122.0, 199.2])).toBe(2);
    expect(fewestWindow([3, 1, 1])).toBe(1);
    expect(() => fewestWindow([])).toThrow(RangeError);
  });

  it('lineColumn: 0-based, across LF lines', () => {
    const src = 'ab\ncde\n\nfg';
    expect(lineColumn(src, 0)).toEqual({ line: 0, column: 0 });
    expect(lineColumn(src, 2)).toEqual({ line: 0, column: 2 });
    expect(lineColumn(src, 3)).toEqual({ line: 1, column: 0 });
    expect(lineColumn(src, 8)).toEqual({ line: 3, column: 0 });
    expect(() => lineColumn(src, 99)).toThrow(RangeError);
  });

  it('bucketOf: this library, the loop, Node, packages (scoped too)', () => {
    expect(bucketOf('src/dispatch/attempt.ts')).toBe('redis-failover');
    expect(bucketOf('bench/calls-child.ts')).toBe('bench loop');
    expect(bucketOf('node:internal/streams/readable')).toBe('Node internals');
    expect(bucketOf('node_modules/ioredis/built/Redis.js')).toBe('package ioredis');
    expect(bucketOf('/w/node_modules/@redis/client/dist/lib/client/index.js')).toBe('package @redis/client');
    expect(bucketOf('/w/node_modules/a/node_modules/denque/index.js')).toBe('package denque');
    expect(bucketOf('(V8 builtin)')).toBe('other');
  });

  it('perBucket: sums per bucket, per command', () => {
    expect(
      perBucket(
        [
          { file: 'src/a.ts', count: 200 },
          { file: 'src/b.ts', count: 100 },
          { file: 'node:events', count: 50 },
        ],
        100,
      ),
    ).toEqual({ 'redis-failover': 3, 'Node internals': 0.5 });
  });

  it('top: by count, then name and file, so the order is stable', () => {
    const entries = [
      { name: 'b', file: 'x', count: 1 },
      { name: 'a', file: 'y', count: 1 },
      { name: 'a', file: 'x', count: 1 },
      { name: 'z', file: 'x', count: 5 },
    ];
    expect(top(entries, 3).map((e) => `${e.name}@${e.file}`)).toEqual(['z@x', 'a@x', 'a@y']);
    expect(entries[0]!.name).toBe('b'); // input untouched
  });

  it('bytesPerCommand: the median of windows without a GC, NaN when none qualifies', () => {
    const windows = [
      { before: 1000, after: 4000, gcs: 0 },
      { before: 1000, after: 1100, gcs: 1 }, // a GC ran: discarded
      { before: 1000, after: 5000, gcs: 0 },
      { before: 1000, after: 6000, gcs: 0 },
    ];
    expect(bytesPerCommand(windows, 10)).toBe(400);
    expect(bytesPerCommand([{ before: 5, after: 1, gcs: 0 }], 1)).toBeNaN();
    expect(bytesPerCommand([], 1)).toBeNaN();
  });

  it('cells: counts, bytes, and ratios against the baseline', () => {
    expect(fmtCount(219.03)).toBe('219.0');
    expect(fmtCount(Number.NaN)).toBe('n/a');
    expect(fmtBytes(900.4)).toBe('900 B');
    expect(fmtBytes(3350)).toBe('3.27 KiB');
    expect(fmtBytes(Number.NaN)).toBe('n/a');
    expect(withRatio(250.7, 219.1, fmtCount)).toBe('250.7 (1.144×)');
    expect(withRatio(219.1, 219.1, fmtCount, true)).toBe('219.1');
    expect(withRatio(10, 0, fmtCount)).toBe('10.0');
    expect(withRatio(10, Number.NaN, fmtCount)).toBe('10.0');
  });
});
