import { formatAddress } from '../topology/address.js';
import type { Address } from '../topology/types.js';

/** `CLUSTER SHARDS`'s `health`: `fail` (7.0) and `failed` (the docs' word) are both `'failed'`. */
export type ClusterNodeHealth = 'online' | 'failed' | 'loading';

/** A node as `CLUSTER SHARDS` or `CLUSTER SLOTS` describes it. */
export interface ClusterNodeEntry {
  host: string;
  port: number;
  address: Address;
  /** The 40-character node id; `null` when the reply lacks it. */
  id: string | null;
  role: 'master' | 'replica';
  /** `null` from `CLUSTER SLOTS`, which does not say. */
  health: ClusterNodeHealth | null;
  /** `replication-offset`; `null` from `CLUSTER SLOTS`. */
  offset: number | null;
}

export interface ClusterShardEntry {
  /** Inclusive ranges, ascending; empty for a master that serves no slot. */
  slots: Array<[number, number]>;
  master: ClusterNodeEntry | null;
  /** Ascending by address. */
  replicas: ClusterNodeEntry[];
}

type Fields = Record<string, unknown>;

/**
 * `CLUSTER SHARDS` (Redis ≥ 7) as plain shards, in slot order (shards without slots last, by
 * master address). Takes the RESP2 reply and both of ioredis's RESP3 forms: the legacy mapping
 * (maps as flat `[key, value, …]` arrays, the same as RESP2) and `replyMapping: 'resp3'` (maps
 * as objects); strings may be Buffers. Never throws: unusable slot ranges and nodes are
 * dropped, entries left with neither are skipped, and anything but an array gives `[]`.
 *
 * `origin` is the host of the node that answered: a node that has met no other does not know
 * its own address and reports an empty `ip`; that entry gets `origin` (ioredis does the same).
 */
export function parseClusterShards(reply: unknown, origin?: string): ClusterShardEntry[] {
  if (!Array.isArray(reply)) return [];
  const shards: ClusterShardEntry[] = [];
  for (const raw of reply) {
    const fields = fieldsOf(raw);
    if (fields === null) continue;
    const nodes = (Array.isArray(fields['nodes']) ? fields['nodes'] : []).flatMap((entry: unknown) => {
      const node = shardNode(fieldsOf(entry), origin);
      return node ? [node] : [];
    });
    const slots = slotPairs(fields['slots']);
    if (nodes.length === 0 && slots.length === 0) continue;
    shards.push(shardOf(slots, nodes));
  }
  return sortShards(shards);
}

/**
 * `CLUSTER SLOTS` (the fallback before Redis 7) as the same shards: ranges that share a master
 * are merged into one shard. The reply says nothing of health or offsets (`null`), and Redis
 * leaves out replicas that are failing or (from 7.0) have not synced yet. Never throws.
 * `origin` as for `parseClusterShards`.
 */
export function parseClusterSlots(reply: unknown, origin?: string): ClusterShardEntry[] {
  if (!Array.isArray(reply)) return [];
  const byMaster = new Map<string, { slots: Array<[number, number]>; nodes: Map<Address, ClusterNodeEntry> }>();
  for (const raw of reply) {
    if (!Array.isArray(raw) || raw.length < 3) continue;
    const start = int(raw[0]);
    const end = int(raw[1]);
    if (start === null || end === null || !validRange(start, end)) continue;
    const nodes = raw.slice(2).flatMap((entry: unknown, i) => {
      const node = slotsNode(entry, i === 0 ? 'master' : 'replica', origin);
      return node ? [node] : [];
    });
    const master = nodes[0]?.role === 'master' ? nodes[0] : null;
    // Without a master, the range is its own shard: nothing ties it to another.
    const key = master ? (master.id ?? master.address) : `\0${start}`;
    let group = byMaster.get(key);
    if (!group) byMaster.set(key, (group = { slots: [], nodes: new Map() }));
    group.slots.push([start, end]);
    for (const node of nodes) if (!group.nodes.has(node.address)) group.nodes.set(node.address, node);
  }
  return sortShards([...byMaster.values()].map((group) => shardOf(group.slots, [...group.nodes.values()])));
}

function shardOf(slots: Array<[number, number]>, nodes: ClusterNodeEntry[]): ClusterShardEntry {
  // Redis puts one master in a shard. Should a reply hold two, the healthy one with the
  // furthest offset is taken; the other is left out rather than offered as a replica.
  const masters = nodes.filter((n) => n.role === 'master').sort(preferMaster);
  return {
    slots: [...slots].sort((a, b) => a[0] - b[0] || a[1] - b[1]),
    master: masters[0] ?? null,
    replicas: nodes.filter((n) => n.role === 'replica').sort(byAddress),
  };
}

