import { Command, type Redis } from 'ioredis';
import createDebug from 'debug';
import { MaybeAppliedError, OfflineError } from '../errors.js';
import type { DurabilitySettings } from '../options-types.js';
import type { NodeConnections, NodePool } from '../pool/node-pool.js';
import { READ, WRITE } from '../routing/classify.js';
import type { ConsistencyMonitor } from '../routing/consistency-monitor.js';
import { parseReadFrom } from '../routing/read-policy.js';
import { route, routeTarget, type RouteTarget, type RoutingState, type SendDecision, type WriteGate } from '../routing/route.js';
import type { RoutingTable } from '../routing/router.js';
import { cork, runPipeline } from './wire.js';
import { WriteStages } from './write-stages.js';
import { noop } from '../util.js';
import { batchChannel, BatchTrace, commandChannel, traceBatch, traceCommand } from '../observability/channels.js';
import { Attempt, BatchAttempt, classOf, cloneCommand, pipelineConnectionLoss, SingleAttempt, waitError, type AttemptHost, type ViewRoute } from './attempt.js';
import { HoldQueue, type Holdable } from './hold-queue.js';
import { judge } from './judge.js';
import { Subscriptions, type MessageSink } from './subscriptions.js';
import { TransactionSession } from './transaction.js';

const debug = createDebug('redis-failover:router');
const MASTER_POLICY = parseReadFrom('master');

/** Where the dispatcher reports what it sees: a connection lost under a command, say. */
export interface DispatchSignals {
  signal(reason: string): void;
}

export interface DispatcherSettings {
  pool: NodePool;
  consistency: ConsistencyMonitor | null;
  signals: DispatchSignals;
  onMessage: MessageSink;
  maxQueuedCommands: number;
  /** How long a held command may wait; null: as long as it takes (bounded in number only). */
  holdTimeoutMs: number | null;
  /** `enableOfflineQueue: false`: a command that would have to wait fails at once instead. */
  offlineQueue: boolean;
  /** `enableAutoPipelining`: one socket write per connection per tick. */
  autoPipelining: boolean;
  /** SELECT succeeded: the client's `options.db` follows. */
  onSelect(db: number): void;
  /** Counts the application's commands (the failure watch follows the client's pace). */
  activity?: { touch(): void };
}

/**
 * Carries out routing decisions: asks `route()` where each command goes, sends it there on the
 * lane it names, holds it while it must wait, and after a failed attempt does what `judge()` says.
 * After a reply the same ordered stages run for single commands and batches: the durability wait,
 * then the read-your-writes record, then the caller's promise settles.
 */
export class Dispatcher implements AttemptHost {
  readonly state: RoutingState = { known: false, master: null, replicas: [], gate: null, pinned: null, fatal: null, turn: 0 };
  #settings: DispatcherSettings;
  #queue: HoldQueue;
  #session = new TransactionSession();
  #subscriptions: Subscriptions;
  #lastError: Error | null = null;
  #writes: WriteStages;
  /** Some view reads from replicas: read-your-writes must track this client's writes. */
  #readsFromReplicas = false;
  /** Reads that read-your-writes sent to the master (`stats()`). */
  readYourWritesRedirects = 0;

  constructor(settings: DispatcherSettings) {
    this.#settings = settings;
    this.#queue = new HoldQueue({ limit: settings.maxQueuedCommands, timeoutMs: settings.holdTimeoutMs });
    this.#subscriptions = new Subscriptions(settings.onMessage);
    this.#writes = new WriteStages(settings.consistency);
  }

  get held(): number {
    return this.#queue.size;
  }

  /** The client has subscriptions on a RESP2 connection: it is in ioredis's subscriber mode. */
  get subscriberMode(): boolean {
    return this.#subscriptions.active && this.#subscriptions.resp2;
  }

  get readsFromReplicas(): boolean {
    return this.#readsFromReplicas;
  }

