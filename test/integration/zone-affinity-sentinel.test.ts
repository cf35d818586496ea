// Zone-affine reads in Sentinel mode: the zones option applies to the picture the Sentinels give.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FailoverRedis } from '../../src/index.js';
import { startReplicaSet, type ReplicaSet } from '../../src/testing/index.js';
import { commandCalls, direct, resetStats } from '../helpers/redis.js';

let set: ReplicaSet;
let redis: FailoverRedis | undefined;

beforeAll(async () => {
  set = await startReplicaSet({ replicas: 2, sentinels: 1 });
});

afterAll(async () => {
  await redis?.quit().catch(() => undefined);
  await set?.stop();
});

it('a redis+sentinel:// URL with readFrom=zoneAffinity&zone=: every GET on the replica of the zone (INFO commandstats)', async () => {
  const [az1, az2] = set.replicas as [string, string];
  const zones = { [set.master]: 'az1', [az1]: 'az1', [az2]: 'az2' };
  const master = direct(set.master);
  try {
    await master.set('zone:k', 'v');
    await master.wait(2, 5000);
  } finally {
    master.disconnect();
  }
  redis = new FailoverRedis(`redis+sentinel://${set.sentinels[0]}/${set.name}?readFrom=zoneAffinity&zone=az1`, { zones });
  redis.on('error', () => {});
  await redis.connect();
  const t = redis.topology();
  expect(t.source).toBe('sentinel');
  expect(Object.fromEntries([t.master!, ...t.replicas].map((n) => [n.address, n.zone]))).toEqual(zones);
  await resetStats(set.nodes);
  for (let i = 0; i < 100; i++) expect(await redis.get('zone:k')).toBe('v');
  expect(await commandCalls(set.nodes, 'get')).toEqual({ [set.master]: 0, [az1]: 100, [az2]: 0 });
});
