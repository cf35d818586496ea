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
  /**
   * `'loopback'`: every process on 127.0.0.1, on random ports. `'namespaces'`: each member in its
   * own Linux network namespace with its own address (data nodes on port 6379, Sentinels on
   * 26379), so that `partition()` can cut links; needs root, `ip` (iproute2) and `nft` (nftables).
   * @default 'loopback'
   */
  network?: 'loopback' | 'namespaces';
}

export interface RestartOptions {
  /** `host:port` to replicate from; without it the node comes back as a master. */
  asReplicaOf?: string;
}

/** Real `redis-server` processes (on 127.0.0.1 unless `network: 'namespaces'`); addresses are `host:port`. */
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

/**
 * A set started with `network: 'namespaces'`. In `partition()` groups, members are named by
 * address and the calling process by `'client'`.
 */
export interface NamespacedReplicaSet extends ReplicaSet {
  /** The calling process's address on the set's network: members see it connect from there. */
  readonly clientHost: string;
  /**
   * Lets traffic flow only within each group (drops, like a real partition); members not named,
   * and `'client'` if not named, are each alone. Replaces the previous partition. Resolves once
   * the rules are in force; a non-member or a member in two groups is a `PartitionGroupsError`
   * and changes nothing.
   */
  partition(...groups: string[][]): Promise<void>;
  /** `partition([addr], everyone else)`; `addr` may be `'client'`. */
  isolate(addr: string): Promise<void>;
  /** Removes every rule. */
  heal(): Promise<void>;
}

/** Options with every default applied. */
export type Settings = Required<Omit<ReplicaSetOptions, 'password'>> & { password: string | undefined };

export function settingsOf(options: ReplicaSetOptions): Settings {
  const settings: Settings = {
    replicas: options.replicas ?? 2,
    sentinels: options.sentinels ?? 0,
    downAfterMs: options.downAfterMs ?? 1000,
    failoverTimeoutMs: options.failoverTimeoutMs ?? 10_000,
    name: options.name ?? 'mymaster',
    password: options.password,
    args: options.args ?? [],
    timeoutMs: options.timeoutMs ?? 20_000,
    network: options.network ?? 'loopback',
  };
  if (settings.network !== 'loopback' && settings.network !== 'namespaces') {
    throw new RangeError(`redis-failover/testing: network must be 'loopback' or 'namespaces'`);
  }
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
