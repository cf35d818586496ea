// The checks both forms of the options use (the object in options.ts, the URL in options-url.ts).
// Each failure throws `InvalidOptionError` naming the option.
import { InvalidOptionError } from './errors.js';
import type { HostPort } from './topology/address.js';

export function fail(option: string, message: string): never {
  throw new InvalidOptionError(option, message);
}

export const CONSISTENCY = ['read-your-writes', 'eventual'] as const;

export interface NumberRule {
  min: number;
  /** `min` itself is not allowed. */
  above?: boolean;
  integer?: boolean;
}
export const INT_1: NumberRule = { min: 1, integer: true };
export const INT_0: NumberRule = { min: 0, integer: true };
export const NON_NEGATIVE: NumberRule = { min: 0 };
export const POSITIVE: NumberRule = { min: 0, above: true };

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

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function checkNumber(value: unknown, option: string, rule: NumberRule): number {
  if (typeof value === 'number' && Number.isFinite(value) && (rule.above ? value > rule.min : value >= rule.min)) {
    if (!rule.integer || Number.isInteger(value)) return value;
  }
  const what = rule.integer ? 'an integer' : 'a finite number';
  return fail(option, `must be ${what} ${rule.above ? '>' : '≥'} ${rule.min}, got ${describe(value)}`);
}

export function optionalNumber(value: unknown, option: string, rule: NumberRule): number | null {
  return value === undefined || value === null ? null : checkNumber(value, option, rule);
}

export function optionalBoolean(value: unknown, option: string): boolean | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value;
  return fail(option, `must be true or false, got ${describe(value)}`);
}

export function oneOf<T extends string>(value: unknown, option: string, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  return fail(option, `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${describe(value)}`);
}

/** The closest known name (case-insensitive, at most two edits away), for typos. */
export function suggest(key: string, known: readonly string[]): string | undefined {
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

export function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  return value === undefined || value === null ? String(value) : describeType(value);
}

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return isPlainObject(value) ? 'an object' : `a ${value.constructor?.name ?? 'object'}`;
  return `a ${typeof value}`;
}
