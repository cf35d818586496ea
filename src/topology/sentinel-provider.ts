import type { Redis, RedisOptions } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import createDebug from 'debug';
import { AuthError, ClosedError, InvalidOptionError, misconfiguration, NoMasterError, NoNodeError, NotSentinelError } from '../errors.js';
import { PromotionError, sentinelFailover } from '../failover/actions.js';
import { isAuthError } from '../failover/signals.js';
import { SwitchoverError, type HandoverOptions, type SwitchoverResult } from '../failover/switchover.js';
import { defaultConnectionFactory, type ConnectionFactory, type ConnectionPurpose, type NodePool } from '../pool/node-pool.js';
import { formatAddress, type HostPort } from './address.js';
import { askServerMode, probeNode, refusedByMaster } from './nodes-provider.js';
import { noAnswer, withTimeout } from '../util.js';
import type { AddressMapper, TopologyProvider } from './provider.js';
import {
  assembleSentinelTopology,
  parseMasterAddr,
  parseSentinelEvent,
  parseSentinelPeers,
  parseSentinelReplicas,
  SENTINEL_CHANNELS,
  sentinelViewNodes,
  sentinelVouchesFor,
  withPromoted,
  type SentinelView,
} from './sentinel-replies.js';
import type { Address, NodeState, Topology } from './types.js';

const debug = createDebug('redis-failover:topology');

