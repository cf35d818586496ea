import type { RedisOptions } from 'ioredis';
import type { DurabilitySettings, MaxReplicaLag, NodeAddressInput, ReadFrom, ZonesOption } from '../options-types.js';
import { parseRedisUrl, resolveOptions, type ResolvedOptions } from '../options.js';
import { scrub, urlSecrets } from '../options-url.js';
import { fail, isPlainObject, describeType, suggest } from '../options-validate.js';
import type { HostPort } from '../topology/address.js';

export interface ClusterFailoverSettings {
  /**
   * How long a shard master must be unreachable before it counts as down; writes to a silent
   * master wait from half of it.
   * @default 1000
   */
  downAfterMs?: number;
  /**
   * Ask the cluster to elect at once (`CLUSTER FAILOVER FORCE` on the shard's best replica) once
   * the master has been unreachable for `downAfterMs` and that replica reports its link down.
   * @default false
   */
  assist?: boolean;
}

export interface FailoverClusterOptions {
  /** Any one or more members of the cluster (`'host:port'` or `{ host, port }`). */
  nodes?: NodeAddressInput[];
  /**
   * Where read-only commands go, per shard. `'zoneAffinity'` and `'zoneAffinityReplicasAndPrimary'`
   * need `zone`.
   * @default 'replicaPreferred'
   */
  readFrom?: ReadFrom;
  /** The availability zone this client runs in: the zone policies read from each shard's nodes in it. @default undefined */
  zone?: string;
  /**
   * The nodes' zones where the servers cannot report them: `{ 'host:port': zone }` or a function
   * of the address. A zone a server reports wins. @default undefined
   */
  zones?: ZonesOption;
  /** Replicas further behind their shard master get no reads. @default {} (no bound) */
  maxReplicaLag?: MaxReplicaLag;
  /** Reads of keys this client just wrote go only to nodes that applied them. @default 'read-your-writes' */
  consistency?: 'read-your-writes' | 'eventual';
  /** Writes resolve once this many replicas of their shard acknowledged them (`WAIT`). */
  durability?: DurabilitySettings;
  /** Failover behaviour (the cluster elects; the client can ask it to hurry). */
  failover?: ClusterFailoverSettings;
  /** ioredis options for every node connection (password, username, tls, connectTimeout, …). */
  redisOptions?: RedisOptions;
  /** Announced address → reachable address. */
  natMap?: Record<string, NodeAddressInput>;
  /** How long a command may wait for its shard's node. @default 10000 */
  commandTimeoutMs?: number;
  /** How many commands may wait at once. @default 10000 */
  maxQueuedCommands?: number;
  /** How often `CLUSTER SHARDS` is read. @default 2000 */
  refreshIntervalMs?: number;
}

export interface ResolvedClusterOptions {
  seeds: HostPort[];
  /** The options shared with FailoverRedis, validated by the same code. */
  base: ResolvedOptions;
  assist: boolean;
}

const OPTION_KEYS: Record<keyof FailoverClusterOptions, true> = {
  nodes: true,
  readFrom: true,
  zone: true,
  zones: true,
  maxReplicaLag: true,
  consistency: true,
  durability: true,
  failover: true,
  redisOptions: true,
  natMap: true,
  commandTimeoutMs: true,
  maxQueuedCommands: true,
  refreshIntervalMs: true,
};
const FAILOVER_KEYS: Record<keyof ClusterFailoverSettings, true> = { downAfterMs: true, assist: true };

// FailoverRedis options that mean nothing in a cluster, with the reason the error gives.
const NOT_IN_CLUSTER: Record<string, string> = {
  sentinels: 'a cluster elects its own masters; Sentinel does not apply (use FailoverRedis for Sentinel)',
  name: 'a cluster has no Sentinel master name',
  sentinelOptions: 'a cluster has no Sentinels',
  poolSize: 'FailoverCluster keeps one connection per node (ioredis Cluster)',
};

const CLUSTER_SCHEMES = /^(rediss?)\+cluster:\/\//i;

/**
 * Validates FailoverCluster options (object or `redis+cluster://` / `rediss+cluster://` URL).
 * The options shared with FailoverRedis go through `resolveOptions`, so both validate alike and
 * errors name the option.
 */
