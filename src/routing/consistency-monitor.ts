import createDebug from 'debug';
import type { Command } from 'ioredis';
import type { NodePool } from '../pool/node-pool.js';
import { parseInfoReplication } from '../topology/info-parser.js';
import { noAnswer, withTimeout } from '../util.js';
import type { Address, NodeState } from '../topology/types.js';
import { firstKeyOnly } from './classify.js';
import { ReplicaProgress, SessionWrites } from './consistency.js';
import type { ResolvedLag } from './router.js';

const debug = createDebug('redis-failover:router');

/** How long one sampling round waits for the replicas before it goes on without the slow ones. */
const SLOW_REPLICA_MS = 50;

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
  #inFlight = new Set<Address>();
  #useRole = true;

  constructor(settings: ConsistencySettings) {
    this.#settings = settings;
    this.#bounded = settings.lag.bytes !== null || settings.lag.ms !== null;
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

  /**
   * A node's role and replication offset: `ROLE` (a short array, nothing to parse), or `INFO
   * replication` where an ACL user may not run ROLE.
   */
  async #offset(node: NodeState): Promise<{ role: string; offset: number }> {
    const { pool, probeTimeoutMs } = this.#settings;
    const conn = pool.node(node).control();
    if (this.#useRole) {
      try {
        return roleOffset(await withTimeout(conn.call('ROLE'), probeTimeoutMs, noAnswer(node.address, probeTimeoutMs)));
      } catch (error) {
        if (!/^NOPERM/.test((error as Error).message)) throw error;
        this.#useRole = false;
      }
    }
    const info = parseInfoReplication(await withTimeout(conn.info('replication') as Promise<string>, probeTimeoutMs, noAnswer(node.address, probeTimeoutMs)));
    return { role: info.role, offset: (info.role === 'master' ? info.masterReplOffset : info.replicaReplOffset) ?? 0 };
  }

  async #sampleReplica(replica: NodeState): Promise<void> {
    if (this.#stopped) return;
    this.#inFlight.add(replica.address);
    try {
      const { role, offset } = await this.#offset(replica);
      if (role === 'replica') this.progress.replicaSample(replica.address, offset);
    } catch {
      // No answer: it keeps its last known progress, which only ages.
    } finally {
      this.#inFlight.delete(replica.address);
    }
  }

  async #sample(): Promise<void> {
    const master = this.#master;
    if (master === null || this.#replicas.length === 0) return;
    this.#running = true;
    try {
      // The sequence first, then the offset: the offset then covers every write answered up to it.
      const seq = this.writes.settledThrough;
      const sample = await this.#offset(master);
      if (this.#stopped || this.#master !== master || sample.role !== 'master') return;
      this.progress.masterSample(seq, sample.offset, performance.now());
      const replicas = this.#replicas;
      // Each replica answers on its own: a hung one must not hold back what the others show.
      const probes = replicas.filter((r) => !this.#inFlight.has(r.address)).map((r) => this.#sampleReplica(r));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(probes), new Promise((resolve) => (timer = setTimeout(resolve, SLOW_REPLICA_MS)))]);
      clearTimeout(timer);
      const addresses = replicas.map((r) => r.address);
      this.#lowestReached = this.progress.compact(addresses);
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


/**
 * The role and offset in a `ROLE` reply: `['master', offset, replicas]` or
 * `['slave', host, port, state, offset]` (`-1` while a replica has no master link). Never throws.
 */
export function roleOffset(reply: unknown): { role: 'master' | 'replica' | 'unknown'; offset: number } {
  if (!Array.isArray(reply)) return { role: 'unknown', offset: 0 };
  const kind = String(reply[0]);
  const at = kind === 'master' ? 1 : kind === 'slave' ? 4 : -1;
  const offset = at < 0 ? NaN : Number(reply[at]);
  return { role: kind === 'master' ? 'master' : kind === 'slave' ? 'replica' : 'unknown', offset: Number.isFinite(offset) && offset > 0 ? offset : 0 };
}
