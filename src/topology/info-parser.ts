import type { ServerKind } from '../errors.js';
import { formatAddress } from './address.js';
import type { Address, LinkStatus, NodeRole, NodeState } from './types.js';

/** One `slaveN:` line of a master's `INFO replication`: a replica as the master sees it. */
export interface ReplicaEntry {
  /** The address the replica connected from, or its `replica-announce-ip`. */
  ip: string;
  /** The replica's listening port (`replica-announce-port` when set). */
  port: number;
  /** `online`, `wait_bgsave`, `send_bulk`, …; `null` when missing. */
  state: string | null;
  /** The replication offset the replica last acknowledged. */
  offset: number | null;
  /** Seconds since the replica's last acknowledgement. */
  lag: number | null;
}

/**
 * A typed view of `INFO replication` (and of a few fields from other sections of a full `INFO`).
 * A field the reply lacks, or that does not parse, is `null`. Numbers are as Redis prints them:
 * `-1` keeps its Redis meaning (no I/O yet, no second history), it is not turned into `null`.
 */
export interface ReplicationInfo {
  /** `role`: Redis's `slave` is `'replica'`; `'unknown'` when missing or unrecognised. */
  role: NodeRole;
  /** `master_host` (replica only). */
  masterHost: string | null;
  /** `master_port` (replica only). */
  masterPort: number | null;
  /** `master_link_status` (replica only). */
  masterLinkStatus: LinkStatus;
  /** `master_last_io_seconds_ago`: `-1` while the link is down. */
  masterLastIoSecondsAgo: number | null;
  /** `master_sync_in_progress`: a full sync from the master is running. */
  masterSyncInProgress: boolean | null;
  /** `master_link_down_since_seconds`: only present while the link is down. */
  masterLinkDownSinceSeconds: number | null;
  /** `slave_repl_offset`: how much of the master's stream this replica has applied. */
  replicaReplOffset: number | null;
  /** `slave_priority`: lower is preferred for promotion; `0` means never promote. */
  replicaPriority: number | null;
  /** `slave_read_only`. */
  replicaReadOnly: boolean | null;
  /** `replica_announced`: `false` hides the replica from Sentinel. */
  replicaAnnounced: boolean | null;
  /** `connected_slaves`. */
  connectedReplicas: number | null;
  /** The `slaveN:` lines of a master, ordered by N; lines without a usable ip and port are left out. */
  replicas: ReplicaEntry[];
  /** `master_failover_state` (Redis ≥ 6.2): `no-failover`, `waiting-for-sync`, `failover-in-progress`. */
  masterFailoverState: string | null;
  /** `master_replid`: the current replication history. */
  masterReplid: string | null;
  /** `master_replid2`: the history before the last promotion; all zeros when none. */
  masterReplid2: string | null;
  /** `master_repl_offset`. */
  masterReplOffset: number | null;
  /** `second_repl_offset`: up to where `master_replid2` is valid; `-1` when none. */
  secondReplOffset: number | null;
  /** `repl_backlog_active`. */
  replBacklogActive: boolean | null;
  /** `repl_backlog_size`, in bytes. */
  replBacklogSize: number | null;
  /** `repl_backlog_first_byte_offset`. */
  replBacklogFirstByteOffset: number | null;
  /** `repl_backlog_histlen`, in bytes. */
  replBacklogHistlen: number | null;
  /** `loading` (persistence section): the dataset is still being loaded. */
  loading: boolean | null;
  /** `run_id` (server section): changes on every restart. */
  runId: string | null;
  /** `redis_version` (server section). */
  redisVersion: string | null;
  /**
   * `availability_zone` (server section): Valkey ≥ 8.1 reports the zone its `availability-zone`
   * config names, empty when unset. Redis has no such field: null there.
   */
  availabilityZone: string | null;
}

/**
 * Parse any `INFO` reply into `field → value`. Section headers and blank lines are skipped; a line
 * splits on its first colon only (values such as an IPv6 `master_host:::1` contain colons).
 * Never throws: anything but a string gives an empty record.
 */
export function parseInfo(text: string): Record<string, string> {
  // No prototype, so a field named like `__proto__` or `constructor` is just data.
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  if (typeof text !== 'string') return fields;
  // One pass over the text, no intermediate array of lines: every discovery parses every node's reply.
  const length = text.length;
  let start = 0;
  while (start < length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = length;
    let from = start;
    let to = end;
    while (from < to && isSpace(text.charCodeAt(from))) from++;
    while (to > from && isSpace(text.charCodeAt(to - 1))) to--;
    if (to > from && text.charCodeAt(from) !== HASH) {
      const colon = text.indexOf(':', from);
      if (colon > from && colon < to) fields[text.slice(from, colon)] = text.slice(colon + 1, to);
    }
    start = end + 1;
  }
  return fields;
}

const HASH = 35;

/** What `String.prototype.trim` removes that an INFO reply may hold: CR, spaces, tabs. */
function isSpace(code: number): boolean {
  return code === 13 || code === 32 || code === 9 || code === 10;
}

const int = (value: string | undefined): number | null => {
  if (value === undefined || !/^-?\d+$/.test(value)) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
};

const bool = (value: string | undefined): boolean | null => (value === '1' ? true : value === '0' ? false : null);

const str = (value: string | undefined): string | null => (value === undefined || value === '' ? null : value);

