/** A node's address as `host:port`, the key used everywhere (pool, topology, events). */
export type Address = string;

export type NodeRole = 'master' | 'replica' | 'unknown';

/** `master_link_status` as a replica reports it; `null` for a master or an unknown node. */
export type LinkStatus = 'up' | 'down' | null;

/** What the client knows of one node. Plain data: safe to log, diff, serialize. */
export interface NodeState {
  address: Address;
  host: string;
  port: number;
  role: NodeRole;
  /** Reachable and answering, as of the last refresh. */
  up: boolean;
  /** Replication offset: `master_repl_offset` of a master, `slave_repl_offset` of a replica. */
  offset: number;
  /** How far this replica is behind the master, in bytes; `0` for the master. */
  lagBytes: number;
  /** Seconds since the replica last heard from its master, as the master reports it (`lag=`), or null. */
  lagSeconds: number | null;
  linkStatus: LinkStatus;
  /** `master_last_io_seconds_ago` of a replica: how long its master has been silent; null otherwise. */
  lastIoSecondsAgo: number | null;
  /** `slave_priority` (0 = never promote); `null` when not reported. */
  priority: number | null;
  /** Round-trip time of the last probe, in ms; `null` when never measured. */
  latencyMs: number | null;
  /** The master this replica follows (`master_host:master_port`), as the replica reports it. */
  masterAddress: Address | null;
  /** The node is loading its dataset or syncing from its master: it gets no reads. */
  loading: boolean;
  syncing: boolean;
  /** `master_replid`, used to see that a master restarted with a fresh history. */
  replid: string | null;
  /** `run_id`: changes on every restart of the process. */
  runId: string | null;
  /**
   * The node's availability zone: its own report where the server has one (Valkey ≥ 8.1's
   * `availability_zone`), else the `zones` option, else null (unknown).
   */
  zone: string | null;
}

export type TopologySource = 'nodes' | 'sentinel';

export interface Topology {
  master: NodeState | null;
  replicas: NodeState[];
  source: TopologySource;
}
