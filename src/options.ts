import type { RedisOptions } from 'ioredis';
import { InvalidOptionError } from './errors.js';
import type {
  DurabilitySettings,
  FailoverRedisOptions,
  FailoverSettings,
  MaxReplicaLag,
} from './options-types.js';
import { parseReadFrom, type ReadPolicy } from './routing/read-policy.js';
import { formatAddress, type HostPort } from './topology/address.js';
import { splitUrl } from './redact.js';

export type { HostPort };

/** Options after defaults and validation: what the rest of the library reads. */
export interface ResolvedOptions {
  mode: 'nodes' | 'sentinel';
  /** The nodes to discover from, or the Sentinels. Deduplicated, in the order given. */
  seeds: HostPort[];
  /** The master's name as the Sentinels know it; null in `nodes` mode. */
  name: string | null;
  /** @default 'replicaPreferred' */
  readFrom: ReadPolicy;
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
  /** @default 10000 */
  commandTimeoutMs: number;
  /** @default 10000 */
  maxQueuedCommands: number;
  /** @default 2000 */
  refreshIntervalMs: number;
}

function fail(option: string, message: string): never {
  throw new InvalidOptionError(option, message);
}

// Records over the option interfaces, so that an option added there without a line here fails to compile.
const OPTION_KEYS: Record<keyof FailoverRedisOptions, true> = {
  nodes: true,
  sentinels: true,
  name: true,
  readFrom: true,
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

const CONSISTENCY = ['read-your-writes', 'eventual'] as const;

interface NumberRule {
  min: number;
  /** `min` itself is not allowed. */
  above?: boolean;
  integer?: boolean;
}
const INT_1: NumberRule = { min: 1, integer: true };
const INT_0: NumberRule = { min: 0, integer: true };
const NON_NEGATIVE: NumberRule = { min: 0 };
const POSITIVE: NumberRule = { min: 0, above: true };

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

  return {
    mode,
    seeds,
    name,
    readFrom: parseReadFrom(o.readFrom ?? 'replicaPreferred', 'readFrom'),
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
    commandTimeoutMs: optionalNumber(o.commandTimeoutMs, 'commandTimeoutMs', NON_NEGATIVE) ?? 10_000,
    maxQueuedCommands: optionalNumber(o.maxQueuedCommands, 'maxQueuedCommands', INT_0) ?? 10_000,
    refreshIntervalMs: optionalNumber(o.refreshIntervalMs, 'refreshIntervalMs', POSITIVE) ?? 2000,
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

/**
 * Parses `'host:port'` (IPv6 in brackets: `'[::1]:6379'`) or `{ host, port }`.
 * @param defaultPort used when a string has no `:port`; without it the port is required
 */
export function parseAddress(value: unknown, option: string, defaultPort?: number): HostPort {
  const bad = (why: string): never => fail(option, `${describe(value)} is not a valid address: ${why}`);
  if (isPlainObject(value)) {
    const { host, port } = value;
    if (typeof host !== 'string' || host.trim() === '') return bad('host must be a non-empty string');
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      return bad('port must be an integer from 1 to 65535');
    }
    return { host: unbracket(host.trim()), port };
  }
  if (typeof value !== 'string') return bad("expected 'host:port' or { host, port }");
  const text = value.trim();
  if (text.includes('://')) return bad('expected host:port, not a URL (pass a URL as the first argument instead)');
  let host: string;
  let port: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return bad('missing "]" after the IPv6 address');
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return bad('expected ":port" after "]"');
    port = rest === '' ? undefined : rest.slice(1);
  } else {
    const colons = text.split(':').length - 1;
    if (colons > 1) return bad('an IPv6 address goes in brackets, e.g. [::1]:6379');
    [host, port] = colons === 1 ? [text.slice(0, text.indexOf(':')), text.slice(text.indexOf(':') + 1)] : [text, undefined];
  }
  if (host === '') return bad('the host is empty');
  if (/[\s/@,[\]]/.test(host)) return bad('the host contains a character no host name has');
  if (port === undefined) {
    if (defaultPort === undefined) return bad("the port is missing (write 'host:port')");
    return { host, port: defaultPort };
  }
  const n = /^\d{1,5}$/.test(port) ? Number(port) : NaN;
  if (!(n >= 1 && n <= 65535)) return bad('the port must be a number from 1 to 65535');
  return { host, port: n };
}

