import type { Redis } from 'ioredis';
import { noop } from '../util.js';
import type { HostPort } from '../topology/address.js';
import type { Address } from '../topology/types.js';

/** ioredis Cluster's connection pool (private in its typings): one connection per node, by `host:port`. */
export interface NodeConnections {
  getInstanceByKey(key: string): Redis | undefined;
  findOrCreate(node: { host: string; port: number }, readOnly: boolean): Redis;
}

/**
 * `pool` as addressed by the cluster's announced `host:port`: ioredis keys its connections by the
 * address natMap maps to, so each announced address is looked up under its mapped one (computed
 * once per address). Without a natMap the pool is used as it is.
 */
export function announcedPool(pool: NodeConnections, reach: (address: Address) => HostPort): NodeConnections {
  const keys = new Map<Address, string>();
  const keyOf = (address: Address): string => {
    let key = keys.get(address);
    if (key === undefined) {
      const { host, port } = reach(address);
      keys.set(address, (key = `${host}:${port}`));
    }
    return key;
  };
  return {
    getInstanceByKey: (address) => pool.getInstanceByKey(keyOf(address)),
    findOrCreate: (node, readOnly) => pool.findOrCreate(node, readOnly),
  };
}

export interface ClusterLinksSettings {
  pool: NodeConnections;
  reach(address: Address): HostPort;
  /** A connection became ready: what waits may go. */
  onReady(): void;
  /** A connection ended: the node counts as down, and the picture may be stale. */
  onDown(address: Address): void;
}

/**
 * The data connections of a FailoverCluster, taken from ioredis's pool (made and connected on first
 * use), and the nodes whose loss this client saw and that no poll has shown back.
 */
export class ClusterLinks {
  #s: ClusterLinksSettings;
  #down = new Set<Address>();
  #watched = new WeakSet<Redis>();

  constructor(settings: ClusterLinksSettings) {
    this.#s = settings;
  }

  get down(): ReadonlySet<Address> {
    return this.#down;
  }

  /** A poll shows `address` answering. */
  up(address: Address): void {
    this.#down.delete(address);
  }

  /** A connection to `address` died under a command: down until a poll shows it back. */
  lost(address: Address): void {
    if (this.#down.has(address)) return;
    this.#down.add(address);
    this.#s.onDown(address);
  }

  /** Whether the connection to `address` is ready; it is made, and connected, if it is not yet. */
  ready(address: Address, readOnly: boolean): boolean {
    return this.connection(address, readOnly) !== null;
  }

  /** A ready data connection to `address`, or null (then it is being connected). */
  connection(address: Address, readOnly: boolean): Redis | null {
    if (this.#down.has(address)) return null;
    const pool = this.#s.pool;
    let conn = pool.getInstanceByKey(address);
    if (conn === undefined) {
      const { host, port } = this.#s.reach(address);
      conn = pool.findOrCreate({ host, port }, readOnly);
    }
    if (!this.#watched.has(conn)) {
      this.#watched.add(conn);
      conn.on('ready', () => this.#s.onReady());
      conn.once('end', () => this.lost(address));
    }
    if (conn.status === 'ready') return conn;
    if (conn.status === 'wait') conn.connect().catch(noop);
    return null;
  }

  /** Resolves once each of `addresses` is connected, or its connect failed. */
  connected(addresses: readonly Address[]): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const address of addresses) {
      // A node seen lost is not waited for (its commands wait for the next picture).
      if (this.#down.has(address) || this.ready(address, false)) continue;
      const conn = this.#s.pool.getInstanceByKey(address);
      if (conn !== undefined) waits.push(settledConnect(conn));
    }
    return Promise.all(waits).then(noop);
  }

  destroy(address: Address): void {
    const conn = this.#s.pool.getInstanceByKey(address);
    if (conn === undefined) return;
    // disconnect() alone ends the socket gracefully, which waits on a hung peer; destroying it
    // settles the commands stuck there at once (writes as ERR_MAYBE_APPLIED: they may have run).
    (conn as unknown as { stream?: { destroy(): void } }).stream?.destroy();
    conn.disconnect();
  }
}

/** Resolves when `conn` is ready, or its connect failed (an error, or the connection ended). */
function settledConnect(conn: Redis): Promise<void> {
  // Already ended: no event will come.
  if (conn.status === 'end') return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      conn.off('ready', done).off('error', done).off('end', done);
      resolve();
    };
    conn.on('ready', done).on('error', done).on('end', done);
  });
}
