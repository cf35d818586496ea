import type { RedisOptions } from 'ioredis';
import type {
  DurabilitySettings,
  FailoverRedisOptions,
  FailoverSettings,
  MaxReplicaLag,
} from './options-types.js';
import { parseRedisUrl, scrub, urlSecrets } from './options-url.js';
import {
  CONSISTENCY,
  checkNumber,
  describe,
  describeType,
  fail,
  INT_0,
  INT_1,
  isPlainObject,
  NON_NEGATIVE,
  oneOf,
  optionalBoolean,
  optionalNumber,
  parseAddress,
  POSITIVE,
  suggest,
} from './options-validate.js';
import { parseReadFrom, requireZone, type ReadPolicy } from './routing/read-policy.js';
import { zonesFromFunction, zonesFromRecord, type ZoneOf } from './topology/zones.js';
import { formatAddress, type HostPort } from './topology/address.js';

export { parseAddress, parseRedisUrl };

/** Options after defaults and validation: what the rest of the library reads. */
export interface ResolvedOptions {
  mode: 'nodes' | 'sentinel';
  /** The nodes to discover from, or the Sentinels. Deduplicated, in the order given. */
  seeds: HostPort[];
  /** The master's name as the Sentinels know it; null in `nodes` mode. */
  name: string | null;
  /** @default 'replicaPreferred' */
  readFrom: ReadPolicy;
  /** The client's availability zone; null: none (the zone policies are refused). */
  zone: string | null;
  /** The `zones` option as a lookup; null: only the servers' own reports. */
  zones: ZoneOf | null;
  /** null: no bound. */
  maxReplicaLag: { bytes: number | null; ms: number | null };
  /** @default 'read-your-writes' */
  consistency: 'read-your-writes' | 'eventual';
  /** null: writes resolve without waiting for replicas. */
  durability: { replicas: number; timeoutMs: number } | null;
  failover: {
    /** @default 'auto' in `nodes` mode, always 'sentinel' in `sentinel` mode */
    promote: 'auto' | 'manual' | 'sentinel';
    /** @default 1000 */
    downAfterMs: number;
    /** null: a majority of the known replicas, decided when it is needed. */
    quorum: number | null;
  };
  /** For every data connection; never contains host/port/path/sentinels/name. */
  redisOptions: RedisOptions;
  /** For the Sentinel connections; never contains host/port/path/sentinels/name. */
  sentinelOptions: RedisOptions;
  /** Announced address → reachable address, keyed by `formatAddress` (`host:port`, `[v6]:port`). */
  natMap: Map<string, HostPort>;
  /** @default 1 */
  poolSize: number;
  /**
   * How long a held command may wait. @default 10000, or null (no limit, as ioredis's offline
   * queue) when not given and `redisOptions.maxRetriesPerRequest` is null.
   */
  commandTimeoutMs: number | null;
  /** @default 10000 */
  maxQueuedCommands: number;
  /** @default 2000 */
  refreshIntervalMs: number;
  /** @default true */
  fencing: boolean;
}

// Records over the option interfaces, so that an option added there without a line here fails to compile.
export const OPTION_KEYS: Record<keyof FailoverRedisOptions, true> = {
  nodes: true,
  sentinels: true,
  name: true,
  readFrom: true,
  zone: true,
  zones: true,
  maxReplicaLag: true,
  consistency: true,
  durability: true,
  failover: true,
  redisOptions: true,
  sentinelOptions: true,
  natMap: true,
  poolSize: true,
  commandTimeoutMs: true,
  maxQueuedCommands: true,
  refreshIntervalMs: true,
  fencing: true,
};
const FAILOVER_KEYS: Record<keyof FailoverSettings, true> = { promote: true, downAfterMs: true, quorum: true };
const LAG_KEYS: Record<keyof MaxReplicaLag, true> = { bytes: true, ms: true };
const DURABILITY_KEYS: Record<keyof DurabilitySettings, true> = { replicas: true, timeoutMs: true };
const NESTED_KEYS = new Set(['redisOptions', 'sentinelOptions', 'failover', 'maxReplicaLag', 'durability']);

/** ioredis options that people coming from `new Redis({...})` put at the top level. */
const IOREDIS_KEYS = new Set(
  [
    'username', 'password', 'db', 'tls', 'keyPrefix', 'connectTimeout', 'commandTimeout', 'socketTimeout',
    'enableAutoPipelining', 'lazyConnect', 'connectionName', 'enableOfflineQueue', 'maxRetriesPerRequest',
    'retryStrategy', 'family', 'keepAlive', 'noDelay', 'enableReadyCheck', 'reconnectOnError',
  ].map((k) => k.toLowerCase()),
);

// Host, port and the Sentinel settings come from the topology; a second source would be ignored or conflict.
const TOPOLOGY_KEYS = ['host', 'port', 'path', 'sentinels', 'name'] as const;

