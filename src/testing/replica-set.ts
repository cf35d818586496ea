import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import createDebug from 'debug';
import { resolveRedisServer } from './binary.js';
import { Probes, entryFields, infoField, settleAll, splitAddress, waitUntil } from './probe.js';
import { freePort, isRunning, killAndWait, launchDataNode, launchSentinel } from './process.js';

const log = createDebug('redis-failover:testing');
const HOST = '127.0.0.1';

export interface ReplicaSetOptions {
  /**
   * Replicas started with `--replicaof` the master.
   * @default 2
   */
  replicas?: number;
  /**
   * Sentinels monitoring the master, with a quorum of a majority of them.
   * @default 0
   */
  sentinels?: number;
  /**
   * Sentinel `down-after-milliseconds`.
   * @default 1000
   */
  downAfterMs?: number;
  /**
   * Sentinel `failover-timeout`; it also spaces out retries of a failed failover (twice this).
   * @default 10000
   */
  failoverTimeoutMs?: number;
  /**
   * Sentinel master name.
   * @default 'mymaster'
   */
  name?: string;
  /**
   * If set, `requirepass` and `masterauth` on every data node and `auth-pass` on every Sentinel.
   * @default undefined
   */
  password?: string;
  /**
   * Extra `redis-server` arguments for every data node, after the defaults (`--save ''`,
   * `--appendonly no`, …), so they can override them.
   * @default []
   */
  args?: string[];
  /**
   * Bound on each wait: a process starting, replicas linking up, Sentinels discovering each other.
   * @default 20000
   */
  timeoutMs?: number;
}

export interface RestartOptions {
  /** `host:port` to replicate from; without it the node comes back as a master. */
  asReplicaOf?: string;
}

/** Real `redis-server` processes on 127.0.0.1; addresses are `host:port`. */
export interface ReplicaSet {
  /** The initial master. */
  readonly master: string;
  /** The initial replicas. */
  readonly replicas: string[];
  readonly sentinels: string[];
  /** Every data node, master first. */
  readonly nodes: string[];
  /** Sentinel master name. */
  readonly name: string;
  /** SIGKILL; resolves once the process exited. Any node or Sentinel. */
  kill(addr: string): Promise<void>;
  /** SIGSTOP: the process keeps its port and connections but answers nothing. */
  pause(addr: string): void;
  /** SIGCONT. */
  resume(addr: string): void;
  /**
   * Starts the node again on the same port and directory (killing it first if it still runs),
   * as a master unless `asReplicaOf`; resolves when it answers PING. A Sentinel restarts from
   * the config it rewrote.
   */
  restart(addr: string, options?: RestartOptions): Promise<void>;
  /** The pid while the process runs (paused counts as running). */
  pid(addr: string): number | undefined;
  /** Kills everything started and removes the temporary directories; idempotent. */
  stop(): Promise<void>;
}

type Settings = Required<Omit<ReplicaSetOptions, 'password'>> & { password: string | undefined };

interface Member {
  kind: 'data' | 'sentinel';
  label: string;
  addr: string;
  port: number;
  dir: string;
  child: ChildProcess | undefined;
  /** redis-memory-server's watchdog for a data node. */
  watchdog: ChildProcess | undefined;
}

/**
 * Starts a master, its replicas and optionally Sentinels, and resolves once every replica's link
 * is up and every Sentinel sees the master, the replicas and the other Sentinels.
 */
export async function startReplicaSet(options: ReplicaSetOptions = {}): Promise<ReplicaSet> {
  const set = new EmbeddedReplicaSet(settingsOf(options), resolveRedisServer());
  try {
    await set.start();
  } catch (err) {
    await set.stop().catch((stopErr: unknown) => log('stop after failed start: %O', stopErr));
    throw err;
  }
  return set;
}

