import { CommandTimeoutError, OfflineError, QueueFullError } from '../errors.js';

/** Something that could not go yet: tried again, in arrival order, on every sign of change. */
export interface Holdable {
  /** The command's name (`pipeline`, `exec` for batches), for the timeout's message. */
  readonly name: string;
  /** How many times it has been sent (0: never; then only the caller's waiting is at stake). */
  readonly tries: number;
  /** Try to send now; false when it must keep waiting. */
  retry(): boolean;
  /** Settle it with an error: it was never sent. */
  fail(error: Error): void;
  /** Why it waits, as the error a timeout reports as its cause. */
  waitCause(): Error | undefined;
}

export interface HoldQueueSettings {
  /** At most this many wait at once (`maxQueuedCommands`); past it a command fails at once. */
  limit: number;
  /** How long one may wait (`commandTimeoutMs`) before it fails, unsent; null: no limit. */
  timeoutMs: number | null;
  /**
   * `redisOptions.enableOfflineQueue`: false, and a command never sent fails at once with
   * `OfflineError` instead of waiting (ioredis's rule for a connection that is not ready).
   */
  offlineQueue: boolean;
}

interface Entry {
  item: Holdable;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Commands waiting for a node: hold, drain on a sign of change, fail all — bounded in number and
 * in time, so nothing waits forever and nothing is lost. Order is arrival order: a drain tries
 * the oldest first, and what still cannot go keeps its place.
 */
export class HoldQueue {
  #settings: HoldQueueSettings;
  #entries: Entry[] = [];
  #draining = false;
  #again = false;

  constructor(settings: HoldQueueSettings) {
    this.#settings = settings;
  }

  get size(): number {
    return this.#entries.length;
  }

  /**
   * Hold `item` until a drain lets it go; true when it waits, false when it was failed at once
   * (the queue is full, or there is no offline queue). Without an offline queue only a command
   * never sent fails for waiting: one that met -READONLY, a redirect or a lost connection is this
   * client's to carry on, as ioredis carries on a command it already wrote.
   */
  hold(item: Holdable): boolean {
    const { limit, timeoutMs, offlineQueue } = this.#settings;
    if (!offlineQueue && item.tries === 0) {
      item.fail(new OfflineError({ cause: item.waitCause() }));
      return false;
    }
    if (this.#entries.length >= limit) {
      item.fail(new QueueFullError(limit));
      return false;
    }
    const entry: Entry = { item, timer: undefined };
    if (timeoutMs !== null) {
      entry.timer = setTimeout(() => {
        const i = this.#entries.indexOf(entry);
        if (i === -1) return;
        this.#entries.splice(i, 1);
        item.fail(new CommandTimeoutError(item.name, timeoutMs, { cause: item.waitCause() }));
      }, timeoutMs);
    }
    this.#entries.push(entry);
    return true;
  }

  /** Try every held item again, oldest first. A drain asked for during a drain runs after it. */
  drain(): void {
    if (this.#entries.length === 0) return;
    if (this.#draining) {
      this.#again = true;
      return;
    }
    this.#draining = true;
    try {
      do {
        this.#again = false;
        const entries = this.#entries;
        this.#entries = [];
        const kept: Entry[] = [];
        for (const entry of entries) {
          if (entry.item.retry()) clearTimeout(entry.timer);
          else kept.push(entry);
        }
        // Anything held while draining came after these: it goes behind them.
        this.#entries = kept.length === 0 ? this.#entries : kept.concat(this.#entries);
      } while (this.#again && this.#entries.length > 0);
    } finally {
      this.#draining = false;
    }
  }

  /** Settle everything held with `error` (closed, or a fatal error such as a wrong password). */
  failAll(error: Error): void {
    const entries = this.#entries;
    this.#entries = [];
    for (const entry of entries) {
      clearTimeout(entry.timer);
      entry.item.fail(error);
    }
  }
}
