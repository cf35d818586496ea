import { describe, expect, it } from 'vitest';
import { assembleTopology } from '../../src/topology/assemble.js';
import { assessHealth, pendingConvergence, replicationChanges, type HealthCode } from '../../src/topology/health.js';
import type { NodeState, Topology } from '../../src/topology/types.js';
import { nodeState, probe } from '../helpers/topology.js';

/** The runbook's pictures (real INFO replication replies, in order), as the library assembles them. */
const runbook = {
  masterDead: () => assembleTopology([probe(6379, null), probe(6380, 'replica-link-down-a'), probe(6381, 'replica-link-down-b')], null, 'nodes'),
  promoted: () => assembleTopology([probe(6379, null), probe(6380, 'replica-of-promoted'), probe(6381, 'promoted-with-one-replica')], null, 'nodes'),
  oldMasterBack: () =>
    assembleTopology([probe(6379, 'restarted-old-master'), probe(6380, 'replica-of-promoted'), probe(6381, 'promoted-with-one-replica')], null, 'nodes'),
  final: () => assembleTopology([probe(6379, 'old-master-rejoined'), probe(6380, 'replica-of-promoted'), probe(6381, 'promoted-with-two-replicas')], null, 'nodes'),
};

const codes = (t: Topology, limits = {}) => assessHealth(t, limits).warnings.map((w) => [w.code, w.address] as [HealthCode, string | null]);

const node = (port: number, patch: Partial<NodeState> = {}): NodeState => nodeState(port, patch);

/** A healthy set (master 6379, replicas 6380 and 6381) with patches on the replicas. */
function set(r6380: Partial<NodeState> = {}, r6381: Partial<NodeState> = {}, master: Partial<NodeState> = {}): Topology {
  return {
    master: node(6379, { role: 'master', masterAddress: null, linkStatus: null, lagSeconds: null, lastIoSecondsAgo: null, priority: null, ...master }),
    replicas: [node(6380, r6380), node(6381, r6381)],
    source: 'nodes',
  };
}

describe('assessHealth on the runbook, step by step', () => {
  it('the final picture is healthy; the master has 2 connected replicas', () => {
    const health = assessHealth(runbook.final());
    expect(health.status).toBe('healthy');
    expect(health.warnings).toEqual([]);
    expect(health.master).toBe('127.0.0.1:6381');
    expect(health.nodes.map((n) => [n.node.address, n.isMaster, n.connectedReplicas])).toEqual([
      ['127.0.0.1:6381', true, 2],
      ['127.0.0.1:6379', false, 0],
      ['127.0.0.1:6380', false, 0],
    ]);
  });

  it('master killed: the master is down (critical), both replicas have their link down', () => {
    const health = assessHealth(runbook.masterDead());
    expect(health.status).toBe('degraded');
    expect(codes(runbook.masterDead())).toEqual([
      ['MASTER_DOWN', '127.0.0.1:6379'],
      ['LINK_DOWN', '127.0.0.1:6380'],
      ['LINK_DOWN', '127.0.0.1:6381'],
    ]);
    expect(health.warnings[0]!.severity).toBe('critical');
    expect(health.nodes[0]).toMatchObject({ isMaster: true, connectedReplicas: null });
  });

  it('after the promotion, the old master is down', () => {
    expect(codes(runbook.promoted())).toEqual([['NODE_DOWN', '127.0.0.1:6379']]);
  });

  it('the old master back as a master: two masters (critical)', () => {
    const health = assessHealth(runbook.oldMasterBack());
    expect(health.warnings).toEqual([
      expect.objectContaining({ code: 'TWO_MASTERS', severity: 'critical', address: '127.0.0.1:6379', message: expect.stringContaining('the master is 127.0.0.1:6381') }),
    ]);
    expect(health.nodes.find((n) => n.node.port === 6379)!.codes).toEqual(['TWO_MASTERS']);
  });

  it('a promotion half done: a replica still follows the dead master, which is not the master', () => {
    const t = assembleTopology([probe(6379, null), probe(6380, 'replica-link-down-a'), probe(6381, 'promoted-replica')], null, 'nodes');
    expect(t.master?.address).toBe('127.0.0.1:6381');
    expect(codes(t)).toEqual([
      ['NODE_DOWN', '127.0.0.1:6379'],
      ['WRONG_MASTER', '127.0.0.1:6380'],
      ['LINK_DOWN', '127.0.0.1:6380'],
      ['NO_HEALTHY_REPLICA', '127.0.0.1:6381'],
    ]);
    expect(assessHealth(t).warnings[1]!.message).toBe('127.0.0.1:6380 follows 127.0.0.1:6379, which is not the master (127.0.0.1:6381)');
  });
});

