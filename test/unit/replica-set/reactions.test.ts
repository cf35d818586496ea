import { describe, expect, it, vi } from 'vitest';
import { AuthError } from '../../../src/errors.js';
import type { NodeConnections } from '../../../src/pool/node-pool.js';
import { ReplicaSetReactions, type CoreHost, type ReplicaSetParts } from '../../../src/replica-set/reactions.js';

/** The parts as plain objects that record what they are told: no sockets, no timers. */
function parts(master = '127.0.0.1:6379') {
  const calls: string[] = [];
  const log = (what: string) => (...args: unknown[]) => void calls.push([what, ...args.map((a) => (a instanceof Error ? a.name : String(a)))].join(' '));
  const p = {
    pool: { get: () => undefined, remove: vi.fn(async () => undefined) },
    manager: { request: log('manager.request') },
    coordinator: { signal: log('coordinator.signal'), afterRefresh: log('coordinator.afterRefresh') },
    placement: {
      state: { master: { address: master, ready: true } },
      syncReadiness: log('placement.syncReadiness'),
      setGate: log('placement.setGate'),
      setFatal: log('placement.setFatal'),
      setLastError: log('placement.setLastError'),
      dropMaster: log('placement.dropMaster'),
    },
    engine: { drain: log('engine.drain'), failHeld: log('engine.failHeld') },
    stats: { failedOver: log('stats.failedOver') },
    lag: { bytes: null, ms: null },
  };
  const host: CoreHost = {
    ready: log('host.ready'),
    reconnecting: log('host.reconnecting'),
    discoveryFailed: log('host.discoveryFailed'),
    selected: log('host.selected'),
    emit: log('host.emit') as CoreHost['emit'],
    emitError: log('host.emitError'),
  };
  return { reactions: new ReplicaSetReactions(host, p as unknown as ReplicaSetParts), calls };
}

const node = (address: string, ready: boolean) => ({ address, ready }) as NodeConnections;

describe('ReplicaSetReactions', () => {
  it('the write gate: a switchover before a silent master before a fenced one; what waits is tried once none holds', () => {
    const { reactions, calls } = parts();
    reactions.fenced(true);
    reactions.suspect(true);
    reactions.switching(true);
    reactions.switching(false);
    reactions.suspect(false);
    reactions.fenced(false);
    expect(calls).toEqual([
      'placement.setGate master-fenced',
      'placement.setGate master-silent',
      'placement.setGate switchover',
      'placement.setGate master-silent',
      'placement.setGate master-fenced',
      'placement.setGate null',
      'engine.drain',
    ]);
  });

  it('a wrong password fails what waits and what comes, and is reported as fatal', () => {
    const { reactions, calls } = parts();
    reactions.discoveryFailed(new AuthError('127.0.0.1:6379', new Error('WRONGPASS invalid username-password pair')));
    expect(calls).toEqual(['placement.setLastError AuthError', 'placement.setFatal AuthError', 'engine.failHeld AuthError', 'host.discoveryFailed AuthError true']);
  });

  it("the master's data connection closed: reconnecting; when it is back, ready only once a refresh confirms it is still the master", () => {
    const { reactions, calls } = parts();
    reactions.onClose(node('127.0.0.1:6379', false), 'data');
    expect(calls).toEqual(['placement.syncReadiness', 'host.reconnecting', 'coordinator.signal data connection to 127.0.0.1:6379 closed']);
    calls.length = 0;
    reactions.onReady(node('127.0.0.1:6379', true));
    expect(calls).toEqual(['placement.syncReadiness', 'manager.request 127.0.0.1:6379 reconnected', 'engine.drain']);
    calls.length = 0;
    // A replica's connection: nothing for the facade's status.
    reactions.onReady(node('127.0.0.1:6380', true));
    expect(calls).toEqual(['placement.syncReadiness', 'engine.drain']);
  });

  it('before a promotion, the old master gets nothing more and its connections go', () => {
    const { reactions, calls } = parts();
    reactions.beforePromote('127.0.0.1:6379');
    expect(calls).toEqual(['placement.dropMaster 127.0.0.1:6379']);
  });
});
