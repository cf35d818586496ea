// The URL form of the options: `redis://`, `rediss://`, `redis+sentinel://`, `rediss+sentinel://`.
// Read into plain options here; `resolveOptions` (options.ts) defaults and cross-checks them.
import type { RedisOptions } from 'ioredis';
import { InvalidOptionError } from './errors.js';
import type { DurabilitySettings, FailoverRedisOptions, FailoverSettings, MaxReplicaLag } from './options-types.js';
import {
  CONSISTENCY,
  checkNumber,
  fail,
  INT_0,
  INT_1,
  NON_NEGATIVE,
  type NumberRule,
  oneOf,
  parseAddress,
  POSITIVE,
  suggest,
} from './options-validate.js';
import { parseReadFrom } from './routing/read-policy.js';
import { formatAddress, type HostPort } from './topology/address.js';
import { splitUrl } from './redact.js';

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
  // The client's zone only: the nodes' zones (`zones`) are a map or a function, which a query
  // parameter cannot hold cleanly; give them as an option next to the URL.
  zone: (value, key, s) => {
    if (value === '') fail(key, 'is empty: give the availability zone, e.g. ?zone=us-east-1a');
    s.options.zone = value;
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
  fencing: (value, key, s) => (s.options.fencing = oneOf(value, key, ['true', 'false'] as const) === 'true'),
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
export function urlSecrets(url: string): string[] {
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

export function scrub(error: unknown, secrets: readonly string[]): unknown {
  if (!(error instanceof InvalidOptionError) || !secrets.some((s) => error.message.includes(s))) return error;
  const prefix = `Invalid option "${error.option}": `;
  const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  return new InvalidOptionError(scrubText(error.option, secrets), scrubText(message, secrets));
}
