import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseReplicaRole, ReplicaQuiet, WitnessSampler, type RoleConnection } from '../../src/failover/witnesses.js';

describe('ReplicaQuiet: spans of a still offset, observed whole', () => {
  it('from the arrival of the first answer with an offset to the sending of the latest one', () => {
    const q = new ReplicaQuiet();
    q.add({ address: 'r1', linkUp: true, offset: 100, sentAt: 0, at: 2 });
    expect(q.quietMs().get('r1')).toBe(0);
    q.add({ address: 'r1', linkUp: true, offset: 100, sentAt: 500, at: 501 });
    q.add({ address: 'r1', linkUp: true, offset: 100, sentAt: 1102, at: 1103 });
    expect(q.quietMs().get('r1')).toBe(1100);
    // The master's PING arrives: the span starts over at the answer that shows it.
    q.add({ address: 'r1', linkUp: true, offset: 114, sentAt: 1200, at: 1201 });
    expect(q.quietMs().get('r1')).toBe(0);
  });

  it('a replica that reports its link down vouches at once (Infinity); answers out of order do not shorten a span', () => {
    const q = new ReplicaQuiet();
    q.add({ address: 'r2', linkUp: false, offset: 100, sentAt: 0, at: 1 });
    expect(q.quietMs().get('r2')).toBe(Infinity);
    q.add({ address: 'r3', linkUp: true, offset: 7, sentAt: 0, at: 1 });
    q.add({ address: 'r3', linkUp: true, offset: 7, sentAt: 900, at: 901 });
    q.add({ address: 'r3', linkUp: true, offset: 7, sentAt: 800, at: 950 });
    expect(q.quietMs().get('r3')).toBe(899);
  });
});

describe('parseReplicaRole', () => {
  it('reads a replica\'s ROLE; anything else is null', () => {
    expect(parseReplicaRole(['slave', '10.0.0.1', 6379, 'connected', 3167])).toEqual({ linkUp: true, offset: 3167 });
    expect(parseReplicaRole(['slave', '10.0.0.1', 6379, 'connect', -1])).toEqual({ linkUp: false, offset: -1 });
    expect(parseReplicaRole(['master', 3167, []])).toBeNull();
    expect(parseReplicaRole('nonsense')).toBeNull();
  });
});

describe('WitnessSampler (stand-in replicas)', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] }));
  afterEach(() => vi.useRealTimers());

  function replica(offset: () => number) {
    const conn = {
      calls: 0,
      call: () => {
        conn.calls++;
        return Promise.resolve(['slave', '127.0.0.1', 6379, 'connected', offset()]);
      },
      info: () => Promise.resolve(''),
    };
    return conn;
  }

  it('fast at first, slowly after fastForMs; reports every answer; nothing once stopped', async () => {
    let offset = 100;
    const r1 = replica(() => offset);
    const rounds: number[] = [];
    const sampler = new WitnessSampler({ intervalMs: 25, fastForMs: 1000, slowIntervalMs: 250, onRound: (q) => rounds.push(q.get('r1') ?? -1) });
    sampler.start([{ address: 'r1', conn: r1 as unknown as RoleConnection }]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(r1.calls).toBeGreaterThanOrEqual(39);
    expect(r1.calls).toBeLessThanOrEqual(41);
    expect(Math.max(...rounds)).toBeGreaterThanOrEqual(950);
    offset = 114;
    const before = r1.calls;
    await vi.advanceTimersByTimeAsync(1000);
    expect(r1.calls - before).toBeLessThanOrEqual(5);
    expect(sampler.quiet().get('r1')).toBeLessThan(1000);
    sampler.stop();
    const stopped = r1.calls;
    await vi.advanceTimersByTimeAsync(1000);
    expect(r1.calls).toBe(stopped);
    expect(sampler.quiet().size).toBe(0);
  });
});
