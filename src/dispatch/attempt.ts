import { Command, type Redis } from 'ioredis';
import { NoMasterError, NoNodeError, NoReplicaError } from '../errors.js';
import type { DurabilitySettings } from '../options-types.js';
import { classifyCommand, READ, WRITE, type CommandClass } from '../routing/classify.js';
import type { ReadPolicy } from '../routing/read-policy.js';
import type { Lane, RouteTarget, WaitReason } from '../routing/route.js';
import { isConnectionLoss } from '../failover/signals.js';
import type { Holdable } from './hold-queue.js';
import type { AttemptFacts } from './judge.js';
import type { CommandTrace } from '../observability/channels.js';

/** How the commands of a client or a view travel: its read policy and its write durability. */
export interface ViewRoute {
  readonly policy: ReadPolicy;
  readonly durability: DurabilitySettings | null;
}

/** What a held attempt needs of the engine that carries it (the hold queue calls these). */
export interface AttemptHost {
  /** Route and send `a` now; false when it must wait. */
  tryAttempt(a: Attempt): boolean;
  /** `a` was never sent, or routing failed it: settle it with `error`. */
  unsent(a: Attempt, error: Error): void;
  waitCause(a: Attempt): Error | undefined;
}

/** What a batch is made of: one node, one connection, one `exec()` result. */
export interface Batch {
  readonly commands: Command[];
  /** A `multi()` transaction (else a pipeline). */
  readonly transaction: boolean;
  /** Which of its commands may change data. */
  readonly writesData: readonly boolean[];
  /** Read-your-writes sequences of its writes, recorded when it was issued. */
  seqs: number[] | null;
}

/** Where a cluster's MOVED or ASK sends an attempt next. */
export interface Redirect {
  readonly address: string;
  readonly asking: boolean;
}

/** A write with `durability`: it resolves only once the WAIT behind it counts enough replicas. */
export interface DurableWrite {
  readonly settings: DurabilitySettings;
  /** The WAIT behind its latest send: a count from an earlier one (before a resend) is stale. */
  wait: Command | null;
  /** Answered, with `reply`: kept until WAIT's count. */
  answered: boolean;
  reply: unknown;
  /**
   * WAIT's count when it came first: a batch's result arrives through a promise, after the WAIT
   * behind it was parsed from the same read.
   */
  acks: number | null;
}

/**
 * One command, or one batch (a pipeline or a `multi()` transaction), on its way: what it is, how
 * it is routed, where it went and how many times, and the caller's side of its promise. Plain
 * fields: `judge()` reads them, the engine writes them.
 */
export class Attempt implements AttemptFacts, Holdable {
  // Declared, not defined: the constructor sets each field once (no initializer pass per command).
  declare readonly host: AttemptHost;
  /** The command's name; `pipeline` or `exec` for a batch. */
  declare readonly name: string;
  declare readonly cls: CommandClass;
  declare readonly view: ViewRoute;
  /** A single command, or null for a batch. */
  declare readonly cmd: Command | null;
  declare readonly batch: Batch | null;
  /** The caller's side: a single command's own ioredis `resolve`/`reject`, or a batch's promise. */
  declare readonly resolve: (value: unknown) => void;
  declare readonly reject: (error: Error) => void;
  /** The policy this attempt routes by: the view's, or `master` once a replica could not serve it. */
  declare policy: ReadPolicy;
  /** Where it was last sent, on which lane, and on which connection. */
  declare target: RouteTarget | null;
  declare lane: Lane | null;
  declare conn: Redis | null;
  declare atMaster: boolean;
  declare pinned: boolean;
  declare tries: number;
  /** Why it waits now (null while it is not held). */
  declare reason: WaitReason | null;
  /** After `-READONLY` from this node: wait until the master is another one. */
  declare notAt: string | null;
  /** The error that made it wait (`-READONLY`), reported as the cause if it times out. */
  declare heldBecause: Error | null;
  /** Its `redis-failover:command`/`:batch` context, only while someone subscribes. */
  declare trace: CommandTrace | null;
  /** Its writes are recorded for read-your-writes (decided when it is issued). */
  declare tracked: boolean;
  /** A single write's read-your-writes sequence, recorded when it was issued (0: none). */
  declare seq: number;
  /** Set on the first send of a write that must reach replicas. */
  declare durable: DurableWrite | null;
  /** A cluster's hash slot of its keys (`ANY_SLOT`: keyless); unused by a replica set. */
  declare readonly slot: number;
  /** MOVED or ASK named this node: the next send goes there (ASK: after ASKING). */
  declare redirect: Redirect | null;
  /** MOVED/ASK followed so far. */
  declare redirects: number;
  /** CLUSTERDOWN/TRYAGAIN: not sent again before this time (`performance.now()`; 0: no such wait). */
  declare retryAt: number;