  /** A view reads from replicas: open their connections and track writes from now on. */
  readFromReplicas(): void {
    if (this.#readsFromReplicas) return;
    this.#readsFromReplicas = true;
    for (const t of this.state.replicas) this.#settings.pool.node(t.node).open();
  }

  // ---------------------------------------------------------------- state

  /** A new picture: new targets, connections opened, subscriptions moved, held commands tried. */
  setTable(table: RoutingTable): void {
    const { pool } = this.#settings;
    const state = this.state;
    state.known = true;
    state.master = table.master === null ? null : routeTarget(table.master, true);
    state.replicas = table.replicas.map((r) => routeTarget(r, false));
    if (table.master !== null) pool.node(table.master).open();
    if (this.#readsFromReplicas) for (const r of table.replicas) pool.node(r).open();
    this.#settings.consistency?.setNodes(table.master, table.replicas);
    this.syncReadiness();
    this.syncProgress();
    const master = table.master === null ? null : pool.node(table.master);
    // Subscriptions live on the master: re-made there after a failover.
    this.#subscriptions.follow(master);
  }

  /** Connection readiness changed somewhere: refresh every target's flag, then try what waits. */
  syncReadiness(): void {
    const { pool } = this.#settings;
    const { master, replicas } = this.state;
    if (master !== null) master.ready = pool.get(master.address)?.ready === true;
    for (const t of replicas) t.ready = pool.get(t.address)?.ready === true;
  }

  /** New offset samples: which replicas have this session's writes, and are within the lag bound. */
  syncProgress(): void {
    this.#writes.syncProgress(this.state.replicas);
  }

  /** About to promote another node: nothing more goes to `address` until the new picture. */
  dropMaster(address: string): void {
    if (this.state.master?.address === address) this.state.master = null;
  }

  setGate(gate: WriteGate | null): void {
    this.state.gate = gate;
  }

  /** An error no waiting cures (a wrong password): fail what waits and what comes. */
  setFatal(error: Error | null): void {
    this.state.fatal = error;
    if (error !== null) this.#queue.failAll(error);
  }

  /** The last discovery error: the cause a held command reports if it times out. */
  setLastError(error: Error | null): void {
    this.#lastError = error;
  }

  /** Try everything held again, in arrival order. */
  drain(): void {
    this.#queue.drain();
  }

  close(error: Error): void {
    this.#queue.failAll(error);
    this.#session.end();
    this.#subscriptions.clear();
  }

  // ---------------------------------------------------------------- single commands

  dispatch(cmd: Command, view: ViewRoute): void {
    this.#settings.activity?.touch();
    const a = new SingleAttempt(this, cmd, classOf(cmd), view);
    if (commandChannel.hasSubscribers) traceCommand(a, this.#begin);
    else if (!this.#try(a)) this.#hold(a);
  }

  #begin = (a: SingleAttempt): void => {
    if (!this.#try(a)) this.#hold(a);
  };

  #hold(a: Holdable & Attempt): void {
    // Without an offline queue only a command that has not been sent yet fails for waiting; one
    // that met -READONLY or lost its connection is this client's to carry on.
    if (!this.#settings.offlineQueue && a.tries === 0) {
      a.fail(new OfflineError({ cause: this.waitCause(a) }));
      return;
    }
    a.trace?.held();
    this.#queue.hold(a);
  }

  /** @internal one routing decision for `a`, carried out; false when it must wait. */
  tryAttempt(a: SingleAttempt | BatchAttempt): boolean {
    return a instanceof SingleAttempt ? this.#try(a) : this.#tryBatch(a);
  }

  #decide(a: Attempt, cmds: Command | readonly Command[]): SendDecision | null {
    const state = this.state;
    if (a.notAt !== null && state.master?.address === a.notAt) {
      a.reason = 'no-master';
      return null;
    }
    const need = a.cls.readOnly ? this.#writes.need(a.policy, cmds) : 0;
    const decision = route(a.cls, state, a.policy, need);
    if (a.cls.readOnly) state.turn++;
    switch (decision.kind) {
      case 'fail':
        a.reason = null;
        (a as SingleAttempt | BatchAttempt).fail(decision.error);
        return null;
      case 'wait':
        a.reason = decision.reason;
        return null;
      case 'send':
        a.reason = null;
        if (need > 0 && decision.target === state.master) this.readYourWritesRedirects++;
        return decision;
    }
  }

  #try(a: SingleAttempt): boolean {
    const d = this.#decide(a, a.cmd);
    if (d === null) return a.reason === null;
    const node = this.#settings.pool.get(d.target.address);
    if (node === undefined) return this.#notReady(a, d);
    const cmd = a.cmd;
    let conn: Redis | null;
    switch (d.lane) {
      case 'data':
        conn = node.data();
        break;
      case 'blocking': {
        conn = node.ready ? node.lease('blocking') : null;
        if (conn !== null) {
          const leased = conn;
          const release = (): void => node.release(leased);
          cmd.promise.then(release, release);
        }
        break;
      }
      case 'transaction':
        conn = this.#session.target !== null ? this.#session.conn : node.ready ? this.#beginSession(d.target, node) : null;
        break;
      case 'subscriber':
        if (!node.ready) return this.#notReady(a, d);
        this.#subscriptions.track(cmd.name, cmd.args);
        a.trace?.sent(node.address, d.target === this.state.master, a.tries + 1);
        this.#subscriptions.connFor(node).sendCommand(cmd);
        return true;
    }
    if (conn === null) return this.#notReady(a, d);
    a.target = d.target;
    a.atMaster = d.target === this.state.master;
    a.pinned = d.lane === 'transaction';
    a.tries++;
    node.counters.sent++;
    a.trace?.sent(node.address, a.atMaster, a.tries);
    if (a.pinned && this.#session.endsWith(cmd.name)) this.#session.endAfter(cmd.promise, () => this.#sessionEnded());
    this.#write(conn, a);
    if (a.cls.kind === 'select') this.#selected(cmd, conn);
    return true;
  }

  /** After SELECT: every connection, now and later, leased ones too, uses the selected database. */
  #selected(cmd: Command, origin: Redis): void {
    const db = Number(cmd.args[0]);
    cmd.promise.then(() => {
      this.#settings.pool.select(db, origin);
      this.#settings.onSelect(db);
    }, noop);
  }

  #beginSession(target: RouteTarget, node: NodeConnections): Redis {
    const conn = this.#session.begin(target, node);
    this.state.pinned = target;
    return conn;
  }

