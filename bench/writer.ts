import { errorLabel, sleep, waitFor, withDirect, within } from './harness.js';
import { longestGap, resumedAfter, tally } from './stats.js';

/** What a writer needs of a client: ioredis and FailoverRedis both have it. */
export interface WriteClient {
  set(key: string, value: string): Promise<unknown>;
  wait(replicas: number, timeoutMs: number): Promise<number>;
}

export interface WriteRecord {
  key: string;
  issuedAt: number;
  ackAt: number | null;
  failedAt: number | null;
  error: string | null;
}

/**
 * One writer: `SET` a fresh key every `intervalMs`, each awaited, recording when each was issued
 * and answered. Bounded by `maxMs` as well as by `stop()`.
 */
export function startWriter(client: WriteClient, prefix: string, intervalMs: number, maxMs: number) {
  const writes: WriteRecord[] = [];
  let running = true;
  const deadline = performance.now() + maxMs;
  const done = (async () => {
    for (let i = 0; running && performance.now() < deadline; i++) {
      const record: WriteRecord = { key: `${prefix}:${i}`, issuedAt: performance.now(), ackAt: null, failedAt: null, error: null };
      writes.push(record);
      try {
        await client.set(record.key, '1');
        record.ackAt = performance.now();
      } catch (error) {
        record.failedAt = performance.now();
        record.error = errorLabel(error);
      }
      if (running) await sleep(intervalMs);
    }
  })();
  return {
    writes,
    /** Stops issuing and returns what was known at this moment (later failures are teardown). */
    stop(): WriteRecord[] {
      running = false;
      return writes.map((w) => ({ ...w }));
    },
    /** Resolves when the loop has ended, or after `ms` if a write is stuck on a dead socket. */
    finished(ms: number): Promise<void> {
      return Promise.race([done, sleep(ms)]);
    },
  };
}

/**
 * `WAIT` on the client's own connection (the one its writes went through): once it returns,
 * every write the client saw acknowledged before `startedAt` is on `replicas` replicas, so a
 * later loss of one of those is the client's, not asynchronous replication's.
 */
export async function syncPoint(client: WriteClient, replicas: number): Promise<{ startedAt: number; acked: number }> {
  const startedAt = performance.now();
  const acked = await client.wait(replicas, 5000);
  return { startedAt, acked };
}

export interface Losses {
  /** Acknowledged before the sync point and missing on the new master: the client's loss. */
  lost: number;
  /** Acknowledged after the sync point and missing: asynchronous replication's loss. */
  lostAsync: number;
}

/** Reads every acknowledged key back from `master`. */
export async function checkLosses(master: string, writes: readonly WriteRecord[], syncedAt: number): Promise<Losses> {
  const acked = writes.filter((w) => w.ackAt !== null);
  const out: Losses = { lost: 0, lostAsync: 0 };
  await withDirect(master, async (conn) => {
    for (let i = 0; i < acked.length; i += 1000) {
      const chunk = acked.slice(i, i + 1000);
      const values = await conn.mget(chunk.map((w) => w.key));
      chunk.forEach((w, j) => {
        if (values[j] === '1') return;
        if (w.ackAt! < syncedAt) out.lost++;
        else out.lostAsync++;
      });
    }
  });
  return out;
}

export interface Contender {
  label: string;
  client: WriteClient;
  /** Resolves once the client can write. */
  ready(): Promise<unknown>;
  /** Hard disconnect (commands still pending fail; that is teardown, not counted). */
  close(): void;
  /** Whether the run waits for this one to write again (a client with a fixed address never will). */
  recovers: boolean;
}

export interface ContenderResult {
  label: string;
  /** From the event to the acknowledgement of the first write issued after it. */
  resumedMs: number | null;
  /** The same moment, relative to Sentinel's `+switch-master` (negative: before it). */
  afterSwitchMasterMs: number | null;
  /** The longest time without an acknowledgement, from 0.5 s before the event to the end. */
  longestGapMs: number;
  acked: number;
  errors: number;
  errorKinds: Record<string, number>;
  /** Writes unanswered when the window closed that had been issued over a second before: stuck. */
  stalled: number;
  lost: number;
  lostAsync: number;
  /** False if the WAIT before the event did not reach every replica (then every loss counts as async). */
  synced: boolean | null;
  /** Acknowledgements per bucket around the event, for the chart. */
  timeline: AckTimeline;
}

/** Acknowledged writes counted in `bucketMs` buckets, the first starting `startMs` from the event. */
export interface AckTimeline {
  startMs: number;
  bucketMs: number;
  acks: number[];
}

