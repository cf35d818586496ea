import { Redis, type RedisOptions } from 'ioredis';
import createDebug from 'debug';
import { formatAddress, type HostPort } from '../topology/address.js';
import type { Address } from '../topology/types.js';
import { ClosedError } from '../errors.js';
import type { NodeCounters } from '../observability/stats.js';
import { noop } from '../util.js';
import { withIdentity } from './identity.js';
import { controlReconnectDelay, reconnectDelay } from './reconnect.js';

const debug = createDebug('redis-failover:pool');

/**
 * What a connection is for. `data` connections carry the application's commands (shared,
 * pipelined); `control` carries this library's own probes (INFO, heartbeats, REPLICAOF) so that
 * they are never stuck behind a long pipeline; `blocking` connections are leased one command at
 * a time; `subscriber` is the one connection in subscriber mode. `sentinel` connections ask a
 * Sentinel for the topology (and for `SENTINEL FAILOVER`); `sentinel-subscriber` listens to its
 * events.
 */
export type ConnectionPurpose = 'data' | 'control' | 'blocking' | 'subscriber' | 'sentinel' | 'sentinel-subscriber';

/** Makes one connection. Inject your own to wrap, instrument or fake the transport in a test. */
export type ConnectionFactory = (node: HostPort, purpose: ConnectionPurpose, options: RedisOptions) => Redis;

/**
 * Every connection is named by purpose in `CLIENT LIST` and tagged `ioredis(redis-failover)`.
 * The host stays a name: ioredis hands it to `net.connect`, which resolves it again on every
 * (re)connect, so a node replaced behind a DNS name is found without a new client.
 */
export const defaultConnectionFactory: ConnectionFactory = (node, purpose, options) =>
  new Redis({ ...withIdentity(purpose, options), host: node.host, port: node.port });

export interface PoolHooks {
  /** A data connection became ready (commands held for this node may go now). */
  onReady(node: NodeConnections): void;
  /**
   * A data or control connection that was up closed: the picture may have changed. Said once per
   * loss, not again for each failed attempt to reconnect.
   */
  onClose(node: NodeConnections, purpose: ConnectionPurpose): void;
  /**
   * The control connection reached its node again after losing it, or after failing to reach it:
   * a node seen down is back. (Its reconnect attempts watch it, at no cost to the live servers.)
   */
  onBack?(node: NodeConnections): void;
  onError(node: NodeConnections, purpose: ConnectionPurpose, error: Error): void;
}

export interface PoolSettings {
  redisOptions: RedisOptions;
  poolSize: number;
  factory: ConnectionFactory;
  hooks: PoolHooks;
  /** Idle leased connections kept per node for reuse. */
  maxIdleLeases?: number;
}

// Failover semantics need ioredis to neither resend nor silently queue across reconnects:
// a command in flight on a connection that dies must fail, so that this library decides
// whether it may go elsewhere (a read) or must report that it may have been applied (a write).
const OWN_DATA_OPTIONS: RedisOptions = {
  lazyConnect: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  enableOfflineQueue: true,
  autoResubscribe: false,
};

/** How long `quit()` waits for a node to answer QUIT before closing the socket. */
const QUIT_TIMEOUT_MS = 2000;

/** The connections to one node. */
export class NodeConnections {
  readonly address: Address;
  readonly host: string;
  readonly port: number;
  #settings: PoolSettings;
  #data: Redis[] = [];
  #next = 0;
  #control: Redis | null = null;
  #idle: Redis[] = [];
  /** Leased connections and what they were leased for (subscribers are never re-selected). */
  #leased = new Map<Redis, 'blocking' | 'subscriber'>();
  #closed = false;
  /** The last connection error (ECONNREFUSED, …), to say why a node does not answer. */
  lastError: Error | null = null;
  /** Application commands sent here and failed here (`stats()`); the pool keeps them across removals. */
  readonly counters: NodeCounters;

  constructor(node: HostPort, settings: PoolSettings, counters: NodeCounters = { sent: 0, errors: 0 }) {
    this.host = node.host;
    this.port = node.port;
    this.address = formatAddress(node.host, node.port);
    this.#settings = settings;
    this.counters = counters;
  }

