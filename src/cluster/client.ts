import createDebug from 'debug';
import { EventEmitter } from 'node:events';
import { Cluster as IoCluster, Command, type ChainableCommander, type ClusterOptions, type Redis, type RedisCommander } from 'ioredis';
import { Closing, clusterFacadeOptions, passwordsOf, silentEmitError, underlyingCluster, type ClosingHost } from '../compat.js';
import { installCommands } from '../commands.js';
import type { ViewRoute } from '../dispatch/attempt.js';
import { ClosedError, NoNodeError } from '../errors.js';
import type { FailoverClusterEvents, FailoverEvent } from '../events.js';
import { failoverChannel, topologyChannel, type ClusterTopologyMessage } from '../observability/channels.js';
import { StatsCollector } from '../observability/stats.js';
import { ConsistencyMonitor } from '../consistency/monitor.js';
import { ReadYourWrites } from '../consistency/read-your-writes.js';
import { Engine } from '../dispatch/engine.js';
import type { DurabilitySettings, ReadFrom } from '../options-types.js';
import { newPipeline, type PipelineHost } from '../pipeline.js';
import type { ConnectionFactory } from '../pool/node-pool.js';
import { splitAddress, type HostPort } from '../topology/address.js';
import type { Address } from '../topology/types.js';
import { asCallback, noop, type Callback } from '../util.js';
import { FailoverView, withDurability, withPolicy, type FailoverRedisView, type ViewHost } from '../view.js';
import { ClusterPlacement } from './placement.js';
import { announcedPool, type NodeConnections } from './pool.js';
import { resolveClusterOptions, type FailoverClusterOptions, type ResolvedClusterOptions } from './options.js';
import { clusterChanges, failoverEvent, type ExpectedChange } from './changes.js';
import { clusterPicture, type FailoverClusterStats } from './stats.js';
import { clusterSwitchover, type ClusterSwitchoverOptions, type ClusterSwitchoverResult } from './switchover.js';
import { connectError, discoverCluster, ioClusterReady, withinBudget } from './connect.js';
import { ShardOutages } from './outages.js';
import { ClusterPubSub } from './pubsub.js';
import { WatchSessions } from './watches.js';
import type { ClusterTopology } from './topology.js';
import { ClusterWatcher } from './watcher.js';
import { ANY_SLOT, batchSlot, commandSlot } from './slot.js';

const debug = createDebug('redis-failover:failover');

export type FailoverClusterStatus = 'wait' | 'connecting' | 'ready' | 'close' | 'end';

/** What ioredis's Cluster rejects commands with while it closes (they wait in its offline queue). */
const CLOSING_MESSAGE = 'None of startup nodes is available';

/** Internal extension points (not part of the stable API): the factory of the control connections, as FailoverRedis's. */
export interface FailoverClusterInternals {
  connectionFactory?: ConnectionFactory;
}

// Declaration merging gives the class ioredis's typed command methods (installed at runtime below).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface FailoverCluster extends Omit<RedisCommander<{ type: 'default' }>, 'multi' | 'pipeline' | 'exec'> {
  /** ioredis `defineCommand`: a Lua script as a command method (`readOnly` scripts are reads). */
  defineCommand(name: string, definition: { lua: string; numberOfKeys?: number; readOnly?: boolean }): void;
}

