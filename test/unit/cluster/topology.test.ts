import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseClusterShards } from '../../../src/cluster/shards.js';
import { assembleClusterTopology, assistCandidate, slotTable, uncoveredRanges, UNCOVERED } from '../../../src/cluster/topology.js';
import { eligibleReplicas, resolveLag } from '../../../src/routing/router.js';
import { parseInfoReplication } from '../../../src/topology/info-parser.js';

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../fixtures/cluster/${name}`, import.meta.url), 'utf8')) as unknown;

const replicaInfo = (master: string, link: 'up' | 'down', offset: number): string =>
  [`# Replication`, `role:slave`, `master_host:${master.split(':')[0]}`, `master_port:${master.split(':')[1]}`, `master_link_status:${link}`, `slave_repl_offset:${offset}`, `slave_priority:100`, ''].join('\r\n');
const masterInfo = (offset: number): string => ['# Replication', 'role:master', 'connected_slaves:1', `master_repl_offset:${offset}`, ''].join('\r\n');

describe('assembleClusterTopology', () => {
  it('builds shards with NodeStates from CLUSTER SHARDS and INFO replication', () => {
    const shards = parseClusterShards(fixture('healthy-shards.resp2.json'), '127.0.0.1');
    const infos = new Map();
    for (const s of shards) {
      infos.set(s.master!.address, { info: parseInfoReplication(masterInfo(1000)), latencyMs: 1 });
      for (const r of s.replicas) infos.set(r.address, { info: parseInfoReplication(replicaInfo(s.master!.address, 'up', 900)), latencyMs: 2 });
    }
    const t = assembleClusterTopology(shards, infos);
    expect(t.source).toBe('cluster');
    expect(t.shards).toHaveLength(shards.length);
    const first = t.shards[0]!;
    expect(first.master).toMatchObject({ role: 'master', up: true, offset: 1000 });
    expect(first.replicas[0]).toMatchObject({ role: 'replica', up: true, linkStatus: 'up', offset: 900, lagBytes: 100, latencyMs: 2 });
    expect(eligibleReplicas(first.replicas, first.master, resolveLag(undefined))).toHaveLength(first.replicas.length);
    expect(uncoveredRanges(slotTable(t))).toEqual([]);
  });

  it('a node that did not answer, or that the cluster marks failed, is down and takes no reads', () => {
    const shards = parseClusterShards(fixture('master-failed-shards.resp2.json'), '127.0.0.1');
    const t = assembleClusterTopology(shards, new Map());
    for (const s of t.shards) {
      expect(s.master?.up).toBe(false);
      expect(eligibleReplicas(s.replicas, s.master, resolveLag(undefined))).toEqual([]);
    }
  });
});

describe('slotTable and uncoveredRanges', () => {
  it('maps every slot to its shard, and reports the gaps', () => {
    const node = { address: 'a:1' } as never;
    const t = { source: 'cluster' as const, shards: [{ slots: [[0, 99], [200, 16383]] as Array<[number, number]>, master: node, replicas: [] }] };
    const table = slotTable(t);
    expect(table[0]).toBe(0);
    expect(table[150]).toBe(UNCOVERED);
    expect(uncoveredRanges(table)).toEqual([[100, 199]]);
    expect(uncoveredRanges(slotTable({ source: 'cluster', shards: [] }))).toEqual([[0, 16383]]);
  });
});

describe('assistCandidate (failover.assist)', () => {
  const replica = (address: string, link: 'up' | 'down', offset: number, priority = 100) =>
    ({ address, role: 'replica', up: true, linkStatus: link, offset, priority }) as never;
  it('only a replica that reports its link down; highest offset, then lowest address', () => {
    expect(assistCandidate({ slots: [], master: null, replicas: [replica('b:1', 'up', 10)] })).toBeNull();
    expect(assistCandidate({ slots: [], master: null, replicas: [replica('b:1', 'down', 10), replica('a:1', 'down', 10), replica('c:1', 'down', 5)] })).toMatchObject({ address: 'a:1' });
    expect(assistCandidate({ slots: [], master: null, replicas: [replica('b:1', 'down', 10), replica('c:1', 'down', 50)] })).toMatchObject({ address: 'c:1' });
    expect(assistCandidate({ slots: [], master: null, replicas: [replica('b:1', 'down', 10, 0)] })).toBeNull();
  });
});

describe('assessClusterHealth', () => {
  it('healthy, or one line per problem', async () => {
    const { assessClusterHealth } = await import('../../../src/cluster/health.js');
    const node = (address: string, role: 'master' | 'replica', extra: object = {}) =>
      ({ address, role, up: true, linkStatus: role === 'replica' ? 'up' : null, syncing: false, lagBytes: 0, ...extra }) as never;
    const healthy = { source: 'cluster' as const, shards: [{ slots: [[0, 16383]] as Array<[number, number]>, master: node('m:1', 'master'), replicas: [node('r:1', 'replica')] }] };
    expect(assessClusterHealth(healthy, { lagBytes: 100 })).toEqual({ status: 'healthy', problems: [] });
    const sick = {
      source: 'cluster' as const,
      shards: [
        { slots: [[0, 8191]] as Array<[number, number]>, master: node('m:1', 'master'), replicas: [node('r:1', 'replica', { linkStatus: 'down' }), node('r:2', 'replica', { lagBytes: 500 })] },
        { slots: [] as Array<[number, number]>, master: node('old:1', 'master', { up: false }), replicas: [] },
      ],
    };
    const h = assessClusterHealth(sick, { lagBytes: 100 });
    expect(h.status).toBe('degraded');
    expect(h.problems).toEqual([
      'slots 8192-16383 are served by no master',
      'shard 0-8191: replica r:1 has its link to the master down',
      'shard 0-8191: replica r:2 is 500 bytes behind',
      'old:1 (a master without slots: a failed old master?) is down',
    ]);
  });
});
