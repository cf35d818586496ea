import { describe, expect, it } from 'vitest';
import { firstKeyOnly } from '../../src/routing/classify.js';
import { ReplicaProgress, SessionWrites } from '../../src/consistency/bookkeeping.js';
import { roleOffset } from '../../src/consistency/offset-sampler.js';

describe('SessionWrites', () => {
  it('gives each acknowledged write a sequence, and a read the highest sequence of its keys', () => {
    const w = new SessionWrites();
    expect(w.needed(['a'])).toBe(0);
    w.wrote(['a']);
    w.wrote(['b', 'c']);
    w.wrote(['a']);
    expect(w.needed(['a'])).toBe(3);
    expect(w.needed(['b'])).toBe(2);
    expect(w.needed(['b', 'a'])).toBe(3);
    expect(w.needed(['z'])).toBe(0);
  });

  it('treats string and Buffer keys alike', () => {
    const w = new SessionWrites();
    w.wrote([Buffer.from('k')]);
    expect(w.needed(['k'])).toBe(1);
  });

  it('a write with no known keys holds back every read', () => {
    const w = new SessionWrites();
    w.wrote(['a']);
    w.wrote([]);
    expect(w.needed(['anything'])).toBe(2);
  });

  it('forgets keys every replica has passed, oldest first', () => {
    const w = new SessionWrites();
    w.wrote(['a']);
    w.wrote(['b']);
    w.wrote(['c']);
    w.forgetUpTo(2);
    expect(w.size).toBe(1);
    expect(w.needed(['a', 'b'])).toBe(0);
    expect(w.needed(['c'])).toBe(3);
  });

  it('stays bounded: past maxKeys the oldest fold into a barrier (safe: towards the master)', () => {
    const w = new SessionWrites(100);
    for (let i = 0; i < 1000; i++) w.wrote([`k${i}`]);
    expect(w.size).toBe(100);
    expect(w.needed(['k0'])).toBe(900);
    expect(w.needed(['k999'])).toBe(1000);
  });
});

describe('ReplicaProgress', () => {
  it('a replica reaches the writes whose master offset it has applied', () => {
    const p = new ReplicaProgress();
    p.masterSample(5, 1000, 10);
    p.masterSample(9, 1500, 20);
    p.replicaSample('r1', 1200);
    p.replicaSample('r2', 1500);
    expect(p.reachedSeq('r1')).toBe(5);
    expect(p.reachedSeq('r2')).toBe(9);
    expect(p.reachedSeq('r3')).toBe(0);
    expect(p.lagBytes('r1')).toBe(300);
    expect(p.stalenessMs('r1', 50)).toBe(40);
    expect(p.stalenessMs('r2', 50)).toBe(30);
  });

  it('compacts to the lowest sequence all replicas reached', () => {
    const p = new ReplicaProgress();
    p.masterSample(5, 1000, 10);
    p.masterSample(9, 1500, 20);
    p.replicaSample('r1', 1200);
    p.replicaSample('r2', 1500);
    expect(p.compact(['r1', 'r2'])).toBe(5);
  });

  it('starts over with a new master', () => {
    const p = new ReplicaProgress();
    p.masterSample(5, 1000, 10);
    p.replicaSample('r1', 1000);
    p.reset();
    expect(p.reachedSeq('r1')).toBe(0);
    expect(p.lagBytes('r1')).toBeNull();
  });
});

describe('one-key fast path', () => {
  it('wroteKey/neededKey agree with wrote/needed, barriers included', () => {
    const a = new SessionWrites();
    const b = new SessionWrites();
    for (const step of [['x'], [], ['y'], ['x']] as unknown[][]) {
      if (step.length === 1) {
        a.wrote(step);
        b.wroteKey(step[0]);
      } else {
        a.wrote(step);
        b.wrote(step);
      }
      for (const key of ['x', 'y', 'z', Buffer.from('x')]) expect(b.neededKey(key)).toBe(a.needed([key]));
    }
  });

  it('firstKeyOnly: commands whose one key is the first argument, not the ones the table treats specially', () => {
    for (const name of ['get', 'set', 'incr', 'hget', 'hset', 'lpush', 'expire', 'zadd']) expect(firstKeyOnly(name)).toBe(true);
    for (const name of ['mget', 'mset', 'del', 'eval', 'sort', 'georadius', 'xread', 'ping', 'object', 'rename']) expect(firstKeyOnly(name)).toBe(false);
  });
});

describe('roleOffset', () => {
  it('reads the offset of a ROLE reply, master or replica; never throws', () => {
    expect(roleOffset(['master', 3129659, [['127.0.0.1', '9001', '3129242']]])).toEqual({ role: 'master', offset: 3129659 });
    expect(roleOffset(['slave', '127.0.0.1', 9000, 'connected', 3167038])).toEqual({ role: 'replica', offset: 3167038 });
    expect(roleOffset(['slave', '127.0.0.1', 9000, 'connect', -1])).toEqual({ role: 'replica', offset: 0 });
    expect(roleOffset(['sentinel', ['mymaster']])).toEqual({ role: 'unknown', offset: 0 });
    expect(roleOffset(null)).toEqual({ role: 'unknown', offset: 0 });
  });
});

describe('writes in flight', () => {
  it('a write counts from the moment it is sent; samples only cover the writes answered before them', () => {
    const w = new SessionWrites();
    const a = w.wroteKey('a');
    const b = w.wrote(['b']);
    expect(w.neededKey('a')).toBe(a);
    expect(w.settledThrough).toBe(0);
    w.settled(b); // answered out of order (another connection): a still holds the samples back
    expect(w.settledThrough).toBe(0);
    w.settled(a);
    expect(w.settledThrough).toBe(b);
    const c = w.wroteKey('c');
    expect(w.settledThrough).toBe(b);
    w.settled(c);
    expect(w.settledThrough).toBe(c);
  });
});

describe('SessionWrites: writes issued but not sent yet', () => {
  it('a read that needs one waits behind it until it is sent; answered or failed, it is forgotten', () => {
    const w = new SessionWrites();
    const a = w.wroteKey('a'); // held: no master connected yet
    expect(w.awaitsUnsent(w.neededKey('a'))).toBe(true);
    expect(w.awaitsUnsent(w.neededKey('other'))).toBe(false);
    w.sent(a);
    expect(w.awaitsUnsent(w.neededKey('a'))).toBe(false);
    const b = w.wrote(['b', 'c']);
    const c = w.wroteKey('c');
    w.sent(c);
    // The older write of b is still unsent: a read needing c's (later) write waits too, on the safe side.
    expect(w.awaitsUnsent(w.neededKey('c'))).toBe(true);
    w.settled(b); // failed without being sent (timed out while held)
    expect(w.awaitsUnsent(w.neededKey('c'))).toBe(false);
    expect(w.settledThrough).toBe(a - 1);
  });
});
