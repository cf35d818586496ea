import { afterEach, describe, expect, it, vi } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { Closing, isClosingNoise, passwordsOf, printUnhandledError, redactSecrets, type ClosingHost } from '../../src/compat.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('printUnhandledError', () => {
  it("prints as ioredis's silentEmit does, with this library's name: the prefix, then the stack", () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const error = new Error('connect ECONNREFUSED 127.0.0.1:6379');
    printUnhandledError(error, []);
    expect(spy.mock.calls).toEqual([['[redis-failover] Unhandled error event:', error.stack]]);
  });

  it('never prints a configured password, nor the password of a URL', () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const error = new Error('could not reach redis://app:p@ss:w0rd@10.0.0.1:6379/0 (AUTH hunter2-secret failed)');
    printUnhandledError(error, ['hunter2-secret']);
    const text = String(spy.mock.calls[0]![1]);
    expect(text).not.toContain('hunter2-secret');
    expect(text).not.toContain('w0rd');
    expect(text).toContain('redis://app:***@10.0.0.1:6379/0');
    expect(text).toContain('AUTH *** failed');
  });

  it('prints something for a thrown value that is not an Error', () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    printUnhandledError('boom s3cret', ['s3cret']);
    expect(spy.mock.calls).toEqual([['[redis-failover] Unhandled error event:', 'boom ***']]);
  });
});

describe('redactSecrets', () => {
  it('replaces every occurrence; empty secrets are ignored; text without secrets is unchanged', () => {
    expect(redactSecrets('a s b s', ['s'])).toBe('a *** b ***');
    expect(redactSecrets('nothing here', ['', 'absent'])).toBe('nothing here');
    expect(redactSecrets('rediss+sentinel://:pw@h:26379/mymaster', [])).toBe('rediss+sentinel://:***@h:26379/mymaster');
  });
});

describe('passwordsOf', () => {
  it('collects password and sentinelPassword from every options object given', () => {
    expect(passwordsOf({ password: 'a', username: 'u' }, undefined, { sentinelPassword: 'b', password: '' })).toEqual(['a', 'b']);
  });
});

describe('isClosingNoise', () => {
  it("is what ioredis's silentEmit does not report while it closes on purpose", () => {
    expect(isClosingNoise(new Error('Connection is closed.'))).toBe(true);
    expect(isClosingNoise(Object.assign(new Error('connect ECONNREFUSED'), { syscall: 'connect' }))).toBe(true);
    expect(isClosingNoise(Object.assign(new Error('read ECONNRESET'), { syscall: 'read' }))).toBe(true);
    expect(isClosingNoise(Object.assign(new Error('write EPIPE'), { syscall: 'write' }))).toBe(false);
    expect(isClosingNoise(new Error('WRONGPASS invalid username-password pair'))).toBe(false);
    expect(isClosingNoise('Connection is closed.')).toBe(false);
  });
});

/** A host that records what Closing asks of it. */
function fakeHost(state: { unsent: boolean; connected: boolean }): ClosingHost & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    unsent: () => state.unsent,
    connected: () => state.connected,
    fail: () => void log.push('fail'),
    closeConnections: async (quit) => void log.push(quit ? 'quit connections' : 'drop connections'),
    ended: async (connected) => void log.push(`ended ${connected ? 'connected' : 'not connected'}`),
  };
}

describe('Closing', () => {
  it('quit: waits until what was issued before is sent, then quits the connections; what comes after settles once ended', async () => {
    const state = { unsent: true, connected: false };
    const host = fakeHost(state);
    const closing = new Closing(host);
    const quitted = closing.close('quit').then(() => host.log.push('quit resolved'));
    const later = closing.after(() => host.log.push('after'));
    await sleep(30);
    expect(host.log).toEqual([]);
    state.unsent = false;
    state.connected = true;
    await Promise.all([quitted, later]);
    expect(host.log).toEqual(['fail', 'quit connections', 'quit resolved', 'ended connected', 'after']);
    expect(closing.over).toBe(true);
  });

  it('drop: fails what waits at once, also cutting a graceful close short', async () => {
    const state = { unsent: true, connected: false };
    const host = fakeHost(state);
    const closing = new Closing(host);
    const quitted = closing.close('quit');
    await sleep(20);
    await closing.close('drop');
    await quitted;
    await closing.after(() => undefined);
    expect(host.log[0]).toBe('fail');
    expect(host.log).toContain('drop connections');
    expect(host.log.at(-1)).toBe('ended not connected');
    expect(closing.kind).toBe('drop');
  });

  it('a second close of the same kind (or any after a drop) changes nothing', async () => {
    const host = fakeHost({ unsent: false, connected: true });
    const closing = new Closing(host);
    await Promise.all([closing.close('quit'), closing.close('quit')]);
    await closing.close('drop');
    await closing.after(() => undefined);
    expect(host.log).toEqual(['fail', 'quit connections', 'ended connected']);
  });

  it('now: a drop done at once (a client that never started connecting)', async () => {
    const host = fakeHost({ unsent: false, connected: false });
    const closing = new Closing(host);
    void closing.close('drop', true);
    expect(closing.over).toBe(true);
    expect(host.log).toEqual(['fail', 'drop connections', 'ended not connected']);
  });
});
