import type { ClusterTopology } from './cluster/topology.js';
import type { TopologyChange } from './topology/diff.js';
import type { Address, NodeRole, NodeState, Topology } from './topology/types.js';

export interface FailoverEvent {
  /** The master before, or null when none was known. */
  from: Address | null;
  to: Address | null;
  /** What happened: `sentinel +switch-master`, `promoted by this client`, `switchover`, `master changed`, … */
  reason: string;
  /** From the first sign of trouble (or the start of the switchover) to the new master known. */
  durationMs: number;
}

export interface NodeEvent {
  address: Address;
  role: NodeRole;
}

export interface RoleChangeEvent {
  address: Address;
  from: NodeRole;
  to: NodeRole;
}

export interface WarningEvent {
  code: string;
  message: string;
  address?: Address;
}

/** Every event FailoverRedis emits, with its arguments. Payloads are plain objects. */
export interface FailoverRedisEvents extends MessageEvents {
  /** The master is known and connected; commands flow. */
  ready: [];
  connect: [];
  error: [error: Error];
  close: [];
  end: [];
  /** The picture changed (membership, roles, up/down, eligibility for reads). */
  topology: [topology: Topology, changes: TopologyChange[]];
  failover: [event: FailoverEvent];
  'node-up': [event: NodeEvent];
  'node-down': [event: NodeEvent];
  'role-change': [event: RoleChangeEvent];
  warning: [event: WarningEvent];
}

/** Every event FailoverCluster emits, with its arguments: FailoverRedis's, per shard. */
export interface FailoverClusterEvents extends MessageEvents {
  ready: [];
  connect: [];
  error: [error: Error];
  close: [];
  end: [];
  topology: [topology: ClusterTopology];
  failover: [event: FailoverEvent];
  'node-up': [event: NodeEvent];
  'node-down': [event: NodeEvent];
  'role-change': [event: RoleChangeEvent];
}

/** ioredis's pub/sub events, as both clients emit them. */
export interface MessageEvents {
  message: [channel: string, message: string];
  messageBuffer: [channel: Buffer, message: Buffer];
  pmessage: [pattern: string, channel: string, message: string];
  pmessageBuffer: [pattern: Buffer, channel: Buffer, message: Buffer];
  smessage: [channel: string, message: string];
  smessageBuffer: [channel: Buffer, message: Buffer];
}

export type { NodeState, Topology, TopologyChange };