function settingsOf(options: ReplicaSetOptions): Settings {
  const settings: Settings = {
    replicas: options.replicas ?? 2,
    sentinels: options.sentinels ?? 0,
    downAfterMs: options.downAfterMs ?? 1000,
    failoverTimeoutMs: options.failoverTimeoutMs ?? 10_000,
    name: options.name ?? 'mymaster',
    password: options.password,
    args: options.args ?? [],
    timeoutMs: options.timeoutMs ?? 20_000,
  };
  for (const key of ['replicas', 'sentinels'] as const) {
    if (!Number.isInteger(settings[key]) || settings[key] < 0) {
      throw new RangeError(`redis-failover/testing: ${key} must be an integer >= 0`);
    }
  }
  for (const key of ['downAfterMs', 'failoverTimeoutMs', 'timeoutMs'] as const) {
    if (!Number.isInteger(settings[key]) || settings[key] <= 0) {
      throw new RangeError(`redis-failover/testing: ${key} must be a positive integer`);
    }
  }
  if (!/^[\w.-]+$/.test(settings.name)) {
    throw new RangeError(`redis-failover/testing: name must be letters, digits, '_', '.' or '-'`);
  }
  return settings;
}

/** A config-file string argument, quoted the way Redis's config parser unquotes it. */
function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, '\\$&').replace(/\n/g, '\\n')}"`;
}

class EmbeddedReplicaSet implements ReplicaSet {
  static readonly #live = new Set<EmbeddedReplicaSet>();
  // Runs on process exit (a failed test, process.exit()): only synchronous work is possible.
  static readonly #onExit = (): void => {
    for (const set of EmbeddedReplicaSet.#live) set.#killNow();
  };

  readonly #settings: Settings;
  readonly #binary: string;
  readonly #root: string;
  readonly #members = new Map<string, Member>();
  #master = '';
  #replicas: string[] = [];
  #sentinels: string[] = [];
  #stopping: Promise<void> | undefined;

