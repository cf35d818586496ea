import { InvalidOptionError } from '../errors.js';
import type { ReadFromFunction, ReadFromName } from '../options-types.js';

const READ_FROM_NAMES: readonly ReadFromName[] = [
  'master',
  'masterPreferred',
  'replica',
  'replicaPreferred',
  'nearest',
  'any',
];

/**
 * A read policy as a value: its name (what URLs, CLI flags and logs show) and, for a custom
 * policy, the user's chooser. Parsed in one place, `parseReadFrom`, for every input form.
 */
export interface ReadPolicy {
  readonly name: ReadFromName | 'custom';
  readonly choose: ReadFromFunction | null;
}

const byName = new Map<string, ReadPolicy>(
  READ_FROM_NAMES.map((name) => [name.toLowerCase(), Object.freeze({ name, choose: null })]),
);
// Aliases in the spellings other clients use (Lettuce's UPPER_SNAKE, ioredis's role names).
for (const [alias, name] of [
  ['upstream', 'master'],
  ['primary', 'master'],
  ['slave', 'replica'],
  ['replica_preferred', 'replicaPreferred'],
  ['master_preferred', 'masterPreferred'],
  ['upstream_preferred', 'masterPreferred'],
  ['primary_preferred', 'masterPreferred'],
  ['lowest_latency', 'nearest'],
] as const) {
  byName.set(alias, byName.get(name.toLowerCase())!);
}

/**
 * Parse a `readFrom` value from options, a URL query or a CLI flag. Names are case-insensitive.
 * @param option the option's name, for the error message
 */
export function parseReadFrom(value: unknown, option = 'readFrom'): ReadPolicy {
  if (typeof value === 'function') {
    return Object.freeze({ name: 'custom', choose: value as ReadFromFunction });
  }
  if (typeof value === 'string') {
    const policy = byName.get(value.toLowerCase());
    if (policy) return policy;
  }
  throw new InvalidOptionError(
    option,
    `${JSON.stringify(value)} is not a read policy; use one of ${READ_FROM_NAMES.join(', ')} or a function`,
  );
}
