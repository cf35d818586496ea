export interface ClusterOptions {
  /**
   * Masters, each serving an even share of the 16384 slots (the split `redis-cli --cluster create` makes).
   * @default 3
   */
  shards?: number;
  /**
   * Replicas of each master.
   * @default 1
   */
  replicasPerShard?: number;
  /**
   * `cluster-node-timeout`: how long a node may be unreachable before it is marked failing and,
   * if it is a master, one of its replicas is elected in its place.
   * @default 1000
   */
  nodeTimeoutMs?: number;
  /**
   * Extra `redis-server` arguments for every node, after the defaults (`--save ''`,
   * `--appendonly no`, …), so they can override them (e.g. `--cluster-require-full-coverage no`).
   * @default []
   */
  args?: string[];
  /**
   * Bound on each wait: a process starting, the nodes meeting, every slot served, replicas linking up.
   * @default 20000
   */
  timeoutMs?: number;
}

/** One shard as created: addresses are `host:port`, slot ranges inclusive. */
export interface ClusterShard {
  master: string;
  replicas: string[];
  slots: Array<[number, number]>;
}

/**
 * Real `redis-server --cluster-enabled yes` processes on 127.0.0.1. `masters`, `replicas` and
 * `shards` describe the cluster as created; after a failover the cluster itself is the truth
 * (`CLUSTER SHARDS`).
 */
export interface Cluster {
  /** The initial masters, in slot order. */
  readonly masters: string[];
  /** The initial replicas, shard by shard. */
  readonly replicas: string[];
  /** Every node: masters first, then replicas. */
  readonly nodes: string[];
  /** The initial layout, in slot order. */
  readonly shards: ClusterShard[];
  /** SIGKILL; resolves once the process exited. */
  kill(addr: string): Promise<void>;
  /** SIGSTOP: the process keeps its port and connections but answers nothing. */
  pause(addr: string): void;
  /** SIGCONT. */
  resume(addr: string): void;
  /**
   * Starts the node again on the same port with the same `nodes.conf` (killing it first if it
   * still runs), so it rejoins with its id; the cluster turns it into a replica if its slots
   * moved to another node meanwhile. Resolves once it reports `cluster_state:ok`.
   */
  restart(addr: string): Promise<void>;
  /** The pid while the process runs (paused counts as running). */
  pid(addr: string): number | undefined;
  /** Kills every node and removes the temporary directories; idempotent. */
  stop(): Promise<void>;
}

export type ClusterSettings = Required<ClusterOptions>;

export function clusterSettingsOf(options: ClusterOptions): ClusterSettings {
  const settings: ClusterSettings = {
    shards: options.shards ?? 3,
    replicasPerShard: options.replicasPerShard ?? 1,
    nodeTimeoutMs: options.nodeTimeoutMs ?? 1000,
    args: options.args ?? [],
    timeoutMs: options.timeoutMs ?? 20_000,
  };
  if (!Number.isInteger(settings.shards) || settings.shards < 1) {
    throw new RangeError('redis-failover/testing: shards must be an integer >= 1');
  }
  if (!Number.isInteger(settings.replicasPerShard) || settings.replicasPerShard < 0) {
    throw new RangeError('redis-failover/testing: replicasPerShard must be an integer >= 0');
  }
  for (const key of ['nodeTimeoutMs', 'timeoutMs'] as const) {
    if (!Number.isInteger(settings[key]) || settings[key] <= 0) {
      throw new RangeError(`redis-failover/testing: ${key} must be a positive integer`);
    }
  }
  return settings;
}

/** `shards` inclusive ranges covering 0–16383, split as `redis-cli --cluster create` splits them. */
export function slotRanges(shards: number): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let start = 0;
  for (let i = 1; i <= shards; i++) {
    const end = i === shards ? 16383 : Math.round((i * 16384) / shards) - 1;
    ranges.push([start, end]);
    start = end + 1;
  }
  return ranges;
}
