import { setTimeout as delay } from 'node:timers/promises';
import type { Redis, RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailoverCluster, FailoverRedis, type ConnectionFactory, type ConnectionPurpose, type FailoverEvent } from '../../src/index.js';
import { slotOf } from '../../src/cluster/slot.js';
import { defaultConnectionFactory } from '../../src/pool/node-pool.js';
import { controlReconnectDelay } from '../../src/pool/reconnect.js';
import { commandCalls, direct, resetStats } from '../helpers/redis.js';
import { startCluster, startReplicaSet, type Cluster, type ReplicaSet } from '../../src/testing/index.js';

// What FailoverRedis and FailoverCluster used to do differently (issue 18), each checked on both:
// one replica set and one cluster, the same scenario run against each client.

let set: ReplicaSet;
let cluster: Cluster;
const made: Array<FailoverRedis | FailoverCluster> = [];

interface Settings {
  redisOptions?: RedisOptions;
  readFrom?: 'master' | 'replica' | 'replicaPreferred';
  maxReplicaLag?: { bytes?: number; ms?: number };
  commandTimeoutMs?: number;
}

/** The deployment a client of each kind talks to: where a key lives, and its nodes. */
interface Kind {
  name: 'FailoverRedis' | 'FailoverCluster';
  make(settings?: Settings, internals?: { connectionFactory?: ConnectionFactory }): FailoverRedis | FailoverCluster;
  /** A key whose master is `masterOf(key)`; for the cluster, in shard `i`. */
  key(prefix: string, i?: number): string;
  masterOf(key: string): string;
  replicasOf(key: string): string[];
  /** Every data node. */
  nodes(): string[];
  /** The master of `key` as the client `c` sees it now (after a switchover or a failover too). */
  liveMasterOf(c: FailoverRedis | FailoverCluster, key: string): string;
}

function keep<T extends FailoverRedis | FailoverCluster>(c: T): T {
  c.on('error', () => undefined);
  made.push(c);
  return c;
}

/** The initial shard (its index in `cluster.shards`) of `key`. */
function shardIndex(key: string): number {
  const slot = slotOf(key);
  return cluster.shards.findIndex((s) => s.slots.some(([a, b]) => slot >= a && slot <= b));
}

function shardOf(key: string): Cluster['shards'][number] {
  return cluster.shards[shardIndex(key)]!;
}

const kinds: Kind[] = [
  {
    name: 'FailoverRedis',
    make: (settings = {}, internals) => keep(new FailoverRedis({ nodes: [set.master], failover: { downAfterMs: 1000 }, ...settings }, undefined, internals)),
    key: (prefix) => `${prefix}:rs`,
    masterOf: () => set.master,
    replicasOf: () => set.replicas,
    nodes: () => set.nodes,
    liveMasterOf: (c) => (c as FailoverRedis).topology().master!.address,
  },
  {
    name: 'FailoverCluster',
    make: (settings = {}, internals) => keep(new FailoverCluster({ nodes: cluster.masters, failover: { downAfterMs: 1000 }, ...settings }, undefined, internals)),
    key: (prefix, i = 0) => {
      for (let n = 0; ; n++) {
        const key = `${prefix}:${n}`;
        if (shardIndex(key) === i) return key;
      }
    },
    masterOf: (key) => shardOf(key).master,
    replicasOf: (key) => shardOf(key).replicas,
    nodes: () => cluster.nodes,
    liveMasterOf: (c, key) => {
      const slot = slotOf(key);
      return (c as FailoverCluster).topology().shards.find((s) => s.slots.some(([a, b]) => slot >= a && slot <= b))!.master!.address;
    },
  },
];

async function settle(p: Promise<unknown>): Promise<{ value?: unknown; code?: string; message?: string; ms: number }> {
  const began = performance.now();
  try {
    const value = await p;
    return { value, ms: performance.now() - began };
  } catch (error) {
    const e = error as { code?: string; message?: string };
    return { code: e.code, message: e.message, ms: performance.now() - began };
  }
}

function ready(c: FailoverRedis | FailoverCluster): Promise<void> {
  return c.status === 'ready' ? Promise.resolve() : new Promise((resolve) => c.once('ready', () => resolve()));
}

beforeAll(async () => {
  [set, cluster] = await Promise.all([startReplicaSet({ replicas: 2 }), startCluster({ shards: 3, replicasPerShard: 1, nodeTimeoutMs: 1000 })]);
});

