import { setTimeout as sleep } from 'node:timers/promises';
import type { FailoverCluster } from '../cluster/client.js';
import { assessClusterHealth } from '../cluster/health.js';
import type { ClusterTopology } from '../cluster/topology.js';
import type { FailoverEvent, NodeEvent } from '../events.js';
import type { Address, NodeState } from '../topology/types.js';
import type { Target } from './args.js';
import { clusterSummary, openCluster, shardTables, slotsText } from './cluster-status.js';
import { clock, explainMistake, UnreachableError, untilInterrupted, warnPasswordOnCommandLine, type CommandContext } from './context.js';
import type { Style } from './output.js';
import { duration } from './render.js';

export interface ClusterWatchSettings {
  /** How often every node is read (`--interval`). */
  intervalMs: number;
  /** A replica further behind its shard master is a problem (`--max-lag-bytes`). */
  lagBytes: number;
}

/** How many timeline entries the live screen keeps. */
const TIMELINE_LINES = 14;

/** Where a node sits in the picture: `master of slots 0-5460`, `replica of 127.0.0.1:7000, slots 0-5460`. Pure. */
export function placeOf(topology: ClusterTopology, address: Address): string | null {
  for (const s of topology.shards) {
    if (s.master?.address === address) return s.slots.length > 0 ? `master of ${slotsText(s)}` : 'a master without slots';
    if (s.replicas.some((r) => r.address === address)) return `replica of ${s.master?.address ?? 'no master'}, ${slotsText(s)}`;
  }
  return null;
}

const members = (topology: ClusterTopology): NodeState[] => topology.shards.flatMap((s) => (s.master ? [s.master, ...s.replicas] : s.replicas));

/** The nodes a picture shows as masters: listed as a shard's master, or saying so themselves. Pure. */
export function masterAddresses(topology: ClusterTopology): Set<Address> {
  return new Set(topology.shards.flatMap((s) => [...(s.master ? [s.master.address] : []), ...s.replicas.filter((r) => r.role === 'master').map((r) => r.address)]));
}

/**
 * The former masters that `after` shows up and replicating (listed as a replica and saying so):
 * an old master back in the cluster as a replica of its shard's new master. Pure.
 */
export function rejoined(formerMasters: ReadonlySet<Address>, after: ClusterTopology): Array<{ address: Address; master: Address | null }> {
  return after.shards.flatMap((s) =>
    s.replicas.filter((r) => r.up && r.role === 'replica' && formerMasters.has(r.address)).map((r) => ({ address: r.address, master: s.master?.address ?? null })),
  );
}

/** The problems in `after` that `before` did not have, and those gone. Pure. */
export function problemChanges(before: readonly string[], after: readonly string[]): { appeared: string[]; cleared: string[] } {
  return { appeared: after.filter((p) => !before.includes(p)), cleared: before.filter((p) => !after.includes(p)) };
}

/** The timeline line of a shard failover, with the shard's slots when `topology` shows `to` heading one. Pure. */
export function failoverLine(e: FailoverEvent, topology: ClusterTopology, style: Style): string {
  const shard = topology.shards.find((s) => e.to !== null && s.master?.address === e.to);
  const to = e.to === null ? style.red('no new master') : style.bold(e.to);
  const took = e.durationMs > 0 ? ` in ${duration(e.durationMs)}` : '';
  return `${style.bold('failover')} ${e.from ?? 'none'} → ${to}${took} (${e.reason}${shard ? `, ${slotsText(shard)}` : ''})`;
}

/** `127.0.0.1:7000 down (master of slots 0-5460)`. Pure. */
export function nodeDownLine(address: Address, topology: ClusterTopology, style: Style): string {
  const where = placeOf(topology, address);
  return `${style.red(`${address} down`)}${where ? ` (${where})` : ''}`;
}