  /**
   * A single command (`cmd`; `resolve`/`reject` are its own, the caller's side), or a batch (`cmd`
   * null). Every field is set here, in one order: one shape for every attempt.
   */
  constructor(host: AttemptHost, name: string, cls: CommandClass, view: ViewRoute, cmd: Command | null, batch: Batch | null, resolve: (value: unknown) => void, reject: (error: Error) => void, slot: number) {
    this.host = host;
    this.name = name;
    this.cls = cls;
    this.view = view;
    this.cmd = cmd;
    this.batch = batch;
    this.resolve = resolve;
    this.reject = reject;
    this.policy = view.policy;
    this.target = null;
    this.lane = null;
    this.conn = null;
    this.atMaster = false;
    this.pinned = false;
    this.tries = 0;
    this.reason = null;
    this.notAt = null;
    this.heldBecause = null;
    this.trace = null;
    this.tracked = false;
    this.seq = 0;
    this.durable = null;
    this.slot = slot;
    this.redirect = null;
    this.redirects = 0;
    this.retryAt = 0;
  }

  /** A batch: one class for the whole (a read when every command is a read). */
  static batch(host: AttemptHost, commands: Command[], transaction: boolean, view: ViewRoute, resolve: (value: unknown) => void, reject: (error: Error) => void, slot: number): Attempt {
    const classes = commands.map(classOf);
    const readOnly = !transaction && classes.length > 0 && classes.every((c) => c.kind === 'read');
    const batch: Batch = { commands, transaction, writesData: classes.map((c) => c.writesData), seqs: null };
    return new Attempt(host, transaction ? 'exec' : 'pipeline', readOnly ? READ : WRITE, view, null, batch, resolve, reject, slot);
  }

  get readOnly(): boolean {
    return this.cls.readOnly;
  }

  retry(): boolean {
    return this.host.tryAttempt(this);
  }

  /** Never sent (held, then timed out or closed), or routing failed it. */
  fail(error: Error): void {
    this.host.unsent(this, error);
  }

  waitCause(): Error | undefined {
    return this.host.waitCause(this);
  }
}

/** ioredis's `exec()` result for a pipeline none of whose commands could be sent. */
export function unsentResult(commands: readonly Command[], error: Error): [Error][] {
  return commands.map(() => [error]);
}

/** A script defined `readOnly` runs as EVALSHA, flagged by ioredis: a read all the same. */
export function classOf(cmd: Command): CommandClass {
  return (cmd as { isReadOnly?: boolean }).isReadOnly === true ? READ : classifyCommand(cmd.name, cmd.args);
}

/** A fresh command with the same (already prefixed and flattened) arguments, for a resend. */
export function cloneCommand(cmd: Command): Command {
  const { replyEncoding } = cmd as unknown as { replyEncoding: BufferEncoding | null };
  return new Command(cmd.name, cmd.args, { replyEncoding });
}

/** The first connection-loss error among a pipeline's results, or null. */
export function pipelineConnectionLoss(result: unknown): Error | null {
  if (!Array.isArray(result)) return null;
  for (const entry of result) {
    const error = Array.isArray(entry) ? (entry[0] as unknown) : null;
    if (error instanceof Error && isConnectionLoss(error)) return error;
  }
  return null;
}

/** The error a held command reports as the cause of its timeout: why it could not go. */
export function waitError(reason: WaitReason | null, master: string | null, cause: Error | null): Error | undefined {
  const options = cause === null ? undefined : { cause };
  switch (reason) {
    case null:
      return cause ?? undefined;
    case 'no-topology':
      return new NoNodeError('no member of the replica set has answered yet', options);
    case 'no-master':
      return new NoMasterError('no master is known', options);
    case 'master-connecting':
      return new NoMasterError(`the master ${master} is not connected`, options);
    case 'master-silent':
      return new NoMasterError(`the master ${master} stopped answering; writes wait until it answers or is replaced`, options);
    case 'master-fenced':
      return new NoMasterError(`the master ${master} lost its replicas (a partition?); writes wait until they are back or it is replaced (fencing)`, options);
    case 'switchover':
      return new NoMasterError(`a switchover away from ${master} is under way`, options);
    case 'replica-connecting':
      return new NoReplicaError('readFrom is "replica" but no eligible replica is connected yet', options);
    case 'replica-catching-up':
      return new NoReplicaError("readFrom is \"replica\" but no replica has caught up with this client's writes yet", options);
    case 'cluster-down':
      return new NoMasterError('the cluster answered CLUSTERDOWN or TRYAGAIN (a failover or a resharding under way)', options);
  }
  // Every reason has its message: a new one that has none fails to compile here.
  const unexplained: never = reason;
  return unexplained;
}
