import type { Command } from 'ioredis';
import type { Attempt } from '../dispatch/attempt.js';
import type { WriteTracking } from '../dispatch/placement.js';
import type { ConsistencyMonitor } from './monitor.js';

/**
 * Read-your-writes where the engine meets the consistency monitor, the same for both clients: what
 * a read needs, and the record of each write from the moment it is issued. The bookkeeping itself
 * is the monitor's. Writes are recorded only once some view reads from replicas (`track()`):
 * before that every read goes to the master, which has them all.
 */
export class ReadYourWrites implements WriteTracking {
  #consistency: ConsistencyMonitor;
  active = false;

  constructor(consistency: ConsistencyMonitor) {
    this.#consistency = consistency;
  }

  /** Some view reads from replicas: record writes from now on (when read-your-writes is on). */
  track(): void {
    this.active = this.#consistency.readYourWrites;
  }

  need(a: Attempt): number {
    const consistency = this.#consistency;
    if (!consistency.constrained) return 0;
    if (a.cmd !== null) return consistency.needed(a.cmd);
    let need = 0;
    for (const c of a.batch!.commands) need = Math.max(need, consistency.needed(c));
    return need;
  }

  record(cmd: Command): number {
    return this.active ? this.#consistency.wrote(cmd) : 0;
  }

  sent(seqs: number | readonly number[]): void {
    if (typeof seqs === 'number') {
      if (seqs !== 0) this.#consistency.sent(seqs);
    } else {
      for (const seq of seqs) this.#consistency.sent(seq);
    }
  }

  awaitsUnsent(need: number): boolean {
    return this.#consistency.writes.awaitsUnsent(need);
  }

  settled(seqs: number | readonly number[]): void {
    if (typeof seqs === 'number') {
      if (seqs !== 0) this.#consistency.settled(seqs);
    } else {
      for (const seq of seqs) this.#consistency.settled(seq);
    }
  }
}
