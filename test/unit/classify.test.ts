import { describe, expect, it } from 'vitest';
import { classifyCommand } from '../../src/routing/classify.js';

const kind = (name: string, ...args: unknown[]) => classifyCommand(name, args).kind;

describe('classifyCommand', () => {
  it.each([
    ['get', ['k'], 'read'],
    ['mget', ['a', 'b'], 'read'],
    ['hgetall', ['h'], 'read'],
    ['exists', ['a'], 'read'],
    ['ttl', ['a'], 'read'],
    ['xrange', ['s', '-', '+'], 'read'],
    ['sort_ro', ['l'], 'read'],
    ['eval_ro', ['return 1', '0'], 'read'],
    ['evalsha_ro', ['abc', '1', 'k'], 'read'],
    ['fcall_ro', ['f', '0'], 'read'],
    ['xread', ['STREAMS', 's', '0'], 'read'],
    ['xinfo', ['STREAM', 's'], 'read'],
    ['object', ['ENCODING', 'k'], 'read'],
    ['memory', ['USAGE', 'k'], 'read'],
    ['set', ['k', 'v'], 'write'],
    ['incr', ['k'], 'write'],
    ['eval', ['return 1', '0'], 'write'],
    ['evalsha', ['abc', '0'], 'write'],
    ['fcall', ['f', '0'], 'write'],
    ['sort', ['l'], 'write'],
    ['publish', ['c', 'm'], 'write'],
    ['spublish', ['c', 'm'], 'write'],
    ['xinfo', ['HELP'], 'write'],
    ['object', ['HELP'], 'write'],
    ['script', ['LOAD', 'return 1'], 'write'],
    ['xgroup', ['CREATE', 's', 'g', '$'], 'write'],
    // Read-only but with no keys: the master is always right for these.
    ['scan', ['0'], 'write'],
    ['keys', ['*'], 'write'],
    ['dbsize', [], 'write'],
    ['randomkey', [], 'write'],
    ['ping', [], 'write'],
    ['info', ['replication'], 'write'],
    ['wait', ['1', '100'], 'write'],
    ['waitaof', ['0', '1', '100'], 'write'],
    ['acme.module', ['x'], 'write'],
    ['blpop', ['l', '0'], 'blocking'],
    ['brpoplpush', ['a', 'b', '0'], 'blocking'],
    ['bzpopmin', ['z', '0'], 'blocking'],
    ['xread', ['BLOCK', '100', 'STREAMS', 's', '$'], 'blocking'],
    ['xreadgroup', ['GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', 's', '>'], 'blocking'],
    ['xreadgroup', ['GROUP', 'g', 'c', 'STREAMS', 's', '>'], 'write'],
    ['subscribe', ['c'], 'subscribe'],
    ['psubscribe', ['c*'], 'subscribe'],
    ['ssubscribe', ['c'], 'subscribe'],
    ['unsubscribe', [], 'subscribe'],
    ['watch', ['k'], 'transaction'],
    ['multi', [], 'transaction'],
    ['exec', [], 'transaction'],
    ['select', ['1'], 'select'],
  ])('%s %j is %s', (name, args, expected) => {
    expect(kind(name, ...args)).toBe(expected);
  });

  it('is case-insensitive and takes Buffers as subcommands', () => {
    expect(kind('GET', 'k')).toBe('read');
    expect(kind('object', Buffer.from('encoding'), 'k')).toBe('read');
  });

  it('tells a blocking read from a blocking write', () => {
    expect(classifyCommand('xread', ['block', '0', 'streams', 's', '$']).readOnly).toBe(true);
    expect(classifyCommand('blpop', ['l', '0']).readOnly).toBe(false);
  });

  it('never treats a STREAMS key named "block" as the BLOCK option', () => {
    expect(kind('xread', 'STREAMS', 'block', '0')).toBe('read');
  });
});

describe('writesData', () => {
  it.each([
    ['set', ['k', 'v'], true],
    ['eval', ['return 1', '0'], true],
    ['fcall', ['f', '0'], true],
    ['flushall', [], true],
    ['acme.module', [], true],
    ['ping', [], false],
    ['info', [], false],
    ['publish', ['c', 'm'], false],
    ['get', ['k'], false],
    ['blpop', ['l', '0'], true],
  ])('%s %j → %s', (name, args, expected) => {
    expect(classifyCommand(name, args).writesData).toBe(expected);
  });
});
