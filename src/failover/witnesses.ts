import type { Redis } from 'ioredis';
import createDebug from 'debug';
import { parseInfoReplication } from '../topology/info-parser.js';
import type { Address } from '../topology/types.js';
import { noAnswer, withTimeout } from '../util.js';

const debug = createDebug('redis-failover:failover');

/**
 * Sub-second witnesses of a silent master. A replica says how long it has heard nothing from its
 * master only in whole seconds (`master_last_io_seconds_ago`), which costs a hung master's
 * failover up to a second. But everything a master sends its replicas — writes, and at least its
 * `PING` every `repl-ping-replica-period` — moves their replication offset. So, from the moment
 * this client's own commands to the master go unanswered, it asks each replica for its offset
 * (`ROLE`) every few tens of milliseconds: a replica whose offset this client has seen stand still
 * for longer than the ping period (plus a margin for the master's timers and the sampling) has
 * heard nothing from the master for that long, measured by the client on the replica's own word.
 * It is the replica's view, not this client's: a client cut off from a master that still reaches
 * its replicas sees their offsets move with the master's next PING, and never gets a witness.
 * Nothing is sent while the master answers.
 */

/** One answer of a replica: its link to its master and its offset, when it was asked and answered. */
export interface QuietSample {
  address: Address;
  /** `ROLE` said `connected` (or `INFO` said `master_link_status:up`). */
  linkUp: boolean;
  offset: number;
  /** When the question was sent: the offset was the replica's at some moment after. */
  sentAt: number;
  /** When the answer arrived: … and before. */
  at: number;
}

/**
 * Pure bookkeeping over samples: for each replica, the span over which this client has seen its
 * offset stand still — from the arrival of the first answer with that offset to the sending of
 * the latest one with it. An offset only grows with what the master sends, so the replica received
 * nothing in that span, however seldom it was asked. The caller does the I/O.
 */
export class ReplicaQuiet {
  #seen = new Map<Address, { offset: number; since: number; until: number; linkUp: boolean }>();

  add(sample: QuietSample): void {
    const last = this.#seen.get(sample.address);
    if (last === undefined || last.offset !== sample.offset || last.linkUp !== sample.linkUp) {
      this.#seen.set(sample.address, { offset: sample.offset, since: sample.at, until: sample.sentAt, linkUp: sample.linkUp });
    } else {
      last.until = Math.max(last.until, sample.sentAt);
    }
  }

  /**
   * How long each sampled replica has been seen with a still offset; a replica that reports its
   * link down counts as quiet for ever (Infinity).
   */
  quietMs(): Map<Address, number> {
    const out = new Map<Address, number>();
    for (const [address, s] of this.#seen) out.set(address, s.linkUp ? Math.max(0, s.until - s.since) : Infinity);
    return out;
  }

  clear(): void {
    this.#seen.clear();
  }
}

/**
 * A `ROLE` reply of a replica: `['slave', host, port, state, offset]`; `state` is `connected` once
 * the link is up. Null for anything else (a master, an unexpected reply). Never throws.
 */
export function parseReplicaRole(reply: unknown): { linkUp: boolean; offset: number } | null {
  if (!Array.isArray(reply) || String(reply[0]) !== 'slave') return null;
  const offset = Number(reply[4]);
  return { linkUp: String(reply[3]) === 'connected', offset: Number.isFinite(offset) ? offset : -1 };
}

/** What the sampler needs of a replica's connection (its control connection). */
export type RoleConnection = Pick<Redis, 'call' | 'info'>;

export interface WitnessSamplerSettings {
  /** How often each replica is asked in the first `fastForMs` of a silence… */
  intervalMs: number;
  fastForMs: number;
  /** … and after (a client cut off from a live master alone must not keep its replicas busy). */
  slowIntervalMs: number;
  /** After each round: the coordinator may have its witnesses now. */
  onRound(quiet: ReadonlyMap<Address, number>): void;
}

/**
 * Asks the replicas for their offsets while the master is silent (`start`), one question per
 * replica at a time, and keeps what they said (`quiet`). Stopped as soon as the master answers.
 */
export class WitnessSampler {
  #settings: WitnessSamplerSettings;
  #quiet = new ReplicaQuiet();
  #replicas: Array<{ address: Address; conn: RoleConnection }> = [];
  #asking = new Set<Address>();
  #timer: NodeJS.Timeout | null = null;
  #startedAt = 0;
  #generation = 0;
  /** `ROLE` refused to this ACL user: `INFO replication` says the same, at more cost. */
  #useInfo = false;

  constructor(settings: WitnessSamplerSettings) {
    this.#settings = settings;
  }

  get running(): boolean {
    return this.#timer !== null;
  }

  /** Start asking these replicas (the master's followers), now and every `intervalMs` (then `slowIntervalMs`). */
  start(replicas: Array<{ address: Address; conn: RoleConnection }>): void {
    if (this.#timer !== null) {
      this.#replicas = replicas;
      return;
    }
    debug('master silent: asking %d replica(s) for their offsets', replicas.length);
    this.#replicas = replicas;
    this.#quiet.clear();
    this.#generation++;
    this.#startedAt = performance.now();
    this.#round();
  }

  stop(): void {
    if (this.#timer === null) return;
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#generation++;
    this.#asking.clear();
    this.#quiet.clear();
  }

  /** How long each replica has been seen quiet (empty while stopped). */
  quiet(): Map<Address, number> {
    return this.#quiet.quietMs();
  }

  #round(): void {
    const { intervalMs, fastForMs, slowIntervalMs } = this.#settings;
    this.#timer = setTimeout(() => this.#round(), performance.now() - this.#startedAt < fastForMs ? intervalMs : slowIntervalMs);
    this.#timer.unref();
    const generation = this.#generation;
    const limit = Math.max(100, 4 * intervalMs);
    for (const { address, conn } of this.#replicas) {
      if (this.#asking.has(address)) continue;
      this.#asking.add(address);
      const sentAt = performance.now();
      withTimeout(this.#ask(conn), limit, noAnswer(address, limit))
        .then((role) => {
          if (generation !== this.#generation || role === null) return;
          this.#quiet.add({ address, ...role, sentAt, at: performance.now() });
          this.#settings.onRound(this.#quiet.quietMs());
        })
        .catch(() => {
          // No answer: no word from this replica (a hung or cut-off replica is no witness).
        })
        .finally(() => {
          if (generation === this.#generation) this.#asking.delete(address);
        });
    }
  }

  async #ask(conn: RoleConnection): Promise<{ linkUp: boolean; offset: number } | null> {
    if (!this.#useInfo) {
      try {
        return parseReplicaRole(await conn.call('ROLE'));
      } catch (error) {
        if (!/^NOPERM/.test((error as Error).message)) throw error;
        this.#useInfo = true;
      }
    }
    const info = parseInfoReplication((await conn.info('replication')) as string);
    if (info.role !== 'replica') return null;
    return { linkUp: info.masterLinkStatus === 'up', offset: info.replicaReplOffset ?? -1 };
  }
}
