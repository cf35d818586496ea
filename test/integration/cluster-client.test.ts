import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import diagnostics_channel from 'node:diagnostics_channel';
import { BATCH_CHANNEL, COMMAND_CHANNEL, FailoverCluster, InvalidOptionError, NoNodeError, NotClusterError, TOPOLOGY_CHANNEL } from '../../src/index.js';
import type { BatchContext, ClusterTopologyMessage, CommandContext } from '../../src/index.js';
import { slotOf } from '../../src/cluster/slot.js';
import { startCluster, type Cluster } from '../../src/testing/index.js';
import { commandCalls, direct as plain, resetStats } from '../helpers/redis.js';

let cluster: Cluster;
const clients: FailoverCluster[] = [];
const conns: Array<{ disconnect(): void }> = [];

/** A plain connection to one node, closed after the file. */
function direct(address: string, options: Record<string, unknown> = {}): ReturnType<typeof plain> {
  const conn = plain(address, options);
  conn.on('error', () => {});
  conns.push(conn);
  return conn;
}

function client(options: Record<string, unknown> = {}): FailoverCluster {
  const c = new FailoverCluster({ nodes: [cluster.masters[0]!], ...options });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

function shardOfKey(key: string): number {
  const slot = slotOf(key);
  return cluster.shards.findIndex((s) => s.slots.some(([a, b]) => slot >= a && slot <= b));
}

beforeAll(async () => {
  cluster = await startCluster({ shards: 3, replicasPerShard: 1, nodeTimeoutMs: 1000 });
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  for (const c of conns) c.disconnect();
  await cluster?.stop();
});

describe('FailoverCluster on a 3×1 cluster', () => {
  it('reports the topology per shard, with NodeStates from CLUSTER SHARDS and INFO replication', async () => {
    const fc = client();
    await fc.connect();
    expect(fc.status).toBe('ready');
    const t = fc.topology();
    expect(t.source).toBe('cluster');
    expect(t.shards.map((s) => ({ slots: s.slots, master: s.master?.address, replicas: s.replicas.map((r) => r.address) }))).toEqual(
      cluster.shards.map((s) => ({ slots: s.slots, master: s.master, replicas: s.replicas })),
    );
    for (const s of t.shards) {
      expect(s.master).toMatchObject({ role: 'master', up: true, linkStatus: null });
      expect(s.replicas[0]).toMatchObject({ role: 'replica', up: true, linkStatus: 'up', masterAddress: s.master!.address });
    }
  });

  it('behaves like ioredis Cluster: results, Buffers, pipelines in one slot, multi, scripts, CROSSSLOT passes through', async () => {
    const fc = client({ readFrom: 'master' });
    expect(await fc.set('drop:a', '1')).toBe('OK');
    expect(await fc.incr('drop:a')).toBe(2);
    await fc.hset('drop:h', { a: '1', b: '2' });
    expect(await fc.hgetall('drop:h')).toEqual({ a: '1', b: '2' });
    expect(await fc.getBuffer('drop:a')).toEqual(Buffer.from('2'));
    expect(await fc.pipeline().set('{p}x', 'v').get('{p}x').exec()).toEqual([[null, 'OK'], [null, 'v']]);
    expect(await fc.multi().set('{p}y', '1').incr('{p}y').exec()).toEqual([[null, 'OK'], [null, 2]]);
    fc.defineCommand('getset2', { numberOfKeys: 1, lua: "local v = redis.call('GET', KEYS[1]); redis.call('SET', KEYS[1], ARGV[1]); return v" });
    const script = fc as unknown as { getset2(key: string, value: string): Promise<string | null> };
    expect(await script.getset2('drop:a', '9')).toBe('2');
    expect(await fc.get('drop:a')).toBe('9');
    await expect(fc.mget('{x}a', '{y}b')).rejects.toThrow(/CROSSSLOT/);
    expect(await fc.ping()).toBe('PONG');
    expect(fc.nodes('master')).toHaveLength(3);
  });

  it('sends reads to each shard replica (INFO commandstats), never to the masters with readFrom replica', async () => {
    const fc = client({ readFrom: 'replica', consistency: 'eventual' });
    const keys = Array.from({ length: 60 }, (_, i) => `spread:${i}`);
    await fc.withReadFrom('master').ping();
    await Promise.all(keys.map((k) => fc.set(k, k)));
    for (const s of cluster.shards) await direct(s.master).wait(1, 2000).finally(() => undefined);
    await resetStats(cluster.nodes);
    const values = await Promise.all(keys.map((k) => fc.get(k)));
    expect(values).toEqual(keys);
    const onReplicas = await commandCalls(cluster.replicas, 'get');
    const onMasters = await commandCalls(cluster.masters, 'get');
    for (const r of cluster.replicas) expect(onReplicas[r]).toBeGreaterThan(0);
    expect(Object.values(onReplicas).reduce((a, b) => a + b, 0)).toBe(60);
    expect(Object.values(onMasters).reduce((a, b) => a + b, 0)).toBe(0);
    // A pipeline of reads of one slot goes to that shard's replica too.
    await resetStats(cluster.nodes);
    expect(await fc.pipeline().get('{spread}a').get('{spread}b').exec()).toEqual([[null, null], [null, null]]);
    expect(Object.values(await commandCalls(cluster.replicas, 'get')).reduce((a, b) => a + b, 0)).toBe(2);
    // withReadFrom('master'): the same client, reads on the masters.
    await resetStats(cluster.nodes);
    await Promise.all(keys.map((k) => fc.withReadFrom('master').get(k)));
    expect(Object.values(await commandCalls(cluster.masters, 'get')).reduce((a, b) => a + b, 0)).toBe(60);
  });

  it('keyless commands and batches go to the masters, in turn (INFO commandstats), with any read policy', async () => {
    const fc = client({ readFrom: 'replica' });
    await fc.connect();
    // The first ones go to the masters already connected; they connect the others meanwhile.
    await Promise.all(Array.from({ length: 6 }, () => fc.ping()));
    await new Promise((r) => setTimeout(r, 200));
    await resetStats(cluster.nodes);
    await Promise.all(Array.from({ length: 60 }, () => fc.dbsize()));
    const batch = await fc.pipeline().dbsize().time().exec();
    expect(batch?.map(([error]) => error)).toEqual([null, null]);
    const onMasters = await commandCalls(cluster.masters, 'dbsize');
    for (const m of cluster.masters) expect(onMasters[m]).toBeGreaterThan(5);
    expect(Object.values(onMasters).reduce((a, b) => a + b, 0)).toBe(61);
    expect(Object.values(await commandCalls(cluster.replicas, 'dbsize')).reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('read-your-writes: 0 stale reads, awaited and not awaited, with reads still on the replicas', async () => {
    const fc = client({ readFrom: 'replicaPreferred' });
    await fc.connect();
    await resetStats(cluster.nodes);
    let stale = 0;
    for (let i = 0; i < 200; i++) {
      const key = `ryw:${i % 20}`;
      await fc.set(key, String(i));
      if ((await fc.get(key)) !== String(i)) stale++;
    }
    const notAwaited = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const key = `ryw2:${i % 20}`;
        void fc.set(key, String(i));
        return fc.get(key).then((v) => (v === String(i) ? 0 : 1));
      }),
    );
    stale += notAwaited.reduce<number>((a, b) => a + b, 0);
    expect(stale).toBe(0);
    // Reads of keys not just written still go to the replicas.
    await new Promise((r) => setTimeout(r, 200));
    await Promise.all(Array.from({ length: 30 }, (_, i) => fc.get(`ryw:${i % 20}`)));
    expect(Object.values(await commandCalls(cluster.replicas, 'get')).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it('pub/sub and sharded pub/sub (ssubscribe to the shard of the channel), duplicate(), scanStream per master', async () => {
    const sub = client();
    const pub = sub.duplicate();
    pub.on('error', () => {});
    clients.push(pub);
    const got: string[] = [];
    sub.on('message', (channel, message) => got.push(`${channel}:${message}`));
    sub.on('smessage', (channel, message) => got.push(`s:${channel}:${message}`));
    await sub.subscribe('news');
    await sub.ssubscribe('orders:{7}');
    await pub.publish('news', 'hello');
    await pub.spublish('orders:{7}', 'one');
    for (let i = 0; i < 50 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(got.sort()).toEqual(['news:hello', 's:orders:{7}:one']);
    await pub.set('scan:{s}:1', 'x');
    const keys: string[] = [];
    for (const node of sub.nodes('master')) {
      for await (const batch of node.scanStream({ match: 'scan:*' })) keys.push(...(batch as string[]));
    }
    expect(keys).toEqual(['scan:{s}:1']);
  });

  it('redis-failover:command, :batch and :topology channels, and stats(), as FailoverRedis', async () => {
    const contexts: CommandContext[] = [];
    const batches: BatchContext[] = [];
    const pictures: ClusterTopologyMessage[] = [];
    const command = diagnostics_channel.tracingChannel<CommandContext, CommandContext>(COMMAND_CHANNEL);
    const batch = diagnostics_channel.tracingChannel<BatchContext, BatchContext>(BATCH_CHANNEL);
    const onCommand = { asyncEnd: (t: CommandContext) => void contexts.push({ ...t }) };
    const onBatch = { asyncEnd: (t: BatchContext) => void batches.push({ ...t }) };
    const onTopology = (m: unknown): void => void pictures.push(m as ClusterTopologyMessage);
    command.subscribe(onCommand as never);
    batch.subscribe(onBatch as never);
    diagnostics_channel.subscribe(TOPOLOGY_CHANNEL, onTopology);
    try {
      const fc = client({ readFrom: 'replica', consistency: 'eventual', refreshIntervalMs: 100 });
      await fc.connect();
      const key = 'obs:{c}';
      const master = cluster.shards[shardOfKey(key)]!.master;
      const replica = cluster.shards[shardOfKey(key)]!.replicas[0]!;
      await fc.set(key, 'v');
      await direct(master).wait(1, 2000);
      await fc.get(key);
      await fc.pipeline().set(key, '1').incr(key).exec();
      await new Promise((r) => setTimeout(r, 250));
      expect(contexts.find((c) => c.command === 'set')).toMatchObject({ node: master, role: 'master', attempts: 1, argsCount: 2, readFrom: 'replica' });
      expect(contexts.find((c) => c.command === 'get')).toMatchObject({ node: replica, role: 'replica', attempts: 1 });
      expect(batches).toEqual([expect.objectContaining({ command: 'pipeline', count: 2, node: master, role: 'master' })]);
      // None of this client's own commands (CLUSTER SHARDS, INFO, ROLE, PING) on the channel.
      expect(contexts.map((c) => c.command).sort()).toEqual(['get', 'set']);
      expect(pictures.length).toBeGreaterThan(0);
      expect(pictures.at(-1)!.topology.source).toBe('cluster');
      const stats = fc.stats();
      expect(stats.masters.sort()).toEqual([...cluster.masters].sort());
      expect(stats.nodes.find((n) => n.address === master)).toMatchObject({ role: 'master', up: true, commandsSent: 2, errors: 0 });
      expect(stats.nodes.find((n) => n.address === replica)).toMatchObject({ role: 'replica', commandsSent: 1 });
      expect(stats).toMatchObject({ commandsSent: 3, errors: 0, held: 0, failovers: 0, lastFailoverDurationMs: null });
    } finally {
      command.unsubscribe(onCommand as never);
      batch.unsubscribe(onBatch as never);
      diagnostics_channel.unsubscribe(TOPOLOGY_CHANNEL, onTopology);
    }
  });

  it('durability: WAIT on the shard master', async () => {
    const fc = client({ durability: { replicas: 1, timeoutMs: 1000 } });
    await resetStats(cluster.masters);
    expect(await fc.set('durable:1', 'x')).toBe('OK');
    const waits = await commandCalls(cluster.masters, 'wait');
    expect(waits[cluster.masters[shardOfKey('durable:1')]!]).toBe(1);
    await expect(fc.withDurability({ replicas: 2, timeoutMs: 50 }).set('durable:2', 'x')).rejects.toMatchObject({ code: 'ERR_NOT_REPLICATED' });
    // Batches: one WAIT behind a pipeline or transaction that writes, none behind one of reads.
    const master = cluster.masters[shardOfKey('{durable}')]!;
    await resetStats(cluster.masters);
    expect(await fc.pipeline().set('{durable}a', '1').incr('{durable}b').exec()).toEqual([[null, 'OK'], [null, 1]]);
    expect(await fc.multi().set('{durable}a', '2').incr('{durable}b').exec()).toEqual([[null, 'OK'], [null, 2]]);
    expect(await fc.withReadFrom('master').pipeline().get('{durable}a').get('{durable}b').exec()).toEqual([[null, '2'], [null, '2']]);
    expect((await commandCalls(cluster.masters, 'wait'))[master]).toBe(2);
    await expect(fc.withDurability({ replicas: 2, timeoutMs: 50 }).pipeline().set('{durable}a', '3').exec()).rejects.toMatchObject({ code: 'ERR_NOT_REPLICATED' });
    expect(await fc.withReadFrom('master').get('{durable}a')).toBe('3');
  });

  it('follows MOVED and ASK during a slot migration without an error to the caller', async () => {
    const fc = client({ readFrom: 'master' });
    const key = 'migrate:{m}';
    const slot = slotOf(key);
    const from = cluster.shards[shardOfKey(key)]!.master;
    const to = cluster.masters.find((m) => m !== from)!;
    await fc.set(key, 'before');
    const src = direct(from);
    const dst = direct(to);
    const fromId = String(await src.call('CLUSTER', 'MYID'));
    const toId = String(await dst.call('CLUSTER', 'MYID'));
    await dst.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', fromId);
    await src.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', toId);
    // Mid-migration: a new key of the slot lives on the target (ASK).
    expect(await fc.set('migrate:{m}:new', 'asked')).toBe('OK');
    const [host, port] = to.split(':');
    await src.call('MIGRATE', host!, port!, '', 0, 5000, 'KEYS', key);
    expect(await fc.get(key)).toBe('before');
    for (const node of cluster.masters) await direct(node).call('CLUSTER', 'SETSLOT', slot, 'NODE', toId);
    const errors: unknown[] = [];
    const batches = await Promise.all(Array.from({ length: 5 }, () => fc.pipeline().get(key).set(`${key}:p`, 'x').exec()));
    expect(batches.every((b) => b?.every(([e]) => e === null))).toBe(true);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => fc.set(key, `after${i}`).catch((e: unknown) => errors.push(e))));
    expect(errors).toEqual([]);
    expect(results.every((r) => r === 'OK')).toBe(true);
    expect(await fc.get('migrate:{m}:new')).toBe('asked');
    expect(await dst.get(key)).toBe('after49');
    src.disconnect();
    dst.disconnect();
  });
  it('with a natMap (nodes reached under other addresses): commands, and batches met by MOVED, go to the mapped addresses', async () => {
    // Every node reached as localhost:port while the cluster announces 127.0.0.1:port.
    const natMap = Object.fromEntries(cluster.nodes.map((a) => [a, { host: 'localhost', port: Number(a.split(':')[1]) }]));
    const fc = client({ readFrom: 'master', natMap, nodes: [`localhost:${cluster.masters[0]!.split(':')[1]}`] });
    const key = 'natmoved:{n}';
    const slot = slotOf(key);
    const from = (await fc.refreshTopology()).shards.find((s) => s.slots.some(([a, b]) => slot >= a && slot <= b))!.master!.address;
    const to = cluster.masters.find((m) => m !== from)!;
    await fc.set(key, 'before');
    const src = direct(from);
    const dst = direct(to);
    const toId = String(await dst.call('CLUSTER', 'MYID'));
    await dst.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', String(await src.call('CLUSTER', 'MYID')));
    await src.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', toId);
    const [host, port] = to.split(':');
    await src.call('MIGRATE', host!, port!, '', 0, 5000, 'KEYS', key);
    for (const node of cluster.masters) await direct(node).call('CLUSTER', 'SETSLOT', slot, 'NODE', toId);
    // Sent at once, to the old owner: MOVED.
    const batches = await Promise.all(Array.from({ length: 5 }, () => fc.pipeline().get(key).set(`${key}:p`, 'x').exec()));
    expect(batches).toEqual(Array.from({ length: 5 }, () => [[null, 'before'], [null, 'OK']]));
    expect(await dst.get(`${key}:p`)).toBe('x');
  });
});

describe('FailoverCluster bad input', () => {
  it('rejects invalid options, naming the option', () => {
    expect(() => new FailoverCluster({ nodes: [] })).toThrow(InvalidOptionError);
    expect(() => new FailoverCluster({ nodes: ['a:1'], readFrom: 'slaves' as never })).toThrow(/readFrom/);
    expect(() => new FailoverCluster({ nodes: ['a:1'], sentinels: ['b:1'] } as never)).toThrow(/sentinels/);
    expect(() => new FailoverCluster('redis://a:1')).toThrow(/redis\+cluster/);
    expect(() => new FailoverCluster('redis+cluster://a:1?readFrom=bogus')).toThrow(/readFrom/);
    expect(() => new FailoverCluster('redis+cluster://:secret@a:1?readFrom=bogus')).not.toThrow(/secret/);
  });

  it('a plain Redis (cluster support off): NotClusterError suggesting FailoverRedis', async () => {
    const port = await freePort();
    const server: ChildProcess = spawn(process.env['REDISMS_SYSTEM_BINARY'] ?? 'redis-server', ['--port', String(port), '--save', '', '--bind', '127.0.0.1'], { stdio: 'ignore' });
    try {
      await waitFor(async () => {
        const probe = direct(`127.0.0.1:${port}`, { maxRetriesPerRequest: 0, retryStrategy: null });
        probe.on('error', () => {});
        try {
          return (await probe.ping()) === 'PONG';
        } finally {
          probe.disconnect();
        }
      });
      const fc = new FailoverCluster({ nodes: [`127.0.0.1:${port}`], redisOptions: { lazyConnect: true } });
      const err = await fc.connect().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotClusterError);
      expect(err).toBeInstanceOf(NoNodeError);
      expect(err).toMatchObject({ code: 'ERR_NOT_CLUSTER' });
      expect(String(err)).toMatch(/FailoverRedis/);
      expect(fc.status).toBe('end');
    } finally {
      server.kill('SIGKILL');
    }
  });

  it('slots no master serves: NoMasterError naming them, within connectTimeout + commandTimeoutMs', async () => {
    const small = await startCluster({ shards: 1, replicasPerShard: 0 });
    try {
      await direct(small.masters[0]!).call('CLUSTER', 'DELSLOTSRANGE', 100, 199);
      const fc = new FailoverCluster({ nodes: small.masters, commandTimeoutMs: 500, redisOptions: { lazyConnect: true, connectTimeout: 500 } });
      const began = Date.now();
      const err = await fc.connect().catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_NO_MASTER' });
      expect(String((err as Error).message)).toMatch(/100-199/);
      expect(Date.now() - began).toBeLessThan(3000);
      expect(fc.status).toBe('end');
    } finally {
      await small.stop();
    }
  });

  it('wrong credentials: NoNodeError that says so, within connectTimeout + commandTimeoutMs', async () => {
    const fc = new FailoverCluster({ nodes: [cluster.masters[0]!], commandTimeoutMs: 1000, redisOptions: { lazyConnect: true, connectTimeout: 1000, username: 'nobody', password: 'hunter2' } });
    const began = Date.now();
    const err = await fc.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoNodeError);
    expect(String((err as Error).message)).toMatch(/credentials|WRONGPASS|NOAUTH/);
    expect(String((err as Error).message)).not.toContain('hunter2');
    expect(Date.now() - began).toBeLessThan(3000);
    expect(fc.status).toBe('end');
  });

  it('unreachable seeds: NoNodeError within connectTimeout + commandTimeoutMs', async () => {
    const port = await freePort();
    const fc = new FailoverCluster({ nodes: [`127.0.0.1:${port}`], commandTimeoutMs: 500, redisOptions: { lazyConnect: true, connectTimeout: 500 } });
    const began = Date.now();
    const err = await fc.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoNodeError);
    expect(Date.now() - began).toBeLessThan(3000);
    expect(fc.status).toBe('end');
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('not ready');
}
