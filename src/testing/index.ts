export { startReplicaSet } from './replica-set.js';
export type { NamespacedReplicaSet, ReplicaSet, ReplicaSetOptions, RestartOptions } from './replica-set.js';
export { NetworkUnavailableError, PartitionGroupsError, RedisServerNotFoundError, ReplicaSetNetworkError } from './errors.js';
export type { ReplicaSetNetworkErrorCode } from './errors.js';
export { checkNetworkNamespaces } from './network/namespaces.js';
export { startCluster } from './cluster.js';
export type { Cluster, ClusterOptions, ClusterShard } from './cluster.js';
