import type { FailoverRedis } from '../../src/index.js';
import { direct } from './redis.js';

export interface WriterResult {
  /** Keys whose INCR was acknowledged (value 1 expected on the master). */
  acked: string[];
  /** Keys whose INCR rejected: with ERR_MAYBE_APPLIED they may be 0 or 1, never 2. */
  failed: { key: string; error: Error }[];
  /** performance.now() of each acknowledgement. */
  ackTimes: number[];
}

/**
 * A writer loop: INCR a fresh counter every `intervalMs`, each awaited, recording what was
 * acknowledged — the raw material for "nothing lost, nothing doubled" checks on the servers.
 */
export function startWriter(redis: FailoverRedis, prefix: string, intervalMs = 5) {
  const result: WriterResult = { acked: [], failed: [], ackTimes: [] };
  let running = true;
  const done = (async () => {
    for (let i = 0; running; i++) {
      const key = `${prefix}:${i}`;
      try {
        await redis.incr(key);
        result.acked.push(key);
        result.ackTimes.push(performance.now());
      } catch (error) {
        result.failed.push({ key, error: error as Error });
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    result,
    /** Resolves at the first acknowledgement after `since` (performance.now()). */
    async ackAfter(since: number, timeoutMs = 20_000): Promise<number> {
      const deadline = performance.now() + timeoutMs;
      while (performance.now() < deadline) {
        const t = result.ackTimes.find((x) => x > since);
        if (t !== undefined) return t;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`no acknowledged write within ${timeoutMs} ms`);
    },
    async stop(): Promise<WriterResult> {
      running = false;
      await done;
      return result;
    },
  };
}

/**
 * Replication is asynchronous: a write the master acknowledged a moment before it died may never
 * have reached a replica, and no client can bring it back (that is what `durability` is for).
 * `syncPoint` makes the replicas acknowledge every write sent so far (WAIT on the client's own
 * master connection) and returns when it started: writes acknowledged before it must survive.
 */
export async function syncPoint(redis: FailoverRedis, replicas: number): Promise<number> {
  const startedAt = performance.now();
  const acked = await redis.wait(replicas, 5000);
  if (acked < replicas) throw new Error(`only ${acked}/${replicas} replicas acknowledged before the kill`);
  return startedAt;
}

/**
 * Read every counter back from `master`: acked ones must be exactly 1 — except those acknowledged
 * after `syncedAt` (see `syncPoint`), which async replication may have lost with the master —
 * and failed ones 0 or 1, never 2.
 */
export async function checkCounters(
  master: string,
  result: WriterResult,
  syncedAt = Infinity,
): Promise<{ lost: string[]; doubled: string[]; lostAfterSync: string[] }> {
  const conn = direct(master);
  try {
    const keys = [...result.acked, ...result.failed.map((f) => f.key)];
    const values = keys.length ? await conn.mget(keys) : [];
    const lost: string[] = [];
    const lostAfterSync: string[] = [];
    const doubled: string[] = [];
    keys.forEach((key, i) => {
      const v = Number(values[i] ?? 0);
      if (v > 1) doubled.push(key);
      if (i < result.acked.length && v !== 1) (result.ackTimes[i]! > syncedAt ? lostAfterSync : lost).push(key);
    });
    return { lost, doubled, lostAfterSync };
  } finally {
    conn.disconnect();
  }
}

export async function role(address: string): Promise<{ role: string; master: string | null }> {
  const conn = direct(address);
  try {
    const info = await conn.info('replication');
    const r = /role:(\w+)/.exec(info)?.[1] ?? 'unknown';
    const host = /master_host:(\S+)/.exec(info)?.[1];
    const port = /master_port:(\d+)/.exec(info)?.[1];
    return { role: r === 'slave' ? 'replica' : r, master: host && port ? `${host}:${port}` : null };
  } finally {
    conn.disconnect();
  }
}

export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  while (performance.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
