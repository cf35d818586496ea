import { afterAll, describe, expect, it } from 'vitest';
import { FailoverRedis, type FailoverEvent } from '../../src/index.js';
import { startReplicaSet, type ReplicaSet } from '../../src/testing/index.js';
import { direct } from '../helpers/redis.js';
import { checkCounters, role, startWriter, waitFor } from '../helpers/writer.js';

const sets: ReplicaSet[] = [];
const clients: FailoverRedis[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
  await Promise.all(sets.map((s) => s.stop()));
});

async function setUp() {
  const set = await startReplicaSet({ replicas: 2 });
  sets.push(set);
  const redis = new FailoverRedis({ nodes: [set.master] });
  redis.on('error', () => undefined);
  clients.push(redis);
  await redis.connect();
  return { set, redis };
}

describe('switchover under a 2 ms writer', () => {
  it.each(['pause-and-replicaof', 'failover-command'] as const)('%s: master moved, 0 acknowledged writes lost, 0 write errors', async (method) => {
    const { set, redis } = await setUp();
    const failovers: FailoverEvent[] = [];
    redis.on('failover', (e) => failovers.push(e));
    const writer = startWriter(redis, 'sw', 2);
    await new Promise((r) => setTimeout(r, 200));
    const target = set.replicas[1]!;
    const result = await redis.switchover({ to: target, method });
    await new Promise((r) => setTimeout(r, 200));
    const written = await writer.stop();

    expect(result).toMatchObject({ from: set.master, to: target, method });
    expect(await role(target)).toEqual({ role: 'master', master: null });
    await waitFor('the old master to follow', async () => (await role(set.master)).master === target);
    await waitFor('the other replica to follow', async () => (await role(set.replicas[0]!)).master === target);
    expect(redis.topology().master?.address).toBe(target);
    expect(written.failed.map((f) => f.error.message)).toEqual([]);
    const { lost, doubled } = await checkCounters(target, written);
    expect(lost).toEqual([]);
    expect(doubled).toEqual([]);
    expect(failovers).toHaveLength(1);
    expect(failovers[0]!.reason).toContain('switchover');
  });
});

describe('a role change this client did not make', () => {
  it("Redis's own FAILOVER (no disconnect): writes meet READONLY, are re-sent to the new master, nothing fails", async () => {
    const { set, redis } = await setUp();
    const writer = startWriter(redis, 'ro', 2);
    await new Promise((r) => setTimeout(r, 200));
    const admin = direct(set.master);
    const [host, port] = set.replicas[0]!.split(':');
    await admin.call('FAILOVER', 'TO', host!, port!);
    admin.disconnect();
    await waitFor('the client to follow', () => redis.topology().master?.address === set.replicas[0]);
    const since = performance.now();
    await writer.ackAfter(since);
    const written = await writer.stop();
    expect(written.failed.map((f) => f.error.message)).toEqual([]);
    const { lost, doubled } = await checkCounters(set.replicas[0]!, written);
    expect(lost).toEqual([]);
    expect(doubled).toEqual([]);
  });
});

describe('switchover repoints the other replicas', () => {
  it('after FAILOVER TO, every replica follows the new master (Redis only swaps the two)', async () => {
    const { set, redis } = await setUp();
    const target = set.replicas[0]!;
    await redis.switchover({ to: target, method: 'failover-command' });
    const other = set.replicas[1]!;
    expect((await role(other)).master).toBe(target);
  });
});
