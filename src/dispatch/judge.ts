import { isConnectionLoss, isReadOnlyError, isRetryableReadError } from '../failover/signals.js';

/** How many times one command (or batch) may be sent again after a failed attempt. */
export const MAX_RESENDS = 2;

/** What judging needs to know of an attempt that failed: plain data. */
export interface AttemptFacts {
  /** It only reads (a read, a read-only blocking command, a batch of reads): resending is safe. */
  readonly readOnly: boolean;
  /** It was sent to the master (as the routing knew it when it was sent). */
  readonly atMaster: boolean;
  /** How many times it has been sent so far (1 after the first send). */
  readonly tries: number;
  /** It ran inside a WATCH…EXEC session: it cannot move to another connection. */
  readonly pinned: boolean;
}

/**
 * - `resend-read`: its connection died under a read; send it again wherever routing says.
 * - `resend-on-master`: a replica could not serve it now (LOADING, MASTERDOWN, TRYAGAIN); the
 *   master can.
 * - `hold-for-master`: a write met `-READONLY`: that node is no longer the master and did not
 *   apply it; wait for the real master and send it there.
 * - `maybe-applied`: a write's connection died before its reply: it may have been applied, so it
 *   is never resent; the caller is told.
 * - `pass-through`: the error is the command's own answer (a Redis reply error, or retries spent).
 */
export type Verdict = 'resend-read' | 'resend-on-master' | 'hold-for-master' | 'maybe-applied' | 'pass-through';

/** What a failed attempt means. Pure. */
export function judge(error: Error, attempt: AttemptFacts): Verdict {
  // A session's commands are bound to its connection: none can move, and a lost connection may
  // have taken the session's writes with it.
  const movable = !attempt.pinned;
  const readOnly = attempt.readOnly && movable;
  const retriesLeft = attempt.tries <= MAX_RESENDS && movable;
  if (isConnectionLoss(error)) {
    if (readOnly) return retriesLeft ? 'resend-read' : 'pass-through';
    return 'maybe-applied';
  }
  if (!readOnly && isReadOnlyError(error)) return retriesLeft ? 'hold-for-master' : 'pass-through';
  if (readOnly && !attempt.atMaster && isRetryableReadError(error) && retriesLeft) return 'resend-on-master';
  return 'pass-through';
}
