import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplicaSet, type ReplicaSet } from '../../src/testing/index.js';
import { parseInfo } from '../../src/topology/info-parser.js';
import { direct } from '../helpers/redis.js';
import { cli as run } from '../helpers/cli.js';
import { waitFor } from '../helpers/writer.js';


/** Role, master followed and link status, from the node's own INFO replication (plain ioredis). */
async function replication(address: string): Promise<{ role: string; master: string | null; link: string | null }> {
  const conn = direct(address);
  try {
    const own = parseInfo(await conn.info('replication'));
    return {
      role: own['role'] === 'slave' ? 'replica' : own['role']!,
      master: own['master_host'] ? `${own['master_host']}:${own['master_port']}` : null,
      link: own['master_link_status'] ?? null,
    };
  } finally {
    conn.disconnect();
  }
}

const cli = (args: string[]) => run(args, { timeoutMs: 40_000 });

let set: ReplicaSet;
beforeAll(async () => {
  set = await startReplicaSet({ replicas: 2 });
});
afterAll(async () => {
  await set?.stop();
});

// One story, in order, as an operator would live it: each step starts from the servers the last one left.
describe('promote, switchover, demote change the servers as they say', () => {
  const [a, b] = [() => set.replicas[0]!, () => set.replicas[1]!];

  it('promote refuses while the master answers (it would lose writes): exit 2, nothing changed', async () => {
    const { code, stderr } = await cli(['promote', a()]);
    expect(code).toBe(2);
    expect(stderr).toContain(`the master ${set.master} answers`);
    expect(stderr).toContain(`redis-failover switchover ${set.master} --to ${a()}`);
    expect(await replication(a())).toEqual({ role: 'replica', master: set.master, link: 'up' });
  });

  it('switchover --to: the target is master, the old master and the other replica follow it', async () => {
    const { code, stdout, stderr } = await cli(['switchover', a(), '--to', b()]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`${b()} took over from ${set.master} in \\d+ ms by (FAILOVER TO|CLIENT PAUSE \\+ REPLICAOF)`));
    expect(stdout).toContain(`${b()} promoted: replica → master`);
    expect(stdout).toContain(`${set.master} demoted: master → replica of ${b()}`);
    expect(await replication(b())).toEqual({ role: 'master', master: null, link: null });
    expect(await replication(set.master)).toEqual({ role: 'replica', master: b(), link: 'up' });
    expect(await replication(a())).toEqual({ role: 'replica', master: b(), link: 'up' });
  });

  it('promote with the master dead: REPLICAOF NO ONE there, the other members (--nodes) repointed', async () => {
    await set.kill(b());
    // The replicas must see their master gone before the promotion, as an operator would.
    await waitFor('the replicas to lose their master', async () => (await replication(a())).link === 'down');
    const { code, stdout, stderr } = await cli(['promote', a(), '--nodes', set.master]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`master ${b()} → ${a()}`);
    expect(stdout).toContain(`${a()} promoted: replica → master`);
    expect(stdout).toContain(`${set.master} repointed: now follows ${a()} (was ${b()})`);
    expect(stdout).toContain(`${b()} does not answer: once it is back, run 'redis-failover demote ${b()} --to ${a()}'`);
    expect(stdout).toContain(`✓ confirmed by INFO replication: ${a()} is the master and 1 replica follows it with the link up`);
    expect(await replication(a())).toEqual({ role: 'master', master: null, link: null });
    expect(await replication(set.master)).toEqual({ role: 'replica', master: a(), link: 'up' });
  });

  it('the dead master back as a master: status says two masters (exit 1); demote --to the master fixes it', async () => {
    await set.restart(b());
    const status = await cli(['status', a(), b(), '--json']);
    expect(status.code).toBe(1);
    expect(JSON.parse(status.stdout)).toMatchObject({
      status: 'degraded',
      master: a(),
      warnings: [expect.objectContaining({ code: 'TWO_MASTERS', severity: 'critical', address: b() })],
    });

    const { code, stdout, stderr } = await cli(['demote', b(), '--to', a()]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`${b()} demoted: master → replica of ${a()}`);
    expect(await replication(b())).toEqual({ role: 'replica', master: a(), link: 'up' });
    expect((await cli(['status', a()])).code).toBe(0);
  });
});