/** The acknowledgements of `writes` from `startMs` before… after the event at `eventAt` until `endAt`. */
export function ackTimeline(writes: readonly WriteRecord[], eventAt: number, endAt: number, startMs = -1000, bucketMs = 50): AckTimeline {
  const acks = new Array<number>(Math.max(0, Math.ceil((endAt - eventAt - startMs) / bucketMs))).fill(0);
  for (const w of writes) {
    if (w.ackAt === null) continue;
    const i = Math.floor((w.ackAt - eventAt - startMs) / bucketMs);
    if (i >= 0 && i < acks.length) acks[i]!++;
  }
  return { startMs, bucketMs, acks };
}

export interface Disruption<T> {
  contenders: Contender[];
  prefix: string;
  /** Replicas to WAIT for just before the event; 0 for no sync point (every loss is the client's). */
  syncReplicas: number;
  /** The disruption itself; `performance.now()` just before it is the event time. */
  event: () => Promise<T>;
  /** How long after the event to wait for the recovering contenders, at most. */
  windowMs: number;
  /** Observe at least this long after the event (so "no write within N s" says something). */
  minWindowMs?: number;
  /** Writing goes on this long after the last recovery, before the writers stop. */
  tailMs: number;
  /** The master to read the writes back from, once the run is over. */
  newMaster: (eventResult: T) => Promise<string>;
  /** Sentinel's `+switch-master` time, if it is being watched. */
  switchMasterAt?: () => number | null;
}

export interface DisruptionResult<T> {
  eventAt: number;
  /** How long `event()` took to resolve (a kill: until the process exited). */
  eventMs: number;
  eventResult: T;
  windowEndAt: number;
  newMaster: string;
  switchMasterMs: number | null;
  contenders: ContenderResult[];
}

const INTERVAL_MS = 5;
const WARM_MS = 500;

/** Writers on every contender, a sync point, the event, the wait for recovery, the read-back. */
export async function disrupt<T>(run: Disruption<T>): Promise<DisruptionResult<T>> {
  const { contenders } = run;
  await within(Promise.all(contenders.map((c) => c.ready())), 20_000, 'the clients to connect');
  const maxMs = WARM_MS + 5000 + run.windowMs + run.tailMs + 5000;
  const writers = contenders.map((c, i) => startWriter(c.client, `${run.prefix}:${i}`, INTERVAL_MS, maxMs));
  try {
    await sleep(WARM_MS);
    const synced =
      run.syncReplicas > 0
        ? await Promise.all(contenders.map((c) => syncPoint(c.client, run.syncReplicas)))
        : contenders.map(() => ({ startedAt: Number.POSITIVE_INFINITY, acked: 0 }));
    const eventAt = performance.now();
    const eventResult = await run.event();
    const eventMs = performance.now() - eventAt;
    const deadline = eventAt + run.windowMs;
    await waitFor(
      'every contender to write again',
      () => contenders.every((c, i) => !c.recovers || resumedAfter(writers[i]!.writes, eventAt) !== null) || performance.now() > deadline,
      run.windowMs + 1000,
    );
    await sleep(Math.max(run.tailMs, eventAt + (run.minWindowMs ?? 0) - performance.now()));
    const windowEndAt = performance.now();
    const snapshots = writers.map((w) => w.stop());
    contenders.forEach((c) => c.close());
    await Promise.all(writers.map((w) => w.finished(2000)));

    const newMaster = await run.newMaster(eventResult);
    const switchAt = run.switchMasterAt?.() ?? null;
    const results: ContenderResult[] = [];
    for (const [i, c] of contenders.entries()) {
      const writes = snapshots[i]!;
      const sync = synced[i]!;
      const syncOk = run.syncReplicas === 0 ? null : sync.acked >= run.syncReplicas;
      const syncedAt = syncOk === false ? Number.NEGATIVE_INFINITY : sync.startedAt;
      const losses = await checkLosses(newMaster, writes, syncedAt);
      const resumedMs = resumedAfter(writes, eventAt);
      const errors = writes.filter((w) => w.error !== null);
      results.push({
        label: c.label,
        resumedMs,
        afterSwitchMasterMs: resumedMs !== null && switchAt !== null ? eventAt + resumedMs - switchAt : null,
        longestGapMs: longestGap(
          writes.flatMap((w) => (w.ackAt === null ? [] : [w.ackAt])),
          eventAt - 500,
          windowEndAt,
        ),
        acked: writes.filter((w) => w.ackAt !== null).length,
        errors: errors.length,
        errorKinds: tally(errors.map((w) => w.error!)),
        stalled: writes.filter((w) => w.ackAt === null && w.error === null && w.issuedAt < windowEndAt - 1000).length,
        ...losses,
        synced: syncOk,
        timeline: ackTimeline(writes, eventAt, windowEndAt),
      });
    }
    return {
      eventAt,
      eventMs,
      eventResult,
      windowEndAt,
      newMaster,
      switchMasterMs: switchAt === null ? null : switchAt - eventAt,
      contenders: results,
    };
  } finally {
    writers.forEach((w) => w.stop());
    contenders.forEach((c) => c.close());
  }
}
