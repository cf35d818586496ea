import { describeCycle, replicationCycle } from './cycle.js';
import { compareAddresses, diffTopology, type TopologyChange } from './diff.js';
import type { Address, LinkStatus, NodeState, Topology } from './types.js';

/** What can be wrong with a replica set, as read from its topology. */
export type HealthCode =
  /** No member says `role:master` and no replica names one. */
  | 'NO_MASTER'
  /** No member says `role:master`: the replicas follow each other in a loop (A → B → A). */
  | 'REPLICATION_CYCLE'
  /** The master (the node the replicas follow, or Sentinel names) does not answer. */
  | 'MASTER_DOWN'
  /** The node that should be the master reports `role:replica` (a failover half-way). */
  | 'MASTER_NOT_PROMOTED'
  /** Another member also says `role:master`: writes it takes are lost when it is demoted. */
  | 'TWO_MASTERS'
  /** A replica follows a node that is not the master (a repointing that did not happen). */
  | 'WRONG_MASTER'
  /** A member does not answer. */
  | 'NODE_DOWN'
  /** A replica's `master_link_status` is down. */
  | 'LINK_DOWN'
  /** A replica is in a full sync from its master. */
  | 'SYNCING'
  /** A member is loading its dataset. */
  | 'LOADING'
  /** A replica is further behind the master than the limits. */
  | 'LAGGING'
  /** The master has no connected replica in sync: its writes exist on it alone, and a failover would have nowhere to go. */
  | 'NO_HEALTHY_REPLICA'
  /** Every replica in sync has `replica-priority 0`: none may be promoted. */
  | 'NO_PROMOTABLE_REPLICA';

export interface HealthWarning {
  code: HealthCode;
  /** `critical`: writes fail or may be lost now; `warning`: less redundancy or stale reads. */
  severity: 'critical' | 'warning';
  /** The member concerned, or null for the set as a whole. */
  address: Address | null;
  message: string;
}

/** One member, with what its own report does not say directly. */
export interface NodeHealth {
  node: NodeState;
  /** This member is the replica set's master: the one the others should follow. */
  isMaster: boolean;
  /** Up members that follow this one with their link up; null when this member is down. */
  connectedReplicas: number | null;
  /** The codes of the warnings about this member. */
  codes: HealthCode[];
}

export interface Health {
  /** `healthy` exactly when there is no warning. */
  status: 'healthy' | 'degraded';
  master: Address | null;
  /** The master first, then the other members in address order. */
  nodes: NodeHealth[];
  warnings: HealthWarning[];
}

export interface HealthLimits {
  /**
   * A replica more bytes behind the master than this is lagging.
   * @default 1048576 (Redis's default `repl-backlog-size`: beyond it a reconnect needs a full sync)
   */
  lagBytes?: number;
  /**
   * A replica whose master last heard from it longer ago than this (`lag=`, in seconds) is lagging.
   * @default 10 (Redis's default `min-replicas-max-lag`)
   */
  lagSeconds?: number;
}

export const DEFAULT_HEALTH_LIMITS: Required<HealthLimits> = { lagBytes: 1_048_576, lagSeconds: 10 };

/**
 * What is wrong with the replica set, from one picture of it. Pure: the same topology gives the
 * same report. The runbook's reading of `INFO replication` on every node, done as a checklist:
 * one master that answers and says so, every other member a replica of it with its link up, not
 * syncing, not loading, not lagging past `limits`, and at least one of them fit to be promoted.
 */
