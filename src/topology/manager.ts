import createDebug from 'debug';
import { ClosedError } from '../errors.js';
import { diffTopology, type TopologyChange } from './diff.js';
import type { TopologyProvider } from './provider.js';
import type { Topology } from './types.js';

const debug = createDebug('redis-failover:topology');

export interface TopologyManagerSettings {
  provider: TopologyProvider;
  refreshIntervalMs: number;
  /** Called after every successful discovery, with what changed (possibly nothing). */
  onTopology(next: Topology, previous: Topology | null, changes: TopologyChange[]): void;
  /** Called when a discovery failed as a whole (no member answered). */
  onError(error: Error): void;
  /** Where the provider's push signals go (default: a refresh). */
  onSignal?(reason: string): void;
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

  constructor(settings: TopologyManagerSettings) {
    this.#settings = settings;
  }

  get current(): Topology | null {
    return this.#current;
  }

  start(): void {
    if (this.#timer !== null || this.#stopped) return;
    this.#timer = setInterval(() => this.request('timer'), this.#settings.refreshIntervalMs);
    this.#timer.unref();
    const onSignal = this.#settings.onSignal ?? ((reason: string) => this.request(reason));
    this.#settings.provider.watch?.(onSignal);
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
      .then((next) => {
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
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#settings.provider.close();
  }
}