/** `127.0.0.1:7000 up again after 1.2 s down (…)`; `downMs` null when it was not seen going down. Pure. */
export function nodeUpLine(address: Address, downMs: number | null, topology: ClusterTopology, style: Style): string {
  const where = placeOf(topology, address);
  return `${style.green(`${address} up again`)}${downMs !== null ? ` after ${duration(downMs)} down` : ''}${where ? ` (${where})` : ''}`;
}

/** The timeline line of an old master back as a replica (`rejoined` gives them). Pure. */
export function rejoinLine(r: { address: Address; master: Address | null }, style: Style): string {
  return style.green(`${r.address} rejoined as a replica of ${r.master ?? 'no master'}`);
}

/** The timeline lines for the problems of `after` (`now`) against those before: new ones, cleared ones, and healthy again when the last one cleared. Pure. */
export function problemLines(before: readonly string[], now: readonly string[], after: ClusterTopology, style: Style): string[] {
  const { appeared, cleared } = problemChanges(before, now);
  const lines = [...appeared.map((p) => style.yellow(`! ${p}`)), ...cleared.map((p) => style.green(`cleared: ${p}`))];
  if (cleared.length > 0 && now.length === 0) lines.push(style.green(`healthy again: ${after.shards.length} shard(s), every slot served`));
  return lines;
}

/**
 * `watch` of a Redis Cluster: the shard tables, live, their problems, and a timeline of shard
 * failovers, nodes down and up, old masters rejoining and problems appearing and clearing. The
 * cluster elects; this client only reads (FailoverCluster never promotes, and `assist` is off).
 * Ends on Ctrl-C (exit 0); 2 when no node of the target answers at first.
 */
