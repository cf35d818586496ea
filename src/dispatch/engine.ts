import { Command, type Redis } from 'ioredis';
import createDebug from 'debug';
import { MaybeAppliedError, NotReplicatedError } from '../errors.js';
import { parseReadFrom } from '../routing/read-policy.js';
import { route, type RouteTarget, type RoutingState } from '../routing/route.js';
import { batchChannel, BatchTrace, commandChannel, traceBatch, traceCommand } from '../observability/channels.js';
import { classifyCommand, READ } from '../routing/classify.js';
import { Attempt, cloneCommand, pipelineConnectionLoss, unsentResult, type AttemptHost, type DurableWrite, type ViewRoute } from './attempt.js';
import { HoldQueue } from './hold-queue.js';
import { judge } from './judge.js';
import type { Placement, WriteTracking } from './placement.js';
import { endsSession, TransactionSession } from './transaction.js';
import { runPipeline, TickWrites } from './wire.js';

const debug = createDebug('redis-failover:dispatch');
const MASTER_POLICY = parseReadFrom('master');

export interface EngineSettings {
  /** Where attempts may go, and the connections there: the topology's part. */
  placement: Placement;
  /** Read-your-writes; null when it is off. */
  writes: WriteTracking | null;
  maxQueuedCommands: number;
  /** How long a held command may wait; null: as long as it takes (bounded in number only). */
  holdTimeoutMs: number | null;
  /** `enableOfflineQueue: false`: a command never sent that would have to wait fails at once instead (the hold queue's rule). */
  offlineQueue: boolean;
  /**
   * One socket write per connection per tick (as node-redis writes): on unless `enableAutoPipelining`
   * is given as false. A lone caller's command still leaves in the tick it was issued.
   */
  autoPipelining: boolean;
  /** Counts the application's commands (the failure watch follows the client's pace). */
  activity?: { touch(): void };
}

/**
 * The one loop for every topology: asks `route()` where each attempt goes (by the routing state
 * its placement gives), sends it there on the lane it names — a durable write with its WAIT right
 * behind it — holds it while it must wait, and after a failure does what `judge()` says. Every
 * outcome (a reply, a failure, WAIT's count) comes here with the attempt it belongs to, bound once
 * where the attempt is made; after a reply the same stages run for single commands and batches:
 * the durability verdict, then the read-your-writes record, then the caller's promise settles.
 */
export class Engine implements AttemptHost {
  #placement: Placement;
  #writes: WriteTracking | null;
  #queue: HoldQueue;
  #session = new TransactionSession();
  /** Per-tick write batching; null when it is off. */
  #tick: TickWrites | null;
  #activity: { touch(): void } | undefined;
  /** Reads that read-your-writes sent to the master (`stats()`). */
  readYourWritesRedirects = 0;

  constructor(settings: EngineSettings) {
    this.#placement = settings.placement;
    this.#writes = settings.writes;
    this.#queue = new HoldQueue({ limit: settings.maxQueuedCommands, timeoutMs: settings.holdTimeoutMs, offlineQueue: settings.offlineQueue });
    this.#tick = settings.autoPipelining ? new TickWrites() : null;
    this.#activity = settings.activity;
    settings.placement.attach?.(this);
  }

  /** Commands (and batches) held now. */
  get held(): number {
    return this.#queue.size;
  }

