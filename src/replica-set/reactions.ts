import createDebug from 'debug';
import { misconfiguration } from '../errors.js';
import type { FailoverEvent, FailoverRedisEvents } from '../events.js';
import type { Engine } from '../dispatch/engine.js';
import type { FailoverCoordinator } from '../failover/coordinator.js';
import type { StatsCollector } from '../observability/stats.js';
import type { ConnectionPurpose, NodeConnections, NodePool, PoolHooks } from '../pool/node-pool.js';
import { buildRoutingTable, type ResolvedLag, type RoutingTable } from '../routing/router.js';
import type { TopologyChange } from '../topology/diff.js';
import type { TopologyManager } from '../topology/manager.js';
import type { Address, NodeState, Topology } from '../topology/types.js';
import { noop } from '../util.js';
import type { DispatchSignals, ReplicaSetPlacement } from './placement.js';

const debug = createDebug('redis-failover:dispatch');

/** What the replica set tells the facade (`FailoverRedis`), which owns status and public events. */
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

/** The parts a report may change: the client's object graph. */
export interface ReplicaSetParts {
  readonly pool: NodePool;
  readonly manager: TopologyManager;
  readonly coordinator: FailoverCoordinator;
  readonly placement: ReplicaSetPlacement;
  readonly engine: Engine;
  readonly stats: StatsCollector<{ master: Address | null }>;
  readonly lag: ResolvedLag;
}

/**
 * What the parts of one replica-set client report, and what each report changes: connections
 * ready or closed (the pool), a new picture or a failed discovery (the topology manager), a
 * silent or fenced master and failovers (the coordinator), replication progress (the offset
 * sampler), what commands saw (the placement). Each part is given this object, typed by the part's
 * own interface, when it is made; the parts are read only when one reports, which none does
 * before the client starts connecting.
 */
export class ReplicaSetReactions implements PoolHooks, DispatchSignals {
  #host: CoreHost;
  #parts: ReplicaSetParts;
  #table: RoutingTable | null = null;
  #suspect = false;
  #fenced = false;
  #switching = false;
  /** The master the heartbeat finds silent (a probe of it need not wait its full timeout). */
  /** Masters whose data connection closed since a refresh last saw them answer as master. */
  #unconfirmed = new Set<Address>();

  constructor(host: CoreHost, parts: ReplicaSetParts) {
    this.#host = host;
    this.#parts = parts;
  }

  // ---------------------------------------------------------------- the pool (PoolHooks)

