/**
 * Reading errors for what they say about the replica set. Redis and ioredis speak in messages,
 * so this is the one place that knows their wording.
 */

/** The connection died with the command on it (or queued for it): ioredis's words for that. */
export function isConnectionLoss(error: Error): boolean {
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    error.message === 'Connection is closed.' ||
    error.message.startsWith("Stream isn't writeable")
  );
}

/**
 * `-READONLY You can't write against a read only replica`: the write went to a node that is no
 * longer the master, so it was not applied. Scripts wrap it: `ERR Error running script … -READONLY`
 * (Redis 6) or `READONLY … script: …` (Redis 7).
 */
export function isReadOnlyError(error: Error): boolean {
  const m = error.message;
  return m.startsWith('READONLY') || (m.includes('READONLY') && (m.includes('script') || m.includes('Script')));
}

/** A replica that cannot serve this read now, though another node could. */
export function isRetryableReadError(error: Error): boolean {
  const m = error.message;
  return m.startsWith('LOADING') || m.startsWith('MASTERDOWN') || m.startsWith('TRYAGAIN');
}

/** The server refused our credentials: retrying will not help, the user must be told. */
export function isAuthError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const m = error.message;
  return m.startsWith('WRONGPASS') || m.startsWith('NOAUTH') || m.includes('invalid password') || m.includes('invalid username-password');
}