describe('assessHealth, case by case', () => {
  it('lagging: past the byte limit, or past the seconds limit (defaults 1 MiB and 10 s, or given)', () => {
    expect(codes(set({ lagBytes: 1_048_576 }))).toEqual([]);
    expect(codes(set({ lagBytes: 1_048_577 }))).toEqual([['LAGGING', '127.0.0.1:6380']]);
    expect(codes(set({}, { lagSeconds: 11 }))).toEqual([['LAGGING', '127.0.0.1:6381']]);
    expect(codes(set({ lagBytes: 500 }), { lagBytes: 100 })).toEqual([['LAGGING', '127.0.0.1:6380']]);
    expect(assessHealth(set({ lagBytes: 2_000_000, lagSeconds: 12 })).warnings[0]!.message).toContain('2000000 bytes and 12 s behind');
  });

  it('syncing is reported as such, not as a link down; loading too', () => {
    expect(codes(set({ syncing: true, linkStatus: 'down' }))).toEqual([['SYNCING', '127.0.0.1:6380']]);
    expect(codes(set({}, { loading: true }))).toEqual([['LOADING', '127.0.0.1:6381']]);
  });

  it('a replica lagging behind a node that is not the master is a wrong master, not lag', () => {
    expect(codes(set({ masterAddress: '127.0.0.1:6381', lagBytes: 5_000_000 }))).toEqual([['WRONG_MASTER', '127.0.0.1:6380']]);
  });

  it('no master at all', () => {
    const t: Topology = { master: null, replicas: [node(6380, { masterAddress: null })], source: 'nodes' };
    expect(codes(t)).toEqual([['NO_MASTER', null]]);
  });

  it('the master Sentinel names still says replica: a failover half-way', () => {
    expect(codes(set({}, {}, { role: 'replica' }))).toContainEqual(['MASTER_NOT_PROMOTED', '127.0.0.1:6379']);
  });

  it('no replica in sync, or none promotable', () => {
    expect(codes(set({ up: false }, { linkStatus: 'down' }))).toEqual([
      ['NODE_DOWN', '127.0.0.1:6380'],
      ['LINK_DOWN', '127.0.0.1:6381'],
      ['NO_HEALTHY_REPLICA', '127.0.0.1:6379'],
    ]);
    expect(codes(set({ priority: 0 }, { priority: 0 }))).toEqual([['NO_PROMOTABLE_REPLICA', '127.0.0.1:6379']]);
    expect(codes(set({ priority: 0 }))).toEqual([]);
  });

  it('lists the master first, then the others by address (ports as numbers)', () => {
    const t: Topology = { ...set(), replicas: [node(10000), node(6381), node(9000)] };
    expect(assessHealth(t).nodes.map((n) => n.node.port)).toEqual([6379, 6381, 9000, 10000]);
  });
});

