import createDebug from 'debug';
import type { Command } from 'ioredis';
import { OffsetSampler } from '../consistency/offset-sampler.js';
import type { NodePool } from '../pool/node-pool.js';
import type { Address, NodeState } from '../topology/types.js';
import { firstKeyOnly } from './classify.js';
import { ReplicaProgress, SessionWrites } from './consistency.js';
import type { ResolvedLag } from './router.js';

const debug = createDebug('redis-failover:router');

export interface ConsistencySettings {
  pool: NodePool;
  readYourWrites: boolean;
  lag: ResolvedLag;
  /** How often to sample offsets while writes are not yet known to be on every replica. */
  intervalMs?: number;
  probeTimeoutMs: number;
  /** After each sample: reads held for a caught-up replica may go now. */
  onProgress?(): void;
}

/**
 * Samples offsets (the master's, then each readable replica's) on the control connections and
 * answers the router's two questions: has this replica applied the writes this read depends on,
 * and is it within `maxReplicaLag` right now. Sampling runs only while there is something to
 * learn: writes not yet known on every replica, or a lag bound to keep fresh.
 */
export class ConsistencyMonitor {
  readonly writes = new SessionWrites();
  readonly progress = new ReplicaProgress();
  #settings: ConsistencySettings;
  #master: NodeState | null = null;
  #replicas: readonly NodeState[] = [];
  #timer: NodeJS.Timeout | null = null;
  #running = false;
  #stopped = false;
  #lowestReached = 0;
  #bounded: boolean;
  #sampler: OffsetSampler;

  constructor(settings: ConsistencySettings) {
    this.#settings = settings;
    this.#bounded = settings.lag.bytes !== null || settings.lag.ms !== null;
    this.#sampler = new OffsetSampler({ control: (node) => settings.pool.node(node).control(), probeTimeoutMs: settings.probeTimeoutMs });
  }

  get readYourWrites(): boolean {
    return this.#settings.readYourWrites;
  }

  /** The master and the replicas reads may use (from the routing table). */
  setNodes(master: NodeState | null, replicas: readonly NodeState[]): void {
    if (master?.address !== this.#master?.address) {
      // A new master: offsets start over; replicas must show again that they have caught up.
      this.progress.reset();
      this.#lowestReached = 0;
    }
    // A replica that starts taking reads must first show it has every write made so far: until
    // then it has reached nothing, and the barrier keeps every read of this session off it.
    const known = new Set(this.#replicas.map((r) => r.address));
    if (replicas.some((r) => !known.has(r.address)) && this.writes.seq > 0) this.writes.barrierAt(this.writes.seq);
    this.#master = master;
    this.#replicas = replicas;
    this.#schedule(0);
  }

  /** A write is issued: its sequence number, to hand to `sent()` and then to `settled()` once answered. */
  wrote(cmd: Command): number {
    const seq = firstKeyOnly(cmd.name) && cmd.args.length > 0 ? this.writes.wroteKey(cmd.args[0]) : this.writes.wrote(cmd.getKeys());
    if (this.#timer === null && !this.#running) this.#schedule(0);
    return seq;
  }

  /** The write numbered `seq` was answered, or failed. */
  settled(seq: number): void {
    this.writes.settled(seq);
  }

  /** The write numbered `seq` went out to the master. */
  sent(seq: number): void {
    this.writes.sent(seq);
  }

  /** The write sequence a node must have reached for this read (0: any node). */
  needed(cmd: Command): number {
    if (this.writes.seq <= this.#lowestReached) return 0;
    if (firstKeyOnly(cmd.name) && cmd.args.length > 0) return this.writes.neededKey(cmd.args[0]);
    return this.writes.needed(cmd.getKeys());
  }

  /** The highest write sequence `address` is known to have applied. */
  reachedSeq(address: Address): number {
    return this.progress.reachedSeq(address);
  }

  /**
   * Whether `address` is within `maxReplicaLag` by its latest samples. Judged at each sampling
   * round (routing reads the answer, it does not look at the clock per command).
   */
  withinLag(address: Address): boolean {
    if (!this.#bounded) return true;
    const { bytes, ms } = this.#settings.lag;
    const lag = this.progress.lagBytes(address);
    if (bytes !== null && (lag === null || lag > bytes)) return false;
    const stale = this.progress.stalenessMs(address, performance.now());
    if (ms !== null && (stale === null || stale > ms)) return false;
    return true;
  }

  /** Whether reads must consult what replicas reached at all right now. */
  get constrained(): boolean {
    return this.#bounded || this.writes.seq > this.#lowestReached;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(delay: number): void {
    if (this.#stopped || this.#timer !== null || this.#running) return;
    const pending = this.writes.seq > this.#lowestReached;
    if (!pending && !this.#bounded) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#sample().catch((error: Error) => debug('offset sample failed: %s', error.message));
    }, delay);
    this.#timer.unref();
  }

  async #sample(): Promise<void> {
    const master = this.#master;
    if (master === null || this.#replicas.length === 0) return;
    this.#running = true;
    try {
      // The sequence first, then the offset: the offset then covers every write answered up to it.
      const seq = this.writes.settledThrough;
      // The replicas as they are once the master has answered (a new picture may have come meanwhile).
      const replicas = (): readonly NodeState[] => this.#replicas;
      const group = { master, progress: this.progress, get replicas() { return replicas(); } };
      const reached = await this.#sampler.sample(group, seq, () => !this.#stopped && this.#master === master);
      if (reached === null) return;
      this.#lowestReached = reached;
      this.writes.forgetUpTo(this.#lowestReached);
    } finally {
      this.#running = false;
      // After every round, answered or not: what replicas reached, and how fresh it still is.
      if (!this.#stopped) this.#settings.onProgress?.();
      const pending = this.writes.seq > this.#lowestReached;
      const idle = Math.min(100, Math.max(10, Math.floor((this.#settings.lag.ms ?? 300) / 3)));
      this.#schedule(pending ? (this.#settings.intervalMs ?? 10) : idle);
    }
  }
}
