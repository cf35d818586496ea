import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { FailoverRedis } from '../../../src/index.js';
import { countMaybeApplied, fiftyJobsProcessedOnce, isMaybeApplied, killMaster, sharedSet, whoIsMaster, MODES, sleep, unexpected, withDirect } from '../../helpers/libraries.js';
import { resources } from '../../helpers/resources.js';
import { waitFor } from '../../helpers/writer.js';

const res = resources();
/** Failed job ids per mode, from the failover test, for the strict check below. */
const failedAfterFailover = new Map<string, string[]>();

/** A Queue and a Worker on the connections given; counts processor runs per job id. */
function queueAndWorker(name: string, queueConn: Redis | FailoverRedis, workerConn: Redis | FailoverRedis) {
  const runs = new Map<string, number>();
  const workerErrors: unknown[] = [];
  const queue = new Queue(name, { connection: queueConn as Redis });
  queue.on('error', () => undefined);
  const worker = new Worker(
    name,
    async (job: Job) => {
      runs.set(job.id!, (runs.get(job.id!) ?? 0) + 1);
    },
    // Short lock and stall check so a job whose completion was in flight at the kill is picked up
    // again within the test rather than after BullMQ's default 30 s.
    { connection: workerConn as Redis, concurrency: 4, lockDuration: 3000, stalledInterval: 1500, maxStalledCount: 3 },
  );
  worker.on('error', (e) => workerErrors.push(e));
  return { queue, worker, runs, workerErrors };
}

async function completedIds(master: string, name: string): Promise<Set<string>> {
  return withDirect(master, async (c) => new Set(await c.zrange(`bull:${name}:completed`, '0', '-1')));
}

/** Failed jobs by id, with their failedReason. */
async function failedJobs(master: string, name: string): Promise<Map<string, string>> {
  return withDirect(master, async (c) => {
    const out = new Map<string, string>();
    for (const id of await c.zrange(`bull:${name}:failed`, '0', '-1')) out.set(id, (await c.hget(`bull:${name}:${id}`, 'failedReason')) ?? '');
    return out;
  });
}

/**
 * BullMQ retries completing a job only after errors it takes for connection errors
 * (`isNotConnectionError`: ConnectionClosedError, the message 'Connection is closed.', ECONNREFUSED);
 * any other error from moveToFinished moves the job to `failed` with that error as its reason.
 * A completion in flight at the kill rejects with ERR_MAYBE_APPLIED, so that job, processed once,
 * lands in `failed` with our message (plain ioredis resends unanswered commands on reconnect instead).
 */
const MAYBE_APPLIED_REASON = /^Connection is closed\.$/;

