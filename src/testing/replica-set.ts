import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import createDebug from 'debug';
import { resolveRedisServer } from './binary.js';
import { dataNodeArgs, listenArgs, sentinelConfig } from './config.js';
import type { SentinelPeer } from './config.js';
import { Lifecycle, startOrStop } from './lifecycle.js';
import { NamespaceNetwork, networkTools } from './network/namespaces.js';
import type { NetworkTools } from './network/namespaces.js';
import { CLIENT, planPartition } from './network/plan.js';
import { settingsOf } from './options.js';
import type { NamespacedReplicaSet, ReplicaSet, ReplicaSetOptions, RestartOptions, Settings } from './options.js';
import { Probes, replicaLinkUp, sentinelSees, settleAll, splitAddress, waitUntil } from './probe.js';
import { freePort, freePorts, killAndWait, pidWhileRunning, runningOrThrow } from './process.js';

export type { NamespacedReplicaSet, ReplicaSet, ReplicaSetOptions, RestartOptions } from './options.js';

const log = createDebug('redis-failover:testing');
const HOST = '127.0.0.1';
/** In namespaces every member has its own address, so the ports can be the usual ones. */
const DATA_PORT = 6379;
const SENTINEL_PORT = 26379;

interface Member {
  kind: 'data' | 'sentinel';
  label: string;
  addr: string;
  host: string;
  port: number;
  /** Its network namespace with `network: 'namespaces'`. */
  namespace: string | undefined;
  dir: string;
  child: ChildProcess | undefined;
}

/**
 * Starts a master, its replicas and optionally Sentinels, and resolves once every replica's link
 * is up and every Sentinel sees the master, the replicas and the other Sentinels. With
 * `network: 'namespaces'` it rejects at once with a `NetworkUnavailableError` where root, `ip`
 * or `nft` is missing.
 */
export function startReplicaSet(options: ReplicaSetOptions & { network: 'namespaces' }): Promise<NamespacedReplicaSet>;
export function startReplicaSet(options?: ReplicaSetOptions): Promise<ReplicaSet>;
export async function startReplicaSet(options: ReplicaSetOptions = {}): Promise<NamespacedReplicaSet | ReplicaSet> {
  const settings = settingsOf(options);
  const tools = settings.network === 'namespaces' ? networkTools() : undefined;
  const set = new EmbeddedReplicaSet(settings, await resolveRedisServer());
  return startOrStop(set, () => set.start(tools));
}

