import { afterAll, describe, expect, it } from 'vitest';
import { FailoverRedis, type ConnectionPurpose, type FailoverEvent } from '../../src/index.js';
import { defaultConnectionFactory } from '../../src/pool/node-pool.js';
import { startReplicaSet, type ReplicaSet } from '../../src/testing/index.js';
import { direct } from '../helpers/redis.js';
import { checkCounters, role, startWriter, syncPoint, waitFor } from '../helpers/writer.js';

const sets: ReplicaSet[] = [];
const clients: FailoverRedis[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
  await Promise.all(sets.map((s) => s.stop()));
});

async function sentinelMaster(set: ReplicaSet): Promise<string> {
  const s = direct(set.sentinels[0]!);
  try {
    const [host, port] = (await s.call('SENTINEL', 'get-master-addr-by-name', set.name)) as [string, string];
    return `${host}:${port}`;
  } finally {
    s.disconnect();
  }
}

async function setUp() {
  const set = await startReplicaSet({ replicas: 2, sentinels: 3, downAfterMs: 1000 });
  sets.push(set);
  const redis = new FailoverRedis({ sentinels: [set.sentinels[1]!], name: set.name });
  redis.on('error', () => undefined);
  clients.push(redis);
  await redis.connect();
  return { set, redis };
}

describe('Sentinel mode', () => {
  it('discovers the set from one Sentinel', async () => {
    const { set, redis } = await setUp();
    const t = redis.topology();
    expect(t.source).toBe('sentinel');
    expect(t.master?.address).toBe(set.master);
    expect(t.replicas.map((r) => r.address).sort()).toEqual([...set.replicas].sort());
  });

  it('master kill -9: follows the promotion, writes resume, nothing acknowledged is lost or doubled', async () => {
    const { set, redis } = await setUp();
    const failovers: FailoverEvent[] = [];
    redis.on('failover', (e) => failovers.push(e));
    const writer = startWriter(redis, 'sentinel');
    await new Promise((r) => setTimeout(r, 300));
    const syncedAt = await syncPoint(redis, 2);
    const killedAt = performance.now();
    await set.kill(set.master);
    const resumedAt = await writer.ackAfter(killedAt, 30_000);
    await new Promise((r) => setTimeout(r, 200));
    const result = await writer.stop();

    const expected = await sentinelMaster(set);
    expect(expected).not.toBe(set.master);
    expect(redis.topology().master?.address).toBe(expected);
    expect(await role(expected)).toEqual({ role: 'master', master: null });
    expect(failovers[0]).toMatchObject({ from: set.master, to: expected });
    expect(failovers[0]!.reason).toMatch(/sentinel/);
    expect(resumedAt - killedAt).toBeLessThan(20_000);
    const { lost, doubled } = await checkCounters(expected, result, syncedAt);
    expect(lost).toEqual([]);
    expect(doubled).toEqual([]);
  });

  it('switchover asks Sentinel, holds the writes, loses none', async () => {
    const { set, redis } = await setUp();
    const writer = startWriter(redis, 'ssw', 2);
    await new Promise((r) => setTimeout(r, 200));
    const result = await redis.switchover();
    await new Promise((r) => setTimeout(r, 200));
    const written = await writer.stop();
    expect(result.method).toBe('sentinel-failover');
    expect(result.from).toBe(set.master);
    await waitFor('Sentinel to agree', async () => (await sentinelMaster(set)) === result.to);
    expect(written.failed.map((f) => f.error.message)).toEqual([]);
    const { lost, doubled } = await checkCounters(result.to, written);
    expect(lost).toEqual([]);
    expect(doubled).toEqual([]);
  });

  it('one injected connection factory makes the Sentinel connections too, named by purpose', async () => {
    const set = await startReplicaSet({ replicas: 1, sentinels: 1, downAfterMs: 1000 });
    sets.push(set);
    const purposes = new Set<ConnectionPurpose>();
    const redis = new FailoverRedis({ sentinels: [set.sentinels[0]!], name: set.name }, undefined, {
      connectionFactory: (node, purpose, options) => {
        purposes.add(purpose);
        return defaultConnectionFactory(node, purpose, options);
      },
    });
    redis.on('error', () => undefined);
    clients.push(redis);
    await redis.connect();
    await redis.set('factory', '1');
    expect([...purposes].sort()).toEqual(['control', 'data', 'sentinel', 'sentinel-subscriber']);
  });
});
