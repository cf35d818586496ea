import type { Cluster as IoCluster, Redis } from 'ioredis';
import type { ResubscribedEvent } from '../events.js';
import { GapClock, resubscribedEvent } from '../dispatch/resubscribed.js';
import { publishResubscribed } from '../observability/channels.js';
import type { Address } from '../topology/types.js';
import { noop } from '../util.js';

/** What ioredis 6's Cluster keeps of its subscriber connections (private in its typings). */
interface IoSubscribers {
  subscriber?: { getInstance(): Redis | null };
  connectionPool?: { on(event: '+node' | '-node', listener: () => void): void };
  shardedSubscribers?: {
    shardedSubscribers: Map<string, { getInstance(): Redis | null }>;
    subscriberToSlotsIndex: Map<string, number[]>;
    channels: Map<number, string[]>;
  };
}

interface SubscriptionSetLike {
  channels(kind: 'subscribe' | 'psubscribe' | 'ssubscribe'): string[];
}

/** The facade's own `emit`: the message events, and `resubscribed`. */
type Sink = (event: string, ...args: unknown[]) => void;

const FORWARDED = ['message', 'messageBuffer', 'pmessage', 'pmessageBuffer', 'smessage', 'smessageBuffer'] as const;

const EMPTY: never[] = [];

/**
 * FailoverCluster's pub/sub, which ioredis's Cluster carries: its message events forwarded to the
 * facade. ioredis's Cluster makes its subscriptions again by itself; this watches it do so, and reports
 * each time as a `resubscribed` event once the new subscriptions are confirmed.
 *
 * - `subscribe`/`psubscribe` live on one `ClusterSubscriber` connection to any node (the cluster
 *   bus carries every message to every node). It never reconnects (`retryStrategy: null`): a lost
 *   connection ends, and a new one is made to another node, subscribed to what the old one had
 *   (queued before it connects). Seen here as a new instance after an `end`, `+node` or `-node`.
 * - `ssubscribe` (`shardedSubscribers: true`) lives on one connection per shard master. After a
 *   slot refresh that moves a shard, `reset()` connects to the new master, subscribes again there
 *   and emits `subscribersReady`. Seen here as a new instance serving slots with channels.
 *
 * A PING queued behind the re-subscription answers after its confirmations.
 */
export class ClusterPubSub {
  #io: IoSubscribers;
  #sink: Sink;
  /** The subscribe/psubscribe connection, and the node of the last one whose subscriptions were confirmed. */
  #instance: Redis | null = null;
  #confirmed: { address: Address; subscribe: string[]; psubscribe: string[] } | null = null;
  #clock = new GapClock(performance.now());
  /** Sharded: the connections known, each shard channel's last sign of life, each slot's node. */
  #sharded = new WeakSet<Redis>();
  #channelSeen = new Map<string, number>();
  #slotNode = new Map<number, Address>();