  /** A single command: its promise is the ioredis `Command`'s own. `slot`: a cluster's hash slot of its keys. */
  dispatch(cmd: Command, view: ViewRoute, slot = -1): void {
    this.#activity?.touch();
    // `classOf(cmd)`, inlined: this is the path of every command.
    const cls = (cmd as { isReadOnly?: boolean }).isReadOnly === true ? READ : classifyCommand(cmd.name, cmd.args);
    const a = new Attempt(this, cmd.name, cls, view, cmd, null, cmd.resolve, cmd.reject, slot);
    const writes = this.#writes;
    a.tracked = cls.writesData && writes !== null && writes.active;
    // Recorded as issued, not as sent: a read issued after a write that is still held (no master
    // connected yet) must not overtake it on a replica.
    if (a.tracked) a.seq = writes!.record(cmd);
    // ioredis settles a command by calling its `resolve(reply)` or `reject(error)` (instrumentation
    // such as OpenTelemetry's wraps them and calls them detached). They are pointed here once, now,
    // and the caller's own (kept on the attempt) are called once, when the engine settles it:
    // every failure is judged; a reply comes here only when something must happen before the
    // caller sees it — a write's read-your-writes record or durability, a lease or a session to
    // end, SELECT to spread. A plain read's reply, or an untracked write's, goes straight through.
    cmd.reject = (error: Error) => this.#failed(a, error);
    const hearsReply = cls.kind !== 'read' && (cls.kind !== 'write' || a.tracked || view.durability !== null);
    if (hearsReply) cmd.resolve = (value: unknown) => this.#replied(a, value);
    if (commandChannel.hasSubscribers) traceCommand(a as Attempt & { cmd: Command }, this.#begin);
    else if (!this.#try(a)) this.#hold(a);
  }

  /** A pipeline or `multi()` batch, as one unit: one node, one connection, ioredis's `exec()` result. */
  dispatchBatch(commands: Command[], transaction: boolean, view: ViewRoute, slot = -1): Promise<unknown> {
    this.#activity?.touch();
    if (batchChannel.hasSubscribers) {
      const trace = new BatchTrace(transaction, commands, view.policy.name);
      return traceBatch(trace, () => this.#batch(commands, transaction, view, slot, trace));
    }
    return this.#batch(commands, transaction, view, slot, null);
  }

  /** Try everything held again, in arrival order (on any sign that something may go now). */
  drain(): void {
    this.#queue.drain();
  }

  /** Fail everything held with `error` (an error no waiting cures, such as a wrong password). */
  failHeld(error: Error): void {
    this.#queue.failAll(error);
  }

  close(error: Error): void {
    this.#queue.failAll(error);
    const open = this.#session.end();
    if (open !== null) this.#placement.release(open.target, open.conn);
  }

  #begin = (a: Attempt): void => {
    if (!this.#try(a)) this.#hold(a);
  };

  #batch(commands: Command[], transaction: boolean, view: ViewRoute, slot: number, trace: BatchTrace | null): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const a = Attempt.batch(this, commands, transaction, view, resolve, reject, slot);
      const writes = this.#writes;
      a.tracked = !a.cls.readOnly && writes !== null && writes.active;
      // Recorded as issued, as single writes are: a read issued after the batch must not overtake it.
      if (a.tracked) {
        const batch = a.batch!;
        batch.commands.forEach((c, i) => {
          const seq = batch.writesData[i] ? writes!.record(c) : 0;
          if (seq !== 0) (batch.seqs ??= []).push(seq);
        });
      }
      a.trace = trace;
      if (!this.#try(a)) this.#hold(a);
    });
  }

  /** Held, or failed at once by the hold queue's rule (full; `enableOfflineQueue: false` and never sent). */
  #hold(a: Attempt): void {
    if (this.#queue.hold(a)) a.trace?.held();
  }

  // ---------------------------------------------------------------- route and send

  /** @internal one routing decision for `a`, carried out; false when it must wait. */
  tryAttempt(a: Attempt): boolean {
    return this.#try(a);
  }

  #try(a: Attempt): boolean {
    const state = this.#placement.stateFor(a);
    if (typeof state === 'string') {
      a.reason = state;
      return false;
    }
    if (a.notAt !== null && state.master?.address === a.notAt) {
      a.reason = 'no-master';
      return false;
    }
    const readOnly = a.cls.readOnly;
    // Read-your-writes matters only to reads a replica may serve.
    const writes = this.#writes;
    const need = readOnly && a.policy.name !== 'master' && writes !== null ? writes.need(a) : 0;
    // A read that needs a write of ours not sent yet goes where that write goes, behind it: no
    // node has it, and a replica (read while the master is away) would answer from before it.
    const policy = need > 0 && writes!.awaitsUnsent(need) ? MASTER_POLICY : a.policy;
    const d = route(a.cls, state, policy, need);
    if (readOnly) state.turn++;
    switch (d.kind) {
      case 'fail':
        a.reason = null;
        this.unsent(a, d.error);
        return true;
      case 'wait':
        a.reason = d.reason;
        return false;
      case 'send':
        a.reason = null;
        if (need > 0 && d.target === state.master) this.readYourWritesRedirects++;
        return d.lane === 'subscriber' ? this.#subscribe(a, d.target, state) : this.#send(a, d.target, d.lane, state);
    }
  }

