import type { Address } from '../topology/types.js';

/**
 * Read-your-writes, exactly where Redis lets us be exact.
 *
 * Every write gets a sequence number when it is issued, and each key it writes remembers the
 * number: a read issued after a write — sent or not, answered or not — needs that sequence, as on
 * one connection. A read that needs a write not yet sent waits behind it (`awaitsUnsent`).
 * A background check samples the master's `master_repl_offset` (the offset then includes every
 * write acknowledged before the sample) and each replica's `slave_repl_offset` (what it has
 * applied): a replica whose offset reached a sample has applied every write numbered up to it.
 * A read of a key written at sequence s goes only to a node that has reached s — the master, or a
 * replica known to have caught up — while reads of other keys go to the replicas as usual.
 *
 * Approximations, all on the safe side (towards the master): keys are compared by their text
 * (two Buffers that are not UTF-8 may look alike); a write with no keys the table knows (module
 * commands, FLUSHALL) holds back every read until the replicas pass it; past `maxKeys` remembered
 * keys, the oldest are folded into such a barrier.
 */
export class SessionWrites {
  #seq = 0;
  /** key → the sequence number of its last write. Insertion order is age order. */
  #keys = new Map<string, number>();
  /** Every read must wait for this sequence (writes without known keys, evicted keys). */
  #barrier = 0;
  /** Writes issued and not yet answered, in sequence order (a Set keeps insertion order). */
  #pending = new Set<number>();
  /** Writes issued and not yet sent (held: no master connected yet), in sequence order. */
  #unsent = new Set<number>();
  #maxKeys: number;

  constructor(maxKeys = 100_000) {
    this.#maxKeys = maxKeys;
  }

  /** The sequence number of the last write sent. */
  get seq(): number {
    return this.#seq;
  }

