import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../../src/testing/index.js';
import { cli, cliRunning } from '../helpers/cli.js';
import { waitFor } from '../helpers/writer.js';

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster({ shards: 3, replicasPerShard: 1, nodeTimeoutMs: 1000 });
});
afterAll(async () => {
  await cluster?.stop();
});

describe('redis-failover status on a cluster node', () => {
  it('prints one table per shard, headed by its slots, with its master and replica; healthy: exit 0', async () => {
    const { code, stdout, stderr } = await cli(['status', cluster.replicas[1]!]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    for (const shard of cluster.shards) {
      const head = lines.indexOf(`slots ${shard.slots.map(([a, b]) => `${a}-${b}`).join(',')}`);
      expect(head, stdout).toBeGreaterThanOrEqual(0);
      const [header, master, replica] = lines.slice(head + 1, head + 4).map((l) => l.split(/\s+/));
      expect(header).toEqual(['ADDRESS', 'ROLE', 'STATE', 'LINK', 'OFFSET', 'LAG', 'B']);
      expect(master!.slice(0, 4)).toEqual([shard.master, 'master*', 'up', '-']);
      expect(replica!.slice(0, 4)).toEqual([shard.replicas[0], 'replica', 'up', 'up']);
    }
    expect(stdout).toContain('healthy: 3 shard(s), every slot served');
  });
});

describe('redis-failover watch on a cluster node', () => {
  it('not on a terminal: prints the kill of a shard master and the failover to its replica as timeline lines; Ctrl-C ends it with 0', async () => {
    const [shard] = cluster.shards;
    const { master, replicas } = shard!;
    const replica = replicas[0]!;
    const { child, output: out } = cliRunning(['watch', cluster.masters[2]!, '--interval', '200']);
    const slots = `slots ${shard!.slots.map(([a, b]) => `${a}-${b}`).join(',')}`;
    try {
      await waitFor('watch to start', () => out().includes('watching 3 shard(s), 6 node(s)'), 30_000);
      expect(out()).toContain('Redis Cluster · every 200 ms · Ctrl-C to stop');
      expect(out()).toContain(slots);
      expect(out()).toContain('healthy: 3 shard(s), every slot served');

      await cluster.kill(master);
      const down = await waitFor('the master down on the timeline', () => out().split('\n').find((l) => l.includes(`${master} down`)), 20_000);
      expect(down).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3}  ${master} down \\(master of ${slots}\\)$`));
      const failover = await waitFor('the failover on the timeline', () => out().split('\n').find((l) => l.includes(`failover ${master} → ${replica}`)), 20_000);
      expect(failover).toMatch(new RegExp(`failover ${master} → ${replica} in (\\d+ ms|\\d+\\.\\d s) \\(cluster failover, ${slots}\\)$`));
      expect(out()).toContain(`! shard ${shard!.slots.map(([a, b]) => `${a}-${b}`).join(',')}: master ${master} is down`);
      // The tables again after the failover: the replica now heads the shard.
      await waitFor('the new table', () => new RegExp(`${replica}\\s+master\\*\\s+up`).test(out().slice(out().indexOf(failover))));

      await cluster.restart(master);
      await waitFor('the old master back', () => out().includes(`${master} up again after `), 20_000);
      await waitFor('it rejoined as a replica', () => out().includes(`${master} rejoined as a replica of ${replica}`), 20_000);
    } finally {
      child.kill('SIGINT');
    }
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code, out()).toBe(0);
    expect(out()).toContain('watch ended');
  });
});
