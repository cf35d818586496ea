import { Redis } from 'ioredis';
import { FailoverRedis } from '../src/index.js';
import type { ReplicaSet } from '../src/testing/index.js';
import { hostPort } from './harness.js';
import type { Peer } from './peers.js';
import { max, median, min, sum } from './stats.js';
import type { Contender, ContenderResult, DisruptionResult } from './writer.js';

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

function ioredisContender(label: string, redis: Redis, recovers: boolean): Contender {
  redis.on('error', () => undefined);
  return {
    label,
    client: redis,
    ready: () => redis.ping(),
    close: once(() => {
      redis.disconnect();
      // A paused (SIGSTOP) server never closes its side; do not wait the 2 s disconnectTimeout.
      redis.stream?.destroy();
    }),
    recovers,
  };
}

/** ioredis 6's own Sentinel support, as its users configure it. */
export function ioredisSentinel(set: ReplicaSet, failoverDetector: boolean): Contender {
  const redis = new Redis({ sentinels: set.sentinels.map(hostPort), name: set.name, failoverDetector });
  return ioredisContender(failoverDetector ? 'ioredis 6 Sentinel, `failoverDetector: true`' : 'ioredis 6 Sentinel', redis, true);
}

/** Plain ioredis on the master's address: what a user without Sentinel has. It never moves. */
export function ioredisFixed(address: string): Contender {
  return ioredisContender('ioredis 6, fixed master address', new Redis(hostPort(address)), false);
}

/** node-redis or valkey-glide as a writer. */
export function peerWriter(peer: Peer, recovers: boolean, label = peer.label): Contender {
  return { label, client: peer, ready: () => peer.ready(), close: () => peer.close(), recovers };
}

export interface FailoverContender extends Contender {
  redis: FailoverRedis;
  /** `failover` events, with the time they were seen. */
  failovers: { at: number; event: unknown }[];
}

function failoverContender(label: string, redis: FailoverRedis): FailoverContender {
  redis.on('error', () => undefined);
  const failovers: { at: number; event: unknown }[] = [];
  redis.on('failover', (event) => failovers.push({ at: performance.now(), event }));
  return {
    label,
    redis,
    failovers,
    client: redis,
    ready: () => redis.connect(),
    close: once(() => redis.disconnect()),
    recovers: true,
  };
}

export function failoverSentinel(set: ReplicaSet): FailoverContender {
  return failoverContender('FailoverRedis, Sentinel mode', new FailoverRedis({ sentinels: set.sentinels, name: set.name }));
}

export function failoverNodes(set: ReplicaSet, downAfterMs: number): FailoverContender {
  return failoverContender(
    `FailoverRedis, client mode (downAfterMs ${downAfterMs})`,
    new FailoverRedis({ nodes: set.nodes, failover: { downAfterMs } }),
  );
}

/** One contender over every run of a scenario. */
export interface Summary {
  label: string;
  runs: number;
  /** Runs in which it wrote again within the window. */
  resumedRuns: number;
  resumedMs: number[];
  afterSwitchMasterMs: number[];
  longestGapMs: number[];
  errors: number;
  errorKinds: Record<string, number>;
  stalled: number;
  lost: number;
  lostAsync: number;
  acked: number;
  /** The shortest observation window, for "not within N s". */
  windowMs: number;
}

export function summarize(runs: readonly DisruptionResult<unknown>[], label: string): Summary {
  const mine = runs.map((r) => ({ run: r, c: r.contenders.find((x) => x.label === label)! }));
  const values = (pick: (c: ContenderResult) => number | null): number[] =>
    mine.flatMap(({ c }) => {
      const v = pick(c);
      return v === null ? [] : [v];
    });
  const errorKinds: Record<string, number> = {};
  for (const { c } of mine) for (const [k, n] of Object.entries(c.errorKinds)) errorKinds[k] = (errorKinds[k] ?? 0) + n;
  const resumedMs = values((c) => c.resumedMs);
  return {
    label,
    runs: mine.length,
    resumedRuns: resumedMs.length,
    resumedMs,
    afterSwitchMasterMs: values((c) => c.afterSwitchMasterMs),
    longestGapMs: values((c) => c.longestGapMs),
    errors: sum(mine.map(({ c }) => c.errors)),
    errorKinds,
    stalled: sum(mine.map(({ c }) => c.stalled)),
    lost: sum(mine.map(({ c }) => c.lost)),
    lostAsync: sum(mine.map(({ c }) => c.lostAsync)),
    acked: sum(mine.map(({ c }) => c.acked)),
    windowMs: mine.length ? min(mine.map(({ run }) => run.windowEndAt - run.eventAt)) : 0,
  };
}

/** `1.20 s (1.05 – 1.31)`, or what happened instead. */
export function spreadCell(values: number[], runs: number, fmt: (ms: number) => string, missing: string): string {
  if (values.length === 0) return missing;
  const head = values.length === 1 ? fmt(values[0]!) : `${fmt(median(values))} (${fmt(min(values))} – ${fmt(max(values))})`;
  return values.length < runs ? `${head}; ${runs - values.length} of ${runs} runs: ${missing}` : head;
}

export function errorsCell(s: Summary): string {
  if (s.errors === 0) return '0';
  return `${s.errors} (${Object.entries(s.errorKinds).map(([k, n]) => `${k} ×${n}`).join(', ')})`;
}