class EmbeddedReplicaSet implements NamespacedReplicaSet {
  readonly #settings: Settings;
  readonly #binary: string;
  readonly #members = new Map<string, Member>();
  #master = '';
  #replicas: string[] = [];
  #sentinels: string[] = [];
  #network: NamespaceNetwork | undefined;
  /** Rule changes, one after the other. */
  #rules: Promise<void> = Promise.resolve();
  readonly #lifecycle = new Lifecycle({
    prefix: 'redis-failover-',
    noun: 'set',
    group: {
      processes: () => [...this.#members.values()].map((m) => m.child),
      release: async () => {
        await this.#rules.catch(() => {});
        await this.#network?.destroy();
      },
      releaseNow: () => this.#network?.destroyNow(),
    },
  });

  constructor(settings: Settings, binary: string) {
    this.#settings = settings;
    this.#binary = binary;
  }

  get master(): string {
    return this.#master;
  }
  get replicas(): string[] {
    return this.#replicas;
  }
  get sentinels(): string[] {
    return this.#sentinels;
  }
  get nodes(): string[] {
    return [this.#master, ...this.#replicas];
  }
  get name(): string {
    return this.#settings.name;
  }
  get clientHost(): string {
    return this.#networkOrThrow().clientHost;
  }

  async start(tools: NetworkTools | undefined): Promise<void> {
    const { replicas, sentinels, timeoutMs, password } = this.#settings;
    const began = Date.now();
    const probes = new Probes();
    try {
      if (tools) this.#network = await NamespaceNetwork.create(tools);
      // Taken together, so that no two members are handed the same free port.
      const ports = this.#network ? [] : await freePorts(1 + replicas);
      this.#master = (await this.#launchData('master', undefined, ports[0], probes)).addr;
      const launched: string[] = [];
      await settleAll(
        Array.from({ length: replicas }, async (_, i) => {
          launched[i] = (await this.#launchData(`replica-${i + 1}`, this.#master, ports[i + 1], probes)).addr;
        }),
      );
      this.#replicas = launched;
      await settleAll(
        this.#replicas.map((addr) =>
          waitUntil(
            `replica ${addr} did not report master_link_status:up`,
            () => replicaLinkUp(probes.get(addr, password)),
            timeoutMs,
          ),
        ),
      );
      if (replicas > 0) {
        // After a diskless sync the master streams to a replica only once it has sent its first
        // REPLCONF ACK (up to a second later): until then WAIT gets no acknowledgement and the
        // replica lags. A propagated no-op and a WAIT for every replica mark the set as streaming.
        await waitUntil(
          `the replicas of ${this.#master} did not acknowledge the replication stream`,
          async () => {
            const master = probes.get(this.#master, password);
            await master.publish('__redis-failover:testing:ready__', '');
            const acked = Number(await master.wait(replicas, 500));
            return acked >= replicas ? true : `${acked}/${replicas} replicas acknowledged`;
          },
          timeoutMs,
        );
      }
      log('master %s and %d replica(s) up in %d ms', this.#master, replicas, Date.now() - began);
      if (sentinels === 0) return;

      const labels = Array.from({ length: sentinels }, (_, i) => `sentinel-${i + 1}`);
      const places = await this.#placeSentinels(labels);
      const peers = places.map(({ host, port }) => ({ id: randomBytes(20).toString('hex'), host, port }));
      const started: string[] = [];
      await settleAll(
        peers.map(async (self, i) => {
          const others = peers.filter((peer) => peer !== self);
          const label = labels[i] as string;
          started[i] = (await this.#launchSentinel(label, self, others, places[i]?.namespace, probes)).addr;
        }),
      );
      this.#sentinels = started;
      const expected = { name: this.name, master: this.#master, replicas: this.#replicas, sentinels };
      await settleAll(
        this.#sentinels.map((addr) =>
          waitUntil(
            `sentinel ${addr} did not see the whole set`,
            () => sentinelSees(probes.get(addr), expected),
            timeoutMs,
          ),
        ),
      );
      log('%d sentinel(s) up in %d ms', sentinels, Date.now() - began);
    } finally {
      probes.close();
    }
  }

  async kill(addr: string): Promise<void> {
    const member = this.#member(addr);
    if (member.child) await killAndWait(member.child);
    log('killed %s', addr);
  }

  pause(addr: string): void {
    runningOrThrow(this.#member(addr).child, addr).kill('SIGSTOP');
    log('paused %s', addr);
  }

  resume(addr: string): void {
    runningOrThrow(this.#member(addr).child, addr).kill('SIGCONT');
    log('resumed %s', addr);
  }

  async restart(addr: string, options: RestartOptions = {}): Promise<void> {
    const member = this.#member(addr);
    if (this.#lifecycle.stopping) throw new Error(`redis-failover/testing: cannot restart ${addr}, the set is stopped`);
    if (options.asReplicaOf) {
      if (member.kind === 'sentinel') throw new Error(`redis-failover/testing: ${addr} is a Sentinel, not a data node`);
      splitAddress(options.asReplicaOf);
    }
    await this.kill(addr);
    // Same port, same directory; in a namespace, the same one, with the same address.
    const args =
      member.kind === 'sentinel'
        ? [join(member.dir, 'sentinel.conf'), '--sentinel']
        : [...listenArgs(member.host, member.port), ...dataNodeArgs(this.#settings, member.dir, options.asReplicaOf)];
    const probes = new Probes();
    try {
      await this.#launchDirect(member, args, probes);
    } finally {
      probes.close();
    }
    log('restarted %s%s', addr, options.asReplicaOf ? ` as replica of ${options.asReplicaOf}` : '');
  }

  pid(addr: string): number | undefined {
    return pidWhileRunning(this.#member(addr).child);
  }

  async partition(...groups: string[][]): Promise<void> {
    const network = this.#networkOrThrow();
    const hosts = this.#hosts(network);
    const allowed = planPartition(groups, hosts);
    return this.#setRules(network, allowed, [...hosts.values()]);
  }

  async isolate(addr: string): Promise<void> {
    const hosts = this.#hosts(this.#networkOrThrow());
    planPartition([[addr]], hosts);
    return this.partition([addr], [...hosts.keys()].filter((other) => other !== addr));
  }

  async heal(): Promise<void> {
    const network = this.#networkOrThrow();
    return this.#setRules(network, new Map(), [...this.#hosts(network).values()]);
  }

  /** Each member address, and `'client'`, to its host. */
  #hosts(network: NamespaceNetwork): Map<string, string> {
    const hosts = new Map([[CLIENT, network.clientHost]]);
    for (const member of this.#members.values()) hosts.set(member.addr, member.host);
    return hosts;
  }

  /** `allowed`: the hosts each member address may reach; a member not in it gets no rules. */
  #setRules(network: NamespaceNetwork, allowed: ReadonlyMap<string, string[]>, everyone: string[]): Promise<void> {
    const byNamespace = new Map<string, string[] | undefined>();
    for (const member of this.#members.values()) {
      if (member.namespace) byNamespace.set(member.namespace, allowed.get(member.addr));
    }
    const next = this.#rules.catch(() => {}).then(() => {
      if (this.#lifecycle.stopping) throw new Error('redis-failover/testing: the set is stopped');
      return network.apply(byNamespace, everyone);
    });
    this.#rules = next;
    return next;
  }

  #networkOrThrow(): NamespaceNetwork {
    if (!this.#network) {
      throw new Error(`redis-failover/testing: partitions need startReplicaSet({ network: 'namespaces' })`);
    }
    return this.#network;
  }

  stop(): Promise<void> {
    return this.#lifecycle.stop();
  }

  #member(addr: string): Member {
    const member = this.#members.get(addr);
    if (!member) throw new Error(`redis-failover/testing: ${addr} is not part of this replica set`);
    return member;
  }

  #dir(label: string): string {
    const dir = join(this.#lifecycle.root, label);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Starts a data node on `port` or, with namespaces, in a namespace of its own. */
  async #launchData(label: string, replicaOf: string | undefined, port: number | undefined, probes: Probes): Promise<Member> {
    const dir = this.#dir(label);
    const args = dataNodeArgs(this.#settings, dir, replicaOf);
    let member: Member;
    if (this.#network) {
      const { namespace, host } = await this.#network.addMember(label);
      member = this.#addMember({ kind: 'data', label, host, port: DATA_PORT, namespace, dir });
      await this.#launchDirect(member, [...listenArgs(host, DATA_PORT), ...args], probes);
    } else {
      member = await this.#launchLocal(label, dir, args, port ?? (await freePort()), probes);
    }
    log('%s %s pid %d%s', label, member.addr, member.child?.pid, replicaOf ? ` replica of ${replicaOf}` : '');
    return member;
  }

  /** Starts a data node on 127.0.0.1:`port`, or on another free port if that one was taken meanwhile. */
  async #launchLocal(label: string, dir: string, args: string[], port: number, probes: Probes): Promise<Member> {
    for (let attempt = 1; ; attempt++) {
      const member = this.#addMember({ kind: 'data', label, host: HOST, port, namespace: undefined, dir });
      try {
        await this.#launchDirect(member, [...listenArgs(HOST, port), ...args], probes);
        return member;
      } catch (err) {
        this.#members.delete(member.addr);
        // redis-server: "Could not create server TCP listening socket …: bind: Address already in use".
        const taken = err instanceof Error && /already in use/i.test(err.message);
        if (!taken || attempt >= 3 || this.#lifecycle.stopping) throw err;
        log('%s: port %d was taken; retrying on another', label, port);
        port = await freePort();
      }
    }
  }

  #addMember(fields: Omit<Member, 'addr' | 'child'>): Member {
    const member: Member = { ...fields, addr: `${fields.host}:${fields.port}`, child: undefined };
    this.#members.set(member.addr, member);
    return member;
  }

  /** Where each Sentinel listens: free ports on 127.0.0.1, or a namespace each. */
  async #placeSentinels(labels: string[]): Promise<{ host: string; port: number; namespace?: string }[]> {
    const network = this.#network;
    if (!network) return (await freePorts(labels.length)).map((port) => ({ host: HOST, port }));
    return Promise.all(
      labels.map(async (label) => ({ ...(await network.addMember(label)), port: SENTINEL_PORT })),
    );
  }

  async #launchSentinel(
    label: string,
    self: SentinelPeer,
    others: SentinelPeer[],
    namespace: string | undefined,
    probes: Probes,
  ): Promise<Member> {
    const dir = this.#dir(label);
    const conf = join(dir, 'sentinel.conf');
    const { host } = self;
    let { port } = self;
    // A free port can be taken between the probe and the bind: then try another (the others
    // learn the new address from its hello messages). In its own namespace the port is its own.
    for (let attempt = 1; ; attempt++) {
      const config = { self: { id: self.id, host, port }, others, dir, master: this.#master, replicas: this.#replicas };
      writeFileSync(conf, sentinelConfig(this.#settings, config));
      const member = this.#addMember({ kind: 'sentinel', label, host, port, namespace, dir });
      try {
        await this.#launchDirect(member, [conf, '--sentinel'], probes);
        return member;
      } catch (err) {
        if (!namespace) this.#members.delete(member.addr);
        if (namespace || attempt >= 3) throw err;
        log('%s: %s; retrying on another port', label, err instanceof Error ? err.message : err);
        port = await freePort();
      }
    }
  }

  /** Spawns `member` on its port and resolves when it answers PING there. */
  #launchDirect(member: Member, args: string[], probes: Probes): Promise<void> {
    const { addr, label } = member;
    const password = member.kind === 'data' ? this.#settings.password : undefined;
    const command = member.namespace
      ? this.#networkOrThrow().command(member.namespace, this.#binary, args)
      : { file: this.#binary, args };
    return this.#lifecycle.launch({
      binary: command.file,
      args: command.args,
      dir: member.dir,
      label,
      addr,
      timeoutMs: this.#settings.timeoutMs,
      onSpawn: (child) => {
        member.child = child;
      },
      probe: () => probes.get(addr, password),
    });
  }
}