  constructor(settings: Settings, binary: string) {
    this.#settings = settings;
    this.#binary = binary;
    this.#root = mkdtempSync(join(tmpdir(), 'redis-failover-'));
    if (EmbeddedReplicaSet.#live.size === 0) process.on('exit', EmbeddedReplicaSet.#onExit);
    EmbeddedReplicaSet.#live.add(this);
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

  async start(): Promise<void> {
    const { replicas, sentinels, timeoutMs, password } = this.#settings;
    const began = Date.now();
    const probes = new Probes();
    try {
      this.#master = (await this.#launchData('master', undefined)).addr;
      const launched: Member[] = [];
      await settleAll(
        Array.from({ length: replicas }, (_, i) =>
          this.#launchData(`replica-${i + 1}`, this.#master).then((m) => launched.push(m)),
        ),
      );
      this.#replicas = launched.map((m) => m.addr);
      await settleAll(
        this.#replicas.map((addr) =>
          waitUntil(
            `replica ${addr} did not report master_link_status:up`,
            async () => {
              const status = infoField(await probes.get(addr, password).info('replication'), 'master_link_status');
              return status === 'up' || `master_link_status:${status ?? '?'}`;
            },
            timeoutMs,
          ),
        ),
      );
      log('master %s and %d replica(s) up in %d ms', this.#master, replicas, Date.now() - began);
      if (sentinels === 0) return;

      // Started after the replicas are linked: a Sentinel learns them from the master's first
      // INFO, which it sends at once; later ones come only every 10 s.
      const members: Member[] = [];
      await settleAll(
        Array.from({ length: sentinels }, (_, i) =>
          this.#launchSentinel(`sentinel-${i + 1}`, probes).then((m) => members.push(m)),
        ),
      );
      this.#sentinels = members.map((m) => m.addr);
      // Sentinels find each other through hello messages published every 2 s.
      await settleAll(
        this.#sentinels.map((addr) =>
          waitUntil(`sentinel ${addr} did not see the whole set`, () => this.#sentinelSees(addr, probes), timeoutMs),
        ),
      );
      log('%d sentinel(s) up in %d ms', sentinels, Date.now() - began);
    } finally {
      probes.close();
    }
  }

  async kill(addr: string): Promise<void> {
    const { child } = this.#member(addr);
    if (child) await killAndWait(child);
    log('killed %s', addr);
  }

  pause(addr: string): void {
    this.#running(addr).kill('SIGSTOP');
    log('paused %s', addr);
  }

  resume(addr: string): void {
    this.#running(addr).kill('SIGCONT');
    log('resumed %s', addr);
  }

  async restart(addr: string, options: RestartOptions = {}): Promise<void> {
    const member = this.#member(addr);
    if (this.#stopping) throw new Error(`redis-failover/testing: cannot restart ${addr}, the set is stopped`);
    if (options.asReplicaOf) {
      if (member.kind === 'sentinel') throw new Error(`redis-failover/testing: ${addr} is a Sentinel, not a data node`);
      splitAddress(options.asReplicaOf);
    }
    await this.kill(addr);
    const probes = new Probes();
    try {
      if (member.kind === 'sentinel') {
        await this.#launchSentinel(member.label, probes, member);
      } else {
        await this.#launchData(member.label, options.asReplicaOf, member);
        await waitUntil(
          `${addr} did not answer PING after restart`,
          async () => (await probes.get(addr, this.#settings.password).ping()) === 'PONG' || 'no PONG',
          this.#settings.timeoutMs,
        );
      }
    } finally {
      probes.close();
    }
    log('restarted %s%s', addr, options.asReplicaOf ? ` as replica of ${options.asReplicaOf}` : '');
  }

  pid(addr: string): number | undefined {
    const { child } = this.#member(addr);
    return child && isRunning(child) ? child.pid : undefined;
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stopAll();
    return this.#stopping;
  }

  async #stopAll(): Promise<void> {
    const processes = [...this.#members.values()].flatMap((m) => [m.child, m.watchdog]);
    try {
      await settleAll(processes.flatMap((child) => (child ? [killAndWait(child)] : [])));
    } finally {
      rmSync(this.#root, { recursive: true, force: true });
      EmbeddedReplicaSet.#live.delete(this);
      if (EmbeddedReplicaSet.#live.size === 0) process.off('exit', EmbeddedReplicaSet.#onExit);
      log('stopped %s', this.#root);
    }
  }

  #killNow(): void {
    for (const member of this.#members.values()) {
      for (const child of [member.child, member.watchdog]) {
        if (child?.pid !== undefined && isRunning(child)) {
          try {
            process.kill(child.pid, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
      }
    }
    try {
      rmSync(this.#root, { recursive: true, force: true });
    } catch {
      // A process still writing as it dies; the OS cleans tmp eventually.
    }
  }

  #member(addr: string): Member {
    const member = this.#members.get(addr);
    if (!member) throw new Error(`redis-failover/testing: ${addr} is not part of this replica set`);
    return member;
  }

  #running(addr: string): ChildProcess {
    const { child } = this.#member(addr);
    if (!child || !isRunning(child)) throw new Error(`redis-failover/testing: ${addr} is not running`);
    return child;
  }

  #dir(label: string): string {
    const dir = join(this.#root, label);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  async #launchData(label: string, replicaOf: string | undefined, existing?: Member): Promise<Member> {
    const { password, timeoutMs } = this.#settings;
    const dir = existing?.dir ?? this.#dir(label);
    const args = ['--save', '', '--appendonly', 'no', '--dir', dir];
    // Redis 7 waits 5 s by default before a diskless full sync, hoping more replicas join.
    args.push('--repl-diskless-sync-delay', '0');
    if (password !== undefined) args.push('--requirepass', password, '--masterauth', password);
    if (replicaOf) {
      const { host, port } = splitAddress(replicaOf);
      args.push('--replicaof', host, String(port));
    }
    args.push(...this.#settings.args);
    const launched = await launchDataNode({ binary: this.#binary, port: existing?.port, dir, args, label, timeoutMs });
    const member: Member = existing ?? {
      kind: 'data',
      label,
      addr: `${HOST}:${launched.port}`,
      port: launched.port,
      dir,
      child: undefined,
      watchdog: undefined,
    };
    member.child = launched.child;
    member.watchdog = launched.watchdog;
    this.#members.set(member.addr, member);
    log('%s %s pid %d%s', label, member.addr, launched.child.pid, replicaOf ? ` replica of ${replicaOf}` : '');
    if (this.#stopping) {
      await killAndWait(launched.child);
      throw new Error(`redis-failover/testing: the set was stopped while ${label} started`);
    }
    return member;
  }

  async #launchSentinel(label: string, probes: Probes, existing?: Member): Promise<Member> {
    const dir = existing?.dir ?? this.#dir(label);
    const conf = join(dir, 'sentinel.conf');
    // A fresh port can be taken between the probe and the bind: try another (first start only).
    for (let attempt = 1; ; attempt++) {
      const port = existing?.port ?? (await freePort());
      const addr = `${HOST}:${port}`;
      if (!existing) writeFileSync(conf, this.#sentinelConf(port, dir));
      const member: Member = existing ?? { kind: 'sentinel', label, addr, port, dir, child: undefined, watchdog: undefined };
      try {
        await launchSentinel({
          binary: this.#binary,
          conf,
          dir,
          label: `${label} ${addr}`,
          onSpawn: (child) => {
            member.child = child;
            this.#members.set(addr, member);
          },
          ready: (signal) =>
            waitUntil(
              `${label} ${addr} did not answer PING`,
              async () => (await probes.get(addr).ping()) === 'PONG' || 'no PONG',
              this.#settings.timeoutMs,
              signal,
            ),
        });
        log('%s %s pid %d', label, addr, member.child?.pid);
        return member;
      } catch (err) {
        if (!existing) this.#members.delete(addr);
        if (existing || attempt >= 3) throw err;
        log('%s: %s; retrying on another port', label, err instanceof Error ? err.message : err);
      }
    }
  }

  #sentinelConf(port: number, dir: string): string {
    const { name, password, downAfterMs, failoverTimeoutMs, sentinels } = this.#settings;
    const master = splitAddress(this.#master);
    const quorum = Math.floor(sentinels / 2) + 1;
    const lines = [
      `port ${port}`,
      `bind ${HOST}`,
      `dir ${quote(dir)}`,
      'sentinel resolve-hostnames no',
      `sentinel monitor ${name} ${master.host} ${master.port} ${quorum}`,
      `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
      `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
      `sentinel parallel-syncs ${name} 1`,
    ];
    if (password !== undefined) lines.push(`sentinel auth-pass ${name} ${quote(password)}`);
    return `${lines.join('\n')}\n`;
  }

  async #sentinelSees(addr: string, probes: Probes): Promise<true | string> {
    const { name, sentinels } = this.#settings;
    const client = probes.get(addr);
    const [master, others, replicas] = await Promise.all([
      client.call('SENTINEL', 'get-master-addr-by-name', name),
      client.call('SENTINEL', 'sentinels', name),
      client.call('SENTINEL', 'replicas', name),
    ]);
    const missing: string[] = [];
    const known = Array.isArray(master) ? master.join(':') : String(master);
    if (known !== this.#master) missing.push(`master is ${known}`);
    const otherCount = Array.isArray(others) ? others.length : 0;
    if (otherCount !== sentinels - 1) missing.push(`sees ${otherCount}/${sentinels - 1} other sentinels`);
    const seen = new Set(
      (Array.isArray(replicas) ? replicas : [])
        .map(entryFields)
        .filter((fields) => !/s_down|disconnected/.test(fields['flags'] ?? ''))
        .map((fields) => `${fields['ip']}:${fields['port']}`),
    );
    const unseen = this.#replicas.filter((replica) => !seen.has(replica));
    if (unseen.length > 0) missing.push(`does not see replica(s) ${unseen.join(', ')}`);
    return missing.length === 0 || missing.join(', ');
  }
}
