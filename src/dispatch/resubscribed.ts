import type { ResubscribedEvent } from '../events.js';
import type { Address } from '../topology/types.js';

/** What a subscriber connection is subscribed to, by kind. */
export interface SubscribedSet {
  subscribe: Iterable<string>;
  psubscribe: Iterable<string>;
  ssubscribe: Iterable<string>;
}

/**
 * Pure bookkeeping of the window in which messages may have been lost: the caller tells it what
 * its connections show (a message, a confirmation, subscriptions made again) with the time.
 *
 * Redis keeps no backlog for pub/sub: a message published while no connection of this client was
 * subscribed on the node it was published on is gone. The last sign of life of the old
 * connection (a message, or the confirmation of a subscription) is the earliest time a message
 * can have been lost; the confirmation of the new subscriptions is the latest.
 */
export class GapClock {
  /** The last message or confirmation seen on the connection in use, in `performance.now()` time. */
  #lastSeen: number;

  constructor(now: number) {
    this.#lastSeen = now;
  }

  /** A message or a subscription confirmation arrived. */
  seen(now: number): void {
    this.#lastSeen = now;
  }

  get lastSeen(): number {
    return this.#lastSeen;
  }

  /**
   * The subscriptions `what`, made again from `from` to `to` since `since` (the `lastSeen` taken
   * when the old connection was left), were confirmed at `now`: the event, and the clock restarts.
   */
  resubscribed(what: SubscribedSet, from: Address | null, to: Address, since: number, now: number): ResubscribedEvent | null {
    this.#lastSeen = now;
    return resubscribedEvent(what, from, to, since, now);
  }
}

/** The event for subscriptions made again, or null when nothing was subscribed (nothing to lose). */
export function resubscribedEvent(what: SubscribedSet, from: Address | null, to: Address, since: number, confirmedAt: number): ResubscribedEvent | null {
  const channels = [...what.subscribe];
  const patterns = [...what.psubscribe];
  const shardChannels = [...what.ssubscribe];
  if (channels.length + patterns.length + shardChannels.length === 0) return null;
  return { channels, patterns, shardChannels, from, to, gapMs: Math.max(0, Math.round(confirmedAt - since)) };
}
