/**
 * What real deployments do to the client (issue 17): nodes started from their own config files or
 * command lines and restarted as a service manager would, and a managed service's restricted user.
 * Servers are started by hand here (test/helpers/service.ts), not by the testing helpers.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { FailoverRedis, type FailoverEvent, type WarningEvent } from '../../src/index.js';
import { cli } from '../helpers/cli.js';
import { direct } from '../helpers/redis.js';
import { ServiceNode } from '../helpers/service.js';
import { role, waitFor } from '../helpers/writer.js';

const nodes: ServiceNode[] = [];
const clients: FailoverRedis[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
  await Promise.all(nodes.map((n) => n.stop()));
});

/** Master A, replicas B and C with `replicaof A` in their own config (file or command line). */
async function threeNodes(configFile: boolean, lines: string[] = []): Promise<[ServiceNode, ServiceNode, ServiceNode]> {
  const a = await ServiceNode.create({ configFile, lines });
  const replicaOfA = `replicaof 127.0.0.1 ${a.port}`;
  const b = await ServiceNode.create({ configFile, lines: [...lines, replicaOfA] });
  const c = await ServiceNode.create({ configFile, lines: [...lines, replicaOfA] });
  nodes.push(a, b, c);
  await Promise.all([a.start(), b.start(), c.start()]);
  await waitFor('both replicas linked', async () => String(await run(a.address, 'INFO', 'replication')).includes('connected_slaves:2'));
  return [a, b, c];
}

function client(options: ConstructorParameters<typeof FailoverRedis>[0]) {
  const redis = new FailoverRedis(options);
  const seen = { warnings: [] as WarningEvent[], failovers: [] as FailoverEvent[], errors: [] as Error[], statuses: [] as string[] };
  redis.on('warning', (w) => seen.warnings.push(w));
  redis.on('failover', (f) => seen.failovers.push(f));
  redis.on('error', (e) => seen.errors.push(e));
  // ioredis's status events ('reconnecting' is not in the typed map: ioredis emits it with a delay argument).
  const on = redis.on.bind(redis) as (event: string, listener: () => void) => unknown;
  for (const status of ['ready', 'reconnecting', 'close']) on(status, () => seen.statuses.push(status));
  clients.push(redis);
  return { redis, seen };
}

/** One command on one node, over a connection of its own (closed after). */
async function run(address: string, ...args: (string | number)[]): Promise<unknown> {
  const conn = direct(address);
  conn.on('error', () => undefined);
  try {
    return await conn.call(String(args[0]), ...args.slice(1).map(String));
  } finally {
    conn.disconnect();
  }
}

/** The addresses that say role:master, asked of the servers themselves. */
async function masters(set: readonly ServiceNode[]): Promise<string[]> {
  const roles = await Promise.all(set.map(async (n) => [n.address, (await role(n.address)).role] as const));
  return roles.filter(([, r]) => r === 'master').map(([a]) => a);
}

describe('a routine restart after a failover (nodes started from config files)', () => {
  it('the roles the client gave survive the restart: the new master comes back as master, nothing is left without one', async () => {
    // Persistence on, as a deployment that restarts its master must have (or the master comes back empty).
    const set = await threeNodes(true, ['appendonly yes', 'appendfsync always']);
    const [a] = set;
    const { redis, seen } = client({ nodes: set.map((n) => n.address), failover: { downAfterMs: 3000 } });
    await redis.set('restart:before', '1');
    await redis.wait(2, 2000);

    await a.kill();
    const promoted = await waitFor('the failover', () => seen.failovers.find((f) => f.to !== null)?.to, 20_000);
    const b = set.find((n) => n.address === promoted)!;
    await redis.set('restart:after-failover', '1');
    // A comes back from its own config file as a master; the client demotes it under B.
    await a.start();
    await waitFor('A demoted under the new master', async () => (await role(a.address)).master === promoted);
    // Saved to the config files, as Sentinel saves its changes.
    await waitFor('the roles saved', () => readFileSync(a.configFile!, 'utf8').includes(`replicaof 127.0.0.1 ${b.port}`));
    expect(readFileSync(b.configFile!, 'utf8')).not.toMatch(/^replicaof/m);

    // The service manager restarts B with its config file.
    await b.restart();
    await waitFor('one master, B', async () => {
      const now = await masters(set);
      return now.length === 1 && now[0] === promoted;
    });
    expect(await redis.set('restart:after-restart', '1')).toBe('OK');
    expect(redis.topology().master?.address).toBe(promoted);
    expect(seen.warnings.filter((w) => w.code === 'REPLICATION_CYCLE' || w.code === 'CONFIG_NOT_PERSISTED')).toEqual([]);
    expect(await redis.get('restart:before')).toBe('1');
  });
});

