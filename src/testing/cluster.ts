import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import createDebug from 'debug';
import { slotOf } from '../cluster/slot.js';
import { resolveRedisServer } from './binary.js';
import { clusterSettingsOf, slotRanges } from './cluster-options.js';
import type { Cluster, ClusterOptions, ClusterSettings, ClusterShard } from './cluster-options.js';
import { clusterStateOk, knowsAll, servesLayout } from './cluster-probe.js';
import { Lifecycle, startOrStop } from './lifecycle.js';
import { Probes, replicaLinkUp, settleAll, waitUntil } from './probe.js';
import { freePorts, killAndWait, pidWhileRunning, runningOrThrow } from './process.js';

export type { Cluster, ClusterOptions, ClusterShard } from './cluster-options.js';

const log = createDebug('redis-failover:testing');
const HOST = '127.0.0.1';

interface Node {
  label: string;
  addr: string;
  port: number;
  /** The cluster bus port, set with `--cluster-port` so it need not be `port + 10000`. */
  busPort: number;
  dir: string;
  child: ChildProcess | undefined;
}

/**
 * Starts a Redis Cluster of `shards` masters with `replicasPerShard` replicas each, and resolves
 * once every node serves every slot, sees the whole layout, and every replica has synced.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const cluster = new EmbeddedCluster(clusterSettingsOf(options), await resolveRedisServer());
  return startOrStop(cluster, () => cluster.start());
}

class EmbeddedCluster implements Cluster {
  readonly #settings: ClusterSettings;
  readonly #binary: string;
  readonly #nodes = new Map<string, Node>();
  readonly #lifecycle = new Lifecycle({
    prefix: 'redis-failover-cluster-',
    noun: 'cluster',
    group: { processes: () => [...this.#nodes.values()].map((node) => node.child) },
  });
  #shards: ClusterShard[] = [];

  constructor(settings: ClusterSettings, binary: string) {
    this.#settings = settings;
    this.#binary = binary;
  }

  get masters(): string[] {
    return this.#shards.map((s) => s.master);
  }
  get replicas(): string[] {
    return this.#shards.flatMap((s) => s.replicas);
  }
  get nodes(): string[] {
    return [...this.masters, ...this.replicas];
  }
  get shards(): ClusterShard[] {
    return this.#shards.map((s) => ({ master: s.master, replicas: [...s.replicas], slots: s.slots.map(([a, b]) => [a, b]) }));
  }

  async start(): Promise<void> {
    const { shards, replicasPerShard } = this.#settings;
    const began = Date.now();
    const probes = new Probes();
    try {
      const layout = await Promise.all(
        slotRanges(shards).map(async (range, i) => {
          const label = `shard-${i + 1}`;
          const [master, ...replicas] = await Promise.all(
            Array.from({ length: 1 + replicasPerShard }, (_, r) => this.#launch(r === 0 ? `${label}-master` : `${label}-replica-${r}`, probes)),
          );
          return { master: master!, replicas, slots: [range] };
        }),
      );
      this.#shards = layout.map((s) => ({ master: s.master.addr, replicas: s.replicas.map((r) => r.addr), slots: s.slots }));
      const all = [...layout.map((s) => s.master), ...layout.flatMap((s) => s.replicas)];
      log('%d nodes up in %d ms', all.length, Date.now() - began);

      // Distinct config epochs up front, as redis-cli does: no epoch collisions to resolve.
      await Promise.all(
        layout.map(async ({ master, slots }, i) => {
          const client = probes.get(master.addr);
          for (const [start, end] of slots) await client.call('CLUSTER', 'ADDSLOTSRANGE', start, end);
          await client.call('CLUSTER', 'SET-CONFIG-EPOCH', i + 1);
        }),
      );
      // Every node meets every later one: a full mesh at once instead of waiting for gossip
      // to spread a star (~700 ms for 4 nodes).
      await Promise.all(
        all.map(async (node, i) => {
          const client = probes.get(node.addr);
          for (const other of all.slice(i + 1)) await client.call('CLUSTER', 'MEET', HOST, other.port, other.busPort);
        }),
      );
      // CLUSTER REPLICATE needs the replica to know its master's id.
      await this.#waitAll('did not meet every node', (addr) => knowsAll(probes.get(addr), all.length));
      await Promise.all(
        layout.map(async ({ master, replicas }) => {
          const id = String(await probes.get(master.addr).call('CLUSTER', 'MYID'));
          await Promise.all(replicas.map((r) => probes.get(r.addr).call('CLUSTER', 'REPLICATE', id)));
        }),
      );
      await this.#waitAll('did not report master_link_status:up', (addr) => replicaLinkUp(probes.get(addr)), this.replicas);
      if (replicasPerShard > 0) await this.#awaitStreaming(probes);
      await this.#waitAll('did not serve every slot with the whole layout', (addr) => servesLayout(probes.get(addr), this.#shards));
      log('cluster of %d shard(s) × %d replica(s) ready in %d ms', shards, replicasPerShard, Date.now() - began);
    } finally {
      probes.close();
    }
  }

  async kill(addr: string): Promise<void> {
    const { child } = this.#node(addr);
    if (child) await killAndWait(child);
    log('killed %s', addr);
  }

  pause(addr: string): void {
    runningOrThrow(this.#node(addr).child, addr).kill('SIGSTOP');
    log('paused %s', addr);
  }

  resume(addr: string): void {
    runningOrThrow(this.#node(addr).child, addr).kill('SIGCONT');
    log('resumed %s', addr);
  }

  async restart(addr: string): Promise<void> {
    const node = this.#node(addr);
    if (this.#lifecycle.stopping) throw new Error(`redis-failover/testing: cannot restart ${addr}, the cluster is stopped`);
    await this.kill(addr);
    const probes = new Probes();
    try {
      await this.#spawn(node, probes);
      await waitUntil(`${node.label} ${addr} did not rejoin the cluster`, () => clusterStateOk(probes.get(addr)), this.#settings.timeoutMs);
    } finally {
      probes.close();
    }
    log('restarted %s', addr);
  }

  pid(addr: string): number | undefined {
    return pidWhileRunning(this.#node(addr).child);
  }

  stop(): Promise<void> {
    return this.#lifecycle.stop();
  }

  #node(addr: string): Node {
    const node = this.#nodes.get(addr);
    if (!node) throw new Error(`redis-failover/testing: ${addr} is not part of this cluster`);
    return node;
  }

  #waitAll(what: string, check: (addr: string) => Promise<true | string>, addrs = this.nodes): Promise<void> {
    return settleAll(addrs.map((addr) => waitUntil(`${addr} ${what}`, () => check(addr), this.#settings.timeoutMs)));
  }

  /**
   * A write acknowledged by every replica of each master. Until a replica has an offset, Redis
   * 7 reports it `loading` and leaves it out of `CLUSTER SLOTS` (so clients never read from it);
   * and after a diskless sync a master streams to a replica only once it has sent its first
   * REPLCONF ACK (up to a second later), so WAIT would find it lagging.
   */
  async #awaitStreaming(probes: Probes): Promise<void> {
    const { replicasPerShard, timeoutMs } = this.#settings;
    await settleAll(
      this.#shards.map((shard) => {
        const key = keyIn(shard.slots[0]!);
        return waitUntil(
          `the replicas of ${shard.master} did not acknowledge the replication stream`,
          async () => {
            const master = probes.get(shard.master);
            await master.set(key, '');
            await master.del(key);
            const acked = Number(await master.wait(replicasPerShard, 500));
            return acked >= replicasPerShard || `${acked}/${replicasPerShard} replicas acknowledged`;
          },
          timeoutMs,
        );
      }),
    );
  }

  /** Starts one node on free ports (others may take a free port first: then on other ones). */
  async #launch(label: string, probes: Probes): Promise<Node> {
    const dir = join(this.#lifecycle.root, label);
    mkdirSync(dir, { recursive: true });
    for (let attempt = 1; ; attempt++) {
      const [port, busPort] = (await freePorts(2)) as [number, number];
      const node: Node = { label, addr: `${HOST}:${port}`, port, busPort, dir, child: undefined };
      this.#nodes.set(node.addr, node);
      try {
        await this.#spawn(node, probes);
        return node;
      } catch (err) {
        this.#nodes.delete(node.addr);
        if (attempt >= 3 || this.#lifecycle.stopping) throw err;
        // The failed attempt may have written its id and ports there already.
        rmSync(join(dir, 'nodes.conf'), { force: true });
        log('%s: %s; retrying on other ports', label, err instanceof Error ? err.message : err);
      }
    }
  }

  /** Spawns `node` on its ports and directory and resolves when it answers PING. */
  #spawn(node: Node, probes: Probes): Promise<void> {
    return this.#lifecycle.launch({
      binary: this.#binary,
      args: nodeArgs(this.#settings, node),
      dir: node.dir,
      label: node.label,
      addr: node.addr,
      timeoutMs: this.#settings.timeoutMs,
      onSpawn: (child) => {
        node.child = child;
      },
      probe: () => probes.get(node.addr),
    });
  }
}

function nodeArgs(settings: ClusterSettings, node: Node): string[] {
  return [
    ...['--port', String(node.port), '--bind', HOST, '--dir', node.dir],
    ...['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
    ...['--cluster-port', String(node.busPort), '--cluster-node-timeout', String(settings.nodeTimeoutMs)],
    ...['--save', '', '--appendonly', 'no'],
    // Redis 7 waits 5 s by default before a diskless full sync, hoping more replicas join.
    '--repl-diskless-sync-delay',
    '0',
    // A hung master shows in its replicas' master_last_io_seconds_ago within ~2 s (default 10 s).
    '--repl-ping-replica-period',
    '1',
    ...settings.args,
  ];
}

/** A key whose slot is in `range`. */
function keyIn([start, end]: [number, number]): string {
  for (let n = 0; ; n++) {
    const key = `__redis-failover:testing:ready__{${n}}`;
    const slot = slotOf(key);
    if (slot >= start && slot <= end) return key;
  }
}
