import { Redis, type RedisOptions } from 'ioredis';
import createDebug from 'debug';
import type { NodePool } from '../pool/node-pool.js';
import { formatAddress, type HostPort } from './address.js';
import type { Probe } from './assemble.js';
import { compareAddresses } from './diff.js';
import { parseInfoReplication, replicationToNodeState } from './info-parser.js';
import { probeNode } from './nodes-provider.js';
import { noAnswer, withTimeout } from '../util.js';
import type { AddressMapper, TopologyProvider } from './provider.js';
import type { Address, LinkStatus, NodeRole, NodeState, Topology } from './types.js';

const debug = createDebug('redis-failover:topology');

/**
 * The Sentinel events that may mean the picture changed. `-role-change` is Sentinel's word for a
 * role it did not expect (an old master back as a master); `+role-change` for the expected one.
 */
export const SENTINEL_CHANNELS = [
  '+switch-master',
  '+sdown',
  '-sdown',
  '+odown',
  '-odown',
  '+slave',
  '+convert-to-slave',
  '+role-change',
  '-role-change',
  '+failover-end',
] as const;

/** Sentinel flags that make a replica count as down, whatever our own probe says. */
const DOWN_FLAGS = new Set(['s_down', 'o_down', 'disconnected']);

export interface SentinelProviderSettings {
  /** The Sentinels to ask first; those they name are added as they are discovered. */
  sentinels: readonly HostPort[];
  /** The master's name as the Sentinels know it. */
  name: string;
  /** ioredis options for the Sentinel connections (auth, TLS, `connectTimeout`, …). */
  sentinelOptions: RedisOptions;
  /** Data-node connections, used for the `INFO` probes. */
  pool: NodePool;
  /** `natMap`, applied to every address a Sentinel announces (data nodes and Sentinels). */
  mapAddress: AddressMapper;
  /** Bound on each Sentinel query and each data-node probe. */
  probeTimeoutMs: number;
  /** A data-node probe of a node still connecting may take this long instead (as in `nodes` mode). */
  connectTimeoutMs?: number;
  /** Makes one Sentinel connection; a test can swap it. */
  connectionFactory?: (node: HostPort, options: RedisOptions) => Redis;
}

/** One entry of `SENTINEL replicas`, typed. Addresses are as the Sentinel announces them. */
export interface SentinelReplica {
  host: string;
  port: number;
  /** `flags`: `slave`, `s_down`, `o_down`, `disconnected`, `promoted`, … */
  flags: string[];
  /** `role-reported`: the role the node last reported to the Sentinel. */
  role: NodeRole;
  /** `master-link-status`: Sentinel's `ok`/`err` as `up`/`down`. */
  linkStatus: LinkStatus;
  /** `master-host`/`master-port`: null while unknown (Sentinel prints `?` and `0`). */
  masterHost: string | null;
  masterPort: number | null;
  /** `slave-repl-offset`. */
  offset: number | null;
  /** `slave-priority`. */
  priority: number | null;
  /** `runid`; null when empty (never connected). */
  runId: string | null;
}

/** What one Sentinel says about the master: its address and its replicas. */
export interface SentinelView {
  master: HostPort;
  replicas: readonly SentinelReplica[];
}

/**
 * One entry of a Sentinel reply as a record: a flat `[key, value, …]` list (RESP2, or RESP3 with
 * ioredis's `legacy` mapping) or an object (RESP3 with `replyMapping: 'resp3'`).
 */
export function sentinelFields(entry: unknown): Record<string, string> {
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  if (Array.isArray(entry)) {
    for (let i = 0; i + 1 < entry.length; i += 2) fields[String(entry[i])] = String(entry[i + 1]);
  } else if (entry instanceof Map) {
    for (const [k, v] of entry) fields[String(k)] = String(v);
  } else if (typeof entry === 'object' && entry !== null) {
    for (const [k, v] of Object.entries(entry)) fields[k] = String(v);
  }
  return fields;
}

