import type { Redis } from 'ioredis';
import { parseInfoReplication, type ReplicationInfo } from '../topology/info-parser.js';
import { noAnswer, withTimeout } from '../util.js';

/** What the watch needs of a connection (the master's control connection). */
export type InfoConnection = Pick<Redis, 'info'>;

export interface LinkWatchSettings {
  intervalMs: number;
  /** Called with each answer; the next poll starts only once it has settled. */
  onInfo(address: string, info: ReplicationInfo): Promise<void> | void;
}

/**
 * Reads the master's `INFO replication` every `intervalMs`, one at a time: the evidence the fence
 * judges (its replicas' `lag=` and `connected_slaves`). A detector only: it says what it read and
 * decides nothing. A master that does not answer is the heartbeat's business, not this one's.
 */
export class LinkWatch {
  #settings: LinkWatchSettings;
  #target: string | null = null;
  #conn: InfoConnection | null = null;
  #busy = false;
  #timer: NodeJS.Timeout | null = null;
  /** Paused while the client is idle: a client that sends no writes has none to fence. */
  #paused = false;

  constructor(settings: LinkWatchSettings) {
    this.#settings = settings;
  }

  watch(address: string, conn: InfoConnection): void {
    this.#target = address;
    this.#conn = conn;
    if (!this.#paused) this.#start();
  }

  /** The client went idle: no polls until `resume()`. */
  pause(): void {
    this.#paused = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** The client is active again: read the master at once (its next writes depend on it), then every `intervalMs`. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (this.#conn === null) return;
    this.#start();
    void this.#poll();
  }

  #start(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => void this.#poll(), this.#settings.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#conn = null;
    this.#target = null;
  }

  async #poll(): Promise<void> {
    const conn = this.#conn;
    const address = this.#target;
    if (this.#busy || conn === null || address === null) return;
    this.#busy = true;
    try {
      const limit = Math.max(500, 2 * this.#settings.intervalMs);
      const text = await withTimeout(conn.info('replication') as Promise<string>, limit, noAnswer(address, limit));
      if (address === this.#target) await this.#settings.onInfo(address, parseInfoReplication(text));
    } catch {
      // No answer: the heartbeat judges silence; the fence keeps its state until the next answer.
    } finally {
      this.#busy = false;
    }
  }
}