describe('a restart with the original command line (no config file to save to)', () => {
  it('warns that the roles are not saved; the cycle the restart makes is named at once, never ready, and repaired to exactly one master by several clients', async () => {
    const set = await threeNodes(false);
    const [a] = set;
    const options = { nodes: set.map((n) => n.address), failover: { downAfterMs: 1000 } };
    const clientsHere = [client(options), client(options), client(options)];
    const { redis, seen } = clientsHere[0]!;
    for (const c of clientsHere) await c.redis.set('cycle:warm', '1');

    await a.kill();
    const promoted = await waitFor('the failover', () => seen.failovers.find((f) => f.to !== null)?.to, 20_000);
    const b = set.find((n) => n.address === promoted)!;
    // Said by whichever client sent the REPLICAOF (the others may only have followed).
    const everyWarning = () => clientsHere.flatMap((c) => c.seen.warnings);
    await waitFor('CONFIG_NOT_PERSISTED', () => everyWarning().find((w) => w.code === 'CONFIG_NOT_PERSISTED' && w.address === promoted));
    await a.start();
    await waitFor('A demoted under the new master', async () => (await role(a.address)).master === promoted);
    await redis.set('cycle:before', '1');

    // B restarted with its original `--replicaof A`: A and B follow each other, C follows B.
    const restartedAt = performance.now();
    const statusesBefore = seen.statuses.length;
    await b.restart();
    const warned = await waitFor('REPLICATION_CYCLE', () => everyWarning().find((w) => w.code === 'REPLICATION_CYCLE'), 10_000);
    const warnedMs = performance.now() - restartedAt;
    expect(warned.message).toContain('loop');
    // A write issued during the outage is held, then lands on the repaired master.
    const held = redis.set('cycle:held', '1');
    const repaired = await waitFor('the repair', () => seen.failovers.slice(1).find((f) => f.to !== null), 15_000);
    // Whichever client promoted, each says what it was.
    expect(repaired.reason).toMatch(/replication cycle/);
    expect(await held).toBe('OK');
    expect(warnedMs).toBeLessThan(5000);
    // Not ready while no node was master: the status went through reconnecting, and is ready again.
    expect(seen.statuses.slice(statusesBefore)).toContain('reconnecting');
    expect(redis.status).toBe('ready');

    await waitFor('exactly one master, followed by the others', async () => {
      const now = await masters(set);
      if (now.length !== 1 || now[0] !== repaired.to) return false;
      const others = await Promise.all(set.filter((n) => n.address !== repaired.to).map((n) => role(n.address)));
      return others.every((r) => r.master === repaired.to);
    });
    for (const c of clientsHere) {
      expect(await c.redis.set('cycle:after', '1')).toBe('OK');
      expect(c.redis.topology().master?.address).toBe(repaired.to);
    }
    expect(await redis.get('cycle:before')).toBe('1');
  });
});

