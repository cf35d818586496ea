import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseClusterShards } from '../../src/cluster/shards.js';
import { assembleClusterTopology } from '../../src/cluster/topology.js';
import { buildRoutingTable, eligibleReplicas, resolveLag } from '../../src/routing/router.js';
import { parseInfoReplication } from '../../src/topology/info-parser.js';
import type { Topology } from '../../src/topology/types.js';
import { nodeState } from '../helpers/topology.js';

// Which replicas may serve reads: one rule (`replicaIneligibility`), applied alike to
// FailoverRedis's replica set (`buildRoutingTable`) and to each shard of a FailoverCluster's
// picture (assembled from CLUSTER SHARDS and each node's INFO replication).

const lag = resolveLag({ bytes: 1000 });

/** How a replica differs from a healthy one: its INFO replication fields, or no answer at all. */
interface Case {
  name: string;
  info: { link?: 'up' | 'down'; offset?: number; masterHost?: string; masterPort?: number; syncing?: boolean } | null;
  /** The cluster marks it so in CLUSTER SHARDS. */
  health?: 'loading' | 'failed';
  masterDown?: boolean;
  eligible: boolean;
}

const cases: Case[] = [
  { name: 'healthy', info: {}, eligible: true },
  { name: 'down (no answer)', info: null, eligible: false },
  { name: 'down (the cluster marks it failed)', info: {}, health: 'failed', eligible: false },
  { name: 'loading', info: {}, health: 'loading', eligible: false },
  { name: 'syncing', info: { syncing: true }, eligible: false },
  { name: 'link to a live master down', info: { link: 'down' }, eligible: false },
  { name: 'link down while the master itself is down: cut off alike, still the best there is', info: { link: 'down' }, masterDown: true, eligible: true },
  { name: 'lagging past maxReplicaLag.bytes', info: { offset: 100_000 - 1001 }, eligible: false },
  { name: 'within maxReplicaLag.bytes', info: { offset: 100_000 - 1000 }, eligible: true },
  { name: 'following another node', info: { masterHost: '127.0.0.1', masterPort: 1 }, eligible: false },
];

function replicaInfo(master: { host: string; port: number }, c: NonNullable<Case['info']>): string {
  return [
    '# Replication',
    'role:slave',
    `master_host:${c.masterHost ?? master.host}`,
    `master_port:${c.masterPort ?? master.port}`,
    `master_link_status:${c.link ?? 'up'}`,
    `master_sync_in_progress:${c.syncing ? 1 : 0}`,
    `slave_repl_offset:${c.offset ?? 100_000}`,
    'slave_priority:100',
    '',
  ].join('\r\n');
}

/** The first shard of a captured healthy cluster, its replica changed as `c` says. */
function clusterShard(c: Case) {
  const shards = parseClusterShards(JSON.parse(readFileSync(new URL('../fixtures/cluster/healthy-shards.resp2.json', import.meta.url), 'utf8')), '127.0.0.1');
  const shard = shards[0]!;
  const master = shard.master!;
  const replica = shard.replicas[0]!;
  if (c.health !== undefined) replica.health = c.health;
  const infos = new Map();
  if (!c.masterDown) infos.set(master.address, { info: parseInfoReplication('# Replication\r\nrole:master\r\nconnected_slaves:1\r\nmaster_repl_offset:100000\r\n'), latencyMs: 1 });
  if (c.info !== null) infos.set(replica.address, { info: parseInfoReplication(replicaInfo(master, c.info)), latencyMs: 1 });
  return assembleClusterTopology([shard], infos).shards[0]!;
}

/** A replica set with the same replica: the NodeState FailoverRedis's topology would hold. */
function replicaSet(c: Case): Topology {
  const master = nodeState(6379, { role: 'master', linkStatus: null, masterAddress: null, offset: 100_000, up: !c.masterDown });
  const i = c.info ?? {};
  const replica = nodeState(6380, {
    up: c.info !== null && c.health !== 'failed',
    loading: c.health === 'loading',
    syncing: i.syncing === true,
    linkStatus: i.link ?? 'up',
    masterAddress: i.masterHost !== undefined ? `${i.masterHost}:${i.masterPort}` : master.address,
    offset: i.offset ?? 100_000,
    lagBytes: 100_000 - (i.offset ?? 100_000),
  });
  return { source: 'nodes', master, replicas: [replica] };
}

describe('which replicas may serve reads: one rule for both clients', () => {
  it.each(cases)('$name → eligible: $eligible', (c) => {
    const shard = clusterShard(c);
    expect(eligibleReplicas(shard.replicas, shard.master, lag).length === 1).toBe(c.eligible);
    expect(buildRoutingTable(replicaSet(c), lag).replicas.length === 1).toBe(c.eligible);
  });

  it('orders what it keeps by address', () => {
    const master = nodeState(6379, { role: 'master', linkStatus: null, masterAddress: null });
    const replicas = [nodeState(6382), nodeState(6380), nodeState(6381, { up: false })];
    expect(eligibleReplicas(replicas, master, resolveLag(undefined)).map((r) => r.port)).toEqual([6380, 6382]);
  });
});
