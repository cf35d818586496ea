// Zone-affine reads per shard on a real Redis Cluster, proven by each node's INFO commandstats.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slotOf } from '../../src/cluster/slot.js';
import { FailoverCluster } from '../../src/index.js';
import { startCluster, type Cluster } from '../../src/testing/index.js';
import { cli } from '../helpers/cli.js';
import { reportingZone } from '../helpers/valkey-zone.js';
import { commandCalls, direct, resetStats } from '../helpers/redis.js';

let cluster: Cluster;
const clients: FailoverCluster[] = [];
function client(options: ConstructorParameters<typeof FailoverCluster>[0]): FailoverCluster {
  const c = new FailoverCluster(options);
  c.on('error', () => {});
  clients.push(c);
  return c;
}

/** Per shard: replica 0 in az1, replica 1 in az2; shard 0's master in az1, shard 1's in az3. */
let zones: Record<string, string>;
const keys = Array.from({ length: 60 }, (_, i) => `zone:${i}`);
const sum = (counts: Record<string, number>, nodes: readonly string[]): number => nodes.reduce((n, a) => n + (counts[a] ?? 0), 0);

beforeAll(async () => {
  cluster = await startCluster({ shards: 2, replicasPerShard: 2, nodeTimeoutMs: 1000 });
  const [s0, s1] = cluster.shards;
  zones = {
    [s0!.master]: 'az1', [s0!.replicas[0]!]: 'az1', [s0!.replicas[1]!]: 'az2',
    [s1!.master]: 'az3', [s1!.replicas[0]!]: 'az1', [s1!.replicas[1]!]: 'az2',
  };
  const seed = client({ nodes: [cluster.masters[0]!], readFrom: 'master' });
  await Promise.all(keys.map((k) => seed.set(k, k)));
  for (const m of cluster.masters) {
    const conn = direct(m);
    await conn.wait(2, 5000).finally(() => conn.disconnect());
  }
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await cluster?.stop();
});

async function getsOn(fc: FailoverCluster): Promise<Record<string, number>> {
  await fc.withReadFrom('master').ping();
  await resetStats(cluster.nodes);
  for (const k of keys) expect(await fc.get(k)).toBe(k);
  return commandCalls(cluster.nodes, 'get');
}

describe('zone-affine reads on FailoverCluster (INFO commandstats)', () => {
  it("zoneAffinity (URL form): every shard's reads on its replica in the client's zone", async () => {
    const fc = new FailoverCluster(`redis+cluster://${cluster.masters[0]}?readFrom=zoneAffinity&zone=az1`, { zones });
    fc.on('error', () => {});
    clients.push(fc);
    const gets = await getsOn(fc);
    const [s0, s1] = cluster.shards;
    expect(gets[s0!.replicas[0]!]).toBeGreaterThan(0);
    expect(gets[s1!.replicas[0]!]).toBeGreaterThan(0);
    expect(gets[s0!.replicas[0]!]! + gets[s1!.replicas[0]!]!).toBe(60);
    expect(fc.topology().shards.flatMap((s) => [s.master!, ...s.replicas]).every((n) => n.zone === zones[n.address])).toBe(true);
  });

  it('zoneAffinityReplicasAndPrimary: a master in the zone shares its shard’s reads with the replica there', async () => {
    const fc = client({ nodes: [cluster.masters[0]!], readFrom: 'zoneAffinityReplicasAndPrimary', zone: 'az1', zones });
    const gets = await getsOn(fc);
    const [s0, s1] = cluster.shards;
    expect(gets[s0!.master]).toBeGreaterThan(0);
    expect(gets[s0!.replicas[0]!]).toBeGreaterThan(0);
    // Shard 1's master is in az3: its reads stay on its az1 replica.
    expect(gets[s1!.master]).toBe(0);
    expect(gets[s1!.replicas[0]!]).toBeGreaterThan(0);
    expect(sum(gets, [s0!.replicas[1]!, s1!.replicas[1]!])).toBe(0);
  });

  it('no replica in the zone: the other replicas of each shard, never a master', async () => {
    const fc = client({ nodes: [cluster.masters[0]!], readFrom: 'zoneAffinity', zone: 'az3', zones });
    const gets = await getsOn(fc);
    expect(sum(gets, cluster.masters)).toBe(0);
    for (const r of cluster.replicas) expect(gets[r]).toBeGreaterThan(0);
  });

  it("a zone the server reports (Valkey 8.1's availability_zone) wins over the zones option", async () => {
    const [s0, s1] = cluster.shards;
    // Shard 0's az1 replica says it is in az2: that shard's reads go to its other-zone replicas.
    const fc = new FailoverCluster({ nodes: [cluster.masters[0]!], readFrom: 'zoneAffinity', zone: 'az1', zones }, undefined, {
      connectionFactory: reportingZone(s0!.replicas[0]!, 'az2'),
    });
    fc.on('error', () => {});
    clients.push(fc);
    const gets = await getsOn(fc);
    expect(fc.topology().shards.flatMap((s) => s.replicas).find((r) => r.address === s0!.replicas[0])?.zone).toBe('az2');
    expect(gets[s1!.replicas[0]!]).toBeGreaterThan(0);
    expect(gets[s0!.replicas[0]!]).toBeGreaterThan(0);
    expect(gets[s0!.replicas[1]!]).toBeGreaterThan(0);
    expect(sum(gets, cluster.masters) + gets[s1!.replicas[1]!]!).toBe(0);
  });

  it('the CLI’s status shows each node’s zone in the shard tables', async () => {
    const pairs = Object.entries(zones).map(([address, zone]) => `${address}=${zone}`).join(',');
    const { code, stdout } = await cli(['status', cluster.masters[0]!, '--zones', pairs]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/LAG B +ZONE/);
    for (const [address, zone] of Object.entries(zones)) expect(stdout).toMatch(new RegExp(`^${address} .* ${zone}\\s*$`, 'm'));
  });

  // Last: it kills replicas.
  it("falls back as a shard's replicas go: to its other-zone replica, then to its master", async () => {
    const fc = client({ nodes: [cluster.masters[0]!], readFrom: 'zoneAffinity', zone: 'az1', zones, consistency: 'eventual' });
    await fc.withReadFrom('master').ping();
    const [s0] = cluster.shards;
    const shard0 = keys.filter((k) => fc.topology().shards[0]!.slots.some(([a, b]) => slotIn(k, a, b)));
    expect(shard0.length).toBeGreaterThan(0);
    expect(fc.topology().shards[0]!.master?.address).toBe(s0!.master);
    await cluster.kill(s0!.replicas[0]!);
    await until(() => fc.topology().shards[0]!.replicas.filter((r) => r.up).length === 1);
    let live = [s0!.master, s0!.replicas[1]!];
    await resetStats(live);
    for (const k of shard0) expect(await fc.get(k)).toBe(k);
    expect(await commandCalls(live, 'get')).toEqual({ [s0!.master]: 0, [s0!.replicas[1]!]: shard0.length });
    await cluster.kill(s0!.replicas[1]!);
    await until(() => fc.topology().shards[0]!.replicas.every((r) => !r.up));
    live = [s0!.master];
    await resetStats(live);
    for (const k of shard0) expect(await fc.get(k)).toBe(k);
    expect(await commandCalls(live, 'get')).toEqual({ [s0!.master]: shard0.length });
  });
});

function slotIn(key: string, a: number, b: number): boolean {
  const slot = slotOf(key);
  return slot >= a && slot <= b;
}

async function until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the picture to change');
    await new Promise((r) => setTimeout(r, 50));
  }
}
