import { NoReplicaError } from '../errors.js';
import type { Address, NodeState } from '../topology/types.js';
import type { CommandClass } from './classify.js';
import type { ReadPolicy } from './read-policy.js';

/**
 * Which connection of a node a command travels on: `data` (shared, pipelined), `blocking` (leased
 * for one command), `transaction` (leased from WATCH/MULTI to EXEC) or `subscriber`.
 */
export type Lane = 'data' | 'blocking' | 'transaction' | 'subscriber';
export const LANES: readonly Lane[] = ['data', 'blocking', 'transaction', 'subscriber'];

/**
 * A node as routing sees it: plain data, rebuilt on every topology change and updated in place
 * when its connections or its replication progress change.
 */
export interface RouteTarget {
  readonly address: Address;
  readonly node: NodeState;
  /** A shared data connection is ready. */
  ready: boolean;
  /** Read-your-writes: the highest write sequence this node is known to have applied. */
  reached: number;
  /** Within `maxReplicaLag`, judged from fresh offset samples (always true for the master). */
  fresh: boolean;
  /**
   * In the client's zone (`zone` option equal to the node's zone), set by `markZones` when the
   * state is rebuilt, so that the zone policies compare no strings per command.
   */
  sameZone: boolean;
  /** The decisions that send here, one per lane, made once so that routing allocates nothing. */
  readonly send: Readonly<Record<Lane, SendDecision>>;
  /** Application commands sent here and failed here (`stats()`): the node's, kept across pictures. */
  readonly counters: { sent: number; errors: number };
}

/** Why a command cannot go now but may soon: it is held until a sign of change. */
export type WaitReason =
  | 'no-topology'
  | 'no-master'
  | 'master-connecting'
  | 'master-silent'
  /** The master lost its replicas' links (a partition may be promoting another): the fence. */
  | 'master-fenced'
  | 'switchover'
  | 'replica-connecting'
  | 'replica-catching-up'
  /** A cluster answered CLUSTERDOWN or TRYAGAIN: nothing was applied; tried again shortly. */
  | 'cluster-down';

/** Why writes (and reads that fall back to the master) must not go to the master now. */
export type WriteGate = 'master-silent' | 'master-fenced' | 'switchover';

export interface SendDecision {
  readonly kind: 'send';
  readonly target: RouteTarget;
  readonly lane: Lane;
}
export interface WaitDecision {
  readonly kind: 'wait';
  readonly reason: WaitReason;
}
export interface FailDecision {
  readonly kind: 'fail';
  readonly error: Error;
}
export type RouteDecision = SendDecision | WaitDecision | FailDecision;

/** One routing snapshot: everything `route()` looks at. */
export interface RoutingState {
  /** A discovery has succeeded at least once. */
  known: boolean;
  master: RouteTarget | null;
  /** Replicas that may serve reads (up, linked, not loading, syncing or lagging), by address. */
  replicas: readonly RouteTarget[];
  /** Writes wait while the master is silent or fenced, or a switchover runs. */
  gate: WriteGate | null;
  /** The node of an open WATCH…EXEC session: everything goes there until it ends. */
  pinned: RouteTarget | null;
  /** An error no wait will cure (a wrong password): every command fails with it. */
  fatal: Error | null;
  /** Round-robin position; the caller advances it after each read. */
  turn: number;
}

const WAIT: Readonly<Record<WaitReason, WaitDecision>> = Object.freeze({
  'no-topology': Object.freeze({ kind: 'wait', reason: 'no-topology' }),
  'no-master': Object.freeze({ kind: 'wait', reason: 'no-master' }),
  'master-connecting': Object.freeze({ kind: 'wait', reason: 'master-connecting' }),
  'master-silent': Object.freeze({ kind: 'wait', reason: 'master-silent' }),
  'master-fenced': Object.freeze({ kind: 'wait', reason: 'master-fenced' }),
  switchover: Object.freeze({ kind: 'wait', reason: 'switchover' }),
  'replica-connecting': Object.freeze({ kind: 'wait', reason: 'replica-connecting' }),
  'replica-catching-up': Object.freeze({ kind: 'wait', reason: 'replica-catching-up' }),
  'cluster-down': Object.freeze({ kind: 'wait', reason: 'cluster-down' }),
}) as Record<WaitReason, WaitDecision>;