  #send(a: Attempt, target: RouteTarget, lane: 'data' | 'blocking' | 'transaction', state: RoutingState): boolean {
    const conn = lane === 'transaction' ? (this.#session.conn ?? this.#beginSession(target, state, a)) : this.#placement.connection(target, lane, a);
    if (conn === null) return this.#notReady(a, target, state);
    a.target = target;
    a.lane = lane;
    a.conn = conn;
    a.atMaster = target === state.master;
    a.pinned = lane === 'transaction';
    a.tries++;
    target.counters.sent++;
    a.trace?.sent(target.address, a.atMaster, a.tries);
    // Hand it to the connection; a durable write gets its WAIT right behind it, on the same one.
    if (a.tries === 1 && a.cls.writesData) this.#firstSendOfWrite(a);
    this.#tick?.before(conn);
    const { cmd, batch } = a;
    if (cmd !== null) {
      conn.sendCommand(cmd);
    } else {
      // A command object settles once: a resend sends copies.
      const commands = a.tries === 1 ? batch!.commands : batch!.commands.map(cloneCommand);
      runPipeline(conn, commands, batch!.transaction).then(
        (result) => this.#batchAnswered(a, result),
        (error: Error) => this.#failed(a, error),
      );
    }
    if (a.durable !== null) conn.sendCommand(this.#waitBehind(a, a.durable));
    return true;
  }

  /**
   * A write's first send: its read-your-writes records (made when it was issued) are sent, so reads
   * that need them no longer wait behind them. Inside a WATCH…EXEC session only EXEC (and a batch)
   * waits for replicas: the commands between MULTI and EXEC are only queued.
   */
  #firstSendOfWrite(a: Attempt): void {
    const writes = this.#writes;
    const { cmd, batch } = a;
    if (a.tracked && writes !== null) {
      if (a.seq !== 0) writes.sent(a.seq);
      if (batch !== null && batch.seqs !== null) writes.sent(batch.seqs);
    }
    const settings = a.view.durability;
    if (settings !== null && !(a.pinned && cmd !== null && a.name !== 'exec')) a.durable = { settings, wait: null, answered: false, reply: undefined, acks: null };
  }

  #subscribe(a: Attempt, target: RouteTarget, state: RoutingState): boolean {
    if (!this.#placement.subscribe(a.cmd!, target)) return this.#notReady(a, target, state);
    // Its outcome is its own: ioredis subscribes again after a reconnect, and the placement
    // wherever subscriptions move.
    a.lane = 'subscriber';
    a.trace?.sent(target.address, target === state.master, a.tries + 1);
    return true;
  }

