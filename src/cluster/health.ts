import type { ClusterTopology } from './topology.js';
import { slotTable, uncoveredRanges } from './topology.js';

export interface ClusterHealthLimits {
  lagBytes: number;
}

export interface ClusterHealth {
  status: 'healthy' | 'degraded';
  /** One line per problem, naming the shard (by its first slot range) and the node. */
  problems: string[];
}

const rangeText = ([a, b]: [number, number]): string => (a === b ? `${a}` : `${a}-${b}`);

/** What is wrong with a cluster, from its picture. Pure. */
export function assessClusterHealth(topology: ClusterTopology, limits: ClusterHealthLimits): ClusterHealth {
  const problems: string[] = [];
  const gaps = uncoveredRanges(slotTable(topology));
  if (gaps.length > 0) problems.push(`slots ${gaps.map(rangeText).join(', ')} are served by no master`);
  for (const shard of topology.shards) {
    const name = `shard ${shard.slots.map(rangeText).join(',') || '(no slots)'}`;
    const master = shard.master;
    if (master === null) continue;
    if (shard.slots.length === 0) {
      if (!master.up) problems.push(`${master.address} (a master without slots: a failed old master?) is down`);
      continue;
    }
    if (!master.up) problems.push(`${name}: master ${master.address} is down`);
    if (shard.replicas.length === 0) problems.push(`${name}: no replica (a master loss loses these slots)`);
    for (const r of shard.replicas) {
      if (!r.up) problems.push(`${name}: replica ${r.address} is down`);
      else if (r.linkStatus !== 'up') problems.push(`${name}: replica ${r.address} has its link to the master down`);
      else if (r.syncing) problems.push(`${name}: replica ${r.address} is syncing`);
      else if (r.lagBytes > limits.lagBytes) problems.push(`${name}: replica ${r.address} is ${r.lagBytes} bytes behind`);
    }
  }
  return { status: problems.length === 0 ? 'healthy' : 'degraded', problems };
}
