import type { Address } from '../topology/types.js';

/** What a WATCH session needs of the connection it ran on: that it may close. */
export interface WatchedConnection {
  once(event: 'close', listener: () => void): unknown;
}

interface Watch {
  /** The shard master the WATCH went to. */
  master: Address;
  /** Its connection closed since: Redis dropped the watch with it. */
  lost: boolean;
}

/**
 * The WATCHes a FailoverCluster's transactions depend on, by slot. Redis keeps a WATCH on one
 * connection to one node: once that connection closes, or the slot's master is another node (a
 * failover, a switchover), the watch is gone, and an EXEC sent to the new master would run
 * unwatched. Such a transaction is answered as Redis answers one whose watched keys changed:
 * EXEC → null, nothing run, and the caller's optimistic loop tries again.
 */
export class WatchSessions {
  #bySlot = new Map<number, Watch>();

  /** A WATCH of keys in `slot` is sent to `master` on `conn`. */
  watched(slot: number, master: Address, conn: WatchedConnection | undefined): void {
    const watch: Watch = { master, lost: conn === undefined };
    this.#bySlot.set(slot, watch);
    conn?.once('close', () => {
      watch.lost = true;
    });
  }

  /** UNWATCH: every watch of this client is gone. */
  cleared(): void {
    this.#bySlot.clear();
  }

  /**
   * A transaction on `slot` is about to be sent while `master` serves it: the node of its WATCH
   * when it must be aborted (the watch cannot hold any more), else null. The watch is spent
   * either way, as EXEC spends it.
   */
  broken(slot: number, master: Address | null): { watchedAt: Address } | null {
    const watch = this.#bySlot.get(slot);
    if (watch === undefined) return null;
    this.#bySlot.delete(slot);
    return watch.lost || watch.master !== master ? { watchedAt: watch.master } : null;
  }

  get size(): number {
    return this.#bySlot.size;
  }
}
