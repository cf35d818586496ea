import type { Redis } from 'ioredis';
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