export function assessHealth(topology: Topology, limits: HealthLimits = {}): Health {
  const { lagBytes, lagSeconds } = { ...DEFAULT_HEALTH_LIMITS, ...limits };
  const warnings: HealthWarning[] = [];
  const warn = (code: HealthCode, severity: HealthWarning['severity'], address: Address | null, message: string): void => {
    warnings.push({ code, severity, address, message });
  };
  const master = topology.master;
  const others = [...topology.replicas].filter((r) => r.address !== master?.address).sort((a, b) => compareAddresses(a.address, b.address));

  const cycle = master === null ? replicationCycle(topology) : null;
  if (cycle !== null) {
    warn('REPLICATION_CYCLE', 'critical', null, `no master: the replicas follow each other in a loop (${describeCycle(cycle)}); promote one of them`);
  } else if (master === null) {
    warn('NO_MASTER', 'critical', null, 'no master: no member says role:master and no replica names one');
  } else if (!master.up) {
    warn('MASTER_DOWN', 'critical', master.address, `master ${master.address} does not answer`);
  } else if (master.role !== 'master') {
    warn('MASTER_NOT_PROMOTED', 'critical', master.address, `${master.address} should be the master but reports role:${master.role} (a failover half-way?)`);
  }

  for (const node of others) {
    if (!node.up) {
      warn('NODE_DOWN', 'warning', node.address, `${node.address} does not answer`);
      continue;
    }
    if (node.role === 'master') {
      const followers = followersOf(topology, node.address).length;
      const who = followers > 0 ? `, with ${followers} replica(s) following it` : '';
      warn(
        'TWO_MASTERS',
        'critical',
        node.address,
        `${node.address} also says role:master${who}: writes it takes are lost when it is demoted` +
          (master ? ` (the master is ${master.address})` : ''),
      );
    }
    if (node.role !== 'replica') continue;
    const followsMaster = master !== null && node.masterAddress === master.address;
    if (master !== null && !followsMaster) {
      warn('WRONG_MASTER', 'warning', node.address, `${node.address} follows ${node.masterAddress ?? 'no node'}, which is not the master (${master.address})`);
    }
    if (node.syncing) {
      warn('SYNCING', 'warning', node.address, `${node.address} is in a full sync from ${node.masterAddress ?? 'its master'}`);
    } else if (node.linkStatus === 'down') {
      warn('LINK_DOWN', 'warning', node.address, `${node.address}: link to ${node.masterAddress ?? 'its master'} is down`);
    }
    if (followsMaster && master.up && node.linkStatus === 'up' && !node.syncing) {
      const bytes = node.lagBytes > lagBytes;
      const seconds = node.lagSeconds !== null && node.lagSeconds > lagSeconds;
      if (bytes || seconds) {
        const behind = [bytes ? `${node.lagBytes} bytes` : null, seconds ? `${node.lagSeconds} s` : null].filter(Boolean).join(' and ');
        warn('LAGGING', 'warning', node.address, `${node.address} is ${behind} behind the master (limits: ${lagBytes} bytes, ${lagSeconds} s)`);
      }
    }
  }
  for (const node of [...(master ? [master] : []), ...others]) {
    if (node.up && node.loading) warn('LOADING', 'warning', node.address, `${node.address} is loading its dataset`);
  }

  if (master !== null && master.up && master.role === 'master') {
    const inSync = followersOf(topology, master.address);
    if (inSync.length === 0) {
      // The partition case too: a master cut from its replicas keeps taking writes that exist on it
      // alone, and that a promotion on the other side throws away.
      warn(
        'NO_HEALTHY_REPLICA',
        'warning',
        master.address,
        `master ${master.address} has no connected replica (none follows it with its link up): every write it acknowledges exists on it alone, ` +
          'lost if it fails or a partition promotes another node; clients with fencing hold their writes to it, ' +
          'and with min-replicas-to-write ≥ 1 it refuses them (NOREPLICAS)',
      );
    } else if (inSync.every((r) => r.priority === 0)) {
      warn('NO_PROMOTABLE_REPLICA', 'warning', master.address, `every replica in sync with ${master.address} has replica-priority 0: none may be promoted`);
    }
  }

  const nodes: NodeHealth[] = [...(master ? [master] : []), ...others].map((node) => ({
    node,
    isMaster: node === master,
    connectedReplicas: node.up ? followersOf(topology, node.address).length : null,
    codes: warnings.filter((w) => w.address === node.address).map((w) => w.code),
  }));
  return { status: warnings.length === 0 ? 'healthy' : 'degraded', master: master?.address ?? null, nodes, warnings };
}

/** Up replicas following `address` with their link up and no sync running. */
function followersOf(topology: Topology, address: Address): NodeState[] {
  return [...(topology.master ? [topology.master] : []), ...topology.replicas].filter(
    (r) => r.up && r.role === 'replica' && r.masterAddress === address && r.linkStatus === 'up' && !r.syncing,
  );
}

/**
 * A change between two pictures: the structural ones of `diffTopology`, plus what an operator
 * watches during a failover — a replica repointed to another master, a replication link going
 * down or up.
 */
