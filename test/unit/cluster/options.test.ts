import { describe, expect, it } from 'vitest';
import { clusterSettingsOf, slotRanges } from '../../../src/testing/cluster-options.js';

describe('slotRanges', () => {
  it('splits the slots as redis-cli --cluster create does', () => {
    expect(slotRanges(1)).toEqual([[0, 16383]]);
    expect(slotRanges(3)).toEqual([
      [0, 5460],
      [5461, 10922],
      [10923, 16383],
    ]);
  });

  it.each([2, 5, 7, 16])('covers every slot once with %d shards', (shards) => {
    const ranges = slotRanges(shards);
    expect(ranges).toHaveLength(shards);
    expect(ranges[0]![0]).toBe(0);
    expect(ranges.at(-1)![1]).toBe(16383);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBe(ranges[i - 1]![1] + 1);
  });
});

describe('clusterSettingsOf', () => {
  it('applies the defaults', () => {
    expect(clusterSettingsOf({})).toEqual({ shards: 3, replicasPerShard: 1, nodeTimeoutMs: 1000, args: [], timeoutMs: 20_000 });
  });

  it.each([{ shards: 0 }, { shards: 1.5 }, { replicasPerShard: -1 }, { nodeTimeoutMs: 0 }, { timeoutMs: -5 }])(
    'refuses %j',
    (options) => {
      expect(() => clusterSettingsOf(options)).toThrow(RangeError);
    },
  );
});
