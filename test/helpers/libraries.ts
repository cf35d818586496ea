import diagnostics_channel from 'node:diagnostics_channel';
import { BATCH_CHANNEL, COMMAND_CHANNEL } from '../../src/index.js';
import type { FailoverRedis, FailoverRedisOptions } from '../../src/index.js';
import type { ReplicaSet } from '../../src/testing/index.js';
import type { resources } from './resources.js';
import { direct } from './redis.js';
import { expect } from 'vitest';
import { waitFor } from './writer.js';

/**
 * The two ways a failover happens: `client` (seed `nodes`, kill -9 of the master, the client
 * promotes a replica) and `sentinel` (`sentinels` + `name`, kill -9, Sentinel promotes).
 */
export type FailoverMode = 'client' | 'sentinel';
export const MODES: readonly FailoverMode[] = ['client', 'sentinel'];

export interface ModeSet {
  mode: FailoverMode;
  set: ReplicaSet;
  /** FailoverRedis options for this set and mode (merge `redisOptions` into them as needed). */
  options(redisOptions?: Record<string, unknown>): FailoverRedisOptions;
}

/** A replica set for `mode`: 2 replicas, and 3 Sentinels (down-after 1 s) in Sentinel mode. */
export async function modeSet(res: ReturnType<typeof resources>, mode: FailoverMode): Promise<ModeSet> {
  const set = await res.replicaSet(mode === 'client' ? { replicas: 2 } : { replicas: 2, sentinels: 3, downAfterMs: 1000 });
  return {
    mode,
    set,
    options: (redisOptions) => {
      const base: FailoverRedisOptions =
        mode === 'client'
          ? { nodes: [set.master], failover: { downAfterMs: 1000 } }
          : { sentinels: [...set.sentinels], name: set.name };
      return redisOptions ? { ...base, redisOptions: redisOptions as FailoverRedisOptions['redisOptions'] } : base;
    },
  };
}

/**
 * kill -9 of the set's initial master; resolves once `redis` has a new master (the client
 * promoted one, or followed Sentinel), with its address and when the old one had exited
 * (performance.now(): nothing acknowledged after that came from it).
 */
export async function killMaster(ms: ModeSet, redis: FailoverRedis, timeoutMs = 30_000): Promise<{ address: string; deadAt: number }> {
  const old = ms.set.master;
  await ms.set.kill(old);
  const deadAt = performance.now();
  const address = await waitFor(
    'a new master',
    () => {
      const m = redis.topology().master;
      return m !== null && m.address !== old && m.up ? m.address : undefined;
    },
    timeoutMs,
  );
  return { address, deadAt };
}

/** The one error a command in flight at the kill may end with. */
export function isMaybeApplied(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ERR_MAYBE_APPLIED';
}

/**
 * Counts the commands of every FailoverRedis in this process that rejected with ERR_MAYBE_APPLIED,
 * from the client's own tracing channels — also those a library caught and retried itself.
 */
export function countMaybeApplied(): { readonly count: number; stop(): void } {
  let n = 0;
  const onError = (context: unknown) => {
    if (isMaybeApplied((context as { error?: unknown }).error)) n++;
  };
  const channels = [COMMAND_CHANNEL, BATCH_CHANNEL].map((name) => diagnostics_channel.channel(`tracing:${name}:error`));
  for (const c of channels) c.subscribe(onError);
  return {
    get count() {
      return n;
    },
    stop() {
      for (const c of channels) c.unsubscribe(onError);
    },
  };
}

/** Errors that are not ERR_MAYBE_APPLIED, as `code: message` strings (for a readable assertion). */
export function unexpected(errors: readonly unknown[]): string[] {
  return errors.filter((e) => !isMaybeApplied(e)).map((e) => `${(e as { code?: string }).code ?? (e as Error).name}: ${(e as Error).message}`);
}

/** Run `fn` with a plain ioredis connection to `address`, closed afterwards. */
export async function withDirect<T>(address: string, fn: (conn: ReturnType<typeof direct>) => Promise<T>, options: Record<string, unknown> = {}): Promise<T> {
  const conn = direct(address, options);
  try {
    return await fn(conn);
  } finally {
    conn.disconnect();
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `modeSet`, started on first use and then the same for every caller (one set per mode per file). */
export function sharedSet(res: ReturnType<typeof resources>, mode: FailoverMode): () => Promise<ModeSet> {
  let started: Promise<ModeSet> | null = null;
  return () => (started ??= modeSet(res, mode));
}

/** What each client and each Sentinel takes for the master, for a failure message. */
export async function whoIsMaster(ms: ModeSet, clients: readonly FailoverRedis[]): Promise<string> {
  const seen = clients.map((c) => `${c.status}:${c.topology().master?.address ?? 'none'}`);
  const sentinels: string[] = [];
  for (const s of ms.set.sentinels) {
    sentinels.push(
      await withDirect(s, async (c) => ((await c.call('SENTINEL', 'get-master-addr-by-name', ms.set.name)) as string[]).join(':'), { connectTimeout: 500, maxRetriesPerRequest: 0 }).catch(
        (e: Error) => `error ${e.message}`,
      ),
    );
  }
  return `clients ${seen.join(' ')}; sentinels ${sentinels.join(' ') || '-'}; killed ${ms.set.master}`;
}

/**
 * The BullMQ control: 50 jobs added one by one, then each processed exactly once and completed
 * (`completed()` reads the completed set), with no worker error.
 */
export async function fiftyJobsProcessedOnce(
  kind: string,
  queue: { add(name: string, data: object): Promise<{ id?: string }> },
  runs: ReadonlyMap<string, number>,
  workerErrors: readonly unknown[],
  completed: () => Promise<ReadonlySet<string>>,
): Promise<void> {
  const ids: string[] = [];
  for (let i = 0; i < 50; i++) ids.push((await queue.add('j', { i })).id!);
  await waitFor(`50 completed (${kind})`, async () => (await completed()).size === 50 || undefined);
  expect([...runs.values()].filter((n) => n !== 1)).toEqual([]);
  expect([...runs.keys()].sort()).toEqual([...ids].sort());
  expect(workerErrors).toEqual([]);
}
