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

/** What `stats()` returns: a plain snapshot, safe to keep, for a metrics exporter to read. */
export interface FailoverRedisStats {
  master: Address | null;
  nodes: NodeStats[];
  /** Commands waiting for a node now (no master known, a replica connecting, a write gate shut). */
  held: number;
  /** Changes of master this client has seen. */
  failovers: number;
  /** `durationMs` of the last `failover` event, or null. */
  lastFailoverDurationMs: number | null;
  /** Reads that read-your-writes sent to the master because no replica had this client's writes yet. */
  readYourWritesRedirects: number;
  commandsSent: number;
  errors: number;
}

/** What the snapshot is built from: plain data. */
export interface StatsInput {
  topology: Topology | null;
  counters: ReadonlyMap<Address, NodeCounters>;
  held: number;
  failovers: number;
  lastFailoverDurationMs: number | null;
  readYourWritesRedirects: number;
}

/** The snapshot: every node of the topology, then any other node that has counts, by address. */
export function buildStats(input: StatsInput): FailoverRedisStats {
  const { topology } = input;
  const members = topology === null ? [] : [...(topology.master ? [topology.master] : []), ...topology.replicas];
  const { nodes, commandsSent, errors } = nodeStats(members, input.counters);
  return {
    master: topology?.master?.address ?? null,
    nodes,
    held: input.held,
    failovers: input.failovers,
    lastFailoverDurationMs: input.lastFailoverDurationMs,
    readYourWritesRedirects: input.readYourWritesRedirects,
    commandsSent,
    errors,
  };
}

/**
 * Each member's counts, then any other node that has counts (by address, role `unknown`), and the
 * totals. FailoverRedis and FailoverCluster build their snapshots on it.
 */
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

/** Where the collector reads the live parts; the core passes them in. */
export interface StatsSource {
  topology(): Topology | null;
  counters(): ReadonlyMap<Address, NodeCounters>;
  held(): number;
  readYourWritesRedirects(): number;
}

/** Keeps the totals events bring (failovers); builds the snapshot on demand, never per command. */
export class StatsCollector {
  #source: StatsSource;
  #failovers = 0;
  #lastFailoverDurationMs: number | null = null;

  constructor(source: StatsSource) {
    this.#source = source;
  }

  failedOver(event: FailoverEvent): void {
    this.#failovers++;
    this.#lastFailoverDurationMs = event.durationMs;
  }

  snapshot(): FailoverRedisStats {
    const s = this.#source;
    return buildStats({
      topology: s.topology(),
      counters: s.counters(),
      held: s.held(),
      failovers: this.#failovers,
      lastFailoverDurationMs: this.#lastFailoverDurationMs,
      readYourWritesRedirects: s.readYourWritesRedirects(),
    });
  }
}
