import createDebug from 'debug';
import { Command, type Redis } from 'ioredis';
import { MaybeAppliedError, NotReplicatedError, ClosedError } from '../errors.js';
import { classOf, type ViewRoute } from '../dispatch/attempt.js';
import { HoldQueue } from '../dispatch/hold-queue.js';
import { judge } from '../dispatch/judge.js';
import { isConnectionLoss } from '../failover/signals.js';
import { parseReadFrom, type ReadPolicy } from '../routing/read-policy.js';
import { route, routeTarget, type RoutingState } from '../routing/route.js';
import { eligibleReplicas, type ResolvedLag } from '../routing/router.js';
import type { HostPort } from '../topology/address.js';
import type { Address } from '../topology/types.js';
import { commandChannel, traceCommand } from '../observability/channels.js';
import type { NodeCounters } from '../observability/stats.js';
import { noop } from '../util.js';
import { CLUSTER_RETRY_MS, ClusterAttempt, MAX_REDIRECTS, type ClusterSend } from './attempt.js';
import type { ClusterProgress } from './progress.js';
import { ClusterLinks, type NodeConnections } from './pool.js';
import { ANY_SLOT } from './slot.js';
import { slotTable, UNCOVERED, type ClusterTopology } from './topology.js';

const debug = createDebug('redis-failover:router');
const MASTER: ReadPolicy = parseReadFrom('master');

export interface DispatchSettings {
  pool: NodeConnections;
  progress: ClusterProgress | null;
  reach(address: Address): HostPort;
  timeoutMs: number | null;
  maxQueued: number;
  /** `redisOptions.enableOfflineQueue: false`: a command that would have to wait fails at once instead. */
  offlineQueue: boolean;
  /** `maxReplicaLag`: its `bytes` bound is part of which replicas may serve reads. */
  lag: ResolvedLag;
  /** The picture may be stale (a connection lost, MOVED, READONLY): read it again now. */
  stale(reason: string, address?: Address): void;
}

interface ShardRoute {
  state: RoutingState;
  master: Address | null;
}

/**
 * Sends the keyed commands of a FailoverCluster (blocking ones too): the slot's shard from `CLUSTER SHARDS`, the node
 * by `route()` (the same decision FailoverRedis makes, per shard), the connection from ioredis's
 * pool, and every failed attempt judged by `judge()`. Commands wait in a `HoldQueue` while their
 * shard has no usable master. MOVED and ASK are followed here, because ioredis's own retry loop
 * resends a write whose connection closed (it may then apply twice) and gives up after
 * `maxRedirections` with `Too many Cluster redirections`.
 */
export class ClusterDispatcher {
  #s: DispatchSettings;
  #queue: HoldQueue;
  #table: Uint16Array = new Uint16Array(0);
  #shards: ShardRoute[] = [];
  #links: ClusterLinks;
  #silent = new Set<Address>();
  #switching = new Set<Address>();
  #retryTimer: NodeJS.Timeout | null = null;
  #closed: Error | null = null;
  /** Read-your-writes remembers writes only once some reads may go to replicas. */
  #trackWrites = false;
  /** Where the search for a keyless command's shard starts next. */
  #anyTurn = 0;
  /** Application commands (and batches) sent to each node, and those that failed there. */
  readonly counters = new Map<Address, NodeCounters>();
  /** Reads that read-your-writes sent to the master (`stats()`). */
  readYourWritesRedirects = 0;