  constructor(io: IoCluster, sink: Sink) {
    this.#io = io as unknown as IoSubscribers;
    this.#sink = sink;
    for (const event of FORWARDED) io.on(event, (...args: unknown[]) => sink(event, ...args));
    const check = (): void => void setImmediate(() => this.#check());
    this.#io.connectionPool?.on('+node', check);
    this.#io.connectionPool?.on('-node', check);
    io.on('ready', check);
    io.on('message', () => this.#clock.seen(performance.now()));
    io.on('pmessage', () => this.#clock.seen(performance.now()));
    io.on('smessage', (channel: string) => this.#channelSeen.set(channel, performance.now()));
    io.on('subscribersReady', () => this.#checkSharded());
  }

  /** A (un)subscription command was sent: its confirmation is a sign of life; the connection may be new. */
  sent({ name, args, promise }: { name: string; args: readonly unknown[]; promise: Promise<unknown> }): void {
    const kind = name.toLowerCase();
    if (!kind.endsWith('subscribe')) return;
    promise.then(() => {
      const now = performance.now();
      if (kind === 'ssubscribe') {
        for (const channel of args) this.#channelSeen.set(String(channel), now);
        this.#checkSharded();
      } else if (kind !== 'sunsubscribe') {
        this.#clock.seen(now);
        this.#check();
        this.#confirm();
      }
    }, noop);
  }

  /** What the subscriber connection has now, confirmed: what a re-subscription makes again. */
  #confirm(): void {
    const instance = this.#instance;
    const set = instance === null ? null : subscribedOn(instance);
    this.#confirmed = instance === null ? null : { address: addressOf(instance), subscribe: set?.channels('subscribe') ?? [], psubscribe: set?.channels('psubscribe') ?? [] };
  }

  #check(): void {
    const instance = this.#io.subscriber?.getInstance() ?? null;
    if (instance === this.#instance) return;
    const since = this.#clock.lastSeen;
    this.#instance = instance;
    if (instance === null) return;
    instance.once('end', () => setImmediate(() => this.#check()));
    // ioredis subscribes the new connection to what the last one that was fully subscribed had
    // (an instance that failed in between made nothing): so does the event, from where that was.
    const was = this.#confirmed;
    if (was === null || was.subscribe.length + was.psubscribe.length === 0) {
      this.#confirm();
      return;
    }
    instance.ping().then(() => {
      if (this.#instance !== instance) return;
      this.#confirm();
      const event = this.#clock.resubscribed({ subscribe: was.subscribe, psubscribe: was.psubscribe, ssubscribe: EMPTY }, was.address, addressOf(instance), since, performance.now());
      if (event !== null) this.#emit(event);
    }, noop);
  }

  #checkSharded(): void {
    const group = this.#io.shardedSubscribers;
    if (group === undefined) return;
    const before = this.#slotNode;
    this.#slotNode = new Map();
    for (const [node, slots] of group.subscriberToSlotsIndex) for (const slot of slots) this.#slotNode.set(slot, node);
    for (const [node, sub] of group.shardedSubscribers) {
      const instance = sub.getInstance();
      if (instance === null || this.#sharded.has(instance)) continue;
      this.#sharded.add(instance);
      // Per node it came from (slots of one shard may go to different masters).
      const moved = new Map<Address, string[]>();
      for (const slot of group.subscriberToSlotsIndex.get(node) ?? []) {
        const channels = group.channels.get(slot);
        const from = before.get(slot);
        if (channels === undefined || channels.length === 0 || from === undefined) continue;
        moved.set(from, [...(moved.get(from) ?? []), ...channels]);
      }
      for (const [from, channels] of moved) this.#shardMoved(instance, channels, from, node);
    }
  }

  #shardMoved(instance: Redis, channels: string[], from: Address, to: Address): void {
    // The old connection carried exactly these channels: its last sign of life is their latest.
    const since = Math.max(...channels.map((c) => this.#channelSeen.get(c) ?? -Infinity));
    instance.ping().then(() => {
      const now = performance.now();
      for (const c of channels) this.#channelSeen.set(c, now);
      const event = resubscribedEvent({ subscribe: EMPTY, psubscribe: EMPTY, ssubscribe: channels }, from, to, Number.isFinite(since) ? since : now, now);
      if (event !== null) this.#emit(event);
    }, noop);
  }

  #emit(event: ResubscribedEvent): void {
    publishResubscribed(event);
    this.#sink('resubscribed', event);
  }
}

function addressOf(conn: Redis): Address {
  return `${conn.options.host ?? '127.0.0.1'}:${conn.options.port ?? 6379}`;
}

/** What a subscriber connection had: its subscriptions while up, or those it had when it closed. */
function subscribedOn(conn: Redis): SubscriptionSetLike | null {
  const { condition, prevCondition } = conn as unknown as { condition?: { subscriber?: SubscriptionSetLike | false } | null; prevCondition?: { subscriber?: SubscriptionSetLike | false } | null };
  return condition?.subscriber || prevCondition?.subscriber || null;
}
