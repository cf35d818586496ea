import diagnostics_channel from 'node:diagnostics_channel';
import type { ClusterTopology } from '../cluster/topology.js';
import type { FailoverEvent, ResubscribedEvent } from '../events.js';
import type { TopologyChange } from '../topology/diff.js';
import type { Address, Topology } from '../topology/types.js';
import { noop } from '../util.js';

/**
 * Application commands only: what this library sends for itself (INFO, PING, ROLE, WAIT, REPLICAOF)
 * never appears here. ioredis's own `ioredis:command` channel still shows every connection's traffic.
 */
export const COMMAND_CHANNEL = 'redis-failover:command';
/** A pipeline or `multi()` transaction, as one context. */
export const BATCH_CHANNEL = 'redis-failover:batch';
/** The `failover` event's payload. */
export const FAILOVER_CHANNEL = 'redis-failover:failover';
/** The `topology` event's arguments, as `{ topology, changes }`. */
export const TOPOLOGY_CHANNEL = 'redis-failover:topology';
/** The `resubscribed` event's payload: subscriptions made again, and the window messages may have been lost in. */
export const RESUBSCRIBED_CHANNEL = 'redis-failover:resubscribed';

export const commandChannel = diagnostics_channel.tracingChannel<CommandTrace, CommandTrace>(COMMAND_CHANNEL);
export const batchChannel = diagnostics_channel.tracingChannel<BatchTrace, BatchTrace>(BATCH_CHANNEL);
export const failoverChannel = diagnostics_channel.channel(FAILOVER_CHANNEL);
export const topologyChannel = diagnostics_channel.channel(TOPOLOGY_CHANNEL);
export const resubscribedChannel = diagnostics_channel.channel(RESUBSCRIBED_CHANNEL);

/** A `resubscribed` event, published on its channel if anyone listens (both clients). */
export function publishResubscribed(event: ResubscribedEvent): void {
  if (resubscribedChannel.hasSubscribers) resubscribedChannel.publish(event);
}

/** What `redis-failover:topology` publishes: the `topology` event's two arguments. */
export interface TopologyMessage {
  topology: Topology;
  changes: TopologyChange[];
}

/** What a `FailoverCluster` publishes there: its `topology` event's picture (`source: 'cluster'`). */
export interface ClusterTopologyMessage {
  topology: ClusterTopology;
  changes: [];
}

/** What an attempt tells its trace: plain fields of `Attempt`. */
export interface TracedAttempt {
  readonly name: string;
  readonly view: { readonly policy: { readonly name: string } };
  trace: CommandTrace | null;
}

/** What a subscriber of `redis-failover:command` reads on each event. */
export interface CommandContext {
  readonly command: string;
  readonly argsCount: number;
  readonly node: Address | null;
  readonly role: 'master' | 'replica' | null;
  readonly readFrom: string;
  readonly attempts: number;
  readonly heldMs: number;
  readonly error?: unknown;
}

/** What a subscriber of `redis-failover:batch` reads: a command context with the batch's size. */
export interface BatchContext extends CommandContext {
  readonly count: number;
}

/**
 * The context of one command on `redis-failover:command` (and, as `BatchTrace`, of one batch).
 * Built only when someone subscribes. It carries no argument values.
 */
export class CommandTrace implements CommandContext {
  /** The command's name, lower case (`get`, `set`, …; `pipeline` or `multi` for a batch). */
  readonly command: string;
  /** How many arguments it had (never their values). */
  readonly argsCount: number;
  /** `host:port` it was sent to: the last one when it was retried; null if it was never sent. */
  node: Address | null = null;
  /** The role of `node` when the command was sent there. */
  role: 'master' | 'replica' | null = null;
  /** The read policy of the client or view it was issued through. */
  readonly readFrom: string;
  /** Times it was sent (more than 1: retried on another node). */
  attempts = 0;
  /** Time spent waiting for a node (held while no master or replica could take it). */
  heldMs = 0;
  /** The error it settled with, set before `error` and `asyncEnd` are published. */
  error?: unknown;
  #heldSince = -1;

