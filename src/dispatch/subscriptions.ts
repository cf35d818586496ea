import type { Command, Redis } from 'ioredis';
import { publishResubscribed } from '../observability/channels.js';
import type { NodeConnections } from '../pool/node-pool.js';
import type { Address } from '../topology/types.js';
import { noop } from '../util.js';
import { GapClock } from './resubscribed.js';

const KINDS = ['subscribe', 'psubscribe', 'ssubscribe'] as const;
type Kind = (typeof KINDS)[number];
const UNSUBSCRIBE: Record<string, Kind> = { unsubscribe: 'subscribe', punsubscribe: 'psubscribe', sunsubscribe: 'ssubscribe' };
export const MESSAGE_EVENTS = ['message', 'messageBuffer', 'pmessage', 'pmessageBuffer', 'smessage', 'smessageBuffer'] as const;

/** Where messages and `resubscribed` events go: the facade's own `emit`. */
export type MessageSink = (event: (typeof MESSAGE_EVENTS)[number] | 'resubscribed', ...args: unknown[]) => void;

/**
 * The client's subscriptions, on one subscriber connection to the master. What is subscribed is
 * remembered, so that after a failover the same channels and patterns are subscribed again on
 * the new master (a reconnect to the same node is ioredis's own `autoResubscribe`). Either way,
 * once the subscriptions are confirmed again, one `resubscribed` event says what may have been
 * lost, and since when.
 */
export class Subscriptions {
  #sink: MessageSink;
  #current: { node: NodeConnections; conn: Redis } | null = null;
  #channels: Record<Kind, Set<string>> = { subscribe: new Set(), psubscribe: new Set(), ssubscribe: new Set() };
  #clock = new GapClock(performance.now());

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

  /** Send a (un)subscribe command on `node`'s subscriber connection; its confirmation is a sign of life. */
  send(node: NodeConnections, cmd: Command): void {
    this.track(cmd.name, cmd.args);
    const conn = this.connFor(node);
    conn.sendCommand(cmd);
    cmd.promise.then(() => this.#seen(conn), noop);
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
    const since = this.#clock.lastSeen;
    const conn = node.lease('subscriber');
    this.#wire(conn, node.address);
    this.#current = { node, conn };
    const { subscribe, psubscribe, ssubscribe } = this.#channels;
    const confirmed: Promise<unknown>[] = [];
    if (subscribe.size > 0) confirmed.push(conn.subscribe(...subscribe));
    if (psubscribe.size > 0) confirmed.push(conn.psubscribe(...psubscribe));
    for (const channel of ssubscribe) confirmed.push(conn.ssubscribe(channel));
    if (old !== null) {
      old.node.release(old.conn, false);
      if (confirmed.length > 0) this.#report(conn, old.node.address, node.address, since, Promise.all(confirmed));
    }
  }

  /** Messages to the facade; a lost connection that comes back has been re-subscribed by ioredis. */
  #wire(conn: Redis, address: Address): void {
    for (const event of MESSAGE_EVENTS) {
      conn.on(event, (...args: unknown[]) => {
        this.#seen(conn);
        this.#sink(event, ...args);
      });
    }
    let since: number | null = null;
    conn.on('close', () => {
      if (this.#current?.conn === conn && since === null) since = this.#clock.lastSeen;
    });
    conn.on('ready', () => {
      if (since === null || this.#current?.conn !== conn) return;
      const from = since;
      since = null;
      // ioredis's autoResubscribe queued SUBSCRIBE & co. before emitting `ready` (a tick later):
      // the reply to a PING sent now comes after their confirmations.
      if (this.active) this.#report(conn, address, address, from, conn.ping());
    });
  }

  #seen(conn: Redis): void {
    if (this.#current?.conn === conn) this.#clock.seen(performance.now());
  }

  /** Once `confirmed`, if `conn` is still the subscriber connection: one `resubscribed` event. */
  #report(conn: Redis, from: Address, to: Address, since: number, confirmed: Promise<unknown>): void {
    confirmed.then(() => {
      if (this.#current?.conn !== conn) return;
      const event = this.#clock.resubscribed(this.#channels, from, to, since, performance.now());
      if (event === null) return;
      publishResubscribed(event);
      this.#sink('resubscribed', event);
    }, noop);
  }

  /** Follow the master if there are subscriptions on another node. */
  follow(master: NodeConnections | null): void {
    if (this.#current !== null && master !== null && this.#current.node !== master) this.moveTo(master);
  }

  clear(): void {
    this.#current = null;
  }
}
