import { PromotionError } from './actions.js';

/** After a failed role change, the next waits 100 ms, then twice as long each time up to 5 s, less up to half at random. */
const RETRY = { firstMs: 100, maxMs: 5000 } as const;

/** The wait before the next role change after `failures` failed ones in a row: exponential, with jitter. */
export function retryDelayMs(failures: number, random: () => number = Math.random): number {
  const ceiling = Math.min(RETRY.maxMs, RETRY.firstMs * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling * (0.5 + random() / 2));
}

/**
 * Whether this client may change roles now, after the failures so far. Refused for lack of rights
 * (a managed service's user): for good, and the caller says so once — the client then follows
 * whoever promotes. Any other failure: the next try waits, longer after each, so that a node that
 * keeps failing is not asked in a loop.
 */
export class RoleChangeRetries {
  /** Why role changes are refused to this client for good (its ACL user), or null. */
  refused: string | null = null;
  /** No role change before this time (`performance.now()`); 0 for none. */
  retryAt = 0;
  #failures = 0;

  succeeded(): void {
    this.#failures = 0;
    this.retryAt = 0;
  }

  /** A role change failed at `now`: 'refused' the first time it is refused for rights, 'retry' otherwise, null once refused. */
  failed(error: Error, now: number): 'refused' | 'retry' | null {
    if (this.refused !== null) return null;
    if (error instanceof PromotionError && error.notPermitted) {
      this.refused = error.message;
      return 'refused';
    }
    this.#failures++;
    this.retryAt = now + retryDelayMs(this.#failures);
    return 'retry';
  }
}