const unbracket = (host: string): string => (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host);

// ---- URL form ----

const SCHEMES: Record<string, { tls: boolean; sentinel: boolean }> = {
  redis: { tls: false, sentinel: false },
  rediss: { tls: true, sentinel: false },
  'redis+sentinel': { tls: false, sentinel: true },
  'rediss+sentinel': { tls: true, sentinel: true },
};
const SCHEME_LIST = 'redis://, rediss://, redis+sentinel:// or rediss+sentinel://';

interface UrlState {
  options: Omit<FailoverRedisOptions, 'durability'> & {
    maxReplicaLag: MaxReplicaLag;
    failover: FailoverSettings;
    durability: Partial<DurabilitySettings>;
    redisOptions: RedisOptions;
    sentinelOptions: RedisOptions;
  };
  sentinel: boolean;
  tls: boolean;
}

type QueryHandler = (value: string, key: string, state: UrlState) => void;

const numberParam =
  (rule: NumberRule, set: (n: number, s: UrlState) => void): QueryHandler =>
  (value, key, state) =>
    set(checkNumber(parseDecimal(value, key), key, rule), state);

const QUERY: Record<string, QueryHandler> = {
  readFrom: (value, key, s) => {
    const policy = parseReadFrom(value, key);
    if (policy.name !== 'custom') s.options.readFrom = policy.name;
  },
  maxReplicaLagBytes: numberParam(INT_0, (n, s) => (s.options.maxReplicaLag.bytes = n)),
  maxReplicaLagMs: numberParam(NON_NEGATIVE, (n, s) => (s.options.maxReplicaLag.ms = n)),
  consistency: (value, key, s) => (s.options.consistency = oneOf(value, key, CONSISTENCY)),
  durabilityReplicas: numberParam(INT_1, (n, s) => (s.options.durability.replicas = n)),
  durabilityTimeoutMs: numberParam(INT_0, (n, s) => (s.options.durability.timeoutMs = n)),
  promote: (value, key, s) => {
    if (s.sentinel) fail(key, 'does not apply to redis+sentinel:// URLs: the Sentinels promote; leave it out');
    s.options.failover.promote = oneOf(value, key, ['auto', 'manual'] as const);
  },
  downAfterMs: numberParam(POSITIVE, (n, s) => (s.options.failover.downAfterMs = n)),
  quorum: numberParam(INT_1, (n, s) => (s.options.failover.quorum = n)),
  poolSize: numberParam(INT_1, (n, s) => (s.options.poolSize = n)),
  commandTimeoutMs: numberParam(NON_NEGATIVE, (n, s) => (s.options.commandTimeoutMs = n)),
  maxQueuedCommands: numberParam(INT_0, (n, s) => (s.options.maxQueuedCommands = n)),
  refreshIntervalMs: numberParam(POSITIVE, (n, s) => (s.options.refreshIntervalMs = n)),
  connectTimeout: numberParam(NON_NEGATIVE, (n, s) => {
    s.options.redisOptions.connectTimeout = n;
    if (s.sentinel) s.options.sentinelOptions.connectTimeout = n;
  }),
  keyPrefix: (value, _key, s) => (s.options.redisOptions.keyPrefix = value),
  name: (value, key, s) => {
    if (!s.sentinel) fail(key, 'the Sentinel master name only applies to redis+sentinel:// URLs');
    if (value === '') fail(key, 'is empty');
    if (s.options.name !== undefined && s.options.name !== value) {
      fail(key, 'the URL names the master twice, differently (in its path and in ?name=)');
    }
    s.options.name = value;
  },
  sentinelUsername: (value, key, s) => {
    if (!s.sentinel) fail(key, 'only applies to redis+sentinel:// URLs');
    s.options.sentinelOptions.username = value;
  },
  sentinelPassword: (value, key, s) => {
    if (!s.sentinel) fail(key, 'only applies to redis+sentinel:// URLs');
    s.options.sentinelOptions.password = value;
  },
  tls: (value, key, s) => {
    // Only `true`: a rediss:// URL must never be talked back into plain TCP.
    if (value !== 'true') fail(key, `the only value is "true" (use rediss:// for TLS), got ${JSON.stringify(value)}`);
    s.tls = true;
  },
};

