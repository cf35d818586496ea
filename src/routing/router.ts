import type { MaxReplicaLag } from '../options-types.js';
import type { NodeState, Topology } from '../topology/types.js';

/** What reads may use, computed once per topology change, never per command. */
export interface RoutingTable {
  readonly master: NodeState | null;
  /** Replicas that may serve reads: up, linked to the current master, not loading, syncing or lagging. */
  readonly replicas: readonly NodeState[];
}

export interface ResolvedLag {
  bytes: number | null;
  ms: number | null;
}

export function resolveLag(lag: MaxReplicaLag | undefined): ResolvedLag {
  return { bytes: lag?.bytes ?? null, ms: lag?.ms ?? null };
}

/**
 * Why a replica gets no reads, or null when it may serve them: the one rule of both clients
 * (FailoverRedis's replica set, each shard of a FailoverCluster).
 */
export function replicaIneligibility(replica: NodeState, master: NodeState | null, lag: ResolvedLag): string | null {
  if (!replica.up) return 'down';
  if (replica.role !== 'replica') return `role ${replica.role}`;
  if (replica.loading) return 'loading';
  if (replica.syncing) return 'syncing';
  // A replica cut off from a live master serves data that may be arbitrarily stale; while the
  // master itself is down, every replica is cut off alike, and still the best there is to read.
  if (replica.linkStatus !== 'up' && master?.up !== false) return 'link to master down';
  if (master !== null && replica.masterAddress !== null && replica.masterAddress !== master.address) {
    return `follows ${replica.masterAddress}, not the master`;
  }
  if (lag.bytes !== null && replica.lagBytes > lag.bytes) return `${replica.lagBytes} bytes behind`;
  // The time bound is not judged here: the master's `lag=` counts whole seconds since the
  // replica's last ack, which replicas send once a second, so it reads 1 on a healthy replica.
  // The consistency monitor enforces `ms` from fresh offset samples instead.
  return null;
}

/** The replicas of `master` that may serve reads, by address. */
export function eligibleReplicas(replicas: readonly NodeState[], master: NodeState | null, lag: ResolvedLag): NodeState[] {
  const eligible = replicas.filter((r) => replicaIneligibility(r, master, lag) === null);
  return eligible.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

export function buildRoutingTable(topology: Topology, lag: ResolvedLag): RoutingTable {
  return { master: topology.master, replicas: eligibleReplicas(topology.replicas, topology.master, lag) };
}
