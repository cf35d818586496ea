import { Redis, Command, ScanStream, type ChainableCommander, type RedisCommander, type RedisOptions, type ScanStreamOptions } from 'ioredis';
import { EventEmitter } from 'eventemitter3';
import createDebug from 'debug';
import { installCommands } from './commands.js';
import {
  ClosedError,
  CommandTimeoutError,
  InvalidOptionError,
  MaybeAppliedError,
  NotReplicatedError,
  QueueFullError,
} from './errors.js';
import { ConsistencyMonitor } from './routing/consistency-monitor.js';
import type { FailoverRedisEvents } from './events.js';
import { FailoverCoordinator } from './failover/coordinator.js';
import { isAuthError, isConnectionLoss, isReadOnlyError, isRetryableReadError } from './failover/signals.js';
import type { HandoverOptions, SwitchoverResult } from './failover/switchover.js';
import { resolveOptions, type ResolvedOptions } from './options.js';
import type { DurabilitySettings, FailoverRedisOptions, ReadFrom } from './options-types.js';
import { FailoverPipeline, type PipelineHost } from './pipeline.js';
import { defaultConnectionFactory, NodePool, type ConnectionFactory, type NodeConnections } from './pool/node-pool.js';
import { classifyCommand, type CommandClass } from './routing/classify.js';
import { parseReadFrom, type ReadPolicy } from './routing/read-policy.js';
import { buildRoutingTable, chooseReadNode, resolveLag, type ResolvedLag, type RoutingTable } from './routing/router.js';
import { formatAddress, type HostPort } from './topology/address.js';
import type { TopologyChange } from './topology/diff.js';
import { TopologyManager } from './topology/manager.js';
import { NodesProvider } from './topology/nodes-provider.js';
import type { TopologyProvider } from './topology/provider.js';
import { SentinelProvider } from './topology/sentinel-provider.js';
import type { NodeState, Topology } from './topology/types.js';
import { asCallback, noop } from './util.js';

const debug = createDebug('redis-failover:router');

export type FailoverRedisStatus = 'wait' | 'connecting' | 'connect' | 'ready' | 'reconnecting' | 'close' | 'end';

/** Internal extension points (not part of the stable API): swap the connection factory in tests. */
export interface FailoverRedisInternals {
  connectionFactory?: ConnectionFactory;
}

type Callback<T> = (err: Error | null, result?: T) => void;

/** A command (or pipeline) waiting for a node: tried again on every sign of one. */
interface Held {
  name: string;
  attempt(): boolean;
  fail(error: Error): void;
  timer: NodeJS.Timeout | null;
}

const SUBSCRIBE_KINDS = ['subscribe', 'psubscribe', 'ssubscribe'] as const;
type SubscribeKind = (typeof SUBSCRIBE_KINDS)[number];
const UNSUBSCRIBE: Record<string, SubscribeKind> = { unsubscribe: 'subscribe', punsubscribe: 'psubscribe', sunsubscribe: 'ssubscribe' };
const MESSAGE_EVENTS = ['message', 'messageBuffer', 'pmessage', 'pmessageBuffer', 'smessage', 'smessageBuffer'] as const;

/** How many times a read is moved to another node after its connection died under it. */
const READ_RETRIES = 2;
const READ_CLASS: CommandClass = Object.freeze({ kind: 'read', readOnly: true, writesData: false });

/** A view with another read policy over the same connections (`withReadFrom`). */
export interface FailoverRedisView extends RedisCommander<{ type: 'default' }> {
  pipeline(commands?: unknown[][]): ChainableCommander;
  multi(commands?: unknown[][]): ChainableCommander;
  withReadFrom(readFrom: ReadFrom): FailoverRedisView;
  withDurability(durability: DurabilitySettings): FailoverRedisView;
}

/** How the commands of a client or view travel: its read policy and write durability. */
interface Route {
  readonly policy: ReadPolicy;
  readonly durability: DurabilitySettings | null;
}

function resolveDurability(d: DurabilitySettings): DurabilitySettings {
  if (!Number.isInteger(d?.replicas) || d.replicas < 1) throw new InvalidOptionError('durability.replicas', 'must be an integer ≥ 1');
  if (!Number.isInteger(d.timeoutMs) || d.timeoutMs < 0) throw new InvalidOptionError('durability.timeoutMs', 'must be an integer ≥ 0 (ms)');
  return Object.freeze({ replicas: d.replicas, timeoutMs: d.timeoutMs });
}

// Declaration merging gives the class ioredis's typed command methods (installed at runtime below).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface FailoverRedis extends Omit<RedisCommander<{ type: 'default' }>, 'multi' | 'pipeline' | 'exec'> {}

