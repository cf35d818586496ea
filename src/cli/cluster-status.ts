import { Redis } from 'ioredis';
import { FailoverCluster } from '../cluster/client.js';
import { assessClusterHealth, type ClusterHealth } from '../cluster/health.js';
import type { FailoverClusterOptions } from '../cluster/options.js';
import type { ClusterShardState, ClusterTopology } from '../cluster/topology.js';
import { resolveOptions } from '../options.js';
import type { Target } from './args.js';
import { explainMistake, warnPasswordOnCommandLine, type CommandContext } from './context.js';
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

/**
 * A FailoverCluster for the target that only reads: every command to the masters, no
 * read-your-writes bookkeeping; the cluster elects, this client never asks it to. Errors surface
 * through the calls that fail.
 */
export function openCluster(target: Target, ctx: CommandContext, extra: FailoverClusterOptions = {}): FailoverCluster {
  for (const secret of target.secrets) ctx.out.addSecret(secret);
  const o = resolveOptions(target.input, target.extra);
  const client = new FailoverCluster({
    nodes: o.seeds.map((s) => `${s.host}:${s.port}`),
    readFrom: 'master',
    consistency: 'eventual',
    redisOptions: { ...o.redisOptions, lazyConnect: true },
    commandTimeoutMs: 2000,
    failover: { assist: false },
    ...extra,
  });
  client.on('error', () => undefined);
  return client;
}

/** `status` of a cluster: one table per shard (slots, master, replicas, link, offset, lag) and what is wrong. */
export async function clusterStatus(target: Target, ctx: CommandContext, json: boolean, lagBytes: number, zones?: Record<string, string>): Promise<number> {
  const { out } = ctx;
  warnPasswordOnCommandLine(target, ctx);
  const client = openCluster(target, ctx, { zones });
  try {
    try {
      await client.connect();
    } catch (error) {
      const topology = client.topology();
      if (topology.shards.length === 0) {
        const why = explainMistake(error) ?? (error as Error).message;
        if (json) out.out(JSON.stringify({ status: 'unreachable', error: why }, null, 2));
        else out.err(`cannot read the cluster from ${target.label}: ${why}`);
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
      for (const line of clusterSummary(topology, health, style)) out.out(line);
    }
    return health.status === 'healthy' ? 0 : 1;
  } finally {
    client.disconnect();
  }
}

/** `healthy: …`, or one `! problem` line each. */
export function clusterSummary(topology: ClusterTopology, health: ClusterHealth, style: Style): string[] {
  if (health.status === 'healthy') return [style.green(`healthy: ${topology.shards.length} shard(s), every slot served`)];
  return health.problems.map((p) => style.yellow(`! ${p}`));
}

/** `slots 0-5460,10923`, as the shard tables head each shard; `no slots` for a slotless one. */
export function slotsText(shard: ClusterShardState): string {
  return shard.slots.length > 0 ? `slots ${shard.slots.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',')}` : 'no slots';
}

export function shardTables(topology: ClusterTopology, style: Style): string[] {
  const lines: string[] = [];
  // The zone column only once some node's zone is known (most deployments have none to show).
  const zoned = topology.shards.some((s) => [s.master, ...s.replicas].some((n) => n?.zone != null));
  for (const shard of topology.shards) {
    lines.push('', style.bold(slotsText(shard)));
    const rows = [['ADDRESS', 'ROLE', 'STATE', 'LINK', 'OFFSET', 'LAG B', ...(zoned ? ['ZONE'] : [])].map((h) => style.bold(h))];
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
        ...(zoned ? [n.zone ?? NONE] : []),
      ]);
    }
    lines.push(...table(rows));
  }
  return lines;
}
