import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Activity } from '../../src/failover/activity.js';
import { Heartbeat, initialWatch, observe, type PingConnection, type SentQueue } from '../../src/failover/heartbeat.js';

describe('observe: the master silence from the commands in flight (pure)', () => {
  const look = (now: number, heads: unknown[], extra: { pingOutstanding?: boolean; pingAnsweredAt?: number | null; reachable?: boolean } = {}) => ({
    now,
    heads,
    pingOutstanding: extra.pingOutstanding ?? false,
    pingAnsweredAt: extra.pingAnsweredAt ?? null,
    reachable: extra.reachable ?? true,
  });

  it('nothing in flight: no silence, no PING until idlePingMs without a sign of life', () => {
    let s = initialWatch(0);
    let r = observe(s, look(100, [null]), 2000);
    expect(r).toMatchObject({ silenceMs: 0, ping: false });
    s = r.state;
    r = observe(s, look(2100, [null]), 2000);
    expect(r.ping).toBe(true);
  });

  it('a head answered between two looks proves the master alive; a new head is waited on from the last look', () => {
    const a = {};
    const b = {};
    let s = initialWatch(0);
    let r = observe(s, look(100, [a]), 2000);
    // A sent after the look at 0: owed since 0 at the most.
    expect(r.silenceMs).toBe(100);
    expect(r.ping).toBe(false);
    s = r.state;
    r = observe(s, look(200, [b]), 2000);
    // A was answered after 100: the master lived then; B is owed since 100 at the most.
    expect(r.state.lifeAt).toBe(100);
    expect(r.silenceMs).toBe(100);
    expect(r.ping).toBe(false);
  });

  it('a head stuck for a whole look: silence grows, and a PING asks the control connection', () => {
    const a = {};
    let s = initialWatch(0);
    s = observe(s, look(100, [a]), 2000).state;
    let r = observe(s, look(200, [a]), 2000);
    expect(r.silenceMs).toBe(200);
    expect(r.ping).toBe(true);
    s = r.state;
    // The PING is out: not another one.
    r = observe(s, look(300, [a], { pingOutstanding: true }), 2000);
    expect(r.silenceMs).toBe(300);
    expect(r.ping).toBe(false);
    // It answers (a slow command ahead of the data connection, not a hung master): silence from then.
    r = observe(r.state, look(400, [a], { pingAnsweredAt: 350 }), 2000);
    expect(r.silenceMs).toBe(50);
    expect(r.state.lifeAt).toBe(350);
  });

  it('a master that cannot be reached (connection closed, reconnecting) is silent from the first look that saw it, and not PINGed', () => {
    let s = initialWatch(0);
    s = observe(s, look(100, [null]), 2000).state;
    let r = observe(s, look(200, [null], { reachable: false }), 2000);
    expect(r.silenceMs).toBe(100);
    r = observe(r.state, look(300, [null], { reachable: false }), 2000);
    expect(r.silenceMs).toBe(200);
    expect(r.ping).toBe(false);
    r = observe(r.state, look(400, [null], { reachable: true, pingAnsweredAt: 350 }), 2000);
    expect(r.silenceMs).toBe(0);
  });

  it('everything answered: silence back to 0', () => {
    const a = {};
    let s = initialWatch(0);
    s = observe(s, look(100, [a]), 2000).state;
    s = observe(s, look(200, [a]), 2000).state;
    const r = observe(s, look(300, [null]), 2000);
    expect(r.silenceMs).toBe(0);
    expect(r.state.waitingSince).toBeNull();
  });
});

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

/** A data connection's queue: `send()` puts a command in flight, `answer()` takes the oldest out. */
function queue() {
  const items: object[] = [];
  const q = {
    get length() {
      return items.length;
    },
    peekFront: () => items[0],
    send: () => items.push({}),
    answer: () => items.shift(),
  };
  return q;
}

describe('Heartbeat (a timer loop over stand-in connections)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function start(conn: PingConnection, queues: SentQueue[] = []) {
    const silent: number[] = [];
    const suspect: boolean[] = [];
    const pace: boolean[] = [];
    const activity = new Activity();
    const heartbeat = new Heartbeat({
      intervalMs: 50,
      idlePingMs: 2000,
      lingerMs: 2000,
      suspectAfterMs: 200,
      downAfterMs: 1000,
      repeatSilentMs: 250,
      activity,
      onSuspect: (s) => suspect.push(s),
      onSilent: (ms) => silent.push(Math.round(ms)),
      onPace: (active) => pace.push(active),
    });
    heartbeat.watch('127.0.0.1:6379', conn, () => queues);
    return { heartbeat, silent, suspect, pace, activity };
  }

  it('a busy client whose commands stop being answered: suspect, then a look-again signal at downAfterMs and at most every repeatSilentMs', async () => {
    const conn = pinger();
    const q = queue();
    const { heartbeat, silent, suspect, activity } = start(conn, [q]);
    // Answered traffic: no PING at all.
    for (let i = 0; i < 10; i++) {
      activity.touch();
      q.send();
      await vi.advanceTimersByTimeAsync(50);
      q.answer();
    }
    expect(conn.pings).toBe(0);
    // The master hangs with a command in flight.
    conn.answering = false;
    activity.touch();
    q.send();
    await vi.advanceTimersByTimeAsync(300);
    expect(suspect).toEqual([true]);
    expect(heartbeat.suspect).toBe(true);
    await vi.advanceTimersByTimeAsync(2700);
    expect(silent.length).toBeGreaterThanOrEqual(8);
    expect(silent.length).toBeLessThanOrEqual(10);
    expect(silent[0]).toBeGreaterThanOrEqual(1000);
    expect(silent[0]).toBeLessThan(1100);
    for (let i = 1; i < silent.length; i++) expect(silent[i]! - silent[i - 1]!).toBeGreaterThanOrEqual(250);
    // One PING at a time: the unanswered one is not piled upon.
    expect(conn.pings).toBe(1);
    heartbeat.stop();
  });

  it('an idle client: no timer and no PING at all; a command wakes it, and its first look PINGs once', async () => {
    const conn = pinger();
    const { heartbeat, silent, suspect, pace, activity } = start(conn);
    await vi.advanceTimersByTimeAsync(2100);
    expect(heartbeat.active).toBe(false);
    expect(pace).toEqual([true, false]);
    const pings = conn.pings;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(conn.pings).toBe(pings);
    expect(vi.getTimerCount()).toBe(0);
    activity.touch();
    expect(heartbeat.active).toBe(true);
    expect(pace).toEqual([true, false, true]);
    await vi.advanceTimersByTimeAsync(60);
    expect(conn.pings).toBe(pings + 1);
    expect(silent).toEqual([]);
    expect(suspect).toEqual([]);
    heartbeat.stop();
  });

  it('woken with the master hung: its PING goes unanswered, suspect, then silent', async () => {
    const conn = pinger();
    const { heartbeat, silent, suspect, activity } = start(conn);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(heartbeat.active).toBe(false);
    conn.answering = false;
    activity.touch();
    await vi.advanceTimersByTimeAsync(1200);
    expect(suspect).toEqual([true]);
    expect(silent.length).toBeGreaterThan(0);
    heartbeat.stop();
  });

  it('the clock restarts for a new master', async () => {
    const { heartbeat } = start(pinger());
    heartbeat.watch('127.0.0.1:6380', pinger());
    expect(heartbeat.target).toBe('127.0.0.1:6380');
    expect(heartbeat.silenceMs()).toBe(0);
    heartbeat.stop();
  });
});
