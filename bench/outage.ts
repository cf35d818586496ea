import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ReplicaSet, ReplicaSetOptions } from '../src/testing/index.js';
import { renderOutageChart } from './chart.js';
import {
  errorsCell,
  failoverNodes,
  failoverSentinel,
  ioredisFixed,
  ioredisSentinel,
  peerWriter,
  spreadCell,
  summarize,
  type FailoverContender,
  type Summary,
} from './contenders.js';
import { isMaster, sentinelMaster, waitFor, watchSwitchMaster, withReplicaSet, type Settings } from './harness.js';
import { fmtMs, RESULTS_PATH, targetCell, type SectionResult, type Target } from './report.js';
import { max, median, min } from './stats.js';
import { disrupt, type Contender, type DisruptionResult } from './writer.js';
import { GLIDE, glideClient, nodeRedisClient, nodeRedisSentinel } from './peers.js';

interface Scenario {
  id: string;
  title: string;
  set: ReplicaSetOptions;
  contenders: (set: ReplicaSet) => Contender[];
  event: (set: ReplicaSet) => Promise<void>;
  windowMs: number;
  minWindowMs?: number;
  sentinel: boolean;
  /** The target for the FailoverRedis row, from its summary. */
  target: (s: Summary) => Target;
}

/** The replica that is master now, by the servers' own word (client mode). */
async function promotedReplica(set: ReplicaSet): Promise<string> {
  let found: string | undefined;
  await waitFor(
    'a replica to be promoted',
    async () => {
      for (const r of set.replicas) if (await isMaster(r)) found = r;
      return found !== undefined;
    },
    10_000,
    50,
  );
  return found!;
}

async function runScenario(scenario: Scenario, runs: number): Promise<{ results: DisruptionResult<void>[]; failovers: unknown[][] }> {
  const results: DisruptionResult<void>[] = [];
  const failovers: unknown[][] = [];
  for (let run = 0; run < runs; run++) {
    await withReplicaSet(scenario.set, async (set) => {
      const watch = scenario.sentinel ? await watchSwitchMaster(set.sentinels) : null;
      const contenders = scenario.contenders(set);
      try {
        const result = await disrupt({
          contenders,
          prefix: `bench:${scenario.id}:${run}`,
          syncReplicas: set.replicas.length,
          event: () => scenario.event(set),
          windowMs: scenario.windowMs,
          minWindowMs: scenario.minWindowMs,
          tailMs: 300,
          switchMasterAt: watch ? watch.at : undefined,
          newMaster: async () => {
            if (!scenario.sentinel) return promotedReplica(set);
            let now = set.master;
            await waitFor('Sentinel to name a new master', async () => (now = await sentinelMaster(set.sentinels[0]!, set.name)) !== set.master, 10_000, 50);
            return now;
          },
        });
        results.push(result);
        writeChart(scenario, run, result);
        failovers.push(
          contenders.flatMap((c) => ('failovers' in c ? (c as FailoverContender).failovers.map((f) => ({ ...f, at: f.at - result.eventAt })) : [])),
        );
      } finally {
        watch?.close();
        contenders.forEach((c) => c.close());
        // A paused master is killed by stop() all the same.
      }
    });
  }
  return { results, failovers };
}

/** `bench/results/outage-<scenario>-run<N>.svg`: acknowledged writes around the event, one line per client. */
function writeChart(scenario: Scenario, run: number, result: DisruptionResult<void>): void {
  const markers = [{ atMs: 0, label: scenario.id === 'hung' ? 'SIGSTOP of the master' : 'kill -9 of the master' }];
  if (result.switchMasterMs !== null) markers.push({ atMs: result.switchMasterMs, label: `Sentinel +switch-master (${fmtMs(result.switchMasterMs)})` });
  const svg = renderOutageChart({
    title: `${scenario.title} (run ${run + 1})`,
    subtitle: 'A SET every 5 ms per client, each awaited; in the legend, the first write acknowledged after the event.',
    series: result.contenders.map((c) => ({ label: `${c.label}: ${c.resumedMs === null ? 'no write' : fmtMs(c.resumedMs)}`, timeline: c.timeline })),
    markers,
  });
  const path = `${dirname(RESULTS_PATH)}/outage-${scenario.id}-run${run + 1}.svg`;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, svg);
}

