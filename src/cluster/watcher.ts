import createDebug from 'debug';
import type { Redis, RedisOptions } from 'ioredis';
import { AuthError, ClosedError, NoNodeError, NotClusterError } from '../errors.js';
import { isAuthError } from '../failover/signals.js';
import { parseInfoReplication, type ReplicationInfo } from '../topology/info-parser.js';
import { askServerMode } from '../topology/nodes-provider.js';
import { formatAddress, type HostPort } from '../topology/address.js';
import type { Address } from '../topology/types.js';
import { defaultConnectionFactory, NodePool, type ConnectionFactory } from '../pool/node-pool.js';
import { noAnswer, noop, withTimeout } from '../util.js';
import { parseClusterShards, parseClusterSlots, type ClusterShardEntry } from './shards.js';
import type { ZoneOf } from '../topology/zones.js';
import { assembleClusterTopology, type ClusterTopology } from './topology.js';

const debug = createDebug('redis-failover:topology');
/** While a shard has trouble: the promotion must be seen within a few tens of ms. */
const FAST_POLL_MS = 20;

export interface WatcherHost {
  /** A new picture (every poll); the host diffs and acts. */
  observed(topology: ClusterTopology): void;
  /** A master's heartbeat went silent (`silent: true`) or answered again. */
  silence(address: Address, silent: boolean): void;
}

export interface WatcherSettings {
  seeds: HostPort[];
  redisOptions: RedisOptions;
  /** Makes the control connections (FailoverRedis's factory: named by purpose, jittered reconnects). */
  factory?: ConnectionFactory;
  /** Reachable address of an announced one. */
  reach(address: Address): HostPort;
  probeTimeoutMs: number;
  downAfterMs: number;
  refreshIntervalMs: number;
  /** The `zones` option: the zone of each node that does not report its own. */
  zones?: ZoneOf | null;
}

/**
 * Reads the cluster: `CLUSTER SHARDS` (or `CLUSTER SLOTS`) from one node, `INFO replication`
 * from every node, on control connections of its own (so a slow data connection never delays
 * what the client learns), and a heartbeat `PING` to each shard master. Only observes: the host
 * decides what a change means.
 */
export class ClusterWatcher {
  #s: WatcherSettings;
  #host: WatcherHost;
  /** The control connections, made as FailoverRedis makes its own (one per node, by reachable address). */
  #pool: NodePool;
  /** Each node's control connection, by announced address. */
  #control = new Map<Address, Redis>();
  #topology: ClusterTopology | null = null;
  #pollTimer: NodeJS.Timeout | null = null;
  #beatTimer: NodeJS.Timeout | null = null;
  #polling: Promise<ClusterTopology> | null = null;
  #again = false;
  #fast = false;
  #lastAnswer = new Map<Address, number>();
  #silent = new Set<Address>();
  /**
   * The zone each node reports of itself (Valkey ≥ 8.1's `availability_zone`, in INFO's server
   * section; null on Redis): read once per connection rather than on every poll, which asks only
   * `INFO replication` (polls run every 20 ms during an outage). Forgotten on reconnect.
   */
  #reportedZones = new Map<Address, string | null>();
  #stopped = false;

