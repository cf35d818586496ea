import createDebug from 'debug';
import { ClosedError } from '../errors.js';
import { diffTopology, type TopologyChange } from './diff.js';
import type { TopologyProvider } from './provider.js';
import type { Topology } from './types.js';
import { assignZones, type ZoneOf } from './zones.js';

const debug = createDebug('redis-failover:topology');

export interface TopologyManagerSettings {
  provider: TopologyProvider;
  refreshIntervalMs: number;
  /** The periodic refresh while the client is idle (`setActive(false)`); default `refreshIntervalMs`. */
  idleRefreshIntervalMs?: number;
  /** Called after every successful discovery, with what changed (possibly nothing). */
  onTopology(next: Topology, previous: Topology | null, changes: TopologyChange[]): void;
  /** Called when a discovery failed as a whole (no member answered). */
  onError(error: Error): void;
  /** Where the provider's push signals go (default: a refresh). */
  onSignal?(reason: string): void;
  /** The `zones` option: the zone of each node that does not report its own. */
  zones?: ZoneOf | null;
}

/**
 * Keeps the picture fresh: a periodic refresh, an immediate one on request, and never two
 * discoveries at once — a request made during one runs once more right after it.
 */
export class TopologyManager {
  #settings: TopologyManagerSettings;
  #current: Topology | null = null;
  #running: Promise<Topology> | null = null;
  #again = false;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  #started = false;
  #active = true;
  /** When the last discovery ended (successful or not). */
  #refreshedAt = -Infinity;

  constructor(settings: TopologyManagerSettings) {
    this.#settings = settings;
  }

  get current(): Topology | null {
    return this.#current;
  }

  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#schedule(this.#interval());
    const onSignal = this.#settings.onSignal ?? ((reason: string) => this.request(reason));
    this.#settings.provider.watch?.(onSignal);
  }

  /**
   * The client's pace: an idle client (no application command lately) refreshes every
   * `idleRefreshIntervalMs`; one that becomes active again refreshes at once if its picture is
   * older than `refreshIntervalMs`, then at that interval.
   */
  setActive(active: boolean): void {
    if (active === this.#active) return;
    this.#active = active;
    if (!this.#started || this.#stopped) return;
    if (active && performance.now() - this.#refreshedAt >= this.#settings.refreshIntervalMs) this.request('active again');
    this.#schedule(this.#interval());
  }

  #interval(): number {
    const { refreshIntervalMs, idleRefreshIntervalMs } = this.#settings;
    return this.#active ? refreshIntervalMs : (idleRefreshIntervalMs ?? refreshIntervalMs);
  }

  /** The periodic refresh, counted from the last discovery: one asked for meanwhile (a signal) puts it off. */
  #schedule(delayMs: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#stopped) return;
      const interval = this.#interval();
      const since = performance.now() - this.#refreshedAt;
      if (since >= interval - 1) {
        this.request('timer');
        this.#schedule(interval);
      } else {
        this.#schedule(interval - since);
      }
    }, delayMs);
    this.#timer.unref();
  }

  /** Ask for a refresh now (coalesced); errors go to `onError`. */
  request(reason: string): void {
    this.refresh(reason).catch(() => {
      // reported through onError already
    });
  }

  /** Discover now; concurrent callers share the discovery in progress, plus one after it. */
  refresh(reason = 'request'): Promise<Topology> {
    if (this.#stopped) return Promise.reject(new ClosedError('topology manager stopped'));
    if (this.#running !== null) {
      this.#again = true;
      return this.#running;
    }
    debug('refresh (%s)', reason);
    const run = this.#settings.provider
      .discover(this.#current)
      .then((discovered) => {
        const next = assignZones(discovered, this.#settings.zones ?? null);
        if (this.#stopped) return next;
        const previous = this.#current;
        this.#current = next;
        this.#settings.onTopology(next, previous, diffTopology(previous, next));
        return next;
      })
      .catch((error: Error) => {
        if (!this.#stopped) this.#settings.onError(error);
        throw error;
      })
      .finally(() => {
        this.#running = null;
        this.#refreshedAt = performance.now();
        if (this.#again && !this.#stopped) {
          this.#again = false;
          this.request('coalesced');
        }
      });
    this.#running = run;
    return run;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#settings.provider.close();
  }
}
