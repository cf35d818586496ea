import { compareAddresses } from './diff.js';
import type { Address, NodeState, Topology } from './types.js';

/**
 * A loop of replicas that follow each other, with no master among them: A follows B and B
 * follows A. It is what a routine restart leaves when a node comes back with the `replicaof` of
 * its original command line after the roles changed (its old master now follows it). Every node
 * in the loop answers and says `role:replica`; writes can go nowhere until one is promoted.
 *
 * Returns the nodes of the first loop found, in follow order from its lowest address, or null.
 * Pure: only what the nodes report of themselves is used.
 */
export function replicationCycle(topology: Topology): Address[] | null {
  const answering = new Map<Address, NodeState>();
  for (const node of [...(topology.master ? [topology.master] : []), ...topology.replicas]) {
    if (node.up && node.role === 'replica' && node.masterAddress !== null) answering.set(node.address, node);
  }
  const done = new Set<Address>();
  for (const start of [...answering.keys()].sort(compareAddresses)) {
    const path: Address[] = [];
    const onPath = new Set<Address>();
    let at: Address | null = start;
    while (at !== null && !done.has(at)) {
      if (onPath.has(at)) return fromLowest(path.slice(path.indexOf(at)));
      onPath.add(at);
      path.push(at);
      at = answering.get(at)?.masterAddress ?? null;
      if (at !== null && !answering.has(at)) at = null;
    }
    for (const a of path) done.add(a);
  }
  return null;
}

function fromLowest(loop: Address[]): Address[] {
  let lowest = 0;
  for (let i = 1; i < loop.length; i++) if (compareAddresses(loop[i]!, loop[lowest]!) < 0) lowest = i;
  return [...loop.slice(lowest), ...loop.slice(0, lowest)];
}

/** `A → B → A`, for messages. */
export function describeCycle(cycle: readonly Address[]): string {
  return [...cycle, cycle[0]].join(' → ');
}
