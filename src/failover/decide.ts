import type { FailoverEvent, WarningEvent } from '../events.js';
import { describeCycle, replicationCycle } from '../topology/cycle.js';
import type { Address, NodeState, Topology } from '../topology/types.js';
import { defaultQuorum, electCandidate, masterDownWitnesses } from './election.js';

/** The failover settings a decision depends on (`failover` option, resolved). */
export interface DecideSettings {
  /** `sentinel`: Sentinel promotes and repoints; the client only reports what it sees. */
  promote: 'auto' | 'manual' | 'sentinel';
  downAfterMs: number;
  /** Replicas that must see the master down; null: a majority of its followers. */
  quorum: number | null;
}

/** What the coordinator knows besides the two pictures: plain data, gathered before each decision. */
export interface Evidence {
  /** The clock (`performance.now()`) the other times are on. */
  now: number;
  /** Milliseconds since the master last answered the heartbeat's PING. */
  silenceMs: number;
  /** The heartbeat holds the master suspect (writes wait). */
  suspect: boolean;
  /** `repl-ping-replica-period` read from the master's CONFIG, in seconds; null while unknown. */
  replicaPingPeriodS: number | null;
  /**
   * While the master is silent: how long this client has seen each replica's replication offset
   * stand still (Infinity: it reports its link down). Empty while nothing was sampled.
   */
  replicaQuietMs: ReadonlyMap<Address, number>;
  /** The master of the last decision; null before the first. */
  knownMaster: Address | null;
  /** When the current trouble began (first silence or loss), or null. */
  troubleSince: number | null;
  /** The signals noted since the trouble began (connection lost, READONLY, Sentinel events, …). */
  reasons: readonly string[];
  /** A change of master is expected (a switchover, a manual promotion, ours): its reason. */
  pendingReason: string | null;
  /** A promotion or demotion of ours is under way. */
  acting: boolean;
  /** MASTER_DOWN was already said for this trouble. */
  warnedDown: boolean;
  /** The keys of the `warn` decisions already carried out (each is said once). */
  warned: ReadonlySet<string>;
  /** Since when the set has had no master at all (a replication cycle); null while it has one. */
  noMasterSince: number | null;
  /**
   * Why this client may not change roles (`NOPERM`, a renamed `REPLICAOF`: a managed service's
   * user), once a role change was refused so; null while it may. The client then follows whoever
   * promotes, as in manual mode.
   */
  refused: string | null;
  /** No role change before this time (`now`'s clock): the backoff after a failed one; 0 for none. */
  retryAt: number;
}

/** One thing to do. `decide` returns them in the order they are to be carried out. */
export type Decision =
  /**
   * The master changed: emit this `failover` event, and forget the trouble that led to it. When
   * the old master does not answer (`oldMasterDown`), drop its connections too: a write still in
   * flight there (sent before a partition) would otherwise be answered when the network heals —
   * acknowledged by a node the new master's side is about to demote and resync.
   */
  | { kind: 'report'; event: FailoverEvent; oldMasterDown: boolean }
  /** Say this `warning` (once per `key`). */
  | { kind: 'warn'; event: WarningEvent; key: string }
  /** The master answers: the trouble is over (unless a change is on its way). */
  | { kind: 'calm' }
  /** Make these nodes (old masters back, replicas following another node) follow `master`. */
  | { kind: 'demote'; nodes: NodeState[]; master: NodeState }
  /** The master is in trouble: note why (the clock of `durationMs` starts at the first). */
  | { kind: 'trouble'; reason: string }
  /** Look at the replica set again in `inMs`. */
  | { kind: 'recheck'; inMs: number; why: string }
  /** The master is down and `promote: 'manual'`: say so (once per trouble). */
  | { kind: 'warn-manual'; event: WarningEvent }
  /** Promote `candidate`, repoint `followers` to it; `reason` goes in the `failover` event. */
  | { kind: 'promote'; candidate: NodeState; followers: NodeState[]; from: Address; reason: string };

