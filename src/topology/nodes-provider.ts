import createDebug from 'debug';
import type { Redis } from 'ioredis';
import { AuthError, InvalidOptionError, NoMasterError, NoNodeError, NotReplicaSetError } from '../errors.js';
import { PromotionError, type RoleChanger } from '../failover/actions.js';
import { isAuthError, isConnectionLoss } from '../failover/signals.js';
import { switchover, type HandoverOptions, type SwitchoverResult } from '../failover/switchover.js';
import type { NodePool } from '../pool/node-pool.js';
import { noAnswer, withTimeout } from '../util.js';
import { formatAddress, type HostPort } from './address.js';
import { assembleTopology, type Probe } from './assemble.js';
import { parseProbeInfo, parseServerMode, type ServerMode } from './info-parser.js';
import type { AddressMapper, TopologyProvider } from './provider.js';
import type { Address, Topology } from './types.js';

const debug = createDebug('redis-failover:topology');

/** At most this many members are probed in one discovery, whatever the nodes announce. */
const MAX_NODES = 64;
/** How long a member already seen down gets to answer. */
const DOWN_PROBE_TIMEOUT_MS = 100;
/**
 * How long a master the heartbeat finds silent gets: its answer to the heartbeat's PING is what
 * counts (and brings a refresh), and a hung one must not hold up the pictures a failover waits for.
 */
const SILENT_PROBE_TIMEOUT_MS = 20;

export interface NodesProviderSettings {
  seeds: readonly HostPort[];
  pool: NodePool;
  /** Who changes roles (`REPLICAOF`, saved with `CONFIG REWRITE`). */
  roles: RoleChanger;
  mapAddress: AddressMapper;
  /** How long one probe of a connected node may take before the node counts as not answering. */
  probeTimeoutMs: number;
  /** The same for a node still connecting (`connectTimeout`). */
  connectTimeoutMs?: number;
  /** A shorter timeout for a node already known to be silent (the heartbeat's suspect master). */
  quickProbe?: (address: Address) => boolean;
}

/**
 * Discovery without Sentinel: ask every known member for `INFO` on its control connection. A
 * master's `slaveN` lines name its replicas, a replica's `master_host:master_port` names its
 * master; follow both until no new member appears. Unreachable members are skipped.
 */
export class NodesProvider implements TopologyProvider {
  readonly source = 'nodes' as const;
  #settings: NodesProviderSettings;

  constructor(settings: NodesProviderSettings) {
    this.#settings = settings;
  }