describe.each(MODES)('BullMQ 6 Queue + Worker, %s mode', (mode) => {
  // One set per mode: the control runs first on it, then the failover test kills its master.
  const shared = sharedSet(res, mode);

  it('control, no failover, plain ioredis then FailoverRedis on the same set: 50 jobs added, each processed once and completed', async () => {
    const ms = await shared();
    const at = ms.set.master.split(':');
    const opts = { host: at[0], port: Number(at[1]), maxRetriesPerRequest: null };
    const pairs: [string, Redis | FailoverRedis, Redis | FailoverRedis][] = [
      ['plain', new Redis(opts), new Redis(opts)],
      ['failover', res.client(ms.options()), res.client(ms.options({ maxRetriesPerRequest: null }))],
    ];
    for (const [kind, qc, wc] of pairs) {
      const name = `control-${kind}-${mode}`;
      const { queue, worker, runs, workerErrors } = queueAndWorker(name, qc, wc);
      try {
        await fiftyJobsProcessedOnce(kind, queue, runs, workerErrors, () => completedIds(ms.set.master, name));
      } finally {
        await worker.close();
        await queue.close();
        for (const c of [qc, wc]) {
          if (c instanceof Redis) c.disconnect();
          else await c.quit();
        }
      }
    }
  });

  it('kill -9 of the master halfway: every job whose add was acknowledged is processed and completed, a rerun only for a completion in flight at the kill; only ERR_MAYBE_APPLIED fails', async () => {
    const ms = await shared();
    const name = `orders-${mode}`;
    const queueConn = res.client(ms.options());
    const workerConn = res.client(ms.options({ maxRetriesPerRequest: null }));
    await Promise.all([queueConn.connect(), workerConn.connect()]);
    const { queue, worker, runs, workerErrors } = queueAndWorker(name, queueConn, workerConn);
    // BullMQ retries its scripts on 'Connection is closed.' (ERR_MAYBE_APPLIED's message): count
    // the commands in flight at the kill where they happen, on the clients' tracing channel.
    const inFlightAtKill = countMaybeApplied();

    const acked: { id: string; at: number }[] = [];
    const addErrors: unknown[] = [];
    let adding = true;
    const producer = (async () => {
      for (let i = 0; adding; i++) {
        try {
          const job = await queue.add('order', { i });
          acked.push({ id: job.id!, at: performance.now() });
        } catch (error) {
          addErrors.push(error);
        }
        await sleep(5);
      }
    })();

    try {
      await waitFor('100 acknowledged adds', () => acked.length >= 100 || undefined);
      // Async replication: what the master acknowledged after this WAIT may die with it.
      const syncedAt = performance.now();
      expect(await queueConn.wait(2, 5000)).toBe(2);
      const { address: newMaster, deadAt } = await killMaster(ms, queueConn).catch(async (e: Error) => {
        throw new Error(`${e.message}; ${await whoIsMaster(ms, [queueConn, workerConn])}`);
      });
      const killedAt = acked.length;
      await waitFor('100 more acknowledged adds after the failover', () => acked.length >= killedAt + 100 || undefined, 30_000);
      adding = false;
      await producer;

      // Acknowledged between the WAIT and the old master's death: async replication may lose these.
      const isAtRisk = (a: { at: number }) => a.at > syncedAt && a.at <= deadAt;
      const mustSurvive = acked.filter((a) => !isAtRisk(a));
      const atRisk = acked.filter(isAtRisk);
      let done = await waitFor(
        'every acknowledged job completed',
        async () => {
          const ids = await completedIds(newMaster, name);
          const failed = await failedJobs(newMaster, name);
          return mustSurvive.every((a) => ids.has(a.id) || failed.has(a.id)) ? ids : undefined;
        },
        20_000,
      ).catch(async (e: Error) => {
        const ids = await completedIds(newMaster, name);
        const missing = mustSurvive.filter((a) => !ids.has(a.id)).map((a) => a.id);
        const states = await withDirect(newMaster, async (c) => ({
          wait: await c.llen(`bull:${name}:wait`),
          active: await c.llen(`bull:${name}:active`),
          failed: await c.zcard(`bull:${name}:failed`),
        }));
        throw new Error(
          `${e.message}: ${missing.length} missing (${missing.slice(0, 5).join(',')}), ${ids.size} completed, queue ${JSON.stringify(states)}, ` +
            `worker running ${worker.isRunning()}, ${workerErrors.length} worker errors (${[...new Set(workerErrors.map((x) => (x as Error).message))].slice(0, 4).join(' | ')}); ${await whoIsMaster(ms, [queueConn, workerConn])}`,
        );
      });
      if (atRisk.some((a) => !done.has(a.id))) {
        await sleep(2000);
        done = await completedIds(newMaster, name);
      }
      const failed = await failedJobs(newMaster, name);
      const failedMaybeApplied = [...failed].filter(([, reason]) => MAYBE_APPLIED_REASON.test(reason)).map(([id]) => id);
      failedAfterFailover.set(mode, [...failed.keys()]);
      const settled = (id: string) => done.has(id) || failed.has(id);
      const lostBeforeSync = mustSurvive.filter((a) => !settled(a.id)).map((a) => a.id);
      const lostAfterSync = atRisk.filter((a) => !settled(a.id)).map((a) => a.id);
      const reruns = [...runs].filter(([, n]) => n > 1).map(([id]) => id);
      const maybeApplied = inFlightAtKill.count - addErrors.filter(isMaybeApplied).length;
      console.log(
        `bullmq ${mode}: ${acked.length} adds acknowledged (${addErrors.length} ERR_MAYBE_APPLIED), ${done.size} completed, ` +
          `${failed.size} failed (${failedMaybeApplied.length} with ERR_MAYBE_APPLIED from their completion), ` +
          `${workerErrors.filter((e) => /Missing lock|Lock mismatch/.test((e as Error).message)).length} lock lost on a completion retried after the kill, ` +
          `lost ${lostBeforeSync.length}, acknowledged between WAIT and kill ${atRisk.length} of which lost (async replication) ${lostAfterSync.length}, ` +
          `processor reruns ${reruns.length}, worker errors ${workerErrors.length}, worker commands in flight at the kill (ERR_MAYBE_APPLIED) ${maybeApplied}`,
      );

      expect(unexpected(addErrors), 'add errors').toEqual([]);
      // The Worker re-emits its connections' 'error' events: the lost sockets (as a plain ioredis
      // client emits them) and the one command in flight at the kill.
      // And the other branch of a completion in flight at the kill: it was applied (the job is
      // completed, its lock released), BullMQ took the ERR_MAYBE_APPLIED for a failure and its
      // moveToFailed then finds no lock ('Missing lock for job N. moveToFinished').
      // BullMQ's retry of that completion (it retries on 'Connection is closed.') then finds the lock
      // gone ('Missing lock') or taken again ('Lock mismatch'): its own at-least-once handling.
      const LOCK_LOST = /(?:Missing lock|Lock mismatch) for job (\S+)\. (?:Cmd )?moveToFinished/;
      // (BullMQ may report one job's lost lock more than once: counted by job.)
      const missingLock = [...new Set(workerErrors.map((e) => LOCK_LOST.exec((e as Error).message)?.[1]).filter((id) => id !== undefined))];
      for (const id of missingLock) expect(done.has(id), `job ${id} (missing lock) completed`).toBe(true);
      expect(missingLock.length + failedMaybeApplied.length).toBeLessThanOrEqual(maybeApplied);
      expect(
        unexpected(workerErrors).filter((e) => !/^(ECONNRESET|ECONNREFUSED|EPIPE):/.test(e) && !LOCK_LOST.test(e)),
        'worker errors',
      ).toEqual([]);
      expect(addErrors.length).toBeLessThanOrEqual(1);
      expect(lostBeforeSync, 'acknowledged jobs neither completed nor failed').toEqual([]);
      // Failed only where completing it was in flight at the kill (see MAYBE_APPLIED_REASON).
      expect([...failed].map(([id, reason]) => `${id}: ${reason}`), 'failed jobs, by reason').toEqual(failedMaybeApplied.map((id) => `${id}: ${failed.get(id)}`));
      expect(failedMaybeApplied.length).toBeLessThanOrEqual(4); // concurrency 4
      // A processor run twice only where its completion was in flight at the kill (at-least-once).
      expect(reruns.length).toBeLessThanOrEqual(maybeApplied);
      expect(reruns.length).toBeLessThanOrEqual(4); // concurrency 4
      // Every completed or failed job was processed (none settled without a run).
      for (const id of [...done, ...failed.keys()]) expect(runs.get(id) ?? 0).toBeGreaterThanOrEqual(1);
    } finally {
      inFlightAtKill.stop();
      adding = false;
      await producer;
      await worker.close();
      await queue.close();
    }
  });
});

// A completion in flight at the kill rejects with ERR_MAYBE_APPLIED and ioredis's message for a
// command lost with its connection ('Connection is closed.'), on which BullMQ retries its
// moveToFinished script itself: no job processed once ends in the failed set.
describe.each(MODES)('BullMQ strict: every acknowledged job in the completed set, %s mode', (mode) => {
  it('no job in the failed set after the failover', () => {
    expect(failedAfterFailover.get(mode)).toEqual([]);
  });
});
