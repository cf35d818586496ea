import type { RedisOptions } from 'ioredis';
import type { ConnectionPurpose } from './node-pool.js';

/** What Redis ≥ 7.2 shows as `lib-name` in `CLIENT LIST`: `ioredis(redis-failover)`. */
export const CLIENT_INFO_TAG = 'redis-failover';

/**
 * The `CLIENT SETNAME` of a connection: `redis-failover:<purpose>`, after the application's own
 * `connectionName` when it set one (`orders-api:redis-failover:data`), so that `CLIENT LIST`
 * tells its shared data connections from this library's INFO polls and leased connections.
 * Redis refuses names with spaces: they become `-`.
 */
export function connectionName(purpose: ConnectionPurpose, own: string | undefined): string {
  const name = `redis-failover:${purpose}`;
  return own ? `${own.replace(/\s/g, '-')}:${name}` : name;
}

/** `options` with the connection's name and library tag (the application's own tag wins). */
export function withIdentity(purpose: ConnectionPurpose, options: RedisOptions): RedisOptions {
  return {
    ...options,
    connectionName: connectionName(purpose, options.connectionName),
    clientInfoTag: options.clientInfoTag ?? CLIENT_INFO_TAG,
  };
}