  /** Open the shared data connections (idempotent). */
  open(): void {
    if (this.#closed || this.#data.length > 0) return;
    for (let i = 0; i < this.#settings.poolSize; i++) this.#data.push(this.#make('data'));
  }

  get opened(): boolean {
    return this.#data.length > 0;
  }

  /** At least one shared data connection can take a command now. */
  get ready(): boolean {
    for (const conn of this.#data) if (conn.status === 'ready') return true;
    return false;
  }

  /** A ready shared data connection, round robin; null when none is ready. */
  data(): Redis | null {
    const n = this.#data.length;
    if (n === 1) {
      const conn = this.#data[0]!;
      return conn.status === 'ready' ? conn : null;
    }
    for (let i = 0; i < n; i++) {
      const conn = this.#data[(this.#next = (this.#next + 1) % n)]!;
      if (conn.status === 'ready') return conn;
    }
    return null;
  }

  dataConnections(): readonly Redis[] {
    return this.#data;
  }

  /**
   * The node is known to answer (it closed this client's connections itself, as Sentinel's
   * `CLIENT KILL` does on the replica it promotes, or the control connection just got through):
   * connections waiting out their reconnect delay try now.
   */
  reconnectNow(): void {
    const all = this.#control === null ? this.#data : [...this.#data, this.#control];
    // ioredis's pending retry timer then finds the connection connecting and does nothing.
    for (const conn of all) if (conn.status === 'reconnecting') conn.connect().catch(noop);
  }

  /** The control connection, made on first use. */
  control(): Redis {
    if (this.#closed) throw new ClosedError(`${this.address}: connections closed`);
    if (this.#control === null) this.#control = this.#make('control');
    return this.#control;
  }

  /** A connection of its own for a blocking command, WATCH/MULTI or a subscription. */
  lease(purpose: 'blocking' | 'subscriber' = 'blocking'): Redis {
    if (this.#closed) throw new ClosedError(`${this.address}: connections closed`);
    let conn: Redis | undefined;
    while (purpose === 'blocking' && (conn = this.#idle.pop()) !== undefined) {
      if (conn.status !== 'end') break;
    }
    if (conn === undefined || conn.status === 'end') conn = this.#make(purpose);
    this.#leased.set(conn, purpose);
    return conn;
  }

  release(conn: Redis, reusable = true): void {
    if (!this.#leased.delete(conn)) return;
    if (reusable && !this.#closed && conn.status === 'ready' && this.#idle.length < (this.#settings.maxIdleLeases ?? 4)) {
      this.#idle.push(conn);
    } else {
      conn.disconnect();
    }
  }

  /**
   * `SELECT db` on every connection that carries application commands — shared, idle and leased
   * (a leased one runs it after the command it holds) — except `origin`, which ran it already.
   */
  select(db: number, origin: Redis | null): void {
    const leased = [...this.#leased].filter(([, purpose]) => purpose === 'blocking').map(([conn]) => conn);
    for (const conn of [...this.#data, ...this.#idle, ...leased]) {
      if (conn !== origin && conn.status !== 'end') conn.select(db).catch(noop);
    }
  }

  /** Close every connection; `quit` waits for replies in flight, otherwise they fail now. */
  async close(quit: boolean): Promise<void> {
    this.#closed = true;
    const all = [...this.#data, ...this.#idle, ...this.#leased.keys(), ...(this.#control ? [this.#control] : [])];
    this.#data = [];
    this.#idle = [];
    this.#leased.clear();
    this.#control = null;
    await Promise.all(
      all.map(async (conn) => {
        if (quit && conn.status === 'ready') {
          // A hung node never answers QUIT: wait a bounded time for the replies in flight.
          let timer: NodeJS.Timeout | undefined;
          const quitted = await Promise.race([
            conn.quit().then(() => true, () => false),
            new Promise<false>((resolve) => (timer = setTimeout(resolve, QUIT_TIMEOUT_MS, false))),
          ]);
          clearTimeout(timer);
          if (quitted) return;
        }
        conn.disconnect();
        // ioredis waits `disconnectTimeout` (2 s) for the peer to close its side; a hung node
        // never does, and the commands on the connection would wait with it.
        conn.stream?.destroy();
      }),
    );
  }

  #make(purpose: ConnectionPurpose): Redis {
    const { redisOptions, factory, hooks } = this.#settings;
    const options: RedisOptions = {
      retryStrategy: reconnectDelay,
      ...redisOptions,
      ...OWN_DATA_OPTIONS,
      // The application's own prefix is applied once, by the facade, before routing.
      keyPrefix: undefined,
      enableAutoPipelining: false,
      connectionName: redisOptions.connectionName,
    };
    // Subscriptions survive a reconnection to the same node (ioredis re-subscribes); a move to a
    // new master is the client's doing.
    if (purpose === 'subscriber') options.autoResubscribe = true;
    if (purpose === 'control') {
      options.enableReadyCheck = false;
      options.commandTimeout = undefined;
      // The control connection is how a node that came back is noticed: retry it often.
      options.retryStrategy = controlReconnectDelay;
    }
    const conn = factory({ host: this.host, port: this.port }, purpose, options);
    debug('%s: new %s connection', this.address, purpose);
    // ioredis emits 'close' for every failed attempt to reconnect too (every ~125 ms for a
    // control connection to a node that is down): only the loss of a connection that was up is
    // news, and being up again after a loss or a failed attempt is.
    let up = false;
    let lost = false;
    conn.on('ready', () => {
      debug('%s: %s connection ready', this.address, purpose);
      up = true;
      if (purpose === 'data') hooks.onReady(this);
      if (purpose === 'control' && lost && !this.#closed) {
        // The node answers: its data connections need not wait out their (longer) delays.
        this.reconnectNow();
        hooks.onBack?.(this);
      }
      lost = false;
    });
    conn.on('close', () => {
      const wasUp = up;
      up = false;
      lost = true;
      if (wasUp && !this.#closed && (purpose === 'data' || purpose === 'control')) hooks.onClose(this, purpose);
    });
    conn.on('ready', () => {
      this.lastError = null;
    });
    conn.on('error', (error: Error) => {
      this.lastError = error;
      if (!this.#closed) hooks.onError(this, purpose, error);
    });
    return conn;
  }
}

/** Connections per node, keyed by `host:port`. */
export class NodePool {
  #nodes = new Map<Address, NodeConnections>();
  /** Per address, never dropped: a node removed and added again keeps counting where it was. */
  #counters = new Map<Address, NodeCounters>();
  #settings: PoolSettings;
  #closed = false;

  constructor(settings: PoolSettings) {
    this.#settings = settings;
  }

  get(address: Address): NodeConnections | undefined {
    return this.#nodes.get(address);
  }

  /** The node's connections, created (not yet opened) on first use. */
  node(node: HostPort): NodeConnections {
    // After close nothing may open a connection again (it would never be closed).
    if (this.#closed) throw new ClosedError('the connection pool is closed');
    const address = formatAddress(node.host, node.port);
    let entry = this.#nodes.get(address);
    if (entry === undefined) {
      entry = new NodeConnections(node, this.#settings, this.countersOf(address));
      this.#nodes.set(address, entry);
    }
    return entry;
  }

  /** Application commands sent to `address` and failed there, kept across removals (made on first use). */
  countersOf(address: Address): NodeCounters {
    let counters = this.#counters.get(address);
    if (counters === undefined) this.#counters.set(address, (counters = { sent: 0, errors: 0 }));
    return counters;
  }

  /** Application commands sent and failed, per node address (for `stats()`). */
  counters(): ReadonlyMap<Address, NodeCounters> {
    return this.#counters;
  }

  all(): IterableIterator<NodeConnections> {
    return this.#nodes.values();
  }

  /** Drop a node that left the replica set. */
  async remove(address: Address): Promise<void> {
    const entry = this.#nodes.get(address);
    if (!entry) return;
    this.#nodes.delete(address);
    await entry.close(false);
  }

  /**
   * `SELECT db` for the whole client: every connection made from now on starts in `db`, and every
   * open one (leased ones included) switches to it.
   */
  select(db: number, origin: Redis | null): void {
    this.#settings.redisOptions.db = db;
    for (const node of this.#nodes.values()) node.select(db, origin);
  }

  async close(quit: boolean): Promise<void> {
    this.#closed = true;
    const nodes = [...this.#nodes.values()];
    this.#nodes.clear();
    await Promise.all(nodes.map((n) => n.close(quit)));
  }
}
