import { EventEmitter } from 'eventemitter3';
import createDebug from 'debug';
import type { FailoverEvent, FailoverRedisEvents, WarningEvent } from './events.js';
import { Dispatcher } from './dispatch/dispatcher.js';
import type { MessageSink } from './dispatch/subscriptions.js';
import { RoleChanger } from './failover/actions.js';
import { Activity } from './failover/activity.js';
import { FailoverCoordinator } from './failover/coordinator.js';
import { misconfiguration } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { defaultConnectionFactory, NodePool, type ConnectionFactory, type ConnectionPurpose, type NodeConnections } from './pool/node-pool.js';
import { ConsistencyMonitor } from './routing/consistency-monitor.js';
import { buildRoutingTable, resolveLag, type ResolvedLag, type RoutingTable } from './routing/router.js';
import { formatAddress, type HostPort } from './topology/address.js';
import type { TopologyChange } from './topology/diff.js';
import { TopologyManager } from './topology/manager.js';
import { NodesProvider } from './topology/nodes-provider.js';
import type { TopologyProvider } from './topology/provider.js';
import { SentinelProvider } from './topology/sentinel-provider.js';
import type { Address, NodeState, Topology } from './topology/types.js';
import { noop } from './util.js';
import { StatsCollector } from './observability/stats.js';

const debug = createDebug('redis-failover:router');

/** What the core tells the facade (`FailoverRedis`), which owns status and public events. */
export interface CoreHost {
  /** The master is known and connected. */
  ready(): void;
  /** The master's data connection was lost while ready. */
  reconnecting(): void;
  /** A discovery failed as a whole (`fatal`: a wrong password, which waiting will not cure). */
  discoveryFailed(error: Error, fatal: boolean): void;
  /** SELECT succeeded. */
  selected(db: number): void;
  /** A public event. */
  emit<E extends keyof FailoverRedisEvents>(event: E, ...args: FailoverRedisEvents[E]): void;
  /** An `error` event, emitted only when someone listens (as ioredis does for its connections). */
  emitError(error: Error): void;
}

/** What the parts say to each other. Built first, so that no part needs another to exist yet. */
interface Bus {
  'node-ready': [node: NodeConnections];
  'node-close': [node: NodeConnections, purpose: ConnectionPurpose];
  'node-error': [node: NodeConnections, purpose: ConnectionPurpose, error: Error];
  topology: [next: Topology, previous: Topology | null, changes: TopologyChange[]];
  'discovery-error': [error: Error];
  signal: [reason: string];
  suspect: [suspect: boolean];
  fence: [fenced: boolean];
  failover: [event: FailoverEvent];
  warning: [event: WarningEvent];
  error: [error: Error];
  'before-promote': [address: Address];
  progress: [];
}

/**
 * The object graph of one client, built once: connections (pool), topology (provider, manager),
 * failover (coordinator), consistency (offset sampler) and dispatch. The parts talk over one
 * internal bus; this class wires them and reacts to a new picture — and does nothing else.
 */
export class Core {
  readonly pool: NodePool;
  readonly provider: TopologyProvider;
  readonly manager: TopologyManager;
  readonly coordinator: FailoverCoordinator;
  readonly consistency: ConsistencyMonitor | null;
  readonly dispatcher: Dispatcher;
  readonly lag: ResolvedLag;
  readonly stats: StatsCollector;
  #host: CoreHost;
  #table: RoutingTable | null = null;
  #suspect = false;
  #fenced = false;
  #switching = false;
  /** Masters whose data connection closed since a refresh last saw them answer as master. */
  #unconfirmed = new Set<Address>();

