import type { ReplicationInfo } from '../topology/info-parser.js';
import { replicationToNodeState } from '../topology/info-parser.js';
import type { Address, NodeState } from '../topology/types.js';
import { assignZones, type ZoneOf } from '../topology/zones.js';
import type { ClusterNodeEntry, ClusterShardEntry } from './shards.js';
import { SLOT_COUNT } from './slot.js';

export interface ClusterShardState {
  slots: Array<[number, number]>;
  master: NodeState | null;
  replicas: NodeState[];
}

export interface ClusterTopology {
  source: 'cluster';
  shards: ClusterShardState[];
}

/** No shard serves the slot. */
export const UNCOVERED = 0xffff;

/**
 * The picture from `CLUSTER SHARDS` and each node's `INFO replication` (null: it did not answer),
 * with the nodes' zones from the `zones` option.
 * Pure. A node the cluster marks failed, or that did not answer, is `up: false`.
 */
export function assembleClusterTopology(
  shards: readonly ClusterShardEntry[],
  infos: ReadonlyMap<Address, { info: ReplicationInfo; latencyMs: number } | null>,
  zoneOf: ZoneOf | null = null,
): ClusterTopology {
  return {
    source: 'cluster',
    // Shards without slots stay in the picture: a failed old master shows there (down) until it
    // rejoins as a replica; routing never sends there (no slot maps to them).
    shards: shards.map((s) => {
        const master = s.master ? nodeState(s.master, infos.get(s.master.address) ?? null, null) : null;
        return assignZones(
          {
            slots: s.slots.map(([a, b]) => [a, b] as [number, number]),
            master,
            replicas: s.replicas.map((r) => nodeState(r, infos.get(r.address) ?? null, master)),
          },
          zoneOf,
        );
    }),
  };
}

function nodeState(entry: ClusterNodeEntry, answer: { info: ReplicationInfo; latencyMs: number } | null, master: NodeState | null): NodeState {
  if (answer === null) {
    return {
      address: entry.address, host: entry.host, port: entry.port, role: entry.role, up: false,
      offset: entry.offset ?? 0, lagBytes: 0, lagSeconds: null, linkStatus: entry.role === 'replica' ? 'down' : null,
      lastIoSecondsAgo: null, priority: null, latencyMs: null, masterAddress: null, loading: entry.health === 'loading',
      syncing: false, replid: null, runId: null, zone: null,
    };
  }
  const node = replicationToNodeState(entry.address, entry.host, entry.port, answer.info, answer.latencyMs);
  node.up = entry.health !== 'failed';
  if (entry.health === 'loading') node.loading = true;
  if (master !== null && node.role === 'replica') node.lagBytes = Math.max(0, master.offset - node.offset);
  return node;
}

/** slot → index into `shards` (UNCOVERED when none serves it). */
export function slotTable(topology: ClusterTopology): Uint16Array {
  const table = new Uint16Array(SLOT_COUNT).fill(UNCOVERED);
  topology.shards.forEach((s, i) => {
    if (s.master === null) return;
    for (const [a, b] of s.slots) table.fill(i, a, b + 1);
  });
  return table;
}

/** The slots no shard with a master serves, as ranges (empty when the cluster covers them all). */
export function uncoveredRanges(table: Uint16Array): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let start = -1;
  for (let i = 0; i <= table.length; i++) {
    const gap = i < table.length && table[i] === UNCOVERED;
    if (gap && start < 0) start = i;
    if (!gap && start >= 0) {
      out.push([start, i - 1]);
      start = -1;
    }
  }
  return out;
}

/**
 * `failover.assist`: the replica to ask for `CLUSTER FAILOVER FORCE`, or null. Only a replica that
 * is up and reports its own link to the master down (the witness rule), highest offset first,
 * then lowest address, so every client picks the same one. Pure.
 */
export function assistCandidate(shard: ClusterShardState): NodeState | null {
  const witnesses = shard.replicas.filter((r) => r.up && r.role === 'replica' && r.linkStatus === 'down' && r.priority !== 0);
  witnesses.sort((a, b) => b.offset - a.offset || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return witnesses[0] ?? null;
}
