import { NoReplicaError } from '../errors.js';
import type { MaxReplicaLag } from '../options-types.js';
import type { NodeState, Topology } from '../topology/types.js';
import type { ReadPolicy } from './read-policy.js';

/** What reads may use, computed once per topology change, never per command. */
export interface RoutingTable {
  readonly master: NodeState | null;
  /** Replicas that may serve reads: up, linked to the current master, not loading, syncing or lagging. */
  readonly replicas: readonly NodeState[];
}

export interface ResolvedLag {
  bytes: number | null;
  ms: number | null;
}

export function resolveLag(lag: MaxReplicaLag | undefined): ResolvedLag {
  return { bytes: lag?.bytes ?? null, ms: lag?.ms ?? null };
}

/** Why a replica gets no reads, or null when it may serve them. */
export function replicaIneligibility(replica: NodeState, master: NodeState | null, lag: ResolvedLag): string | null {
  if (!replica.up) return 'down';
  if (replica.role !== 'replica') return `role ${replica.role}`;
  if (replica.loading) return 'loading';
  if (replica.syncing) return 'syncing';
  // A replica cut off from a live master serves data that may be arbitrarily stale; while the
  // master itself is down, every replica is cut off alike, and still the best there is to read.
  if (replica.linkStatus !== 'up' && master?.up !== false) return 'link to master down';
  if (master !== null && replica.masterAddress !== null && replica.masterAddress !== master.address) {
    return `follows ${replica.masterAddress}, not the master`;
  }
  if (lag.bytes !== null && replica.lagBytes > lag.bytes) return `${replica.lagBytes} bytes behind`;
  // The time bound is not judged here: the master's `lag=` counts whole seconds since the
  // replica's last ack, which replicas send once a second, so it reads 1 on a healthy replica.
  // The consistency monitor enforces `ms` from fresh offset samples instead.
  return null;
}

export function buildRoutingTable(topology: Topology, lag: ResolvedLag): RoutingTable {
  const master = topology.master;
  const replicas = topology.replicas.filter((r) => replicaIneligibility(r, master, lag) === null);
  replicas.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return { master, replicas };
}

/**
 * Where a read goes. Returns the chosen node, or `null` for "the master". Throws
 * `NoReplicaError` when the policy is `replica` and no replica is eligible and connected.
 *
 * @param ready whether the client has a usable connection to a node right now
 * @param turn a counter the caller increments per read, for round robin
 */
export function chooseReadNode(
  policy: ReadPolicy,
  table: RoutingTable,
  ready: (node: NodeState) => boolean,
  turn: number,
): NodeState | null {
  switch (policy.name) {
    case 'master':
      return null;
    case 'masterPreferred':
      if (table.master !== null && table.master.up && ready(table.master)) return null;
      return pickRoundRobin(table.replicas, ready, turn);
    case 'replicaPreferred':
      return pickRoundRobin(table.replicas, ready, turn);
    case 'replica': {
      const node = pickRoundRobin(table.replicas, ready, turn);
      if (node === null) throw new NoReplicaError(noReplicaMessage(table));
      return node;
    }
    case 'any': {
      const n = table.replicas.length + 1;
      for (let i = 0; i < n; i++) {
        const k = (turn + i) % n;
        if (k === table.replicas.length) {
          if (table.master !== null && ready(table.master)) return null;
        } else if (ready(table.replicas[k]!)) {
          return table.replicas[k]!;
        }
      }
      return null;
    }
    case 'nearest': {
      let best: NodeState | null = null;
      let bestLatency = Infinity;
      if (table.master !== null && ready(table.master)) bestLatency = table.master.latencyMs ?? Infinity;
      const n = table.replicas.length;
      // Start at a rotating index so that nodes with equal latency share the reads.
      for (let i = 0; i < n; i++) {
        const node = table.replicas[(turn + i) % n]!;
        const latency = node.latencyMs ?? Infinity;
        if (latency < bestLatency && ready(node)) {
          best = node;
          bestLatency = latency;
        }
      }
      return best;
    }
    case 'custom': {
      const candidates = table.replicas.filter(ready);
      const chosen = policy.choose!(candidates, table.master);
      if (chosen === undefined || chosen === null || chosen === table.master) return null;
      return candidates.find((c) => c.address === chosen.address) ?? null;
    }
  }
}

function pickRoundRobin(nodes: readonly NodeState[], ready: (node: NodeState) => boolean, turn: number): NodeState | null {
  const n = nodes.length;
  for (let i = 0; i < n; i++) {
    const node = nodes[(turn + i) % n]!;
    if (ready(node)) return node;
  }
  return null;
}

function noReplicaMessage(table: RoutingTable): string {
  return table.replicas.length === 0
    ? 'readFrom is "replica" but no replica is eligible (down, loading, syncing, lagging or not following the master)'
    : 'readFrom is "replica" but no eligible replica is connected yet';
}
