import type { ReplicationInfo } from '../topology/info-parser.js';
import type { Address } from '../topology/types.js';

/**
 * Fencing a stranded master: pure judgement over the master's own `INFO replication`.
 *
 * A master cut off from its replicas (and, in Sentinel mode, from every Sentinel) while this
 * client still reaches it keeps acknowledging writes; when the other side promotes a replica,
 * those writes vanish as the old master rejoins as a replica (Jepsen's "Call me maybe: Redis").
 * Redis shows the cut long before it drops the links: a replica acknowledges its offset every
 * second (`REPLCONF ACK`), so the master's `slaveN:…,lag=` grows past 1 within a second or two,
 * while `connected_slaves` only falls at `repl-timeout` (60 s by default).
 */

export interface FenceSettings {
  /** `failover.fencing`: false turns all of this off. */
  fencing: boolean;
  downAfterMs: number;
  /** Client mode: replicas that must see the master down to promote; null: a majority. */
  quorum: number | null;
  /** Sentinel mode: the Sentinels promote; the fence also needs every Sentinel unreachable. */
  sentinel: boolean;
}

/**
 * What the master's links to its replicas look like, read one way or the other: from its `INFO
 * replication` (the replicas' once-a-second acknowledgements, in whole seconds), or from a probe
 * this client just made (`PUBLISH` then `WAIT`: how many replicas acknowledged it within a
 * timeout — a direct, sub-second question).
 */
export interface LinkReading {
  /** The node still says it is a master. */
  master: boolean;
  /** Replicas attached as far as this reading tells (0: it does not tell; `had` counts). */
  attached: number;
  /** Replicas linked: acknowledging, or still in their initial sync. */
  acking: number;
  /** How a cut showed, for the reason given. */
  how: string;
}

export interface FenceEvidence {
  master: Address;
  /** The master's links, read just now. */
  links: LinkReading;
  /** The most replicas this master has been seen with (attached or following it) since it became the master. */
  had: number;
  /** Sentinel mode: how many Sentinels vouch for this master just now (name it, not down, no failover); null: not asked yet. */
  sentinelsConfirming: number | null;
  /** Writes are fenced now. */
  fenced: boolean;
}

export type FenceDecision =
  /** Hold writes: the master may be replaced on the other side of a partition. */
  | { kind: 'fence'; reason: string }
  /** The master is confirmed (its replicas acknowledge again, or a Sentinel answers): writes go. */
  | { kind: 'unfence'; reason: string }
  /** Sentinel mode: the replicas are cut; ask the Sentinels whether they vouch for the master, then judge again. */
  | { kind: 'ask-sentinels' };

/** Replicas acknowledge every second; `lag` is in whole seconds, so 1 is normal and 2 is one ACK missed. */
export function ackLimitS(downAfterMs: number): number {
  return Math.max(2, Math.ceil(downAfterMs / 1000));
}

/**
 * How many of the master's replicas are attached, and how many are linked: acknowledged within
 * `ackLimitS`, or still in their initial sync (`wait_bgsave`, `send_bulk`: no acknowledgements
 * yet, but such a replica is no candidate anywhere, and a just-promoted master's first syncs must
 * not fence it).
 */
export function replicaAcks(info: ReplicationInfo, downAfterMs: number): { attached: number; acking: number } {
  const limit = ackLimitS(downAfterMs);
  const attached = Math.max(info.connectedReplicas ?? 0, info.replicas.length);
  const acking = info.replicas.filter((r) => (r.state !== null && r.state !== 'online') || (r.lag !== null && r.lag >= 0 && r.lag < limit)).length;
  return { attached, acking };
}

/** A reading of the master's `INFO replication`. */
export function linksFromInfo(info: ReplicationInfo, downAfterMs: number): LinkReading {
  return { master: info.role === 'master', ...replicaAcks(info, downAfterMs), how: `no acknowledgement for ${ackLimitS(downAfterMs)} s` };
}

/**
 * A reading of a probe: `acked` replicas acknowledged it within `timeoutMs` (`WAIT`), `syncing`
 * more are in their initial sync (they acknowledge nothing yet, and are no candidate anywhere).
 */
export function linksFromProbe(acked: number, syncing: number, timeoutMs: number): LinkReading {
  return { master: true, attached: 0, acking: acked + syncing, how: `no acknowledgement of a probe within ${timeoutMs} ms` };
}

/**
 * Fence or unfence, from what the master says of its replicas. A master is stranded when enough
 * of the replicas it had stopped acknowledging that the other side could promote one: in client
 * mode `quorum` of them (a majority by default, as promotion needs), in Sentinel mode any one,
 * but only while no Sentinel vouches for it (none answers — the Jepsen case — or those that answer
 * see it down or are failing it over: they still name it until the switch). A master that never
 * had a replica is never fenced.
 */
export function decideFence(evidence: FenceEvidence, settings: FenceSettings): FenceDecision[] {
  const { links, fenced } = evidence;
  if (!settings.fencing || !links.master) {
    return fenced ? [{ kind: 'unfence', reason: settings.fencing ? `${evidence.master} is no longer a master` : 'fencing is off' }] : [];
  }
  const { attached, acking } = links;
  const had = Math.max(evidence.had, attached);
  const cut = had - acking;
  const need = settings.sentinel ? 1 : Math.min(had, settings.quorum ?? Math.floor(had / 2) + 1);
  if (had === 0 || cut < need) {
    return fenced ? [{ kind: 'unfence', reason: `${acking}/${had} replicas of ${evidence.master} acknowledge again` }] : [];
  }
  const why = `${evidence.master} lost ${cut}/${had} replica link(s) (${links.how})`;
  if (settings.sentinel) {
    if (evidence.sentinelsConfirming === null) return [{ kind: 'ask-sentinels' }];
    if (evidence.sentinelsConfirming > 0) {
      return fenced ? [{ kind: 'unfence', reason: `${evidence.sentinelsConfirming} Sentinel(s) vouch for ${evidence.master}` }] : [];
    }
    return fenced ? [] : [{ kind: 'fence', reason: `${why} and no Sentinel vouches for it` }];
  }
  return fenced ? [] : [{ kind: 'fence', reason: why }];
}
