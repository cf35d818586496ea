import { describe, expect, it } from 'vitest';
import {
  longestGap,
  max,
  median,
  medianRatio,
  min,
  pairedRatios,
  percentile,
  rate,
  ratio,
  resumedAfter,
  roundOrder,
  shares,
  sum,
  tally,
} from '../../bench/stats.js';

describe('bench arithmetic', () => {
  it('median: odd, even, unsorted input left untouched', () => {
    const input = [5, 1, 3];
    expect(median(input)).toBe(3);
    expect(input).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(() => median([])).toThrow(RangeError);
    expect(() => median([1, Number.NaN])).toThrow(/not a finite number/);
  });

  it('percentile interpolates between closest ranks', () => {
    const xs = [10, 20, 30, 40, 50];
    expect(percentile(xs, 0)).toBe(10);
    expect(percentile(xs, 50)).toBe(30);
    expect(percentile(xs, 100)).toBe(50);
    expect(percentile(xs, 90)).toBeCloseTo(46);
    expect(percentile([1, 2], 25)).toBeCloseTo(1.25);
    expect(() => percentile(xs, 101)).toThrow(RangeError);
  });

  it('min, max, sum', () => {
    expect(min([3, -1, 2])).toBe(-1);
    expect(max([3, -1, 2])).toBe(3);
    expect(sum([])).toBe(0);
    expect(sum([1, 2, 3.5])).toBe(6.5);
  });

  it('ratio of a zero baseline is NaN, never a pass', () => {
    expect(ratio(3, 4)).toBe(0.75);
    expect(ratio(1, 0)).toBeNaN();
  });

  it('ratios are taken pair by pair, then the median of them', () => {
    // Machine drift: both clients get slower round after round; B is always 10 % slower than A.
    const a = [100, 200, 50, 400, 80];
    const b = a.map((x) => x * 0.9);
    expect(pairedRatios(b, a).map((r) => Number(r.toFixed(6)))).toEqual([0.9, 0.9, 0.9, 0.9, 0.9]);
    expect(medianRatio(b, a)).toBeCloseTo(0.9);
    // The ratio of medians would be skewed by one outlier pair; the median of ratios is not.
    expect(medianRatio([95, 97, 10, 99, 96], [100, 100, 100, 100, 100])).toBeCloseTo(0.96);
    expect(() => pairedRatios([1, 2], [1])).toThrow(RangeError);
  });

  it('A/B order alternates so a steady drift favours neither', () => {
    expect([0, 1, 2, 3].map(roundOrder)).toEqual([
      ['a', 'b'],
      ['b', 'a'],
      ['a', 'b'],
      ['b', 'a'],
    ]);
  });

  it('rate: ops per second', () => {
    expect(rate(150_000, 1000)).toBe(150_000);
    expect(rate(500, 250)).toBe(2000);
    expect(() => rate(1, 0)).toThrow(RangeError);
  });

  it('shares and the deviation from an even split', () => {
    const even = shares({ a: 500, b: 500 });
    expect(even.shares).toEqual({ a: 0.5, b: 0.5 });
    expect(even.maxDeviation).toBe(0);
    const uneven = shares({ a: 450, b: 550 });
    expect(uneven.shares.a).toBeCloseTo(0.45);
    expect(uneven.maxDeviation).toBeCloseTo(0.1);
    expect(shares({ a: 1, b: 1, c: 2 }).maxDeviation).toBeCloseTo(0.5);
    expect(shares({ a: 0, b: 0 }).maxDeviation).toBeNaN();
  });

  it('resumedAfter counts only writes issued after the event', () => {
    const writes = [
      { issuedAt: 0, ackAt: 1 },
      // Issued before the kill, held, acknowledged late: not the resumption.
      { issuedAt: 9, ackAt: 1200 },
      { issuedAt: 1205, ackAt: null },
      { issuedAt: 1210, ackAt: 1212 },
      { issuedAt: 1220, ackAt: 1221 },
    ];
    expect(resumedAfter(writes, 10)).toBe(1202);
    expect(resumedAfter(writes, 5000)).toBeNull();
    expect(resumedAfter([], 0)).toBeNull();
  });

  it('longestGap covers the window edges', () => {
    expect(longestGap([10, 20, 25, 400, 405], 0, 410)).toBe(375);
    // Nothing acknowledged after 25: the gap runs to the end of the window.
    expect(longestGap([10, 20, 25], 0, 1000)).toBe(975);
    expect(longestGap([], 100, 300)).toBe(200);
    // Acknowledgements outside the window are ignored.
    expect(longestGap([-50, 5, 10, 2000], 0, 20)).toBe(10);
    expect(() => longestGap([], 10, 0)).toThrow(RangeError);
  });

  it('tally', () => {
    expect(tally(['READONLY', 'ERR_MAYBE_APPLIED', 'READONLY'])).toEqual({ READONLY: 2, ERR_MAYBE_APPLIED: 1 });
    expect(tally([])).toEqual({});
  });
});
