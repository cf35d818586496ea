import type { FailoverEvent, WarningEvent } from '../events.js';
import { assessHealth, replicationChanges, type ReplicationChange } from '../topology/health.js';
import type { Address, Topology } from '../topology/types.js';
import { COMMON_OPTIONS, CONNECTION_OPTIONS, intOption, parse } from './args.js';
import { clusterWatch } from './cluster-watch.js';
import { isClusterTarget } from './cluster-status.js';
import { clock, healthLimits, openClient, readTopology, targetFor, untilInterrupted, type CommandContext } from './context.js';
import { HELP } from './help.js';
import { describeChanges, duration, healthSummary, healthTable } from './render.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...CONNECTION_OPTIONS,
  interval: { type: 'string' },
  'max-lag-bytes': { type: 'string' },
  'max-lag-seconds': { type: 'string' },
} as const;

/** How many timeline entries the live screen keeps. */
const TIMELINE_LINES = 14;

/**
 * `watch`: the status table, live, and a timeline of events. Its client never promotes or
 * repoints (`promote: 'manual'`, or Sentinel mode): it only reads. Ends on Ctrl-C (exit 0).
 * A Redis Cluster node is watched per shard (`clusterWatch`).
 */
export async function watch(argv: readonly string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS);
  const { out } = ctx;
  if (values['help']) {
    out.out(HELP['watch']);
    return 0;
  }
  const target = targetFor(values, ctx, { seeds: positionals, promote: 'manual' });
  const intervalMs = intOption(values, 'interval', 1000, 100);
  const limits = healthLimits(values);
  if (await isClusterTarget(target)) return clusterWatch(target, ctx, { intervalMs, lagBytes: limits.lagBytes ?? 1_048_576 });
  const client = openClient(target, ctx, { refreshIntervalMs: intervalMs });
  const { style } = out;

  const timeline: string[] = [];
  const downSince = new Map<Address, number>();
  let masterLostAt: number | null = null;
  let last: Topology | null = null;
  let unreachable: string | null = null;

  const note = (text: string): void => {
    const line = `${style.dim(clock())}  ${text}`;
    timeline.push(line);
    if (timeline.length > 200) timeline.shift();
    if (!out.interactive) out.out(line);
  };

  const annotate = (change: ReplicationChange, now: number, previous: Topology): string | undefined => {
    if (change.type === 'node-down') {
      downSince.set(change.address, now);
      if (change.address === previous.master?.address) {
        masterLostAt ??= now;
        return '(the master)';
      }
    } else if (change.type === 'node-up') {
      const since = downSince.get(change.address);
      downSince.delete(change.address);
      if (since !== undefined) return `after ${duration(now - since)} down`;
    } else if (change.type === 'master-change' && masterLostAt !== null) {
      const text = `${duration(now - masterLostAt)} after the master was seen down`;
      masterLostAt = null;
      return text;
    }
    return undefined;
  };

  const draw = (): void => {
    if (!out.interactive) return;
    const lines = [
      `${style.bold('redis-failover watch')} ${style.dim(`· ${target.label} · every ${intervalMs} ms · ${clock()} · Ctrl-C to stop`)}`,
      '',
    ];
    if (unreachable !== null) lines.push(style.red(`unreachable: ${unreachable}`), '');
    if (last !== null) {
      const health = assessHealth(last, limits);
      lines.push(...healthTable(health, style), '', ...healthSummary(health, style));
    }
    lines.push('', style.bold('Timeline'), ...(timeline.length > 0 ? timeline.slice(-TIMELINE_LINES) : [style.dim('  (nothing yet)')]));
    // Home, clear, redraw: one write, so the screen does not flicker.
    out.raw(`\x1b[H\x1b[2J${lines.join('\n')}\n`);
  };

  const printTable = (topology: Topology): void => {
    if (out.interactive) return;
    const health = assessHealth(topology, limits);
    for (const line of [...healthTable(health, style), ...healthSummary(health, style)]) out.out(line);
  };

  const update = (topology: Topology): void => {
    if (unreachable !== null) {
      note(style.green(`the replica set answers again`));
      unreachable = null;
    }
    const previous = last;
    last = topology;
    if (previous !== null) {
      const now = performance.now();
      const changes = replicationChanges(previous, topology);
      const notes = new Map(changes.map((c) => [c, annotate(c, now, previous)]));
      describeChanges(changes, style, { master: topology.master?.up ? topology.master.address : null, annotate: (c) => notes.get(c) }).forEach(note);
      if (changes.some((c) => c.type === 'master-change')) printTable(topology);
    }
    draw();
  };

  client.on('topology', (topology) => update(topology));
  client.on('failover', (e: FailoverEvent) => {
    const to = e.to === null ? style.red('no new master') : style.bold(e.to);
    note(`${style.bold('failover')} ${e.from ?? 'none'} → ${to} in ${duration(e.durationMs)} (${e.reason})`);
    draw();
  });
  client.on('warning', (w: WarningEvent) => {
    // The library's wording speaks to the application ("promote: 'manual'…"); this client only watches.
    if (w.code === 'MASTER_DOWN') note(style.red(`master ${w.address} down, confirmed by its replicas: a failover can start`));
    else note(style.yellow(`${w.code}: ${w.message}`));
    draw();
  });

  const first = await readTopology(client, target);
  if (!out.interactive) {
    out.out(style.dim(`redis-failover watch · ${target.label} · every ${intervalMs} ms · Ctrl-C to stop`));
    printTable(first);
  }
  update(first);
  note(`watching ${first.master?.address ?? 'a set with no master'} and ${first.replicas.length} other member(s)`);
  draw();
  client.connect().catch(() => undefined);

  let polling = false;
  const timer = setInterval(() => {
    if (polling) return;
    polling = true;
    client
      .refreshTopology()
      .then(update, (error: Error) => {
        if (unreachable === null) note(style.red(`no member answers: ${error.message}`));
        unreachable = error.message;
        draw();
      })
      .finally(() => (polling = false));
  }, intervalMs);

  await untilInterrupted();
  clearInterval(timer);
  await client.quit().catch(() => undefined);
  if (out.interactive) out.raw('\n');
  out.out(style.dim('watch ended'));
  return 0;
}
