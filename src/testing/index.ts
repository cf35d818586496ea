export { startReplicaSet } from './replica-set.js';
export type { ReplicaSet, ReplicaSetOptions, RestartOptions } from './replica-set.js';
