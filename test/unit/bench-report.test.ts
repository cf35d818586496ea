import { describe, expect, it } from 'vitest';
import { fmtRatio, targetCell, throughputTarget } from '../../bench/report.js';
import { summarizeLatencies } from '../../bench/stats.js';

describe('bench targets and cells', () => {
  it('throughputTarget: ops/s ratio, and CPU per op when asked', () => {
    expect(throughputTarget(1.02, 0.98, 1, 1)).toEqual({ text: '≥ 1.00× ops/s, CPU/op ≤ 1.00×', met: true });
    expect(throughputTarget(1.02, 1.01, 1, 1).met).toBe(false);
    expect(throughputTarget(0.99, 0.9, 1, 1).met).toBe(false);
    expect(throughputTarget(0.96, 2, 0.95)).toEqual({ text: '≥ 0.95× ops/s', met: true });
    expect(throughputTarget(Number.NaN, 1, 1, 1).met).toBe(false);
  });

  it('targetCell and fmtRatio', () => {
    expect(targetCell(null)).toBe('—');
    expect(targetCell({ text: '≥ 1.00× ops/s', met: true })).toBe('met (≥ 1.00× ops/s)');
    expect(targetCell({ text: '≤ 1.05×', met: false })).toBe('**MISSED** (≤ 1.05×)');
    expect(fmtRatio(1.23456)).toBe('1.235×');
    expect(fmtRatio(Number.NaN)).toBe('n/a');
  });

  it('summarizeLatencies: median and p99 in µs from samples in ms', () => {
    const samples = Array.from({ length: 101 }, (_, i) => (i + 1) / 100); // 0.01 … 1.01 ms
    const s = summarizeLatencies(samples);
    expect(s.commands).toBe(101);
    expect(s.medianUs).toBeCloseTo(510, 6);
    expect(s.p99Us).toBeCloseTo(1000, 6);
    expect(() => summarizeLatencies([])).toThrow(RangeError);
  });
});