export function routeTarget(node: NodeState, master: boolean, counters = { sent: 0, errors: 0 }): RouteTarget {
  const send = {} as Record<Lane, SendDecision>;
  const target: RouteTarget = { address: node.address, node, ready: false, reached: master ? Infinity : 0, fresh: true, sameZone: false, send, counters };
  for (const lane of LANES) send[lane] = Object.freeze({ kind: 'send', target, lane });
  Object.freeze(send);
  return target;
}

/**
 * Mark the targets in the client's zone. Called wherever a routing state's targets are made: an
 * unknown zone (the node's or the client's) is never the same zone.
 */
export function markZones(state: RoutingState, zone: string | null): void {
  if (state.master !== null) state.master.sameZone = zone !== null && state.master.node.zone === zone;
  for (const t of state.replicas) t.sameZone = zone !== null && t.node.zone === zone;
}

/**
 * Where a command goes — for every kind of command, single or batch.
 *
 * @param cls the command's class (a batch: `read` when every command is a read, else `write`)
 * @param need read-your-writes: the write sequence a replica must have applied to serve this read
 *   (0: any replica). Ignored while the master is unavailable: then no node is known to hold this
 *   session's last writes, and the replicas hold all there is (and what a promotion will keep).
 */
export function route(cls: CommandClass, state: RoutingState, policy: ReadPolicy, need: number): RouteDecision {
  if (state.fatal !== null) return { kind: 'fail', error: state.fatal };
  // Between WATCH and EXEC everything runs on the session's connection, as on one ioredis connection.
  if (state.pinned !== null) return state.pinned.send.transaction;
  switch (cls.kind) {
    case 'read':
      // The common `readFrom: 'master'` read, without the policy switch below.
      return policy.name === 'master' ? routeMaster(state, 'data', true) : routeRead(state, policy, need, 'data');
    case 'blocking':
      return cls.readOnly ? routeRead(state, policy, need, 'blocking') : routeMaster(state, 'blocking', true);
    case 'transaction':
      return routeMaster(state, cls.pins ? 'transaction' : 'data', true);
    case 'subscribe':
      // Subscriptions change no data: the gate that keeps writes off a silent master is not theirs.
      return routeMaster(state, 'subscriber', false);
    case 'write':
    case 'select':
      return routeMaster(state, 'data', true);
  }
}

function routeMaster(state: RoutingState, lane: Lane, gated: boolean): RouteDecision {
  if (gated && state.gate !== null) return WAIT[state.gate];
  const master = state.master;
  if (master === null) return WAIT[state.known ? 'no-master' : 'no-topology'];
  if (!master.ready) return WAIT['master-connecting'];
  return master.send[lane];
}

function routeRead(state: RoutingState, policy: ReadPolicy, need: number, lane: Lane): RouteDecision {
  if (!state.known) return WAIT['no-topology'];
  const master = state.master;
  // A fenced master still answers and has every write of this client: the fence holds writes
  // only, so a read that needs one of them goes there rather than to a replica without it.
  const fenced = state.gate === 'master-fenced';
  const masterAvailable = master !== null && master.ready && (state.gate === null || fenced);
  const n = masterAvailable ? need : 0;
  const replicas = state.replicas;
  let chosen: RouteTarget | null = null;
  switch (policy.name) {
    case 'master':
      break;
    case 'masterPreferred':
      if (master === null || !master.node.up || !master.ready) chosen = pickRoundRobin(replicas, n, state.turn);
      break;
    case 'replicaPreferred':
      chosen = pickRoundRobin(replicas, n, state.turn);
      break;
    case 'replica':
      chosen = pickRoundRobin(replicas, n, state.turn);
      if (chosen === null) return noReplica(replicas, n);
      break;
    case 'any':
      chosen = pickAny(master, replicas, n, state.turn);
      break;
    case 'nearest':
      chosen = pickNearest(master, replicas, n, state.turn);
      break;
    case 'custom':
      chosen = pickCustom(policy, master, replicas, n);
      break;
    case 'zoneAffinity':
      // valkey-glide's AZAffinity: the client's zone, else any replica, else the master.
      chosen = pickInZone(replicas, null, n, state.turn, true) ?? pickInZone(replicas, null, n, state.turn, false);
      break;
    case 'zoneAffinityReplicasAndPrimary':
      // The same, the master one more candidate of the client's zone when it is there and open
      // to reads (a fenced one only for a read that needs a write only it holds, as above); a
      // master in another zone only as the last resort, as for zoneAffinity.
      chosen = pickInZone(replicas, masterAvailable && master.sameZone && (!fenced || n > 0) ? master : null, n, state.turn, true);
      if (chosen === master) return routeMaster(state, lane, !(fenced && n > 0));
      chosen ??= pickInZone(replicas, null, n, state.turn, false);
      break;
  }
  if (chosen !== null) return chosen.send[lane];
  return routeMaster(state, lane, !(fenced && n > 0));
}