const port = (value: string | undefined): number | null => {
  const n = Number(value);
  return value !== undefined && Number.isInteger(n) && n > 0 && n <= 65535 ? n : null;
};

const int = (value: string | undefined): number | null => (value !== undefined && /^-?\d+$/.test(value) ? Number(value) : null);

const entries = (reply: unknown): unknown[] => (Array.isArray(reply) ? reply : []);

/** `SENTINEL get-master-addr-by-name`: `[ip, port]`, or null when the Sentinel does not know the name. */
export function parseMasterAddr(reply: unknown): HostPort | null {
  if (!Array.isArray(reply) || reply.length < 2) return null;
  const p = port(String(reply[1]));
  return p === null ? null : { host: String(reply[0]), port: p };
}

/** `SENTINEL replicas <name>`; entries without a usable ip and port are left out. */
export function parseSentinelReplicas(reply: unknown): SentinelReplica[] {
  const out: SentinelReplica[] = [];
  for (const entry of entries(reply)) {
    const f = sentinelFields(entry);
    const p = port(f['port']);
    if (!f['ip'] || p === null) continue;
    const link = f['master-link-status'];
    const role = f['role-reported'];
    const masterHost = f['master-host'];
    out.push({
      host: f['ip'],
      port: p,
      flags: (f['flags'] ?? '').split(',').filter((flag) => flag !== ''),
      role: role === 'slave' ? 'replica' : role === 'master' ? 'master' : 'unknown',
      linkStatus: link === 'ok' ? 'up' : link === 'err' ? 'down' : null,
      masterHost: masterHost && masterHost !== '?' ? masterHost : null,
      masterPort: port(f['master-port']),
      offset: int(f['slave-repl-offset']),
      priority: int(f['slave-priority']),
      runId: f['runid'] || null,
    });
  }
  return out;
}

/** `SENTINEL sentinels <name>`: the other Sentinels, except those flagged `disconnected`. */
export function parseSentinelPeers(reply: unknown): HostPort[] {
  const out: HostPort[] = [];
  for (const entry of entries(reply)) {
    const f = sentinelFields(entry);
    const p = port(f['port']);
    if (!f['ip'] || p === null || (f['flags'] ?? '').split(',').includes('disconnected')) continue;
    out.push({ host: f['ip'], port: p });
  }
  return out;
}

/**
 * The master name a Sentinel event is about and the kind of instance it concerns. `+switch-master`
 * is `<name> <oldip> <oldport> <newip> <newport>`; instance events are
 * `<type> <name> <ip> <port> [@ <master-name> <master-ip> <master-port>] [more text]`.
 */
export function parseSentinelEvent(channel: string, message: string): { instance: string | null; master: string | null } {
  const words = message.split(' ').filter((w) => w !== '');
  if (channel === '+switch-master') return { instance: 'master', master: words[0] ?? null };
  const at = words.indexOf('@');
  if (at >= 0) return { instance: words[0] ?? null, master: words[at + 1] ?? null };
  return words[0] === 'master' ? { instance: 'master', master: words[1] ?? null } : { instance: words[0] ?? null, master: null };
}

/** The data nodes a view names, mapped and deduplicated, master first: what discovery probes. */
export function sentinelViewNodes(view: SentinelView, mapAddress: AddressMapper): Array<[Address, HostPort]> {
  const nodes = new Map<Address, HostPort>();
  for (const announced of [view.master, ...view.replicas]) {
    const node = mapAddress({ host: announced.host, port: announced.port });
    const address = formatAddress(node.host, node.port);
    if (!nodes.has(address)) nodes.set(address, node);
  }
  return [...nodes.entries()];
}

/**
 * Build the topology from what a Sentinel said and a round of `INFO` probes. Pure.
 *
 * The master is the one Sentinel names, whatever the probes say: Sentinel decides, the client only
 * reports. Its `role` is the node's own (a just-promoted node may still say `replica`), and it is
 * up when its probe answered. The replicas are Sentinel's list; one flagged `s_down`, `o_down` or
 * `disconnected`, or that did not answer our probe, is listed with `up: false`. A replica that
 * did not answer is described from Sentinel's fields.
 */