function rowsOf(scenario: Scenario, results: DisruptionResult<void>[], misses: string[]): string[][] {
  const labels = results[0]?.contenders.map((c) => c.label) ?? [];
  return labels.map((label) => {
    const s = summarize(results, label);
    const isOurs = label.startsWith('FailoverRedis');
    let target: Target | null = null;
    if (isOurs) {
      const t = scenario.target(s);
      const lostOk = s.lost === 0;
      target = { text: `${t.text}; 0 acknowledged writes lost`, met: t.met && lostOk && s.resumedRuns === s.runs };
      if (!target.met) {
        misses.push(
          `${scenario.title} — ${label}: resumed ${spreadCell(s.resumedMs, s.runs, fmtMs, 'no write')}` +
            (scenario.sentinel ? `, ${spreadCell(s.afterSwitchMasterMs, s.resumedRuns, fmtMs, 'n/a')} after +switch-master` : '') +
            `, ${s.lost} acknowledged writes lost; target ${target.text}`,
        );
      }
    }
    return [
      scenario.title,
      label,
      String(s.runs),
      spreadCell(s.resumedMs, s.runs, fmtMs, `no write within ${fmtMs(s.windowMs)}`),
      scenario.sentinel ? spreadCell(s.afterSwitchMasterMs, s.resumedRuns, (ms) => `${ms >= 0 ? '+' : ''}${fmtMs(ms)}`, 'n/a') : '—',
      errorsCell(s) + (s.stalled ? `; ${s.stalled} unanswered (stuck > 1 s) at the end` : ''),
      String(s.lost),
      String(s.lostAsync),
      targetCell(target),
    ];
  });
}

const COLUMNS = [
  'scenario',
  'client',
  'runs',
  'kill → first acknowledged write issued after it: median (min – max)',
  "that moment − Sentinel's +switch-master",
  'write errors (all runs)',
  'acked writes lost (acked before the WAIT)',
  'async-replication loss (acked after the WAIT)',
  'target',
];

function switchNotes(scenarios: Scenario[], all: DisruptionResult<void>[][]): string[] {
  return scenarios.flatMap((sc, i) => {
    const t = all[i]!.flatMap((r) => (r.switchMasterMs === null ? [] : [r.switchMasterMs]));
    if (!sc.sentinel || t.length === 0) return [];
    const range = t.length > 1 ? ` (${fmtMs(min(t))} – ${fmtMs(max(t))})` : '';
    return [`${sc.title}: Sentinel announced +switch-master ${fmtMs(median(t))}${range} after the kill (our own subscription to all 3 Sentinels).`];
  });
}

/** valkey-glide has no Sentinel support: it is given every node, and finds the primary among them. */
const glideAllNodes = (set: ReplicaSet): Contender =>
  peerWriter(glideClient(set.nodes), true, `${GLIDE} \`GlideClient\`, given all 3 nodes (no Sentinel support)`);

const sentinelClients = (set: ReplicaSet): Contender[] => [
  ioredisSentinel(set, false),
  ioredisSentinel(set, true),
  peerWriter(nodeRedisSentinel(set.sentinels, set.name), true),
  glideAllNodes(set),
  failoverSentinel(set),
];

