import type { FailoverEvent } from '../events.js';
import type { Address, NodeRole, NodeState, Topology } from '../topology/types.js';

/** Counts one node's application commands; kept by the pool across reconnects and removals. */
export interface NodeCounters {
  /** Application commands (or batches) handed to a connection to this node, retries included. */
  sent: number;
  /** Those that failed there: a reply error, a lost connection, a timeout. */
  errors: number;
}

export interface NodeStats {
  address: Address;
  /** As of the last topology; `unknown` for a node no longer in it. */
  role: NodeRole;
  up: boolean;
  commandsSent: number;
  errors: number;
  /** The last probe's round trip, or null before one. */
  latencyMs: number | null;
}

/** What the snapshots of both clients (`FailoverRedis#stats()`, `FailoverCluster#stats()`) share, field for field. */
export interface ClientStats {
  /** Every node of the picture, then any other node that has counts (role `unknown`). */
  nodes: NodeStats[];
  /** Commands waiting for a node now (no master known, a replica connecting, a write gate shut, CLUSTERDOWN). */
  held: number;
  /** Changes of master this client has seen (of a shard's master, in a cluster). */
  failovers: number;
  /** `durationMs` of the last `failover` event, or null. */
  lastFailoverDurationMs: number | null;
  /** Reads that read-your-writes sent to the master because no replica had this client's writes yet. */
  readYourWritesRedirects: number;
  commandsSent: number;
  errors: number;
}

/** What `stats()` returns: a plain snapshot, safe to keep, for a metrics exporter to read. */
export interface FailoverRedisStats extends ClientStats {
  master: Address | null;
}

/** A picture as the snapshot sees it: its nodes, masters first, and the fields only this client's snapshot has. */
export interface StatsPicture<Own> {
  members: readonly NodeState[];
  own: Own;
}

/** A replica set's picture: its master and replicas; `master` is its own field. */
export function replicaSetPicture(topology: Topology | null): StatsPicture<{ master: Address | null }> {
  const members = topology === null ? [] : [...(topology.master ? [topology.master] : []), ...topology.replicas];
  return { members, own: { master: topology?.master?.address ?? null } };
}

/** What the snapshot is built from: plain data. */
export interface StatsInput<Own> {
  picture: StatsPicture<Own>;
  counters: ReadonlyMap<Address, NodeCounters>;
  held: number;
  failovers: number;
  lastFailoverDurationMs: number | null;
  readYourWritesRedirects: number;
}

/** The snapshot: every node of the picture, then any other node that has counts, by address. */
export function buildStats<Own extends object>(input: StatsInput<Own>): ClientStats & Own {
  const { nodes, commandsSent, errors } = nodeStats(input.picture.members, input.counters);
  return {
    ...input.picture.own,
    nodes,
    held: input.held,
    failovers: input.failovers,
    lastFailoverDurationMs: input.lastFailoverDurationMs,
    readYourWritesRedirects: input.readYourWritesRedirects,
    commandsSent,
    errors,
  };
}

/** Each member's counts, then any other node that has counts (by address, role `unknown`), and the totals. */
export function nodeStats(
  members: readonly NodeState[],
  counters: ReadonlyMap<Address, NodeCounters>,
): { nodes: NodeStats[]; commandsSent: number; errors: number } {
  const nodes: NodeStats[] = [];
  const seen = new Set<Address>();
  for (const n of members) {
    if (seen.has(n.address)) continue;
    seen.add(n.address);
    const c = counters.get(n.address);
    nodes.push({ address: n.address, role: n.role, up: n.up, commandsSent: c?.sent ?? 0, errors: c?.errors ?? 0, latencyMs: n.latencyMs ?? null });
  }
  const others = [...counters.keys()].filter((a) => !seen.has(a)).sort();
  for (const address of others) {
    const c = counters.get(address)!;
    nodes.push({ address, role: 'unknown', up: false, commandsSent: c.sent, errors: c.errors, latencyMs: null });
  }
  let commandsSent = 0;
  let errors = 0;
  for (const c of counters.values()) {
    commandsSent += c.sent;
    errors += c.errors;
  }
  return { nodes, commandsSent, errors };
}

/** Where the collector reads the live parts; each client passes them in. */
export interface StatsSource<Own> {
  picture(): StatsPicture<Own>;
  counters(): ReadonlyMap<Address, NodeCounters>;
  held(): number;
  readYourWritesRedirects(): number;
}

/**
 * The one stats collector of both clients: keeps the totals events bring (failovers, counted
 * here and only here); builds the snapshot on demand, never per command.
 */
export class StatsCollector<Own extends object> {
  #source: StatsSource<Own>;
  #failovers = 0;
  #lastFailoverDurationMs: number | null = null;

  constructor(source: StatsSource<Own>) {
    this.#source = source;
  }

  failedOver(event: FailoverEvent): void {
    this.#failovers++;
    this.#lastFailoverDurationMs = event.durationMs;
  }

  snapshot(): ClientStats & Own {
    const s = this.#source;
    return buildStats({
      picture: s.picture(),
      counters: s.counters(),
      held: s.held(),
      failovers: this.#failovers,
      lastFailoverDurationMs: this.#lastFailoverDurationMs,
      readYourWritesRedirects: s.readYourWritesRedirects(),
    });
  }
}