export function assembleSentinelTopology(
  view: SentinelView,
  probes: readonly Probe[],
  previous: Topology | null,
  mapAddress: AddressMapper = (a) => a,
): Topology {
  const byAddress = new Map(probes.map((p) => [p.address, p]));
  const announcedMaster = mapAddress({ host: view.master.host, port: view.master.port });
  const masterAddress = formatAddress(announcedMaster.host, announcedMaster.port);
  const masterProbe = byAddress.get(masterAddress);
  const master = masterProbe?.info ? answered(masterProbe, mapAddress) : unanswered(masterAddress, announcedMaster, previous, 'master');

  const lagOf = new Map<Address, number | null>();
  for (const entry of masterProbe?.info?.replicas ?? []) {
    const node = mapAddress({ host: entry.ip, port: entry.port });
    lagOf.set(formatAddress(node.host, node.port), entry.lag);
  }

  const replicas = new Map<Address, NodeState>();
  for (const announced of view.replicas) {
    const node = mapAddress({ host: announced.host, port: announced.port });
    const address = formatAddress(node.host, node.port);
    if (address === masterAddress || replicas.has(address)) continue;
    const probe = byAddress.get(address);
    const state = probe?.info ? answered(probe, mapAddress) : fromSentinel(address, node, announced, mapAddress);
    if (announced.flags.some((flag) => DOWN_FLAGS.has(flag))) state.up = false;
    state.lagSeconds = lagOf.get(address) ?? null;
    replicas.set(address, state);
  }

  const list = [...replicas.values()].sort((a, b) => compareAddresses(a.address, b.address));
  const reference = master.up ? master.offset : Math.max(0, ...list.map((r) => r.offset));
  for (const r of list) r.lagBytes = r.role === 'replica' ? Math.max(0, reference - r.offset) : 0;
  return { master, replicas: list, source: 'sentinel' };
}

function answered(probe: Probe, mapAddress: AddressMapper): NodeState {
  const info = probe.info!;
  const state = replicationToNodeState(probe.address, probe.node.host, probe.node.port, info, probe.latencyMs);
  if (info.masterHost !== null && info.masterPort !== null) {
    const m = mapAddress({ host: info.masterHost, port: info.masterPort });
    state.masterAddress = formatAddress(m.host, m.port);
  }
  return state;
}

/** A node that did not answer: as known before if it was, otherwise a bare entry. */
function unanswered(address: Address, node: HostPort, previous: Topology | null, role: NodeRole): NodeState {
  const before = previous?.master?.address === address ? previous.master : previous?.replicas.find((r) => r.address === address);
  if (before) return { ...before, up: false, latencyMs: null };
  // Built from an empty INFO so that every field of NodeState gets its "unknown" value.
  return { ...replicationToNodeState(address, node.host, node.port, parseInfoReplication(''), null), role, up: false };
}

function fromSentinel(address: Address, node: HostPort, r: SentinelReplica, mapAddress: AddressMapper): NodeState {
  const state = unanswered(address, node, null, r.role === 'unknown' ? 'replica' : r.role);
  state.offset = r.offset ?? 0;
  state.priority = r.priority;
  state.runId = r.runId;
  if (state.role === 'replica') {
    state.linkStatus = r.linkStatus;
    state.syncing = r.linkStatus !== 'up';
    if (r.masterHost !== null && r.masterPort !== null) {
      const m = mapAddress({ host: r.masterHost, port: r.masterPort });
      state.masterAddress = formatAddress(m.host, m.port);
    }
  }
  return state;
}

function subscriberBackoff(attempt: number): number {
  return Math.min(100 * 2 ** Math.min(attempt, 5), 2000);
}

/**
 * Discovery from Sentinel: ask the Sentinels in turn (the last one that answered first) for the
 * master, its replicas and the other Sentinels, then probe every data node for fresh `INFO`.
 * `watch` subscribes to every known Sentinel's events.
 */
