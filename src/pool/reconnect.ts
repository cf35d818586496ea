/**
 * Reconnect delays with full jitter: a random delay between 0 and an exponentially growing bound.
 * Without it every client that lost a node retries on the same schedule, and a thousand of them
 * reach the node in the same millisecond when it comes back (Redis accepts, then stalls on the
 * burst of AUTH/INFO/SELECT).
 */

/** The bound for data and leased connections: 50 ms doubling to 1 s. */
export function dataDelayBound(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(Math.max(attempt, 0), 5), 1000);
}

/** The bound for the control connection, how a node that came back is noticed: 50 ms steps to 250 ms. */
export function controlDelayBound(attempt: number): number {
  return Math.min(50 * Math.max(attempt, 1), 250);
}

/** A whole number of milliseconds in [0, bound]: `random` is `Math.random` but for tests. */
export function fullJitter(bound: number, random: () => number = Math.random): number {
  return Math.round(random() * bound);
}

/** ioredis `retryStrategy` for data connections. */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  return fullJitter(dataDelayBound(attempt), random);
}

/** ioredis `retryStrategy` for the control connection. */
export function controlReconnectDelay(attempt: number, random: () => number = Math.random): number {
  return fullJitter(controlDelayBound(attempt), random);
}