/** Sentinel elects a leader, promotes, then announces: a `SENTINEL FAILOVER` takes seconds. */
const HANDOVER_GRACE_MS = 15_000;
/** How often the Sentinel that took the request, and the replicas, are asked whether the master changed. */
const HANDOVER_POLL_MS = 10;

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
  /**
   * Makes the Sentinel connections (purpose `sentinel` for queries, `sentinel-subscriber` for the
   * event subscribers): the same factory the pool uses, so one injected factory sees them all.
   */
  connectionFactory?: ConnectionFactory;
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
  /**
   * A promotion Sentinel is making that this client has seen on the promoted replica itself
   * (`ROLE` says master) before Sentinel names it: the picture uses it until Sentinel catches up.
   */
  #promoted: { from: Address; to: Address; until: number } | null = null;

  constructor(settings: SentinelProviderSettings) {
    this.#settings = settings;
    for (const seed of settings.sentinels) this.#addSentinel(seed);
  }

  /** Every Sentinel known so far, as `host:port`. */
  get sentinels(): Address[] {
    return [...this.#sentinels.keys()];
  }

  async discover(previous: Topology | null): Promise<Topology> {
    if (this.#closed) throw new ClosedError('Sentinel provider closed');
    const { name, pool, probeTimeoutMs, connectTimeoutMs, mapAddress } = this.#settings;
    const order = this.#order();
    const failures: string[] = [];
    let cause: Error | undefined;
    let mistake: NoNodeError | null = null;
    for (const address of order) {
      let view: SentinelView | null;
      try {
        view = await this.#ask(address, this.#sentinels.get(address)!);
      } catch (error) {
        cause ??= error as Error;
        mistake ??= misconfiguration(error);
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
      const topology = this.#followPromotion(assembleSentinelTopology(view, probes, previous, mapAddress));
      const refused = refusedByMaster(topology, probes);
      if (refused !== null) throw refused;
      debug('sentinel %s: master %s, %d replica(s)', address, topology.master?.address, topology.replicas.length);
      return topology;
    }
    // A data node or a cluster node among the Sentinels, or credentials refused: said as such.
    throw mistake ?? new NoNodeError(`No Sentinel answered for master "${name}" (${failures.join('; ')})`, { cause });
  }

  /**
   * `SENTINEL FAILOVER <name>`, asked of each known Sentinel in turn (the last that answered
   * first). Before it, `WAIT` on the master's data connections: the replica Sentinel promotes then
   * has every write this client made. Resolves once that Sentinel names the new master.
   */
  async handover(topology: Topology, options: HandoverOptions, onStart: (reason: string) => void): Promise<SwitchoverResult> {
    if (options.to !== undefined) {
      throw new InvalidOptionError('switchover.to', 'Sentinel picks the replica in Sentinel mode (steer it with replica-priority)');
    }
    const from = topology.master?.address;
    if (!from) throw new NoMasterError('switchover needs a known master');
    const timeoutMs = options.timeoutMs ?? 5000;
    const started = performance.now();
    onStart('switchover (SENTINEL FAILOVER)');
    const replicas = topology.replicas.filter((r) => r.up && r.role === 'replica').length;
    const data = this.#settings.pool.get(from)?.dataConnections().filter((c) => c.status === 'ready') ?? [];
    // WAIT counts the writes of the connection it runs on: ask on each of this client's.
    if (replicas > 0) await Promise.all(data.map((conn) => conn.call('WAIT', replicas, timeoutMs).catch(() => undefined)));

    let asked: Address | null = null;
    let lastError: unknown = null;
    const { name, probeTimeoutMs } = this.#settings;
    for (const address of this.#order()) {
      const conn = this.#command(address, this.#sentinels.get(address)!);
      try {
        await withTimeout(sentinelFailover(conn, name), probeTimeoutMs, noAnswer('Sentinel', probeTimeoutMs));
        asked = address;
        break;
      } catch (error) {
        lastError = new Error(this.#reason(error as Error, conn), { cause: error });
        debug('sentinel %s: SENTINEL FAILOVER: %s', address, (lastError as Error).message);
        this.#forget(address, conn);
      }
    }
    if (asked === null) throw new PromotionError(from, 'SENTINEL FAILOVER', lastError);
    this.#lastAnswered = asked;
    const candidates = topology.replicas.filter((r) => r.up && r.role === 'replica' && r.masterAddress === from);
    const to = await this.#awaitSwitch(asked, from, candidates, performance.now() + timeoutMs + HANDOVER_GRACE_MS, started);
    return { from, to, durationMs: Math.round(performance.now() - started), method: 'sentinel-failover' };
  }

  promote(): Promise<void> {
    return Promise.reject(new InvalidOptionError('promote', 'Sentinel promotes in Sentinel mode; use switchover()'));
  }

  demote(): Promise<void> {
    return Promise.reject(new InvalidOptionError('demote', 'Sentinel reconfigures old masters in Sentinel mode'));
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
      const mistake = await this.#mistake(address, conn, error as Error);
      this.#forget(address, conn);
      throw mistake ?? new Error(reason, { cause: error });
    }
  }

  /** A server that does not know `SENTINEL` (a master, a cluster node), or credentials refused. */
  async #mistake(address: Address, conn: Redis, error: Error): Promise<NoNodeError | null> {
    if (isAuthError(error)) return new AuthError(address, error, 'sentinel');
    if (!/unknown command .sentinel/i.test(error.message)) return null;
    const found = (await askServerMode(conn, this.#settings.probeTimeoutMs))?.mode;
    return new NotSentinelError(address, found === 'cluster' ? 'cluster' : 'standalone', error);
  }

  /**
   * Every known Sentinel asked at once (`SENTINEL master <name>`) whether it vouches for `master`;
   * one that does not answer in time is forgotten, as in `#ask`.
   */
  async judgesConfirming(master: Address, timeoutMs: number): Promise<number> {
    const { name, mapAddress } = this.#settings;
    const answers = await Promise.all(
      [...this.#sentinels].map(async ([address, node]) => {
        if (this.#closed) return 0;
        const conn = this.#command(address, node);
        try {
          const reply = await withTimeout(conn.call('SENTINEL', ['master', name]), timeoutMs, noAnswer('Sentinel', timeoutMs));
          return sentinelVouchesFor(reply, master, mapAddress) ? 1 : 0;
        } catch {
          this.#forget(address, conn);
          return 0;
        }
      }),
    );
    return answers.reduce<number>((a, b) => a + b, 0);
  }

  /**
   * Done when the Sentinel that took the request names another master, or — earlier — when one of
   * the master's replicas says `role:master` itself: Sentinel has promoted it (`REPLICAOF NO ONE`),
   * and names it only after its next look, up to a second later.
   */
  async #awaitSwitch(address: Address, from: Address, candidates: readonly NodeState[], deadline: number, started: number): Promise<Address> {
    const { name, probeTimeoutMs, mapAddress } = this.#settings;
    for (;;) {
      const promoted = await Promise.all(candidates.map((r) => this.#saysMaster(r)));
      const to = candidates.find((_, i) => promoted[i]);
      if (to !== undefined) {
        debug('%s says role:master: Sentinel promoted it', to.address);
        this.#promoted = { from, to: to.address, until: performance.now() + HANDOVER_GRACE_MS };
        return to.address;
      }
      try {
        const conn = this.#command(address, this.#sentinels.get(address)!);
        const reply = await withTimeout(conn.call('SENTINEL', ['get-master-addr-by-name', name]), probeTimeoutMs, noAnswer('Sentinel', probeTimeoutMs));
        const announced = parseMasterAddr(reply);
        if (announced !== null) {
          const node = mapAddress(announced);
          const now = formatAddress(node.host, node.port);
          if (now !== from) return now;
        }
      } catch (error) {
        if (error instanceof ClosedError) throw error;
        debug('sentinel %s: %s', address, (error as Error).message);
      }
      if (performance.now() > deadline) throw new SwitchoverError(`Sentinel did not switch ${from} over within ${Math.round(performance.now() - started)} ms`);
      await sleep(HANDOVER_POLL_MS);
    }
  }

  /** The node's own `ROLE` says master (false when it does not answer in time). */
  async #saysMaster(node: NodeState): Promise<boolean> {
    const conns = this.#settings.pool.node(node);
    // Sentinel promotes with `CLIENT KILL TYPE normal` in the same transaction: this client's
    // connections to the promoted replica close, and the node is alive. Waiting out the reconnect
    // delays (up to 100 ms for a data connection's first) would only lengthen the write pause.
    conns.reconnectNow();
    try {
      const reply = await withTimeout(conns.control().call('ROLE'), this.#settings.probeTimeoutMs, noAnswer(node.address, this.#settings.probeTimeoutMs));
      return Array.isArray(reply) && String(reply[0]) === 'master';
    } catch {
      return false;
    }
  }

  /** The picture with the promotion seen on the replica itself, until Sentinel names the new master (or the wait is over). */
  #followPromotion(topology: Topology): Topology {
    const promoted = this.#promoted;
    if (promoted === null) return topology;
    if (topology.master?.address !== promoted.from || performance.now() > promoted.until) {
      this.#promoted = null;
      return topology;
    }
    return withPromoted(topology, promoted.from, promoted.to) ?? topology;
  }

  /** A hung Sentinel keeps its socket: start afresh next time rather than queue behind it. */
  #forget(address: Address, conn: Redis): void {
    if (this.#commands.get(address) === conn) this.#commands.delete(address);
    conn.disconnect();
  }

  /** Every known Sentinel, the last one that answered first. */
  #order(): Address[] {
    const order = [...this.#sentinels.keys()];
    if (this.#lastAnswered !== null) order.sort((a, b) => Number(b === this.#lastAnswered) - Number(a === this.#lastAnswered));
    return order;
  }

  #addSentinel(node: HostPort): void {
    const address = formatAddress(node.host, node.port);
    if (this.#sentinels.has(address)) return;
    this.#sentinels.set(address, node);
    debug('sentinel %s added', address);
    if (this.#onSignal !== null) this.#subscribe(address, node);
  }

  #connect(node: HostPort, purpose: ConnectionPurpose, options: RedisOptions): Redis {
    const factory = this.#settings.connectionFactory ?? defaultConnectionFactory;
    return factory(node, purpose, {
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
    if (this.#closed) throw new ClosedError('Sentinel provider closed');
    const existing = this.#commands.get(address);
    if (existing !== undefined && existing.status !== 'end' && existing.status !== 'close') return existing;
    existing?.disconnect();
    const conn = this.#connect(node, 'sentinel', {
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
    const conn = this.#connect(node, 'sentinel-subscriber', {
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
