import { parseArgs } from 'node:util';
import { InvalidOptionError } from '../errors.js';
import { parseAddress, resolveOptions, type ResolvedOptions } from '../options.js';
import type { FailoverRedisOptions } from '../options-types.js';
import { redactUrl, splitUrl } from '../redact.js';
import { formatAddress } from '../topology/address.js';
import type { Address } from '../topology/types.js';

/** Bad arguments: exit code 2, the message and a pointer to `--help`. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type OptionSpec = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };
export type OptionSpecs = Record<string, OptionSpec>;
export type Values = Record<string, string | boolean | string[] | undefined>;

/** Every command. */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  'no-color': { type: 'boolean' },
} as const satisfies OptionSpecs;

/** Commands that connect to a replica set. */
export const CONNECTION_OPTIONS = {
  password: { type: 'string' },
  user: { type: 'string' },
  tls: { type: 'boolean' },
  sentinel: { type: 'boolean' },
  name: { type: 'string' },
  'sentinel-password': { type: 'string' },
  'connect-timeout': { type: 'string' },
} as const satisfies OptionSpecs;

export interface Parsed {
  values: Values;
  positionals: string[];
}

/** `node:util` parseArgs, strict, with its errors turned into usage errors. */
export function parse(argv: readonly string[], options: OptionSpecs): Parsed {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    return { values: values as Values, positionals };
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (!code.startsWith('ERR_PARSE_ARGS')) throw error;
    // Node's message goes on about '--' for values that start with '-': the first sentence says it.
    const message = (error as Error).message.split('. ')[0]!.replace(/\.$/, '');
    throw new UsageError(message);
  }
}

