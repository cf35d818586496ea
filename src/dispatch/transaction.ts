import type { Redis } from 'ioredis';
import type { NodeConnections } from '../pool/node-pool.js';
import type { RouteTarget } from '../routing/route.js';

/** Commands that end a WATCH…EXEC session (the connection goes back to the pool after them). */
const ENDS = new Set(['exec', 'discard', 'unwatch']);

/**
 * A WATCH…EXEC session: from WATCH (or MULTI) to EXEC, DISCARD or UNWATCH, every command runs on
 * one leased master connection, as it would on a single ioredis connection — WATCH's guarantee
 * and MULTI's queue live on that connection only.
 */
export class TransactionSession {
  #open: { target: RouteTarget; node: NodeConnections; conn: Redis } | null = null;

  /** The node the session is pinned to, or null when none is open. */
  get target(): RouteTarget | null {
    return this.#open?.target ?? null;
  }

  get conn(): Redis | null {
    return this.#open?.conn ?? null;
  }

  /** Lease the session's connection on `node`. */
  begin(target: RouteTarget, node: NodeConnections): Redis {
    const conn = node.lease('blocking');
    this.#open = { target, node, conn };
    return conn;
  }

  /** Whether `name` closes the session once answered. */
  endsWith(name: string): boolean {
    return ENDS.has(name);
  }

  /** Close the session once `settled` settles, whichever way (the server's session ends too). */
  endAfter(settled: Promise<unknown>, onEnd: () => void): void {
    const open = this.#open;
    const end = (): void => {
      if (this.#open === open) this.end();
      onEnd();
    };
    settled.then(end, end);
  }

  /** Release the connection; a lost or closed one is not reused. */
  end(): void {
    const open = this.#open;
    this.#open = null;
    if (open !== null) open.node.release(open.conn);
  }
}
