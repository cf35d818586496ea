import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { FailoverRedis } from '../../../src/index.js';
import { isMaybeApplied, killMaster, sharedSet, MODES, sleep, unexpected, withDirect } from '../../helpers/libraries.js';
import { resources } from '../../helpers/resources.js';
import { waitFor } from '../../helpers/writer.js';

const res = resources();

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

describe.each(MODES)('BullMQ 6 Queue + Worker, %s mode', (mode) => {
  // One set per mode: the control runs first on it, then the failover test kills its master.
  const shared = sharedSet(res, mode);

  it('control, plain ioredis on the master: 50 jobs added, each processed once and completed', async () => {
    const ms = await shared();
    const at = ms.set.master.split(':');
    const opts = { host: at[0], port: Number(at[1]), maxRetriesPerRequest: null };
    const qc = new Redis(opts);
    const wc = new Redis(opts);
    const { queue, worker, runs } = queueAndWorker(`control-${mode}`, qc, wc);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 50; i++) ids.push((await queue.add('j', { i })).id!);
      await waitFor('50 completed', async () => (await completedIds(ms.set.master, `control-${mode}`)).size === 50 || undefined);
      expect([...runs.values()].filter((n) => n !== 1)).toEqual([]);
      expect([...runs.keys()].sort()).toEqual([...ids].sort());
    } finally {
      await worker.close();
      await queue.close();
      qc.disconnect();
      wc.disconnect();
    }
  });

  it('kill -9 of the master halfway: every job whose add was acknowledged is completed and processed once (a rerun only for a completion in flight at the kill); only ERR_MAYBE_APPLIED fails', async () => {
    const ms = await shared();
    const name = `orders-${mode}`;
    const queueConn = res.client(ms.options());
    const workerConn = res.client(ms.options({ maxRetriesPerRequest: null }));
    await Promise.all([queueConn.connect(), workerConn.connect()]);
    const { queue, worker, runs, workerErrors } = queueAndWorker(name, queueConn, workerConn);

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
      const { address: newMaster, deadAt } = await killMaster(ms, queueConn);
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
          return mustSurvive.every((a) => ids.has(a.id)) ? ids : undefined;
        },
        30_000,
      );
      if (atRisk.some((a) => !done.has(a.id))) {
        await sleep(2000);
        done = await completedIds(newMaster, name);
      }
      const lostBeforeSync = mustSurvive.filter((a) => !done.has(a.id)).map((a) => a.id);
      const lostAfterSync = atRisk.filter((a) => !done.has(a.id)).map((a) => a.id);
      const reruns = [...runs].filter(([, n]) => n > 1).map(([id]) => id);
      const maybeApplied = workerErrors.filter(isMaybeApplied).length;
      console.log(
        `bullmq ${mode}: ${acked.length} adds acknowledged (${addErrors.length} ERR_MAYBE_APPLIED), ${done.size} completed, ` +
          `lost ${lostBeforeSync.length}, acknowledged between WAIT and kill ${atRisk.length} of which lost (async replication) ${lostAfterSync.length}, ` +
          `processor reruns ${reruns.length}, worker errors ${workerErrors.length} (${maybeApplied} ERR_MAYBE_APPLIED)`,
      );

      expect(unexpected(addErrors)).toEqual([]);
      // The Worker re-emits its connections' 'error' events: the lost sockets (as a plain ioredis
      // client emits them) and the one command in flight at the kill.
      expect(unexpected(workerErrors).filter((e) => !/^(ECONNRESET|ECONNREFUSED|EPIPE):/.test(e))).toEqual([]);
      expect(addErrors.length).toBeLessThanOrEqual(1);
      expect(lostBeforeSync).toEqual([]);
      // A processor run twice only where its completion was in flight at the kill (at-least-once).
      expect(reruns.length).toBeLessThanOrEqual(maybeApplied);
      expect(reruns.length).toBeLessThanOrEqual(4); // concurrency 4
      // Every completed job was processed (no job completed without a run).
      for (const id of done) expect(runs.get(id) ?? 0).toBeGreaterThanOrEqual(1);
    } finally {
      adding = false;
      await producer;
      await worker.close();
      await queue.close();
    }
  });
});
