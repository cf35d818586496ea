import { Engine } from './dispatch/engine.js';
import type { MessageSink } from './dispatch/subscriptions.js';
import { RoleChanger } from './failover/actions.js';
import { Activity } from './failover/activity.js';
import { FailoverCoordinator } from './failover/coordinator.js';
import type { ResolvedOptions } from './options.js';
import { defaultConnectionFactory, NodePool, type ConnectionFactory } from './pool/node-pool.js';
import { ConsistencyMonitor } from './consistency/monitor.js';
import { resolveLag, type ResolvedLag } from './routing/router.js';
import { formatAddress, type HostPort } from './topology/address.js';
import { TopologyManager } from './topology/manager.js';
import { NodesProvider } from './topology/nodes-provider.js';
import type { TopologyProvider } from './topology/provider.js';
import { SentinelProvider } from './topology/sentinel-provider.js';
import type { Address } from './topology/types.js';
import { replicaSetPicture, StatsCollector } from './observability/stats.js';
import { ReplicaSetPlacement } from './replica-set/placement.js';
import { ReplicaSetReactions, type CoreHost, type ReplicaSetParts } from './replica-set/reactions.js';
import { ReadYourWrites } from './consistency/read-your-writes.js';

export type { CoreHost };

/**
 * The object graph of one client, built once: connections (pool), topology (provider, manager),
 * failover (coordinator), consistency (offset sampler) and dispatch (placement, engine). Each part
 * reports to the replica set's reactions through its own interface; this class builds the graph
 * and does nothing else.
 */
export class Core implements ReplicaSetParts {
  readonly pool: NodePool;
  readonly provider: TopologyProvider;
  readonly manager: TopologyManager;
  readonly coordinator: FailoverCoordinator;
  readonly consistency: ConsistencyMonitor | null;
  readonly placement: ReplicaSetPlacement;
  readonly engine: Engine;
  readonly lag: ResolvedLag;
  readonly stats: StatsCollector<{ master: Address | null }>;
  #reactions: ReplicaSetReactions;

  constructor(opts: ResolvedOptions, host: CoreHost, factory: ConnectionFactory = defaultConnectionFactory, onMessage: MessageSink) {
    // Reads the parts below only when one reports, which none does before this constructor returns.
    const reactions = new ReplicaSetReactions(host, this);
    this.#reactions = reactions;
    const redisOptions = opts.redisOptions;
    this.lag = resolveLag({ bytes: opts.maxReplicaLag.bytes ?? undefined, ms: opts.maxReplicaLag.ms ?? undefined });
    this.pool = new NodePool({
      // `scripts` are the facade's commands (defined there); its connections need none of them.
      redisOptions: { ...redisOptions, scripts: undefined },
      poolSize: opts.poolSize,
      factory,
      hooks: reactions,
    });
    const mapAddress = (announced: HostPort): HostPort => opts.natMap.get(formatAddress(announced.host, announced.port)) ?? announced;
    const downAfterMs = opts.failover.downAfterMs;
    const probeTimeoutMs = Math.min(Math.max(downAfterMs, 500), 5000);
    const connectTimeoutMs = (redisOptions.connectTimeout ?? 10_000) + 1000;
    const roles = new RoleChanger(this.pool, (warning) => host.emit('warning', warning));
    // The master the heartbeat finds silent (kept current by the coordinator): probed briefly.
    let silentMaster: string | null = null;
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
            quickProbe: (address) => address === silentMaster,
          });
    this.manager = new TopologyManager({
      provider: this.provider,
      refreshIntervalMs: opts.refreshIntervalMs,
      // An idle client (no application command lately) looks 30 times less often (60 s by
      // default): it refreshes at once when it becomes active again, and connection losses, nodes
      // coming back and Sentinel's events still bring a refresh at once. What is left is the
      // refresh's own CPU (~1 ms of this client's per discovery): 0.02 ms/s at 60 s.
      idleRefreshIntervalMs: 30 * opts.refreshIntervalMs,
      onTopology: (next, previous, changes) => reactions.topology(next, previous, changes),
      onError: (error) => reactions.discoveryFailed(error),
      onSignal: (reason) => reactions.signal(reason),
      zones: opts.zones,
    });
    const lag = this.lag;
    this.consistency =
      opts.consistency === 'read-your-writes' || lag.bytes !== null || lag.ms !== null
        ? new ConsistencyMonitor({
            control: (node) => this.pool.node(node).control(),
            readYourWrites: opts.consistency === 'read-your-writes',
            lag,
            probeTimeoutMs,
            onProgress: () => reactions.progress(),
          })
        : null;
    // The application's commands are counted where they enter: the failure watch follows the pace.
    const activity = new Activity();
    this.coordinator = new FailoverCoordinator({
      provider: this.provider,
      promote: opts.failover.promote,
      downAfterMs,
      quorum: opts.failover.quorum,
      pool: this.pool,
      roles,
      manager: this.manager,
      onSuspect: (suspect) => reactions.suspect(suspect),
      onSilence: (master) => (silentMaster = master),
      onFailover: (event) => reactions.failedOver(event),
      onWarning: (event) => host.emit('warning', event),
      onError: (error) => host.emitError(error),
      beforePromote: (old) => reactions.beforePromote(old),
      fencing: opts.fencing,
      onFence: (fenced) => reactions.fenced(fenced),
      activity,
      held: () => this.engine.held,
    });
    const writes = this.consistency === null ? null : new ReadYourWrites(this.consistency);
    this.placement = new ReplicaSetPlacement({
      pool: this.pool,
      consistency: this.consistency,
      writes,
      signals: reactions,
      onMessage,
      onSelect: (db) => host.selected(db),
      zone: opts.zone,
    });
    this.engine = new Engine({
      placement: this.placement,
      writes,
      maxQueuedCommands: opts.maxQueuedCommands,
      holdTimeoutMs: opts.commandTimeoutMs,
      offlineQueue: redisOptions.enableOfflineQueue !== false,
      // Batched per tick unless the user turned ioredis's batching off by name.
      autoPipelining: redisOptions.enableAutoPipelining !== false,
      activity,
    });
    if (opts.readFrom.name !== 'master') this.placement.readFromReplicas();
    this.stats = new StatsCollector({
      picture: () => replicaSetPicture(this.manager.current),
      counters: () => this.pool.counters(),
      held: () => this.engine.held,
      readYourWritesRedirects: () => this.engine.readYourWritesRedirects,
    });
  }

  /** A switchover is under way (writes wait for the new master), or over. */
  setSwitching(switching: boolean): void {
    this.#reactions.switching(switching);
  }

  /** Closing: what waits fails with `error`, the session's and subscriptions' connections go. */
  stopDispatch(error: Error): void {
    this.engine.close(error);
    this.placement.close();
  }

  async close(quit: boolean): Promise<void> {
    this.coordinator.stop();
    this.consistency?.stop();
    await this.manager.stop();
    await this.pool.close(quit);
  }
}
