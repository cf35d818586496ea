import createDebug from 'debug';
import type { Redis } from 'ioredis';
import { waitError, type Attempt } from '../dispatch/attempt.js';
import type { Placement } from '../dispatch/placement.js';
import type { ConsistencyMonitor } from '../consistency/monitor.js';
import type { ReadYourWrites } from '../consistency/read-your-writes.js';
import type { NodeCounters } from '../observability/stats.js';
import { parseReadFrom } from '../routing/read-policy.js';
import { markZones, routeTarget, type RouteTarget, type RoutingState } from '../routing/route.js';
import { eligibleReplicas, type ResolvedLag } from '../routing/router.js';
import type { HostPort } from '../topology/address.js';
import type { Address, NodeState } from '../topology/types.js';
import { noop } from '../util.js';
import { redirectOf, retriesClusterDown } from './replies.js';
import { ClusterLinks, type NodeConnections } from './pool.js';
import { ANY_SLOT } from './slot.js';
import { slotTable, UNCOVERED, type ClusterTopology } from './topology.js';

const debug = createDebug('redis-failover:cluster');
const MASTER_POLICY = parseReadFrom('master');

/** MOVED/ASK followed for one command or batch before its error is passed on (ioredis: 16). */
export const MAX_REDIRECTS = 5;
/** CLUSTERDOWN/TRYAGAIN: nothing was applied; tried again after this long. */
export const CLUSTER_RETRY_MS = 50;

export interface ClusterPlacementSettings {
  /** ioredis Cluster's connection pool, by announced address. */
  pool: NodeConnections;
  reach(address: Address): HostPort;
  consistency: ConsistencyMonitor | null;
  writes: ReadYourWrites | null;
  /** `maxReplicaLag`: its `bytes` bound is part of which replicas may serve reads. */
  lag: ResolvedLag;
  /** The client's `zone` option: which targets the zone policies prefer. */
  zone: string | null;
  /** The picture may be stale (a connection lost, MOVED, READONLY, CLUSTERDOWN): read it again now. */
  stale(reason: string, address?: Address): void;
}

interface Shard {
  master: Address | null;
  /** It serves slots (a failed old master stays in the picture as a shard with none). */
  serving: boolean;
  state: RoutingState;
}

/**
 * Where the commands of a FailoverCluster may go: the slot's shard (from `CLUSTER SHARDS`), one
 * routing state per shard — the same `route()` FailoverRedis's one state goes by — and ioredis
 * Cluster's connections. Readiness is kept on the targets as connections and the picture change;
 * the write gate of a shard closes while its master is silent or switching over. MOVED and ASK are
 * followed here (ioredis's own retry loop would resend a write whose connection closed, and gives
 * up after `maxRedirections`), CLUSTERDOWN and TRYAGAIN waited out.
 */
export class ClusterPlacement implements Placement {
  #s: ClusterPlacementSettings;
  #links: ClusterLinks;
  #engine: { drain(): void } | null = null;
  #table: Uint16Array = new Uint16Array(0);
  #shards: Shard[] = [];
  #nodes = new Map<Address, NodeState>();
  /** Where MOVED/ASK sent attempts: one state per node named, until the next picture. */
  #redirects = new Map<Address, RoutingState>();
  #silent = new Set<Address>();
  #switching = new Set<Address>();
  #retryTimer: NodeJS.Timeout | null = null;
  #closed: RoutingState | null = null;
  #readsFromReplicas = false;
  /** Where the search for a keyless command's shard starts next. */
  #anyTurn = 0;
  /** Application commands (and batches) sent to each node, and those that failed there. */
  readonly counters = new Map<Address, NodeCounters>();