/**
 * Validates options in either form and applies the defaults. Throws `InvalidOptionError`, naming
 * the option, for anything invalid; never echoes a password.
 * @param input a `redis://`, `rediss://`, `redis+sentinel://` or `rediss+sentinel://` URL, or options
 * @param extra options merged over `input` (one level deep for `redisOptions`, `sentinelOptions`,
 *   `failover`, `maxReplicaLag`, `durability`); `undefined` values are ignored
 */
export function resolveOptions(
  input: string | FailoverRedisOptions | undefined,
  extra?: FailoverRedisOptions,
): ResolvedOptions {
  if (typeof input !== 'string') return resolveObject(input, extra);
  const options = parseRedisUrl(input);
  try {
    return resolveObject(options, extra, true);
  } catch (error) {
    throw scrub(error, urlSecrets(input));
  }
}

function resolveObject(input: unknown, extra: unknown, fromUrl = false): ResolvedOptions {
  if (input !== undefined && input !== null && !isPlainObject(input)) {
    fail('options', `expected a redis:// URL or an options object, got ${describeType(input)}`);
  }
  if (extra !== undefined && !isPlainObject(extra)) {
    fail('options', `the second argument must be an options object, got ${describeType(extra)}`);
  }
  if (isPlainObject(input) && !fromUrl) checkKeys(input, OPTION_KEYS, '');
  if (extra) checkKeys(extra, OPTION_KEYS, '');
  const o = merge(isPlainObject(input) ? input : {}, extra ?? {}) as FailoverRedisOptions & Record<string, unknown>;

  if (o.nodes !== undefined && o.sentinels !== undefined) {
    fail('sentinels', 'give either nodes (client mode) or sentinels with name (Sentinel mode), not both');
  }
  if (o.nodes === undefined && o.sentinels === undefined) {
    const unset = input === undefined || input === null ? ' (the URL was undefined: is its environment variable set?)' : '';
    fail('nodes', `no topology source: give nodes, sentinels with name, or a redis:// or redis+sentinel:// URL${unset}`);
  }
  const mode = o.sentinels !== undefined ? 'sentinel' : 'nodes';
  const seeds = mode === 'sentinel' ? seedList(o.sentinels, 'sentinels') : seedList(o.nodes, 'nodes');
  let name: string | null = null;
  if (mode === 'sentinel') {
    if (typeof o.name !== 'string' || o.name === '') {
      const example = "name: 'mymaster', or redis+sentinel://host:port/mymaster";
      fail('name', `Sentinel mode needs the master's name as the Sentinels know it (${example}), got ${describe(o.name)}`);
    }
    name = o.name;
  } else if (o.name !== undefined) {
    fail('name', 'the Sentinel master name needs sentinels; for the connection name use redisOptions.connectionName');
  }

  const lag = section(o.maxReplicaLag, 'maxReplicaLag', LAG_KEYS);
  const failover = section(o.failover, 'failover', FAILOVER_KEYS);
  const durability = o.durability == null ? null : section(o.durability, 'durability', DURABILITY_KEYS);
  if (durability && durability.replicas === undefined) {
    fail('durability.replicas', 'required with durability (how many replicas must acknowledge a write)');
  }
  if (durability && durability.timeoutMs === undefined) {
    fail('durability.timeoutMs', 'required with durability (0 waits forever, as WAIT does)');
  }

  const zone = optionalZone(o.zone);
  return {
    mode,
    seeds,
    name,
    readFrom: requireZone(parseReadFrom(o.readFrom ?? 'replicaPreferred', 'readFrom'), zone),
    zone,
    zones: zones(o.zones),
    maxReplicaLag: {
      bytes: optionalNumber(lag.bytes, 'maxReplicaLag.bytes', INT_0),
      ms: optionalNumber(lag.ms, 'maxReplicaLag.ms', NON_NEGATIVE),
    },
    consistency: oneOf(o.consistency ?? 'read-your-writes', 'consistency', CONSISTENCY),
    durability: durability && {
      replicas: checkNumber(durability.replicas, 'durability.replicas', INT_1),
      // WAIT takes whole milliseconds.
      timeoutMs: checkNumber(durability.timeoutMs, 'durability.timeoutMs', INT_0),
    },
    failover: {
      promote: promoteFor(mode, failover.promote),
      downAfterMs: optionalNumber(failover.downAfterMs, 'failover.downAfterMs', POSITIVE) ?? 1000,
      quorum: optionalNumber(failover.quorum, 'failover.quorum', INT_1),
    },
    redisOptions: connectionOptions(o.redisOptions, 'redisOptions'),
    sentinelOptions: connectionOptions(o.sentinelOptions, 'sentinelOptions'),
    natMap: natMap(o.natMap),
    poolSize: optionalNumber(o.poolSize, 'poolSize', INT_1) ?? 1,
    commandTimeoutMs:
      optionalNumber(o.commandTimeoutMs, 'commandTimeoutMs', NON_NEGATIVE) ??
      // BullMQ and others ask for maxRetriesPerRequest: null: commands wait as long as it takes.
      (isPlainObject(o.redisOptions) && o.redisOptions.maxRetriesPerRequest === null ? null : 10_000),
    maxQueuedCommands: optionalNumber(o.maxQueuedCommands, 'maxQueuedCommands', INT_0) ?? 10_000,
    refreshIntervalMs: optionalNumber(o.refreshIntervalMs, 'refreshIntervalMs', POSITIVE) ?? 2000,
    fencing: optionalBoolean(o.fencing, 'fencing') ?? true,
  };
}

