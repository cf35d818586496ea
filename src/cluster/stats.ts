import { nodeStats, type NodeCounters, type NodeStats } from '../observability/stats.js';
import type { Address } from '../topology/types.js';
import type { ClusterTopology } from './topology.js';

/** What `FailoverCluster#stats()` returns: a plain snapshot for a metrics exporter, as `FailoverRedis#stats()`. */
export interface FailoverClusterStats {
  /** The shard masters, in slot order. */
  masters: Address[];
  /** Every node of every shard, then any other node that has counts (role `unknown`). */
  nodes: NodeStats[];
  /** Commands waiting for a node now (a shard without a usable master, CLUSTERDOWN, a switchover). */
  held: number;
  /** Shard master changes this client has seen. */
  failovers: number;
  /** `durationMs` of the last `failover` event, or null. */
  lastFailoverDurationMs: number | null;
  commandsSent: number;
  errors: number;
}

export interface ClusterStatsInput {
  topology: ClusterTopology | null;
  counters: ReadonlyMap<Address, NodeCounters>;
  held: number;
  failovers: number;
  lastFailoverDurationMs: number | null;
}

export function buildClusterStats(input: ClusterStatsInput): FailoverClusterStats {
  const shards = input.topology?.shards ?? [];
  const members = shards.flatMap((s) => (s.master ? [s.master, ...s.replicas] : s.replicas));
  return {
    masters: shards.flatMap((s) => (s.master ? [s.master.address] : [])),
    ...nodeStats(members, input.counters),
    held: input.held,
    failovers: input.failovers,
    lastFailoverDurationMs: input.lastFailoverDurationMs,
  };
}
