import { describe, expect, it } from 'vitest';
import { NoReplicaError } from '../../src/errors.js';
import { parseReadFrom } from '../../src/routing/read-policy.js';
import { buildRoutingTable, chooseReadNode, replicaIneligibility, resolveLag } from '../../src/routing/router.js';
import type { NodeState, Topology } from '../../src/topology/types.js';
import { nodeState } from '../helpers/topology.js';

const node = (port: number, patch: Partial<NodeState> = {}): NodeState => nodeState(port, { latencyMs: 1, replid: 'x', ...patch }, '10.0.0.1');

const master = node(6379, { role: 'master', linkStatus: null, masterAddress: null });
const topology = (replicas: NodeState[]): Topology => ({ master, replicas, source: 'nodes' });
const all = () => true;
const noLag = resolveLag(undefined);

function spread(policy: string, table = buildRoutingTable(topology([node(6380), node(6381)]), noLag), reads = 300) {
  const counts = new Map<string, number>();
  for (let i = 0; i < reads; i++) {
    const chosen = chooseReadNode(parseReadFrom(policy), table, all, i);
    const key = chosen?.address ?? 'master';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return Object.fromEntries(counts);
}

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

describe('chooseReadNode', () => {
  it('spreads replicaPreferred reads evenly over the replicas (round robin)', () => {
    expect(spread('replicaPreferred')).toEqual({ '10.0.0.1:6380': 150, '10.0.0.1:6381': 150 });
  });

  it('spreads within ±10% over 300 reads with three replicas', () => {
    const table = buildRoutingTable(topology([node(6380), node(6381), node(6382)]), noLag);
    for (const count of Object.values(spread('replica', table))) expect(Math.abs(count - 100)).toBeLessThanOrEqual(10);
  });

  it('sends master reads to the master', () => {
    expect(spread('master')).toEqual({ master: 300 });
  });

  it('any: master and replicas share', () => {
    expect(spread('any')).toEqual({ master: 100, '10.0.0.1:6380': 100, '10.0.0.1:6381': 100 });
  });

  it('masterPreferred uses a replica only when the master is not ready', () => {
    const table = buildRoutingTable(topology([node(6380)]), noLag);
    expect(chooseReadNode(parseReadFrom('masterPreferred'), table, all, 0)).toBeNull();
    const masterDown = (n: NodeState) => n.address !== master.address;
    expect(chooseReadNode(parseReadFrom('masterPreferred'), table, masterDown, 0)?.port).toBe(6380);
  });

  it('nearest picks the lowest latency, sharing between equals', () => {
    const table = buildRoutingTable(topology([node(6380, { latencyMs: 5 }), node(6381, { latencyMs: 0.2 })]), noLag);
    expect(chooseReadNode(parseReadFrom('nearest'), table, all, 0)?.port).toBe(6381);
    const equal = buildRoutingTable(topology([node(6380, { latencyMs: 0.5 }), node(6381, { latencyMs: 0.5 })]), noLag);
    expect(spread('nearest', equal)).toEqual({ '10.0.0.1:6380': 150, '10.0.0.1:6381': 150 });
  });

  it('falls back to the master for replicaPreferred, rejects at once for replica', () => {
    const table = buildRoutingTable(topology([node(6380, { up: false }), node(6381, { syncing: true })]), noLag);
    expect(table.replicas).toEqual([]);
    expect(chooseReadNode(parseReadFrom('replicaPreferred'), table, all, 0)).toBeNull();
    expect(() => chooseReadNode(parseReadFrom('replica'), table, all, 0)).toThrow(NoReplicaError);
  });

  it('skips replicas whose connection is not ready', () => {
    const table = buildRoutingTable(topology([node(6380), node(6381)]), noLag);
    const only6381 = (n: NodeState) => n.port === 6381;
    for (let i = 0; i < 10; i++) expect(chooseReadNode(parseReadFrom('replica'), table, only6381, i)?.port).toBe(6381);
  });

  it('asks a custom policy among the eligible replicas', () => {
    const table = buildRoutingTable(topology([node(6380), node(6381), node(6382, { up: false })]), noLag);
    let seen: number[] = [];
    const policy = parseReadFrom((candidates: readonly NodeState[]) => {
      seen = candidates.map((c) => c.port);
      return candidates[candidates.length - 1];
    });
    expect(chooseReadNode(policy, table, all, 0)?.port).toBe(6381);
    expect(seen).toEqual([6380, 6381]);
    expect(chooseReadNode(parseReadFrom(() => undefined), table, all, 0)).toBeNull();
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