function promoteFor(mode: 'nodes' | 'sentinel', value: unknown): ResolvedOptions['failover']['promote'] {
  if (mode === 'nodes') return value === undefined ? 'auto' : oneOf(value, 'failover.promote', ['auto', 'manual'] as const);
  // 'manual' too: the client cannot stop the Sentinels from promoting, so it would promise what it cannot keep.
  if (value !== undefined) {
    fail('failover.promote', `${describe(value)} does not apply in Sentinel mode: the Sentinels promote; leave it unset`);
  }
  return 'sentinel';
}

function connectionOptions(value: unknown, option: string): RedisOptions {
  if (value === undefined) return {};
  if (!isPlainObject(value)) fail(option, `must be an object of ioredis options, got ${describeType(value)}`);
  for (const key of TOPOLOGY_KEYS) {
    if (value[key] !== undefined) {
      fail(`${option}.${key}`, `${key} comes from the topology (nodes, or sentinels and name), not from ${option}`);
    }
  }
  return { ...value } as RedisOptions;
}

function optionalZone(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.trim() === '') fail('zone', `must be a non-empty string (an availability zone, e.g. 'us-east-1a'), got ${describe(value)}`);
  return value;
}

function zones(value: unknown): ZoneOf | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'function') return zonesFromFunction(value as (address: string) => unknown);
  if (!isPlainObject(value)) fail('zones', `must map 'host:port' to a zone, or be a function of the address, got ${describeType(value)}`);
  const out = new Map<string, string>();
  for (const [address, zone] of Object.entries(value)) {
    const key = parseAddress(address, 'zones');
    if (typeof zone !== 'string' || zone === '') fail(`zones["${address}"]`, `must be a non-empty string, got ${describe(zone)}`);
    out.set(formatAddress(key.host, key.port), zone);
  }
  return zonesFromRecord(out);
}

function natMap(value: unknown): Map<string, HostPort> {
  const out = new Map<string, HostPort>();
  if (value === undefined) return out;
  let entries: [unknown, unknown][];
  if (value instanceof Map) entries = [...(value as Map<unknown, unknown>)];
  else if (isPlainObject(value)) entries = Object.entries(value);
  else return fail('natMap', `must map 'host:port' to 'host:port' or { host, port }, got ${describeType(value)}`);
  for (const [from, to] of entries) {
    const key = parseAddress(from, 'natMap');
    out.set(formatAddress(key.host, key.port), parseAddress(to, 'natMap'));
  }
  return out;
}

function seedList(value: unknown, option: string): HostPort[] {
  if (!Array.isArray(value)) fail(option, `must be an array of 'host:port' or { host, port }, got ${describeType(value)}`);
  if (value.length === 0) fail(option, `is empty: give at least one ${option === 'nodes' ? 'node' : 'Sentinel'} address`);
  const seen = new Map<string, HostPort>();
  for (const item of value as unknown[]) {
    const address = parseAddress(item, option);
    seen.set(formatAddress(address.host, address.port), address);
  }
  return [...seen.values()];
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const prev = out[key];
    out[key] = NESTED_KEYS.has(key) && isPlainObject(prev) && isPlainObject(value) ? merge(prev, value) : value;
  }
  return out;
}

function checkKeys(value: Record<string, unknown>, known: Record<string, true>, prefix: string): void {
  for (const key of Object.keys(value)) {
    if (Object.hasOwn(known, key)) continue;
    const option = `${prefix}${key}`;
    const near = suggest(key, Object.keys(known));
    if (near) fail(option, `unknown option; did you mean "${prefix}${near}"?`);
    if (prefix === '' && (key === 'host' || key === 'port')) {
      fail(option, "unknown option; give the address in nodes: ['host:port'] (or sentinels with name)");
    }
    if (prefix === '' && IOREDIS_KEYS.has(key.toLowerCase())) {
      fail(option, `unknown option; ioredis options go in redisOptions, e.g. { redisOptions: { ${key}: … } }`);
    }
    if (prefix === '' && /^sentinel(username|password)$/i.test(key)) {
      const field = key.slice(8, 9).toLowerCase() + key.slice(9);
      fail(option, `unknown option; Sentinel credentials go in sentinelOptions: { ${field}: … }`);
    }
    fail(option, `unknown option; known: ${Object.keys(known).map((k) => prefix + k).join(', ')}`);
  }
}

function section<K extends string>(value: unknown, option: string, keys: Record<K, true>): Partial<Record<K, unknown>> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) fail(option, `must be an object with ${Object.keys(keys).join(', ')}, got ${describeType(value)}`);
  checkKeys(value, keys, `${option}.`);
  return value as Partial<Record<K, unknown>>;
}
