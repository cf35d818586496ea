import dns from 'node:dns';
import diagnostics_channel from 'node:diagnostics_channel';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BATCH_CHANNEL, COMMAND_CHANNEL, FailoverRedis, FAILOVER_CHANNEL, TOPOLOGY_CHANNEL, type BatchContext, type CommandContext } from '../../src/index.js';
import { startReplicaSet, type ReplicaSet } from '../../src/testing/index.js';
import { direct, waitForReplication } from '../helpers/redis.js';

let set: ReplicaSet;
const clients: FailoverRedis[] = [];
function client(options: ConstructorParameters<typeof FailoverRedis>[1] & object): FailoverRedis {
  const c = new FailoverRedis(options);
  c.on('error', () => undefined);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  set = await startReplicaSet({ replicas: 2, sentinels: 1 });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
  await set?.stop();
});

/** Every context that reaches `asyncEnd` on our channels (and ioredis's own command names). */
function subscribe() {
  const commands: CommandContext[] = [];
  const batches: BatchContext[] = [];
  const ioredisCommands: string[] = [];
  const command = diagnostics_channel.tracingChannel<CommandContext, CommandContext>(COMMAND_CHANNEL);
  const batch = diagnostics_channel.tracingChannel<BatchContext, BatchContext>(BATCH_CHANNEL);
  const ioredis = diagnostics_channel.tracingChannel<object, { command: string }>('ioredis:command');
  const onCommand = { asyncEnd: (t: CommandContext) => void commands.push({ ...t }) };
  const onBatch = { asyncEnd: (t: BatchContext) => void batches.push({ ...t }) };
  const onIoredis = { start: (t: { command: string }) => void ioredisCommands.push(t.command.toLowerCase()) };
  command.subscribe(onCommand as never);
  batch.subscribe(onBatch as never);
  ioredis.subscribe(onIoredis as never);
  return {
    commands,
    batches,
    ioredisCommands,
    stop() {
      command.unsubscribe(onCommand as never);
      batch.unsubscribe(onBatch as never);
      ioredis.unsubscribe(onIoredis as never);
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('redis-failover:command and :batch', () => {
  it('master writes, replica reads, batches, heldMs; none of our own INFO/PING/WAIT/ROLE', async () => {
    const seen = subscribe();
    try {
      const redis = client({ nodes: [set.master], readFrom: 'replica', refreshIntervalMs: 100, consistency: 'eventual' });
      // Issued before the client knows anything: held until the master is known.
      const early = redis.set('obs:k', 'v');
      await redis.connect();
      await early;
      await waitForReplication(set.master, 2);
      expect(await redis.get('obs:k')).toBe('v');
      expect(await redis.get('obs:k')).toBe('v');
      await redis.withDurability({ replicas: 2, timeoutMs: 1000 }).set('obs:d', '1');
      await redis.pipeline().get('obs:k').get('obs:d').exec();
      await redis.multi().incr('obs:n').incr('obs:n').exec();
      await sleep(400); // a few refreshes (INFO, ROLE) and heartbeats (PING) of our own

      const sets = seen.commands.filter((c) => c.command === 'set');
      expect(sets).toHaveLength(2);
      for (const c of sets) expect(c).toMatchObject({ node: set.master, role: 'master', attempts: 1, argsCount: 2, readFrom: 'replica' });
      expect(sets[0]!.heldMs).toBeGreaterThan(0);
      const gets = seen.commands.filter((c) => c.command === 'get');
      expect(gets).toHaveLength(2);
      expect(gets.map((g) => g.node).sort()).toEqual([...set.replicas].sort());
      for (const g of gets) expect(g).toMatchObject({ role: 'replica', attempts: 1, argsCount: 1, heldMs: 0 });
      expect(seen.batches.map((b) => [b.command, b.count, b.role, b.node])).toEqual([
        ['pipeline', 2, 'replica', expect.stringMatching(/^127\.0\.0\.1:/)],
        ['multi', 2, 'master', set.master],
      ]);
      expect(seen.batches[0]!.node).not.toBe(set.master);

      const ours = new Set(seen.commands.map((c) => c.command));
      for (const internal of ['info', 'ping', 'wait', 'role', 'replicaof', 'client', 'select']) expect(ours.has(internal)).toBe(false);
      // They did run, on the very connections: ioredis's own channel shows them.
      expect(seen.ioredisCommands).toContain('info');
      expect(seen.ioredisCommands).toContain('wait');
    } finally {
      seen.stop();
    }
  });

  it('stats(): commands per node, errors, totals', async () => {
    const redis = client({ nodes: [set.master], readFrom: 'replica' });
    await redis.connect();
    await redis.set('obs:s', 'x');
    for (let i = 0; i < 4; i++) await redis.withReadFrom('master').get('obs:s');
    await expect(redis.lpush('obs:s', 'x')).rejects.toThrow(/WRONGTYPE/);
    const s = redis.stats();
    const master = s.nodes.find((n) => n.address === set.master)!;
    expect(master).toMatchObject({ role: 'master', up: true, commandsSent: 6, errors: 1 });
    expect(typeof master.latencyMs).toBe('number');
    expect(s).toMatchObject({ master: set.master, held: 0, failovers: 0, lastFailoverDurationMs: null, commandsSent: 6, errors: 1 });
    expect(s.nodes.filter((n) => n.role === 'replica')).toHaveLength(2);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    // Read-your-writes: a read of a key just written goes to the master until a replica has it.
    const preferred = client({ nodes: [set.master], readFrom: 'replicaPreferred' });
    await preferred.connect();
    for (let i = 0; i < 5; i++) {
      await preferred.set(`obs:ryw:${i}`, '1');
      expect(await preferred.get(`obs:ryw:${i}`)).toBe('1');
    }
    expect(preferred.stats().readYourWritesRedirects).toBeGreaterThan(0);
    expect(redis.stats().readYourWritesRedirects).toBe(0);
  });
});

describe('connections in CLIENT LIST', () => {
  it('named by purpose, the application\'s connectionName as a prefix', async () => {
    const redis = client({ nodes: [set.master], sentinels: undefined, redisOptions: { connectionName: 'obs-app' } });
    await redis.connect();
    await redis.blpop('obs:empty-list', 0.05);
    await redis.subscribe('obs:channel');
    const conn = direct(set.master);
    try {
      const names = (await conn.client('LIST') as string).split('\n').map((l) => /name=(\S*)/.exec(l)?.[1]).filter(Boolean);
      for (const purpose of ['data', 'control', 'blocking', 'subscriber']) expect(names).toContain(`obs-app:redis-failover:${purpose}`);
    } finally {
      conn.disconnect();
    }
    await redis.unsubscribe('obs:channel');
  });

  it('Sentinel connections too; without connectionName the bare names', async () => {
    const redis = client({ sentinels: [set.sentinels[0]!], name: set.name });
    await redis.connect();
    const sentinel = direct(set.sentinels[0]!);
    const master = direct(set.master);
    try {
      const names = async (c: typeof sentinel) => (await c.client('LIST') as string).split('\n').map((l) => /name=(\S*)/.exec(l)?.[1]);
      expect(await names(sentinel)).toContain('redis-failover:sentinel');
      expect(await names(master)).toContain('redis-failover:data');
    } finally {
      sentinel.disconnect();
      master.disconnect();
    }
  });
});

describe('a hostname as the seed', () => {
  it('localhost: found, served, and looked up again when the connection is remade', async () => {
    const port = Number(set.master.split(':')[1]);
    const lookup = vi.spyOn(dns, 'lookup');
    try {
      const redis = client({ nodes: [`localhost:${port}`], readFrom: 'master' });
      await redis.connect();
      await redis.set('obs:host', 'h');
      expect(await redis.get('obs:host')).toBe('h');
      const lookups = () => lookup.mock.calls.filter(([host]) => host === 'localhost').length;
      const before = lookups();
      expect(before).toBeGreaterThan(0);
      const conn = direct(set.master);
      try {
        await conn.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      } finally {
        conn.disconnect();
      }
      // Writes go on after the reconnect, and the name was resolved again for it.
      await vi.waitFor(async () => expect(await redis.set('obs:host', 'again')).toBe('OK'), { timeout: 5000 });
      await vi.waitFor(() => expect(lookups()).toBeGreaterThan(before), { timeout: 5000 });
    } finally {
      lookup.mockRestore();
    }
  });
});

describe('redis-failover:failover and :topology', () => {
  it('a read in flight on a replica that dies is retried on the other; the failover channel is quiet, topology speaks', async () => {
    const seen = subscribe();
    const topologies: unknown[] = [];
    const failovers: unknown[] = [];
    const onTopology = (m: unknown) => topologies.push(m);
    const onFailover = (m: unknown) => failovers.push(m);
    diagnostics_channel.subscribe(TOPOLOGY_CHANNEL, onTopology);
    diagnostics_channel.subscribe(FAILOVER_CHANNEL, onFailover);
    try {
      const redis = client({ nodes: [set.master], readFrom: 'replica', consistency: 'eventual' });
      await redis.connect();
      await redis.set('obs:r', 'r');
      await waitForReplication(set.master, 2);
      expect(topologies.length).toBeGreaterThan(0);
      const [victim, survivor] = set.replicas as [string, string];
      await set.pause(victim);
      // Round robin: one of the two reads goes to the paused replica and waits there.
      const reads = [redis.get('obs:r'), redis.get('obs:r')];
      await sleep(100);
      await set.kill(victim);
      expect(await Promise.all(reads)).toEqual(['r', 'r']);
      const gets = seen.commands.filter((c) => c.command === 'get');
      const retried = gets.find((g) => g.attempts === 2);
      expect(retried).toMatchObject({ node: survivor, role: 'replica', attempts: 2 });
      expect(gets.find((g) => g.attempts === 1)).toMatchObject({ node: survivor });
      await vi.waitFor(() => expect(topologies.some((t) => (t as { changes: { type: string; address: string }[] }).changes.some((c) => c.type === 'node-down' && c.address === victim))).toBe(true), { timeout: 10_000 });
      expect(failovers).toEqual([]);
    } finally {
      seen.stop();
      diagnostics_channel.unsubscribe(TOPOLOGY_CHANNEL, onTopology);
      diagnostics_channel.unsubscribe(FAILOVER_CHANNEL, onFailover);
    }
  });
});