  #beginSession(target: RouteTarget, state: RoutingState, a: Attempt): Redis | null {
    const conn = this.#placement.connection(target, 'transaction', a);
    if (conn !== null) this.#session.begin(target, conn, state);
    return conn;
  }

  #notReady(a: Attempt, target: RouteTarget, state: RoutingState): false {
    target.ready = false;
    a.reason = target === state.master ? 'master-connecting' : 'replica-connecting';
    return false;
  }

  // ---------------------------------------------------------------- outcomes

  #batchAnswered(a: Attempt, result: unknown): void {
    // ioredis resolves a pipeline whose connection died with the error in each result.
    const lost = pipelineConnectionLoss(result);
    if (lost !== null) {
      this.#failed(a, lost);
      return;
    }
    const own = this.#placement.batchError?.(a, result) ?? null;
    if (own === null) this.#replied(a, result);
    else if (own === 'hold' || !this.#try(a)) this.#hold(a);
  }

  /**
   * `WAIT replicas timeoutMs`, sent right behind `a` on its connection: it counts the replicas
   * that have `a`. Its outcome comes here as `a`'s does, the count or the failure to get one.
   */
  #waitBehind(a: Attempt, durable: DurableWrite): Command {
    const { replicas, timeoutMs } = durable.settings;
    const wait = new Command('wait', [String(replicas), String(timeoutMs)]);
    wait.resolve = (acks: unknown) => this.#acknowledged(a, wait, Number(acks));
    // The write was answered, the count of replicas never came: not known replicated.
    wait.reject = () => this.#acknowledged(a, wait, 0);
    durable.wait = wait;
    durable.answered = false;
    durable.acks = null;
    return wait;
  }

  /** `a` was answered: a single command's reply, or a batch's `exec()` result. */
  #replied(a: Attempt, value: unknown): void {
    const durable = a.durable;
    if (durable !== null) {
      // The WAIT behind it settles it, with the count of replicas that have it.
      durable.reply = value;
      durable.answered = true;
      if (durable.acks !== null) this.#durableSettled(a, durable, durable.acks);
      return;
    }
    if (a.lane !== 'data' || a.pinned) this.#ended(a);
    if (a.seq !== 0 || a.batch !== null) this.#settleWrites(a);
    if (a.cls.kind === 'select') this.#placement.selected(Number(a.cmd!.args[0]), a.conn!);
    a.resolve(value);
  }

  /** The WAIT behind `a` counted `acks` replicas. */
  #acknowledged(a: Attempt, wait: Command, acks: number): void {
    const durable = a.durable!;
    // This WAIT followed an earlier send.
    if (wait !== durable.wait) return;
    // Not answered yet: a batch's result (it settles then), or the write failed (its own error stands).
    if (!durable.answered) durable.acks = acks;
    else this.#durableSettled(a, durable, acks);
  }

  #durableSettled(a: Attempt, durable: DurableWrite, acks: number): void {
    durable.wait = null;
    this.#ended(a);
    this.#settleWrites(a);
    const { replicas, timeoutMs } = durable.settings;
    if (acks < replicas) a.reject(new NotReplicatedError(a.name, acks, replicas, timeoutMs));
    else a.resolve(durable.reply);
  }

  /** `a` failed: its reply was an error, or its connection died. Judged, then acted on. */
  #failed(a: Attempt, error: Error): void {
    this.#ended(a);
    if (a.lane === 'subscriber') {
      a.reject(error);
      return;
    }
    const own = this.#placement.replyError?.(a, error) ?? null;
    if (own !== null) {
      if (own === 'hold' || !this.#try(a)) this.#hold(a);
      return;
    }
    const target = a.target;
    if (target !== null) target.counters.errors++;
    const where = target?.address ?? '?';
    switch (judge(error, a)) {
      case 'resend-read':
        this.#placement.observed('connection-lost', where);
        if (!this.#try(a)) this.#hold(a);
        return;
      case 'resend-on-master':
        a.policy = MASTER_POLICY;
        if (!this.#try(a)) this.#hold(a);
        return;
      case 'hold-for-master':
        debug('%s answered READONLY: it is no longer the master', where);
        this.#placement.observed('readonly', where);
        a.notAt = where;
        a.heldBecause = error;
        this.#hold(a);
        return;
      case 'maybe-applied':
        this.#placement.observed('connection-lost', where);
        this.#settleWrites(a);
        a.reject(new MaybeAppliedError(a.name, where, { cause: error }));
        return;
      case 'pass-through':
        this.#settleWrites(a);
        a.reject(error);
        return;
    }
  }

  /** @internal never sent, or routing failed it: as ioredis, an unsent pipeline resolves with the error for each command. */
  unsent(a: Attempt, error: Error): void {
    this.#settleWrites(a);
    const batch = a.batch;
    if (batch !== null && !batch.transaction) a.resolve(unsentResult(batch.commands, error));
    else a.reject(error);
  }

  /** Whatever the attempt held ends with its outcome: a leased connection goes back; EXEC, DISCARD or UNWATCH (or a transaction batch) ends the session. */
  #ended(a: Attempt): void {
    if (a.lane === 'blocking' && a.conn !== null) {
      this.#placement.release(a.target!, a.conn);
      a.conn = null;
    } else if (a.pinned && (a.batch !== null ? a.batch.transaction : endsSession(a.name))) {
      const open = this.#session.end();
      if (open !== null) this.#placement.release(open.target, open.conn);
      this.drain();
    }
  }

  #settleWrites(a: Attempt): void {
    const writes = this.#writes;
    if (writes === null) return;
    if (a.seq !== 0) writes.settled(a.seq);
    a.seq = 0;
    const batch = a.batch;
    if (batch !== null && batch.seqs !== null) {
      writes.settled(batch.seqs);
      batch.seqs = null;
    }
  }

  /**
   * @internal why `a` waits, as an error: the READONLY that made it wait, else the placement's
   * account (the connection error of the node it waits for, the last discovery error, …).
   */
  waitCause(a: Attempt): Error | undefined {
    return a.heldBecause ?? this.#placement.waitCause(a);
  }
}
