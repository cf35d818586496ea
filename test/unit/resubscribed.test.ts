import { describe, expect, it } from 'vitest';
import { GapClock, resubscribedEvent } from '../../src/dispatch/resubscribed.js';

const what = { subscribe: new Set(['news']), psubscribe: new Set(['news.*']), ssubscribe: new Set<string>() };

describe('resubscribedEvent', () => {
  it('names what was made again, the nodes, and the window from the last sign of life to the confirmation', () => {
    expect(resubscribedEvent(what, '10.0.0.1:6379', '10.0.0.2:6379', 1000.2, 1512.9)).toEqual({
      channels: ['news'],
      patterns: ['news.*'],
      shardChannels: [],
      from: '10.0.0.1:6379',
      to: '10.0.0.2:6379',
      gapMs: 513,
    });
  });

  it('is null when nothing was subscribed (nothing can have been lost)', () => {
    expect(resubscribedEvent({ subscribe: [], psubscribe: [], ssubscribe: [] }, 'a:1', 'b:1', 0, 10)).toBeNull();
  });

  it('never reports a negative gap', () => {
    expect(resubscribedEvent(what, 'a:1', 'a:1', 20, 10)?.gapMs).toBe(0);
  });
});

describe('GapClock', () => {
  it('counts from the last message or confirmation, and restarts at the new confirmation', () => {
    const clock = new GapClock(0);
    clock.seen(100);
    clock.seen(250);
    const since = clock.lastSeen;
    expect(clock.resubscribed(what, 'a:1', 'b:1', since, 900)?.gapMs).toBe(650);
    expect(clock.lastSeen).toBe(900);
  });
});
