import { PartitionGroupsError } from '../errors.js';

/** The calling process in `partition()` groups: it stays in the root namespace. */
export const CLIENT = 'client';

/** Everything a set creates is named with this prefix and the owning pid, so leftovers can be found. */
export const PREFIX = 'rfnet';

/** The nftables table each member namespace gets while it is cut from someone. */
export const TABLE = 'inet redis_failover';

/** Namespace of one member (or the set's `hub`): `rfnet-<pid>-<set>-<label>`. */
export function namespaceName(pid: number, set: number, label: string): string {
  return `${PREFIX}-${pid}-${set}-${label}`;
}

/** The root-namespace end of the set's link to its hub: `rfn<pid>s<set>`, within IFNAMSIZ (15). */
export function linkName(pid: number, set: number): string {
  const name = `rfn${pid}s${set}`;
  if (name.length > 15) throw new Error(`redis-failover/testing: interface name ${name} is too long`);
  return name;
}

/** The pid that owns a namespace, link or reservation made by `namespaceName`/`linkName`, else undefined. */
export function ownerOf(name: string): number | undefined {
  const match = /^rfnet-(\d+)-\d+-/.exec(name) ?? /^rfn(\d+)s\d+$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

export interface Cidr {
  /** The address as a 32-bit unsigned number. */
  address: number;
  prefix: number;
}

export function parseCidr(text: string, prefix = 32): Cidr | undefined {
  const [ip, len] = text.split('/');
  const parts = (ip ?? '').split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  const bits = len === undefined ? prefix : Number(len);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) return undefined;
  const address = parts.reduce((acc, p) => acc * 256 + p, 0);
  return { address, prefix: bits };
}

/** Two IPv4 networks share an address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  const bits = Math.min(a.prefix, b.prefix);
  if (bits === 0) return true;
  const shift = 32 - bits;
  return Math.floor(a.address / 2 ** shift) === Math.floor(b.address / 2 ** shift);
}

/** Candidate /24s for sets: 10.213.<n>.0/24. */
export const SUBNET_BASE = '10.213';

/**
 * The /24s to try, in order, skipping any that overlaps an address or route already on the
 * machine. The walk starts at an offset from the pid, so that processes starting together
 * rarely contend for the same one.
 */
export function candidateSubnets(taken: readonly Cidr[], pid: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 256; i++) {
    const n = (pid + i * 7) % 256;
    const subnet = parseCidr(`${SUBNET_BASE}.${n}.0/24`);
    if (subnet && !taken.some((t) => overlaps(t, subnet))) out.push(n);
  }
  return out;
}

/**
 * What each member may exchange packets with, per `partition(...groups)`: the hosts of its own
 * group (itself included; the client's host if `'client'` is in it). Members not named, and the
 * client if not named, are each alone. Throws `PartitionGroupsError` before anything is applied.
 *
 * `hosts` maps each member address, and `'client'`, to its IP.
 */
export function planPartition(
  groups: readonly (readonly string[])[],
  hosts: ReadonlyMap<string, string>,
): Map<string, string[]> {
  const groupOf = new Map<string, number>();
  groups.forEach((group, index) => {
    for (const entry of group) {
      if (!hosts.has(entry)) {
        const known = [...hosts.keys()].map((k) => (k === CLIENT ? `'${CLIENT}'` : k)).join(', ');
        throw new PartitionGroupsError(entry, `${entry} is not a member of this replica set (members: ${known})`);
      }
      const seen = groupOf.get(entry);
      if (seen !== undefined && seen !== index) {
        throw new PartitionGroupsError(entry, `${entry} is named in two groups (${seen + 1} and ${index + 1})`);
      }
      groupOf.set(entry, index);
    }
  });
  const allowed = new Map<string, string[]>();
  for (const [addr, host] of hosts) {
    if (addr === CLIENT) continue;
    const group = groupOf.get(addr);
    const mates = group === undefined ? [] : [...groupOf].filter(([, g]) => g === group).map(([entry]) => entry);
    const reachable = new Set([host, ...mates.map((entry) => hosts.get(entry) as string)]);
    allowed.set(addr, [...reachable]);
  }
  return allowed;
}

/**
 * An `nft -f` script for one member namespace: one transaction that replaces the table (the
 * "add, delete, add" idiom works whether it existed or not). `allowed` undefined, or everyone,
 * means no table at all. Drops, not rejects: the peer sees silence, as in a real partition.
 */
export function rulesScript(allowed: readonly string[] | undefined, everyone: readonly string[]): string {
  const lines = [`table ${TABLE} {}`, `delete table ${TABLE}`];
  if (allowed !== undefined && everyone.some((host) => !allowed.includes(host))) {
    const set = `{ ${allowed.join(', ')} }`;
    lines.push(
      `table ${TABLE} {`,
      '  chain input {',
      '    type filter hook input priority filter; policy accept;',
      '    iif "lo" accept',
      `    ip saddr != ${set} drop`,
      '  }',
      '  chain output {',
      '    type filter hook output priority filter; policy accept;',
      '    oif "lo" accept',
      `    ip daddr != ${set} drop`,
      '  }',
      '}',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** What keeps `network: 'namespaces'` from running here; empty when nothing does. */
export function missingPrerequisites(found: {
  platform: string;
  uid: number | undefined;
  ip: string | null;
  nft: string | null;
}): string[] {
  const missing: string[] = [];
  if (found.platform !== 'linux') missing.push(`Linux (this is ${found.platform})`);
  if (found.uid !== 0) missing.push(`root (running as uid ${found.uid ?? '?'})`);
  if (found.ip === null) missing.push('ip (iproute2: not on PATH, /usr/sbin or /sbin)');
  if (found.nft === null) missing.push('nft (nftables: not on PATH, /usr/sbin or /sbin)');
  return missing;
}
