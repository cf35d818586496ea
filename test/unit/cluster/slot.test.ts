import { Command } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ANY_SLOT, batchSlot, commandSlot, slotOf } from '../../../src/cluster/slot.js';

const cmd = (name: string, ...args: Array<string | number>) => new Command(name, args);

describe('commandSlot', () => {
  it('keyed commands by their keys, keyless ones to any master, what ioredis keeps to null', () => {
    expect(commandSlot(cmd('get', 'user:1'))).toBe(slotOf('user:1'));
    expect(commandSlot(cmd('mget', '{u}a', '{u}b'))).toBe(slotOf('u'));
    expect(commandSlot(cmd('blpop', 'queue', 0))).toBe(slotOf('queue'));
    expect(commandSlot(cmd('ping'))).toBe(ANY_SLOT);
    expect(commandSlot(cmd('publish', 'news', 'x'))).toBe(ANY_SLOT);
    expect(commandSlot(cmd('eval', 'return 1', 0))).toBe(ANY_SLOT);
    for (const c of [cmd('subscribe', 'news'), cmd('ssubscribe', 'news'), cmd('watch', 'k'), cmd('multi'), cmd('select', 0), cmd('himport', 'PREPARE')]) {
      expect(commandSlot(c), c.name).toBeNull();
    }
  });
});

describe('batchSlot', () => {
  it('one slot, no keys (any master), or null for ioredis (several slots, a command it keeps)', () => {
    expect(batchSlot([cmd('set', '{p}a', '1'), cmd('get', '{p}b')])).toBe(slotOf('p'));
    expect(batchSlot([cmd('ping'), cmd('time')])).toBe(ANY_SLOT);
    expect(batchSlot([cmd('ping'), cmd('get', '{p}a')])).toBe(slotOf('p'));
    expect(batchSlot([cmd('multi'), cmd('incr', '{p}a'), cmd('exec')])).toBe(slotOf('p'));
    expect(batchSlot([cmd('get', '{p}a'), cmd('get', '{q}a')])).toBeNull();
    expect(batchSlot([cmd('get', '{p}a'), cmd('subscribe', 'news')])).toBeNull();
  });
});