/** Rechecks while the master is down but cannot (yet) be replaced. */
export const RECHECK_MS = { witnesses: 100, noCandidate: 500, manual: 1000 } as const;

/** Why a promotion may not go ahead now, or null: refused for good, or backing off after a failure. */
function heldBack(evidence: Evidence): Decision | null {
  if (evidence.refused !== null) return { kind: 'recheck', inMs: RECHECK_MS.manual, why: `role changes refused (${evidence.refused}): following whoever promotes` };
  if (evidence.now < evidence.retryAt) return { kind: 'recheck', inMs: evidence.retryAt - evidence.now, why: 'backing off after a failed role change' };
  return null;
}

/**
 * What to do after a refresh, from the new picture, the one before and the evidence. Pure: no
 * I/O, no clock of its own. Sentinel mode falls out of `promote: 'sentinel'`: it reports the
 * changes Sentinel made and never promotes or demotes.
 */
export function decide(next: Topology, previous: Topology | null, evidence: Evidence, settings: DecideSettings): Decision[] {
  const master = next.master;
  if (master === null) return noMaster(next, evidence, settings);
  const out: Decision[] = [];
  const warn = (decision: Extract<Decision, { kind: 'warn' }> | null): void => {
    if (decision !== null && !evidence.warned.has(decision.key)) out.push(decision);
  };
  warn(restartedEmpty(next, previous));
  warn(masterAlone(next, previous));

  let warnedDown = evidence.warnedDown;
  if (evidence.knownMaster !== null && master.address !== evidence.knownMaster) {
    const reason = evidence.pendingReason ?? describeReasons(evidence.reasons, next.source);
    const started = evidence.troubleSince ?? evidence.now;
    const old = next.replicas.find((r) => r.address === evidence.knownMaster);
    const event = { from: evidence.knownMaster, to: master.address, reason, durationMs: Math.round(evidence.now - started) };
    out.push({ kind: 'report', event, oldMasterDown: old?.up !== true });
    warnedDown = false;
  }

  if (master.up && !evidence.suspect) {
    out.push({ kind: 'calm' });
    if (settings.promote === 'auto' && !evidence.acting) {
      const nodes = strays(next, master);
      const wait = nodes.length > 0 ? heldBack(evidence) : null;
      if (wait !== null) out.push(wait);
      else if (nodes.length > 0) out.push({ kind: 'demote', nodes, master });
    }
    return out;
  }
  // The master is silent or unreachable: Sentinel's to judge in Sentinel mode.
  if (settings.promote === 'sentinel') return out;

  out.push({ kind: 'trouble', reason: `master ${master.address} unreachable` });
  const silence = evidence.silenceMs;
  if (silence < settings.downAfterMs) {
    out.push({ kind: 'recheck', inMs: Math.max(10, settings.downAfterMs - silence + 10), why: `silent for ${Math.round(silence)} ms only` });
    return out;
  }

  const followers = next.replicas.filter((r) => r.masterAddress === master.address);
  const quiet = { quietMs: evidence.replicaQuietMs, limitMs: quietLimitMs(settings.downAfterMs, evidence.replicaPingPeriodS) };
  const witnesses = masterDownWitnesses(followers, master.address, silenceLimitS(settings.downAfterMs, evidence.replicaPingPeriodS), quiet);
  const quorum = settings.quorum ?? defaultQuorum(next.replicas, master.address);
  if (witnesses.length < quorum) {
    // The replicas still hear from the master: this client alone is cut off. Never promote on
    // our own view; look again shortly.
    out.push({ kind: 'recheck', inMs: RECHECK_MS.witnesses, why: `master ${master.address} unreachable for us, but ${witnesses.length}/${quorum} replicas see it down` });
    return out;
  }
  if (settings.promote !== 'auto') {
    if (!warnedDown) {
      out.push({
        kind: 'warn-manual',
        event: {
          code: 'MASTER_DOWN',
          message: `master ${master.address} is down (${witnesses.length} replicas agree); promote: 'manual', so no replica is promoted`,
          address: master.address,
        },
      });
    }
    out.push({ kind: 'recheck', inMs: RECHECK_MS.manual, why: 'promote: manual' });
    return out;
  }
  const candidate = electCandidate(followers);
  if (candidate === null) {
    out.push({ kind: 'recheck', inMs: RECHECK_MS.noCandidate, why: 'no replica can be promoted (all down, loading or priority 0)' });
    return out;
  }
  const wait = heldBack(evidence);
  if (wait !== null) {
    out.push(wait);
    return out;
  }
  // One action at a time: the one under way asks for a refresh when it ends.
  if (!evidence.acting) {
    const reason = `promoted ${candidate.address}: master ${master.address} down, ${witnesses.length} replicas agree`;
    out.push({ kind: 'promote', candidate, followers, from: master.address, reason });
  }
  return out;
}

