import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CommandTimeoutError, NoMasterError, QueueFullError } from '../../src/errors.js';
import { HoldQueue, type Holdable } from '../../src/dispatch/hold-queue.js';

/** A held item that may go once `open` is true, recording how it ended. */
function item(name: string, gate: { open: boolean }, log: string[]): Holdable & { error: Error | null } {
  const it = {
    name,
    tries: 0,
    error: null as Error | null,
    retry: () => {
      if (!gate.open) return false;
      log.push(name);
      return true;
    },
    fail: (error: Error) => {
      it.error = error;
      log.push(`${name}:${(error as { code?: string }).code}`);
    },
    waitCause: () => new NoMasterError('no master is known'),
  };
  return it;
}

describe('HoldQueue', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('drains in arrival order, keeping the place of what still cannot go', () => {
    const q = new HoldQueue({ limit: 10, timeoutMs: 1000, offlineQueue: true });
    const log: string[] = [];
    const a = { open: false };
    const b = { open: false };
    q.hold(item('a1', a, log));
    q.hold(item('b1', b, log));
    q.hold(item('a2', a, log));
    a.open = true;
    q.drain();
    expect(log).toEqual(['a1', 'a2']);
    q.hold(item('b2', b, log));
    b.open = true;
    q.drain();
    expect(log).toEqual(['a1', 'a2', 'b1', 'b2']);
    expect(q.size).toBe(0);
  });

  it('what is held during a drain goes behind what was already waiting', () => {
    const q = new HoldQueue({ limit: 10, timeoutMs: 1000, offlineQueue: true });
    const log: string[] = [];
    const closed = { open: false };
    const open = { open: true };
    const late = item('late', closed, log);
    q.hold({ ...item('first', open, log), retry: () => (q.hold(late), log.push('first'), true) });
    q.hold(item('second', closed, log));
    q.drain();
    closed.open = true;
    q.drain();
    expect(log).toEqual(['first', 'second', 'late']);
  });

  it('fails at once past the limit (maxQueuedCommands), unsent', () => {
    const q = new HoldQueue({ limit: 1, timeoutMs: 1000, offlineQueue: true });
    const log: string[] = [];
    const gate = { open: false };
    q.hold(item('a', gate, log));
    const b = item('b', gate, log);
    q.hold(b);
    expect(b.error).toBeInstanceOf(QueueFullError);
    expect(q.size).toBe(1);
  });

  it('times an item out after timeoutMs with the reason it waited as the cause', () => {
    const q = new HoldQueue({ limit: 10, timeoutMs: 500, offlineQueue: true });
    const log: string[] = [];
    const a = item('get', { open: false }, log);
    q.hold(a);
    vi.advanceTimersByTime(499);
    expect(a.error).toBeNull();
    vi.advanceTimersByTime(1);
    expect(a.error).toBeInstanceOf(CommandTimeoutError);
    expect(a.error!.message).toMatch(/GET waited 500 ms/);
    expect((a.error as Error & { cause?: unknown }).cause).toBeInstanceOf(NoMasterError);
    expect(q.size).toBe(0);
  });

  it('an item sent before its timeout is never failed by it', () => {
    const q = new HoldQueue({ limit: 10, timeoutMs: 500, offlineQueue: true });
    const log: string[] = [];
    const gate = { open: false };
    const a = item('get', gate, log);
    q.hold(a);
    gate.open = true;
    q.drain();
    vi.advanceTimersByTime(1000);
    expect(a.error).toBeNull();
    expect(log).toEqual(['get']);
  });

  it('failAll settles everything held with the error, once', () => {
    const q = new HoldQueue({ limit: 10, timeoutMs: 500, offlineQueue: true });
    const log: string[] = [];
    const gate = { open: false };
    q.hold(item('a', gate, log));
    q.hold(item('b', gate, log));
    const closed = Object.assign(new Error('closed'), { code: 'ERR_CLOSED' });
    q.failAll(closed);
    vi.advanceTimersByTime(1000);
    expect(log).toEqual(['a:ERR_CLOSED', 'b:ERR_CLOSED']);
  });

  it('without an offline queue: a command never sent fails at once with ERR_OFFLINE (its wait reason as cause); one already sent still waits', () => {
    const q = new HoldQueue({ limit: 10, timeoutMs: 500, offlineQueue: false });
    const log: string[] = [];
    const gate = { open: false };
    const fresh = item('get', gate, log);
    expect(q.hold(fresh)).toBe(false);
    expect(fresh.error).toMatchObject({ code: 'ERR_OFFLINE', message: "Stream isn't writeable and enableOfflineQueue options is false" });
    expect((fresh.error as Error).cause).toBeInstanceOf(NoMasterError);
    const resent = { ...item('set', gate, log), tries: 1 };
    expect(q.hold(resent)).toBe(true);
    expect(q.size).toBe(1);
    gate.open = true;
    q.drain();
    expect(log).toEqual(['get:ERR_OFFLINE', 'set']);
  });
});