export function stringValue(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A whole number option (`--connect-timeout 3000`), at least `min`. */
export function intOption(values: Values, name: string, fallback: number, min = 0): number {
  const text = stringValue(values, name);
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text.trim()) || Number(text) < min) throw new UsageError(`--${name} must be a whole number ≥ ${min}, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** Repeated (`--nodes a --nodes b`) and comma-separated (`--nodes a,b`) lists alike. */
export function listOption(values: Values, name: string): string[] {
  const value = values[name];
  const items = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  return items.flatMap((item) => item.split(',')).map((s) => s.trim()).filter((s) => s !== '');
}

/** `--zones 10.0.0.1:6379=az1,10.0.0.2:6379=az2`: the library's `zones` option, or undefined. */
export function zonesOption(values: Values): Record<Address, string> | undefined {
  const items = listOption(values, 'zones');
  if (items.length === 0) return undefined;
  const zones: Record<Address, string> = {};
  for (const item of items) {
    const eq = item.lastIndexOf('=');
    if (eq < 0 || eq === item.length - 1) throw new UsageError(`--zones takes host:port=zone pairs, got ${JSON.stringify(item)}`);
    zones[address(item.slice(0, eq), '--zones')] = item.slice(eq + 1);
  }
  return zones;
}

/** `host:port` checked by the library's own parser; its message, without the option-name prefix. */
export function address(text: string, what = 'address'): Address {
  try {
    const { host, port } = parseAddress(text, what);
    return formatAddress(host, port);
  } catch (error) {
    if (error instanceof InvalidOptionError) throw new UsageError(withoutOptionPrefix(error));
    throw error;
  }
}

function withoutOptionPrefix(error: InvalidOptionError): string {
  const prefix = `Invalid option "${error.option}": `;
  return error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
}

/** Where to connect and how: what `new FailoverRedis(input, extra)` takes, validated. */
export interface Target {
  input: string | FailoverRedisOptions;
  extra: FailoverRedisOptions;
  mode: ResolvedOptions['mode'];
  /** The seeds as given (for messages); a URL with its password replaced by `***`. */
  label: string;
  /** Passwords given (flags, environment, URL): never to be printed. */
  secrets: string[];
  /** `--password`/`--sentinel-password` or a URL password: worth a warning on a terminal. */
  passwordOnCommandLine: boolean;
}

export interface TargetSettings {
  /** The seed addresses or URL (positionals, `--nodes`). */
  seeds: readonly string[];
  /** Client mode: `failover.promote` (the CLI's clients never promote on their own). */
  promote?: 'auto' | 'manual';
  /** Default connect timeout in ms. */
  connectTimeoutMs?: number;
  /** Told every password first, before anything can fail, so that no message can echo one. */
  onSecret?: (secret: string) => void;
}

/**
 * The client options for the connection flags: addresses (or one URL), `--sentinel --name`,
 * `--password` (or `REDIS_PASSWORD`), `--user`, `--tls`, `--sentinel-password` (or
 * `REDIS_SENTINEL_PASSWORD`), `--connect-timeout`. Validated by `resolveOptions`, as the client
 * would; every problem is a `UsageError`.
 */
export function connectionTarget(values: Values, env: NodeJS.ProcessEnv, settings: TargetSettings): Target {
  const password = stringValue(values, 'password') ?? nonEmpty(env['REDIS_PASSWORD']);
  const sentinelPassword = stringValue(values, 'sentinel-password') ?? nonEmpty(env['REDIS_SENTINEL_PASSWORD']);
  const username = stringValue(values, 'user');
  const tls = values['tls'] === true;
  const connectTimeout = intOption(values, 'connect-timeout', settings.connectTimeoutMs ?? 3000, 1);
  const sentinel = values['sentinel'] === true;
  const name = stringValue(values, 'name');
  const seeds = settings.seeds;
  const url = seeds.find((s) => splitUrl(s.trim()) !== null);
  const secrets = [password, sentinelPassword, ...(url !== undefined ? urlPasswords(url) : [])].filter((s): s is string => s !== undefined && s !== '');
  for (const secret of secrets) settings.onSecret?.(secret);
  const onCommandLine = stringValue(values, 'password') !== undefined || stringValue(values, 'sentinel-password') !== undefined;

  if (seeds.length === 0) {
    throw new UsageError(sentinel ? 'give the address of at least one Sentinel (host:port)' : 'give the address of at least one member (host:port)');
  }
  const redisOptions: NonNullable<FailoverRedisOptions['redisOptions']> = { connectTimeout };
  if (password !== undefined) redisOptions.password = password;
  if (username !== undefined) redisOptions.username = username;
  if (tls) redisOptions.tls = {};

  if (url !== undefined) {
    if (seeds.length > 1) throw new UsageError('give either one URL or host:port addresses, not both');
    if (sentinel || name !== undefined) throw new UsageError('--sentinel and --name do not go with a URL: use redis+sentinel://host:port/name');
    const resolved = resolve(url, { redisOptions });
    const extra: FailoverRedisOptions = { redisOptions };
    if (resolved.mode === 'sentinel') extra.sentinelOptions = sentinelOptions(connectTimeout, tls, sentinelPassword);
    else if (settings.promote) extra.failover = { promote: settings.promote };
    resolve(url, extra);
    const inUrl = urlPasswords(url).length > 0;
    return { input: url, extra, mode: resolved.mode, label: redactUrl(url), secrets, passwordOnCommandLine: onCommandLine || inUrl };
  }

  if (name !== undefined && !sentinel) throw new UsageError('--name is the master name the Sentinels monitor: it needs --sentinel');
  if (sentinel && name === undefined) throw new UsageError('--sentinel needs --name <master name>, the name the Sentinels monitor (e.g. mymaster)');
  const addresses = [...new Set(seeds.map((s) => address(s, sentinel ? 'Sentinel address' : 'address')))];
  const input: FailoverRedisOptions = sentinel
    ? { sentinels: addresses, name, sentinelOptions: sentinelOptions(connectTimeout, tls, sentinelPassword) }
    : { nodes: addresses, ...(settings.promote ? { failover: { promote: settings.promote } } : {}) };
  const extra: FailoverRedisOptions = { redisOptions };
  resolve(input, extra);
  const label = sentinel ? `Sentinel ${addresses.join(', ')} (master name "${name}")` : addresses.join(', ');
  return { input, extra, mode: sentinel ? 'sentinel' : 'nodes', label, secrets, passwordOnCommandLine: onCommandLine };
}

function sentinelOptions(connectTimeout: number, tls: boolean, password: string | undefined): NonNullable<FailoverRedisOptions['sentinelOptions']> {
  return { connectTimeout, ...(tls ? { tls: {} } : {}), ...(password !== undefined ? { password } : {}) };
}

function resolve(input: string | FailoverRedisOptions, extra: FailoverRedisOptions): ResolvedOptions {
  try {
    return resolveOptions(input, extra);
  } catch (error) {
    if (error instanceof InvalidOptionError) {
      throw new UsageError(error.option === 'url' || error.option === 'nodes' || error.option === 'sentinels' ? withoutOptionPrefix(error) : error.message);
    }
    throw error;
  }
}

/** The URL's passwords (userinfo, `…Password=` parameters), raw and decoded, so that no output can echo them. */
function urlPasswords(url: string): string[] {
  const parts = splitUrl(url);
  const raw: string[] = [];
  const colon = parts?.userinfo?.indexOf(':') ?? -1;
  if (parts?.userinfo && colon >= 0) raw.push(parts.userinfo.slice(colon + 1));
  for (const param of parts?.query?.split('&') ?? []) {
    const eq = param.indexOf('=');
    if (eq > 0 && /pass/i.test(param.slice(0, eq))) raw.push(param.slice(eq + 1));
  }
  const all = raw.flatMap((s) => {
    try {
      return [s, decodeURIComponent(s)];
    } catch {
      return [s];
    }
  });
  return [...new Set(all)].filter((s) => s !== '');
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
