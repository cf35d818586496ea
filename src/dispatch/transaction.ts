import type { Redis } from 'ioredis';
import type { RouteTarget, RoutingState } from '../routing/route.js';

/** Commands that end a WATCH…EXEC session (the connection goes back to the pool after them). */
const ENDS = new Set(['exec', 'discard', 'unwatch']);

/** Whether `name` closes a session once answered. */
export function endsSession(name: string): boolean {
  return ENDS.has(name);
}

/** An open session: its node, its leased connection, and the routing state it pins. */
export interface OpenSession {
  readonly target: RouteTarget;
  readonly conn: Redis;
  readonly state: RoutingState;
}

/**
 * A WATCH…EXEC session: from WATCH (or MULTI) to EXEC, DISCARD or UNWATCH, every command runs on
 * one leased master connection, as it would on a single ioredis connection — WATCH's guarantee
 * and MULTI's queue live on that connection only. While it is open, its routing state is pinned
 * to its node (`route()` sends everything there).
 */
export class TransactionSession {
  #open: OpenSession | null = null;

  /** The connection of the open session, or null when none is open. */
  get conn(): Redis | null {
    return this.#open?.conn ?? null;
  }

  begin(target: RouteTarget, conn: Redis, state: RoutingState): void {
    this.#open = { target, conn, state };
    state.pinned = target;
  }

  /** Close the session: its state is no longer pinned; what it leased is returned, to release. */
  end(): OpenSession | null {
    const open = this.#open;
    this.#open = null;
    if (open !== null && open.state.pinned === open.target) open.state.pinned = null;
    return open;
  }
}
