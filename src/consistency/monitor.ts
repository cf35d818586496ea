import createDebug from 'debug';
import type { Command, Redis } from 'ioredis';
import { firstKeyOnly } from '../routing/classify.js';
import { ReplicaProgress, SessionWrites } from './bookkeeping.js';
import type { Address, NodeState } from '../topology/types.js';
import { OffsetSampler } from './offset-sampler.js';

const debug = createDebug('redis-failover:dispatch');

/** Pending writes are sampled this often while reads wait on them… */
const FAST_MS = 10;
/** …and back off, doubling, to this while no read needs them (a client that only writes). */
const SLOW_MS = 100;

/** A master and the replicas reads may use: the replica set, or one shard of a cluster. */
export interface ReplicationGroup {
  readonly master: NodeState;
  readonly replicas: readonly NodeState[];
}

export interface ConsistencySettings {
  /** The control connection of a node. */
  control(node: NodeState): Redis;
  readYourWrites: boolean;
  lag: { bytes: number | null; ms: number | null };
  probeTimeoutMs: number;
  /** After each sample: reads held for a caught-up replica may go now. */
  onProgress?(): void;
}

interface Group {
  master: NodeState;
  replicas: readonly NodeState[];
  readonly progress: ReplicaProgress;
}

/**
 * Read-your-writes and `maxReplicaLag` for both clients, over groups of a master and its readable
 * replicas (one for a replica set, one per shard of a cluster): one sequence of this client's
 * writes (a key lives in one group, so numbering writes across groups keeps the comparison exact:
 * a replica that reached a checkpoint of its master has every write of this client to that group
 * numbered up to it), and one `ReplicaProgress` per group, since each master has its own offsets.
 * Samples offsets (the master's, then each replica's) only while there is something to learn:
 * writes not yet known on every replica, or a lag bound to keep fresh.
 */
export class ConsistencyMonitor {
  readonly writes = new SessionWrites();
  #s: ConsistencySettings;
  #groups = new Map<Address, Group>();
  #timer: NodeJS.Timeout | null = null;
  #running = false;
  #stopped = false;
  #lowestReached = 0;
  #bounded: boolean;
  #sampler: OffsetSampler;
  /** The delay before the next round while writes are pending: FAST_MS, doubling up to SLOW_MS. */
  #pendingDelay = FAST_MS;
  /** A read needed a write not yet known on the replicas since the last round. */
  #wanted = false;
  /** The scheduled round is a slow one: a read that needs it brings it forward. */
  #slow = false;

  constructor(settings: ConsistencySettings) {
    this.#s = settings;
    this.#bounded = settings.lag.bytes !== null || settings.lag.ms !== null;
    this.#sampler = new OffsetSampler({ control: settings.control, probeTimeoutMs: settings.probeTimeoutMs });
  }

  get readYourWrites(): boolean {
    return this.#s.readYourWrites;
  }

  /** The groups reads may use now (from the routing picture). */
  setGroups(groups: readonly ReplicationGroup[]): void {
    const next = new Map<Address, Group>();
    let barrier = false;
    for (const { master, replicas } of groups) {
      const prev = this.#groups.get(master.address);
      // A replica that starts taking reads must first show it has every write made so far: until
      // then it has reached nothing, and the barrier keeps every read of this session off it.
      if (prev === undefined) barrier ||= replicas.length > 0;
      else if (replicas.some((r) => !prev.replicas.some((p) => p.address === r.address))) barrier = true;
      // A new master starts a new history: its offsets are its own.
      const group = prev ?? { master, replicas, progress: new ReplicaProgress() };
      group.master = master;
      group.replicas = replicas;
      next.set(master.address, group);
    }
    // A master gone from the picture (a failover): what replicas reached is known again only by sampling.
    for (const address of this.#groups.keys()) if (!next.has(address)) this.#lowestReached = 0;
    if (barrier && this.writes.seq > 0) this.writes.barrierAt(this.writes.seq);
    this.#groups = next;
    this.#schedule(0);
  }

  /** The replica set's one group (no master: none). */
  setNodes(master: NodeState | null, replicas: readonly NodeState[]): void {
    this.setGroups(master === null ? [] : [{ master, replicas }]);
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
    const need = firstKeyOnly(cmd.name) && cmd.args.length > 0 ? this.writes.neededKey(cmd.args[0]) : this.writes.needed(cmd.getKeys());
    if (need > 0 && !this.#wanted) this.#want();
    return need;
  }

  /** A read waits on a write (or goes to the master for it): sample fast again, the next round now if it was a slow one. */
  #want(): void {
    this.#wanted = true;
    this.#pendingDelay = FAST_MS;
    if (this.#slow && this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
      this.#schedule(0);
    }
  }

  /** The highest write sequence `replica` of `master`'s group is known to have applied. */
  reachedSeq(master: Address, replica: Address): number {
    return this.#groups.get(master)?.progress.reachedSeq(replica) ?? 0;
  }

  /**
   * Whether `replica` of `master`'s group is within `maxReplicaLag` by its latest samples. Judged
   * at each sampling round (routing reads the answer, it does not look at the clock per command).
   */
  withinLag(master: Address, replica: Address): boolean {
    if (!this.#bounded) return true;
    const progress = this.#groups.get(master)?.progress;
    if (progress === undefined) return false;
    const { bytes, ms } = this.#s.lag;
    const lag = progress.lagBytes(replica);
    if (bytes !== null && (lag === null || lag > bytes)) return false;
    const stale = progress.stalenessMs(replica, performance.now());
    return !(ms !== null && (stale === null || stale > ms));
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
    this.#slow = delay > FAST_MS;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#round().catch((error: Error) => debug('offset sample failed: %s', error.message));
    }, delay);
    this.#timer.unref();
  }

  async #round(): Promise<void> {
    const groups = [...this.#groups.values()].filter((g) => g.replicas.length > 0);
    if (groups.length === 0) return;
    this.#running = true;
    try {
      // The sequence first, then the offsets: each offset then covers every write answered up to it.
      const seq = this.writes.settledThrough;
      const reached = await Promise.all(
        groups.map((g) => this.#sampler.sample(g, seq, () => !this.#stopped && this.#groups.get(g.master.address) === g).catch(() => null)),
      );
      // A group whose master did not answer (or that a new picture replaced) tells nothing this round.
      if (reached.some((r) => r === null)) return;
      this.#lowestReached = Math.min(...(reached as number[]));
      this.writes.forgetUpTo(this.#lowestReached);
    } finally {
      this.#running = false;
      // After every round, answered or not: what replicas reached, and how fresh it still is.
      if (!this.#stopped) this.#s.onProgress?.();
      const pending = this.writes.seq > this.#lowestReached;
      const idle = Math.min(SLOW_MS, Math.max(FAST_MS, Math.floor((this.#s.lag.ms ?? 300) / 3)));
      // While no read waits on the pending writes, each round comes later (a writer alone pays little).
      const delay = this.#pendingDelay;
      this.#pendingDelay = this.#wanted ? FAST_MS : Math.min(SLOW_MS, delay * 2);
      this.#wanted = false;
      this.#schedule(pending ? delay : idle);
    }
  }
}