  constructor(settings: DispatchSettings) {
    this.#s = settings;
    this.#queue = new HoldQueue({ limit: settings.maxQueued, timeoutMs: settings.timeoutMs, offlineQueue: settings.offlineQueue });
    this.#links = new ClusterLinks({
      pool: settings.pool,
      reach: settings.reach,
      onReady: () => this.#queue.drain(),
      onDown: (address) => {
        debug('%s lost', address);
        settings.stale('connection lost', address);
      },
    });
  }

  get held(): number {
    return this.#queue.size;
  }

  /** A fresh picture: rebuild each shard's routing state, then try what waits. */
  update(topology: ClusterTopology): void {
    const progress = this.#s.progress;
    for (const shard of topology.shards) for (const n of [shard.master, ...shard.replicas]) if (n?.up) this.#links.up(n.address);
    this.#table = slotTable(topology);
    this.#shards = topology.shards.map((shard) => {
      const master = shard.master && routeTarget(shard.master, true);
      // FailoverRedis's rule: up, linked to this master (all alike cut off while it is down), not loading, syncing or lagging.
      const replicas = shard.master ? eligibleReplicas(shard.replicas, shard.master, this.#s.lag).map((r) => routeTarget(r, false)) : [];
      return {
        master: shard.master?.address ?? null,
        state: { known: true, master, replicas, gate: null, pinned: null, fatal: null, turn: 0 },
      };
    });
    progress?.setShards(this.#shards.flatMap((s, i) => (s.state.master && topology.shards[i]!.slots.length > 0 ? [{ master: s.state.master.node, replicas: s.state.replicas.map((r) => r.node) }] : [])));
    this.#open();
    this.progressed();
  }

  /**
   * Connect to every shard master, and to the readable replicas when reads may use them, ahead of
   * the first command (FailoverRedis opens its master's connections as it learns the picture): a
   * command then rarely waits for a connect, and without an offline queue it would fail for it.
   */
  #open(): void {
    for (const { master, state } of this.#shards) {
      if (master !== null) this.#links.ready(master, false);
      if (this.#trackWrites) for (const r of state.replicas) this.#links.ready(r.address, true);
    }
  }

  /** Resolves once every shard master's connection is ready, or has failed (its commands then wait for the next picture). */
  mastersConnected(): Promise<void> {
    return this.#links.connected(this.#shards.flatMap(({ master }) => (master === null ? [] : [master])));
  }

  /** Offsets were sampled: replicas may have caught up. */
  progressed(): void {
    const progress = this.#s.progress;
    if (progress !== null) {
      for (const { state, master } of this.#shards) {
        for (const r of state.replicas) {
          r.reached = progress.reachedSeq(master!, r.address);
          r.fresh = progress.withinLag(master!, r.address);
        }
      }
    }
    this.#queue.drain();
  }

  /** The heartbeat says a master is silent (or answers again): its shard's writes wait meanwhile. */
  silence(address: Address, silent: boolean): void {
    debug('%s %s', address, silent ? 'silent' : 'answers again');
    if (silent) this.#silent.add(address);
    else this.#silent.delete(address);
    // A silent replica gets no reads, and the reads stuck on it go elsewhere (a hung master's
    // wait for the cluster's failover: its writes could not go anywhere else).
    if (silent && !this.#shards.some((s) => s.master === address)) this.#links.destroy(address);
    this.#queue.drain();
  }

  /** A switchover of the shard of `master` runs: its writes wait. */
  switching(master: Address, on: boolean): void {
    if (on) this.#switching.add(master);
    else this.#switching.delete(master);
    this.#queue.drain();
  }

  /** The client or one of its views reads from replicas: writes must be remembered from now on. */
  readsFromReplicas(): void {
    if (this.#trackWrites) return;
    this.#trackWrites = true;
    this.#open();
  }

  isDown(address: Address): boolean {
    return this.#links.down.has(address);
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
    const i = this.shardOf(slot);
    return i < 0 ? null : this.#shards[i]!.master;
  }

  /** ioredis's connection to `address`, if it has one. */
  connectionAt(address: Address): Redis | undefined {
    return this.#s.pool.getInstanceByKey(address);
  }

  /** The shard index of a slot, or -1. */
  shardOf(slot: number): number {
    if (slot === ANY_SLOT) return this.#anyShard();
    const i = this.#table[slot];
    return i === undefined || i === UNCOVERED ? -1 : i;
  }

  /**
   * For a keyless command: the next shard, in turn, whose master is ready and takes writes (not
   * lost, silent or switching over); -1 while none does (the command waits).
   */
  #anyShard(): number {
    const n = this.#shards.length;
    for (let k = 0; k < n; k++) {
      const i = (this.#anyTurn + k) % n;
      const master = this.#shards[i]!.master;
      if (master === null || this.#silent.has(master) || this.#switching.has(master) || !this.#links.ready(master, false)) continue;
      this.#anyTurn = i + 1;
      return i;
    }
    return -1;
  }

  send(cmd: Command, slot: number, view: ViewRoute): Promise<unknown> {
    const a = new ClusterAttempt(this, cmd, classOf(cmd), slot, view);
    if (this.#closed) a.fail(this.#closed);
    else if (commandChannel.hasSubscribers) traceCommand(a, this.#begin);
    else if (!this.tryAttempt(a)) this.hold(a);
    return cmd.promise;
  }

  #begin = (a: ClusterAttempt): void => {
    if (!this.tryAttempt(a)) this.hold(a);
  };

  close(error: Error = new ClosedError()): void {
    this.#closed = error;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#queue.failAll(error);
  }

  /** Route `a` and send it now; false when it must wait. */
  tryAttempt(a: ClusterAttempt): boolean {
    if (this.#closed) {
      a.fail(this.#closed);
      return true;
    }
    const conn = this.place(a);
    if (conn === null) return false;
    if (conn !== undefined) this.#write(a, conn);
    return true;
  }

  /**
   * The one routing step, for single commands and batches alike: the node MOVED/ASK named, or
   * the slot's shard, the readiness of its nodes and its write gate, then `route()` (whose
   * decisions allocate nothing). Sets `sentTo` and `atMaster`; returns the connection to send on,
   * null while `s` must wait (`reason` says why), or undefined once routing failed it.
   */
  place(s: ClusterSend): Redis | null | undefined {
    if (s.redirect !== null) {
      const conn = this.#links.connection(s.redirect.address, false);
      if (conn === null) return null;
      s.sentTo = s.redirect.address;
      s.atMaster = true;
      return conn;
    }
    if (s.retryAt > performance.now()) return null;
    const i = this.shardOf(s.slot);
    if (i < 0) {
      s.reason = this.#table.length === 0 ? 'no-topology' : 'no-master';
      s.sentTo = null;
      return null;
    }
    const state = this.#shards[i]!.state;
    const master = state.master!;
    master.ready = this.#links.ready(master.address, false);
    const replicaRead = s.cls.readOnly && s.policy.name !== 'master';
    // Replicas matter only to reads routed by a policy that may use them.
    if (replicaRead) for (const r of state.replicas) r.ready = !this.#silent.has(r.address) && this.#links.ready(r.address, true);
    state.gate = this.#silent.has(master.address) ? 'master-silent' : this.#switching.has(master.address) ? 'switchover' : null;
    const progress = this.#s.progress;
    // `need` is asked only for reads that may go to a replica (read-your-writes).
    const need = replicaRead && progress !== null ? s.need(progress) : 0;
    const decision = route(s.cls, state, s.policy, need);
    if (decision.kind === 'fail') {
      s.fail(decision.error);
      return undefined;
    }
    if (decision.kind === 'wait') {
      s.reason = decision.reason;
      s.sentTo = master.address;
      return null;
    }
    const target = decision.target;
    if (target !== master) state.turn++;
    else if (s.notAt === master.address) {
      s.reason = 'no-master';
      return null;
    }
    if (need > 0 && target === master) this.readYourWritesRedirects++;
    s.sentTo = target.address;
    s.atMaster = target === master;
    return this.#s.pool.getInstanceByKey(target.address)!;
  }

  /** Wait for a sign of change (bounded by commandTimeoutMs and maxQueuedCommands; none without an offline queue). */
  hold(item: ClusterSend): void {
    if (this.#queue.hold(item)) item.trace?.held();
  }

  /** `stats()`: an application command (or batch) handed to a connection to `address` (`sent`), or failed there (`errors`). */
  count(address: Address, what: keyof NodeCounters): void {
    let c = this.counters.get(address);
    if (c === undefined) this.counters.set(address, (c = { sent: 0, errors: 0 }));
    c[what]++;
  }

  /** A connection died under a command: the node counts as down until a poll shows it back. */
  lost(address: Address): void {
    this.#links.lost(address);
  }

  /**
   * MOVED/ASK `slot` `node`: nothing was applied. The next send goes to `node` (announced, as
   * every address here; the pool maps it), now if it can; MOVED also reads the picture again.
   */
  redirected(s: ClusterSend, kind: 'MOVED' | 'ASK', slot: string, node: string): void {
    s.redirects++;
    s.redirect = { address: node, asking: kind === 'ASK' };
    if (kind === 'MOVED') this.#s.stale(`MOVED ${slot} ${node}`);
    if (!s.retry()) this.hold(s);
  }

  /**
   * CLUSTERDOWN/TRYAGAIN (`message`): nothing was applied. Held, and tried again shortly
   * (bounded by commandTimeoutMs); the picture is read again.
   */
  clusterDown(s: ClusterSend, message: string): void {
    s.reason = 'cluster-down';
    s.retryAt = performance.now() + CLUSTER_RETRY_MS - 1;
    this.hold(s);
    this.#retrySoon();
    this.#s.stale(message.split(' ')[0]!);
  }

  get progress(): ClusterProgress | null {
    return this.#s.progress;
  }

  get trackWrites(): boolean {
    return this.#trackWrites && this.#s.progress !== null;
  }

  stale(reason: string, address?: Address): void {
    this.#s.stale(reason, address);
  }

  /** Send `a` on `conn` (to `a.sentTo`, placed by `place()`); a durable write gets its WAIT right behind it. */
  #write(a: ClusterAttempt, conn: Redis): void {
    const cmd = a.cmd;
    const progress = this.#s.progress;
    const durability = a.cls.writesData ? a.view.durability : null;
    const address = a.sentTo!;
    const asking = a.redirect?.asking === true;
    a.tries++;
    a.reason = null;
    this.count(address, 'sent');
    a.trace?.sent(address, a.atMaster, a.tries);
    a.tracked = a.cls.writesData && progress !== null && this.#trackWrites;
    if (a.tracked) progress!.sending(cmd);
    let reply: { value: unknown } | null = null;
    let acks: number | null = null;
    const finish = (): void => {
      if (reply === null || (durability !== null && acks === null)) return;
      if (a.tracked) progress!.settled(cmd, true);
      if (durability !== null && acks! < durability.replicas) a.reject(new NotReplicatedError(a.name, acks!, durability.replicas, durability.timeoutMs));
      else a.resolve(reply.value);
    };
    cmd.resolve = (value: unknown) => {
      reply = { value };
      finish();
    };
    cmd.reject = (error: Error) => {
      if (a.tracked) progress!.settled(cmd, false);
      this.#failed(a, error);
    };
    if (asking) conn.asking().catch(noop);
    conn.sendCommand(cmd);
    if (durability !== null) {
      // WAIT on the same connection, right behind the write: it counts the replicas that have it.
      const wait = new Command('wait', [durability.replicas, durability.timeoutMs]);
      conn.sendCommand(wait);
      wait.promise.then(
        (n) => {
          acks = Number(n);
          finish();
        },
        () => {
          acks = 0;
          finish();
        },
      );
    }
  }

  #failed(a: ClusterAttempt, error: Error): void {
    const m = error.message;
    if (a.sentTo !== null) this.count(a.sentTo, 'errors');
    const redirect = /^(MOVED|ASK) (\d+) (\S+)$/.exec(m);
    if (redirect && a.redirects < MAX_REDIRECTS) {
      this.redirected(a, redirect[1] as 'MOVED' | 'ASK', redirect[2]!, redirect[3]!);
      return;
    }
    a.redirect = null;
    if ((m.startsWith('CLUSTERDOWN') || m.startsWith('TRYAGAIN')) && a.tries <= 1000) {
      this.clusterDown(a, m);
      return;
    }
    const at = a.sentTo ?? '?';
    if (isConnectionLoss(error)) {
      this.#links.lost(at);
    }
    switch (judge(error, a)) {
      case 'resend-read':
        if (!this.tryAttempt(a)) this.hold(a);
        return;
      case 'resend-on-master':
        a.policy = MASTER;
        if (!this.tryAttempt(a)) this.hold(a);
        return;
      case 'hold-for-master':
        a.notAt = at;
        this.#s.stale('READONLY', at);
        this.hold(a);
        return;
      case 'maybe-applied':
        a.reject(new MaybeAppliedError(a.name, at, { cause: error }));
        return;
      case 'pass-through':
        a.reject(error);
        return;
    }
  }

  #retrySoon(): void {
    if (this.#retryTimer !== null) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      // Let the cluster-down attempts route again.
      this.#queue.drain();
    }, CLUSTER_RETRY_MS);
    this.#retryTimer.unref();
  }
}
