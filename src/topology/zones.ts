// Where a node's availability zone comes from. Valkey 8.1+ reports its own (`availability_zone` in
// INFO, from its `availability-zone` config); Redis has no such field, so there the `zones` option
// is the only source. The server's own word wins: it moves with the node, an option may go stale.
import type { NodeState } from './types.js';

/** The `zones` option, validated: the zone of a node by its address, or null (unknown). */
export type ZoneOf = (address: string) => string | null;

/** A `zones` record (keys already normalized to `host:port`) as a lookup. */
export function zonesFromRecord(record: ReadonlyMap<string, string>): ZoneOf {
  return (address) => record.get(address) ?? null;
}

/** A user's `zones` function, made safe: anything but a non-empty string (or a throw) is unknown. */
export function zonesFromFunction(fn: (address: string) => unknown): ZoneOf {
  return (address) => {
    try {
      const zone = fn(address);
      return typeof zone === 'string' && zone !== '' ? zone : null;
    } catch {
      return null;
    }
  };
}

/**
 * `node` with its zone: the one it reported, else the option's, else null. Returns `node` itself
 * when nothing changes, so that a picture without zones is not copied on every refresh.
 */
export function withZone(node: NodeState, zoneOf: ZoneOf | null): NodeState {
  if (node.zone !== null || zoneOf === null) return node;
  const zone = zoneOf(node.address);
  return zone === null ? node : { ...node, zone };
}

/** The same picture with every node's zone filled in from the option where the server gave none. */
export function assignZones<T extends { master: NodeState | null; replicas: NodeState[] }>(topology: T, zoneOf: ZoneOf | null): T {
  if (zoneOf === null) return topology;
  return {
    ...topology,
    master: topology.master === null ? null : withZone(topology.master, zoneOf),
    replicas: topology.replicas.map((r) => withZone(r, zoneOf)),
  };
}