/** May this replica serve a read that needs write sequence `need`? */
export function servable(t: RouteTarget, need: number): boolean {
  return t.ready && t.fresh && t.reached >= need;
}

function pickRoundRobin(replicas: readonly RouteTarget[], need: number, turn: number): RouteTarget | null {
  const n = replicas.length;
  for (let i = 0; i < n; i++) {
    const t = replicas[(turn + i) % n]!;
    if (t.ready && t.fresh && t.reached >= need) return t; // servable(), on the path of every replica read
  }
  return null;
}

/**
 * Round robin over the servable replicas whose `sameZone` is `local`, and `master` (when given)
 * as one more candidate after them. Two passes, counting then choosing, so that each candidate
 * gets an equal share of turns wherever it sits among the others; no allocation.
 */
function pickInZone(replicas: readonly RouteTarget[], master: RouteTarget | null, need: number, turn: number, local: boolean): RouteTarget | null {
  const n = replicas.length;
  let count = master === null ? 0 : 1;
  for (let i = 0; i < n; i++) {
    const t = replicas[i]!;
    if (t.sameZone === local && servable(t, need)) count++;
  }
  if (count === 0) return null;
  let k = turn % count;
  for (let i = 0; i < n; i++) {
    const t = replicas[i]!;
    if (t.sameZone === local && servable(t, need) && k-- === 0) return t;
  }
  return master;
}

/** Master and replicas share the reads in turn; null means the master. */
function pickAny(master: RouteTarget | null, replicas: readonly RouteTarget[], need: number, turn: number): RouteTarget | null {
  const n = replicas.length + 1;
  for (let i = 0; i < n; i++) {
    const k = (turn + i) % n;
    if (k === replicas.length) {
      if (master !== null && master.ready) return null;
    } else if (servable(replicas[k]!, need)) {
      return replicas[k]!;
    }
  }
  return null;
}

function pickNearest(master: RouteTarget | null, replicas: readonly RouteTarget[], need: number, turn: number): RouteTarget | null {
  let best: RouteTarget | null = null;
  let bestLatency = master !== null && master.ready ? (master.node.latencyMs ?? Infinity) : Infinity;
  const n = replicas.length;
  // Start at a rotating index so that nodes with equal latency share the reads.
  for (let i = 0; i < n; i++) {
    const t = replicas[(turn + i) % n]!;
    const latency = t.node.latencyMs ?? Infinity;
    if (latency < bestLatency && servable(t, need)) {
      best = t;
      bestLatency = latency;
    }
  }
  return best;
}

function pickCustom(policy: ReadPolicy, master: RouteTarget | null, replicas: readonly RouteTarget[], need: number): RouteTarget | null {
  // The user's chooser sees plain NodeStates; this allocates, and only for custom policies.
  const candidates = replicas.filter((t) => servable(t, need));
  const chosen = policy.choose!(
    candidates.map((t) => t.node),
    master?.node ?? null,
  );
  if (chosen === undefined || chosen === null || chosen.address === master?.address) return null;
  return candidates.find((t) => t.address === chosen.address) ?? null;
}

function noReplica(replicas: readonly RouteTarget[], need: number): RouteDecision {
  // Eligible replicas that are still connecting, or catching up with this session's writes, are
  // worth waiting for; none at all is not.
  if (replicas.length === 0) {
    return {
      kind: 'fail',
      error: new NoReplicaError('readFrom is "replica" but no replica is eligible (down, loading, syncing, lagging or not following the master)'),
    };
  }
  const connecting = replicas.every((t) => !t.ready);
  return WAIT[connecting || need === 0 ? 'replica-connecting' : 'replica-catching-up'];
}
