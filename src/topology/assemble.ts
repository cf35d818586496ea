import { formatAddress, splitAddress, type HostPort } from './address.js';
import type { ReplicationInfo } from './info-parser.js';
import { replicationToNodeState } from './info-parser.js';
import type { Address, NodeState, Topology, TopologySource } from './types.js';

/** One node's answer to a probe: its parsed `INFO`, or the error that stood for it. */
export interface Probe {
  node: HostPort;
  address: Address;
  info: ReplicationInfo | null;
  latencyMs: number | null;
  error: Error | null;
}

/**
 * Build the topology from a round of probes. Pure: the same probes give the same picture.
 *
 * The master is the node that says `role:master` and that the replicas follow. A second node
 * saying `role:master` (an old master that came back empty, or a half-done promotion) is not the
 * master: it is listed among the other members with its role, and gets no reads or writes.
 * With no master answering, the master is the address the replicas follow, marked down; with
 * every followed node answering as a replica (a replication cycle), there is none.
 */
export function assembleTopology(
  probes: readonly Probe[],
  previous: Topology | null,
  source: TopologySource,
  mapAddress: (announced: HostPort) => HostPort = (a) => a,
): Topology {
  const states = new Map<Address, NodeState>();
  for (const probe of probes) {
    if (probe.info === null) continue;
    const state = replicationToNodeState(probe.address, probe.node.host, probe.node.port, probe.info, probe.latencyMs);
    if (probe.info.masterHost !== null && probe.info.masterPort !== null) {
      const m = mapAddress({ host: probe.info.masterHost, port: probe.info.masterPort });
      state.masterAddress = formatAddress(m.host, m.port);
    }
    states.set(probe.address, state);
  }

  const followers = new Map<Address, number>();
  for (const s of states.values()) {
    if (s.role === 'replica' && s.masterAddress !== null) followers.set(s.masterAddress, (followers.get(s.masterAddress) ?? 0) + 1);
  }

  const masters = [...states.values()].filter((s) => s.role === 'master');
  let master: NodeState | null = null;
  if (masters.length > 0) {
    const prev = previous?.master?.address;
    master = masters.reduce((best, m) => (rankMaster(m, followers, prev, probes) > rankMaster(best, followers, prev, probes) ? m : best));
  } else {
    // No master answered: the one the replicas follow (the most followed), as known before —
    // among the nodes that did not answer. A followed node that answers says role:replica: it is
    // a link in a chain, not the master. When every followed node answers, the replicas follow
    // each other in a loop (replicationCycle) and there is no master at all: none is named, for
    // a node that denies being master must never be one here.
    let address: Address | null = null;
    let most = 0;
    for (const [addr, count] of followers) {
      if (states.has(addr)) continue;
      if (count > most || (count === most && address !== null && addr < address)) {
        address = addr;
        most = count;
      }
    }
    if (followers.size === 0) address ??= previous?.master?.address ?? null;
    if (address !== null) master = downState(address, previous, 'master');
  }

  // Everyone else: answering members, members the master lists, and members known before.
  const others = new Map<Address, NodeState>();
  for (const s of states.values()) if (s !== master) others.set(s.address, s);
  const masterProbe = master ? probes.find((p) => p.address === master!.address) : undefined;
  for (const entry of masterProbe?.info?.replicas ?? []) {
    const node = mapAddress({ host: entry.ip, port: entry.port });
    const address = formatAddress(node.host, node.port);
    const known = others.get(address);
    if (known) {
      known.lagSeconds = entry.lag;
    } else if (address !== master?.address) {
      const s = downState(address, previous, 'replica');
      s.lagSeconds = entry.lag;
      others.set(address, s);
    }
  }
  for (const p of probes) {
    if (p.info === null && p.address !== master?.address && !others.has(p.address)) {
      others.set(p.address, downState(p.address, previous, 'replica'));
    }
  }
  for (const r of previous?.replicas ?? []) {
    if (r.address !== master?.address && !others.has(r.address)) others.set(r.address, { ...r, up: false, latencyMs: null });
  }

  const reference = master?.up ? master.offset : Math.max(0, ...[...others.values()].map((s) => s.offset));
  const replicas = [...others.values()].sort((a, b) => (a.address < b.address ? -1 : 1));
  for (const r of replicas) r.lagBytes = r.role === 'replica' ? Math.max(0, reference - r.offset) : 0;
  return { master, replicas, source };
}

function rankMaster(m: NodeState, followers: Map<Address, number>, previous: Address | undefined, probes: readonly Probe[]): number {
  const info = probes.find((p) => p.address === m.address)?.info;
  const listed = info?.connectedReplicas ?? 0;
  // Followers first (who the replicas actually replicate from), then the previous master, then
  // the longer history: a master that restarted empty loses to the one that kept the data.
  return ((followers.get(m.address) ?? 0) + listed) * 4 + (m.address === previous ? 2 : 0) + (m.offset > 0 ? 1 : 0);
}

function downState(address: Address, previous: Topology | null, role: 'master' | 'replica'): NodeState {
  const before = previous?.master?.address === address ? previous.master : previous?.replicas.find((r) => r.address === address);
  if (before) return { ...before, up: false, latencyMs: null };
  return {
    address,
    ...splitAddress(address),
    role,
    up: false,
    offset: 0,
    lagBytes: 0,
    lagSeconds: null,
    linkStatus: null,
    lastIoSecondsAgo: null,
    priority: null,
    latencyMs: null,
    masterAddress: null,
    loading: false,
    syncing: false,
    replid: null,
    runId: null,
    zone: null,
  };
}
