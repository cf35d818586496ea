import type { ClientStats, StatsPicture } from '../observability/stats.js';
import type { Address } from '../topology/types.js';
import type { ClusterTopology } from './topology.js';

/** What `FailoverCluster#stats()` returns: a plain snapshot for a metrics exporter, the fields of `FailoverRedis#stats()` but `master`. */
export interface FailoverClusterStats extends ClientStats {
  /** The shard masters, in slot order. */
  masters: Address[];
}

/** A cluster's picture for the snapshot: every node of every shard; `masters` is its own field. */
export function clusterPicture(topology: ClusterTopology | null): StatsPicture<{ masters: Address[] }> {
  const shards = topology?.shards ?? [];
  return {
    members: shards.flatMap((s) => (s.master ? [s.master, ...s.replicas] : s.replicas)),
    own: { masters: shards.flatMap((s) => (s.master ? [s.master.address] : [])) },
  };
}
