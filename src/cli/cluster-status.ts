import { Redis } from 'ioredis';
import { FailoverCluster } from '../cluster/client.js';
import { assessClusterHealth } from '../cluster/health.js';
import type { ClusterTopology } from '../cluster/topology.js';
import { resolveOptions } from '../options.js';
import type { Target } from './args.js';
import type { CommandContext } from './context.js';
import { table, type Style } from './output.js';

const NONE = '-';

/**
 * Whether the target's first seed that answers is a Redis Cluster member (`INFO cluster`:
 * `cluster_enabled:1`); false when it is not, or when none answers (the plain status then
 * reports it unreachable).
 */
export async function isClusterTarget(target: Target): Promise<boolean> {
  if (target.mode !== 'nodes') return false;
  const o = resolveOptions(target.input, target.extra);
  for (const seed of o.seeds) {
    const conn = new Redis({ ...o.redisOptions, host: seed.host, port: seed.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    conn.on('error', () => undefined);
    try {
      await conn.connect();
      return /^cluster_enabled:1\r?$/m.test(await conn.info('cluster'));
    } catch {
      // the next seed
    } finally {
      conn.disconnect();
    }
  }
  return false;
}

/** `status` of a cluster: one table per shard (slots, master, replicas, link, offset, lag) and what is wrong. */
export async function clusterStatus(target: Target, ctx: CommandContext, json: boolean, lagBytes: number): Promise<number> {
  const o = resolveOptions(target.input, target.extra);
  const { out } = ctx;
  const client = new FailoverCluster({
    nodes: o.seeds.map((s) => `${s.host}:${s.port}`),
    readFrom: 'master',
    consistency: 'eventual',
    redisOptions: { ...o.redisOptions, lazyConnect: true },
    commandTimeoutMs: 2000,
  });
  client.on('error', () => undefined);
  try {
    try {
      await client.connect();
    } catch (error) {
      const topology = client.topology();
      if (topology.shards.length === 0) {
        if (json) out.out(JSON.stringify({ status: 'unreachable', error: (error as Error).message }, null, 2));
        else out.err(`cannot read the cluster from ${target.label}: ${(error as Error).message}`);
        return 2;
      }
    }
    const topology = client.topology();
    const health = assessClusterHealth(topology, { lagBytes });
    if (json) {
      out.out(JSON.stringify({ status: health.status, problems: health.problems, topology }, null, 2));
    } else {
      const { style } = out;
      out.out(style.dim(`${target.label} · CLUSTER SHARDS, INFO replication of every node`));
      for (const line of shardTables(topology, style)) out.out(line);
      out.out();
      if (health.status === 'healthy') out.out(style.green(`healthy: ${topology.shards.length} shard(s), every slot served`));
      else for (const p of health.problems) out.out(style.yellow(`! ${p}`));
    }
    return health.status === 'healthy' ? 0 : 1;
  } finally {
    client.disconnect();
  }
}

export function shardTables(topology: ClusterTopology, style: Style): string[] {
  const lines: string[] = [];
  for (const shard of topology.shards) {
    lines.push('', style.bold(shard.slots.length > 0 ? `slots ${shard.slots.map(([a, b]) => `${a}-${b}`).join(',')}` : 'no slots'));
    const rows = [['ADDRESS', 'ROLE', 'STATE', 'LINK', 'OFFSET', 'LAG B'].map((h) => style.bold(h))];
    for (const n of [shard.master, ...shard.replicas]) {
      if (n === null) continue;
      const replica = n.role === 'replica';
      rows.push([
        n.address,
        n === shard.master ? style.bold(`${n.role}*`) : n.role,
        n.up ? style.green('up') : style.red('down'),
        replica && n.up ? (n.linkStatus === 'up' ? style.green('up') : style.red(n.linkStatus ?? NONE)) : NONE,
        n.up ? String(n.offset) : NONE,
        replica && n.up ? String(n.lagBytes) : NONE,
      ]);
    }
    lines.push(...table(rows));
  }
  return lines;
}