afterAll(async () => {
  await Promise.all(made.map((c) => c.quit().catch(() => undefined)));
  await Promise.all([set?.stop(), cluster?.stop()]);
});

describe.each(kinds)('$name: redisOptions.enableOfflineQueue: false', (kind) => {
  it('a command that would have to wait for a connection rejects at once with ERR_OFFLINE (ioredis’s message); once ready, commands to every master go', async () => {
    const c = kind.make({ redisOptions: { enableOfflineQueue: false, lazyConnect: true }, commandTimeoutMs: 10_000 });
    // The first command connects (lazyConnect); it would have to wait for that, so it fails.
    const early = await settle(c.get(kind.key('offline')));
    expect(early).toMatchObject({ code: 'ERR_OFFLINE', message: "Stream isn't writeable and enableOfflineQueue options is false" });
    expect(early.ms).toBeLessThan(500);
    const batch = await settle(c.pipeline().get(kind.key('offline')).exec());
    expect((batch.value as [Error | null][])[0]![0]).toMatchObject({ code: 'ERR_OFFLINE' });
    await ready(c);
    // Ready means ready: no master's connection is still being made (each shard's, in a cluster).
    const keys = [0, 1, 2].map((i) => kind.key('offline', i));
    expect(await Promise.all(keys.map((k) => settle(c.set(k, 'v'))))).toMatchObject(keys.map(() => ({ value: 'OK' })));
    expect(await c.get(keys[0]!)).toBe('v');
  });
});

/** The names in `CLIENT LIST` of `address`. */
async function clientNames(address: string): Promise<string[]> {
  const conn = direct(address);
  try {
    return ((await conn.client('LIST')) as string).split('\n').flatMap((l) => /name=(\S+)/.exec(l)?.[1] ?? []);
  } finally {
    conn.disconnect();
  }
}

describe.each(kinds)('$name: control connections', (kind) => {
  it('come from the connection factory, named by purpose in CLIENT LIST, with the jittered reconnects', async () => {
    const made: Array<{ address: string; purpose: ConnectionPurpose; conn: Redis }> = [];
    const controlRetries = new Set<unknown>();
    const c = kind.make(
      { redisOptions: { connectionName: 'parity' } },
      {
        connectionFactory: (node, purpose, options) => {
          if (purpose === 'control') controlRetries.add(options.retryStrategy);
          const conn = defaultConnectionFactory(node, purpose, options);
          made.push({ address: `${node.host}:${node.port}`, purpose, conn });
          return conn;
        },
      },
    );
    await c.connect();
    await c.set(kind.key('named'), 'v');
    // The poll reads every node: each has a control connection, made by the factory.
    await c.refreshTopology();
    const controls = made.filter((m) => m.purpose === 'control');
    expect(new Set(controls.map((m) => m.address))).toEqual(new Set(kind.nodes()));
    const master = kind.masterOf(kind.key('named'));
    const names = await clientNames(master);
    expect(names).toContain('parity:redis-failover:control');
    expect(names).toContain('parity:redis-failover:data');
    // The connections the factory made are the ones in use.
    expect(controls.every((m) => m.conn.status === 'ready')).toBe(true);
    // Both clients: the one jittered strategy (not a fixed delay every client shares).
    expect([...controlRetries]).toEqual([controlReconnectDelay]);
  });
});

/** An ACL user that may run everything but ROLE, on every node (ACLs are per node, in a cluster too). */
async function userWithoutRole(nodes: readonly string[]): Promise<{ username: string; password: string }> {
  for (const node of nodes) {
    const admin = direct(node);
    try {
      await admin.call('ACL', 'SETUSER', 'norole', 'on', '>norole-pw', '~*', '&*', '+@all', '-role');
    } finally {
      admin.disconnect();
    }
  }
  return { username: 'norole', password: 'norole-pw' };
}