  /**
   * The highest sequence up to which every write has been answered: a sample of the master's
   * offset taken now covers all of them (and none of the writes still in flight).
   */
  get settledThrough(): number {
    for (const first of this.#pending) return first - 1;
    return this.#seq;
  }

  /** The write numbered `seq` was answered (or failed): it no longer holds back the samples. */
  settled(seq: number): void {
    this.#pending.delete(seq);
    this.#unsent.delete(seq);
  }

  /** The write numbered `seq` went out on a connection to the master. */
  sent(seq: number): void {
    this.#unsent.delete(seq);
  }

  /**
   * A read that needs `need` needs a write not sent yet: it must wait behind it, wherever
   * replicas stand — no node has it, and served elsewhere the read would overtake its own write.
   */
  awaitsUnsent(need: number): boolean {
    for (const first of this.#unsent) return first <= need;
    return false;
  }

  get size(): number {
    return this.#keys.size;
  }

  /** Record a write of `keys` as it is issued (empty: a write whose keys are unknown); `sent()` follows. */
  wrote(keys: readonly unknown[]): number {
    const seq = ++this.#seq;
    this.#pending.add(seq);
    this.#unsent.add(seq);
    if (keys.length === 0) {
      this.#barrier = seq;
      return seq;
    }
    for (const key of keys) this.#record(key, seq);
    if (this.#keys.size > this.#maxKeys) this.#evict();
    return seq;
  }

  /** `wrote([key])` without the array: the common case of a command with one key. */
  wroteKey(key: unknown): number {
    const seq = ++this.#seq;
    this.#pending.add(seq);
    this.#unsent.add(seq);
    this.#record(key, seq);
    if (this.#keys.size > this.#maxKeys) this.#evict();
    return seq;
  }

  #record(key: unknown, seq: number): void {
    const k = keyText(key);
    // Delete first: a Map keeps insertion order, and that order must be sequence order.
    this.#keys.delete(k);
    this.#keys.set(k, seq);
  }

  /** The sequence a node must have reached to serve a read of `keys` (0: any node). */
  needed(keys: readonly unknown[]): number {
    let need = this.#barrier;
    if (this.#keys.size === 0) return need;
    for (const key of keys) {
      const seq = this.#keys.get(keyText(key));
      if (seq !== undefined && seq > need) need = seq;
    }
    return need;
  }

  /** `needed([key])` without the array. */
  neededKey(key: unknown): number {
    if (this.#keys.size === 0) return this.#barrier;
    const seq = this.#keys.get(keyText(key));
    return seq !== undefined && seq > this.#barrier ? seq : this.#barrier;
  }

  /** Every read must wait for `seq` (a replica joined whose history is unknown). */
  barrierAt(seq: number): void {
    if (seq > this.#barrier) this.#barrier = seq;
  }

  /** Forget keys every replica has passed: they may be read anywhere again. */
  forgetUpTo(seq: number): void {
    for (const [key, s] of this.#keys) {
      if (s > seq) break; // insertion order is sequence order
      this.#keys.delete(key);
    }
  }

  #evict(): void {
    const excess = this.#keys.size - this.#maxKeys;
    let n = 0;
    for (const [key, s] of this.#keys) {
      if (n++ >= excess) break;
      this.#keys.delete(key);
      if (s > this.#barrier) this.#barrier = s;
    }
  }
}

function keyText(key: unknown): string {
  return typeof key === 'string' ? key : Buffer.isBuffer(key) ? key.toString('utf8') : String(key);
}

/** A sample of the master: every write numbered ≤ `seq` is within `offset`. */
interface Checkpoint {
  seq: number;
  offset: number;
  at: number;
}

/**
 * What each replica is known to have applied, from samples of offsets. Pure bookkeeping: the
 * caller does the I/O and feeds the numbers in.
 */
export class ReplicaProgress {
  #checkpoints: Checkpoint[] = [];
  #reached = new Map<Address, { seq: number; at: number; offset: number }>();
  #masterOffset = 0;

  /** The master's offset, sampled after every write up to `seq` was acknowledged. */
  masterSample(seq: number, offset: number, at: number): void {
    this.#masterOffset = offset;
    const last = this.#checkpoints[this.#checkpoints.length - 1];
    if (last && last.offset === offset) {
      last.seq = Math.max(last.seq, seq);
      last.at = at;
    } else {
      this.#checkpoints.push({ seq, offset, at });
    }
  }

  /** A replica's applied offset, sampled after the master sample(s) it is compared with. */
  replicaSample(address: Address, offset: number): void {
    let reached = this.#reached.get(address) ?? { seq: 0, at: -Infinity, offset: 0 };
    for (const c of this.#checkpoints) {
      if (c.offset > offset) break; // offsets only grow within one history
      reached = { seq: Math.max(c.seq, reached.seq), at: Math.max(c.at, reached.at), offset };
    }
    this.#reached.set(address, { ...reached, offset });
  }

  /** The highest write sequence this replica is known to have applied. */
  reachedSeq(address: Address): number {
    return this.#reached.get(address)?.seq ?? 0;
  }

  /** Bytes behind the master's last sampled offset, from its last sampled offset. */
  lagBytes(address: Address): number | null {
    const r = this.#reached.get(address);
    return r === undefined ? null : Math.max(0, this.#masterOffset - r.offset);
  }

  /** How old the freshest master state this replica is known to hold is (ms), or null. */
  stalenessMs(address: Address, now: number): number | null {
    const r = this.#reached.get(address);
    return r === undefined || r.at === -Infinity ? null : Math.max(0, now - r.at);
  }

  /** Drop checkpoints every one of `replicas` has passed; returns the lowest reached sequence. */
  compact(replicas: readonly Address[]): number {
    if (replicas.length === 0) return 0;
    let low = Infinity;
    let lowAt = Infinity;
    for (const a of replicas) {
      const r = this.#reached.get(a);
      low = Math.min(low, r?.seq ?? 0);
      lowAt = Math.min(lowAt, r?.at ?? -Infinity);
    }
    // Keep the latest checkpoint every replica has passed: it still dates their staleness.
    let keepFrom = 0;
    for (let i = 0; i < this.#checkpoints.length; i++) if (this.#checkpoints[i]!.at <= lowAt) keepFrom = i;
    if (keepFrom > 0) this.#checkpoints.splice(0, keepFrom);
    if (this.#checkpoints.length > 1000) this.#checkpoints.splice(0, this.#checkpoints.length - 1000);
    return low === Infinity ? 0 : low;
  }

  /** A new master: offsets start a new history; what replicas reached must be shown again. */
  reset(): void {
    this.#checkpoints = [];
    this.#reached.clear();
    this.#masterOffset = 0;
  }
}
