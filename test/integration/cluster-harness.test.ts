import { execFile } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Cluster as IoCluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseClusterShards } from '../../src/cluster/shards.js';
import type { ClusterShardEntry } from '../../src/cluster/shards.js';
import { slotOf } from '../../src/cluster/slot.js';
import { startCluster } from '../../src/testing/index.js';
import type { Cluster } from '../../src/testing/index.js';
import { parseInfo } from '../../src/topology/info-parser.js';
import { isAlive } from '../helpers/process.js';

const clients: Array<Redis | IoCluster> = [];

function connect(addr: string, options: { commandTimeout?: number } = {}): Redis {
  const [host, port] = addr.split(':');
  const client = new Redis({ host, port: Number(port), maxRetriesPerRequest: 0, ...options });
  client.on('error', () => {});
  clients.push(client);
  return client;
}

/** `CLUSTER INFO` (`what: 'cluster'`) or `INFO replication` as fields. */
async function info(addr: string, what: 'cluster' | 'replication'): Promise<Record<string, string>> {
  const client = connect(addr, { commandTimeout: 1000 });
  try {
    return parseInfo(String(what === 'cluster' ? await client.call('CLUSTER', 'INFO') : await client.info('replication')));
  } finally {
    client.disconnect();
  }
}

async function shardsSeenBy(addr: string): Promise<ClusterShardEntry[]> {
  const client = connect(addr, { commandTimeout: 1000 });
  try {
    return parseClusterShards(await client.call('CLUSTER', 'SHARDS'), '127.0.0.1');
  } finally {
    client.disconnect();
  }
}