describe.each(kinds)('$name: an ACL user that may not run ROLE', (kind) => {
  it('replica reads with read-your-writes go on, served by the replicas (offsets sampled from INFO)', async () => {
    const credentials = await userWithoutRole(kind.nodes());
    const check = direct(kind.nodes()[0]!, credentials);
    await expect(check.call('ROLE')).rejects.toThrow(/NOPERM/);
    check.disconnect();
    const c = kind.make({ redisOptions: credentials, maxReplicaLag: { ms: 2000 } });
    await c.connect();
    const keys = [0, 1, 2].flatMap((i) => Array.from({ length: 10 }, (_, n) => kind.key(`acl:${n}`, i)));
    for (const k of keys) await c.set(k, k);
    await delay(300); // the client learns that the replicas have its writes
    const masters = [...new Set(keys.map((k) => kind.masterOf(k)))];
    const replicas = [...new Set(keys.flatMap((k) => kind.replicasOf(k)))];
    await resetStats([...masters, ...replicas]);
    // Its own writes, read back: every value is the one written, and the replicas serve them.
    for (let round = 0; round < 3; round++) for (const k of keys) expect(await c.get(k)).toBe(k);
    const gets = await commandCalls([...masters, ...replicas], 'get');
    const onReplicas = replicas.reduce((n, r) => n + gets[r]!, 0);
    expect(onReplicas).toBeGreaterThanOrEqual(keys.length * 3 * 0.9);
    // A fresh write is read back at once, wherever the read goes.
    for (const k of keys.slice(0, 10)) {
      await c.set(k, `${k}!`);
      expect(await c.get(k)).toBe(`${k}!`);
    }
  });
});

describe.each(kinds)('$name: stats(), one collector', (kind) => {
  it('reads sent to a master by read-your-writes are counted; a switchover is one failover, one event, counted once', async () => {
    const c = kind.make();
    await c.connect();
    for (let i = 0; i < 5; i++) {
      const k = kind.key(`stats:${i}`, 1);
      await c.set(k, 'v');
      expect(await c.get(k)).toBe('v');
    }
    expect(c.stats().readYourWritesRedirects).toBeGreaterThan(0);
    const events: FailoverEvent[] = [];
    c.on('failover', (e) => events.push(e));
    const key = kind.key('stats', 1);
    const from = kind.liveMasterOf(c, key);
    const to = kind.replicasOf(key)[0]!;
    await c.switchover({ to });
    await c.refreshTopology();
    await delay(300); // any later poll of the change would count it again
    expect(kind.liveMasterOf(c, key)).toBe(to);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ from, to });
    expect(events[0]!.reason).toContain('switchover');
    expect(c.stats()).toMatchObject({ failovers: 1, lastFailoverDurationMs: events[0]!.durationMs });
  });
});

describe.each(kinds)('$name: one read-your-writes algorithm (writes recorded as issued)', (kind) => {
  it('a read issued right behind a write that waits for the master (its connection just lost) is not served by a replica from before the write', async () => {
    const c = kind.make();
    await c.connect();
    const stale: string[] = [];
    for (let i = 0; i < 6; i++) {
      const key = kind.key(`issued:${i}`, i % 3);
      await c.set(key, 'old');
      await delay(200); // the replicas have it, and the client knows: reads of it may go there
      const master = direct(kind.masterOf(key));
      // The client's connections to the master drop: its writes wait for a new one.
      await master.call('CLIENT', 'KILL', 'TYPE', 'normal');
      master.disconnect();
      await delay(20);
      const write = c.set(key, 'new');
      const read = c.get(key);
      await write;
      if ((await read) !== 'new') stale.push(key);
    }
    expect(stale).toEqual([]);
  });
});

// Last: it kills a master of each deployment.
describe.each(kinds)('$name: the loss of a master', (kind) => {
  it('enableOfflineQueue: false: a write to the lost master rejects at once with ERR_OFFLINE instead of being held; its replicas, cut off from it alike, serve the reads meanwhile (one eligibility rule)', async () => {
    const c = kind.make({ redisOptions: { enableOfflineQueue: false }, commandTimeoutMs: 10_000 });
    await c.connect();
    const key = kind.key('lost');
    const other = kind.key('lost-other');
    expect(await c.set(key, 'v')).toBe('OK');
    expect(await c.set(other, 'o')).toBe('OK');
    await delay(300); // the replicas have both writes, and the client knows it
    const victim = kind.liveMasterOf(c, key);
    if (kind.name === 'FailoverRedis') await set.kill(victim);
    else await cluster.kill(victim);
    await delay(200); // the client sees its connection closed
    const write = await settle(c.set(key, 'w'));
    expect(write).toMatchObject({ code: 'ERR_OFFLINE' });
    expect(write.ms).toBeLessThan(500);
    // Reads need no master: the replicas, whose link to it is down like every replica's, serve them.
    await delay(500); // a poll has seen the replicas' links down
    expect(await settle(c.get(other))).toMatchObject({ value: 'o' });
    expect(await settle(c.get(key))).toMatchObject({ value: 'v' });
  });
});
