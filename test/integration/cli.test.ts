import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplicaSet, type ReplicaSet } from '../../src/testing/index.js';
import { parseInfo } from '../../src/topology/info-parser.js';
import { cli as run, cliRunning } from '../helpers/cli.js';
import { direct } from '../helpers/redis.js';
import { waitFor } from '../helpers/writer.js';

const PASSWORD = 'cli-Test-s3cret';

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => run(args, { env: { REDIS_PASSWORD: PASSWORD, ...env } });

/** A node's own INFO replication, read with plain ioredis. */
async function info(address: string): Promise<Record<string, string>> {
  const conn = direct(address, { password: PASSWORD });
  try {
    return parseInfo(await conn.info('replication'));
  } finally {
    conn.disconnect();
  }
}

let set: ReplicaSet;
beforeAll(async () => {
  set = await startReplicaSet({ replicas: 2, password: PASSWORD });
});
afterAll(async () => {
  await set?.stop();
});

describe('redis-failover status', () => {
  it('prints one row per node that says what each server says of itself; healthy: exit 0', async () => {
    const { code, stdout, stderr } = await cli(['status', set.replicas[0]!]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const rows = new Map(
      stdout
        .split('\n')
        .filter((line) => /^127\.0\.0\.1:\d+ /.test(line))
        .map((line) => line.split(/\s+/))
        .map((cells) => [cells[0]!, cells]),
    );
    expect([...rows.keys()].sort()).toEqual([...set.nodes].sort());
    for (const address of set.nodes) {
      const own = await info(address);
      const [, role, state, follows, link, , , , prio, replicas] = rows.get(address)!;
      expect(state).toBe('up');
      if (own['role'] === 'master') {
        expect([role, follows, link, replicas]).toEqual(['master*', '-', '-', own['connected_slaves']]);
      } else {
        expect([role, follows, link, prio]).toEqual(['replica', `${own['master_host']}:${own['master_port']}`, own['master_link_status'], own['slave_priority']]);
      }
    }
    expect(stdout).toContain(`healthy: master ${set.master}, 2 replica(s) in sync`);
  });

  it('--json carries the same content, checked against every server', async () => {
    const { code, stdout } = await cli(['status', set.master, '--json']);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { status: string; master: string; nodes: Record<string, unknown>[]; warnings: unknown[] };
    expect(report).toMatchObject({ status: 'healthy', master: set.master, warnings: [] });
    expect(report.nodes.map((n) => n['address'])).toEqual([set.master, ...[...set.replicas].sort()]);
    for (const node of report.nodes) {
      const own = await info(node['address'] as string);
      if (own['role'] === 'master') {
        expect(node).toMatchObject({ role: 'master', isMaster: true, up: true, follows: null, connectedReplicas: Number(own['connected_slaves']) });
      } else {
        expect(node).toMatchObject({
          role: 'replica',
          isMaster: false,
          up: true,
          follows: `${own['master_host']}:${own['master_port']}`,
          linkStatus: own['master_link_status'],
          priority: Number(own['slave_priority']),
          syncing: own['master_sync_in_progress'] === '1',
        });
      }
      // Offsets only grow (the master pings its replicas every second): read after, never below.
      const offset = Number(own['role'] === 'master' ? own['master_repl_offset'] : own['slave_repl_offset']);
      expect(offset - (node['offset'] as number)).toBeGreaterThanOrEqual(0);
      expect(offset - (node['offset'] as number)).toBeLessThan(10_000);
    }
  });

  it('passes --password, --user and URL credentials through, and never prints a password', async () => {
    const byFlag = await cli(['status', set.master, '--password', PASSWORD, '--user', 'default'], { REDIS_PASSWORD: '' });
    expect(byFlag.code).toBe(0);
    const byUrl = await cli(['status', `redis://default:${PASSWORD}@${set.master}`, '--json'], { REDIS_PASSWORD: '' });
    expect(byUrl.code).toBe(0);
    expect(JSON.parse(byUrl.stdout)).toMatchObject({ status: 'healthy', master: set.master });
    const wrong = await cli(['status', set.master], { REDIS_PASSWORD: 'not-the-password' });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/cannot read the replica set from 127\.0\.0\.1:\d+: 127\.0\.0\.1:\d+ answered with an authentication error \(WRONGPASS.*REDIS_PASSWORD/);
    const missing = await cli(['status', set.master], { REDIS_PASSWORD: '' });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/NOAUTH/);
    for (const run of [byFlag, byUrl, wrong, missing]) {
      expect(run.stdout + run.stderr).not.toContain(PASSWORD);
      expect(run.stdout + run.stderr).not.toContain('not-the-password');
    }
  });

  it('bad or unreachable addresses: exit 2 and a message that says which and why', async () => {
    const bad = await cli(['status', '127.0.0.1:6379x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"127.0.0.1:6379x" is not a valid address: the port must be a number from 1 to 65535');
    const noPort = await cli(['promote', 'redis-1', '--nodes', set.master]);
    expect(noPort.code).toBe(2);
    expect(noPort.stderr).toContain(`"redis-1" is not a valid address: the port is missing (write 'host:port')`);
    const closed = await cli(['status', '127.0.0.1:1', '--json']);
    expect(closed.code).toBe(2);
    expect(JSON.parse(closed.stdout)).toMatchObject({ status: 'unreachable', error: expect.stringContaining('127.0.0.1:1: connect ECONNREFUSED') });
  });
});

describe('redis-failover watch, demote', () => {
  it('watch shows a second master appear and demote put it back; demote checks --to first; Ctrl-C ends watch with 0', async () => {
    const stray = set.replicas[1]!;
    const { child, output: out } = cliRunning(['watch', set.master, stray, '--interval', '200'], { REDIS_PASSWORD: PASSWORD });
    try {
      await waitFor('watch to start', () => out().includes('watching'));

      // A replica made a master by hand (the runbook's step, on the wrong node).
      const conn = direct(stray, { password: PASSWORD });
      await conn.call('REPLICAOF', 'NO', 'ONE');
      conn.disconnect();
      await waitFor('the timeline to show it', () => out().includes(`${stray} says role:master while the master is ${set.master}`));

      const status = await cli(['status', set.master, stray, '--json']);
      expect(status.code).toBe(1);
      expect(JSON.parse(status.stdout).warnings).toContainEqual(expect.objectContaining({ code: 'TWO_MASTERS', address: stray }));

      const wrongTo = await cli(['demote', stray, '--to', set.replicas[0]!]);
      expect(wrongTo.code).toBe(2);
      expect(wrongTo.stderr).toContain(`--to ${set.replicas[0]} is not the replica set's master: the master is ${set.master}`);
      expect((await info(stray))['role']).toBe('master');

      const demoted = await cli(['demote', stray, '--to', set.master]);
      expect(demoted.stderr).toBe('');
      expect(demoted.code).toBe(0);
      expect(demoted.stdout).toContain(`${stray} demoted: master → replica of ${set.master}`);
      expect(demoted.stdout).toContain(`✓ confirmed by INFO replication: ${set.master} is the master and ${stray} follows it with the link up`);
      const own = await info(stray);
      expect([own['role'], `${own['master_host']}:${own['master_port']}`, own['master_link_status']]).toEqual(['slave', set.master, 'up']);
      await waitFor('the timeline to show the demotion', () => out().includes(`${stray} demoted: master → replica of ${set.master}`));
    } finally {
      child.kill('SIGINT');
    }
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(out()).toContain('watch ended');
    expect(out()).not.toContain(PASSWORD);
  });
});
