import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { WatchSessions } from '../../../src/cluster/watches.js';

describe('WatchSessions', () => {
  it('a transaction keeps its WATCH while the slot has the same master and the connection stayed open', () => {
    const w = new WatchSessions();
    w.watched(7, 'a:1', new EventEmitter());
    expect(w.broken(7, 'a:1')).toBeNull();
    // Spent by that EXEC.
    expect(w.size).toBe(0);
    expect(w.broken(7, 'b:1')).toBeNull();
  });

  it('broken when the slot has another master, or the connection closed, or there was none', () => {
    const w = new WatchSessions();
    w.watched(1, 'a:1', new EventEmitter());
    expect(w.broken(1, 'b:1')).toEqual({ watchedAt: 'a:1' });
    expect(w.broken(2, null)).toBeNull();
    const conn = new EventEmitter();
    w.watched(3, 'a:1', conn);
    conn.emit('close');
    expect(w.broken(3, 'a:1')).toEqual({ watchedAt: 'a:1' });
    w.watched(4, 'a:1', undefined);
    expect(w.broken(4, 'a:1')).toEqual({ watchedAt: 'a:1' });
  });

  it('UNWATCH clears every watch; a transaction on a slot not watched is not touched', () => {
    const w = new WatchSessions();
    w.watched(1, 'a:1', new EventEmitter());
    w.watched(2, 'a:1', new EventEmitter());
    expect(w.broken(3, 'z:1')).toBeNull();
    expect(w.size).toBe(2);
    w.cleared();
    expect(w.size).toBe(0);
    expect(w.broken(1, 'z:1')).toBeNull();
  });
});
