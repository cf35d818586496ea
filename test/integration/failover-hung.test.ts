import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailoverRedis, type FailoverEvent } from '../../src/index.js';
import { startReplicaSet, type ReplicaSet } from '../../src/testing/index.js';
import { direct } from '../helpers/redis.js';
import { checkCounters, role, startWriter, syncPoint, waitFor } from '../helpers/writer.js';

let set: ReplicaSet;
let redis: FailoverRedis;
beforeAll(async () => {
  set = await startReplicaSet({ replicas: 2 });
});
afterAll(async () => {
  if (set) set.resume(set.master);
  await redis?.quit().catch(() => undefined);
  await set?.stop();
});

describe('client mode: a hung master (SIGSTOP, TCP connection kept)', () => {
  it('is detected by the heartbeat, replaced, and demoted — not written to — when it wakes up', async () => {
    const downAfterMs = 1000;
    redis = new FailoverRedis({ nodes: [set.master], failover: { downAfterMs } });
    redis.on('error', () => undefined);
    const failovers: FailoverEvent[] = [];
    redis.on('failover', (e) => failovers.push(e));
    await redis.connect();
    const oldMaster = set.master;
    const writer = startWriter(redis, 'hung');
    await new Promise((r) => setTimeout(r, 300));

    const syncedAt = await syncPoint(redis, 2);
    const pausedAt = performance.now();
    set.pause(oldMaster);
    await waitFor('a failover while the master is hung', () => failovers.length > 0, 10_000);
    const resumedAt = await writer.ackAfter(pausedAt);
    // Keep it stopped for at least 3× downAfterMs, then wake it up.
    await new Promise((r) => setTimeout(r, Math.max(0, 3 * downAfterMs - (performance.now() - pausedAt))));
    const before = redis.topology().master!.address;
    set.resume(oldMaster);
    await waitFor('the old master to be demoted', async () => (await role(oldMaster)).master === before);
    await new Promise((r) => setTimeout(r, 300));
    const result = await writer.stop();

    const newMaster = redis.topology().master!.address;
    expect(newMaster).toBe(before);
    expect(newMaster).not.toBe(oldMaster);
    expect(failovers[0]).toMatchObject({ from: oldMaster, to: newMaster });
    expect(resumedAt - pausedAt).toBeLessThan(8000);
    const { lost, doubled } = await checkCounters(newMaster, result, syncedAt);
    expect(lost).toEqual([]);
    expect(doubled).toEqual([]);

    // No write reached the old master after it was replaced: it holds nothing the new one lacks.
    const old = direct(oldMaster);
    await waitFor('the old master to finish its resync', async () => (await old.info('replication')).includes('master_link_status:up'));
    const keys = await old.keys('hung:*');
    old.disconnect();
    const fresh = direct(newMaster);
    const missingOnNew = keys.length ? (await fresh.exists(...keys)) - keys.length : 0;
    fresh.disconnect();
    expect(missingOnNew).toBe(0);
  });
});