export type ReplicationChange =
  | TopologyChange
  | { type: 'repointed'; address: Address; from: Address | null; to: Address | null }
  | { type: 'link-change'; address: Address; from: LinkStatus; to: LinkStatus };

/**
 * What changed from `before` to `after`, in `diffTopology`'s order, each node's `repointed` and
 * `link-change` after its own structural changes. `repointed` is reported for a member that
 * answers and is a replica after (a demoted master counts, `from: null`); a promotion shows as its
 * `role-change` alone; a member that does not answer after has no `role-change` (its role is not
 * known). Offsets, lag and latency are not compared.
 */
export function replicationChanges(before: Topology | null, after: Topology): ReplicationChange[] {
  if (before === null) return diffTopology(before, after);
  const now = membersOf(after);
  // The role of a member that does not answer is only what was last known, or a guess.
  const structural = diffTopology(before, after).filter((c) => c.type !== 'role-change' || now.get(c.address)?.up === true);
  const old = membersOf(before);
  const extra = new Map<Address, ReplicationChange[]>();
  for (const node of now.values()) {
    const was = old.get(node.address);
    if (!was || !node.up || !was.up) continue;
    const list: ReplicationChange[] = [];
    if (node.role === 'replica' && node.masterAddress !== (was.role === 'replica' ? was.masterAddress : null)) {
      list.push({ type: 'repointed', address: node.address, from: was.role === 'replica' ? was.masterAddress : null, to: node.masterAddress });
    }
    if (node.role === 'replica' && was.role === 'replica' && node.linkStatus !== was.linkStatus && node.masterAddress === was.masterAddress) {
      list.push({ type: 'link-change', address: node.address, from: was.linkStatus, to: node.linkStatus });
    }
    if (list.length > 0) extra.set(node.address, list);
  }
  if (extra.size === 0) return structural;
  // diffTopology lists the master change, then each address in order: keep that, each
  // address's own extras after its structural changes.
  const head: ReplicationChange[] = [];
  const byAddress = new Map<Address, ReplicationChange[]>();
  for (const change of [...structural, ...[...extra.values()].flat()]) {
    if (!('address' in change)) head.push(change);
    else byAddress.set(change.address, [...(byAddress.get(change.address) ?? []), change]);
  }
  return [...head, ...[...byAddress.keys()].sort(compareAddresses).flatMap((a) => byAddress.get(a)!)];
}

/**
 * What still keeps the set from having `master` as its master with every reachable member
 * following it, link up and not syncing: an empty list means done. `only` limits the check of
 * the other members to those addresses (a member named there that does not answer is pending).
 * Members that do not answer are otherwise left out: they cannot be repointed until they return.
 */
export function pendingConvergence(topology: Topology, master: Address, only?: readonly Address[]): string[] {
  const pending: string[] = [];
  const current = topology.master;
  if (current?.address !== master) pending.push(`the master is ${current?.address ?? 'unknown'}, not ${master}`);
  const members = membersOf(topology);
  const target = members.get(master);
  if (!target?.up) pending.push(`${master} does not answer`);
  else if (target.role !== 'master') pending.push(`${master} still reports role:${target.role}`);
  for (const node of members.values()) {
    if (node.address === master) continue;
    if (only !== undefined && !only.includes(node.address)) continue;
    if (!node.up) {
      if (only !== undefined) pending.push(`${node.address} does not answer`);
      continue;
    }
    if (node.role !== 'replica') pending.push(`${node.address} still reports role:${node.role}`);
    else if (node.masterAddress !== master) pending.push(`${node.address} follows ${node.masterAddress ?? 'no node'}`);
    else if (node.syncing) pending.push(`${node.address} is still syncing`);
    else if (node.linkStatus !== 'up') pending.push(`${node.address}: link to ${master} is ${node.linkStatus ?? 'not reported'}`);
  }
  for (const address of only ?? []) if (!members.has(address)) pending.push(`${address} is not a known member`);
  return pending;
}

function membersOf(topology: Topology): Map<Address, NodeState> {
  const nodes = new Map<Address, NodeState>();
  for (const node of [...(topology.master ? [topology.master] : []), ...topology.replicas]) if (!nodes.has(node.address)) nodes.set(node.address, node);
  return nodes;
}
