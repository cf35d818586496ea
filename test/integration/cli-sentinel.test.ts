import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplicaSet, type ReplicaSet } from '../../src/testing/index.js';
import { parseInfo } from '../../src/topology/info-parser.js';
import { cli as run } from '../helpers/cli.js';
import { direct } from '../helpers/redis.js';


async function info(address: string): Promise<Record<string, string>> {
  const conn = direct(address);
  try {
    return parseInfo(await conn.info('replication'));
  } finally {
    conn.disconnect();
  }
}

async function sentinelMaster(set: ReplicaSet): Promise<string> {
  const conn = direct(set.sentinels[2]!);
  try {
    return ((await conn.call('SENTINEL', 'get-master-addr-by-name', set.name)) as string[]).join(':');
  } finally {
    conn.disconnect();
  }
}

const cli = (args: string[]) => run(args, { timeoutMs: 50_000 });

let set: ReplicaSet;
beforeAll(async () => {
  set = await startReplicaSet({ replicas: 2, sentinels: 3 });
});
afterAll(async () => {
  await set?.stop();
});

describe('the CLI with Sentinel', () => {
  it('status --sentinel --name: the set Sentinel names, as the servers report it', async () => {
    const { code, stdout } = await cli(['status', '--sentinel', set.sentinels[0]!, '--name', set.name, '--json']);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { status: string; source: string; master: string; nodes: Record<string, unknown>[] };
    expect(report).toMatchObject({ status: 'healthy', source: 'sentinel', master: set.master });
    for (const node of report.nodes) {
      const own = await info(node['address'] as string);
      expect(node['role']).toBe(own['role'] === 'slave' ? 'replica' : own['role']);
      if (own['role'] === 'slave') expect(node).toMatchObject({ follows: `${own['master_host']}:${own['master_port']}`, linkStatus: own['master_link_status'] });
      else expect(node['connectedReplicas']).toBe(Number(own['connected_slaves']));
    }
    const wrongName = await cli(['status', '--sentinel', set.sentinels[0]!, '--name', 'nosuchmaster']);
    expect(wrongName.code).toBe(2);
    expect(wrongName.stderr).toContain('No Sentinel answered for master "nosuchmaster"');
  });

  it('switchover --sentinel: SENTINEL FAILOVER, confirmed once Sentinel has repointed every member', async () => {
    const { code, stdout, stderr } = await cli(['switchover', '--sentinel', set.sentinels[1]!, '--name', set.name]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const to = /^(127\.0\.0\.1:\d+) took over from (127\.0\.0\.1:\d+) in \d+ ms by SENTINEL FAILOVER$/m.exec(stdout);
    expect(to?.[2]).toBe(set.master);
    const master = to![1]!;
    expect(set.replicas).toContain(master);
    expect(stdout).toContain(`✓ confirmed by INFO replication: ${master} is the master and 2 replicas follow it with the link up`);
    expect(await sentinelMaster(set)).toBe(master);
    expect((await info(master))['role']).toBe('master');
    for (const other of set.nodes.filter((n) => n !== master)) {
      const own = await info(other);
      expect([own['role'], `${own['master_host']}:${own['master_port']}`, own['master_link_status']]).toEqual(['slave', master, 'up']);
    }
  });
});