describe('a set with no master, in manual mode and from the CLI', () => {
  it('topology() names no master, status names the cycle, and the CLI promote repairs it', async () => {
    const set = await threeNodes(false);
    const [a, b] = set;
    // Make the cycle by hand: B promoted, A and C follow it, then A's original line comes back on B.
    await run(b.address, 'REPLICAOF', 'NO', 'ONE');
    await run(a.address, 'REPLICAOF', '127.0.0.1', b.port);
    await run(set[2].address, 'REPLICAOF', '127.0.0.1', b.port);
    await b.restart(); // --replicaof A
    await waitFor('the cycle', async () => (await masters(set)).length === 0 && (await role(b.address)).master === a.address);

    const { redis, seen } = client({ nodes: set.map((n) => n.address), failover: { promote: 'manual', downAfterMs: 500 }, commandTimeoutMs: 1000 });
    const write = await redis.set('manual:k', '1').then(
      () => null,
      (e: Error & { code?: string }) => e,
    );
    expect(write?.code).toBe('ERR_COMMAND_TIMEOUT');
    expect(redis.topology().master).toBeNull();
    expect(redis.topology().replicas.map((r) => r.role)).toEqual(['replica', 'replica', 'replica']);
    expect(redis.status).not.toBe('ready');
    expect(seen.warnings.find((w) => w.code === 'REPLICATION_CYCLE')?.message).toContain('promote one by hand');
    expect(await masters(set)).toEqual([]);

    const status = await cli(['status', ...set.map((n) => n.address)]);
    expect(status.stdout).toContain('REPLICATION_CYCLE');
    expect(status.stdout).not.toMatch(/master down|does not answer/);
    expect(status.code).not.toBe(0);

    const promote = await cli(['promote', b.address, '--nodes', a.address, '--nodes', set[2].address]);
    expect(promote.stdout).not.toContain('already the master');
    expect(promote.code).toBe(0);
    expect(await masters(set)).toEqual([b.address]);
    await waitFor('the client to follow', async () => (await redis.set('manual:after', '1')) === 'OK');
  });
});

describe("a managed service's restricted user (no REPLICAOF, no CONFIG)", () => {
  const cases = [
    { name: 'NOPERM (an ACL user without the rights)', lines: ['user app on >app-pass ~* &* +@all -replicaof -slaveof -config -failover'], admin: 'REPLICAOF' },
    { name: 'renamed commands (rename-command)', lines: ['user app on >app-pass ~* &* +@all', 'rename-command REPLICAOF admin-replicaof', 'rename-command SLAVEOF ""', 'rename-command CONFIG admin-config'], admin: 'admin-replicaof' },
  ];
  for (const spec of cases) {
    it(`${spec.name}: reported once, no retry storm, and the client follows whoever promotes`, async () => {
      const set = await threeNodes(true, spec.lines);
      const [a, b, c] = set;
      const { redis, seen } = client({ nodes: set.map((n) => n.address), redisOptions: { username: 'app', password: 'app-pass' }, failover: { downAfterMs: 300 } });
      await redis.set('managed:k', 'v');
      await redis.wait(2, 2000);

      await a.kill();
      await waitFor('the refusal', () => seen.warnings.find((w) => w.code === 'PROMOTION_NOT_PERMITTED'), 10_000);
      const cpu = process.cpuUsage();
      await new Promise((r) => setTimeout(r, 3000));
      const spent = process.cpuUsage(cpu);
      expect(seen.warnings.filter((w) => w.code === 'PROMOTION_NOT_PERMITTED')).toHaveLength(1);
      expect(seen.failovers.filter((f) => f.to === null).length).toBeLessThanOrEqual(1);
      expect(seen.errors.filter((e) => (e as { code?: string }).code === 'ERR_PROMOTION_FAILED').length).toBeLessThanOrEqual(1);
      // The whole test process, 3 s with the master dead: a spin burns a core.
      expect((spent.user + spent.system) / 1000).toBeLessThan(1500);
      expect(await redis.get('managed:k')).toBe('v');
      for (const n of [b, c]) expect((await role(n.address)).role).toBe('replica');

      // The service promotes B: the client follows.
      await run(b.address, spec.admin, 'NO', 'ONE');
      await run(c.address, spec.admin, '127.0.0.1', b.port);
      await waitFor('writes on the new master', async () => (await redis.set('managed:after', '1')) === 'OK', 15_000);
      expect(redis.topology().master?.address).toBe(b.address);
      expect(seen.failovers.some((f) => f.to === b.address)).toBe(true);
    });
  }
});