/**
 * No node says role:master and the replicas follow each other in a loop: say so at once (once per
 * loop); in client mode with `promote: 'auto'`, once the loop has lasted `downAfterMs` (an
 * operator repointing by hand passes through one for a moment), promote the best node — the
 * election's rule over every member — and repoint all the others. Only when every known member
 * answers: the nodes' own reports are then the witnesses, every client that reaches them sees the
 * same loop and elects the same node, and a member we cannot see might be the master, or ahead.
 */
function noMaster(next: Topology, evidence: Evidence, settings: DecideSettings): Decision[] {
  const cycle = replicationCycle(next);
  if (cycle === null) return [];
  const out: Decision[] = [];
  const loop = describeCycle(cycle);
  out.push({ kind: 'trouble', reason: `no master: replication cycle ${loop}` });
  const key = `REPLICATION_CYCLE/${cycle.join(',')}`;
  if (!evidence.warned.has(key)) {
    const repair =
      settings.promote === 'auto'
        ? `this client promotes the best of them if it lasts ${settings.downAfterMs} ms`
        : settings.promote === 'sentinel'
          ? 'Sentinel has to promote one'
          : "promote: 'manual', so promote one by hand (redis-failover promote <address>)";
    const message = `no master: the replicas follow each other in a loop (${loop}), so writes can go nowhere; ${repair}`;
    out.push({ kind: 'warn', key, event: { code: 'REPLICATION_CYCLE', message, address: cycle[0]! } });
  }
  if (settings.promote !== 'auto') {
    out.push({ kind: 'recheck', inMs: RECHECK_MS.manual, why: 'no master, and this client does not promote' });
    return out;
  }
  const lasted = evidence.now - (evidence.noMasterSince ?? evidence.now);
  if (lasted < settings.downAfterMs) {
    out.push({ kind: 'recheck', inMs: Math.max(10, settings.downAfterMs - lasted + 10), why: `no master for ${Math.round(lasted)} ms only` });
    return out;
  }
  const silent = next.replicas.filter((r) => !r.up).map((r) => r.address);
  if (silent.length > 0) {
    out.push({ kind: 'recheck', inMs: RECHECK_MS.noCandidate, why: `no master, but ${silent.join(', ')} do(es) not answer: not repairing on a partial view` });
    return out;
  }
  const candidate = electCandidate(next.replicas);
  const wait = heldBack(evidence);
  if (candidate === null || wait !== null) {
    out.push(wait ?? { kind: 'recheck', inMs: RECHECK_MS.noCandidate, why: 'no master, and no node can be promoted (loading or priority 0)' });
    return out;
  }
  if (!evidence.acting) {
    const reason = `promoted ${candidate.address}: no master (replication cycle ${loop})`;
    const from = evidence.knownMaster ?? candidate.address;
    out.push({ kind: 'promote', candidate, followers: next.replicas.filter((r) => r.address !== candidate.address), from, reason });
  }
  return out;
}

/**
 * The client's first picture shows a master no replica follows, while other members are
 * configured (and do not answer, or follow another node): a restarted old master found first,
 * say. Writes it takes are lost when it is demoted; say so once. (Later pictures are not judged
 * so: replicas are repointed to a new master over seconds, by us or by Sentinel.)
 */