export async function clusterWatch(target: Target, ctx: CommandContext, settings: ClusterWatchSettings): Promise<number> {
  const { out } = ctx;
  const { style } = out;
  const { intervalMs, lagBytes } = settings;
  // Once, not per attempt: openCluster is called again each interval while the cluster is not ready.
  warnPasswordOnCommandLine(target, ctx);
  const timeline: string[] = [];
  const downSince = new Map<Address, number>();
  // Every node seen as a master since the start, until it is seen replicating.
  const formerMasters = new Set<Address>();
  let last: ClusterTopology | null = null;
  let problems: string[] = [];
  let unreachable: string | null = null;
  let tablesDue = false;
  let stopped = false;
  const interrupted = untilInterrupted().then(() => {
    stopped = true;
  });

  const note = (text: string): void => {
    const line = `${style.dim(clock())}  ${text}`;
    timeline.push(line);
    if (timeline.length > 200) timeline.shift();
    if (!out.interactive) out.out(line);
  };

  const summary = (topology: ClusterTopology): string[] => clusterSummary(topology, assessClusterHealth(topology, { lagBytes }), style);

  // While a shard has trouble the client reads the cluster every few ms: redraw at most every 100 ms.
  let drawnAt = 0;
  let drawTimer: NodeJS.Timeout | undefined;
  const draw = (): void => {
    if (!out.interactive || drawTimer !== undefined || stopped) return;
    const wait = drawnAt + 100 - performance.now();
    if (wait > 0) {
      drawTimer = setTimeout(() => {
        drawTimer = undefined;
        draw();
      }, wait);
      return;
    }
    drawnAt = performance.now();
    const lines = [`${style.bold('redis-failover watch')} ${style.dim(`· ${target.label} · Redis Cluster · every ${intervalMs} ms · ${clock()} · Ctrl-C to stop`)}`];
    if (unreachable !== null) lines.push('', style.red(`unreachable: ${unreachable}`));
    if (last !== null) lines.push(...shardTables(last, style), '', ...summary(last));
    lines.push('', style.bold('Timeline'), ...(timeline.length > 0 ? timeline.slice(-TIMELINE_LINES) : [style.dim('  (nothing yet)')]));
    // Home, clear, redraw: one write, so the screen does not flicker.
    out.raw(`\x1b[H\x1b[2J${lines.join('\n')}\n`);
  };

  const printTables = (topology: ClusterTopology): void => {
    if (out.interactive) return;
    for (const line of [...shardTables(topology, style), '', ...summary(topology)]) out.out(line);
  };

  const update = (topology: ClusterTopology): void => {
    if (unreachable !== null) {
      note(style.green('the cluster answers again'));
      unreachable = null;
    }
    const previous = last;
    const now = assessClusterHealth(topology, { lagBytes }).problems;
    last = topology;
    for (const r of rejoined(formerMasters, topology)) {
      formerMasters.delete(r.address);
      if (previous !== null) note(rejoinLine(r, style));
    }
    for (const address of masterAddresses(topology)) formerMasters.add(address);
    if (previous !== null) problemLines(problems, now, topology, style).forEach(note);
    problems = now;
    if (tablesDue) {
      tablesDue = false;
      printTables(topology);
    }
    draw();
  };

  // The client emits failover and node events of a reading before its topology event, and its
  // topology() is already that reading's picture.
  const listen = (client: FailoverCluster): void => {
    client.on('topology', update);
    client.on('failover', (e: FailoverEvent) => {
      note(failoverLine(e, client.topology(), style));
      tablesDue = true;
      draw();
    });
    client.on('node-down', (e: NodeEvent) => {
      downSince.set(e.address, performance.now());
      note(nodeDownLine(e.address, client.topology(), style));
      draw();
    });
    client.on('node-up', (e: NodeEvent) => {
      const since = downSince.get(e.address);
      downSince.delete(e.address);
      note(nodeUpLine(e.address, since !== undefined ? performance.now() - since : null, client.topology(), style));
      draw();
    });
  };

  if (!out.interactive) out.out(style.dim(`redis-failover watch · ${target.label} · Redis Cluster · every ${intervalMs} ms · Ctrl-C to stop`));

  // connect() rejects (and closes the client) while slots are uncovered: a cluster seen once is
  // watched through that with a new client each interval; one never seen is unreachable.
  let client: FailoverCluster | null = null;
  let current: FailoverCluster | null = null;
  let notReady: string | null = null;
  while (!stopped) {
    const attempt = openCluster(target, ctx, { refreshIntervalMs: intervalMs });
    current = attempt;
    listen(attempt);
    const error = await Promise.race([attempt.connect().then(() => null, (e: Error) => e), interrupted.then(() => null)]);
    if (stopped) break;
    if (error === null) {
      client = attempt;
      break;
    }
    attempt.disconnect();
    if (last === null) throw new UnreachableError(`cannot read the cluster from ${target.label}: ${explainMistake(error) ?? error.message}`, { cause: error });
    if (notReady !== error.message) note(style.red(`the cluster is not ready: ${error.message}; trying again`));
    notReady = error.message;
    draw();
    await Promise.race([sleep(intervalMs), interrupted]);
  }

  let timer: NodeJS.Timeout | undefined;
  if (client !== null) {
    const first = client.topology();
    printTables(first);
    const nodes = new Set(members(first).map((n) => n.address)).size;
    note(`watching ${first.shards.filter((s) => s.slots.length > 0).length} shard(s), ${nodes} node(s)`);
    draw();
    // The client polls too (faster while a shard has trouble); this poll says when none answers.
    let polling = false;
    const live = client;
    timer = setInterval(() => {
      if (polling) return;
      polling = true;
      live
        .refreshTopology()
        .catch((error: Error) => {
          if (unreachable === null) note(style.red(`no cluster node answers: ${error.message}`));
          unreachable = error.message;
          draw();
        })
        .finally(() => (polling = false));
    }, intervalMs);
    await interrupted;
  }
  clearInterval(timer);
  clearTimeout(drawTimer);
  current?.disconnect();
  if (out.interactive) out.raw('\n');
  out.out(style.dim('watch ended'));
  return 0;
}
