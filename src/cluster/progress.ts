import createDebug from 'debug';
import type { Command } from 'ioredis';
import { OffsetSampler } from '../consistency/offset-sampler.js';
import { firstKeyOnly } from '../routing/classify.js';
import { ReplicaProgress, SessionWrites } from '../consistency/bookkeeping.js';
import type { Address, NodeState } from '../topology/types.js';
import type { Redis } from 'ioredis';

const debug = createDebug('redis-failover:router');

export interface ProgressSettings {
  /** Control connection of a node. */
  control(address: Address): Redis;
  probeTimeoutMs: number;
  lag: { bytes: number | null; ms: number | null };
  /** Remember this client's writes (read-your-writes); false when only the lag bound is wanted. */
  readYourWrites: boolean;
  /** After each round: held reads may go now. */
  onProgress(): void;
}

interface Shard {
  master: NodeState;
  replicas: readonly NodeState[];
  progress: ReplicaProgress;
}

/**
 * Read-your-writes across shards, with the project's bookkeeping (`SessionWrites`,
 * `ReplicaProgress`): one sequence of writes for the client (keys are unique in a cluster, so a
 * key's shard never needs to be part of it), and one `ReplicaProgress` per shard, since each
 * shard master has its own replication offsets. A shard replica that reached a checkpoint of its
 * master has applied every write of this client to that shard numbered up to it; writes to other
 * shards in the numbering change nothing, so the comparison stays exact.
 *
 * Also: writes sent and not yet answered (a read issued without awaiting its write): their keys
 * are read on the master until the write is answered and sampled.
 */
export class ClusterProgress {
  readonly writes = new SessionWrites();
  #s: ProgressSettings;
  #shards = new Map<Address, Shard>();
  #inFlight = new Map<string, number>();
  #lowest = 0;
  #timer: NodeJS.Timeout | null = null;
  #running = false;
  #stopped = false;
  /** FailoverRedis's sampler, one group per shard. */
  #sampler: OffsetSampler;

  constructor(settings: ProgressSettings) {
    this.#s = settings;
    this.#sampler = new OffsetSampler({ control: (node) => settings.control(node.address), probeTimeoutMs: settings.probeTimeoutMs });
  }

  /** The shards as routing sees them, keyed by master address; a new master starts a new history. */
  setShards(shards: ReadonlyArray<{ master: NodeState; replicas: readonly NodeState[] }>): void {
    const next = new Map<Address, Shard>();
    for (const s of shards) {
      const prev = this.#shards.get(s.master.address);
      const known = new Set(prev?.replicas.map((r) => r.address) ?? []);
      // A replica new to reads must first show that it holds every write made so far.
      if (prev === undefined || s.replicas.some((r) => !known.has(r.address))) {
        if (this.writes.seq > 0) this.writes.barrierAt(this.writes.seq);
      }
      next.set(s.master.address, { master: s.master, replicas: s.replicas, progress: prev?.progress ?? new ReplicaProgress() });
    }
    this.#shards = next;
    this.#schedule(0);
  }

  /** A write was sent: its keys are read on the master until it is answered. */
  sending(cmd: Command): void {
    if (!this.#s.readYourWrites) return;
    for (const key of keysOf(cmd)) this.#inFlight.set(key, (this.#inFlight.get(key) ?? 0) + 1);
  }

  /** The sent write settled (`acknowledged`: it applied). */
  settled(cmd: Command, acknowledged: boolean): void {
    if (!this.#s.readYourWrites) return;
    const keys = keysOf(cmd);
    for (const key of keys) {
      const n = (this.#inFlight.get(key) ?? 1) - 1;
      if (n <= 0) this.#inFlight.delete(key);
      else this.#inFlight.set(key, n);
    }
    if (acknowledged) {
      // Recorded once answered: settled at once (left pending, every write stayed in the set).
      this.writes.settled(this.writes.wrote(keys));
      this.#schedule(0);
    }
  }

  /** The sequence a replica must have reached for this read; Infinity: only the master will do. */
  needed(cmd: Command): number {
    if (this.#inFlight.size > 0) for (const key of keysOf(cmd)) if (this.#inFlight.has(key)) return Infinity;
    if (this.writes.seq <= this.#lowest) return 0;
    if (firstKeyOnly(cmd.name) && cmd.args.length > 0) return this.writes.neededKey(cmd.args[0]);
    return this.writes.needed(cmd.getKeys());
  }

  reachedSeq(master: Address, replica: Address): number {
    return this.#shards.get(master)?.progress.reachedSeq(replica) ?? 0;
  }

  withinLag(master: Address, replica: Address): boolean {
    const { bytes, ms } = this.#s.lag;
    if (bytes === null && ms === null) return true;
    const p = this.#shards.get(master)?.progress;
    if (p === undefined) return false;
    const lag = p.lagBytes(replica);
    if (bytes !== null && (lag === null || lag > bytes)) return false;
    const stale = p.stalenessMs(replica, performance.now());
    return !(ms !== null && (stale === null || stale > ms));
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  get #bounded(): boolean {
    return this.#s.lag.bytes !== null || this.#s.lag.ms !== null;
  }

  #schedule(ms: number): void {
    if (this.#stopped || this.#timer !== null || this.#running) return;
    if (this.writes.seq <= this.#lowest && !this.#bounded) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#round().catch((error: Error) => debug('offset sample failed: %s', error.message));
    }, ms);
    this.#timer.unref();
  }

  async #round(): Promise<void> {
    this.#running = true;
    try {
      const seq = this.writes.seq;
      const lows = await Promise.all(
        [...this.#shards.values()].map(async (shard) => {
          if (shard.replicas.length === 0) return Infinity;
          // The sequence first (writes are counted once answered), then the offsets.
          return (await this.#sampler.sample(shard, seq).catch(() => null)) ?? 0;
        }),
      );
      const low = Math.min(seq, ...lows);
      if (low > this.#lowest) this.#lowest = low;
      this.writes.forgetUpTo(this.#lowest);
    } finally {
      this.#running = false;
      if (!this.#stopped) this.#s.onProgress();
      const pending = this.writes.seq > this.#lowest;
      this.#schedule(pending ? 10 : Math.min(100, Math.max(10, Math.floor((this.#s.lag.ms ?? 300) / 3))));
    }
  }
}

function keysOf(cmd: Command): string[] {
  const keys = firstKeyOnly(cmd.name) && cmd.args.length > 0 ? [cmd.args[0]] : cmd.getKeys();
  return keys.map((k) => (typeof k === 'string' ? k : Buffer.isBuffer(k) ? k.toString('utf8') : String(k)));
}
