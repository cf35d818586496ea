/**
 * Sentinel's replies and events, read into plain data, and the topology built from them. Pure:
 * no connection here (the provider in sentinel-provider.ts does the I/O).
 */
import type { HostPort } from './address.js';
import { formatAddress } from './address.js';
import type { Probe } from './assemble.js';
import { compareAddresses } from './diff.js';
import { parseInfoReplication, replicationToNodeState } from './info-parser.js';
import type { AddressMapper } from './provider.js';
import type { Address, LinkStatus, NodeRole, NodeState, Topology } from './types.js';

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

/** Sentinel flags on a master that say it may be replaced: a Sentinel with one of them does not vouch for it. */
const DOUBT_FLAGS = new Set(['s_down', 'o_down', 'failover_in_progress', 'disconnected']);

/**
 * `SENTINEL master <name>`: does this Sentinel vouch for `master` — name it, with none of the flags
 * that say it is down or being replaced? A Sentinel that answers but is failing the master over
 * still names it until the switch, so its answer alone confirms nothing.
 */
export function sentinelVouchesFor(reply: unknown, master: Address, mapAddress: AddressMapper = (a) => a): boolean {
  const f = sentinelFields(reply);
  const p = port(f['port']);
  if (!f['ip'] || p === null) return false;
  const node = mapAddress({ host: f['ip'], port: p });
  if (formatAddress(node.host, node.port) !== master) return false;
  return !(f['flags'] ?? '').split(',').some((flag) => DOUBT_FLAGS.has(flag));
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

/**
 * The picture with `to` as the master, where Sentinel still names `from` but is promoting `to`:
 * Sentinel names the new master only once it has seen it report `role:master` (its INFO comes
 * once a second during a failover) and moved to reconfiguring the replicas — up to a second after
 * the promotion. `to`'s own word is the earlier one: used only when it answered this discovery
 * saying `role:master`. The old master stays in the list (it has not been demoted yet, and gets
 * neither reads nor writes). Pure; null when it does not apply.
 */
export function withPromoted(topology: Topology, from: Address, to: Address): Topology | null {
  const master = topology.master;
  const next = topology.replicas.find((r) => r.address === to);
  // Answered (it has a latency) and says master: Sentinel may flag it `disconnected` meanwhile.
  if (master === null || master.address !== from || next === undefined || next.latencyMs === null || next.role !== 'master') return null;
  const replicas = [...topology.replicas.filter((r) => r.address !== to), master].sort((a, b) => compareAddresses(a.address, b.address));
  const promoted = { ...next, up: true, lagBytes: 0, lagSeconds: null };
  for (const r of replicas) r.lagBytes = r.role === 'replica' ? Math.max(0, promoted.offset - r.offset) : 0;
  return { master: promoted, replicas, source: topology.source };
}
