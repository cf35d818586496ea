import type { RedisOptions } from 'ioredis';
import type { NodeState } from './topology/types.js';

export type ReadFromName =
  | 'master'
  | 'masterPreferred'
  | 'replica'
  | 'replicaPreferred'
  | 'nearest'
  | 'any'
  | 'zoneAffinity'
  | 'zoneAffinityReplicasAndPrimary';

/**
 * Each node's availability zone, where the server does not report its own: `{ 'host:port': zone }`
 * (addresses as `topology()` shows them), or a function of the address (null or undefined: unknown).
 */
export type ZonesOption = Record<string, string> | ((address: string) => string | null | undefined);

/**
 * A custom read policy: picks one of the eligible nodes for a read. `candidates` holds the
 * eligible replicas (up, not loading or syncing, within `maxReplicaLag`); `master` is the current
 * master or null. Return `undefined` to send the read to the master.
 */
export type ReadFromFunction = (candidates: readonly NodeState[], master: NodeState | null) => NodeState | undefined;

export type ReadFrom = ReadFromName | ReadFromFunction;

export type NodeAddressInput = string | { host: string; port: number };

export interface MaxReplicaLag {
  /** Replicas more than this many bytes behind the master's offset get no reads. */
  bytes?: number;
  /** Replicas whose master reports a `lag` above this (in ms, at 1 s granularity) get no reads. */
  ms?: number;
}

export interface FailoverSettings {
  /**
   * `'auto'`: promote a replica when the master is down (client mode only).
   * `'manual'`: never promote; `promote()` does it on demand.
   * In Sentinel mode the Sentinels promote: leave it unset there (setting it is an error).
   * @default 'auto' with `nodes`
   */
  promote?: 'auto' | 'manual';
  /**
   * How long the master must be unreachable before it counts as down.
   * @default 1000
   */
  downAfterMs?: number;
  /**
   * How many replicas must report their own link to the master down before promoting.
   * @default a majority of the known replicas
   */
  quorum?: number;
}

export interface DurabilitySettings {
  /** How many replicas must acknowledge a write (`WAIT numreplicas`), at least 1. */
  replicas: number;
  /** How long to wait for them, in whole ms (`WAIT … timeout`); 0 waits forever, as `WAIT` does. */
  timeoutMs: number;
}

export interface FailoverRedisOptions {
  /** Any one or more members of the replica set (`'host:port'` or `{ host, port }`). */
  nodes?: NodeAddressInput[];
  /** Sentinel addresses; with `name`, selects Sentinel mode. */
  sentinels?: NodeAddressInput[];
  /** The master's name as the Sentinels know it. */
  name?: string;
  /**
   * Where read-only commands go. `'zoneAffinity'` and `'zoneAffinityReplicasAndPrimary'` need `zone`.
   * @default 'replicaPreferred'
   */
  readFrom?: ReadFrom;
  /**
   * The availability zone this client runs in (`'us-east-1a'`): the zone policies read from nodes
   * in it. Compared exactly (case and all) with each node's zone.
   * @default undefined (no zone: the zone policies cannot be used)
   */
  zone?: string;
  /**
   * The nodes' zones, for servers that cannot report their own (Redis; Valkey before 8.1 or with
   * `availability-zone` unset). A zone a server reports wins over this.
   * @default undefined (only the servers' own reports)
   */
  zones?: ZonesOption;
  /** Replicas further behind get no reads. @default {} (no bound) */
  maxReplicaLag?: MaxReplicaLag;
  /**
   * `'read-your-writes'`: reads of keys this client just wrote go only to nodes that applied them.
   * @default 'read-your-writes'
   */
  consistency?: 'read-your-writes' | 'eventual';
  /** Writes resolve only once this many replicas acknowledged them (`WAIT`). */
  durability?: DurabilitySettings;
  /** Failover behaviour. */
  failover?: FailoverSettings;
  /** ioredis options for every data connection (password, username, tls, db, keyPrefix, …). */
  redisOptions?: RedisOptions;
  /** ioredis options for the Sentinel connections. */
  sentinelOptions?: RedisOptions;
  /** Announced address (`'host:port'`, IPv6 as `'[::1]:6379'`) → reachable address. */
  natMap?: Record<string, NodeAddressInput>;
  /**
   * Shared connections per node.
   * @default 1
   */
  poolSize?: number;
  /**
   * How long a command may wait for a node (no master known, connection not ready) before it
   * rejects with `ERR_COMMAND_TIMEOUT`. It was then never sent.
   * @default 10000 — no limit when `redisOptions.maxRetriesPerRequest` is `null`, as on ioredis
   */
  commandTimeoutMs?: number;
  /**
   * How many commands may wait for a master at once; more reject with `ERR_QUEUE_FULL`.
   * @default 10000
   */
  maxQueuedCommands?: number;
  /**
   * How often the topology is re-read from the nodes (or Sentinels) while the client is active;
   * an idle client (no command for 2 × `failover.downAfterMs`) re-reads it 30 times less often,
   * and at once on its next command or on a sign of change (a connection lost or back, a Sentinel event).
   * @default 2000
   */
  refreshIntervalMs?: number;
  /**
   * Fence a stranded master: when the master this client writes to stops hearing from enough of
   * its replicas that the other side of a partition could promote one (and, in Sentinel mode, no
   * Sentinel answers either), writes wait, as for a silent master, until its replicas acknowledge
   * again or another master takes over. The trade-off: a master that really lost all its replicas
   * (they crashed) takes no writes from this client until one returns or `fencing` is false.
   * @default true
   */
  fencing?: boolean;
}