/**
 * A Redis Cluster client with FailoverRedis's promises per shard: reads on the shard's replicas
 * by the read policy with read-your-writes, writes held (not failed) through the cluster's own
 * failover, typed errors. Built on ioredis's `Cluster` (its slot map refresh, its connections,
 * pipelines and pub/sub); single-key commands are routed here, so that each shard gets the
 * promises FailoverRedis keeps for one master.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class FailoverCluster extends EventEmitter<FailoverClusterEvents> implements PipelineHost {
  /**
   * As ioredis `Cluster#options`: the cluster options with the node options under `redisOptions`
   * and the key prefix at the top (libraries such as BullMQ read `options.redisOptions`).
   */
  readonly options: ClusterOptions & { keyPrefix?: string };
  readonly scriptsSet: Record<string, unknown> = {};
  readonly addedBuiltinSet = new Set<string>();
  readonly isCluster = true;

  #input: string | FailoverClusterOptions;
  #extra: FailoverClusterOptions | undefined;
  #internals: FailoverClusterInternals;
  #opts: ResolvedClusterOptions;
  #route: ViewRoute;
  #status: FailoverClusterStatus = 'wait';
  #io: IoCluster;
  #pubsub: ClusterPubSub;
  #watcher: ClusterWatcher;
  #consistency: ConsistencyMonitor | null;
  #placement: ClusterPlacement;
  #engine: Engine;
  #views: ViewHost;
  #topology: ClusterTopology | null = null;
  #connecting: Promise<void> | null = null;
  #outages: ShardOutages;
  #watches = new WatchSessions();
  #lastStale = -Infinity;
  #discoveryError: Error | null = null;
  /** `quit()` or `disconnect()`: nothing issued after it is sent. */
  #closing = new Closing(this.#closingHost());
  /** A command was issued before the client was ready: a quit() lets the connect finish first. */
  #issuedEarly = false;
  /** The passwords configured, never printed. */
  #secrets: string[];
  #stats: StatsCollector<{ masters: Address[] }>;
  /** A switchover from `from` to `to` runs: the poll that sees it reports it, once, as that. */
  #expected: ExpectedChange | null = null;

  constructor(url: string, options?: FailoverClusterOptions);
  constructor(options: FailoverClusterOptions);
  constructor(input: string | FailoverClusterOptions, extra?: FailoverClusterOptions, internals?: FailoverClusterInternals);
  constructor(input: string | FailoverClusterOptions, extra?: FailoverClusterOptions, internals: FailoverClusterInternals = {}) {
    super();
    this.#input = input;
    this.#extra = extra;
    this.#internals = internals;
    this.#opts = resolveClusterOptions(input, extra);
    const base = this.#opts.base;
    this.#secrets = passwordsOf(base.redisOptions);
    this.#route = Object.freeze({ policy: base.readFrom, durability: base.durability });
    // Our commands carry the prefix (ioredis's methods apply it); ioredis's connections must not add it again.
    const { keyPrefix: _prefix, ...nodeOptions } = base.redisOptions;
    const reach = (address: Address): HostPort => base.natMap.get(address) ?? splitAddress(address);
    this.#io = underlyingCluster(this.#opts.seeds, base, nodeOptions);
    this.options = clusterFacadeOptions(this.#io, base);
    this.#io.on('error', (error: Error) => debug('ioredis Cluster: %s', error.message));
    this.#pubsub = new ClusterPubSub(this.#io, (event, ...args) => (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args));
    this.#outages = new ShardOutages({ downAfterMs: base.failover.downAfterMs, assist: this.#opts.assist });
    const probeTimeoutMs = Math.max(100, Math.floor(base.failover.downAfterMs / 2));
    this.#watcher = new ClusterWatcher(
      { seeds: this.#opts.seeds, redisOptions: nodeOptions, factory: internals.connectionFactory, reach, probeTimeoutMs: Math.max(probeTimeoutMs, 500), downAfterMs: base.failover.downAfterMs, refreshIntervalMs: base.refreshIntervalMs, zones: base.zones },
      { observed: (t) => this.#observed(t), silence: (address, silent) => this.#silence(address, silent) },
    );
    const readYourWrites = base.consistency === 'read-your-writes';
    const consistency = (this.#consistency =
      readYourWrites || base.maxReplicaLag.bytes !== null || base.maxReplicaLag.ms !== null
        ? new ConsistencyMonitor({ control: (node) => this.#watcher.control(node.address), probeTimeoutMs, lag: base.maxReplicaLag, readYourWrites, onProgress: () => this.#placement.progressed() })
        : null);
    const writes = consistency === null ? null : new ReadYourWrites(consistency);
    const ioPool = (this.#io as unknown as { connectionPool: NodeConnections }).connectionPool;
    this.#placement = new ClusterPlacement({
      // The pool is private in ioredis's typings; it is the one place this client reaches into.
      pool: base.natMap.size === 0 ? ioPool : announcedPool(ioPool, reach),
      reach,
      consistency,
      writes,
      lag: base.maxReplicaLag,
      zone: base.zone,
      stale: (reason, address) => this.#stale(reason, address),
    });
    this.#engine = new Engine({
      placement: this.#placement,
      writes,
      maxQueuedCommands: base.maxQueuedCommands,
      holdTimeoutMs: base.commandTimeoutMs,
      offlineQueue: base.redisOptions.enableOfflineQueue !== false,
      autoPipelining: base.redisOptions.enableAutoPipelining !== false,
    });
    this.#views = {
      client: this,
      options: this.options,
      zone: base.zone,
      scriptsSet: this.scriptsSet,
      addedBuiltinSet: this.addedBuiltinSet,
      dispatchWith: (command, route) => this.#dispatch(command, route),
      execPipelineWith: (commands, transaction, route) => this.execPipeline(commands, transaction, route),
      viewReadsFromReplicas: () => this.#placement.readFromReplicas(),
    };
    this.#stats = new StatsCollector({
      picture: () => clusterPicture(this.#topology),
      counters: () => this.#placement.counters,
      held: () => this.#engine.held,
      readYourWritesRedirects: () => this.#engine.readYourWritesRedirects,
    });
    if (base.readFrom.name !== 'master') this.#placement.readFromReplicas();
    if (!base.redisOptions.lazyConnect) this.connect().catch(noop);
  }

  get status(): FailoverClusterStatus {
    return this.#status;
  }

  /**
   * Writable in ioredis, and written by libraries (BullMQ sets `status = 'end'` after its
   * `quit()`): accepted, and ignored; the status is this client's own.
   */
  set status(_value: FailoverClusterStatus) {
    // Ignored on purpose.
  }

  /**
   * Discover the cluster and connect. Rejects with a typed error (not a cluster member, no node
   * answered, slots not covered, wrong password) within `connectTimeout` + `commandTimeoutMs`;
   * then the client is closed: no endless reconnect loop.
   */
  connect(callback?: Callback<void>): Promise<void> {
    if (this.#closing.kind !== null) return asCallback(Promise.reject(new ClosedError()), callback);
    this.#connecting ??= this.#connect();
    return asCallback(this.#connecting, callback);
  }

  async #connect(): Promise<void> {
    this.#status = 'connecting';
    const base = this.#opts.base;
    const budget = (base.redisOptions.connectTimeout ?? 10_000) + (base.commandTimeoutMs ?? 10_000);
    const deadline = performance.now() + budget;
    try {
      await withinBudget(
        budget,
        [
          () => discoverCluster(this.#watcher, deadline, () => this.#status === 'connecting', (reason) => (this.#discoveryError = reason)),
          () => ioClusterReady(this.#io),
          () => this.#placement.mastersConnected(),
        ],
        () => this.#discoveryError,
      );
      if (this.#status !== 'connecting') throw new ClosedError();
    } catch (error) {
      const coded = connectError(error);
      // Unless the connect was given up by disconnect(): as ioredis's Cluster, nothing to report then.
      if (this.#closing.kind !== 'drop') silentEmitError(this, coded, this.#closing, this.#secrets);
      this.#closing.close('drop').catch(noop);
      await this.#closing.ended;
      throw coded;
    }
    this.#watcher.start();
    this.#status = 'ready';
    this.emit('connect');
    this.emit('ready');
  }

  /** The current picture: shards with their slots, master and replicas. A copy. */
  topology(): ClusterTopology {
    return this.#topology === null ? { source: 'cluster', shards: [] } : structuredClone(this.#topology);
  }

  async refreshTopology(): Promise<ClusterTopology> {
    await this.#watcher.refresh();
    return this.topology();
  }

  /** A snapshot for a metrics exporter: per node commands sent and errors, held commands, failovers. */
  stats(): FailoverClusterStats {
    return this.#stats.snapshot();
  }

  /** ioredis `Cluster#nodes(role)`: the node connections. */
  nodes(role: 'all' | 'master' | 'slave' = 'all'): Redis[] {
    return this.#io.nodes(role);
  }

  /**
   * A planned handover in one shard: `CLUSTER FAILOVER` on the replica `to` (the cluster's own
   * manual failover, which waits for the replica to catch up), that shard's writes held meanwhile.
   */
  async switchover(options: ClusterSwitchoverOptions): Promise<ClusterSwitchoverResult> {
    const shard = this.#topology?.shards.find((s) => s.replicas.some((r) => r.address === options.to));
    const from = shard?.master?.address ?? null;
    if (from === null) {
      throw new NoNodeError(`${options.to} is not a replica of any shard of this cluster`);
    }
    this.#placement.switching(from, true);
    this.#expected = { from, to: options.to, began: performance.now() };
    try {
      const result = await clusterSwitchover(this.#watcher, from, options);
      // The read that sees the new master reports the failover (as a switchover): once.
      await this.#watcher.refresh().catch(noop);
      await new Promise<void>((resolve) => this.#io.refreshSlotsCache(() => resolve()));
      return result;
    } finally {
      this.#expected = null;
      this.#placement.switching(from, false);
    }
  }

  withReadFrom(readFrom: ReadFrom): FailoverRedisView {
    return new FailoverView(this.#views, withPolicy(this.#route, readFrom, this.#opts.base.zone)) as unknown as FailoverRedisView;
  }

  withDurability(durability: DurabilitySettings): FailoverRedisView {
    return new FailoverView(this.#views, withDurability(this.#route, durability)) as unknown as FailoverRedisView;
  }

  pipeline(commands?: unknown[][]): ChainableCommander {
    return newPipeline(this, false, commands);
  }

  multi(commands?: unknown[][]): ChainableCommander {
    return newPipeline(this, true, commands);
  }

  /**
   * @internal a batch whose keys share one slot, or that has no keys, goes through the cluster
   * engine (held and judged like a single command); cross-slot batches, and batches with
   * commands ioredis keeps (subscriptions, WATCH…), through ioredis's cluster pipeline, which
   * reports them as ioredis does.
   */
  execPipeline(commands: Command[], transaction: boolean, route: ViewRoute = this.#route): Promise<unknown> {
    const slot = batchSlot(commands);
    // After quit(): as on ioredis's Cluster (which checks the slots first, though).
    if (this.#closing.kind !== null && slot !== null) return this.#closing.refuseBatch(commands, transaction, CLOSING_MESSAGE);
    if (this.#status !== 'ready') this.#issuedEarly = true;
    if (this.#status === 'wait') this.connect().catch(noop);
    if (transaction && slot !== null && slot !== ANY_SLOT && this.#watches.size > 0) {
      const broken = this.#watches.broken(slot, this.#placement.masterOf(slot));
      if (broken !== null) {
        // Its WATCH is gone with a failover or a lost connection: aborted, as Redis aborts a
        // transaction whose watched keys changed (EXEC → null). Any watch left there is dropped.
        this.#placement.connectionAt(broken.watchedAt)?.call('UNWATCH').catch(noop);
        return Promise.resolve(null);
      }
    }
    // Keys in one slot: that shard; no keys at all: any shard's master.
    if (slot !== null) return this.#engine.dispatchBatch(commands, transaction, route, slot);
    const pipeline = transaction ? this.#io.multi() : this.#io.pipeline();
    const sink = pipeline as unknown as { sendCommand(c: Command): unknown };
    for (const c of commands) sink.sendCommand(c);
    return pipeline.exec();
  }

  sendCommand(command: Command): Promise<unknown> {
    return this.#dispatch(command, this.#route);
  }

  duplicate(override?: FailoverClusterOptions): FailoverCluster {
    return new FailoverCluster(this.#input as never, override ? { ...this.#extra, ...override } : this.#extra, this.#internals);
  }

  /**
   * Close gracefully: the commands issued before are sent (also those waiting for the connect,
   * which ioredis's Cluster leaves pending) and answered; resolves `'OK'`, also a second time.
   */
  quit(callback?: Callback<'OK'>): Promise<'OK'> {
    const closing = this.#closing;
    // A second quit() resolves once the client has closed (ioredis's Cluster: once its nodes have).
    return asCallback(closing.kind === null ? closing.quit(this.#status === 'ready') : closing.after(noop).then(() => 'OK' as const), callback);
  }

  disconnect(): void {
    this.#closing.close('drop').catch(noop);
  }

  // ----------------------------------------------------------------

  #dispatch(cmd: Command, route: ViewRoute): Promise<unknown> {
    if (this.#closing.kind !== null) return this.#closing.refuse(cmd, CLOSING_MESSAGE);
    if (this.#status !== 'ready') this.#issuedEarly = true;
    if (this.#status === 'wait') this.connect().catch(noop);
    const slot = commandSlot(cmd);
    if (slot === null) {
      if (cmd.name === 'watch') this.#watching(cmd);
      else if (cmd.name === 'unwatch') this.#watches.cleared();
      else this.#pubsub.sent(cmd);
      return this.#io.sendCommand(cmd) as Promise<unknown>;
    }
    this.#engine.dispatch(cmd, route, slot);
    return cmd.promise;
  }

  /** WATCH goes through ioredis to the slot's master: remember where, for the EXEC that follows. */
  #watching(cmd: Command): void {
    const slot = cmd.getSlot();
    const master = slot === null ? null : this.#placement.masterOf(slot);
    if (slot !== null && master !== null) this.#watches.watched(slot, master, this.#placement.connectionAt(master));
  }

  #stale(reason: string, address?: Address): void {
    debug('picture may be stale: %s %s', reason, address ?? '');
    const now = performance.now();
    if (address !== undefined && this.#topology?.shards.some((s) => s.master?.address === address)) this.#outages.suspect(address, now);
    this.#watcher.setFast(true);
    // Many commands meet the same sign at once (CLUSTERDOWN, MOVED): one read of the cluster serves them all.
    if (now - this.#lastStale < 20) return;
    this.#lastStale = now;
    this.#watcher.refresh().catch(noop);
    if (reason.startsWith('MOVED')) this.#io.refreshSlotsCache();
  }

  #silence(address: Address, silent: boolean): void {
    this.#outages.silence(address, silent, performance.now());
    if (silent) this.#watcher.setFast(true);
    this.#placement.silence(address, silent);
  }

  /** A poll's picture: the failovers it shows, nodes up and down, then routing and assistance. */
  #observed(topology: ClusterTopology): void {
    const prev = this.#topology;
    this.#topology = topology;
    const now = performance.now();
    if (prev !== null) {
      const changes = clusterChanges(prev, topology);
      for (const change of changes.failovers) {
        const since = change.from === null ? undefined : this.#outages.replaced(change.from);
        if (change.from !== null) this.#placement.retire(change.from);
        this.#io.refreshSlotsCache();
        const { event, matched } = failoverEvent(change, this.#expected, since, now);
        if (matched) this.#expected = null;
        this.#failedOver(event);
      }
      for (const e of changes.nodesDown) this.emit('node-down', e);
      for (const e of changes.nodesUp) this.emit('node-up', e);
      for (const e of changes.roles) this.emit('role-change', e);
    }
    this.#placement.update(topology);
    const verdict = this.#outages.review(topology, (a) => this.#placement.down.has(a), now);
    for (const { master, replica } of verdict.assist) this.#assist(master, replica);
    this.#watcher.setFast(verdict.trouble || this.#engine.held > 0);
    this.emit('topology', structuredClone(topology));
    if (topologyChannel.hasSubscribers) topologyChannel.publish({ topology: structuredClone(topology), changes: [] } satisfies ClusterTopologyMessage);
  }

  /** A shard's master changed: counted for `stats()`, published on `redis-failover:failover`, emitted. */
  #failedOver(event: FailoverEvent): void {
    this.#stats.failedOver(event);
    if (failoverChannel.hasSubscribers) failoverChannel.publish(event);
    this.emit('failover', event);
  }

  /** `failover.assist`: CLUSTER FAILOVER FORCE on the witness replica, once per outage. */
  #assist(master: Address, replica: Address): void {
    debug('assist: CLUSTER FAILOVER FORCE on %s (master %s unreachable)', replica, master);
    this.#watcher.failoverForce(replica).catch((error: Error) => {
      debug('assist on %s failed: %s', replica, error.message);
      this.#outages.assistFailed(master);
    });
  }

  /** How quit() and disconnect() reach the connections and the status. */
  #closingHost(): ClosingHost {
    return {
      // Held here, or on connections (ioredis's) that are not all ready before the connect is done.
      unsent: () => this.#engine.held > 0 || (this.#issuedEarly && this.#status === 'connecting'),
      connected: () => this.#status === 'ready',
      fail: () => {
        // A connect under way stops (discovery runs while the status is `connecting`).
        if (this.#status !== 'end') this.#status = 'close';
        const closed = new ClosedError();
        this.#placement.close(closed);
        this.#engine.close(closed);
      },
      closeConnections: async (quit) => {
        this.#watcher.stop();
        this.#consistency?.stop();
        if (quit && this.#io.status === 'ready') await this.#io.quit().catch(noop);
        else this.#io.disconnect();
      },
      ended: () => {
        this.#status = 'end';
        this.emit('close');
        this.emit('end');
        return Promise.resolve();
      },
    };
  }
}

installCommands(FailoverCluster.prototype, ['multi', 'pipeline', 'exec']);