export function resolveClusterOptions(input: string | FailoverClusterOptions | undefined, extra?: FailoverClusterOptions): ResolvedClusterOptions {
  if (typeof input === 'string') {
    const m = CLUSTER_SCHEMES.exec(input);
    if (!m) {
      const scheme = /^([a-z+]+):\/\//i.exec(input)?.[1];
      fail('url', `a FailoverCluster URL is redis+cluster://host:port[,host:port…] or rediss+cluster://…${scheme ? `, not ${scheme}://` : ''}`);
    }
    let parsed: Record<string, unknown>;
    let urlAssist: boolean | undefined;
    try {
      const { rest, assist } = takeAssist(input.slice(m[0].length));
      urlAssist = assist;
      parsed = parseRedisUrl(`${m[1]!.toLowerCase()}://${rest}`) as Record<string, unknown>;
    } catch (error) {
      throw scrub(error, urlSecrets(input));
    }
    // URL query parameters are parsed as FailoverRedis options; `failover.promote` cannot come from a cluster URL.
    try {
      return resolveObject(parsed, extra, true, urlAssist);
    } catch (error) {
      throw scrub(error, urlSecrets(input));
    }
  }
  return resolveObject(input, extra, false);
}

/**
 * `?assist=true|false`, the one query parameter only a cluster URL has (`failover.assist`), taken
 * out before the rest is read as a FailoverRedis URL. The query starts at the first "?" after the
 * credentials.
 */
function takeAssist(rest: string): { rest: string; assist: boolean | undefined } {
  const q = rest.indexOf('?', rest.lastIndexOf('@') + 1);
  if (q < 0) return { rest, assist: undefined };
  let assist: boolean | undefined;
  const kept = rest
    .slice(q + 1)
    .split('&')
    .filter((param) => {
      const eq = param.indexOf('=');
      if ((eq < 0 ? param : param.slice(0, eq)) !== 'assist') return true;
      const value = eq < 0 ? '' : decodeURIComponent(param.slice(eq + 1));
      if (value !== 'true' && value !== 'false') fail('assist', `must be true or false, got ${JSON.stringify(value)}`);
      assist = value === 'true';
      return false;
    });
  return { rest: kept.length > 0 ? `${rest.slice(0, q)}?${kept.join('&')}` : rest.slice(0, q), assist };
}

function resolveObject(input: unknown, extra: unknown, fromUrl: boolean, urlAssist?: boolean): ResolvedClusterOptions {
  if (input !== undefined && input !== null && !isPlainObject(input)) {
    fail('options', `expected a redis+cluster:// URL or an options object, got ${describeType(input)}`);
  }
  const parts = [input, extra].filter(isPlainObject);
  let assist: unknown = urlAssist;
  const cleaned = parts.map((o, i) => {
    checkKeys(o, OPTION_KEYS, '', fromUrl && i === 0);
    const copy: Record<string, unknown> = { ...o };
    if (copy['failover'] !== undefined) {
      if (!isPlainObject(copy['failover'])) fail('failover', `must be an object with downAfterMs, assist, got ${describeType(copy['failover'])}`);
      const f = { ...copy['failover'] };
      checkKeys(f, FAILOVER_KEYS, 'failover.', fromUrl && i === 0 && Object.keys(f).every((k) => k === 'promote' || k in FAILOVER_KEYS));
      if (f['assist'] !== undefined) assist = f['assist'];
      delete f['assist'];
      delete f['promote'];
      copy['failover'] = f;
    }
    return copy;
  });
  if (assist !== undefined && typeof assist !== 'boolean') fail('failover.assist', `must be true or false, got ${describeType(assist)}`);
  const base = resolveOptions(
    { ...(cleaned[0] ?? {}), failover: { ...((cleaned[0]?.['failover'] as object | undefined) ?? {}), promote: 'manual' } },
    cleaned[1] as never,
  );
  if (base.redisOptions.db !== undefined && base.redisOptions.db !== 0) fail('redisOptions.db', 'a cluster has only database 0');
  return { seeds: base.seeds, base, assist: assist === true };
}

function checkKeys(value: Record<string, unknown>, known: Record<string, true>, prefix: string, lenient: boolean): void {
  for (const key of Object.keys(value)) {
    if (Object.hasOwn(known, key)) continue;
    if (lenient) {
      // A URL's query was parsed by the FailoverRedis URL parser: report what does not apply.
      if (key === 'promote' && prefix === 'failover.') continue;
    }
    const option = `${prefix}${key}`;
    const reason = prefix === '' ? NOT_IN_CLUSTER[key] : undefined;
    if (reason) fail(option, `does not apply to FailoverCluster: ${reason}`);
    if (prefix === 'failover.' && (key === 'promote' || key === 'quorum')) {
      fail(option, 'does not apply to FailoverCluster: the cluster elects (failover.assist asks it to hurry)');
    }
    const near = suggest(key, Object.keys(known));
    if (near) fail(option, `unknown option; did you mean "${prefix}${near}"?`);
    fail(option, `unknown option; known: ${Object.keys(known).map((k) => prefix + k).join(', ')}`);
  }
}
