import type { Command, Redis } from 'ioredis';
import type { Attempt } from '../dispatch/attempt.js';
import { waitError } from '../dispatch/attempt.js';
import type { Placement } from '../dispatch/placement.js';
import { Subscriptions, type MessageSink } from '../dispatch/subscriptions.js';
import type { NodePool } from '../pool/node-pool.js';
import type { ConsistencyMonitor } from '../consistency/monitor.js';
import { markZones, routeTarget, type RouteTarget, type RoutingState, type WriteGate } from '../routing/route.js';
import type { RoutingTable } from '../routing/router.js';
import type { Address } from '../topology/types.js';
import type { ReadYourWrites } from '../consistency/read-your-writes.js';

/** Where the placement reports what commands showed of the replica set: a connection lost, say. */
export interface DispatchSignals {
  signal(reason: string): void;
}

export interface ReplicaSetPlacementSettings {
  pool: NodePool;
  consistency: ConsistencyMonitor | null;
  writes: ReadYourWrites | null;
  signals: DispatchSignals;
  onMessage: MessageSink;
  /** SELECT succeeded: the client's `options.db` follows. */
  onSelect(db: number): void;
  /** The client's `zone` option: which targets the zone policies prefer. */
  zone: string | null;
}

/**
 * Where the commands of a replica set may go: one routing state (the master, the replicas that
 * may serve reads, the write gate, …), kept current by the client as its picture, connections and
 * replication progress change, and the connections of the node pool for each target and lane.
 * Subscriptions live on the master, and follow it.
 */
export class ReplicaSetPlacement implements Placement {
  readonly state: RoutingState = { known: false, master: null, replicas: [], gate: null, pinned: null, fatal: null, turn: 0 };
  #s: ReplicaSetPlacementSettings;
  #subscriptions: Subscriptions;
  #lastError: Error | null = null;
  /** Some view reads from replicas: their connections are open, and writes are tracked. */
  #readsFromReplicas = false;

  constructor(settings: ReplicaSetPlacementSettings) {
    this.#s = settings;
    this.#subscriptions = new Subscriptions(settings.onMessage);
  }

  /** Something is subscribed (kept as a field: the facade looks at it for every command). */
  subscribed = false;

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
    this.#s.writes?.track();
    for (const t of this.state.replicas) this.#s.pool.node(t.node).open();
  }

  // ---------------------------------------------------------------- the routing state

  /** A new picture: new targets, connections opened, subscriptions moved. */
  setTable(table: RoutingTable): void {
    const { pool } = this.#s;
    const state = this.state;
    state.known = true;
    state.master = table.master === null ? null : routeTarget(table.master, true, pool.countersOf(table.master.address));
    state.replicas = table.replicas.map((r) => routeTarget(r, false, pool.countersOf(r.address)));
    markZones(state, this.#s.zone);
    if (table.master !== null) pool.node(table.master).open();
    if (this.#readsFromReplicas) for (const r of table.replicas) pool.node(r).open();
    this.#s.consistency?.setNodes(table.master, table.replicas);
    this.syncReadiness();
    this.syncProgress();
    // Subscriptions live on the master: made there again after a failover.
    this.#subscriptions.follow(table.master === null ? null : pool.node(table.master));
  }

  /** Connection readiness changed somewhere: refresh every target's flag. */
  syncReadiness(): void {
    const { pool } = this.#s;
    const { master, replicas } = this.state;
    if (master !== null) master.ready = pool.get(master.address)?.ready === true;
    for (const t of replicas) t.ready = pool.get(t.address)?.ready === true;
  }

  /** New offset samples: which replicas have this session's writes, and are within the lag bound. */
  syncProgress(): void {
    const consistency = this.#s.consistency;
    const master = this.state.master;
    if (consistency === null || master === null) return;
    for (const t of this.state.replicas) {
      t.reached = consistency.reachedSeq(master.address, t.address);
      t.fresh = consistency.withinLag(master.address, t.address);
    }
  }

  /** About to promote another node: nothing more goes to `address` until the new picture. */
  dropMaster(address: Address): void {
    if (this.state.master?.address === address) this.state.master = null;
  }

  setGate(gate: WriteGate | null): void {
    this.state.gate = gate;
  }

  /** An error no waiting cures (a wrong password): every command fails with it until a discovery succeeds. */
  setFatal(error: Error | null): void {
    this.state.fatal = error;
  }

  /** The last discovery error: the cause a held command reports if it times out. */
  setLastError(error: Error | null): void {
    this.#lastError = error;
  }

  close(): void {
    this.#subscriptions.clear();
    this.subscribed = false;
  }

  // ---------------------------------------------------------------- Placement

  stateFor(): RoutingState {
    return this.state;
  }

  connection(target: RouteTarget, lane: 'data' | 'blocking' | 'transaction'): Redis | null {
    const node = this.#s.pool.get(target.address);
    if (node === undefined) return null;
    if (lane === 'data') return node.data();
    return node.ready ? node.lease('blocking') : null;
  }

  release(target: RouteTarget, conn: Redis): void {
    this.#s.pool.get(target.address)?.release(conn);
  }

  subscribe(cmd: Command, target: RouteTarget): boolean {
    const node = this.#s.pool.get(target.address);
    if (node === undefined || !node.ready) return false;
    this.#subscriptions.send(node, cmd);
    this.subscribed = this.#subscriptions.active;
    return true;
  }

  /** After SELECT: every connection, now and later, leased ones too, uses the selected database. */
  selected(db: number, origin: Redis): void {
    this.#s.pool.select(db, origin);
    this.#s.onSelect(db);
  }

  observed(what: 'connection-lost' | 'readonly', address: Address): void {
    this.#s.signals.signal(what === 'readonly' ? `READONLY from ${address}` : `connection to ${address} lost`);
  }

  /**
   * Why `a` waits, as an error, caused by the connection error of the node it waits for
   * (ECONNREFUSED …), else by the last discovery error — before any picture, the whole reason.
   */
  waitCause(a: Attempt): Error | undefined {
    if (a.reason === 'no-topology' && this.#lastError !== null) return this.#lastError;
    const { master, replicas } = this.state;
    const waitsFor = a.reason === 'replica-connecting' ? replicas : master === null ? [] : [master];
    const nodeError = waitsFor.map((t) => this.#s.pool.get(t.address)?.lastError).find((e) => e);
    return waitError(a.reason, master?.address ?? null, nodeError ?? this.#lastError);
  }
}