  #sessionEnded(): void {
    this.state.pinned = this.#session.target;
    this.drain();
  }

  #notReady(a: Attempt, d: SendDecision): false {
    d.target.ready = false;
    a.reason = d.target === this.state.master ? 'master-connecting' : 'replica-connecting';
    return false;
  }

  /** Hand the command to its connection; a durable write gets its WAIT right behind it. */
  #write(conn: Redis, a: SingleAttempt): void {
    const cmd = a.cmd;
    if (a.tries === 1) a.intercept();
    if (this.#settings.autoPipelining) cork(conn);
    conn.sendCommand(cmd);
    const durability = a.durability;
    if (durability !== null) {
      const wait = new Command('wait', [String(durability.replicas), String(durability.timeoutMs)]);
      conn.sendCommand(wait);
      wait.promise.then(
        (acks) => a.acknowledged(Number(acks)),
        // The write was acknowledged, the count of replicas never came: not known replicated.
        () => a.acknowledged(0),
      );
    }
  }

  /** @internal a single attempt failed: what now. */
  failed(a: SingleAttempt, error: Error): void {
    const verdict = judge(error, a);
    const where = a.target?.address ?? '?';
    this.#failedAt(where);
    if (verdict === 'resend-read' || verdict === 'maybe-applied') this.#settings.signals.signal(`connection to ${where} lost`);
    switch (verdict) {
      case 'resend-read':
        if (!this.#try(a)) this.#hold(a);
        return;
      case 'resend-on-master':
        a.policy = MASTER_POLICY;
        if (!this.#try(a)) this.#hold(a);
        return;
      case 'hold-for-master':
        debug('%s answered READONLY: it is no longer the master', where);
        this.#settings.signals.signal(`READONLY from ${where}`);
        a.notAt = where;
        a.heldBecause = error;
        this.#hold(a);
        return;
      case 'maybe-applied':
        a.settle(new MaybeAppliedError(a.name, where, { cause: error }));
        return;
      case 'pass-through':
        a.settle(error);
        return;
    }
  }

  /** Read-your-writes: a write is recorded as it is sent, so that reads issued after it need it. */
  record(cmd: Command): number {
    return this.#readsFromReplicas ? this.#writes.record(cmd) : 0;
  }

  finishWrite(seqs: number | readonly number[], name: string, durability: DurabilitySettings | null, acks: number): Error | null {
    return this.#writes.finish(seqs, name, durability, acks);
  }

  settled(seqs: number | readonly number[]): void {
    this.#writes.settled(seqs);
  }

  /**
   * @internal why `a` waits, as an error, caused by the connection error of the node it waits for
   * (ECONNREFUSED …), else by the last discovery error — before any picture, the whole reason.
   */
  waitCause(a: Attempt): Error | undefined {
    if (a.heldBecause !== null) return a.heldBecause;
    if (a.reason === 'no-topology' && this.#lastError !== null) return this.#lastError;
    const { master, replicas } = this.state;
    const waitsFor = a.reason === 'replica-connecting' ? replicas : master === null ? [] : [master];
    const nodeError = waitsFor.map((t) => this.#settings.pool.get(t.address)?.lastError).find((e) => e);
    return waitError(a.reason, master?.address ?? null, nodeError ?? this.#lastError);
  }

  // ---------------------------------------------------------------- batches

  dispatchBatch(commands: Command[], transaction: boolean, view: ViewRoute): Promise<unknown> {
    this.#settings.activity?.touch();
    if (batchChannel.hasSubscribers) {
      const trace = new BatchTrace(transaction, commands, view.policy.name);
      return traceBatch(trace, () => this.#batch(commands, transaction, view, trace));
    }
    return this.#batch(commands, transaction, view, null);
  }

  #batch(commands: Command[], transaction: boolean, view: ViewRoute, trace: BatchTrace | null): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const classes = commands.map(classOf);
      const readOnly = !transaction && classes.length > 0 && classes.every((c) => c.kind === 'read');
      const a = new BatchAttempt(this, commands, classes.map((c) => c.writesData), transaction, readOnly ? READ : WRITE, view, resolve, reject);
      a.trace = trace;
      if (!this.#tryBatch(a)) this.#hold(a);
    });
  }

  #tryBatch(a: BatchAttempt): boolean {
    const d = this.#decide(a, a.commands);
    if (d === null) return a.reason === null;
    const node = this.#settings.pool.get(d.target.address);
    const conn = d.lane === 'transaction' ? this.#session.conn : (node?.data() ?? null);
    if (conn === null) return this.#notReady(a, d);
    const batch = a.tries === 0 ? a.commands : a.commands.map(cloneCommand);
    if (a.tries === 0 && !a.readOnly) {
      for (const c of a.writes(batch)) {
        const seq = this.record(c);
        if (seq !== 0) a.seqs.push(seq);
      }
    }
    a.target = d.target;
    a.atMaster = d.target === this.state.master;
    a.pinned = d.lane === 'transaction';
    a.tries++;
    if (node !== undefined) node.counters.sent++;
    a.trace?.sent(d.target.address, a.atMaster, a.tries);
    const durability = a.readOnly ? null : a.view.durability;
    const executed = runPipeline(conn, batch, a.transaction);
    // `durability`: one WAIT for the whole batch, right behind it on the same connection.
    const waited = durability === null ? null : conn.call('WAIT', durability.replicas, durability.timeoutMs).then(Number, () => 0);
    executed.then(
      async (result) => {
        // A transaction run inside a WATCH session ends the session, as EXEC does.
        if (a.pinned && a.transaction) this.#endSession();
        const lost = pipelineConnectionLoss(result);
        if (lost === null) {
          const acks = waited === null ? 0 : await waited;
          const error = a.readOnly ? null : this.finishWrite(a.seqs, a.name, durability, acks);
          if (error !== null) a.reject(error);
          else a.resolve(result);
          return;
        }
        this.#batchFailed(a, lost);
      },
      (error: Error) => {
        if (a.pinned && a.transaction) this.#endSession();
        this.#batchFailed(a, error);
      },
    );
    return true;
  }

  /** `stats()`: an application command failed at `where`. */
  #failedAt(where: string): void {
    this.#settings.pool.countError(where);
  }

  #endSession(): void {
    this.#session.end();
    this.#sessionEnded();
  }

  #batchFailed(a: BatchAttempt, error: Error): void {
    const verdict = judge(error, a);
    const where = a.target?.address ?? '?';
    this.#failedAt(where);
    if (verdict === 'resend-read' || verdict === 'maybe-applied') this.#settings.signals.signal(`connection to ${where} lost`);
    if (verdict === 'resend-read') {
      if (!this.#tryBatch(a)) this.#hold(a);
    } else if (verdict === 'maybe-applied') {
      this.settled(a.seqs);
      a.reject(new MaybeAppliedError(a.name, where, { cause: error }));
    } else {
      this.settled(a.seqs);
      a.reject(error);
    }
  }
}