/** `ip=…,port=…,state=…,offset=…,lag=…`; `null` without a non-empty ip and a valid port. */
function parseReplicaEntry(value: string): ReplicaEntry | null {
  const parts = new Map<string, string>();
  for (const pair of value.split(',')) {
    const eq = pair.indexOf('=');
    if (eq > 0) parts.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const ip = parts.get('ip');
  const port = int(parts.get('port'));
  if (!ip || port === null || port < 1 || port > 65535) return null;
  return { ip, port, state: str(parts.get('state')), offset: int(parts.get('offset')), lag: int(parts.get('lag')) };
}

/** A typed view of an `INFO replication` reply, or of a full `INFO` reply. Never throws. */
export function parseInfoReplication(text: string): ReplicationInfo {
  return replicationOf(parseInfo(text));
}

/** Both views of one `INFO` reply, parsed once (a discovery probe reads both of every node). */
export function parseProbeInfo(text: string): { info: ReplicationInfo; server: ServerMode } {
  const f = parseInfo(text);
  return { info: replicationOf(f), server: serverModeOf(f) };
}

function replicationOf(f: Record<string, string>): ReplicationInfo {
  const replicas: Array<[number, ReplicaEntry]> = [];
  // Only `slaveN` keys are looked at closely (a reply has dozens of others, every discovery).
  for (const key in f) {
    if (!key.startsWith('slave')) continue;
    const m = /^slave(\d+)$/.exec(key);
    const entry = m ? parseReplicaEntry(f[key]!) : null;
    if (m && entry) replicas.push([Number(m[1]), entry]);
  }
  replicas.sort((a, b) => a[0] - b[0]);
  const role = f['role'];
  const link = f['master_link_status'];
  return {
    role: role === 'master' ? 'master' : role === 'slave' ? 'replica' : 'unknown',
    masterHost: str(f['master_host']),
    masterPort: int(f['master_port']),
    masterLinkStatus: link === 'up' || link === 'down' ? link : null,
    masterLastIoSecondsAgo: int(f['master_last_io_seconds_ago']),
    masterSyncInProgress: bool(f['master_sync_in_progress']),
    masterLinkDownSinceSeconds: int(f['master_link_down_since_seconds']),
    replicaReplOffset: int(f['slave_repl_offset']),
    replicaPriority: int(f['slave_priority']),
    replicaReadOnly: bool(f['slave_read_only']),
    replicaAnnounced: bool(f['replica_announced']),
    connectedReplicas: int(f['connected_slaves']),
    replicas: replicas.map(([, entry]) => entry),
    masterFailoverState: str(f['master_failover_state']),
    masterReplid: str(f['master_replid']),
    masterReplid2: str(f['master_replid2']),
    masterReplOffset: int(f['master_repl_offset']),
    secondReplOffset: int(f['second_repl_offset']),
    replBacklogActive: bool(f['repl_backlog_active']),
    replBacklogSize: int(f['repl_backlog_size']),
    replBacklogFirstByteOffset: int(f['repl_backlog_first_byte_offset']),
    replBacklogHistlen: int(f['repl_backlog_histlen']),
    loading: bool(f['loading']),
    runId: str(f['run_id']),
    redisVersion: str(f['redis_version']),
    availabilityZone: str(f['availability_zone']),
  };
}

/** What a server says it is in a full `INFO` reply. */
export interface ServerMode {
  /** `redis_mode` (server section): `standalone`, `sentinel` or `cluster`; null when missing or unknown. */
  mode: ServerKind | null;
  /** A Sentinel's `masterN:name=…` lines (Sentinel section): the names of the masters it monitors. */
  monitors: string[];
}

/**
 * `redis_mode` and, for a Sentinel, the names of the masters it monitors. A Sentinel answers
 * `INFO replication` with an empty reply, which `parseInfoReplication` reads as `role: 'unknown'`:
 * only the server section says what it is. Never throws.
 */
export function parseServerMode(text: string): ServerMode {
  return serverModeOf(parseInfo(text));
}

function serverModeOf(f: Record<string, string>): ServerMode {
  const mode = f['redis_mode'];
  const monitors: string[] = [];
  // Only a Sentinel has `masterN:` lines worth reading (a data node's are not in its reply).
  if (mode !== 'sentinel') return { mode: mode === 'standalone' || mode === 'cluster' ? mode : null, monitors };
  for (const [key, value] of Object.entries(f)) {
    const name = /^master\d+$/.test(key) ? /(?:^|,)name=([^,]*)/.exec(value)?.[1] : undefined;
    if (name) monitors.push(name);
  }
  return { mode, monitors };
}

/**
 * A `NodeState` for a node that just answered `INFO`. `lagBytes` is 0 and `lagSeconds` null:
 * both are measured against the master, which the caller knows and this reply does not.
 */
export function replicationToNodeState(
  address: Address,
  host: string,
  port: number,
  info: ReplicationInfo,
  latencyMs: number | null = null,
): NodeState {
  const replica = info.role === 'replica';
  return {
    address,
    host,
    port,
    role: info.role,
    up: true,
    // A replica's master_repl_offset mirrors slave_repl_offset; it is only the fallback.
    offset: (replica ? (info.replicaReplOffset ?? info.masterReplOffset) : info.masterReplOffset) ?? 0,
    lagBytes: 0,
    lagSeconds: null,
    linkStatus: replica ? info.masterLinkStatus : null,
    lastIoSecondsAgo: replica ? info.masterLastIoSecondsAgo : null,
    priority: info.replicaPriority,
    latencyMs,
    masterAddress: info.masterHost !== null && info.masterPort !== null ? formatAddress(info.masterHost, info.masterPort) : null,
    loading: info.loading ?? false,
    syncing: info.masterSyncInProgress === true,
    replid: info.masterReplid,
    runId: info.runId,
    zone: info.availabilityZone,
  };
}