  constructor(settings: ClusterPlacementSettings) {
    this.#s = settings;
    this.#links = new ClusterLinks({
      pool: settings.pool,
      reach: settings.reach,
      onReady: () => this.#changed(),
      onDown: (address) => {
        debug('%s lost', address);
        this.#changed();
        settings.stale('connection lost', address);
      },
    });
  }

  attach(engine: { drain(): void }): void {
    this.#engine = engine;
  }

  /** A fresh picture: each shard's routing state rebuilt, connections opened, then what waits is tried. */
  update(topology: ClusterTopology): void {
    this.#nodes.clear();
    for (const shard of topology.shards) {
      for (const n of [shard.master, ...shard.replicas]) {
        if (n === null) continue;
        this.#nodes.set(n.address, n);
        if (n.up) this.#links.up(n.address);
      }
    }
    this.#table = slotTable(topology);
    this.#redirects.clear();
    this.#shards = topology.shards.map((shard) => {
      const master = shard.master && routeTarget(shard.master, true, this.#countersOf(shard.master.address));
      // FailoverRedis's rule: up, linked to this master (all alike cut off while it is down), not loading, syncing or lagging.
      const replicas = shard.master ? eligibleReplicas(shard.replicas, shard.master, this.#s.lag).map((r) => routeTarget(r, false, this.#countersOf(r.address))) : [];
      const state: RoutingState = { known: true, master, replicas, gate: null, pinned: null, fatal: null, turn: 0 };
      markZones(state, this.#s.zone);
      return { master: shard.master?.address ?? null, serving: shard.slots.length > 0, state };
    });
    this.#s.consistency?.setGroups(
      this.#shards.flatMap(({ state }, i) => (state.master !== null && topology.shards[i]!.slots.length > 0 ? [{ master: state.master.node, replicas: state.replicas.map((r) => r.node) }] : [])),
    );
    this.#changed();
    this.progressed();
  }

  /** Offsets were sampled: which replicas have this session's writes, and are within the lag bound. */
  progressed(): void {
    const consistency = this.#s.consistency;
    if (consistency !== null) {
      for (const { master, state } of this.#shards) {
        if (master === null) continue;
        for (const r of state.replicas) {
          r.reached = consistency.reachedSeq(master, r.address);
          r.fresh = consistency.withinLag(master, r.address);
        }
      }
    }
    this.#engine?.drain();
  }

  /** The heartbeat says `address` is silent (or answers again): its shard's writes wait meanwhile; a silent replica gets no reads. */
  silence(address: Address, silent: boolean): void {
    debug('%s %s', address, silent ? 'silent' : 'answers again');
    if (silent) this.#silent.add(address);
    else this.#silent.delete(address);
    // The reads stuck on a silent replica go elsewhere (a hung master's wait for the cluster's
    // failover: its writes could not go anywhere else).
    if (silent && !this.#shards.some((s) => s.master === address)) this.#links.destroy(address);
    this.#changed();
  }

  /** A switchover of the shard of `master` runs: its writes wait. */
  switching(master: Address, on: boolean): void {
    if (on) this.#switching.add(master);
    else this.#switching.delete(master);
    this.#changed();
  }

  /** The client or one of its views reads from replicas: their connections open, writes are tracked from now on. */
  readFromReplicas(): void {
    if (this.#readsFromReplicas) return;
    this.#readsFromReplicas = true;
    this.#s.writes?.track();
    this.#changed();
  }

  /** Resolves once the connection to every master that serves slots is ready, or has failed (its commands then wait for the next picture). */
  mastersConnected(): Promise<void> {
    return this.#links.connected(this.#shards.flatMap(({ master, serving }) => (master === null || !serving ? [] : [master])));
  }

  /** Nodes whose loss this client saw and that no poll has shown back. */
  get down(): ReadonlySet<Address> {
    return this.#links.down;
  }

  /** A shard master changed: connections to the old one are closed, so whatever hung on it settles. */
  retire(address: Address): void {
    if (this.#links.down.has(address) || this.#silent.has(address)) this.#links.destroy(address);
  }

  /** The master serving `slot` now, or null. */
  masterOf(slot: number): Address | null {
    const i = this.#shardOf(slot);
    return i < 0 ? null : this.#shards[i]!.master;
  }

  /** ioredis's connection to `address`, if it has one. */
  connectionAt(address: Address): Redis | undefined {
    return this.#s.pool.getInstanceByKey(address);
  }

  /** Closed: every attempt from now on fails with `error`. */
  close(error: Error): void {
    this.#closed = { known: true, master: null, replicas: [], gate: null, pinned: null, fatal: error, turn: 0 };
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
  }

  // ---------------------------------------------------------------- Placement

  stateFor(a: Attempt): RoutingState | 'no-topology' | 'no-master' | 'cluster-down' {
    if (this.#closed !== null) return this.#closed;
    if (a.redirect !== null) return this.#redirectState(a.redirect.address);
    if (a.retryAt !== 0) {
      if (a.retryAt > performance.now()) return 'cluster-down';
      a.retryAt = 0;
    }
    const i = this.#shardOf(a.slot);
    if (i < 0) return this.#table.length === 0 ? 'no-topology' : 'no-master';
    return this.#shards[i]!.state;
  }

  connection(target: RouteTarget, _lane: 'data' | 'blocking' | 'transaction', a: Attempt): Redis | null {
    const conn = this.#links.connection(target.address, target.node.role === 'replica');
    // ASK: this one command may go to the importing node, announced by ASKING right before it.
    if (conn !== null && a.redirect?.asking === true) conn.asking().catch(noop);
    return conn;
  }

  /** ioredis's connections are shared, blocking commands included (as ioredis Cluster sends them): nothing to give back. */
  release(): void {}

  /** Subscriptions stay with ioredis's Cluster (its subscriber connections): none comes here. */
  subscribe(): boolean {
    return false;
  }

  /** A cluster has only database 0; SELECT stays with ioredis. */
  selected(): void {}

  observed(what: 'connection-lost' | 'readonly', address: Address): void {
    if (what === 'connection-lost') this.#links.lost(address);
    else this.#s.stale('READONLY', address);
  }

  waitCause(a: Attempt): Error | undefined {
    return waitError(a.reason, a.redirect?.address ?? this.masterOf(a.slot), null);
  }

  replyError(a: Attempt, error: Error): 'resend' | 'hold' | null {
    const redirect = redirectOf(error);
    if (redirect !== null && a.redirects < MAX_REDIRECTS) return this.#redirected(a, redirect.kind, redirect.slot, redirect.address);
    a.redirect = null;
    if (retriesClusterDown(error.message) && a.tries <= 1000) return this.#clusterDown(a, error.message);
    return null;
  }

  batchError(a: Attempt, result: unknown): 'resend' | 'hold' | null {
    const first = firstError(result);
    // A command of the batch ran: it cannot simply be sent again.
    if (first === null || partlyApplied(result)) return null;
    return this.replyError(a, first);
  }

  // ----------------------------------------------------------------

  /**
   * MOVED/ASK `slot` `node`: nothing was applied. The next send goes to `node` (announced, as every
   * address here; the pool maps it), a master; MOVED also reads the picture again.
   */
  #redirected(a: Attempt, kind: 'MOVED' | 'ASK', slot: string, address: Address): 'resend' {
    a.redirects++;
    a.redirect = { address, asking: kind === 'ASK' };
    a.policy = MASTER_POLICY;
    if (kind === 'MOVED') this.#s.stale(`MOVED ${slot} ${address}`);
    return 'resend';
  }

  /** CLUSTERDOWN/TRYAGAIN: nothing was applied. Held, tried again shortly (bounded by commandTimeoutMs); the picture is read again. */
  #clusterDown(a: Attempt, message: string): 'hold' {
    a.reason = 'cluster-down';
    a.retryAt = performance.now() + CLUSTER_RETRY_MS - 1;
    if (this.#retryTimer === null) {
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = null;
        this.#engine?.drain();
      }, CLUSTER_RETRY_MS);
      this.#retryTimer.unref();
    }
    this.#s.stale(message.split(' ')[0]!);
    return 'hold';
  }

  /** The state of a node MOVED/ASK named: that node alone, as a master. */
  #redirectState(address: Address): RoutingState {
    let state = this.#redirects.get(address);
    if (state === undefined) {
      const node = this.#nodes.get(address) ?? namedNode(address);
      state = { known: true, master: routeTarget(node, true, this.#countersOf(address)), replicas: [], gate: null, pinned: null, fatal: null, turn: 0 };
      this.#redirects.set(address, state);
    }
    state.master!.ready = this.#links.ready(address, false);
    return state;
  }

  /** Readiness or a gate changed: every target's flags from the connections now, then what waits is tried. */
  #changed(): void {
    const links = this.#links;
    for (const { master, state } of this.#shards) {
      if (master === null) continue;
      state.master!.ready = links.ready(master, false);
      state.gate = this.#silent.has(master) ? 'master-silent' : this.#switching.has(master) ? 'switchover' : null;
      // Replica connections open only once reads may use them.
      for (const r of state.replicas) r.ready = this.#readsFromReplicas && !this.#silent.has(r.address) && links.ready(r.address, true);
    }
    this.#engine?.drain();
  }

  /** The shard index of a slot, or -1. */
  #shardOf(slot: number): number {
    if (slot === ANY_SLOT) return this.#anyShard();
    const i = this.#table[slot];
    return i === undefined || i === UNCOVERED ? -1 : i;
  }

  /** For a keyless command: the next shard, in turn, whose master is ready and takes writes; -1 while none does. */
  #anyShard(): number {
    const n = this.#shards.length;
    for (let k = 0; k < n; k++) {
      const i = (this.#anyTurn + k) % n;
      const { master, state } = this.#shards[i]!;
      if (master === null || state.gate !== null || !state.master!.ready) continue;
      this.#anyTurn = i + 1;
      return i;
    }
    return -1;
  }

  #countersOf(address: Address): NodeCounters {
    let c = this.counters.get(address);
    if (c === undefined) this.counters.set(address, (c = { sent: 0, errors: 0 }));
    return c;
  }
}

/** A node MOVED or ASK named before any picture showed it. */
function namedNode(address: Address): NodeState {
  const at = address.lastIndexOf(':');
  return {
    address, host: address.slice(0, at), port: Number(address.slice(at + 1)), role: 'master', up: true, offset: 0, lagBytes: 0, lagSeconds: null,
    linkStatus: null, lastIoSecondsAgo: null, priority: null, latencyMs: null, masterAddress: null, loading: false, syncing: false, replid: null, runId: null, zone: null,
  };
}

/** The first error among a pipeline's results, or null. */
function firstError(result: unknown): Error | null {
  if (!Array.isArray(result)) return null;
  for (const entry of result) if (Array.isArray(entry) && entry[0] instanceof Error) return entry[0];
  return null;
}

/** Some command of the batch succeeded: it ran. */
function partlyApplied(result: unknown): boolean {
  return Array.isArray(result) && result.some((entry) => Array.isArray(entry) && entry[0] === null);
}
