import { compareAddresses } from '../topology/diff.js';
import type { Address, NodeState } from '../topology/types.js';

/** Redis's default `replica-priority`, for replicas that do not report one. */
const DEFAULT_PRIORITY = 100;

/**
 * The replica to promote: up, a replica, not loading, priority ≠ 0; then the lowest
 * `replica-priority`, the highest replication offset, the lowest address. Deterministic, so every
 * client looking at the same replica set picks the same node.
 */
export function electCandidate(replicas: readonly NodeState[]): NodeState | null {
  let best: NodeState | null = null;
  for (const r of replicas) {
    if (!r.up || r.role !== 'replica' || r.loading || r.priority === 0) continue;
    if (best === null || compareCandidates(r, best) < 0) best = r;
  }
  return best;
}

function compareCandidates(a: NodeState, b: NodeState): number {
  const pa = a.priority ?? DEFAULT_PRIORITY;
  const pb = b.priority ?? DEFAULT_PRIORITY;
  if (pa !== pb) return pa - pb;
  if (a.offset !== b.offset) return b.offset - a.offset;
  return compareAddresses(a.address, b.address);
}

/** Sub-second evidence: how long this client has seen each replica's offset stand still, and how long is enough. */
export interface QuietEvidence {
  quietMs: ReadonlyMap<Address, number>;
  limitMs: number;
}

/**
 * The replicas that vouch the master is down: each follows it and reports its own link down,
 * or has heard nothing from it for `silenceLimitS` seconds (a hung master keeps the TCP link
 * up for `repl-timeout`, 60 s by default, but stops sending its pings), or — `quiet` — has been
 * seen by this client with a still offset for `quiet.limitMs` (longer than the master's ping period).
 */
export function masterDownWitnesses(replicas: readonly NodeState[], master: Address, silenceLimitS: number, quiet?: QuietEvidence): NodeState[] {
  return replicas.filter(
    (r) =>
      r.up &&
      r.role === 'replica' &&
      r.masterAddress === master &&
      (r.linkStatus === 'down' ||
        (r.lastIoSecondsAgo !== null && r.lastIoSecondsAgo >= silenceLimitS) ||
        (quiet !== undefined && (quiet.quietMs.get(r.address) ?? 0) >= quiet.limitMs)),
  );
}

/** A majority of the replicas that follow the master (at least one). */
export function defaultQuorum(replicas: readonly NodeState[], master: Address): number {
  const followers = replicas.filter((r) => r.role === 'replica' && (r.masterAddress === master || r.masterAddress === null)).length;
  return Math.max(1, Math.floor(followers / 2) + 1);
}
