import { describe, expect, it } from 'vitest';
import { parseReadFrom } from '../../src/routing/read-policy.js';
import { replicaIneligibility, resolveLag } from '../../src/routing/router.js';
import type { NodeState } from '../../src/topology/types.js';
import { nodeState } from '../helpers/topology.js';

const node = (port: number, patch: Partial<NodeState> = {}): NodeState => nodeState(port, { latencyMs: 1, replid: 'x', ...patch }, '10.0.0.1');

const master = node(6379, { role: 'master', linkStatus: null, masterAddress: null });
const noLag = resolveLag(undefined);

describe('replica eligibility', () => {
  it.each([
    [{ up: false }, 'down'],
    [{ loading: true }, 'loading'],
    [{ syncing: true }, 'syncing'],
    [{ linkStatus: 'down' as const }, 'link to master down'],
    [{ linkStatus: null }, 'link to master down'],
    [{ masterAddress: '10.0.0.1:7000' }, 'follows 10.0.0.1:7000, not the master'],
    [{ role: 'master' as const }, 'role master'],
  ])('%j gets no reads (%s)', (patch, reason) => {
    expect(replicaIneligibility(node(6380, patch), master, noLag)).toBe(reason);
  });

  it('still reads from replicas cut off from a master that is itself down', () => {
    expect(replicaIneligibility(node(6380, { linkStatus: 'down' }), { ...master, up: false }, noLag)).toBeNull();
  });

  it('applies maxReplicaLag.bytes from the topology (ms is judged from fresh samples elsewhere)', () => {
    const lag = resolveLag({ bytes: 100, ms: 1500 });
    expect(replicaIneligibility(node(6380, { lagBytes: 100 }), master, lag)).toBeNull();
    expect(replicaIneligibility(node(6380, { lagBytes: 101 }), master, lag)).toBe('101 bytes behind');
    expect(replicaIneligibility(node(6380, { lagSeconds: 1 }), master, lag)).toBeNull();
  });
});

describe('parseReadFrom', () => {
  it('accepts every name, case-insensitively, and aliases', () => {
    for (const name of ['master', 'masterPreferred', 'replica', 'replicaPreferred', 'nearest', 'any']) {
      expect(parseReadFrom(name).name).toBe(name);
      expect(parseReadFrom(name.toUpperCase()).name).toBe(name);
    }
    expect(parseReadFrom('REPLICA_PREFERRED').name).toBe('replicaPreferred');
    expect(parseReadFrom('primary').name).toBe('master');
  });

  it('names the option and the choices when the value is unknown', () => {
    expect(() => parseReadFrom('replicas')).toThrow(/Invalid option "readFrom".*"replicas".*replicaPreferred/);
  });
});