function preferMaster(a: ClusterNodeEntry, b: ClusterNodeEntry): number {
  const failedA = a.health === 'failed' ? 1 : 0;
  const failedB = b.health === 'failed' ? 1 : 0;
  return failedA - failedB || (b.offset ?? -1) - (a.offset ?? -1) || byAddress(a, b);
}

function byAddress(a: ClusterNodeEntry, b: ClusterNodeEntry): number {
  return a.host < b.host ? -1 : a.host > b.host ? 1 : a.port - b.port;
}

function sortShards(shards: ClusterShardEntry[]): ClusterShardEntry[] {
  return shards.sort((a, b) => {
    const startA = a.slots[0]?.[0] ?? Infinity;
    const startB = b.slots[0]?.[0] ?? Infinity;
    if (startA !== startB) return startA - startB;
    if (a.master && b.master) return byAddress(a.master, b.master);
    return a.master ? -1 : b.master ? 1 : 0;
  });
}

/** One `nodes` entry of `CLUSTER SHARDS`. */
function shardNode(fields: Fields | null, origin: string | undefined): ClusterNodeEntry | null {
  if (fields === null) return null;
  const ip = text(fields['ip']);
  const endpoint = text(fields['endpoint']);
  // `ip` is always the address; `endpoint` may be a hostname, or `?` when unknown.
  const host = ip || (endpoint && endpoint !== '?' ? endpoint : origin);
  // A TLS-only node has `tls-port` and no `port`.
  const port = int(fields['port']) ?? int(fields['tls-port']);
  const role = text(fields['role']);
  if (!host || !validPort(port) || (role !== 'master' && role !== 'replica' && role !== 'slave')) return null;
  const health = text(fields['health']);
  return {
    host,
    port,
    address: formatAddress(host, port),
    id: text(fields['id']) || null,
    role: role === 'master' ? 'master' : 'replica',
    health: health === 'online' || health === 'loading' ? health : health === 'fail' || health === 'failed' ? 'failed' : null,
    offset: int(fields['replication-offset']),
  };
}

/** One `[ip, port, id, metadata]` node of a `CLUSTER SLOTS` range. */
function slotsNode(entry: unknown, role: 'master' | 'replica', origin: string | undefined): ClusterNodeEntry | null {
  if (!Array.isArray(entry)) return null;
  const port = int(entry[1]);
  // An empty host: the node does not know its own address; `?`: Redis does not know the endpoint.
  const host = text(entry[0]) || origin;
  if (!host || host === '?' || !validPort(port)) return null;
  return { host, port, address: formatAddress(host, port), id: text(entry[2]) || null, role, health: null, offset: null };
}

/** `[start, end, start, end, …]` into valid ranges. */
function slotPairs(value: unknown): Array<[number, number]> {
  if (!Array.isArray(value)) return [];
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i + 1 < value.length; i += 2) {
    const start = int(value[i]);
    const end = int(value[i + 1]);
    if (start !== null && end !== null && validRange(start, end)) pairs.push([start, end]);
  }
  return pairs;
}

/** A RESP map in any of its JavaScript forms, as a null-prototype record; `null` if it is none. */
function fieldsOf(value: unknown): Fields | null {
  const fields: Fields = Object.create(null) as Fields;
  if (Array.isArray(value)) {
    for (let i = 0; i + 1 < value.length; i += 2) {
      const key = text(value[i]);
      if (key) fields[key] = value[i + 1];
    }
  } else if (value instanceof Map) {
    for (const [key, v] of value) if (text(key)) fields[text(key)] = v;
  } else if (typeof value === 'object' && value !== null && !Buffer.isBuffer(value)) {
    for (const [key, v] of Object.entries(value)) fields[key] = v;
  } else {
    return null;
  }
  return fields;
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString();
  return '';
}

function int(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : null;
  const s = text(value);
  return /^-?\d+$/.test(s) && Number.isSafeInteger(Number(s)) ? Number(s) : null;
}

function validPort(port: number | null): port is number {
  return port !== null && port >= 1 && port <= 65535;
}

function validRange(start: number, end: number): boolean {
  return start >= 0 && start <= end && end <= 16383;
}
