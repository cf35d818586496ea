import type { Command } from 'ioredis';
import { NotReplicatedError } from '../errors.js';
import type { DurabilitySettings } from '../options-types.js';
import type { ConsistencyMonitor } from '../routing/consistency-monitor.js';
import type { ReadPolicy } from '../routing/read-policy.js';
import type { RouteTarget } from '../routing/route.js';

/**
 * Read-your-writes and durability around the dispatcher's sends: what a read needs, the record of
 * a write as it is sent, and the stages once it is answered. The bookkeeping itself is the
 * consistency monitor's; this is where the dispatcher meets it.
 */
export class WriteStages {
  #consistency: ConsistencyMonitor | null;

  constructor(consistency: ConsistencyMonitor | null) {
    this.#consistency = consistency;
  }

  /** The write sequence a node must have applied to serve these reads (0: any node). */
  need(policy: ReadPolicy, cmds: Command | readonly Command[]): number {
    const consistency = this.#consistency;
    if (consistency === null || !consistency.constrained || policy.name === 'master') return 0;
    if (!Array.isArray(cmds)) return consistency.needed(cmds as Command);
    let need = 0;
    for (const c of cmds as readonly Command[]) need = Math.max(need, consistency.needed(c));
    return need;
  }

  /** A write is issued: its sequence (0 when read-your-writes is off). */
  record(cmd: Command): number {
    const consistency = this.#consistency;
    return consistency === null || !consistency.readYourWrites ? 0 : consistency.wrote(cmd);
  }

  /** Recorded writes went out to the master. */
  sent(seqs: number | readonly number[]): void {
    const consistency = this.#consistency;
    if (consistency === null) return;
    if (typeof seqs === 'number') {
      if (seqs !== 0) consistency.sent(seqs);
    } else {
      for (const seq of seqs) consistency.sent(seq);
    }
  }

  /** A read needing `need` waits behind a write of this client not sent yet. */
  awaitsUnsent(need: number): boolean {
    return need > 0 && this.#consistency !== null && this.#consistency.writes.awaitsUnsent(need);
  }

  /**
   * The stages after a write was answered, in order: the durability verdict (from WAIT's count),
   * then the read-your-writes record is settled (the write is on the master either way: samples
   * of the master's offset taken from now on cover it). Returns the error to settle with, or null.
   */
  finish(seqs: number | readonly number[], name: string, durability: DurabilitySettings | null, acks: number): Error | null {
    const error = durability !== null && acks < durability.replicas ? new NotReplicatedError(name, acks, durability.replicas, durability.timeoutMs) : null;
    this.settled(seqs);
    return error;
  }

  /** Recorded writes that were answered or failed no longer hold back what replicas are known to have. */
  settled(seqs: number | readonly number[]): void {
    const consistency = this.#consistency;
    if (consistency === null) return;
    if (typeof seqs === 'number') {
      if (seqs !== 0) consistency.settled(seqs);
    } else {
      for (const seq of seqs) consistency.settled(seq);
    }
  }

  /** New offset samples: which replicas have this session's writes, and are within the lag bound. */
  syncProgress(replicas: readonly RouteTarget[]): void {
    const consistency = this.#consistency;
    if (consistency === null) return;
    for (const t of replicas) {
      t.reached = consistency.reachedSeq(t.address);
      t.fresh = consistency.withinLag(t.address);
    }
  }
}
