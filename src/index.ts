export { FailoverRedis } from './client.js';
export type { FailoverRedisStatus, FailoverRedisView, FailoverRedisInternals } from './client.js';
export type {
  FailoverRedisOptions,
  ReadFrom,
  ReadFromName,
  ReadFromFunction,
  NodeAddressInput,
  MaxReplicaLag,
  FailoverSettings,
  DurabilitySettings,
  ZonesOption,
} from './options-types.js';
export type { FailoverRedisEvents, FailoverEvent, ResubscribedEvent, NodeEvent, RoleChangeEvent, WarningEvent, MessageEvents } from './events.js';
export type { NodeState, NodeRole, LinkStatus, Topology, TopologySource, Address } from './topology/types.js';
export type { TopologyChange } from './topology/diff.js';
export type { ConnectionFactory, ConnectionPurpose } from './pool/node-pool.js';
export { COMMAND_CHANNEL, BATCH_CHANNEL, FAILOVER_CHANNEL, TOPOLOGY_CHANNEL, RESUBSCRIBED_CHANNEL } from './observability/channels.js';
export type { CommandContext, BatchContext, TopologyMessage, ClusterTopologyMessage } from './observability/channels.js';
export type { FailoverRedisStats, NodeStats } from './observability/stats.js';
export {
  FailoverRedisError,
  InvalidOptionError,
  NoMasterError,
  NoNodeError,
  AuthError,
  NotReplicaSetError,
  NotSentinelError,
  NotClusterError,
  NoReplicaError,
  QueueFullError,
  CommandTimeoutError,
  MaybeAppliedError,
  NotReplicatedError,
  ClosedError,
  OfflineError,
} from './errors.js';
export type { FailoverErrorCode, ServerKind } from './errors.js';
export { PromotionError } from './failover/actions.js';
export { SwitchoverError } from './failover/switchover.js';
export type { HandoverOptions, SwitchoverMethod, SwitchoverOptions, SwitchoverResult } from './failover/switchover.js';
export { parseInfoReplication, parseInfo } from './topology/info-parser.js';
export type { ReplicationInfo, ReplicaEntry } from './topology/info-parser.js';
export { assessHealth, DEFAULT_HEALTH_LIMITS } from './topology/health.js';
export type { Health, HealthCode, HealthLimits, HealthWarning, NodeHealth } from './topology/health.js';
export { FailoverCluster } from './cluster/client.js';
export type { FailoverClusterStatus, FailoverClusterInternals } from './cluster/client.js';
export type { FailoverClusterEvents } from './events.js';
export type { FailoverClusterOptions, ClusterFailoverSettings } from './cluster/options.js';
export type { ClusterTopology, ClusterShardState } from './cluster/topology.js';
export type { FailoverClusterStats } from './cluster/stats.js';
export { ClusterSwitchoverError } from './cluster/switchover.js';
export type { ClusterSwitchoverOptions, ClusterSwitchoverResult } from './cluster/switchover.js';
