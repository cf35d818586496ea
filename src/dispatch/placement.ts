import type { Command, Redis } from 'ioredis';
import type { RouteTarget, RoutingState, WaitReason } from '../routing/route.js';
import type { Address } from '../topology/types.js';
import type { Attempt } from './attempt.js';

/**
 * What a topology contributes to the engine: where an attempt may go, and the connections there.
 * The engine does the rest — routes by `route()`, sends (with WAIT behind a durable write), holds,
 * judges a failure and acts on it — the same for every topology. The replica set has one routing
 * state; a cluster has one per shard, found by the attempt's slot.
 */
export interface Placement {
  /** The engine that carries the attempts: told to try what waits when the placement sees a change of its own. */
  attach?(engine: { drain(): void }): void;
  /** The routing state `a` goes by now, or why it must wait before any state applies to it. */
  stateFor(a: Attempt): RoutingState | WaitReason;
  /**
   * A connection of `target` that can take a command on `lane` now, or null while none can.
   * `data` is shared; `blocking` and `transaction` are leased, and come back through `release`.
   */
  connection(target: RouteTarget, lane: 'data' | 'blocking' | 'transaction', a: Attempt): Redis | null;
  release(target: RouteTarget, conn: Redis): void;
  /**
   * Send a (un)subscription to `target`; false while it cannot go. The placement keeps what is
   * subscribed, to subscribe again wherever subscriptions move.
   */
  subscribe(cmd: Command, target: RouteTarget): boolean;
  /** SELECT `db` was answered on `origin`: every connection, now and later, uses `db`. */
  selected(db: number, origin: Redis): void;
  /** What a failed attempt showed: its connection to `address` died, or `address` answered READONLY. */
  observed(what: 'connection-lost' | 'readonly', address: Address): void;
  /** Why `a` waits, as the error a timeout reports as its cause (the node's connection error, …). */
  waitCause(a: Attempt): Error | undefined;
  /**
   * A topology's own reply errors, looked at before `judge()` (a cluster's MOVED, ASK, CLUSTERDOWN:
   * none of them applied anything): `resend` now (the attempt says where), `hold` until a sign of
   * change, or null when the error is not one of them. A replica set has none.
   */
  replyError?(a: Attempt, error: Error): 'resend' | 'hold' | null;
  /** The same for a pipeline's result: an error in it that applied nothing (no command of the batch ran). */
  batchError?(a: Attempt, result: unknown): 'resend' | 'hold' | null;
}

/** Read-your-writes as the engine meets it: what reads need, and the record of each write. */
export interface WriteTracking {
  /** Writes are recorded now (else `record` would give 0: the engine need not ask). */
  readonly active: boolean;
  /** The write sequence a node must have applied to serve the reads of `a` (0: any node); asked only for reads a replica may serve. */
  need(a: Attempt): number;
  /** A write is issued: its sequence, to hand to `sent` and later `settled` (0: not tracked). */
  record(cmd: Command): number;
  /** Recorded writes went out to the master: reads that need them no longer wait behind them. */
  sent(seqs: number | readonly number[]): void;
  /** A read that needs `need` (> 0) needs a write of this client not sent yet: it goes where that write goes. */
  awaitsUnsent(need: number): boolean;
  /** Recorded writes were answered or failed: they no longer hold back what replicas are known to have. */
  settled(seqs: number | readonly number[]): void;
}