describe('replicationChanges', () => {
  it('the runbook, picture to picture: down, promoted, repointed, back as a master, demoted', () => {
    const [dead, promoted, back, final] = [runbook.masterDead(), runbook.promoted(), runbook.oldMasterBack(), runbook.final()];
    expect(replicationChanges(dead, promoted)).toEqual([
      { type: 'master-change', from: '127.0.0.1:6379', to: '127.0.0.1:6381' },
      { type: 'repointed', address: '127.0.0.1:6380', from: '127.0.0.1:6379', to: '127.0.0.1:6381' },
      { type: 'role-change', address: '127.0.0.1:6381', from: 'replica', to: 'master' },
    ]);
    // Down, 6379's role was unknown (the assembler lists it as a replica); back, it says master.
    expect(replicationChanges(promoted, back)).toEqual([
      { type: 'node-up', address: '127.0.0.1:6379' },
      { type: 'role-change', address: '127.0.0.1:6379', from: 'replica', to: 'master' },
    ]);
    expect(replicationChanges(back, final)).toEqual([
      { type: 'role-change', address: '127.0.0.1:6379', from: 'master', to: 'replica' },
      { type: 'repointed', address: '127.0.0.1:6379', from: null, to: '127.0.0.1:6381' },
    ]);
  });

  it('a replica link going down and up again', () => {
    expect(replicationChanges(set(), set({ linkStatus: 'down' }))).toEqual([{ type: 'link-change', address: '127.0.0.1:6380', from: 'up', to: 'down' }]);
    expect(replicationChanges(set({ linkStatus: 'down' }), set())).toEqual([{ type: 'link-change', address: '127.0.0.1:6380', from: 'down', to: 'up' }]);
  });

  it('a demotion: the role change and the new master, each node in address order', () => {
    const before = set({}, { role: 'master', masterAddress: null, linkStatus: null });
    expect(replicationChanges(before, set())).toEqual([
      { type: 'role-change', address: '127.0.0.1:6381', from: 'master', to: 'replica' },
      { type: 'repointed', address: '127.0.0.1:6381', from: null, to: '127.0.0.1:6379' },
    ]);
  });

  it('a member that does not answer has no known role: no role change is reported for it', () => {
    const after = set({ up: false, role: 'unknown' });
    expect(replicationChanges(set(), after)).toEqual([{ type: 'node-down', address: '127.0.0.1:6380' }]);
  });

  it('the first picture: every node added; offsets alone change nothing', () => {
    expect(replicationChanges(null, set()).map((c) => c.type)).toEqual(['master-change', 'node-added', 'node-added', 'node-added']);
    expect(replicationChanges(set(), set({ offset: 5000, lagBytes: 10, lagSeconds: 3 }))).toEqual([]);
  });
});

describe('pendingConvergence', () => {
  it('done when the master is the one named and every reachable member follows it, link up', () => {
    expect(pendingConvergence(runbook.final(), '127.0.0.1:6381')).toEqual([]);
    // The old master is down: it cannot be repointed until it returns, so it does not hold anything up…
    expect(pendingConvergence(runbook.promoted(), '127.0.0.1:6381')).toEqual([]);
    // …unless it is one of the members that must follow.
    expect(pendingConvergence(runbook.promoted(), '127.0.0.1:6381', ['127.0.0.1:6379'])).toEqual(['127.0.0.1:6379 does not answer']);
  });

  it('says what is missing', () => {
    expect(pendingConvergence(runbook.oldMasterBack(), '127.0.0.1:6381')).toEqual(['127.0.0.1:6379 still reports role:master']);
    expect(pendingConvergence(runbook.final(), '127.0.0.1:6380')).toEqual([
      'the master is 127.0.0.1:6381, not 127.0.0.1:6380',
      '127.0.0.1:6380 still reports role:replica',
      '127.0.0.1:6381 still reports role:master',
      '127.0.0.1:6379 follows 127.0.0.1:6381',
    ]);
    expect(pendingConvergence(set({ syncing: true }, { linkStatus: 'down' }), '127.0.0.1:6379')).toEqual([
      '127.0.0.1:6380 is still syncing',
      '127.0.0.1:6381: link to 127.0.0.1:6379 is down',
    ]);
    expect(pendingConvergence(set(), '127.0.0.1:6379', ['127.0.0.1:7000'])).toEqual(['127.0.0.1:7000 is not a known member']);
  });

  it('only the members named', () => {
    expect(pendingConvergence(set({ linkStatus: 'down' }), '127.0.0.1:6379', ['127.0.0.1:6381'])).toEqual([]);
  });
});

describe('a master without replicas', () => {
  it('says so plainly: writes on it alone, fencing, min-replicas-to-write', () => {
    const t = set({ up: false }, { linkStatus: 'down' });
    const warning = assessHealth(t).warnings.find((w) => w.code === 'NO_HEALTHY_REPLICA')!;
    expect(warning.message).toContain('master 127.0.0.1:6379 has no connected replica');
    expect(warning.message).toContain('exists on it alone');
    expect(warning.message).toContain('min-replicas-to-write');
    expect(assessHealth(t).nodes[0]!.connectedReplicas).toBe(0);
  });
});
