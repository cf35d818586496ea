import type { Redis } from 'ioredis';
import { parseInfoReplication } from '../topology/info-parser.js';
import { noAnswer, withTimeout } from '../util.js';
import { linksFromInfo, linksFromProbe, type LinkReading } from './fence.js';

/** What the watch needs of a connection (the master's control connection). */
export type LinkConnection = Pick<Redis, 'info' | 'publish' | 'call'>;

/** The channel of the probes: nobody subscribes; a PUBLISH is the smallest write every replica receives. */
export const PROBE_CHANNEL = 'redis-failover:probe';

export interface LinkWatchSettings {
  intervalMs: number;
  /** How long a probe waits for the replicas' acknowledgements (`WAIT … timeout`). */
  probeTimeoutMs: number;
  /** For a reading of `INFO replication`: how many seconds without acknowledgement is a cut. */
  downAfterMs: number;
  /**
   * How many replicas the master should have (the most seen linked) and how many are in their
   * initial sync (from the latest picture); null: none, nothing to probe.
   */
  expected(): { replicas: number; syncing: number } | null;
  /** Called with each reading; the next poll starts only once it has settled. */
  onReading(address: string, links: LinkReading): Promise<void> | void;
}

/**
 * Asks the master, every `intervalMs`, whether it still reaches its replicas: the evidence the
 * fence judges. By default a probe — `PUBLISH` to a channel nobody listens to (a write each
 * replica receives) then `WAIT <replicas> <probeTimeoutMs>` on the same connection: the master
 * asks its replicas for an acknowledgement at once (`REPLCONF GETACK`) and says how many gave one
 * in time, so a cut shows within one interval plus the timeout instead of the seconds the
 * replicas' own acknowledgements take. Where this user may not `PUBLISH` or `WAIT`, its `INFO
 * replication` (`lag=` in whole seconds). A detector only: it says what it read and decides
 * nothing. A master that does not answer is the heartbeat's business, not this one's.
 */
export class LinkWatch {
  #settings: LinkWatchSettings;
  #target: string | null = null;
  #conn: LinkConnection | null = null;
  #busy = false;
  #timer: NodeJS.Timeout | null = null;
  /** Paused while the client is idle: a client that sends no writes has none to fence. */
  #paused = false;
  /** `PUBLISH` or `WAIT` refused to this ACL user: read `INFO replication` instead. */
  #useInfo = false;

  constructor(settings: LinkWatchSettings) {
    this.#settings = settings;
  }

  watch(address: string, conn: LinkConnection): void {
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

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#conn = null;
    this.#target = null;
  }

  #start(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => void this.#poll(), this.#settings.intervalMs);
    this.#timer.unref();
  }

  async #poll(): Promise<void> {
    const conn = this.#conn;
    const address = this.#target;
    if (this.#busy || conn === null || address === null) return;
    this.#busy = true;
    try {
      const limit = Math.max(500, 2 * this.#settings.intervalMs) + this.#settings.probeTimeoutMs;
      const links = await withTimeout(this.#read(conn), limit, noAnswer(address, limit));
      if (links !== null && address === this.#target) await this.#settings.onReading(address, links);
    } catch {
      // No answer: the heartbeat judges silence; the fence keeps its state until the next answer.
    } finally {
      this.#busy = false;
    }
  }

  async #read(conn: LinkConnection): Promise<LinkReading | null> {
    const { downAfterMs, probeTimeoutMs } = this.#settings;
    if (!this.#useInfo) {
      const expected = this.#settings.expected();
      if (expected === null) return null;
      // Sent together: WAIT counts the acknowledgements of this connection's last write, the PUBLISH.
      const published = conn.publish(PROBE_CHANNEL, '');
      const waited = conn.call('WAIT', expected.replicas, probeTimeoutMs);
      try {
        await published;
        return linksFromProbe(Number(await waited), expected.syncing, probeTimeoutMs);
      } catch (error) {
        await waited.catch(() => undefined);
        const message = (error as Error).message;
        // A replica: WAIT is refused there; the fence is lifted as for any node no longer master.
        if (/WAIT cannot be used with replica/i.test(message)) return { master: false, attached: 0, acking: 0, how: 'a replica' };
        if (!/^NOPERM|unknown command/i.test(message)) throw error;
        this.#useInfo = true;
      }
    }
    return linksFromInfo(parseInfoReplication((await conn.info('replication')) as string), downAfterMs);
  }
}
