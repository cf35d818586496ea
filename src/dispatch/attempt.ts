import { Command } from 'ioredis';
import { NoMasterError, NoNodeError, NoReplicaError } from '../errors.js';
import type { DurabilitySettings } from '../options-types.js';
import { classifyCommand, READ, type CommandClass } from '../routing/classify.js';
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
  /** Where it was last sent, and on which lane. */
  target: RouteTarget | null = null;
  lane: Lane | null = null;
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
  /** ioredis answered the command of `a`. */
  replied(a: SingleAttempt, value: unknown): void;
  /** ioredis failed the command of `a` (its reply was an error, or its connection died): judge it and act. */
  failed(a: SingleAttempt, error: Error): void;
  /** The WAIT sent right behind the write of `a` counted `acks` replicas (0 when it failed). */
  acknowledged(a: SingleAttempt, wait: Command, acks: number): void;
  /** Settle `a` with `error`: its write record goes, then the caller's promise rejects. */
  settleError(a: SingleAttempt, error: Error): void;
  waitCause(a: Attempt): Error | undefined;
}

/** A single command. Its promise is the ioredis `Command`'s own. */
export class SingleAttempt extends Attempt implements Holdable {
  readonly cmd: Command;
  readonly host: AttemptHost;
  /** The caller's side of the command's promise: ioredis's own `resolve`/`reject`, called once. */
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  /** Set on the first send of a write: inside a WATCH…EXEC session only EXEC waits for replicas. */
  durability: DurabilitySettings | null = null;
  /** Its read-your-writes sequence, recorded when it was first sent (0: not a tracked write). */
  seq = 0;
  /** A durable write's reply, kept until the WAIT behind it counts the replicas (`answered`). */
  reply: unknown = undefined;
  answered = false;
  /** The WAIT sent behind its latest send: a count from an earlier one (before a resend) is stale. */
  wait: Command | null = null;

  constructor(host: AttemptHost, cmd: Command, cls: Attempt['cls'], view: ViewRoute) {
    super(cmd.name, cls, view);
    this.host = host;
    this.cmd = cmd;
    this.resolve = cmd.resolve;
    this.reject = cmd.reject;
    // ioredis settles a command by calling its `resolve(reply)` or `reject(error)` (instrumentation
    // such as OpenTelemetry's wraps them and calls them detached). Both are pointed at the
    // dispatcher once, here: every failure is judged there; a reply goes there when something must
    // happen before the caller sees it (a write's record and durability, a lease or a session to
    // end, SELECT to spread) — a plain read's reply goes straight to the caller. The caller's own
    // functions are kept on the attempt and called once, when the dispatcher settles it.
    cmd.reject = (error: Error) => host.failed(this, error);
    if (cls.kind !== 'read') cmd.resolve = (value: unknown) => host.replied(this, value);
  }

  /** `WAIT replicas timeoutMs`, to send right behind this write: its count comes to `acknowledged()`. */
  waitCommand(durability: DurabilitySettings): Command {
    const wait = new Command('wait', [String(durability.replicas), String(durability.timeoutMs)]);
    wait.resolve = (acks: unknown) => this.host.acknowledged(this, wait, Number(acks));
    // The write was answered, the count of replicas never came: not known replicated.
    wait.reject = () => this.host.acknowledged(this, wait, 0);
    this.wait = wait;
    return wait;
  }

  retry(): boolean {
    return this.host.tryAttempt(this);
  }

  /** Never sent (held, then timed out or closed), or a decision to fail it. */
  fail(error: Error): void {
    this.host.settleError(this, error);
  }

  waitCause(): Error | undefined {
    return this.host.waitCause(this);
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

  /** Read-your-writes sequences of its writes, recorded when it was first sent. */
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