export async function outage(settings: Settings): Promise<SectionResult> {
  const began = performance.now();
  const scenarios: Scenario[] = [1000, 5000].map((downAfterMs) => ({
    id: `sentinel-${downAfterMs}`,
    title: `Sentinel, down-after ${downAfterMs} ms`,
    set: { replicas: 2, sentinels: 3, downAfterMs },
    contenders: sentinelClients,
    event: (set: ReplicaSet) => set.kill(set.master),
    windowMs: downAfterMs + 20_000,
    sentinel: true,
    target: (s: Summary) => {
      const m = s.afterSwitchMasterMs.length ? median(s.afterSwitchMasterMs) : Number.NaN;
      return { text: '≤ 100 ms after +switch-master', met: m <= 100 };
    },
  }));
  scenarios.push({
    id: 'client-1000',
    title: 'no Sentinel, client mode',
    set: { replicas: 2 },
    // No peer has a client mode: node-redis is on the master's address like ioredis; glide, given
    // every node, can only follow a promotion made by someone else (the FailoverRedis client here).
    contenders: (set) => [ioredisFixed(set.master), peerWriter(nodeRedisClient(set.master), false), glideAllNodes(set), failoverNodes(set, 1000)],
    event: (set) => set.kill(set.master),
    windowMs: 10_000,
    minWindowMs: 3000,
    sentinel: false,
    target: (s) => ({ text: '≤ 1.25 s', met: s.resumedMs.length > 0 && median(s.resumedMs) <= 1250 }),
  });
  const misses: string[] = [];
  const rows: string[][] = [];
  const all: DisruptionResult<void>[][] = [];
  const data: Record<string, unknown> = {};
  for (const scenario of scenarios) {
    const { results, failovers } = await runScenario(scenario, settings.runs);
    all.push(results);
    rows.push(...rowsOf(scenario, results, misses));
    data[scenario.id] = { runs: results, failoverEvents: failovers };
  }
  return {
    id: 'outage',
    table: {
      title: '3. Outage after `kill -9` of the master (one writer per client: SET every 5 ms, each awaited)',
      columns: COLUMNS,
      rows,
      notes: [
        'All clients of a scenario write at the same time through the same kill, on a fresh replica set (master + 2 replicas) per run.',
        `Peers: node-redis \`createSentinel\` in the Sentinel scenarios, \`createClient\` on the master's address without Sentinel (node-redis has no client-side promotion); ${GLIDE} has neither Sentinel support nor a promotion of its own, so it is given all three nodes in every scenario and can only find a primary that someone else made (Sentinel, or the FailoverRedis client in client mode).`,
        'Just before the kill each client runs `WAIT 2 5000` on its own connection: an acknowledged write lost from before that point is the client\'s loss; one acknowledged after it, that the replicas never received, is asynchronous replication\'s.',
        ...switchNotes(scenarios, all),
        `Charts of each run (acknowledged writes over time, one line per client): ${scenarios.map((sc) => `\`bench/results/outage-${sc.id}-run1.svg\``).join(', ')}.`,
      ],
    },
    misses,
    data,
    durationMs: performance.now() - began,
  };
}

export async function hung(settings: Settings): Promise<SectionResult> {
  const began = performance.now();
  const downAfterMs = 1000;
  const scenario: Scenario = {
    id: 'hung',
    title: 'SIGSTOP of the master, client mode',
    set: { replicas: 2 },
    contenders: (set) => [ioredisFixed(set.master), failoverNodes(set, downAfterMs)],
    event: async (set) => set.pause(set.master),
    windowMs: 10_000,
    minWindowMs: 3000,
    sentinel: false,
    target: (s) => ({ text: `≤ ${fmtMs(downAfterMs + 500)} (downAfterMs + 0.5 s)`, met: s.resumedMs.length > 0 && median(s.resumedMs) <= downAfterMs + 500 }),
  };
  const misses: string[] = [];
  const { results, failovers } = await runScenario(scenario, settings.runs);
  return {
    id: 'hung',
    table: {
      title: '4. Hung master (`SIGSTOP`, TCP connections kept), client mode',
      // No Sentinel here: drop the +switch-master column.
      columns: COLUMNS.map((c, i) => (i === 3 ? 'SIGSTOP → first acknowledged write issued after it: median (min – max)' : c)).filter((_, i) => i !== 4),
      rows: rowsOf(scenario, results, misses).map((row) => row.filter((_, i) => i !== 4)),
      notes: [
        'Fresh replica set per run (data nodes with `repl-ping-replica-period 1`); the same writer, WAIT and read-back as in section 3.',
        'Chart of each run: `bench/results/outage-hung-run1.svg`.',
      ],
    },
    misses,
    data: { runs: results, failoverEvents: failovers },
    durationMs: performance.now() - began,
  };
}
