import { Queue, Worker, type Job } from 'bullmq';
import { Cluster as IoCluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailoverCluster, type FailoverClusterOptions } from '../../../src/index.js';
import { slotOf } from '../../../src/cluster/slot.js';
import { startCluster, type Cluster } from '../../../src/testing/index.js';
import { fiftyJobsProcessedOnce } from '../../helpers/libraries.js';
import { waitFor } from '../../helpers/writer.js';

// BullMQ 6 on a Redis Cluster: the queue's keys share one slot through the `{bull}` prefix, as
// BullMQ requires on a cluster. The same control on plain ioredis `Cluster` and FailoverCluster,
// then a kill -9 of the master of that slot's shard under a producer and a worker.

const PREFIX = '{bull}';
const hostPort = (a: string) => ({ host: a.slice(0, a.lastIndexOf(':')), port: Number(a.slice(a.lastIndexOf(':') + 1)) });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let cluster: Cluster;
const closers: Array<() => Promise<unknown> | void> = [];

function failoverCluster(options: FailoverClusterOptions = {}): FailoverCluster {
  const fc = new FailoverCluster({ nodes: cluster.masters, failover: { downAfterMs: 1000 }, commandTimeoutMs: 20_000, ...options });
  fc.on('error', () => undefined);
  closers.push(() => fc.disconnect());
  return fc;
}

/** The master of the shard serving the queue's slot, by the cluster's own CLUSTER SHARDS. */
function queueShard(): { master: string; replicas: string[] } {
  const slot = slotOf(PREFIX);
  const shard = cluster.shards.find((s) => s.slots.some(([a, b]) => slot >= a && slot <= b))!;
  return { master: shard.master, replicas: shard.replicas };
}

function queueAndWorker(name: string, queueConn: unknown, workerConn: unknown) {
  const runs = new Map<string, number>();
  const workerErrors: Error[] = [];
  const queue = new Queue(name, { connection: queueConn as Redis, prefix: PREFIX });
  queue.on('error', () => undefined);
  const worker = new Worker(
    name,
    async (job: Job) => {
      runs.set(job.id!, (runs.get(job.id!) ?? 0) + 1);
    },
    { connection: workerConn as Redis, prefix: PREFIX, concurrency: 4, lockDuration: 3000, stalledInterval: 1500, maxStalledCount: 3 },
  );
  worker.on('error', (e) => workerErrors.push(e));
  return { queue, worker, runs, workerErrors };
}

async function setOf(address: string, key: string): Promise<Set<string>> {
  const conn = new Redis({ ...hostPort(address), maxRetriesPerRequest: 0, retryStrategy: () => null });
  conn.on('error', () => undefined);
  try {
    return new Set(await conn.zrange(key, '0', '-1'));
  } finally {
    conn.disconnect();
  }
}

beforeAll(async () => {
  // Two replicas a shard: after the failover the new master still has one for the adds' WAIT.
  cluster = await startCluster({ shards: 3, replicasPerShard: 2, nodeTimeoutMs: 1000 });
});
afterAll(async () => {
  for (const close of closers) await close();
  await cluster?.stop();
});