  constructor(opts: ResolvedOptions, host: CoreHost, factory: ConnectionFactory = defaultConnectionFactory, onMessage: MessageSink) {
    this.#host = host;
    const bus = new EventEmitter<Bus>();
    const redisOptions = opts.redisOptions;
    this.lag = resolveLag({ bytes: opts.maxReplicaLag.bytes ?? undefined, ms: opts.maxReplicaLag.ms ?? undefined });
    this.pool = new NodePool({
      // `scripts` are the facade's commands (defined there); its connections need none of them.
      redisOptions: { ...redisOptions, scripts: undefined },
      poolSize: opts.poolSize,
      factory,
      hooks: {
        onReady: (node) => bus.emit('node-ready', node),
        onClose: (node, purpose) => bus.emit('node-close', node, purpose),
        onError: (node, purpose, error) => bus.emit('node-error', node, purpose, error),
      },
    });
    const mapAddress = (announced: HostPort): HostPort => opts.natMap.get(formatAddress(announced.host, announced.port)) ?? announced;
    const downAfterMs = opts.failover.downAfterMs;
    const probeTimeoutMs = Math.min(Math.max(downAfterMs, 500), 5000);
    const connectTimeoutMs = (redisOptions.connectTimeout ?? 10_000) + 1000;
    // What the providers may read of the failover state: plain data, kept current by this class.
    const health = { silentMaster: null as Address | null };
    const roles = new RoleChanger(this.pool, (warning) => bus.emit('warning', warning));
    this.provider =
      opts.mode === 'sentinel'
        ? new SentinelProvider({
            sentinels: opts.seeds,
            name: opts.name!,
            sentinelOptions: opts.sentinelOptions,
            pool: this.pool,
            mapAddress,
            probeTimeoutMs: Math.max(probeTimeoutMs, 1000),
            connectTimeoutMs,
            connectionFactory: factory,
          })
        : new NodesProvider({
            seeds: opts.seeds,
            pool: this.pool,
            roles,
            mapAddress,
            probeTimeoutMs,
            connectTimeoutMs,
            // The heartbeat already knows the master is silent: do not wait the full probe for it.
            quickProbe: (address) => address === health.silentMaster,
          });
    this.manager = new TopologyManager({
      provider: this.provider,
      refreshIntervalMs: opts.refreshIntervalMs,
      // An idle client (no application command lately) looks 5 times less often.
      idleRefreshIntervalMs: 5 * opts.refreshIntervalMs,
      onTopology: (next, previous, changes) => bus.emit('topology', next, previous, changes),
      onError: (error) => bus.emit('discovery-error', error),
      onSignal: (reason) => bus.emit('signal', reason),
    });
    const lag = this.lag;
    this.consistency =
      opts.consistency === 'read-your-writes' || lag.bytes !== null || lag.ms !== null
        ? new ConsistencyMonitor({
            pool: this.pool,
            readYourWrites: opts.consistency === 'read-your-writes',
            lag,
            probeTimeoutMs,
            onProgress: () => bus.emit('progress'),
          })
        : null;
    // The application's commands are counted where they enter: the failure watch follows the pace.
    const activity = new Activity();
    this.dispatcher = new Dispatcher({
      pool: this.pool,
      consistency: this.consistency,
      signals: { signal: (reason) => bus.emit('signal', reason) },
      onMessage,
      maxQueuedCommands: opts.maxQueuedCommands,
      holdTimeoutMs: opts.commandTimeoutMs,
      offlineQueue: redisOptions.enableOfflineQueue !== false,
      autoPipelining: redisOptions.enableAutoPipelining === true,
      onSelect: (db) => host.selected(db),
      activity,
    });
    this.coordinator = new FailoverCoordinator({
      provider: this.provider,
      promote: opts.failover.promote,
      downAfterMs,
      quorum: opts.failover.quorum,
      pool: this.pool,
      roles,
      manager: this.manager,
      onSuspect: (suspect) => bus.emit('suspect', suspect),
      onSilence: (master) => (health.silentMaster = master),
      onFailover: (event) => bus.emit('failover', event),
      onWarning: (event) => bus.emit('warning', event),
      onError: (error) => bus.emit('error', error),
      beforePromote: (old) => bus.emit('before-promote', old),
      fencing: opts.fencing,
      onFence: (fenced) => bus.emit('fence', fenced),
      activity,
      held: () => this.dispatcher.held,
    });
    if (opts.readFrom.name !== 'master') this.dispatcher.readFromReplicas();
    this.stats = new StatsCollector({
      topology: () => this.manager.current,
      counters: () => this.pool.counters(),
      held: () => this.dispatcher.held,
      readYourWritesRedirects: () => this.dispatcher.readYourWritesRedirects,
    });

    // Every part exists: connect them.
    const dispatcher = this.dispatcher;
    bus.on('node-ready', (node) => {
      dispatcher.syncReadiness();
      if (node.address === dispatcher.state.master?.address) {
        // A master that lost its connection may have come back as something else (a restart
        // with its original replicaof): ready once a refresh says it is still the master.
        if (this.#unconfirmed.has(node.address)) this.manager.request(`${node.address} reconnected`);
        else host.ready();
      }
      dispatcher.drain();
    });
    bus.on('node-close', (node, purpose) => this.#onNodeClose(node, purpose));
    bus.on('node-error', (node, purpose, error) => {
      debug('%s %s connection: %s', node.address, purpose, error.message);
      if (purpose === 'data') host.emitError(error);
    });
    bus.on('topology', (next, previous, changes) => this.#onTopology(next, previous, changes));
    bus.on('discovery-error', (error) => this.#onDiscoveryError(error));
    bus.on('signal', (reason) => this.coordinator.signal(reason));
    bus.on('suspect', (suspect) => {
      this.#suspect = suspect;
      this.#updateGate();
    });
    bus.on('fence', (fenced) => {
      this.#fenced = fenced;
      this.#updateGate();
    });
    bus.on('failover', (event) => {
      this.stats.failedOver(event);
      host.emit('failover', event);
    });
    bus.on('warning', (event) => host.emit('warning', event));
    bus.on('error', (error) => host.emitError(error));
    bus.on('before-promote', (old) => {
      // Nothing more is written to the old master: its connections go before the promotion.
      dispatcher.dropMaster(old);
      this.pool.remove(old).catch(noop);
    });
    bus.on('progress', () => {
      dispatcher.syncProgress();
      dispatcher.drain();
    });
  }

  /** A switchover is under way (writes wait for the new master), or over. */
  setSwitching(switching: boolean): void {
    this.#switching = switching;
    this.#updateGate();
  }

  #updateGate(): void {
    this.dispatcher.setGate(this.#switching ? 'switchover' : this.#suspect ? 'master-silent' : this.#fenced ? 'master-fenced' : null);
    if (!this.#switching && !this.#suspect && !this.#fenced) this.dispatcher.drain();
  }

  async close(quit: boolean): Promise<void> {
    this.coordinator.stop();
    this.consistency?.stop();
    await this.manager.stop();
    await this.pool.close(quit);
  }

  #onTopology(next: Topology, previous: Topology | null, changes: TopologyChange[]): void {
    const dispatcher = this.dispatcher;
    dispatcher.setLastError(null);
    dispatcher.setFatal(null);
    const before = this.#table;
    const previousMaster = dispatcher.state.master?.address ?? null;
    this.#table = buildRoutingTable(next, this.lag);
    dispatcher.setTable(this.#table);
    if (previousMaster !== null && next.master?.address !== previousMaster) {
      debug('master is now %s (was %s)', next.master?.address, previousMaster);
    }
    const host = this.#host;
    for (const change of changes) {
      if (change.type === 'node-down' && change.address !== next.master?.address && this.pool.get(change.address)?.ready) {
        // A replica that stopped answering but kept its connections (hung): drop them, so that the
        // reads stuck on it fail over to another node instead of waiting for it.
        this.pool.remove(change.address).catch(noop);
      }
      if (change.type === 'node-up' || change.type === 'node-down') {
        host.emit(change.type, { address: change.address, role: stateOf(next, change.address)?.role ?? 'unknown' });
      } else if (change.type === 'role-change' && stateOf(next, change.address)?.up) {
        // Only what a node says of itself: a node that does not answer has no role to change.
        host.emit('role-change', { address: change.address, from: change.from, to: change.to });
      }
    }
    if (previous === null || changes.length > 0 || !sameReaders(before, this.#table)) host.emit('topology', structuredClone(next), changes);
    this.coordinator.afterRefresh(next, previous);
    if (next.master?.up) this.#unconfirmed.delete(next.master.address);
    // No node is master (a replication cycle): writes can go nowhere, so not ready.
    if (next.master === null && next.replicas.some((r) => r.up)) host.reconnecting();
    if (dispatcher.state.master?.ready && !this.#unconfirmed.has(dispatcher.state.master.address)) host.ready();
    dispatcher.drain();
  }

  #onDiscoveryError(error: Error): void {
    this.dispatcher.setLastError(error);
    // Wrong credentials, or a Sentinel where a master or replica was expected, do not get better by
    // waiting: fail what waits, and what comes next, until a discovery succeeds.
    const fatal = misconfiguration(error);
    if (fatal !== null) this.dispatcher.setFatal(fatal);
    this.#host.discoveryFailed(fatal ?? error, fatal !== null);
  }

  #onNodeClose(node: NodeConnections, purpose: ConnectionPurpose): void {
    const dispatcher = this.dispatcher;
    dispatcher.syncReadiness();
    if (node.address === dispatcher.state.master?.address && purpose === 'data' && !node.ready) {
      this.#unconfirmed.add(node.address);
      this.#host.reconnecting();
    }
    this.coordinator.signal(`${purpose} connection to ${node.address} closed`);
  }
}

function stateOf(topology: Topology, address: Address): NodeState | undefined {
  return topology.master?.address === address ? topology.master : topology.replicas.find((r) => r.address === address);
}

function sameReaders(a: RoutingTable | null, b: RoutingTable): boolean {
  if (a === null || a.master?.address !== b.master?.address || a.replicas.length !== b.replicas.length) return false;
  return a.replicas.every((r, i) => r.address === b.replicas[i]!.address);
}