  constructor(settings: WatcherSettings, host: WatcherHost) {
    this.#s = settings;
    this.#host = host;
    this.#pool = new NodePool({
      // `scripts` are the facade's commands; `readOnly` would make a control connection send READONLY.
      redisOptions: { ...settings.redisOptions, scripts: undefined, readOnly: false },
      poolSize: 1,
      factory: settings.factory ?? defaultConnectionFactory,
      // Nothing to hear: what a lost control connection means shows in the next poll and heartbeat.
      hooks: { onReady: noop, onClose: noop, onError: noop },
    });
  }

  get topology(): ClusterTopology | null {
    return this.#topology;
  }

  /**
   * The control connection of a node, made on first use by the connection factory, as
   * FailoverRedis's are: `redis-failover:control` in `CLIENT LIST`, commands queued until
   * connected (every wait here is bounded by a timeout) and flushed by each failed reconnect,
   * reconnects with jitter. Once stopped it throws `ClosedError`: a read or a sample still under
   * way must not open a connection that nobody closes, to a dead node retrying for ever.
   */
  control(address: Address): Redis {
    let conn = this.#control.get(address);
    if (conn === undefined) {
      if (this.#stopped) throw new ClosedError(`${address}: the client was closed`);
      conn = this.#pool.node(this.#s.reach(address)).control();
      conn.on('ready', () => this.#reportedZones.delete(address));
      this.#control.set(address, conn);
    }
    return conn;
  }
  /** `failover.assist`: `CLUSTER FAILOVER FORCE` on `replica` (never TAKEOVER: the replicas still vote). */
  async failoverForce(replica: Address): Promise<void> {
    await this.control(replica).call('CLUSTER', 'FAILOVER', 'FORCE');
  }


  /** Read the cluster now (concurrent calls share one read; one asked during a read runs after it). */
  refresh(): Promise<ClusterTopology> {
    if (this.#polling) {
      this.#again = true;
      return this.#polling;
    }
    this.#polling = this.#read().finally(() => {
      this.#polling = null;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        this.refresh().catch(noop);
      }
    });
    return this.#polling;
  }

  /** Poll every FAST_POLL_MS (an outage: see the promotion at once) or at `refreshIntervalMs`. */
  setFast(fast: boolean): void {
    if (fast === this.#fast) return;
    this.#fast = fast;
    if (fast) this.#schedule(0);
  }

  start(): void {
    this.#schedule(this.#s.refreshIntervalMs);
    this.#beat();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#pollTimer) clearTimeout(this.#pollTimer);
    if (this.#beatTimer) clearTimeout(this.#beatTimer);
    this.#control.clear();
    this.#pool.close(false).catch(noop);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    if (this.#pollTimer) clearTimeout(this.#pollTimer);
    this.#pollTimer = setTimeout(() => {
      this.#pollTimer = null;
      this.refresh()
        .catch((error: Error) => debug('cluster poll failed: %s', error.message))
        .finally(() => this.#schedule(this.#fast ? FAST_POLL_MS : this.#s.refreshIntervalMs));
    }, ms);
    this.#pollTimer.unref();
  }

  /** Who to ask for CLUSTER SHARDS: the nodes known (masters that answer first), then the seeds. */
  #sources(): Address[] {
    const t = this.#topology;
    const ready = (a: Address): boolean => this.#control.get(a)?.status === 'ready';
    const usable = (a: Address): boolean => ready(a) && !this.#silent.has(a);
    // The replicas of a shard whose master is lost know of their promotion first; then the
    // other masters; nodes not connected last (they would make the round wait).
    const troubled = t?.shards.filter((s) => s.master !== null && s.slots.length > 0 && !usable(s.master.address)) ?? [];
    const known = t
      ? [
          ...troubled.flatMap((s) => s.replicas.map((r) => r.address)),
          ...t.shards.flatMap((s) => (s.master ? [s.master.address] : [])),
          ...t.shards.flatMap((s) => s.replicas.map((r) => r.address)),
        ]
      : [];
    const all = [...new Set([...known, ...this.#s.seeds.map((s) => formatAddress(s.host, s.port))])];
    return all.sort((a, b) => Number(!usable(a)) - Number(!usable(b)));
  }

  async #read(): Promise<ClusterTopology> {
    const timeout = this.#s.probeTimeoutMs;
    let shards: ClusterShardEntry[] | null = null;
    let lastError: Error | null = null;
    for (const address of this.#sources()) {
      if (this.#stopped) break;
      try {
        shards = await this.#shardsOf(address, timeout);
        if (shards.length > 0) break;
      } catch (error) {
        // Not a cluster, a wrong password: the same from every node; say so at once.
        if (error instanceof NotClusterError) throw error;
        if (isAuthError(error)) throw new AuthError(address, error as Error);
        lastError = error as Error;
      }
    }
    if (this.#stopped) throw new NoNodeError('the client was closed');
    if (shards === null || shards.length === 0) {
      throw new NoNodeError(`no cluster node answered CLUSTER SHARDS (tried ${this.#sources().join(', ')})`, { cause: lastError ?? undefined });
    }
    const nodes = shards.flatMap((s) => [...(s.master ? [s.master] : []), ...s.replicas]);
    const infos = new Map<Address, { info: ReplicationInfo; latencyMs: number } | null>();
    await Promise.all(
      nodes.map(async (n) => {
        const conn = this.control(n.address);
        // A node whose control connection is down, or that stopped answering the heartbeat, is
        // not waited for: during an outage each round must be quick to show the promotion.
        if (this.#silent.has(n.address) || (this.#topology !== null && conn.status !== 'ready')) {
          infos.set(n.address, null);
          return;
        }
        const began = performance.now();
        try {
          const [text, zone] = await Promise.all([
            withTimeout(conn.info('replication') as Promise<string>, timeout, noAnswer(n.address, timeout)),
            this.#reportedZone(n.address, conn, timeout),
          ]);
          const info = parseInfoReplication(text);
          info.availabilityZone = zone;
          infos.set(n.address, { info, latencyMs: performance.now() - began });
          this.#lastAnswer.set(n.address, performance.now());
        } catch {
          infos.set(n.address, null);
        }
      }),
    );
    const topology = assembleClusterTopology(shards, infos, this.#s.zones ?? null);
    if (this.#stopped) return topology;
    this.#topology = topology;
    this.#host.observed(topology);
    return topology;
  }

  /** The zone `address` reports of itself, asked once per connection; null when it reports none or does not answer. */
  async #reportedZone(address: Address, conn: Redis, timeout: number): Promise<string | null> {
    const known = this.#reportedZones.get(address);
    if (known !== undefined) return known;
    try {
      const zone = parseInfoReplication(await withTimeout(conn.info('server') as Promise<string>, timeout, noAnswer(address, timeout))).availabilityZone;
      this.#reportedZones.set(address, zone);
      return zone;
    } catch {
      return null;
    }
  }

  async #shardsOf(address: Address, timeout: number): Promise<ClusterShardEntry[]> {
    const conn = this.control(address);
    const { host } = this.#s.reach(address);
    try {
      return parseClusterShards(await withTimeout(conn.call('CLUSTER', 'SHARDS'), timeout, noAnswer(address, timeout)), host);
    } catch (error) {
      const m = (error as Error).message;
      if (/cluster support disabled/i.test(m)) throw new NotClusterError(address, error);
      // No CLUSTER command at all: a Sentinel, most likely (its `redis_mode` says).
      const server = /unknown command .cluster/i.test(m) ? await askServerMode(conn, timeout) : null;
      if (server?.mode === 'sentinel') throw new NotClusterError(address, error, 'sentinel', server.monitors);
      if (!/unknown subcommand|unknown command/i.test(m)) throw error;
    }
    // Before Redis 7.
    return parseClusterSlots(await withTimeout(conn.call('CLUSTER', 'SLOTS'), timeout, noAnswer(address, timeout)), host);
  }

  /**
   * Heartbeat: PING every node every `downAfterMs / 4`. One silent for `downAfterMs / 2` (a
   * SIGSTOPped process keeps its TCP connection: only silence shows it) is reported, and again
   * when it answers.
   */
  #beat(): void {
    if (this.#stopped) return;
    const every = Math.max(25, Math.floor(this.#s.downAfterMs / 4));
    const silentAfter = this.#s.downAfterMs / 2;
    const now = performance.now();
    for (const node of this.#topology?.shards.flatMap((s) => [...(s.master ? [s.master] : []), ...s.replicas]) ?? []) {
      const address = node.address;
      if (!this.#lastAnswer.has(address)) this.#lastAnswer.set(address, now);
      const conn = this.control(address);
      if (conn.status === 'ready') {
        conn.ping().then(() => {
          this.#lastAnswer.set(address, performance.now());
          if (this.#silent.delete(address)) this.#host.silence(address, false);
        }, noop);
      }
      if (now - this.#lastAnswer.get(address)! > silentAfter && !this.#silent.has(address)) {
        this.#silent.add(address);
        this.#host.silence(address, true);
      }
    }
    this.#beatTimer = setTimeout(() => this.#beat(), every);
    this.#beatTimer.unref();
  }
}