/**
 * A Redis client for one master with replicas: discovers the set from any member (or Sentinel),
 * sends writes to the master and reads by the read policy, and looks like ioredis to its caller.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class FailoverRedis extends EventEmitter<FailoverRedisEvents> implements PipelineHost {
  /** ioredis-compatible: the data connections' options (`keyPrefix` is applied here, once). */
  readonly options: RedisOptions;
  /** ioredis-compatible: scripts added with `defineCommand`. */
  readonly scriptsSet: Record<string, unknown> = {};
  readonly addedBuiltinSet = new Set<string>();
  readonly isCluster = false;

  #input: string | FailoverRedisOptions | undefined;
  #extra: FailoverRedisOptions | undefined;
  #internals: FailoverRedisInternals;
  #opts: ResolvedOptions;
  #route: Route;
  #status: FailoverRedisStatus = 'wait';
  #pool: NodePool;
  #manager: TopologyManager;
  #coordinator: FailoverCoordinator;
  /** Read-your-writes and fresh lag bounds; null with `consistency: 'eventual'` and no bound. */
  #consistency: ConsistencyMonitor | null = null;
  /** The master stopped answering: writes wait (not sent into a void) until it answers or is replaced. */
  #writesPaused = false;
  /** A switchover is under way: writes wait for the new master. */
  #switching = false;
  #lag: ResolvedLag;
  #table: RoutingTable | null = null;
  #masterNode: NodeConnections | null = null;
  #turn = 0;
  #held: Held[] = [];
  #lastError: Error | null = null;
  #fatal: Error | null = null;
  #readsFromReplicas: boolean;
  #autoPipelining: boolean;
  #subscriber: { node: NodeConnections; conn: Redis } | null = null;
  #subscriptions: Record<SubscribeKind, Set<string>> = { subscribe: new Set(), psubscribe: new Set(), ssubscribe: new Set() };
  #tx: { node: NodeConnections; conn: Redis } | null = null;
  /** `connect()` callers: settled when ready, or when the first discovery fails. */
  #connectWaiters: { resolve(): void; reject(error: Error): void }[] = [];
  #retries = new WeakMap<Command, number>();
  readonly #isReady = (node: NodeState): boolean => this.#pool.get(node.address)?.ready === true;

  constructor(url: string, options?: FailoverRedisOptions);
  constructor(options: FailoverRedisOptions);
  constructor(input: string | FailoverRedisOptions, extra?: FailoverRedisOptions, internals?: FailoverRedisInternals);
  constructor(input: string | FailoverRedisOptions, extra?: FailoverRedisOptions, internals: FailoverRedisInternals = {}) {
    super();
    this.#input = input;
    this.#extra = extra;
    this.#internals = internals;
    this.#opts = resolveOptions(input, extra);
    this.#route = Object.freeze({ policy: this.#opts.readFrom, durability: this.#opts.durability });
    const redisOptions = this.#opts.redisOptions;
    this.#autoPipelining = redisOptions.enableAutoPipelining === true;
    // Commands are batched per connection below (socket cork), after routing; ioredis's own
    // auto-pipelining would batch reads and writes together before we could route them.
    this.options = { ...redisOptions, enableAutoPipelining: false };
    this.#lag = resolveLag({ bytes: this.#opts.maxReplicaLag.bytes ?? undefined, ms: this.#opts.maxReplicaLag.ms ?? undefined });
    this.#readsFromReplicas = this.#opts.readFrom.name !== 'master';

    this.#pool = new NodePool({
      redisOptions: { ...redisOptions },
      poolSize: this.#opts.poolSize,
      factory: internals.connectionFactory ?? defaultConnectionFactory,
      hooks: {
        onReady: (node) => this.#onNodeReady(node),
        onClose: (node, purpose) => this.#onNodeClose(node, purpose),
        onError: (node, purpose, error) => {
          debug('%s %s connection: %s', node.address, purpose, error.message);
          if (purpose === 'data') this.#emitError(error);
        },
      },
    });
    const mapAddress = (announced: HostPort): HostPort => this.#opts.natMap.get(formatAddress(announced.host, announced.port)) ?? announced;
    const downAfterMs = this.#opts.failover.downAfterMs;
    const probeTimeoutMs = Math.min(Math.max(downAfterMs, 500), 5000);
    const connectTimeoutMs = (redisOptions.connectTimeout ?? 10_000) + 1000;
    const provider: TopologyProvider =
      this.#opts.mode === 'sentinel'
        ? new SentinelProvider({
            sentinels: this.#opts.seeds,
            name: this.#opts.name!,
            sentinelOptions: this.#opts.sentinelOptions,
            pool: this.#pool,
            mapAddress,
            probeTimeoutMs: Math.max(probeTimeoutMs, 1000),
            connectTimeoutMs,
            connectionFactory: internals.connectionFactory,
          })
        : new NodesProvider({
            seeds: this.#opts.seeds,
            pool: this.#pool,
            mapAddress,
            probeTimeoutMs,
            connectTimeoutMs,
            // The heartbeat already knows the master is silent: do not wait the full probe for it.
            quickProbe: (address) => this.#coordinator.masterSuspect && address === this.#masterNode?.address,
          });
    this.#manager = new TopologyManager({
      provider,
      refreshIntervalMs: this.#opts.refreshIntervalMs,
      onTopology: (next, previous, changes) => this.#onTopology(next, previous, changes),
      onError: (error) => this.#onDiscoveryError(error),
      onSignal: (reason) => this.#coordinator.signal(reason),
    });
    if (this.#opts.consistency === 'read-your-writes' || this.#lag.bytes !== null || this.#lag.ms !== null) {
      this.#consistency = new ConsistencyMonitor({
        pool: this.#pool,
        readYourWrites: this.#opts.consistency === 'read-your-writes',
        lag: this.#lag,
        probeTimeoutMs,
        onProgress: () => this.#drain(),
      });
    }
    this.#coordinator = new FailoverCoordinator({
      provider,
      promote: this.#opts.failover.promote,
      downAfterMs,
      quorum: this.#opts.failover.quorum,
      pool: this.#pool,
      manager: this.#manager,
      onSuspect: (suspect) => {
        this.#writesPaused = suspect;
        if (!suspect) this.#drain();
      },
      onFailover: (event) => this.emit('failover', event),
      onWarning: (event) => this.emit('warning', event),
      onError: (error) => this.#emitError(error),
      beforePromote: (old) => {
        if (this.#masterNode?.address === old) this.#masterNode = null;
        this.#pool.remove(old).catch(noop);
      },
    });
    if (!redisOptions.lazyConnect) this.connect().catch(noop);
  }

  /** ioredis-compatible connection status. */
  get status(): FailoverRedisStatus {
    return this.#status;
  }

  /** Start discovery and connect (automatic unless `redisOptions.lazyConnect`). Resolves when ready. */
  connect(callback?: Callback<void>): Promise<void> {
    if (this.#status === 'end' || this.#status === 'close') return asCallback(Promise.reject(new ClosedError()), callback);
    if (this.#status === 'ready') return asCallback(Promise.resolve(), callback);
    const waiting = new Promise<void>((resolve, reject) => this.#connectWaiters.push({ resolve, reject }));
    if (this.#status === 'wait') {
      this.#status = 'connecting';
      this.#manager.start();
      this.#manager.request('connect');
    }
    return asCallback(waiting, callback);
  }

  /** The current picture: master, replicas, and where it came from. A copy: safe to keep. */
  topology(): Topology {
    const t = this.#manager.current;
    if (t === null) return { master: null, replicas: [], source: this.#opts.mode };
    return structuredClone(t);
  }

  /** Re-read the topology now. */
  async refreshTopology(): Promise<Topology> {
    await this.#manager.refresh('refreshTopology()');
    return this.topology();
  }

  /**
   * The runbook's manual promotion, done right: `REPLICAOF NO ONE` on `address` (a replica), then
   * `REPLICAOF` on the other replicas (and on the old master if it is up). Client mode only;
   * with Sentinel, use `switchover()`.
   */
  async promote(address: string): Promise<Topology> {
    await this.#coordinator.promote(address);
    return this.topology();
  }

  /**
   * The runbook's last step: make `address` (an old master that came back, or a replica following
   * the wrong node) a replica of the current master (`REPLICAOF`). In auto mode the client does
   * this by itself; this is for manual mode and operators.
   */
  async demote(address: string): Promise<Topology> {
    await this.#coordinator.demote(address);
    return this.topology();
  }

  /**
   * A planned handover to `to` (or the best replica): writes issued meanwhile are held and land
   * on the new master; no acknowledged write is lost. With Sentinel: `SENTINEL FAILOVER`.
   */
  async switchover(options: HandoverOptions = {}): Promise<SwitchoverResult> {
    this.#switching = true;
    try {
      const result = await this.#coordinator.switchover(options);
      // Writes resume once the client itself has the new master.
      const deadline = performance.now() + (options.timeoutMs ?? 5000);
      while (this.#masterNode?.address !== result.to || !this.#masterNode.ready) {
        if (performance.now() > deadline) break;
        await this.#manager.refresh('switchover done').catch(noop);
        if (this.#masterNode?.address !== result.to || !this.#masterNode.ready) await new Promise((r) => setTimeout(r, 10));
      }
      return result;
    } finally {
      this.#switching = false;
      this.#drain();
    }
  }

  /** The same client with another read policy for the calls made through it. */
  withReadFrom(readFrom: ReadFrom): FailoverRedisView {
    return this.#view({ ...this.#route, policy: parseReadFrom(readFrom) });
  }

  /**
   * The same client whose writes made through it resolve only once `replicas` replicas have them
   * (`WAIT replicas timeoutMs`), else reject with `NotReplicatedError`.
   */
  withDurability(durability: DurabilitySettings): FailoverRedisView {
    return this.#view({ ...this.#route, durability: resolveDurability(durability) });
  }

  /** @internal */
  #view(route: Route): FailoverRedisView {
    if (route.policy.name !== 'master' && !this.#readsFromReplicas) {
      this.#readsFromReplicas = true;
      this.#openReplicas();
    }
    return new FailoverView(this, route, (cmd, r) => this.#dispatch(cmd, r), (cmds, tx, r) => this.#execPipeline(cmds, tx, r)) as unknown as FailoverRedisView;
  }

  pipeline(commands?: unknown[][]): ChainableCommander {
    const pipeline = new FailoverPipeline(this, false);
    if (commands) pipeline.addBatch(commands);
    return pipeline as unknown as ChainableCommander;
  }

  multi(options: { pipeline: false }): Promise<'OK'>;
  multi(commands?: unknown[][] | { pipeline?: boolean }): ChainableCommander;
  multi(commands?: unknown[][] | { pipeline?: boolean }): ChainableCommander | Promise<'OK'> {
    if (commands && !Array.isArray(commands) && commands.pipeline === false) {
      return this.sendCommand(new Command('multi', [], { replyEncoding: 'utf8' })) as Promise<'OK'>;
    }
    const pipeline = new FailoverPipeline(this, true);
    if (Array.isArray(commands)) pipeline.addBatch(commands);
    return pipeline as unknown as ChainableCommander;
  }

  /**
   * `EXEC` after `multi({ pipeline: false })`: ioredis's result shape, `[[err, result], …]`
   * (null when a WATCHed key changed).
   */
  exec(callback?: Callback<[Error | null, unknown][] | null>): Promise<[Error | null, unknown][] | null> {
    const raw = this.sendCommand(new Command('exec', [], { replyEncoding: 'utf8' })) as Promise<unknown[] | null>;
    return asCallback(raw.then(wrapMultiResult), callback);
  }

  /** ioredis-compatible entry point of every command method. */
  sendCommand(command: Command): Promise<unknown> {
    return this.#dispatch(command, this.#route);
  }

  /** @internal the pipeline's way back in. */
  execPipeline(commands: Command[], transaction: boolean): Promise<unknown> {
    return this.#execPipeline(commands, transaction, this.#route);
  }

  scanStream(options?: ScanStreamOptions): ScanStream {
    return this.#scanStream('scan', undefined, options);
  }
  scanBufferStream(options?: ScanStreamOptions): ScanStream {
    return this.#scanStream('scanBuffer', undefined, options);
  }
  sscanStream(key: string, options?: ScanStreamOptions): ScanStream {
    return this.#scanStream('sscan', key, options);
  }
  sscanBufferStream(key: string, options?: ScanStreamOptions): ScanStream {
    return this.#scanStream('sscanBuffer', key, options);
  }
  hscanStream(key: string, options?: ScanStreamOptions): ScanStream {
    return this.#scanStream('hscan', key, options);
  }
  hscanBufferStream(key: string, options?: ScanStreamOptions): ScanStream {
    return this.#scanStream('hscanBuffer', key, options);
  }
  zscanStream(key: string, options?: ScanStreamOptions): ScanStream {
    return this.#scanStream('zscan', key, options);
  }
  zscanBufferStream(key: string, options?: ScanStreamOptions): ScanStream {
    return this.#scanStream('zscanBuffer', key, options);
  }

  /** A new client with the same options (its own connections), as ioredis's `duplicate()`. */
  duplicate(override?: FailoverRedisOptions): FailoverRedis {
    const extra = override ? { ...this.#extra, ...override } : this.#extra;
    return new FailoverRedis(this.#input as FailoverRedisOptions, extra, this.#internals);
  }

  /** Close gracefully: replies in flight are awaited; commands still waiting for a node fail. */
  quit(callback?: Callback<'OK'>): Promise<'OK'> {
    return asCallback(this.#close(true).then(() => 'OK' as const), callback);
  }

  /** Close now: commands in flight fail. */
  disconnect(): void {
    this.#close(false).catch(noop);
  }

  /** ioredis alias of `disconnect()`. */
  end(): void {
    this.disconnect();
  }

  // ---------------------------------------------------------------- dispatch

  #dispatch(cmd: Command, route: Route): Promise<unknown> {
    if (this.#status === 'end' || this.#status === 'close') {
      cmd.reject(new ClosedError());
      return cmd.promise;
    }
    if (this.#status === 'wait') this.connect().catch(noop);
    this.#sendOrHold(cmd, classOf(cmd), route);
    return cmd.promise;
  }

  /** Send the command now if its node is ready; false when it has to wait. */
  #trySend(cmd: Command, cls: CommandClass, route: Route): boolean {
    if (this.#fatal !== null) {
      cmd.reject(this.#fatal);
      return true;
    }
    const tx = this.#tx;
    if (tx !== null) {
      // Between WATCH and EXEC everything runs on the transaction's connection, as it would on
      // a single ioredis connection.
      this.#send(tx.conn, tx.node, cmd, false, route, cls.writesData);
      if (cmd.name === 'exec' || cmd.name === 'discard' || cmd.name === 'unwatch') this.#endTransactionAfter(cmd.promise);
      return true;
    }
    switch (cls.kind) {
      case 'read':
        return this.#trySendRead(cmd, route);
      case 'write': {
        if (this.#writesPaused || this.#switching) return false;
        const node = this.#masterNode;
        const conn = node?.data();
        if (!conn) return false;
        this.#send(conn, node!, cmd, false, route, cls.writesData);
        return true;
      }
      case 'blocking':
        return this.#trySendBlocking(cmd, cls, route);
      case 'subscribe':
        return this.#trySendSubscription(cmd);
      case 'transaction':
        return this.#trySendTransaction(cmd, route);
      case 'select':
        return this.#trySendSelect(cmd, route);
    }
  }

  #trySendRead(cmd: Command, route: Route): boolean {
    const table = this.#table;
    if (table === null) return false;
    let target: NodeState | null;
    try {
      target = chooseReadNode(route.policy, table, this.#readyFor(cmd, route, table), this.#turn++);
    } catch (error) {
      // Eligible replicas that are still connecting (or catching up with this session's writes)
      // are worth waiting for; none at all is not.
      if (table.replicas.length > 0) return false;
      cmd.reject(error as Error);
      return true;
    }
    if (target !== null) {
      const node = this.#pool.get(target.address);
      const conn = node?.data();
      if (conn) {
        this.#send(conn, node!, cmd, true, route);
        return true;
      }
    }
    if (this.#writesPaused || this.#switching) return false;
    const master = this.#masterNode;
    const conn = master?.data();
    if (!conn) return false;
    this.#send(conn, master!, cmd, true, route);
    return true;
  }

  /**
   * Which nodes may take this read now: connected ones, and — when this session wrote keys the
   * read touches, or a lag bound is set — only replicas known to have caught up.
   */
  #readyFor(cmds: Command | readonly Command[], route: Route, table: RoutingTable): (node: NodeState) => boolean {
    const consistency = this.#consistency;
    if (consistency === null || !consistency.constrained || route.policy.name === 'master') return this.#isReady;
    let need = 0;
    // With the master unreachable there is no node known to hold this session's last writes; the
    // replicas hold all there is (and what a promotion will keep), so reads go on from them.
    const masterAvailable = !this.#writesPaused && this.#masterNode?.ready === true;
    if (consistency.readYourWrites && masterAvailable) {
      if (Array.isArray(cmds)) for (const c of cmds) need = Math.max(need, consistency.needed(c));
      else need = consistency.needed(cmds as Command);
    }
    const master = table.master?.address;
    return (node) => this.#isReady(node) && (node.address === master || consistency.canServe(node, need));
  }

  #trySendBlocking(cmd: Command, cls: CommandClass, route: Route): boolean {
    let node: NodeConnections | null | undefined = this.#masterNode;
    if (cls.readOnly && this.#table !== null) {
      try {
        const target = chooseReadNode(route.policy, this.#table, this.#isReady, this.#turn++);
        if (target !== null) node = this.#pool.get(target.address);
      } catch (error) {
        cmd.reject(error as Error);
        return true;
      }
    }
    if (!node?.ready) return false;
    const conn = node.lease('blocking');
    const release = (): void => node.release(conn);
    cmd.promise.then(release, release);
    this.#send(conn, node, cmd, cls.readOnly, route, cls.writesData);
    return true;
  }

  #trySendSubscription(cmd: Command): boolean {
    const node = this.#masterNode;
    if (!node?.ready) return false;
    if (this.#subscriber === null || this.#subscriber.node !== node) this.#moveSubscriber(node);
    this.#trackSubscription(cmd.name, cmd.args);
    this.#subscriber!.conn.sendCommand(cmd);
    return true;
  }

  #trySendTransaction(cmd: Command, route: Route): boolean {
    const node = this.#masterNode;
    if (!node?.ready) return false;
    if (cmd.name === 'watch' || cmd.name === 'multi') {
      this.#tx = { node, conn: node.lease('blocking') };
      this.#send(this.#tx.conn, node, cmd, false, route);
      return true;
    }
    // EXEC/DISCARD/UNWATCH with no transaction open: the server answers as it would.
    this.#send(node.data()!, node, cmd, false, route);
    return true;
  }

  #trySendSelect(cmd: Command, route: Route): boolean {
    const node = this.#masterNode;
    const conn = node?.data();
    if (!conn) return false;
    const db = Number(cmd.args[0]);
    this.#send(conn, node!, cmd, false, route);
    cmd.promise.then(() => {
      // Every connection, now and later, uses the selected database.
      this.#pool.updateRedisOptions({ db });
      (this.options as { db?: number }).db = db;
      for (const n of this.#pool.all()) {
        for (const c of n.dataConnections()) if (c !== conn) c.select(db).catch(noop);
      }
    }, noop);
    return true;
  }

  /**
   * Hand the command to a connection, watching how it ends: a read whose connection died moves to
   * another node; a write whose connection died may have been applied and says so; a write that
   * met `READONLY` was not applied and waits for the real master.
   */
  #send(conn: Redis, node: NodeConnections, cmd: Command, isRead: boolean, route: Route, writesData = false): void {
    const reject = cmd.reject;
    cmd.reject = (error: Error) => {
      cmd.reject = reject;
      if (isConnectionLoss(error)) {
        this.#coordinator.signal(`connection to ${node.address} lost`);
        if (isRead && this.#retry(cmd)) {
          this.#sendOrHold(cmd, READ_CLASS, route);
          return;
        }
        reject(isRead ? error : new MaybeAppliedError(cmd.name, node.address, { cause: error }));
        return;
      }
      if (!isRead && isReadOnlyError(error) && this.#retry(cmd)) {
        debug('%s answered READONLY: it is no longer the master', node.address);
        this.#coordinator.signal(`READONLY from ${node.address}`);
        const cls = classOf(cmd);
        this.#hold(
          cmd.name,
          () => this.#masterNode !== node && this.#trySend(cmd, cls, route),
          (e) => reject(e),
          error,
        );
        return;
      }
      if (isRead && isRetryableReadError(error) && node !== this.#masterNode && this.#retry(cmd)) {
        const master = this.#masterNode;
        const c = master?.data();
        if (c) {
          this.#send(c, master!, cmd, true, route);
          return;
        }
      }
      reject(error);
    };
    if (this.#autoPipelining) {
      // One write per connection per tick instead of one per command.
      const stream = conn.stream;
      if (stream && stream.writableCorked === 0) {
        stream.cork();
        process.nextTick(() => stream.uncork());
      }
    }
    if (writesData) this.#trackWrite(cmd);
    conn.sendCommand(cmd);
    if (writesData && route.durability !== null) this.#awaitReplicas(conn, cmd, route.durability);
  }

  /** Read-your-writes for a batch that was acknowledged as a whole. */
  #trackWrites(batch: readonly Command[], classes: readonly CommandClass[]): void {
    const consistency = this.#consistency;
    if (consistency === null || !consistency.readYourWrites || !this.#readsFromReplicas) return;
    for (let i = 0; i < batch.length; i++) if (classes[i]!.writesData) consistency.wrote(batch[i]!);
  }

  /** Read-your-writes: remember what this acknowledged write touched. */
  #trackWrite(cmd: Command): void {
    const consistency = this.#consistency;
    if (consistency === null || !consistency.readYourWrites || !this.#readsFromReplicas) return;
    const resolve = cmd.resolve;
    cmd.resolve = (value: unknown) => {
      consistency.wrote(cmd);
      resolve(value);
    };
  }

  /**
   * `durability`: WAIT right behind the write on the same connection (one round trip), and
   * resolve the write only when enough replicas acknowledged it.
   */
  #awaitReplicas(conn: Redis, cmd: Command, durability: DurabilitySettings): void {
    const resolve = cmd.resolve;
    const reject = cmd.reject;
    let reply: { value: unknown } | null = null;
    cmd.resolve = (value: unknown) => {
      reply = { value };
    };
    const wait = new Command('wait', [String(durability.replicas), String(durability.timeoutMs)]);
    conn.sendCommand(wait);
    wait.promise.then(
      (acks) => {
        if (reply === null) return; // the write itself failed: its own error stands
        if (Number(acks) >= durability.replicas) resolve(reply.value);
        else reject(new NotReplicatedError(cmd.name, Number(acks), durability.replicas, durability.timeoutMs));
      },
      () => {
        // The write was acknowledged, the count of replicas never came: not known replicated.
        if (reply !== null) reject(new NotReplicatedError(cmd.name, 0, durability.replicas, durability.timeoutMs));
      },
    );
  }

  #retry(cmd: Command): boolean {
    const n = this.#retries.get(cmd) ?? 0;
    if (n >= READ_RETRIES) return false;
    this.#retries.set(cmd, n + 1);
    return true;
  }

  #sendOrHold(cmd: Command, cls: CommandClass, route: Route): void {
    if (!this.#trySend(cmd, cls, route)) this.#hold(cmd.name, () => this.#trySend(cmd, cls, route), (e) => cmd.reject(e));
  }

  #execPipeline(commands: Command[], transaction: boolean, route: Route): Promise<unknown> {
    if (this.#status === 'end' || this.#status === 'close') return Promise.reject(new ClosedError());
    if (this.#status === 'wait') this.connect().catch(noop);
    const classes = commands.map(classOf);
    const readOnly = !transaction && classes.length > 0 && classes.every((c) => c.kind === 'read');
    return new Promise((resolve, reject) => {
      let attempts = 0;
      const attempt = (): boolean => {
        if (this.#fatal !== null) {
          reject(this.#fatal);
          return true;
        }
        let node: NodeConnections | null | undefined = this.#masterNode;
        let conn: Redis | null | undefined;
        const tx = this.#tx;
        if (tx !== null) {
          node = tx.node;
          conn = tx.conn;
        } else {
          if (!readOnly && (this.#writesPaused || this.#switching)) return false;
          if (readOnly && this.#table !== null) {
            try {
              const target = chooseReadNode(route.policy, this.#table, this.#readyFor(commands, route, this.#table), this.#turn++);
              if (target !== null) node = this.#pool.get(target.address);
            } catch (error) {
              if (this.#table.replicas.length > 0) return false;
              reject(error);
              return true;
            }
          }
          conn = node?.data();
          if (!conn && readOnly) {
            node = this.#masterNode;
            conn = node?.data();
          }
        }
        if (!conn || !node) return false;
        const batch = attempts === 0 ? commands : commands.map(cloneCommand);
        attempts++;
        const address = node.address;
        const durability = readOnly ? null : route.durability;
        const executed = runPipeline(conn, batch, transaction);
        // `durability`: one WAIT for the whole batch, right behind it on the same connection.
        const waited = durability === null ? null : conn.call('WAIT', durability.replicas, durability.timeoutMs);
        waited?.catch(noop);
        executed.then(async (result) => {
          if (tx !== null && transaction) this.#endTransaction();
          const lost = pipelineConnectionLoss(result);
          if (lost === null) {
            if (!readOnly) this.#trackWrites(batch, classes);
            if (waited !== null && durability !== null) {
              const acks = Number(await waited.catch(() => 0));
              if (acks < durability.replicas) {
                reject(new NotReplicatedError(transaction ? 'exec' : 'pipeline', acks, durability.replicas, durability.timeoutMs));
                return;
              }
            }
            return resolve(result);
          }
          this.#coordinator.signal(`connection to ${address} lost`);
          if (readOnly && attempts <= READ_RETRIES) {
            if (!attempt()) this.#hold('pipeline', attempt, reject);
            return;
          }
          reject(new MaybeAppliedError(transaction ? 'exec' : 'pipeline', address, { cause: lost }));
        }, (error: Error) => {
          if (tx !== null && transaction) this.#endTransaction();
          if (transaction && isConnectionLoss(error)) {
            this.#coordinator.signal(`connection to ${address} lost`);
            reject(new MaybeAppliedError('exec', address, { cause: error }));
          } else {
            reject(error);
          }
        });
        return true;
      };
      if (!attempt()) this.#hold(transaction ? 'exec' : 'pipeline', attempt, reject);
    });
  }

  // ---------------------------------------------------------------- holding

  #hold(name: string, attempt: () => boolean, fail: (error: Error) => void, cause?: Error): void {
    if (this.#held.length >= this.#opts.maxQueuedCommands) {
      fail(new QueueFullError(this.#opts.maxQueuedCommands));
      return;
    }
    const entry: Held = { name, attempt, fail, timer: null };
    const ms = this.#opts.commandTimeoutMs;
    entry.timer = setTimeout(() => {
      const i = this.#held.indexOf(entry);
      if (i !== -1) this.#held.splice(i, 1);
      fail(new CommandTimeoutError(name, ms, { cause: cause ?? this.#lastError ?? undefined }));
    }, ms);
    this.#held.push(entry);
  }

  /** Try every held command again, in arrival order. */
  #drain(): void {
    if (this.#held.length === 0) return;
    const held = this.#held;
    this.#held = [];
    for (const entry of held) {
      if (entry.attempt()) {
        if (entry.timer) clearTimeout(entry.timer);
      } else {
        this.#held.push(entry);
      }
    }
  }

  #failHeld(error: Error): void {
    const held = this.#held;
    this.#held = [];
    for (const entry of held) {
      if (entry.timer) clearTimeout(entry.timer);
      entry.fail(error);
    }
  }

  // ---------------------------------------------------------------- topology

  #onTopology(next: Topology, previous: Topology | null, changes: TopologyChange[]): void {
    this.#lastError = null;
    this.#fatal = null;
    const before = this.#table;
    this.#table = buildRoutingTable(next, this.#lag);
    const master = next.master;
    const previousMaster = this.#masterNode;
    if (master !== null) {
      const node = this.#pool.node(master);
      node.open();
      this.#masterNode = node;
    } else {
      this.#masterNode = null;
    }
    if (this.#readsFromReplicas) this.#openReplicas();
    this.#consistency?.setNodes(this.#table.master, this.#table.replicas);
    if (previousMaster !== null && this.#masterNode !== previousMaster) {
      debug('master is now %s (was %s)', this.#masterNode?.address, previousMaster.address);
    }
    // Subscriptions live on the master: re-made there after a failover.
    if (this.#subscriber !== null && this.#masterNode !== null && this.#subscriber.node !== this.#masterNode) {
      this.#moveSubscriber(this.#masterNode);
    }

    for (const change of changes) {
      if (change.type === 'node-down' && change.address !== next.master?.address && this.#pool.get(change.address)?.ready) {
        // A replica that stopped answering but kept its connections (hung): drop them, so that the
        // reads stuck on it fail over to another node instead of waiting for it.
        this.#pool.remove(change.address).catch(noop);
      }
      if (change.type === 'node-up' || change.type === 'node-down') {
        const state = next.master?.address === change.address ? next.master : next.replicas.find((r) => r.address === change.address);
        this.emit(change.type, { address: change.address, role: state?.role ?? 'unknown' });
      } else if (change.type === 'role-change') {
        // Only what a node says of itself: a node that does not answer has no role to change.
        const state = next.master?.address === change.address ? next.master : next.replicas.find((r) => r.address === change.address);
        if (state?.up) this.emit('role-change', { address: change.address, from: change.from, to: change.to });
      }
    }
    if (previous === null || changes.length > 0 || !sameReaders(before, this.#table)) this.emit('topology', this.topology(), changes);
    this.#coordinator.afterRefresh(next, previous);
    if (this.#masterNode?.ready) this.#setReady();
    this.#drain();
  }

  #openReplicas(): void {
    for (const replica of this.#table?.replicas ?? []) this.#pool.node(replica).open();
  }

  #onDiscoveryError(error: Error): void {
    this.#lastError = error;
    const cause = (error as { cause?: unknown }).cause;
    if (isAuthError(cause)) {
      // A wrong password does not get better by waiting: fail what waits, and what comes next.
      this.#fatal = cause as Error;
      this.#failHeld(this.#fatal);
    }
    // Like ioredis's connect(): it rejects when the first attempt fails (attempts go on).
    if (this.#status !== 'ready') for (const waiter of this.#connectWaiters.splice(0)) waiter.reject(this.#fatal ?? error);
    this.#emitError(this.#fatal ?? error);
  }

  #onNodeReady(node: NodeConnections): void {
    if (node === this.#masterNode) this.#setReady();
    this.#drain();
  }

  #onNodeClose(node: NodeConnections, purpose: string): void {
    if (this.#status === 'end' || this.#status === 'close') return;
    if (node === this.#masterNode && purpose === 'data' && !node.ready && this.#status === 'ready') {
      this.#status = 'reconnecting';
    }
    this.#coordinator.signal(`${purpose} connection to ${node.address} closed`);
  }

  #setReady(): void {
    if (this.#status === 'ready' || this.#status === 'end' || this.#status === 'close') return;
    this.#status = 'ready';
    for (const waiter of this.#connectWaiters.splice(0)) waiter.resolve();
    this.emit('connect');
    this.emit('ready');
  }

  #emitError(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  // ---------------------------------------------------------------- pub/sub, transactions

  #moveSubscriber(node: NodeConnections): void {
    const old = this.#subscriber;
    const conn = node.lease('subscriber');
    for (const event of MESSAGE_EVENTS) {
      conn.on(event, (...args: unknown[]) => (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args));
    }
    this.#subscriber = { node, conn };
    const { subscribe, psubscribe, ssubscribe } = this.#subscriptions;
    if (subscribe.size > 0) conn.subscribe(...subscribe).catch(noop);
    if (psubscribe.size > 0) conn.psubscribe(...psubscribe).catch(noop);
    for (const channel of ssubscribe) conn.ssubscribe(channel).catch(noop);
    if (old !== null) old.node.release(old.conn, false);
  }

  #trackSubscription(name: string, args: readonly unknown[]): void {
    const channels = args.map(String);
    if ((SUBSCRIBE_KINDS as readonly string[]).includes(name)) {
      for (const c of channels) this.#subscriptions[name as SubscribeKind].add(c);
      return;
    }
    const kind = UNSUBSCRIBE[name];
    if (kind === undefined) return;
    if (channels.length === 0) this.#subscriptions[kind].clear();
    for (const c of channels) this.#subscriptions[kind].delete(c);
  }

  #endTransactionAfter(promise: Promise<unknown>): void {
    promise.then(
      () => this.#endTransaction(),
      () => this.#endTransaction(),
    );
  }

  #endTransaction(): void {
    const tx = this.#tx;
    this.#tx = null;
    if (tx !== null) tx.node.release(tx.conn);
  }

  // ---------------------------------------------------------------- misc

  #scanStream(command: string, key: string | undefined, options: ScanStreamOptions = {}): ScanStream {
    return new ScanStream({ objectMode: true, key, redis: this, command, ...options } as ConstructorParameters<typeof ScanStream>[0]);
  }

  async #close(quit: boolean): Promise<void> {
    if (this.#status === 'end') return;
    this.#status = 'close';
    this.#failHeld(new ClosedError());
    for (const waiter of this.#connectWaiters.splice(0)) waiter.reject(new ClosedError());
    this.#coordinator.stop();
    this.#consistency?.stop();
    await this.#manager.stop();
    this.#subscriber = null;
    this.#tx = null;
    await this.#pool.close(quit);
    this.#status = 'end';
    this.emit('close');
    this.emit('end');
  }
}

installCommands(FailoverRedis.prototype, ['multi', 'pipeline', 'exec']);

/** `withReadFrom(policy)`: the client's commands with another read policy, same connections. */
class FailoverView implements PipelineHost {
  readonly options: object;
  readonly scriptsSet: Record<string, unknown>;
  readonly addedBuiltinSet: Set<string>;
  #parent: FailoverRedis;
  #route: Route;
  #dispatch: (cmd: Command, route: Route) => Promise<unknown>;
  #exec: (cmds: Command[], tx: boolean, route: Route) => Promise<unknown>;

  constructor(
    parent: FailoverRedis,
    route: Route,
    dispatch: (cmd: Command, route: Route) => Promise<unknown>,
    exec: (cmds: Command[], tx: boolean, route: Route) => Promise<unknown>,
  ) {
    this.#parent = parent;
    this.#route = route;
    this.#dispatch = dispatch;
    this.#exec = exec;
    this.options = parent.options;
    this.scriptsSet = parent.scriptsSet;
    this.addedBuiltinSet = parent.addedBuiltinSet;
    const self = this as unknown as Record<string, unknown>;
    const from = parent as unknown as Record<string, unknown>;
    for (const name of [...Object.keys(parent.scriptsSet), ...parent.addedBuiltinSet]) {
      self[name] = from[name];
      self[`${name}Buffer`] = from[`${name}Buffer`];
    }
  }

  sendCommand(command: Command): Promise<unknown> {
    return this.#dispatch(command, this.#route);
  }

  execPipeline(commands: Command[], transaction: boolean): Promise<unknown> {
    return this.#exec(commands, transaction, this.#route);
  }

  pipeline(commands?: unknown[][]): ChainableCommander {
    const pipeline = new FailoverPipeline(this, false);
    if (commands) pipeline.addBatch(commands);
    return pipeline as unknown as ChainableCommander;
  }

  multi(commands?: unknown[][]): ChainableCommander {
    const pipeline = new FailoverPipeline(this, true);
    if (commands) pipeline.addBatch(commands);
    return pipeline as unknown as ChainableCommander;
  }

  withReadFrom(readFrom: ReadFrom): FailoverRedisView {
    return this.#parent.withReadFrom(readFrom);
  }

  withDurability(durability: DurabilitySettings): FailoverRedisView {
    return this.#parent.withDurability(durability);
  }
}

installCommands(FailoverView.prototype, ['multi', 'pipeline']);

function runPipeline(conn: Redis, commands: Command[], transaction: boolean): Promise<unknown> {
  const real = (transaction ? conn.multi() : conn.pipeline()) as unknown as { sendCommand(c: Command): void; exec(): Promise<unknown> };
  for (const command of commands) real.sendCommand(command);
  return real.exec();
}

function wrapMultiResult(replies: unknown[] | null): [Error | null, unknown][] | null {
  if (replies === null) return null;
  return replies.map((reply) => (reply instanceof Error ? [reply] : [null, reply]) as [Error | null, unknown]);
}

/** A script defined `readOnly` runs as EVALSHA, flagged by ioredis: a read all the same. */
function classOf(cmd: Command): CommandClass {
  return (cmd as { isReadOnly?: boolean }).isReadOnly === true ? READ_CLASS : classifyCommand(cmd.name, cmd.args);
}

/** A fresh command with the same (already prefixed and flattened) arguments, for a resend. */
function cloneCommand(cmd: Command): Command {
  const { replyEncoding } = cmd as unknown as { replyEncoding: BufferEncoding | null };
  return new Command(cmd.name, cmd.args, { replyEncoding });
}

/** The first connection-loss error among a pipeline's results, or null. */
function pipelineConnectionLoss(result: unknown): Error | null {
  if (!Array.isArray(result)) return null;
  for (const entry of result) {
    const error = Array.isArray(entry) ? (entry[0] as unknown) : null;
    if (error instanceof Error && isConnectionLoss(error)) return error;
  }
  return null;
}

function sameReaders(a: RoutingTable | null, b: RoutingTable): boolean {
  if (a === null || a.master?.address !== b.master?.address || a.replicas.length !== b.replicas.length) return false;
  return a.replicas.every((r, i) => r.address === b.replicas[i]!.address);
}
