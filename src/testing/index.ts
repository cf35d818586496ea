export { startReplicaSet } from './replica-set.js';
export type { ReplicaSet, ReplicaSetOptions, RestartOptions } from './replica-set.js';
export { startCluster } from './cluster.js';
export type { Cluster, ClusterOptions, ClusterShard } from './cluster.js';
