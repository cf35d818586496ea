import type { FailoverEvent, NodeEvent, RoleChangeEvent } from '../events.js';
import type { Address } from '../topology/types.js';
import type { ClusterTopology } from './topology.js';

/** What changed between two pictures of a cluster. Plain data; the client turns it into events. */
export interface ClusterChanges {
  /** Slot ranges whose master is now another node (or none): the old master and the new one. */
  failovers: Array<{ from: Address | null; to: Address | null }>;
  /** Nodes in both pictures that went down or came back. */
  nodesDown: NodeEvent[];
  nodesUp: NodeEvent[];
  /** Nodes in both pictures whose role changed (a promoted replica; an old master rejoining as a replica). */
  roles: RoleChangeEvent[];
}

/**
 * Compare two pictures. A shard is followed by its first slot, so a failover (the same slots, a
 * new master) is told apart from a new shard. Pure.
 */
export function clusterChanges(prev: ClusterTopology, next: ClusterTopology): ClusterChanges {
  const changes: ClusterChanges = { failovers: [], nodesDown: [], nodesUp: [], roles: [] };
  const before = new Map(prev.shards.flatMap((s) => [s.master, ...s.replicas]).flatMap((n) => (n ? [[n.address, n] as const] : [])));
  const seen = new Set<Address>();
  for (const shard of next.shards) {
    const first = shard.slots[0]?.[0];
    if (first !== undefined) {
      const old = prev.shards.find((s) => s.slots.some(([a, b]) => a <= first && first <= b));
      const from = old?.master?.address ?? null;
      const to = shard.master?.address ?? null;
      if (from !== to) changes.failovers.push({ from, to });
    }
    for (const n of [shard.master, ...shard.replicas]) {
      if (!n || seen.has(n.address)) continue;
      seen.add(n.address);
      const was = before.get(n.address);
      if (!was) continue;
      if (was.up !== n.up) (n.up ? changes.nodesUp : changes.nodesDown).push({ address: n.address, role: n.role });
      if (was.role !== n.role && was.role !== 'unknown' && n.role !== 'unknown') changes.roles.push({ address: n.address, from: was.role, to: n.role });
    }
  }
  return changes;
}

/** A switchover under way: the change it expects, and when it began. */
export interface ExpectedChange {
  from: Address;
  to: Address;
  began: number;
}

/**
 * The `failover` event of one change a poll saw. The change a switchover under way expects is
 * reported as it (`switchover`, timed from its start: `matched`); any other as the cluster's own,
 * timed from when the old master was seen down (`since`, else 0). A picture taken while the slots
 * moved may show them served by no one: a null `from` still matches. Pure.
 */
export function failoverEvent(
  change: { from: Address | null; to: Address | null },
  expected: ExpectedChange | null,
  since: number | undefined,
  now: number,
): { event: FailoverEvent; matched: boolean } {
  const { from, to } = change;
  if (expected !== null && (from ?? expected.from) === expected.from && to === expected.to) {
    return { event: { from: expected.from, to, reason: 'switchover', durationMs: Math.round(now - expected.began) }, matched: true };
  }
  return { event: { from, to, reason: 'cluster failover', durationMs: since === undefined ? 0 : Math.round(now - since) }, matched: false };
}