  onReady(node: NodeConnections): void {
    const { placement, manager, engine } = this.#parts;
    placement.syncReadiness();
    if (node.address === placement.state.master?.address) {
      // A master that lost its connection may have come back as something else (a restart
      // with its original replicaof): ready once a refresh says it is still the master.
      if (this.#unconfirmed.has(node.address)) manager.request(`${node.address} reconnected`);
      else this.#host.ready();
    }
    engine.drain();
  }

  onClose(node: NodeConnections, purpose: ConnectionPurpose): void {
    const { placement, coordinator } = this.#parts;
    placement.syncReadiness();
    if (node.address === placement.state.master?.address && purpose === 'data' && !node.ready) {
      this.#unconfirmed.add(node.address);
      this.#host.reconnecting();
    }
    coordinator.signal(`${purpose} connection to ${node.address} closed`);
  }

  /** A node seen down answers again (an old master restarted, a replica back): look now. */
  onBack(node: NodeConnections): void {
    this.#parts.coordinator.signal(`${node.address} reachable again`);
  }

  onError(node: NodeConnections, purpose: ConnectionPurpose, error: Error): void {
    debug('%s %s connection: %s', node.address, purpose, error.message);
    if (purpose === 'data') this.#host.emitError(error);
  }

  // ---------------------------------------------------------------- the topology manager

  /** A refresh succeeded: new routing, public events, the coordinator's turn, then what waits. */
  topology(next: Topology, previous: Topology | null, changes: TopologyChange[]): void {
    const { placement, pool, coordinator, engine, lag } = this.#parts;
    placement.setLastError(null);
    placement.setFatal(null);
    const before = this.#table;
    const previousMaster = placement.state.master?.address ?? null;
    this.#table = buildRoutingTable(next, lag);
    placement.setTable(this.#table);
    if (previousMaster !== null && next.master?.address !== previousMaster) {
      debug('master is now %s (was %s)', next.master?.address, previousMaster);
    }
    const host = this.#host;
    for (const change of changes) {
      if (change.type === 'node-down' && change.address !== next.master?.address && pool.get(change.address)?.ready) {
        // A replica that stopped answering but kept its connections (hung): drop them, so that the
        // reads stuck on it fail over to another node instead of waiting for it.
        pool.remove(change.address).catch(noop);
      }
      if (change.type === 'node-up' || change.type === 'node-down') {
        host.emit(change.type, { address: change.address, role: stateOf(next, change.address)?.role ?? 'unknown' });
      } else if (change.type === 'role-change' && stateOf(next, change.address)?.up) {
        // Only what a node says of itself: a node that does not answer has no role to change.
        host.emit('role-change', { address: change.address, from: change.from, to: change.to });
      }
    }
    if (previous === null || changes.length > 0 || !sameReaders(before, this.#table)) host.emit('topology', structuredClone(next), changes);
    coordinator.afterRefresh(next, previous);
    if (next.master?.up) this.#unconfirmed.delete(next.master.address);
    // No node is master (a replication cycle): writes can go nowhere, so not ready.
    if (next.master === null && next.replicas.some((r) => r.up)) host.reconnecting();
    if (placement.state.master?.ready && !this.#unconfirmed.has(placement.state.master.address)) host.ready();
    engine.drain();
  }

  /** A discovery failed as a whole. */
  discoveryFailed(error: Error): void {
    const { placement, engine } = this.#parts;
    placement.setLastError(error);
    // Wrong credentials, or a Sentinel where a master or replica was expected, do not get better by
    // waiting: fail what waits, and what comes next, until a discovery succeeds.
    const fatal = misconfiguration(error);
    if (fatal !== null) {
      placement.setFatal(fatal);
      engine.failHeld(fatal);
    }
    this.#host.discoveryFailed(fatal ?? error, fatal !== null);
  }

  /** The picture may have changed (a Sentinel event, a connection lost under a command, READONLY). */
  signal(reason: string): void {
    this.#parts.coordinator.signal(reason);
  }

  // ---------------------------------------------------------------- the offset sampler

  /** New offset samples: replicas may have caught up, or fallen behind. */
  progress(): void {
    const { placement, engine } = this.#parts;
    placement.syncProgress();
    engine.drain();
  }

  // ---------------------------------------------------------------- the coordinator and the facade

  /** The heartbeat finds the master silent (writes wait), or answering again. */
  suspect(suspect: boolean): void {
    this.#suspect = suspect;
    this.#updateGate();
  }

  /** The master lost its replicas' links (writes wait: fencing), or has them back. */
  fenced(fenced: boolean): void {
    this.#fenced = fenced;
    this.#updateGate();
  }

  /** A switchover is under way (writes wait for the new master), or over. */
  switching(switching: boolean): void {
    this.#switching = switching;
    this.#updateGate();
  }

  failedOver(event: FailoverEvent): void {
    this.#parts.stats.failedOver(event);
    this.#host.emit('failover', event);
  }

  /** About to promote another node: nothing more is written to the old master; its connections go first. */
  beforePromote(old: Address): void {
    this.#parts.placement.dropMaster(old);
    this.#parts.pool.remove(old).catch(noop);
  }

  #updateGate(): void {
    const { placement, engine } = this.#parts;
    placement.setGate(this.#switching ? 'switchover' : this.#suspect ? 'master-silent' : this.#fenced ? 'master-fenced' : null);
    if (!this.#switching && !this.#suspect && !this.#fenced) engine.drain();
  }
}

function stateOf(topology: Topology, address: Address): NodeState | undefined {
  return topology.master?.address === address ? topology.master : topology.replicas.find((r) => r.address === address);
}

function sameReaders(a: RoutingTable | null, b: RoutingTable): boolean {
  if (a === null || a.master?.address !== b.master?.address || a.replicas.length !== b.replicas.length) return false;
  return a.replicas.every((r, i) => r.address === b.replicas[i]!.address);
}
