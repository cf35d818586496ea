import { assessHealth } from '../topology/health.js';
import { clusterStatus, isClusterTarget } from './cluster-status.js';
import { COMMON_OPTIONS, CONNECTION_OPTIONS, parse, zonesOption } from './args.js';
import { healthLimits, openClient, readTopology, targetFor, UnreachableError, type CommandContext } from './context.js';
import { HELP } from './help.js';
import { healthJson, healthSummary, healthTable } from './render.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...CONNECTION_OPTIONS,
  json: { type: 'boolean' },
  'max-lag-bytes': { type: 'string' },
  'max-lag-seconds': { type: 'string' },
  zones: { type: 'string', multiple: true },
} as const;

/** `status`: one reading of every node, as a table (or JSON), and what is wrong. 0 healthy, 1 degraded, 2 unreachable. */
export async function status(argv: readonly string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS);
  const { out } = ctx;
  if (values['help']) {
    out.out(HELP['status']);
    return 0;
  }
  const json = values['json'] === true;
  const target = targetFor(values, ctx, { seeds: positionals, promote: 'manual' });
  const limits = healthLimits(values);
  const zones = zonesOption(values);
  if (await isClusterTarget(target)) return clusterStatus(target, ctx, json, limits.lagBytes ?? 1_048_576, zones);
  const client = openClient(target, ctx, { zones });
  try {
    let topology;
    try {
      topology = await readTopology(client, target);
    } catch (error) {
      if (json && error instanceof UnreachableError) {
        out.out(JSON.stringify({ status: 'unreachable', error: error.message }, null, 2));
        return 2;
      }
      throw error;
    }
    const health = assessHealth(topology, limits);
    if (json) {
      out.out(JSON.stringify(healthJson(topology, health), null, 2));
    } else {
      const { style } = out;
      const how = topology.source === 'sentinel' ? 'from the Sentinels, INFO replication of every member' : 'INFO replication of every member';
      out.out(style.dim(`${target.label} · ${how}`));
      for (const line of healthTable(health, style)) out.out(line);
      out.out();
      for (const line of healthSummary(health, style)) out.out(line);
    }
    return health.status === 'healthy' ? 0 : 1;
  } finally {
    await client.quit().catch(() => undefined);
  }
}
