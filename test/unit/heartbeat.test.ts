import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Heartbeat, type PingConnection } from '../../src/failover/heartbeat.js';

/** A connection whose PING answers while `answering`, and otherwise never (a hung master). */
function pinger() {
  const conn = {
    answering: true,
    pings: 0,
    ping(): Promise<'PONG'> {
      conn.pings++;
      return conn.answering ? Promise.resolve('PONG') : new Promise<never>(() => undefined);
    },
  };
  return conn;
}

describe('Heartbeat (a timer loop over a stand-in connection)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function start(conn: PingConnection) {
    const silent: number[] = [];
    const suspect: boolean[] = [];
    const heartbeat = new Heartbeat({
      intervalMs: 50,
      suspectAfterMs: 200,
      downAfterMs: 1000,
      repeatSilentMs: 250,
      onSuspect: (s) => suspect.push(s),
      onSilent: (ms) => silent.push(Math.round(ms)),
    });
    heartbeat.watch('127.0.0.1:6379', conn);
    return { heartbeat, silent, suspect };
  }

  it('a silent master: suspect after suspectAfterMs, then a look-again signal at downAfterMs and at most every repeatSilentMs', async () => {
    const conn = pinger();
    const { heartbeat, silent, suspect } = start(conn);
    await vi.advanceTimersByTimeAsync(500);
    expect(silent).toEqual([]);
    conn.answering = false;
    await vi.advanceTimersByTimeAsync(250);
    expect(suspect).toEqual([true]);
    expect(heartbeat.suspect).toBe(true);
    // Silent from ~500 ms on; 3 s more: the first signal at 1000 ms of silence, then one per 250 ms.
    await vi.advanceTimersByTimeAsync(2750);
    expect(silent.length).toBeGreaterThanOrEqual(8);
    expect(silent.length).toBeLessThanOrEqual(10);
    expect(silent[0]).toBeGreaterThanOrEqual(1000);
    expect(silent[0]).toBeLessThan(1100);
    for (let i = 1; i < silent.length; i++) expect(silent[i]! - silent[i - 1]!).toBeGreaterThanOrEqual(250);
    // One PING at a time: the unanswered one is not piled upon.
    const pings = conn.pings;
    await vi.advanceTimersByTimeAsync(1000);
    expect(conn.pings).toBe(pings);
    heartbeat.stop();
  });

  it('an answering master: never a signal; the clock restarts for a new master', async () => {
    const conn = pinger();
    const { heartbeat, silent, suspect } = start(conn);
    await vi.advanceTimersByTimeAsync(5000);
    expect(silent).toEqual([]);
    expect(suspect).toEqual([]);
    expect(heartbeat.silenceMs()).toBeLessThanOrEqual(50);
    heartbeat.watch('127.0.0.1:6380', pinger());
    expect(heartbeat.target).toBe('127.0.0.1:6380');
    heartbeat.stop();
  });
});