/**
 * Reads a `redis://`, `rediss://`, `redis+sentinel://` or `rediss+sentinel://` URL into options
 * (not yet defaulted or cross-checked: `resolveOptions` does that).
 */
export function parseRedisUrl(url: string): FailoverRedisOptions {
  try {
    return readUrl(url);
  } catch (error) {
    // `redis://user:pa?ss@host`: with "?" unencoded in a password, the "@" lands in the query and the
    // password's pieces in the host list or a parameter name; any detail could echo them.
    const parts = splitUrl(url);
    if (error instanceof InvalidOptionError && parts?.userinfo === null && parts.query?.includes('@')) {
      fail('url', 'cannot read the URL safely: it has "@" after "?"; write "?" in a password as %3F, "@" in a query value as %40');
    }
    throw scrub(error, urlSecrets(url));
  }
}

function readUrl(url: string): FailoverRedisOptions {
  const parts = splitUrl(url);
  const scheme = parts && Object.hasOwn(SCHEMES, parts.scheme) ? SCHEMES[parts.scheme] : undefined;
  if (!parts || !scheme) {
    let hint = '';
    if (parts) hint = `, not ${parts.scheme}://`;
    else if (url.trim() === '') hint = '; the URL is empty';
    else if (/^[^\s:/@]+:\d+$|^\[[^\]]*\]:\d+$/.test(url.trim())) hint = '; for host:port write redis://host:port';
    // Never echo the string: a password passed where the URL belongs would land in the logs.
    return fail('url', `expected a URL starting with ${SCHEME_LIST}${hint}`);
  }
  const state: UrlState = {
    options: { maxReplicaLag: {}, failover: {}, durability: {}, redisOptions: {}, sentinelOptions: {} },
    sentinel: scheme.sentinel,
    tls: scheme.tls,
  };
  const o = state.options;

  if (parts.userinfo !== null) {
    const colon = parts.userinfo.indexOf(':');
    const user = colon < 0 ? parts.userinfo : parts.userinfo.slice(0, colon);
    const password = colon < 0 ? '' : parts.userinfo.slice(colon + 1);
    if (user !== '') o.redisOptions.username = decode(user, 'the user name');
    if (password !== '') o.redisOptions.password = decode(password, 'the password');
  }

  const slash = parts.hostAndPath.indexOf('/');
  const hostList = slash < 0 ? parts.hostAndPath : parts.hostAndPath.slice(0, slash);
  if (hostList.trim() === '') fail('url', 'the URL names no host');
  const defaultPort = scheme.sentinel ? 26379 : 6379;
  const seen = new Map<string, HostPort>();
  for (const entry of hostList.split(',')) {
    if (entry.trim() === '') fail('url', 'the host list has an empty entry');
    const address = parseAddress(entry, 'url', defaultPort);
    seen.set(formatAddress(address.host, address.port), address);
  }
  const seeds = [...seen.values()];
  if (scheme.sentinel) o.sentinels = seeds;
  else o.nodes = seeds;

  const path = slash < 0 ? [] : parts.hostAndPath.slice(slash + 1).split('/');
  if (path.at(-1) === '') path.pop();
  if (path.length > (scheme.sentinel ? 2 : 1)) {
    fail('url', scheme.sentinel ? 'the path is /masterName[/db]' : 'the path is /db (a redis:// URL has no master name)');
  }
  if (scheme.sentinel && path.length > 0) {
    const name = decode(path.shift()!, 'the master name');
    if (name === '') fail('name', 'the master name in the URL path is empty');
    o.name = name;
  }
  if (path.length > 0) {
    const db = path[0]!;
    if (!/^\d+$/.test(db)) fail('db', `the database in the URL path must be a non-negative integer, got ${JSON.stringify(db)}`);
    o.redisOptions.db = Number(db);
  }

  const given = new Set<string>();
  for (const param of parts.query?.split('&') ?? []) {
    if (param === '') continue;
    const eq = param.indexOf('=');
    const key = decode(eq < 0 ? param : param.slice(0, eq), 'a query parameter name');
    const value = eq < 0 ? '' : decode(param.slice(eq + 1), `the value of ${key}`);
    const handler = Object.hasOwn(QUERY, key) ? QUERY[key] : undefined;
    if (!handler) {
      const near = suggest(key, Object.keys(QUERY));
      fail(key, `unknown URL query parameter${near ? `; did you mean "${near}"?` : `; known: ${Object.keys(QUERY).join(', ')}`}`);
    }
    if (given.has(key)) fail(key, 'given twice in the URL');
    given.add(key);
    handler(value, key, state);
  }

  if (state.tls) {
    o.redisOptions.tls = {};
    if (scheme.sentinel) o.sentinelOptions.tls = {};
  }
  const { maxReplicaLag, failover, durability, sentinelOptions, ...rest } = o;
  const out: FailoverRedisOptions = rest;
  if (Object.keys(maxReplicaLag).length > 0) out.maxReplicaLag = maxReplicaLag;
  if (Object.keys(failover).length > 0) out.failover = failover;
  if (Object.keys(durability).length > 0) out.durability = durability as DurabilitySettings;
  if (scheme.sentinel) out.sentinelOptions = sentinelOptions;
  return out;
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return fail('url', `${what} is not valid percent-encoding (write "%" as %25)`);
  }
}

