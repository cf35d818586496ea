import { InvalidOptionError } from '../errors.js';
import type { ReadFromFunction, ReadFromName } from '../options-types.js';

const READ_FROM_NAMES: readonly ReadFromName[] = [
  'master',
  'masterPreferred',
  'replica',
  'replicaPreferred',
  'nearest',
  'any',
  'zoneAffinity',
  'zoneAffinityReplicasAndPrimary',
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
  // valkey-glide's spellings: Node's `AZAffinity`, Java's and Python's `AZ_AFFINITY`.
  ['azaffinity', 'zoneAffinity'],
  ['az_affinity', 'zoneAffinity'],
  ['zone_affinity', 'zoneAffinity'],
  ['azaffinityreplicasandprimary', 'zoneAffinityReplicasAndPrimary'],
  ['az_affinity_replicas_and_primary', 'zoneAffinityReplicasAndPrimary'],
  ['zone_affinity_replicas_and_primary', 'zoneAffinityReplicasAndPrimary'],
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

/** Does this policy read by zone (and so need the client's own `zone`)? */
export function isZonePolicy(policy: ReadPolicy): boolean {
  return policy.name === 'zoneAffinity' || policy.name === 'zoneAffinityReplicasAndPrimary';
}

/**
 * A zone policy needs the client's zone: without it every replica would be "another zone" and the
 * policy would quietly act as `replicaPreferred`, which is not what the caller asked for.
 * @param option the option that chose the policy, for the error message
 */
export function requireZone(policy: ReadPolicy, zone: string | null, option = 'readFrom'): ReadPolicy {
  if (zone === null && isZonePolicy(policy)) {
    throw new InvalidOptionError(
      'zone',
      `${option} "${policy.name}" reads from replicas in the client's availability zone, but no zone was given: set zone (e.g. zone: 'us-east-1a', or ?zone= in a URL)`,
    );
  }
  return policy;
}
