import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailoverRedis, MaybeAppliedError, type FailoverEvent } from '../../src/index.js';
import { startReplicaSet, type ReplicaSet } from '../../src/testing/index.js';
import { checkCounters, role, startWriter, syncPoint, waitFor } from '../helpers/writer.js';

let set: ReplicaSet;
let redis: FailoverRedis;
beforeAll(async () => {
  set = await startReplicaSet({ replicas: 2 });
});
afterAll(async () => {
  await redis?.quit().catch(() => undefined);
  await set?.stop();
});

describe('client mode: master kill -9', () => {
  it('promotes a replica, repoints the other, loses no acknowledged write, doubles none, and demotes the old master when it returns', async () => {
    redis = new FailoverRedis({ nodes: [set.replicas[0]!], failover: { downAfterMs: 1000 } });
    redis.on('error', () => undefined);
    const failovers: FailoverEvent[] = [];
    redis.on('failover', (e) => failovers.push(e));
    await redis.connect();
    const oldMaster = set.master;
    const writer = startWriter(redis, 'kill');
    await new Promise((r) => setTimeout(r, 300));

    const syncedAt = await syncPoint(redis, 2);
    const killedAt = performance.now();
    await set.kill(oldMaster);
    const resumedAt = await writer.ackAfter(killedAt);
    await new Promise((r) => setTimeout(r, 300));
    const result = await writer.stop();

    // The servers say so: one replica is master, the other follows it.
    const newMaster = redis.topology().master!.address;
    expect(newMaster).not.toBe(oldMaster);
    expect(set.replicas).toContain(newMaster);
    expect(await role(newMaster)).toEqual({ role: 'master', master: null });
    const other = set.replicas.find((r) => r !== newMaster)!;
    await waitFor('the other replica to follow the new master', async () => (await role(other)).master === newMaster);

    expect(failovers).toHaveLength(1);
    expect(failovers[0]).toMatchObject({ from: oldMaster, to: newMaster });
    expect(resumedAt - killedAt).toBeLessThan(5000); // generous; the tight number lives in bench/

    // Nothing lost, nothing doubled; a write in flight at the kill may only say it may have been applied.
    const { lost, doubled } = await checkCounters(newMaster, result, syncedAt);
    expect(lost).toEqual([]);
    expect(doubled).toEqual([]);
    for (const f of result.failed) expect(f.error).toBeInstanceOf(MaybeAppliedError);
    expect(result.failed.length).toBeLessThanOrEqual(1);

    // The old master comes back as a master (empty, no persistence): it is demoted, never written to.
    await set.restart(oldMaster);
    await waitFor('the old master to be demoted', async () => (await role(oldMaster)).master === newMaster);
    await redis.set('after-rejoin', '1');
    expect(redis.topology().master!.address).toBe(newMaster);
  });
});
