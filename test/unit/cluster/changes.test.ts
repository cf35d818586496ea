import { describe, expect, it } from 'vitest';
import { clusterChanges, failoverEvent } from '../../../src/cluster/changes.js';
import type { ClusterTopology } from '../../../src/cluster/topology.js';
import type { NodeState } from '../../../src/topology/types.js';

function node(address: string, role: 'master' | 'replica', up = true): NodeState {
  const [host, port] = address.split(':');
  return {
    address, host: host!, port: Number(port), role, up, offset: 0, lagBytes: 0, lagSeconds: null,
    linkStatus: role === 'replica' ? 'up' : null, lastIoSecondsAgo: null, priority: null, latencyMs: null,
    masterAddress: null, loading: false, syncing: false, replid: null, runId: null, zone: null,
  };
}

const before: ClusterTopology = {
  source: 'cluster',
  shards: [
    { slots: [[0, 8191]], master: node('a:1', 'master'), replicas: [node('a:2', 'replica')] },
    { slots: [[8192, 16383]], master: node('b:1', 'master'), replicas: [node('b:2', 'replica')] },
  ],
};

describe('clusterChanges', () => {
  it('nothing changed: nothing reported', () => {
    expect(clusterChanges(before, structuredClone(before))).toEqual({ failovers: [], nodesDown: [], nodesUp: [], roles: [] });
  });

  it('the master dies: node-down, then the promotion (failover and role change), then the old master rejoins as a replica', () => {
    const dead: ClusterTopology = structuredClone(before);
    dead.shards[0]!.master!.up = false;
    expect(clusterChanges(before, dead)).toEqual({ failovers: [], nodesDown: [{ address: 'a:1', role: 'master' }], nodesUp: [], roles: [] });

    // CLUSTER SHARDS after the election: the old master is left in a shard of its own, without slots.
    const promoted: ClusterTopology = {
      source: 'cluster',
      shards: [
        { slots: [[0, 8191]], master: node('a:2', 'master'), replicas: [] },
        before.shards[1]!,
        { slots: [], master: node('a:1', 'master', false), replicas: [] },
      ],
    };
    expect(clusterChanges(dead, promoted)).toEqual({
      failovers: [{ from: 'a:1', to: 'a:2' }],
      nodesDown: [],
      nodesUp: [],
      roles: [{ address: 'a:2', from: 'replica', to: 'master' }],
    });

    const rejoined: ClusterTopology = structuredClone(promoted);
    rejoined.shards[0]!.replicas = [node('a:1', 'replica')];
    rejoined.shards.pop();
    expect(clusterChanges(promoted, rejoined)).toEqual({
      failovers: [],
      nodesDown: [],
      nodesUp: [{ address: 'a:1', role: 'replica' }],
      roles: [{ address: 'a:1', from: 'master', to: 'replica' }],
    });
  });

  it('slots no master serves any more: a failover to null', () => {
    const lost: ClusterTopology = { source: 'cluster', shards: [{ slots: [[0, 8191]], master: null, replicas: [] }, before.shards[1]!] };
    expect(clusterChanges(before, lost).failovers).toEqual([{ from: 'a:1', to: null }]);
  });
});

describe('failoverEvent', () => {
  const A = '127.0.0.1:7000';
  const B = '127.0.0.1:7003';
  const expected = { from: A, to: B, began: 1000 };

  it('the change a switchover expects is reported as it, timed from its start', () => {
    expect(failoverEvent({ from: A, to: B }, expected, 1500, 1250)).toEqual({ event: { from: A, to: B, reason: 'switchover', durationMs: 250 }, matched: true });
    // Slots seen served by no one mid-move: from is null, and it still matches.
    expect(failoverEvent({ from: null, to: B }, expected, undefined, 1300).event).toEqual({ from: A, to: B, reason: 'switchover', durationMs: 300 });
  });

  it('any other is the cluster failover, timed from when the old master was seen down', () => {
    expect(failoverEvent({ from: A, to: '127.0.0.1:7004' }, expected, 400, 1400)).toEqual({
      event: { from: A, to: '127.0.0.1:7004', reason: 'cluster failover', durationMs: 1000 },
      matched: false,
    });
    expect(failoverEvent({ from: A, to: B }, null, undefined, 1400).event.durationMs).toBe(0);
  });
});
