import { Redis, type RedisOptions } from 'ioredis';
import { InvalidOptionError } from './errors.js';
import { OPTION_KEYS, type ResolvedOptions } from './options.js';
import type { FailoverRedisOptions } from './options-types.js';

/** ioredis's own defaults (`Redis.defaultOptions`), which its `redis.options` always carries. */
const IOREDIS_DEFAULTS = (Redis as unknown as { defaultOptions: RedisOptions }).defaultOptions;

/**
 * What `redis.options` shows: ioredis's defaults under the options given, as on a plain ioredis
 * client (libraries read `maxRetriesPerRequest`, `enableOfflineQueue`, `keyPrefix`, `db` there),
 * with the address of the first seed (or the Sentinels and name). `enableAutoPipelining` reads
 * false: the client batches per connection after routing, and ioredis's own auto-pipelining,
 * which the command methods consult there, would batch reads and writes together before.
 */
export function facadeOptions(opts: ResolvedOptions): RedisOptions {
  const where: RedisOptions =
    opts.mode === 'sentinel'
      ? { sentinels: opts.seeds.map((s) => ({ host: s.host, port: s.port })), name: opts.name ?? undefined }
      : { host: opts.seeds[0]!.host, port: opts.seeds[0]!.port };
  return { ...IOREDIS_DEFAULTS, ...where, ...opts.redisOptions, enableAutoPipelining: false };
}

// Where an ioredis address would go: the topology says where the nodes are.
const ADDRESS_KEYS = new Set(['host', 'port', 'path', 'sentinels']);

/**
 * `duplicate(override)` takes ioredis `RedisOptions` as ioredis's does (BullMQ passes
 * `{ connectionName }`, `{ maxRetriesPerRequest: null }`), as well as this library's options:
 * the keys of ours stay on top, every other key goes to `redisOptions`. Pure.
 */
export function splitOverride(override: Record<string, unknown>): FailoverRedisOptions {
  const out: Record<string, unknown> = {};
  const redisOptions: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    if (Object.hasOwn(OPTION_KEYS, key)) out[key] = value;
    else if (ADDRESS_KEYS.has(key)) {
      throw new InvalidOptionError(`duplicate.${key}`, `${key} comes from the topology; a duplicate connects to the same replica set`);
    } else redisOptions[key] = value;
  }
  if (Object.keys(redisOptions).length > 0) {
    out['redisOptions'] = { ...(out['redisOptions'] as Record<string, unknown> | undefined), ...redisOptions };
  }
  return out as FailoverRedisOptions;
}

/** ioredis's error for a command given to a connection in RESP2 subscriber mode. */
export const SUBSCRIBER_MODE_MESSAGE = 'Connection in subscriber mode, only subscriber commands may be used';