export class SentinelProvider implements TopologyProvider {
  readonly source = 'sentinel' as const;
  #settings: SentinelProviderSettings;
  /** Every known Sentinel, seeds first, in the order they were learnt. */
  #sentinels = new Map<Address, HostPort>();
  /** Asked first: the last Sentinel that answered, or that announced a switch. */
  #lastAnswered: Address | null = null;
  #commands = new Map<Address, Redis>();
  #subscribers = new Map<Address, Redis>();
  #ioErrors = new WeakMap<Redis, Error>();
  #onSignal: ((reason: string) => void) | null = null;
  #closed = false;

  constructor(settings: SentinelProviderSettings) {
    this.#settings = settings;
    for (const seed of settings.sentinels) this.#addSentinel(seed);
  }

  /** Every Sentinel known so far, as `host:port`. */
  get sentinels(): Address[] {
    return [...this.#sentinels.keys()];
  }

  async discover(previous: Topology | null): Promise<Topology> {
    if (this.#closed) throw new Error('Sentinel provider closed');
    const { name, pool, probeTimeoutMs, connectTimeoutMs, mapAddress } = this.#settings;
    const order = [...this.#sentinels.keys()];
    if (this.#lastAnswered !== null) order.sort((a, b) => Number(b === this.#lastAnswered) - Number(a === this.#lastAnswered));
    const failures: string[] = [];
    let cause: Error | undefined;
    for (const address of order) {
      let view: SentinelView | null;
      try {
        view = await this.#ask(address, this.#sentinels.get(address)!);
      } catch (error) {
        cause ??= error as Error;
        failures.push(`${address}: ${(error as Error).message}`);
        debug('sentinel %s: %s', address, (error as Error).message);
        continue;
      }
      if (view === null) {
        failures.push(`${address}: does not know master "${name}"`);
        debug('sentinel %s does not know master %s', address, name);
        continue;
      }
      this.#lastAnswered = address;
      const nodes = sentinelViewNodes(view, mapAddress);
      const probes = await Promise.all(nodes.map(([a, node]) => probeNode(pool, a, node, probeTimeoutMs, connectTimeoutMs)));
      const topology = assembleSentinelTopology(view, probes, previous, mapAddress);
      debug('sentinel %s: master %s, %d replica(s)', address, topology.master?.address, topology.replicas.length);
      return topology;
    }
    throw new Error(`No Sentinel answered for master "${name}" (${failures.join('; ')})`, { cause });
  }

  watch(onSignal: (reason: string) => void): void {
    if (this.#closed) return;
    this.#onSignal = onSignal;
    for (const [address, node] of this.#sentinels) this.#subscribe(address, node);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#onSignal = null;
    for (const conn of [...this.#commands.values(), ...this.#subscribers.values()]) conn.disconnect();
    this.#commands.clear();
    this.#subscribers.clear();
  }

  /** The three queries, sent together on one connection; null when the Sentinel does not know the master. */
  async #ask(address: Address, node: HostPort): Promise<SentinelView | null> {
    const { name, probeTimeoutMs, mapAddress } = this.#settings;
    const conn = this.#command(address, node);
    const master = conn.call('SENTINEL', ['get-master-addr-by-name', name]);
    const replicas = conn.call('SENTINEL', ['replicas', name]);
    const peers = conn.call('SENTINEL', ['sentinels', name]);
    // Awaited below only when the Sentinel knows the master; unknown, they fail with "No such master".
    replicas.catch(() => undefined);
    peers.catch(() => undefined);
    const read = async (): Promise<SentinelView | null> => {
      const m = parseMasterAddr(await master);
      if (m === null) return null;
      const view = { master: m, replicas: parseSentinelReplicas(await replicas) };
      for (const peer of parseSentinelPeers(await peers)) this.#addSentinel(mapAddress(peer));
      return view;
    };
    try {
      return await withTimeout(read(), probeTimeoutMs, noAnswer('Sentinel', probeTimeoutMs));
    } catch (error) {
      const reason = this.#reason(error as Error, conn);
      // A hung Sentinel keeps its socket: start afresh next time rather than queue behind it.
      if (this.#commands.get(address) === conn) this.#commands.delete(address);
      conn.disconnect();
      throw new Error(reason, { cause: error });
    }
  }

  #addSentinel(node: HostPort): void {
    const address = formatAddress(node.host, node.port);
    if (this.#sentinels.has(address)) return;
    this.#sentinels.set(address, node);
    debug('sentinel %s added', address);
    if (this.#onSignal !== null) this.#subscribe(address, node);
  }

  #connect(node: HostPort, options: RedisOptions): Redis {
    const factory = this.#settings.connectionFactory ?? ((n, o) => new Redis({ ...o, host: n.host, port: n.port }));
    return factory(node, {
      ...this.#settings.sentinelOptions,
      ...options,
      // Sentinel has no databases or keys, and its replies are read as flat lists.
      db: 0,
      keyPrefix: undefined,
      replyMapping: 'legacy',
      enableAutoPipelining: false,
      readOnly: false,
      lazyConnect: false,
      enableReadyCheck: false,
      sentinels: undefined,
      name: undefined,
    });
  }

  /** The query connection to one Sentinel; no reconnect loop of its own: a dead one is remade on next use. */
  #command(address: Address, node: HostPort): Redis {
    if (this.#closed) throw new Error('Sentinel provider closed');
    const existing = this.#commands.get(address);
    if (existing !== undefined && existing.status !== 'end' && existing.status !== 'close') return existing;
    existing?.disconnect();
    const conn = this.#connect(node, {
      retryStrategy: null,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: true,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
    });
    conn.on('error', (error: Error) => {
      this.#ioErrors.set(conn, error);
      debug('sentinel %s: %s', address, this.#reason(error, conn));
    });
    this.#commands.set(address, conn);
    return conn;
  }

  /** One subscriber per Sentinel; ioredis reconnects it forever and resubscribes on reconnect. */
  #subscribe(address: Address, node: HostPort): void {
    if (this.#closed || this.#subscribers.has(address)) return;
    const conn = this.#connect(node, {
      retryStrategy: subscriberBackoff,
      // The SUBSCRIBE made while a Sentinel is down waits for it instead of failing.
      maxRetriesPerRequest: null,
      enableOfflineQueue: true,
      autoResubscribe: true,
    });
    this.#subscribers.set(address, conn);
    let wasReady = false;
    conn.on('error', (error: Error) => debug('sentinel %s subscriber: %s', address, this.#reason(error, conn)));
    conn.on('ready', () => {
      debug('sentinel %s subscriber %s', address, wasReady ? 'reconnected' : 'connected');
      // Events published while we were away are lost: the picture may have changed meanwhile.
      if (wasReady) this.#onSignal?.('sentinel reconnected');
      wasReady = true;
    });
    conn.on('message', (channel: string, message: string) => {
      const event = parseSentinelEvent(channel, message);
      // Events about Sentinels themselves (`sentinel <id> … @ name …`) do not change the data nodes.
      if (this.#closed || event.master !== this.#settings.name || event.instance === 'sentinel') return;
      debug('sentinel %s: %s %s', address, channel, message);
      // Sentinels switch one by one (the others learn the new config from hello messages, every
      // 2 s): the one announcing the switch surely has it, so ask it first next time.
      if (channel === '+switch-master') this.#lastAnswered = address;
      this.#onSignal?.(`sentinel ${channel}`);
    });
    conn.subscribe(...SENTINEL_CHANNELS).catch((error: Error) => {
      debug('sentinel %s: subscribe failed: %s', address, this.#reason(error, conn));
    });
  }

  /** A failure as printed: the socket error rather than ioredis's "Connection is closed.", and never a password. */
  #reason(error: Error, conn: Redis): string {
    const io = this.#ioErrors.get(conn);
    let message = /connection is closed/i.test(error.message) && io ? io.message : error.message;
    const { password } = this.#settings.sentinelOptions;
    if (password) message = message.split(password).join('***');
    return message;
  }
}
