import { describe, expect, it } from 'vitest';
import { compareAddresses, diffTopology } from '../../src/topology/diff.js';
import type { TopologyChange } from '../../src/topology/diff.js';
import type { NodeRole, NodeState, Topology } from '../../src/topology/types.js';

const node = (port: number, role: NodeRole, up = true, extra: Partial<NodeState> = {}): NodeState => ({
  address: `127.0.0.1:${port}`,
  host: '127.0.0.1',
  port,
  role,
  up,
  offset: 0,
  lagBytes: 0,
  lagSeconds: null,
  linkStatus: role === 'replica' ? 'up' : null,
  priority: role === 'replica' ? 100 : null,
  latencyMs: null,
  masterAddress: null,
  loading: false,
  syncing: false,
  replid: null,
  runId: null,
  zone: null,
  lastIoSecondsAgo: null,
  ...extra,
});

const topo = (master: NodeState | null, ...replicas: NodeState[]): Topology => ({ master, replicas, source: 'nodes' });

const M = '127.0.0.1:6379';
const R1 = '127.0.0.1:6380';
const R2 = '127.0.0.1:6381';

// The runbook, as the client in `nodes` mode sees it. A node that stops answering keeps its last
// known role; the old master, once back, sits among the replicas with role master until demoted.
const steps: Array<[string, Topology, TopologyChange[]]> = [
  ['master 6379 with replicas 6380 and 6381', topo(node(6379, 'master'), node(6380, 'replica'), node(6381, 'replica')), []],
  [
    '6379 goes down',
    topo(
      node(6379, 'master', false),
      node(6380, 'replica', true, { linkStatus: 'down', syncing: true }),
      node(6381, 'replica', true, { linkStatus: 'down', syncing: true }),
    ),
    [{ type: 'node-down', address: M }],
  ],
  [
    '6381 promoted, 6380 repointed',
    topo(node(6381, 'master', true, { offset: 2590 }), node(6379, 'master', false), node(6380, 'replica')),
    [
      { type: 'master-change', from: M, to: R2 },
      { type: 'role-change', address: R2, from: 'replica', to: 'master' },
    ],
  ],
  [
    '6379 back as a master',
    topo(node(6381, 'master'), node(6379, 'master', true, { offset: 0 }), node(6380, 'replica')),
    [{ type: 'node-up', address: M }],
  ],
  [
    '6379 rejoined as a replica',
    topo(node(6381, 'master'), node(6380, 'replica'), node(6379, 'replica')),
    [{ type: 'role-change', address: M, from: 'master', to: 'replica' }],
  ],
];

describe('diffTopology through the runbook', () => {
  it('the first picture adds every node and sets the master', () => {
    expect(diffTopology(null, steps[0]![1])).toEqual([
      { type: 'master-change', from: null, to: M },
      { type: 'node-added', address: M },
      { type: 'node-added', address: R1 },
      { type: 'node-added', address: R2 },
    ]);
  });

  it.each(steps.slice(1).map((step, i) => [step[0], steps[i]![1], step[1], step[2]] as const))(
    '%s',
    (_label, before, after, expected) => {
      expect(diffTopology(before, after)).toEqual(expected);
    },
  );

  it('diffing a picture with itself gives nothing', () => {
    for (const [, t] of steps) {
      expect(diffTopology(t, t)).toEqual([]);
      expect(diffTopology(t, structuredClone(t))).toEqual([]);
    }
  });
});

describe('diffTopology', () => {
  it('reports a lost master, then a new one', () => {
    const before = topo(node(6379, 'master'), node(6380, 'replica'));
    const none = topo(null, node(6380, 'replica'));
    expect(diffTopology(before, none)).toEqual([
      { type: 'master-change', from: M, to: null },
      { type: 'node-removed', address: M },
    ]);
    expect(diffTopology(none, topo(node(6380, 'master')))).toEqual([
      { type: 'master-change', from: null, to: R1 },
      { type: 'role-change', address: R1, from: 'replica', to: 'master' },
    ]);
  });

  it('matches nodes by address across the master slot and the replica list', () => {
    // Sentinel promoted 6380: the same three nodes, two of them swapped slots.
    const before = topo(node(6379, 'master'), node(6380, 'replica'), node(6381, 'replica'));
    const after = topo(node(6380, 'master'), node(6381, 'replica'), node(6379, 'replica'));
    expect(diffTopology(before, after)).toEqual([
      { type: 'master-change', from: M, to: R1 },
      { type: 'role-change', address: M, from: 'master', to: 'replica' },
      { type: 'role-change', address: R1, from: 'replica', to: 'master' },
    ]);
  });

  it('orders per-node changes by host, then port as a number, whatever the list order', () => {
    const before = topo(node(6379, 'master'), node(10000, 'replica'), node(6380, 'replica'));
    const after = topo(
      node(6379, 'master'),
      node(6380, 'replica', false),
      { ...node(7000, 'replica'), address: '10.0.0.2:7000', host: '10.0.0.2' },
      node(9000, 'replica'),
    );
    expect(diffTopology(before, after)).toEqual([
      { type: 'node-added', address: '10.0.0.2:7000' },
      { type: 'node-down', address: R1 },
      { type: 'node-added', address: '127.0.0.1:9000' },
      { type: 'node-removed', address: '127.0.0.1:10000' },
    ]);
  });

  it('puts up/down before the role change of the same node', () => {
    const before = topo(node(6379, 'master'), node(6380, 'unknown', false));
    const after = topo(node(6379, 'master'), node(6380, 'replica'));
    expect(diffTopology(before, after)).toEqual([
      { type: 'node-up', address: R1 },
      { type: 'role-change', address: R1, from: 'unknown', to: 'replica' },
    ]);
  });

  it('ignores offsets, lag, latency, link and sync details', () => {
    const before = topo(node(6379, 'master'), node(6380, 'replica'));
    const after = topo(
      node(6379, 'master', true, { offset: 999, latencyMs: 3, replid: 'x' }),
      node(6380, 'replica', true, { offset: 5, lagBytes: 994, lagSeconds: 2, linkStatus: 'down', syncing: true, loading: true, priority: 0 }),
    );
    expect(diffTopology(before, after)).toEqual([]);
  });

  it('lets the master slot win when the master is listed among the replicas too', () => {
    const before = topo(node(6379, 'master'), node(6379, 'replica', false));
    expect(diffTopology(before, topo(node(6379, 'master')))).toEqual([]);
  });

  it('is pure: leaves its inputs as they were', () => {
    const before = steps[1]![1];
    const after = steps[2]![1];
    const copies = structuredClone([before, after]);
    diffTopology(before, after);
    expect([before, after]).toEqual(copies);
  });
});

describe('compareAddresses', () => {
  it('sorts by host, then numeric port; bracketed IPv6 hosts too', () => {
    const sorted = ['127.0.0.1:10000', '[::1]:6379', '127.0.0.1:6379', '10.0.0.1:6379', '[::1]:80'].sort(compareAddresses);
    expect(sorted).toEqual(['10.0.0.1:6379', '127.0.0.1:6379', '127.0.0.1:10000', '[::1]:80', '[::1]:6379']);
  });
});