function masterAlone(next: Topology, previous: Topology | null): Extract<Decision, { kind: 'warn' }> | null {
  const master = next.master;
  if (previous !== null || master === null || !master.up || master.role !== 'master') return null;
  if (next.replicas.length === 0 || next.replicas.some((r) => r.up && r.masterAddress === master.address)) return null;
  const others = next.replicas.map((r) => `${r.address} (${!r.up ? 'does not answer' : r.role === 'master' ? 'says role:master' : `follows ${r.masterAddress ?? 'no node'}`})`);
  const message =
    `master ${master.address} has no replica, while other members are known: ${others.join(', ')}. ` +
    'If it is an old master restarted on its own, the writes it takes are lost when it is demoted.';
  return { kind: 'warn', key: `MASTER_ALONE/${master.address}/${master.runId ?? ''}`, event: { code: 'MASTER_ALONE', message, address: master.address } };
}

/**
 * A replica hears from its master at least every `repl-ping-replica-period` seconds (10 by
 * default). Silence beyond that, and beyond `downAfterMs`, means the master is not sending.
 */
export function silenceLimitS(downAfterMs: number, replicaPingPeriodS: number | null): number {
  return Math.max(Math.ceil(downAfterMs / 1000), replicaPingPeriodS ?? 10) + 1;
}

/**
 * Margin over the master's ping period before a still offset is a witness: the master's
 * replication cron may fire late (it runs from the 100 ms server cron). The span is one this
 * client observed whole (see `ReplicaQuiet`), so how often it samples does not add to it.
 */
export const QUIET_MARGIN_MS = 100;

/**
 * How long a replica's offset must stand still, as this client samples it, to vouch that the
 * master is not sending: longer than the master's ping period (it would have moved with the next
 * PING) and than `downAfterMs`, plus the margin. Unknown period: Redis's default, 10 s.
 */
export function quietLimitMs(downAfterMs: number, replicaPingPeriodS: number | null): number {
  return Math.max(downAfterMs, (replicaPingPeriodS ?? 10) * 1000) + QUIET_MARGIN_MS;
}

/** Nodes saying `role:master` that are not the master, and replicas still following another node. */
function strays(next: Topology, master: NodeState): NodeState[] {
  const others = next.replicas.filter((r) => r.up && r.role === 'master' && r.address !== master.address);
  // Replicas still pointing at another node (a repointing that failed half-way) are fixed too.
  const lost = next.replicas.filter((r) => r.up && r.role === 'replica' && r.masterAddress !== null && r.masterAddress !== master.address);
  return [...others, ...lost];
}

/**
 * The same master, a new run id and a smaller offset, with replicas attached: it restarted
 * without its data, and their resync will empty them.
 */
function restartedEmpty(next: Topology, previous: Topology | null): Extract<Decision, { kind: 'warn' }> | null {
  const before = previous?.master;
  const now = next.master;
  if (!before || !now || before.address !== now.address || !before.runId || !now.runId || before.runId === now.runId) return null;
  if (now.offset >= before.offset) return null;
  const attached = next.replicas.filter((r) => r.up && r.masterAddress === now.address).length;
  if (attached === 0) return null;
  const message =
    `master ${now.address} restarted (run id changed, offset ${before.offset} → ${now.offset}) while ${attached} replica(s) ` +
    'are attached: if it restarted without its data, their resync will empty them. Enable persistence, or keep a restarted master from rejoining as master.';
  return { kind: 'warn', event: { code: 'MASTER_RESTARTED_EMPTY', message, address: now.address }, key: `${now.address}/${now.runId}` };
}

function describeReasons(reasons: readonly string[], source: string): string {
  const sentinel = reasons.find((r) => r.includes('+switch-master'));
  if (sentinel) return sentinel;
  // Another client repaired a set with no master: say what it was.
  const none = reasons.find((r) => r.startsWith('no master:'));
  if (none) return `master changed (${source}) after ${none}`;
  return reasons.length > 0 ? `master changed (${source}): ${reasons.slice(0, 3).join('; ')}` : `master changed (${source})`;
}
