import type { Address } from '../topology/types.js';
import { assistCandidate, type ClusterShardState, type ClusterTopology } from './topology.js';

/** What one look at the shards' masters decides: whether to poll fast, and whom to ask to take over. */
export interface OutageVerdict {
  /** Some shard has no usable master (or commands wait): poll fast. */
  trouble: boolean;
  /** `failover.assist`: send `CLUSTER FAILOVER FORCE` to `replica`, whose master has been unreachable long enough. */
  assist: Array<{ master: Address; replica: Address }>;
}

/**
 * Since when each shard master has been unreachable or silent, as this client saw it, and which
 * outages were already assisted. Plain bookkeeping, no I/O: the client feeds it what it sees and
 * carries out its verdicts.
 */
export class ShardOutages {
  #since = new Map<Address, number>();
  #silent = new Set<Address>();
  #assisted = new Set<Address>();
  #settings: { downAfterMs: number; assist: boolean };

  constructor(settings: { downAfterMs: number; assist: boolean }) {
    this.#settings = settings;
  }

  /** A sign the master `address` may be gone (a lost connection, READONLY), seen at `now`. */
  suspect(address: Address, now: number): void {
    if (!this.#since.has(address)) this.#since.set(address, now);
  }

  /** The heartbeat: `address` has been silent since `downAfterMs / 2` before `now` (or answers again). */
  silence(address: Address, silent: boolean, now: number): void {
    if (!silent) {
      this.#silent.delete(address);
      return;
    }
    this.#silent.add(address);
    if (!this.#since.has(address)) this.#since.set(address, now - this.#settings.downAfterMs / 2);
  }

  /** The shard of `from` has another master: its outage is over. Returns when it started, if known. */
  replaced(from: Address): number | undefined {
    const since = this.#since.get(from);
    this.#since.delete(from);
    this.#assisted.delete(from);
    return since;
  }

  /** An assist request failed: it may be tried again. */
  assistFailed(master: Address): void {
    this.#assisted.delete(master);
  }

  /**
   * Look at every shard that serves slots: a master that is down (in the picture, or lost by this
   * client: `lost`) or silent keeps its outage running; one that answers ends it. With `assist`,
   * an outage of `downAfterMs` or more gets one request to the shard's witness replica.
   */
  review(topology: ClusterTopology, lost: (address: Address) => boolean, now: number): OutageVerdict {
    const verdict: OutageVerdict = { trouble: false, assist: [] };
    for (const shard of topology.shards) {
      if (shard.slots.length === 0) continue;
      const master = shard.master;
      if (master === null) {
        verdict.trouble = true;
        continue;
      }
      const address = master.address;
      if (master.up && !lost(address) && !this.#silent.has(address)) {
        this.#since.delete(address);
        continue;
      }
      verdict.trouble = true;
      const since = this.#since.get(address) ?? now;
      this.#since.set(address, since);
      if (this.#settings.assist && now - since >= this.#settings.downAfterMs && !this.#assisted.has(address)) this.#assist(address, shard, verdict);
    }
    return verdict;
  }

  #assist(master: Address, shard: ClusterShardState, verdict: OutageVerdict): void {
    const candidate = assistCandidate(shard);
    if (candidate === null) return;
    this.#assisted.add(master);
    verdict.assist.push({ master, replica: candidate.address });
  }
}