function parseDecimal(text: string, option: string): number {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) fail(option, `${JSON.stringify(text)} is not a number`);
  return Number(text);
}

// ---- secrets in error messages ----

/** The password (and Sentinel password) a URL carries, raw and decoded, to keep out of errors. */
function urlSecrets(url: string): string[] {
  const parts = splitUrl(url);
  const raw: string[] = [];
  const colon = parts?.userinfo?.indexOf(':') ?? -1;
  if (parts?.userinfo && colon >= 0) raw.push(parts.userinfo.slice(colon + 1));
  for (const param of parts?.query?.split('&') ?? []) {
    if (param.startsWith('sentinelPassword=')) raw.push(param.slice('sentinelPassword='.length));
  }
  const all = raw.flatMap((s) => {
    try {
      return [s, decodeURIComponent(s)];
    } catch {
      return [s];
    }
  });
  return [...new Set(all.filter((s) => s !== ''))].sort((a, b) => b.length - a.length);
}

function scrubText(text: string, secrets: readonly string[]): string {
  return secrets.reduce((out, secret) => out.split(secret).join('***'), text);
}

function scrub(error: unknown, secrets: readonly string[]): unknown {
  if (!(error instanceof InvalidOptionError) || !secrets.some((s) => error.message.includes(s))) return error;
  const prefix = `Invalid option "${error.option}": `;
  const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  return new InvalidOptionError(scrubText(error.option, secrets), scrubText(message, secrets));
}

// ---- helpers ----

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
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

function checkNumber(value: unknown, option: string, rule: NumberRule): number {
  if (typeof value === 'number' && Number.isFinite(value) && (rule.above ? value > rule.min : value >= rule.min)) {
    if (!rule.integer || Number.isInteger(value)) return value;
  }
  const what = rule.integer ? 'an integer' : 'a finite number';
  return fail(option, `must be ${what} ${rule.above ? '>' : '≥'} ${rule.min}, got ${describe(value)}`);
}

function optionalNumber(value: unknown, option: string, rule: NumberRule): number | null {
  return value === undefined || value === null ? null : checkNumber(value, option, rule);
}

function oneOf<T extends string>(value: unknown, option: string, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  return fail(option, `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${describe(value)}`);
}

/** The closest known name (case-insensitive, at most two edits away), for typos. */
function suggest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.min(2, Math.floor(key.length / 3));
  for (const name of known) {
    const d = name.toLowerCase() === key.toLowerCase() ? 0 : distance(key.toLowerCase(), name.toLowerCase());
    if (d <= bestDistance) [best, bestDistance] = [name, d - 1];
  }
  return best;
}

function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next.push(Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    row = next;
  }
  return row[b.length]!;
}

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  return value === undefined || value === null ? String(value) : describeType(value);
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return isPlainObject(value) ? 'an object' : `a ${value.constructor?.name ?? 'object'}`;
  return `a ${typeof value}`;
}

