import type { Redis } from 'ioredis';
import type { NodeConnections } from '../pool/node-pool.js';
import { noop } from '../util.js';

const KINDS = ['subscribe', 'psubscribe', 'ssubscribe'] as const;
type Kind = (typeof KINDS)[number];
const UNSUBSCRIBE: Record<string, Kind> = { unsubscribe: 'subscribe', punsubscribe: 'psubscribe', sunsubscribe: 'ssubscribe' };
export const MESSAGE_EVENTS = ['message', 'messageBuffer', 'pmessage', 'pmessageBuffer', 'smessage', 'smessageBuffer'] as const;

/** Where messages go: the facade's own `emit`. */
export type MessageSink = (event: (typeof MESSAGE_EVENTS)[number], ...args: unknown[]) => void;

/**
 * The client's subscriptions, on one subscriber connection to the master. What is subscribed is
 * remembered, so that after a failover the same channels and patterns are subscribed again on
 * the new master (a reconnect to the same node is ioredis's own `autoResubscribe`).
 */
export class Subscriptions {
  #sink: MessageSink;
  #current: { node: NodeConnections; conn: Redis } | null = null;
  #channels: Record<Kind, Set<string>> = { subscribe: new Set(), psubscribe: new Set(), ssubscribe: new Set() };

  constructor(sink: MessageSink) {
    this.#sink = sink;
  }

  /** Something is subscribed: the client is in (RESP2) subscriber mode, as ioredis would be. */
  get active(): boolean {
    const { subscribe, psubscribe, ssubscribe } = this.#channels;
    return subscribe.size > 0 || psubscribe.size > 0 || ssubscribe.size > 0;
  }

  /**
   * Whether the subscriber connection speaks RESP2, where (as on ioredis) only subscriber commands
   * may be sent once subscribed; ioredis 6 negotiates RESP3 by default, where any command may.
   */
  get resp2(): boolean {
    const condition = (this.#current?.conn as { condition?: { protocol?: number } | null } | undefined)?.condition;
    return condition?.protocol === 2;
  }

  get address(): string | null {
    return this.#current?.node.address ?? null;
  }

  /** The subscriber connection on `node`, moved there (with every subscription) if elsewhere. */
  connFor(node: NodeConnections): Redis {
    if (this.#current === null || this.#current.node !== node) this.moveTo(node);
    return this.#current!.conn;
  }

  /** Remember what a (un)subscribe command changes. */
  track(name: string, args: readonly unknown[]): void {
    const channels = args.map(String);
    if ((KINDS as readonly string[]).includes(name)) {
      for (const c of channels) this.#channels[name as Kind].add(c);
      return;
    }
    const kind = UNSUBSCRIBE[name];
    if (kind === undefined) return;
    if (channels.length === 0) this.#channels[kind].clear();
    for (const c of channels) this.#channels[kind].delete(c);
  }

  /** A new master: subscribe there again to everything, then let the old connection go. */
  moveTo(node: NodeConnections): void {
    const old = this.#current;
    const conn = node.lease('subscriber');
    for (const event of MESSAGE_EVENTS) conn.on(event, (...args: unknown[]) => this.#sink(event, ...args));
    this.#current = { node, conn };
    const { subscribe, psubscribe, ssubscribe } = this.#channels;
    if (subscribe.size > 0) conn.subscribe(...subscribe).catch(noop);
    if (psubscribe.size > 0) conn.psubscribe(...psubscribe).catch(noop);
    for (const channel of ssubscribe) conn.ssubscribe(channel).catch(noop);
    if (old !== null) old.node.release(old.conn, false);
  }

  /** Follow the master if there are subscriptions on another node. */
  follow(master: NodeConnections | null): void {
    if (this.#current !== null && master !== null && this.#current.node !== master) this.moveTo(master);
  }

  clear(): void {
    this.#current = null;
  }
}
