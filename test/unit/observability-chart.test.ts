import { describe, expect, it } from 'vitest';
import { cumulative, renderOutageChart, tickStep } from '../../bench/chart.js';
import { ackTimeline, type WriteRecord } from '../../bench/writer.js';

const write = (ackAt: number | null): WriteRecord => ({ key: 'k', issuedAt: 0, ackAt, failedAt: null, error: null });

describe('outage chart', () => {
  it('buckets acknowledgements around the event; unanswered writes and those outside do not count', () => {
    const t = ackTimeline([write(900), write(1010), write(1020), write(1210), write(null), write(100), write(5000)], 1000, 1300, -100, 100);
    expect(t).toEqual({ startMs: -100, bucketMs: 100, acks: [1, 2, 0, 1] });
    expect(cumulative(t)).toEqual([
      [-100, 0],
      [0, 1],
      [100, 3],
      [200, 3],
      [300, 4],
    ]);
  });

  it('round ticks', () => {
    expect(tickStep(26, 8)).toBe(5);
    expect(tickStep(6, 8)).toBe(1);
    expect(tickStep(4800, 5)).toBe(1000);
    expect(tickStep(0, 5)).toBe(1);
  });

  it('an SVG with one line per client, the markers and escaped labels', () => {
    const svg = renderOutageChart({
      title: 'kill -9 <master>',
      series: [
        { label: 'ioredis (fixed address)', timeline: { startMs: -1000, bucketMs: 50, acks: [...Array(20).fill(10), ...Array(40).fill(0)] } },
        { label: 'FailoverRedis', timeline: { startMs: -1000, bucketMs: 50, acks: [...Array(20).fill(10), ...Array(18).fill(0), ...Array(22).fill(10)] } },
      ],
      markers: [{ atMs: 0, label: 'kill' }, { atMs: 900, label: '+switch-master' }],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg).toContain('kill -9 &lt;master&gt;');
    expect(svg).toContain('>+switch-master</text>');
    expect(svg).toContain('<title>FailoverRedis</title>');
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
  });
});
