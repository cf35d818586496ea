import type { Redis } from 'ioredis';
import type { ReplicaProgress } from './bookkeeping.js';
import { parseInfoReplication } from '../topology/info-parser.js';
import type { Address, NodeRole, NodeState } from '../topology/types.js';
import { noAnswer, withTimeout } from '../util.js';

/** How long one sample of a group waits for its replicas before it goes on without the slow ones. */
const SLOW_REPLICA_MS = 50;

export interface NodeOffset {
  role: NodeRole;
  offset: number;
}

/** A master and the replicas reads may use: the replica set, or one shard of a cluster. */
export interface SampleGroup {
  readonly master: NodeState;
  readonly replicas: readonly NodeState[];
  /** Where the group's samples are recorded. */
  readonly progress: ReplicaProgress;
}

export interface OffsetSamplerSettings {
  /** The control connection of a node. */
  control(node: NodeState): Redis;
  probeTimeoutMs: number;
}

/**
 * The one offset sampler of both clients (FailoverRedis's replica set, each shard of a
 * FailoverCluster): reads replication offsets on the control connections and records them in a
 * group's `ReplicaProgress`, the I/O half of read-your-writes and `maxReplicaLag`.
 */
export class OffsetSampler {
  #s: OffsetSamplerSettings;
  /** Until an ACL user is refused ROLE: then INFO replication, for every node from then on. */
  #useRole = true;
  /** Replicas whose sample is still awaited: not asked again meanwhile. */
  #inFlight = new Set<Address>();

  constructor(settings: OffsetSamplerSettings) {
    this.#s = settings;
  }

  /**
   * A node's role and replication offset: `ROLE` (a short array, nothing to parse), or
   * `INFO replication` where an ACL user may not run ROLE (`-NOPERM`).
   */
  async offset(node: NodeState): Promise<NodeOffset> {
    const { probeTimeoutMs } = this.#s;
    const conn = this.#s.control(node);
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

  /**
   * One sample of `group`: `seq` (the client's writes every one of which the master has answered)
   * first, then the master's offset, which therefore covers them, then each replica's. Each
   * replica answers on its own: a hung one does not hold back what the others show (its answer
   * counts when it comes). Returns the lowest write sequence every replica of the group is known
   * to have applied, or null when the master did not answer as a master or `current()` turned
   * false meanwhile (a new picture). A master that does not answer throws.
   */
  async sample(group: SampleGroup, seq: number, current: () => boolean = () => true): Promise<number | null> {
    const m = await this.offset(group.master);
    if (!current() || m.role !== 'master') return null;
    group.progress.masterSample(seq, m.offset, performance.now());
    const probes = group.replicas.filter((r) => !this.#inFlight.has(r.address)).map((r) => this.#sampleReplica(r, group.progress));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(probes), new Promise((resolve) => (timer = setTimeout(resolve, SLOW_REPLICA_MS)))]);
    clearTimeout(timer);
    return group.progress.compact(group.replicas.map((r) => r.address));
  }

  async #sampleReplica(replica: NodeState, progress: ReplicaProgress): Promise<void> {
    this.#inFlight.add(replica.address);
    try {
      const { role, offset } = await this.offset(replica);
      if (role === 'replica') progress.replicaSample(replica.address, offset);
    } catch {
      // No answer: it keeps its last known progress, which only ages.
    } finally {
      this.#inFlight.delete(replica.address);
    }
  }
}

/**
 * The role and offset in a `ROLE` reply: `['master', offset, replicas]` or
 * `['slave', host, port, state, offset]` (`-1` while a replica has no master link). Never throws.
 */
export function roleOffset(reply: unknown): NodeOffset {
  if (!Array.isArray(reply)) return { role: 'unknown', offset: 0 };
  const kind = String(reply[0]);
  const at = kind === 'master' ? 1 : kind === 'slave' ? 4 : -1;
  const offset = at < 0 ? NaN : Number(reply[at]);
  return { role: kind === 'master' ? 'master' : kind === 'slave' ? 'replica' : 'unknown', offset: Number.isFinite(offset) && offset > 0 ? offset : 0 };
}