describe('BullMQ 6 on a Redis Cluster', () => {
  it('control: plain ioredis Cluster, then FailoverCluster: 50 jobs added, each processed once and completed', async () => {
    const { master } = queueShard();
    const plain = () => {
      const c = new IoCluster(cluster.masters.map(hostPort), { redisOptions: { maxRetriesPerRequest: null } });
      c.on('error', () => undefined);
      closers.push(() => c.disconnect());
      return c;
    };
    for (const [kind, qc, wc] of [
      ['plain', plain(), plain()],
      ['failover', failoverCluster(), failoverCluster({ redisOptions: { maxRetriesPerRequest: null } })],
    ] as const) {
      const name = `control-${kind}`;
      const { queue, worker, runs, workerErrors } = queueAndWorker(name, qc, wc);
      try {
        await fiftyJobsProcessedOnce(kind, queue, runs, workerErrors, () => setOf(master, `${PREFIX}:${name}:completed`));
      } finally {
        await worker.close();
        await queue.close();
      }
    }
  });

  it('kill -9 of the queue shard\'s master: every acknowledged add completes (adds with durability: WAIT for the replica); only ERR_MAYBE_APPLIED fails', async () => {
    const { master, replicas } = queueShard();
    const name = 'orders';
    // Adds are acknowledged only once the shard's replica has them: none can die with the master.
    const queueConn = failoverCluster({ durability: { replicas: 1, timeoutMs: 2000 } });
    const workerConn = failoverCluster({ redisOptions: { maxRetriesPerRequest: null } });
    await Promise.all([queueConn.connect(), workerConn.connect()]);
    const { queue, worker, runs, workerErrors } = queueAndWorker(name, queueConn, workerConn);
    const acked: string[] = [];
    const addErrors: Array<{ code?: string; message: string }> = [];
    let adding = true;
    const producer = (async () => {
      for (let i = 0; adding; i++) {
        try {
          acked.push((await queue.add('order', { i })).id!);
        } catch (error) {
          addErrors.push(error as Error);
        }
        await sleep(5);
      }
    })();
    try {
      await waitFor('100 acknowledged adds', () => acked.length >= 100 || undefined);
      await cluster.kill(master);
      const atKill = acked.length;
      await waitFor('100 more acknowledged adds after the failover', () => acked.length >= atKill + 100 || undefined, 30_000).catch((e: Error) => {
        throw new Error(`${e.message}: ${acked.length - atKill} after the kill, add errors ${addErrors.slice(-3).map((x) => x.code ?? x.message).join(', ')}`);
      });
      // The new master: the replica the cluster promoted.
      const replica = (await queueConn.refreshTopology()).shards.find((s) => replicas.includes(s.master?.address ?? ''))!.master!.address;
      adding = false;
      await producer;
      const completed = await waitFor(
        'every acknowledged job completed or failed',
        async () => {
          const done = await setOf(replica, `${PREFIX}:${name}:completed`);
          const failed = await setOf(replica, `${PREFIX}:${name}:failed`);
          return acked.every((id) => done.has(id) || failed.has(id)) ? done : undefined;
        },
        30_000,
      );
      const failed = await setOf(replica, `${PREFIX}:${name}:failed`);
      const reruns = [...runs].filter(([, n]) => n > 1).map(([id]) => id);
      console.log(
        `bullmq on FailoverCluster: ${acked.length} adds acknowledged (${addErrors.length} failed: ${addErrors.map((e) => e.code ?? e.message).join(', ') || 'none'}), ` +
          `${completed.size} completed, ${failed.size} failed, processor reruns ${reruns.length}, worker errors ${workerErrors.length} (${[...new Set(workerErrors.map((e) => e.message))].slice(0, 4).join(' | ')})`,
      );
      // An add in flight at the kill may have run: said so, never resent (at most one: adds are awaited one by one).
      expect(addErrors.filter((e) => e.code !== 'ERR_MAYBE_APPLIED').map((e) => e.message)).toEqual([]);
      expect(addErrors.length).toBeLessThanOrEqual(1);
      // A job whose completion was in flight may be run again or land in failed: at most the worker's concurrency.
      expect(reruns.length).toBeLessThanOrEqual(4);
      expect(failed.size).toBeLessThanOrEqual(4);
      for (const id of [...completed, ...failed]) expect(runs.get(id) ?? 0).toBeGreaterThanOrEqual(1);
      // The worker's errors: lost sockets, a command in flight at the kill, BullMQ's lock checks after it.
      const expected = /^(ECONNRESET|ECONNREFUSED|EPIPE)|Connection is closed\.|Missing lock|Lock mismatch/;
      expect(workerErrors.map((e) => e.message).filter((m) => !expected.test(m))).toEqual([]);
    } finally {
      adding = false;
      await producer;
      await worker.close();
      await queue.close();
    }
  });
});
