// Zone-affine reads on a real replica set, proven by each node's own INFO commandstats. Redis 7.0
// reports no zone of its own, so the zones come from the `zones` option, as they would in production.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailoverRedis, InvalidOptionError } from '../../src/index.js';
import { startReplicaSet, type ReplicaSet } from '../../src/testing/index.js';
import { cli } from '../helpers/cli.js';
import { reportingZone } from '../helpers/valkey-zone.js';
import { commandCalls, resetStats, waitForReplication } from '../helpers/redis.js';

let set: ReplicaSet;
const clients: FailoverRedis[] = [];
function client(input: ConstructorParameters<typeof FailoverRedis>[0], extra?: ConstructorParameters<typeof FailoverRedis>[1]): FailoverRedis {
  const c = new FailoverRedis(input, extra);
  c.on('error', () => {});
  clients.push(c);
  return c;
}

/** Two replicas in az1, one in az2, the master in az3. */
let zones: Record<string, string>;
let az1: string[];
let az2: string;

beforeAll(async () => {
  set = await startReplicaSet({ replicas: 3 });
  az1 = [set.replicas[0]!, set.replicas[1]!];
  az2 = set.replicas[2]!;
  zones = { [az1[0]!]: 'az1', [az1[1]!]: 'az1', [az2]: 'az2', [set.master]: 'az3' };
  const seed = client({ nodes: [set.master], readFrom: 'master' });
  await seed.set('zone:k', 'v');
  await waitForReplication(set.master, 3);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
  await set?.stop();
});

/** `reads` GETs through `redis`, and where each node's commandstats says they ran. */
async function getsOn(redis: Pick<FailoverRedis, 'get'>, reads = 200, nodes = set.nodes): Promise<Record<string, number>> {
  await resetStats(nodes);
  for (let i = 0; i < reads; i++) expect(await redis.get('zone:k')).toBe('v');
  return commandCalls(nodes, 'get');
}

describe('zone-affine reads on FailoverRedis (INFO commandstats)', () => {
  it("zoneAffinity from a URL: every read on the two replicas of the client's zone, round robin", async () => {
    const redis = client(`redis://${set.master}?readFrom=zoneAffinity&zone=az1`, { zones });
    await redis.connect();
    const t = redis.topology();
    expect(Object.fromEntries([t.master!, ...t.replicas].map((n) => [n.address, n.zone]))).toEqual(zones);
    const gets = await getsOn(redis);
    expect([gets[set.master], gets[az2]]).toEqual([0, 0]);
    for (const r of az1) expect(Math.abs(gets[r]! - 100)).toBeLessThanOrEqual(10);
  });

  it('zoneAffinity with no replica in the zone: the other replicas, never the master', async () => {
    const redis = client({ nodes: [set.master], readFrom: 'zoneAffinity', zone: 'az3', zones });
    await redis.connect();
    const gets = await getsOn(redis, 300);
    expect(gets[set.master]).toBe(0);
    for (const r of set.replicas) expect(Math.abs(gets[r]! - 100)).toBeLessThanOrEqual(10);
  });

  it('zoneAffinityReplicasAndPrimary: a master in the zone serves reads, before any replica of another zone', async () => {
    const redis = client({ nodes: [set.master], readFrom: 'zoneAffinityReplicasAndPrimary', zone: 'az3', zones });
    await redis.connect();
    const gets = await getsOn(redis);
    expect(gets).toEqual({ [set.master]: 200, [az1[0]!]: 0, [az1[1]!]: 0, [az2]: 0 });
    // In az2 the master is of another zone: az2's one replica takes every read.
    const inAz2 = client({ nodes: [set.master], readFrom: 'zoneAffinityReplicasAndPrimary', zone: 'az2', zones });
    await inAz2.connect();
    expect(await getsOn(inAz2)).toEqual({ [set.master]: 0, [az1[0]!]: 0, [az1[1]!]: 0, [az2]: 200 });
  });

  it('in views: withReadFrom a zone policy on a client with a zone; refused without one', async () => {
    const redis = client({ nodes: [set.master], readFrom: 'master', zone: 'az2', zones: (address) => zones[address] });
    await redis.connect();
    expect(await getsOn(redis.withReadFrom('zoneAffinity'), 50)).toEqual({ [set.master]: 0, [az1[0]!]: 0, [az1[1]!]: 0, [az2]: 50 });
    const noZone = client({ nodes: [set.master], redisOptions: { lazyConnect: true } });
    expect(() => noZone.withReadFrom('zoneAffinity')).toThrow(InvalidOptionError);
    expect(() => client({ nodes: [set.master], readFrom: 'zoneAffinity' })).toThrow(/Invalid option "zone"/);
  });

  it("composes with read-your-writes: a read of the client's own write never misses it", async () => {
    const redis = client({ nodes: [set.master], readFrom: 'zoneAffinity', zone: 'az1', zones });
    await redis.connect();
    for (let i = 0; i < 50; i++) {
      await redis.set('zone:ryw', String(i));
      expect(await redis.get('zone:ryw')).toBe(String(i));
    }
  });

  it("a zone the server reports (Valkey 8.1's availability_zone) wins over the zones option", async () => {
    // One az1 replica says it is in az2: the client in az1 now has one replica there.
    const reporting = new FailoverRedis({ nodes: [set.master], readFrom: 'zoneAffinity', zone: 'az1', zones }, undefined, {
      connectionFactory: reportingZone(az1[1]!, 'az2'),
    });
    reporting.on('error', () => {});
    clients.push(reporting);
    await reporting.connect();
    expect(reporting.topology().replicas.find((r) => r.address === az1[1])?.zone).toBe('az2');
    expect(await getsOn(reporting, 100)).toEqual({ [set.master]: 0, [az1[0]!]: 100, [az1[1]!]: 0, [az2]: 0 });
  });

  it('the CLI’s status shows each node’s zone from --zones', async () => {
    const pairs = Object.entries(zones).map(([address, zone]) => `${address}=${zone}`).join(',');
    const { code, stdout } = await cli(['status', set.master, '--zones', pairs]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/REPLICAS +ZONE/);
    for (const [address, zone] of Object.entries(zones)) expect(stdout).toMatch(new RegExp(`^${address} .* ${zone}\\s*$`, 'm'));
    const json = await cli(['status', set.master, '--zones', pairs, '--json']);
    const nodes = (JSON.parse(json.stdout) as { nodes: Array<{ address: string; zone: string | null }> }).nodes;
    expect(Object.fromEntries(nodes.map((n) => [n.address, n.zone]))).toEqual(zones);
  });

  // Last: it kills the replicas.
  it('falls back as the replicas of the zone go: to the other zone’s replica, then to the master', async () => {
    // No fence: with every replica gone the master has none left to hear from, and this test is about reads.
    const redis = client({ nodes: [set.master], readFrom: 'zoneAffinity', zone: 'az1', zones, fencing: false });
    await redis.connect();
    await Promise.all(az1.map((r) => set.kill(r)));
    await until(() => redis.topology().replicas.filter((r) => r.up).length === 1);
    expect(await getsOn(redis, 100, [set.master, az2])).toEqual({ [set.master]: 0, [az2]: 100 });
    await set.kill(az2);
    await until(() => redis.topology().replicas.every((r) => !r.up));
    expect(await getsOn(redis, 100, [set.master])).toEqual({ [set.master]: 100 });
  });
});

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the picture to change');
    await new Promise((r) => setTimeout(r, 50));
  }
}
