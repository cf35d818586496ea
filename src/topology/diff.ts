import type { Address, NodeRole, NodeState, Topology } from './types.js';

/** One structural difference between two topology pictures. Plain data, discriminated on `type`. */
export type TopologyChange =
  | { type: 'master-change'; from: Address | null; to: Address | null }
  | { type: 'node-added'; address: Address }
  | { type: 'node-removed'; address: Address }
  | { type: 'node-up'; address: Address }
  | { type: 'node-down'; address: Address }
  | { type: 'role-change'; address: Address; from: NodeRole; to: NodeRole };

/**
 * Orders `host:port` addresses by host, then by port as a number (`:6379` before `:10000`).
 * The split is on the last colon, so an IPv6 host (`[::1]:6379`) keeps its own colons.
 */
export function compareAddresses(a: Address, b: Address): number {
  const ia = a.lastIndexOf(':');
  const ib = b.lastIndexOf(':');
  const ha = ia < 0 ? a : a.slice(0, ia);
  const hb = ib < 0 ? b : b.slice(0, ib);
  if (ha !== hb) return ha < hb ? -1 : 1;
  const pa = Number(a.slice(ia + 1));
  const pb = Number(b.slice(ib + 1));
  if (pa !== pb && !Number.isNaN(pa) && !Number.isNaN(pb)) return pa - pb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Every node by address; the master wins if it is also listed among the replicas. */
function nodesOf(topology: Topology | null): Map<Address, NodeState> {
  const nodes = new Map<Address, NodeState>();
  if (!topology) return nodes;
  for (const node of [...(topology.master ? [topology.master] : []), ...topology.replicas]) {
    if (!nodes.has(node.address)) nodes.set(node.address, node);
  }
  return nodes;
}

/**
 * What changed from `before` to `after`: `master-change` first, then each node in address order
 * (`node-added`/`node-removed` for membership; for a node in both, `node-up`/`node-down`, then
 * `role-change`). Roles are the nodes' own `role`, not their slot: an old master that comes back
 * sits among the replicas with `role: 'master'` until it is demoted. `before = null` is the first
 * picture: every node is added. Offsets, lag, latency and link details are not compared.
 */
export function diffTopology(before: Topology | null, after: Topology): TopologyChange[] {
  const changes: TopologyChange[] = [];
  const from = before?.master?.address ?? null;
  const to = after.master?.address ?? null;
  if (from !== to) changes.push({ type: 'master-change', from, to });
  const old = nodesOf(before);
  const now = nodesOf(after);
  const addresses = [...new Set([...old.keys(), ...now.keys()])].sort(compareAddresses);
  for (const address of addresses) {
    const a = old.get(address);
    const b = now.get(address);
    if (!a) changes.push({ type: 'node-added', address });
    else if (!b) changes.push({ type: 'node-removed', address });
    else {
      if (a.up !== b.up) changes.push({ type: b.up ? 'node-up' : 'node-down', address });
      if (a.role !== b.role) changes.push({ type: 'role-change', address, from: a.role, to: b.role });
    }
  }
  return changes;
}
