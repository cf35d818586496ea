import type { SwitchoverResult } from '../src/index.js';
import type { ReplicaSet, ReplicaSetOptions } from '../src/testing/index.js';
import { errorsCell, failoverNodes, failoverSentinel, ioredisFixed, ioredisSentinel, spreadCell, summarize, type FailoverContender } from './contenders.js';
import { watchSwitchMaster, withReplicaSet, type Settings } from './harness.js';
import { fmtMs, targetCell, type SectionResult, type Target } from './report.js';
import { median } from './stats.js';
import { disrupt, type Contender, type DisruptionResult } from './writer.js';

const PAUSE_TARGET_MS = 300;
const TAIL_MS = 1000;

interface Scenario {
  id: string;
  title: string;
  set: ReplicaSetOptions;
  contenders: (set: ReplicaSet) => { all: Contender[]; ours: FailoverContender };
  switchover: (ours: FailoverContender) => Promise<SwitchoverResult>;
}

const scenarios: Scenario[] = [
  {
    id: 'client',
    title: 'client mode: `switchover()` (default: `CLIENT PAUSE WRITE` + `REPLICAOF`)',
    set: { replicas: 2 },
    contenders: (set) => {
      const ours = failoverNodes(set, 1000);
      return { all: [ioredisFixed(set.master), ours], ours };
    },
    // The default method.
    switchover: (ours) => ours.redis.switchover({ timeoutMs: 5000 }),
  },
  {
    id: 'client-failover-command',
    title: "client mode: `switchover({ method: 'failover-command' })` (Redis's `FAILOVER TO`)",
    set: { replicas: 2 },
    contenders: (set) => {
      const ours = failoverNodes(set, 1000);
      return { all: [ours], ours };
    },
    // Redis's own FAILOVER TO, for comparison.
    switchover: (ours) => ours.redis.switchover({ timeoutMs: 5000, method: 'failover-command' }),
  },
  {
    id: 'sentinel',
    title: 'Sentinel mode: `switchover()` (`SENTINEL FAILOVER`)',
    set: { replicas: 2, sentinels: 3, downAfterMs: 1000 },
    contenders: (set) => {
      const ours = failoverSentinel(set);
      return { all: [ioredisSentinel(set, false), ioredisSentinel(set, true), ours], ours };
    },
    switchover: (ours) => ours.redis.switchover({ timeoutMs: 5000 }),
  },
];

export async function switchoverSection(settings: Settings): Promise<SectionResult> {
  const began = performance.now();
  const rows: string[][] = [];
  const misses: string[] = [];
  const data: Record<string, unknown> = {};
  const notes: string[] = [];
  for (const scenario of scenarios) {
    const results: DisruptionResult<SwitchoverResult>[] = [];
    for (let run = 0; run < settings.runs; run++) {
      await withReplicaSet(scenario.set, async (set) => {
        const watch = set.sentinels.length > 0 ? await watchSwitchMaster(set.sentinels) : null;
        const { all, ours } = scenario.contenders(set);
        try {
          results.push(
            await disrupt({
              contenders: all,
              prefix: `bench:switchover:${scenario.id}:${run}`,
              // A planned handover has no excuse: every acknowledged write must survive.
              syncReplicas: 0,
              event: () => scenario.switchover(ours),
              windowMs: 10_000,
              tailMs: TAIL_MS,
              newMaster: async (result) => result.to,
              switchMasterAt: watch ? watch.at : undefined,
            }),
          );
        } finally {
          watch?.close();
          all.forEach((c) => c.close());
        }
      });
    }
    // Measured here, around the call: until it resolved, with the client on the new master.
    const took = results.map((r) => r.eventMs);
    for (const label of results[0]?.contenders.map((c) => c.label) ?? []) {
      const s = summarize(results, label);
      let target: Target | null = null;
      if (label.startsWith('FailoverRedis')) {
        const pause = s.longestGapMs.length ? median(s.longestGapMs) : Number.NaN;
        target = { text: `0 lost, 0 errors, pause ≤ ${PAUSE_TARGET_MS} ms`, met: s.lost === 0 && s.errors === 0 && pause <= PAUSE_TARGET_MS };
        if (!target.met) {
          misses.push(
            `switchover, ${scenario.title} — ${label}: longest write pause ${spreadCell(s.longestGapMs, s.runs, fmtMs, 'n/a')}, ` +
              `${s.errors} errors, ${s.lost} acknowledged writes lost; target ${target.text}`,
          );
        }
      }
      rows.push([
        scenario.title,
        label,
        String(s.runs),
        spreadCell(s.longestGapMs, s.runs, fmtMs, 'n/a'),
        label.startsWith('FailoverRedis') ? spreadCell(took, took.length, fmtMs, 'n/a') : '—',
        errorsCell(s) + (s.stalled ? `; ${s.stalled} unanswered (stuck > 1 s) at the end` : ''),
        String(s.lost),
        targetCell(target),
      ]);
    }
    data[scenario.id] = { runs: results };
    const switched = results.flatMap((r) => (r.switchMasterMs === null ? [] : [r.switchMasterMs]));
    if (switched.length > 0) {
      notes.push(`${scenario.title}: Sentinel announced +switch-master ${spreadCell(switched, switched.length, fmtMs, 'n/a')} after \`switchover()\` was called.`);
    }
  }
  return {
    id: 'switchover',
    table: {
      title: '5. Planned switchover under the same writer (SET every 5 ms, each awaited)',
      columns: ['mode', 'client', 'runs', 'longest write pause: median (min – max)', '`switchover()` call took', 'write errors (all runs)', 'acknowledged writes lost', 'target'],
      rows,
      notes: [
        'Fresh replica set per run; every client writes through the same switchover, started by the FailoverRedis client; no WAIT beforehand, so every acknowledged write missing on the new master counts as lost.',
        `The pause is the longest time without an acknowledgement from 0.5 s before the switchover to ${TAIL_MS} ms after the FailoverRedis client wrote again; errors and losses of the other clients are counted over that window too (they keep growing after it while those clients stay on the old master).`,
        ...notes,
      ],
    },
    misses,
    data,
    durationMs: performance.now() - began,
  };
}
