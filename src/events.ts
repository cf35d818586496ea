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

/**
 * Subscriptions were made again (a failover, a switchover, a reconnect, a shard move): messages
 * published in the window of `gapMs` may never have reached this client. Pub/sub stays
 * at-most-once; this says when and what may have been lost.
 */
export interface ResubscribedEvent {
  /** The channels (`subscribe`) made again. */
  channels: string[];
  /** The patterns (`psubscribe`). */
  patterns: string[];
  /** The sharded channels (`ssubscribe`). */
  shardChannels: string[];
  /** The node subscribed before (the same as `to` after a plain reconnect). */
  from: Address | null;
  to: Address;
  /**
   * From the last message or subscription confirmation seen on the old connection to the
   * confirmation of the new subscriptions: messages published before it on the old node, or
   * after it on the new one, were delivered; in between they may have been lost.
   */
  gapMs: number;
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
  /** Subscriptions made again after a failover or reconnect: messages may have been lost. */
  resubscribed: [event: ResubscribedEvent];
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
  /** Subscriptions made again on another node or connection: messages may have been lost. */
  resubscribed: [event: ResubscribedEvent];
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
