import { Command } from 'ioredis';
import { NoMasterError, NoNodeError, NoReplicaError } from '../errors.js';
import type { DurabilitySettings } from '../options-types.js';
import { classifyCommand, READ, type CommandClass } from '../routing/classify.js';
import type { ReadPolicy } from '../routing/read-policy.js';
import type { RouteTarget, WaitReason } from '../routing/route.js';
import { isConnectionLoss } from '../failover/signals.js';
import type { Holdable } from './hold-queue.js';
import type { AttemptFacts } from './judge.js';
import type { CommandTrace } from '../observability/channels.js';

/** How the commands of a client or a view travel: its read policy and its write durability. */
export interface ViewRoute {
  readonly policy: ReadPolicy;
  readonly durability: DurabilitySettings | null;
}

/**
 * One command (or batch) on its way: what it is, how it is routed, where it went and how many
 * times. Plain fields; `judge()` reads them, the dispatcher writes them.
 */
export class Attempt implements AttemptFacts {
  readonly name: string;
  readonly cls: CommandClass;
  readonly view: ViewRoute;
  /** The policy this attempt routes by: the view's, or `master` once a replica could not serve it. */
  policy: ReadPolicy;
  /** Where it was last sent. */
  target: RouteTarget | null = null;
  atMaster = false;
  pinned = false;
  tries = 0;
  /** Why it waits now (null while it is not held). */
  reason: WaitReason | null = null;
  /** After `-READONLY` from this node: wait until the master is another one. */
  notAt: string | null = null;
  /** The error that made it wait (`-READONLY`), reported as the cause if it times out. */
  heldBecause: Error | null = null;
  /** Its `redis-failover:command`/`:batch` context, only while someone subscribes. */
  trace: CommandTrace | null = null;

  constructor(name: string, cls: CommandClass, view: ViewRoute) {
    this.name = name;
    this.cls = cls;
    this.view = view;
    this.policy = view.policy;
  }

  get readOnly(): boolean {
    return this.cls.readOnly;
  }
}


/** What attempts need of the dispatcher that carries them. */
export interface AttemptHost {
  /** Route and send `a` now; false when it must wait. */
  tryAttempt(a: SingleAttempt | BatchAttempt): boolean;
  /** A sent attempt failed: judge it and act. */
  failed(a: SingleAttempt, error: Error): void;
  /** Read-your-writes: record a write as it is issued; its sequence (0 when not tracked). */
  record(cmd: Command): number;
  /** Recorded writes went out to the master: reads that need them no longer wait behind them. */
  sent(seqs: number | readonly number[]): void;
  /** The stages after a write was answered; an error to settle with, or null. */
  finishWrite(seqs: number | readonly number[], name: string, durability: DurabilitySettings | null, acks: number): Error | null;
  /** A recorded write failed: it no longer holds back what replicas are known to have. */
  settled(seqs: number | readonly number[]): void;
  waitCause(a: Attempt): Error | undefined;
}

/** A single command. Its promise is the ioredis `Command`'s own. */
export class SingleAttempt extends Attempt implements Holdable {
  readonly cmd: Command;
  /** Set on the first send: inside a WATCH…EXEC session only EXEC waits for replicas. */
  durability: DurabilitySettings | null = null;
  #d: AttemptHost;
  #resolve: (value: unknown) => void;
  #reject: (error: Error) => void;
  #reply: { value: unknown } | null = null;
  /** Its read-your-writes sequence, recorded when it was issued (0: not a tracked write). */
  #seq = 0;

  constructor(d: AttemptHost, cmd: Command, cls: Attempt['cls'], view: ViewRoute) {
    super(cmd.name, cls, view);
    this.#d = d;
    this.cmd = cmd;
    this.#resolve = cmd.resolve;
    this.#reject = cmd.reject;
    // Recorded as issued, not as sent: a read issued after a write that is still held (no master
    // connected yet) must not overtake it on a replica.
    if (cls.writesData) this.#seq = d.record(cmd);
  }

  /**
   * On its first send, the command's outcome goes through the dispatcher — its failures to
   * `judge()`, and, for a write with stages to run, its reply to `finishWrite()`.
   */
  intercept(): void {
    const cmd = this.cmd;
    cmd.reject = (error: Error) => this.#d.failed(this, error);
    if (!this.cls.writesData) return;
    if (this.#seq !== 0) this.#d.sent(this.#seq);
    if (!this.pinned || cmd.name === 'exec') this.durability = this.view.durability;
    if (this.durability !== null) {
      cmd.resolve = (value: unknown) => {
        this.#reply = { value };
      };
    } else if (this.#seq !== 0) {
      cmd.resolve = (value: unknown) => {
        this.#d.finishWrite(this.#seq, this.name, null, 0);
        this.#resolve(value);
      };
    }
  }

  /** WAIT's count came: run the stages if the write itself was answered. */
  acknowledged(acks: number): void {
    const reply = this.#reply;
    if (reply === null) return; // the write itself failed: its own error stands
    const error = this.#d.finishWrite(this.#seq, this.name, this.durability, acks);
    this.#seq = 0;
    this.cmd.resolve = this.#resolve;
    if (error !== null) this.settle(error);
    else this.#resolve(reply.value);
  }

  retry(): boolean {
    return this.#d.tryAttempt(this);
  }

  /** Never sent (held, then timed out or closed), or a decision to fail it. */
  fail(error: Error): void {
    this.settle(error);
  }

  settle(error: Error): void {
    if (this.#seq !== 0) this.#d.settled(this.#seq);
    this.#seq = 0;
    this.cmd.reject = this.#reject;
    this.#reject(error);
  }

  waitCause(): Error | undefined {
    return this.#d.waitCause(this);
  }
}

/** A pipeline or `multi()` batch: one node, one connection, one `exec()` result. */
export class BatchAttempt extends Attempt implements Holdable {
  readonly commands: Command[];
  readonly transaction: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  #writesData: boolean[];
  #d: AttemptHost;

  constructor(
    d: AttemptHost,
    commands: Command[],
    writesData: boolean[],
    transaction: boolean,
    cls: Attempt['cls'],
    view: ViewRoute,
    resolve: (value: unknown) => void,
    reject: (error: Error) => void,
  ) {
    super(transaction ? 'exec' : 'pipeline', cls, view);
    this.#d = d;
    this.commands = commands;
    this.#writesData = writesData;
    this.transaction = transaction;
    this.resolve = resolve;
    this.reject = reject;
  }

  /** Read-your-writes sequences of its writes, recorded when it was issued. */
  seqs: number[] = [];

  /** The commands of `batch` (this attempt's copy) that may have changed data. */
  writes(batch: readonly Command[]): Command[] {
    return batch.filter((_, i) => this.#writesData[i]);
  }

  retry(): boolean {
    return this.#d.tryAttempt(this);
  }

  /** Never sent: as ioredis, a pipeline resolves with the error for each command, a transaction rejects. */
  fail(error: Error): void {
    this.#d.settled(this.seqs);
    if (this.transaction) this.reject(error);
    else this.resolve(unsentResult(this.commands, error));
  }

  waitCause(): Error | undefined {
    return this.#d.waitCause(this);
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
  }
  // Every reason has its message: a new one that has none fails to compile here.
  const unexplained: never = reason;
  return unexplained;
}