  async discover(previous: Topology | null): Promise<Topology> {
    const { seeds, mapAddress } = this.#settings;
    const queued = new Map<Address, HostPort>();
    const add = (node: HostPort): void => {
      const address = formatAddress(node.host, node.port);
      if (!queued.has(address) && queued.size < MAX_NODES) queued.set(address, node);
    };
    seeds.forEach(add);
    if (previous?.master) add(previous.master);
    previous?.replicas.forEach(add);

    const wasDown = new Set<Address>();
    if (previous?.master && !previous.master.up) wasDown.add(previous.master.address);
    for (const r of previous?.replicas ?? []) if (!r.up) wasDown.add(r.address);
    const known = new Set<Address>(previous ? [...(previous.master ? [previous.master.address] : []), ...previous.replicas.map((r) => r.address)] : []);

    const probes = new Map<Address, Probe>();
    let frontier = [...queued.entries()];
    while (frontier.length > 0) {
      const round = await Promise.all(frontier.map(([address, node]) => this.#probe(address, node, known.has(address), wasDown.has(address))));
      for (const probe of round) {
        probes.set(probe.address, probe);
        const info = probe.info;
        if (info === null) continue;
        for (const r of info.replicas) add(mapAddress({ host: r.ip, port: r.port }));
        if (info.masterHost !== null && info.masterPort !== null) add(mapAddress({ host: info.masterHost, port: info.masterPort }));
      }
      frontier = [...queued.entries()].filter(([address]) => !probes.has(address));
    }

    const knownRunIds = new Map<string, Address>();
    for (const n of [...(previous?.master ? [previous.master] : []), ...(previous?.replicas ?? [])]) if (n.runId) knownRunIds.set(n.runId, n.address);
    const all = withoutAliases([...probes.values()], new Set(seeds.map((s) => formatAddress(s.host, s.port))), knownRunIds);
    const mistake = mistakeIn(all);
    if (mistake !== null) throw mistake;
    if (all.every((p) => p.info === null)) {
      const reasons = all.map((p) => `${p.address}: ${p.error?.message ?? 'no answer'}`).join('; ');
      throw new NoNodeError(`No member of the replica set answered (${reasons})`, { cause: all[0]?.error ?? undefined });
    }
    const topology = assembleTopology(all, previous, 'nodes', mapAddress);
    const refused = refusedByMaster(topology, all);
    if (refused !== null) throw refused;
    return topology;
  }

  /**
   * A member known before gets the probe timeout whatever its connection state, and one already
   * seen down a short one: a hung node must not hold up the picture of the others. Only a member
   * never seen gets its connect timeout.
   */
  #probe(address: Address, node: HostPort, known: boolean, wasDown: boolean): Promise<Probe> {
    const { pool, probeTimeoutMs, connectTimeoutMs, quickProbe } = this.#settings;
    const silent = quickProbe?.(address) === true;
    const timeout = Math.min(probeTimeoutMs, silent ? SILENT_PROBE_TIMEOUT_MS : wasDown ? DOWN_PROBE_TIMEOUT_MS : probeTimeoutMs);
    // A master that falls silent while its probe waits is given up on as if it had been silent
    // when the probe began: the discovery a failover waits for must not wait a whole timeout.
    const giveUp = quickProbe === undefined || silent ? undefined : { afterMs: 2 * SILENT_PROBE_TIMEOUT_MS, when: () => quickProbe(address) };
    return probeNode(pool, address, node, timeout, known ? timeout : connectTimeoutMs, giveUp);
  }

  /** By hand (`CLIENT PAUSE WRITE`, catch up, `REPLICAOF`) by default, or Redis's `FAILOVER TO`. */
  handover(topology: Topology, options: HandoverOptions, onStart: (reason: string) => void): Promise<SwitchoverResult> {
    onStart(`switchover${options.to ? ` to ${options.to}` : ''}`);
    return switchover(this.#settings.roles, topology, options, options.method);
  }

  /**
   * `REPLICAOF NO ONE` on `address`, then `REPLICAOF` on every other member that answers: the
   * replicas, the old master if it is up, and any other node that says `role:master`.
   */
  async promote(address: Address, topology: Topology): Promise<void> {
    const candidate = topology.replicas.find((r) => r.address === address);
    if (!candidate) throw new PromotionError(address, 'promote', new Error(`${address} is not a known replica`));
    const others = topology.replicas.filter((r) => r.address !== address && r.up);
    if (topology.master?.up) others.push(topology.master);
    await this.#settings.roles.promote(candidate, others);
  }

  async demote(address: Address, topology: Topology): Promise<void> {
    const master = topology.master;
    if (master === null || !master.up) throw new NoMasterError(`demote(${address}) needs a reachable master; none is known`);
    if (master.address === address) throw new InvalidOptionError('demote', `${address} is the current master; use switchover() to hand it over`);
    const node = topology.replicas.find((r) => r.address === address);
    if (!node) throw new InvalidOptionError('demote', `${address} is not a member of this replica set`);
    await this.#settings.roles.follow(node, master);
  }

  async close(): Promise<void> {}
}


/**
 * A seed given by name (`localhost`, a DNS name) is reached again under the address the other
 * members announce for it (`master_host`, `slaveN:ip=`): one server, two addresses. Its `run_id`
 * says so. Keep the announced address: with both, the picture would hold two masters, and the
 * client would demote the master to a replica of itself. The seed is still probed by its name on
 * every discovery, so a node replaced behind the name is found.
 *
 * `known` (run id → address, from the last picture) catches the alias when the announced address
 * did not answer this round (its connection was reconnecting) while the seed's name did: the
 * answer stands for the announced address. Without it, the master flipped to its own alias and
 * back, each time a `failover` event.
 */
export function withoutAliases(probes: Probe[], seeds: ReadonlySet<Address>, known: ReadonlyMap<string, Address> = new Map()): Probe[] {
  const standIns = new Map<Address, Probe>();
  for (const p of probes) {
    const runId = p.info?.runId;
    const announced = runId ? known.get(runId) : undefined;
    if (announced !== undefined && announced !== p.address && seeds.has(p.address) && !seeds.has(announced)) {
      const other = probes.find((q) => q.address === announced);
      if (other === undefined || other.info === null) standIns.set(announced, p);
    }
  }
  if (standIns.size > 0) {
    const aliases = new Set(standIns.values());
    const announcedMissing = [...standIns.keys()].filter((a) => !probes.some((q) => q.address === a));
    probes = [
      ...probes.filter((q) => !aliases.has(q)).map((q) => (standIns.has(q.address) ? standIn(q.address, standIns.get(q.address)!) : q)),
      ...announcedMissing.map((a) => standIn(a, standIns.get(a)!)),
    ];
  }
  const byRunId = new Map<string, Probe>();
  const dropped = new Set<Probe>();
  for (const p of probes) {
    const runId = p.info?.runId;
    if (!runId) continue;
    const other = byRunId.get(runId);
    if (other === undefined) {
      byRunId.set(runId, p);
    } else {
      const seedOnly = seeds.has(p.address) && !seeds.has(other.address) ? p : seeds.has(other.address) && !seeds.has(p.address) ? other : p;
      dropped.add(seedOnly);
      if (seedOnly === other) byRunId.set(runId, p);
      debug('%s and %s are the same server (run_id %s): keeping %s', other.address, p.address, runId, seedOnly === p ? other.address : p.address);
    }
  }
  return dropped.size === 0 ? probes : probes.filter((p) => !dropped.has(p));
}

/** The seed alias's answer under the announced address it stands for. */
function standIn(address: Address, alias: Probe): Probe {
  const at = address.lastIndexOf(':');
  debug('%s answered for %s (same run_id; %s did not answer this round)', alias.address, address, address);
  return { ...alias, address, node: { host: address.slice(0, at), port: Number(address.slice(at + 1)) } };
}

/**
 * A mistake no waiting cures, from a round of probes: a seed that is a Sentinel or a Redis
 * Cluster node (even when other seeds answered: the configuration is wrong, and such a member
 * would be listed as a replica of unknown role), or, when no member answered, credentials that
 * one refused. Null when there is none.
 */
export function mistakeIn(probes: readonly Probe[]): NoNodeError | null {
  const misplaced = probes.find((p) => p.error instanceof NotReplicaSetError);
  if (misplaced) return misplaced.error as NotReplicaSetError;
  if (probes.some((p) => p.info !== null)) return null;
  return (probes.find((p) => p.error instanceof AuthError)?.error as AuthError | undefined) ?? null;
}

/**
 * The master (the node the replicas follow, or the one Sentinel names) refused this client's
 * credentials: nothing can be written, and waiting does not help. Replicas refusing alone are
 * only replicas down: they may be configured apart.
 */
export function refusedByMaster(topology: Topology, probes: readonly Probe[]): AuthError | null {
  const master = topology.master;
  if (master === null || master.up) return null;
  const error = probes.find((p) => p.address === master.address)?.error;
  return error instanceof AuthError ? error : null;
}

/**
 * Ask one data node for `INFO` on its control connection; a failure is a probe with an error. A
 * node that refuses the credentials fails with an `AuthError`, and one that is a Sentinel or a
 * cluster node with a `NotReplicaSetError`.
 */
export async function probeNode(
  pool: NodePool,
  address: Address,
  node: HostPort,
  timeoutMs: number,
  connectTimeoutMs = timeoutMs,
  giveUp?: { afterMs: number; when: () => boolean },
): Promise<Probe> {
  const conn = pool.node(node).control();
  if (conn.status === 'reconnecting') {
    // It was connected and lost the connection: it is down now. Waiting for the next reconnect
    // attempt would only delay the picture; the attempts go on, and the next probe sees it back.
    return failed(node, address, pool.get(address)?.lastError ?? new Error('connection lost (reconnecting)'));
  }
  const started = performance.now();
  // A connected node that does not answer within the probe timeout is hung; one still connecting
  // gets its connect timeout first.
  const limit = conn.status === 'ready' ? timeoutMs : Math.max(timeoutMs, connectTimeoutMs);
  try {
    const answer = probeInfo(conn);
    const text = await (giveUp === undefined ? withTimeout(answer, limit, noAnswer(address, limit)) : withGiveUp(answer, limit, giveUp, address));
    const latencyMs = Math.round((performance.now() - started) * 100) / 100;
    const { info, server } = parseProbeInfo(text);
    if (server.mode === 'sentinel' || server.mode === 'cluster') return failed(node, address, new NotReplicaSetError(address, server.mode, server.monitors));
    return { node, address, info, latencyMs, error: null };
  } catch (error) {
    // ioredis fails queued commands with "max retries"; the socket error says more.
    const cause = isConnectionLoss(error as Error) ? (pool.get(address)?.lastError ?? (error as Error)) : (error as Error);
    debug('probe %s failed: %s', address, cause.message);
    return failed(node, address, cause);
  }
}

/** The sections a probe reads: the rest of a full `INFO` (memory, stats, keyspace, …) is a third of its size and cost. */
const PROBE_SECTIONS = ['server', 'persistence', 'replication', 'sentinel'] as const;
/** Connections to servers older than Redis 7, which take one section at most: they get a full `INFO`. */
const oneSectionOnly = new WeakSet<Redis>();

/** `INFO` with the sections a probe reads (Redis ≥ 7), or the whole of it. */
async function probeInfo(conn: Redis): Promise<string> {
  if (!oneSectionOnly.has(conn)) {
    try {
      return (await conn.info(...PROBE_SECTIONS)) as string;
    } catch (error) {
      if (!/syntax error|wrong number of arguments/i.test((error as Error).message)) throw error;
      oneSectionOnly.add(conn);
    }
  }
  return (await conn.info()) as string;
}

/** `withTimeout`, also rejecting once `giveUp.afterMs` have passed and `giveUp.when()` says so (checked as often). */
function withGiveUp<T>(promise: Promise<T>, limitMs: number, giveUp: { afterMs: number; when: () => boolean }, address: Address): Promise<T> {
  const started = performance.now();
  return new Promise<T>((resolve, reject) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - started;
      if (elapsed >= limitMs) fail(noAnswer(address, limitMs));
      else if (elapsed >= giveUp.afterMs && giveUp.when()) fail(`${noAnswer(address, Math.round(elapsed))} (silent for the heartbeat)`);
    }, giveUp.afterMs);
    const fail = (message: string): void => {
      clearInterval(timer);
      reject(new Error(message));
    };
    promise.then(
      (value) => {
        clearInterval(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearInterval(timer);
        reject(error as Error);
      },
    );
  });
}

function failed(node: HostPort, address: Address, error: Error): Probe {
  return { node, address, info: null, latencyMs: null, error: isAuthError(error) ? new AuthError(address, error) : error };
}

/**
 * What answers at the other end of `conn`, from its `INFO`: asked only after a command that such
 * a server would know failed (`SENTINEL`, `CLUSTER`), to say which mistake was made. Null when
 * it does not answer in time.
 */
export async function askServerMode(conn: Redis, timeoutMs: number): Promise<ServerMode | null> {
  try {
    return parseServerMode(await withTimeout(conn.info() as Promise<string>, timeoutMs, noAnswer('server', timeoutMs)));
  } catch {
    return null;
  }
}