/** Polls `check` until it returns something truthy (generous bound). */
async function eventually<T>(what: string, check: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const result = await check();
      if (result) return result;
      last = result;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms (last: ${String(last)})`);
    await delay(50);
  }
}

/** Where a process's working directory shows (each node runs in its own directory). */
const PROCFS = existsSync('/proc/self/cwd');

afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

describe('a 3×1 cluster', () => {
  let cluster: Cluster;
  let startupMs: number;

  beforeAll(async () => {
    const began = Date.now();
    cluster = await startCluster({ shards: 3, replicasPerShard: 1, nodeTimeoutMs: 1000 });
    startupMs = Date.now() - began;
  });
  afterAll(async () => {
    for (const addr of cluster?.nodes ?? []) {
      try {
        cluster.resume(addr);
      } catch {
        // killed by the test
      }
    }
    await cluster?.stop();
  });

  it('comes up within a few seconds, every slot served, each node seeing the whole layout', async () => {
    expect(startupMs).toBeLessThan(10_000);
    expect(cluster.masters).toHaveLength(3);
    expect(cluster.replicas).toHaveLength(3);
    expect(cluster.nodes).toEqual([...cluster.masters, ...cluster.replicas]);
    expect(new Set(cluster.nodes).size).toBe(6);
    for (const addr of cluster.nodes) expect(addr).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(cluster.shards.map((s) => s.slots)).toEqual([[[0, 5460]], [[5461, 10922]], [[10923, 16383]]]);

    const expected = cluster.shards.map((s) => ({ slots: s.slots, master: s.master, replicas: s.replicas }));
    for (const addr of cluster.nodes) {
      const fields = await info(addr, 'cluster');
      expect(fields).toMatchObject({ cluster_state: 'ok', cluster_slots_ok: '16384', cluster_known_nodes: '6', cluster_size: '3' });
      const seen = await shardsSeenBy(addr);
      expect(seen.map((s) => ({ slots: s.slots, master: s.master?.address, replicas: s.replicas.map((r) => r.address) }))).toEqual(expected);
      expect(seen.flatMap((s) => [s.master!, ...s.replicas]).every((n) => n.health === 'online')).toBe(true);
    }
    for (const addr of cluster.replicas) expect((await info(addr, 'replication'))['master_link_status']).toBe('up');
  });

  it('an ioredis Cluster writes each key to the shard slotOf names', async () => {
    const [host, port] = cluster.masters[0]!.split(':');
    const io = new IoCluster([{ host: host!, port: Number(port) }]);
    io.on('error', () => {});
    clients.push(io);
    const keys = Array.from({ length: 30 }, (_, i) => `harness:${i}`);
    await Promise.all(keys.map((key) => io.set(key, key)));
    const any = connect(cluster.masters[1]!);
    for (const key of keys) {
      const slot = slotOf(key);
      expect(await any.call('CLUSTER', 'KEYSLOT', key)).toBe(slot);
      const shard = cluster.shards.find((s) => s.slots.some(([a, b]) => slot >= a && slot <= b))!;
      // A plain connection: a key on another shard would answer MOVED instead.
      expect(await connect(shard.master).get(key)).toBe(key);
    }
  });

  it('pause stops a node answering, resume brings it back', async () => {
    const replica = cluster.replicas[2]!;
    const client = connect(replica, { commandTimeout: 300 });
    await client.ping();
    cluster.pause(replica);
    await expect(client.ping()).rejects.toThrow(/timed out/i);
    cluster.resume(replica);
    expect(await eventually('PONG after resume', () => client.ping())).toBe('PONG');
  });

  it('kill of a master: the cluster promotes its replica; restart: the old master rejoins as its replica', async () => {
    const [shard] = cluster.shards;
    const { master, replicas } = shard!;
    const replica = replicas[0]!;
    const observer = cluster.masters[1]!;
    const pid = cluster.pid(master)!;
    const killedAt = Date.now();
    await cluster.kill(master);
    expect(isAlive(pid)).toBe(false);
    expect(cluster.pid(master)).toBeUndefined();

    await eventually('replica reports role:master', async () => (await info(replica, 'replication'))['role'] === 'master');
    const promotedMs = Date.now() - killedAt;
    expect(promotedMs).toBeLessThan(15_000);
    await eventually('the cluster serves slots 0–5460 from the promoted replica', async () => {
      const [first] = await shardsSeenBy(observer);
      return first?.master?.address === replica && (await info(observer, 'cluster'))['cluster_state'] === 'ok';
    });

    await cluster.restart(master);
    expect(cluster.pid(master)).not.toBe(pid);
    await eventually('old master rejoins as a replica of the promoted one', async () => {
      const fields = await info(master, 'replication');
      return fields['role'] === 'slave' && `127.0.0.1:${fields['master_port']}` === replica && fields['master_link_status'] === 'up';
    });
    await eventually('every node sees the old master as the replica', async () => {
      for (const addr of cluster.nodes) {
        const [first] = await shardsSeenBy(addr);
        if (first?.master?.address !== replica || first.replicas[0]?.address !== master) return false;
      }
      return true;
    });
  });

  it('stop() leaves no process and no file behind', async () => {
    const pids = cluster.nodes.map((addr) => cluster.pid(addr)!);
    expect(pids.every((pid) => pid > 0 && isAlive(pid))).toBe(true);
    // Each node runs in its own directory under the cluster's temporary root.
    const dirs = PROCFS ? pids.map((pid) => readlinkSync(`/proc/${pid}/cwd`)) : [];
    const roots = new Set(dirs.map((dir) => dirname(dir)));
    if (PROCFS) expect(roots.size).toBe(1);
    await cluster.stop();
    expect(pids.filter(isAlive)).toEqual([]);
    for (const path of [...dirs, ...roots]) expect(existsSync(path)).toBe(false);
    await cluster.stop(); // idempotent
  });
});

describe.skipIf(!PROCFS)('exit hook', () => {
  it('kills the nodes and removes the files when the process exits without stop()', async () => {
    const script = `
      import { startCluster } from './src/testing/index.ts';
      import { readlinkSync } from 'node:fs';
      const cluster = await startCluster({ shards: 1, replicasPerShard: 0 });
      const pid = cluster.pid(cluster.masters[0]);
      console.log(JSON.stringify({ pid, dir: readlinkSync('/proc/' + pid + '/cwd') }));
      process.exit(1);
    `;
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: new URL('../..', import.meta.url).pathname,
    });
    const { stdout } = await run.catch((err: { stdout: string }) => err);
    const { pid, dir } = JSON.parse(stdout.trim()) as { pid: number; dir: string };
    expect(pid).toBeGreaterThan(0);
    await eventually('node gone', async () => !isAlive(pid), 5000);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(dirname(dir))).toBe(false);
  });
});