  constructor(command: string, argsCount: number, readFrom: string) {
    this.command = command;
    this.argsCount = argsCount;
    this.readFrom = readFrom;
  }

  /** @internal it waits for a node from now. */
  held(): void {
    if (this.#heldSince < 0) this.#heldSince = performance.now();
  }

  /** @internal it was handed to a connection to `node`. */
  sent(node: Address, master: boolean, attempts: number): void {
    this.#release();
    this.node = node;
    this.role = master ? 'master' : 'replica';
    this.attempts = attempts;
  }

  /** @internal it settled. */
  settled(): void {
    this.#release();
  }

  #release(): void {
    if (this.#heldSince < 0) return;
    this.heldMs += performance.now() - this.#heldSince;
    this.#heldSince = -1;
  }
}

/** A pipeline (`command: 'pipeline'`) or transaction (`command: 'multi'`) on `redis-failover:batch`. */
export class BatchTrace extends CommandTrace implements BatchContext {
  /** Commands in the batch (MULTI and EXEC not counted). */
  readonly count: number;

  constructor(transaction: boolean, commands: readonly { args: readonly unknown[] }[], readFrom: string) {
    let args = 0;
    for (const c of commands) args += c.args.length;
    super(transaction ? 'multi' : 'pipeline', args, readFrom);
    this.count = commands.length;
  }
}

/**
 * Run `begin(a)` (route and send, or hold) inside a trace of `a`: `start` and `end` around it,
 * `asyncStart`/`asyncEnd` (and `error`) when `promise` settles. Call only when the channel has
 * subscribers: nothing here is free.
 */
export function traceCommand<A extends TracedAttempt & { readonly cmd: { readonly args: readonly unknown[]; readonly promise: Promise<unknown> } }>(
  a: A,
  begin: (a: A) => void,
): void {
  const trace = new CommandTrace(a.name.toLowerCase(), a.cmd.args.length, a.view.policy.name);
  a.trace = trace;
  run(commandChannel, trace, () => begin(a));
  settle(commandChannel, trace, a.cmd.promise);
}

/** The same for a batch: `start` (the context built by the caller), then `begin()`'s promise settles it. */
export function traceBatch(trace: BatchTrace, begin: () => Promise<unknown>): Promise<unknown> {
  let promise!: Promise<unknown>;
  run(batchChannel, trace, () => {
    promise = begin();
  });
  settle(batchChannel, trace, promise);
  return promise;
}

type Tracing<T extends object> = diagnostics_channel.TracingChannel<T, T>;

function run<T extends CommandTrace>(channel: Tracing<T>, trace: T, fn: () => void): void {
  // runStores: an AsyncLocalStorage bound to `start` (a tracer's active span) is current while the
  // command is routed and sent, so ioredis's own `ioredis:command` span nests under this one.
  channel.start.runStores(trace, () => {
    try {
      fn();
    } finally {
      channel.end.publish(trace);
    }
  });
}

function settle<T extends CommandTrace>(channel: Tracing<T>, trace: T, promise: Promise<unknown>): void {
  promise.then(
    () => {
      trace.settled();
      channel.asyncStart.publish(trace);
      channel.asyncEnd.publish(trace);
    },
    (error: unknown) => {
      trace.settled();
      trace.error = error;
      channel.error.publish(trace);
      channel.asyncStart.publish(trace);
      channel.asyncEnd.publish(trace);
    },
  ).catch(noop);
}

/** A `failover` or `topology` event, published on its channel if anyone listens. */
export function publishEvent(event: string, args: readonly unknown[]): void {
  if (event === 'failover') {
    if (failoverChannel.hasSubscribers) failoverChannel.publish(args[0] as FailoverEvent);
  } else if (event === 'topology') {
    if (topologyChannel.hasSubscribers) topologyChannel.publish({ topology: args[0], changes: args[1] } as TopologyMessage);
  }
}
