import { EventEmitter } from 'node:events';
import { Command, Redis, type ChainableCommander, type RedisCommander, type RedisOptions } from 'ioredis';
import { Closing, type ClosingHost, facadeOptions, installScanStreams, monitorConnection, passwordsOf, silentEmitError, splitOverride, SUBSCRIBER_MODE_MESSAGE, wrapMultiResult, type ScanStreamMethod } from './compat.js';
import { installCommands } from './commands.js';
import { Core, type CoreHost } from './core.js';
import type { ViewRoute } from './dispatch/attempt.js';
import { ClosedError, FailoverRedisError, NoMasterError, NoNodeError } from './errors.js';
import type { FailoverRedisEvents } from './events.js';
import type { HandoverOptions, SwitchoverResult } from './failover/switchover.js';
import { resolveOptions, type ResolvedOptions } from './options.js';
import type { DurabilitySettings, FailoverRedisOptions, ReadFrom } from './options-types.js';
import { newPipeline, type PipelineHost } from './pipeline.js';
import type { ConnectionFactory } from './pool/node-pool.js';
import type { Topology } from './topology/types.js';
import { asCallback, noop, type Callback } from './util.js';
import { publishEvent } from './observability/channels.js';
import type { FailoverRedisStats } from './observability/stats.js';
import { FailoverView, withDurability, withPolicy, type FailoverRedisView, type ViewHost } from './view.js';

/** ioredis's statuses, gone through in ioredis's order. */
export type FailoverRedisStatus = 'wait' | 'connecting' | 'connect' | 'ready' | 'reconnecting' | 'close' | 'end';
export type { FailoverRedisView };

/** Internal extension points (not part of the stable API): swap the connection factory in tests. */
export interface FailoverRedisInternals {
  connectionFactory?: ConnectionFactory;
}

// Declaration merging gives the class ioredis's typed command methods (installed at runtime below).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface FailoverRedis extends Omit<RedisCommander<{ type: 'default' }>, 'multi' | 'pipeline' | 'exec'>, Pick<Redis, ScanStreamMethod> {
  /** ioredis's `defineCommand`: a Lua script as a command method (EVALSHA, EVAL on NOSCRIPT). */
  defineCommand(name: string, definition: { lua: string; numberOfKeys?: number; readOnly?: boolean }): void;
  /** ioredis's `addBuiltinCommand`: a method for a command the table does not know (a module's). */
  addBuiltinCommand(commandName: string): void;
  getBuiltinCommands(): string[];
}

/**
 * A Redis client for one master with replicas: discovers the set from any member (or Sentinel),
 * sends writes to the master and reads by the read policy, and looks like ioredis to its caller.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class FailoverRedis extends EventEmitter<FailoverRedisEvents> implements PipelineHost {
  /**
   * ioredis-compatible: ioredis's defaults under `redisOptions`, as a plain client shows them
   * (`keyPrefix` is applied here, once; `enableAutoPipelining` reads false, see README).
   */
  readonly options: RedisOptions;
  /** ioredis-compatible: scripts added with `defineCommand`. */
  readonly scriptsSet: Record<string, unknown> = {};
  readonly addedBuiltinSet = new Set<string>();
  readonly isCluster = false;

  #input: string | FailoverRedisOptions | undefined;
  #extra: FailoverRedisOptions | undefined;
  #internals: FailoverRedisInternals;
  #opts: ResolvedOptions;
  #route: ViewRoute;
  #status: FailoverRedisStatus = 'wait';
  #core: Core;
  #views: ViewHost;
  /** `quit()` or `disconnect()`: nothing issued after it is sent. */
  #closing: Closing;
  /** The passwords configured, never printed. */
  #secrets: string[];
  /** `connect()` callers: settled when ready, or when the first discovery fails. */
  #connectWaiters: { resolve(): void; reject(error: Error): void }[] = [];

  constructor(url: string, options?: FailoverRedisOptions);
  constructor(options: FailoverRedisOptions);
  constructor(input: string | FailoverRedisOptions, extra?: FailoverRedisOptions, internals?: FailoverRedisInternals);
  constructor(input: string | FailoverRedisOptions, extra?: FailoverRedisOptions, internals: FailoverRedisInternals = {}) {
    super();
    this.#input = input;
    this.#extra = extra;
    this.#internals = internals;
    this.#opts = resolveOptions(input, extra);
    this.#route = Object.freeze({ policy: this.#opts.readFrom, durability: this.#opts.durability });
    this.options = facadeOptions(this.#opts);
    this.#secrets = passwordsOf(this.#opts.redisOptions, this.#opts.sentinelOptions);
    this.#closing = new Closing(this.#closingHost());
    const emit = this.emit.bind(this) as (event: string, ...args: unknown[]) => boolean;
    this.#core = new Core(this.#opts, this.#coreHost(), internals.connectionFactory, (event, ...args) => emit(event, ...args));
    const placement = this.#core.placement;
    this.#views = {
      client: this,
      options: this.options,
      zone: this.#opts.zone,
      scriptsSet: this.scriptsSet,
      addedBuiltinSet: this.addedBuiltinSet,
      dispatchWith: (command, route) => this.#dispatch(command, route),
      execPipelineWith: (commands, transaction, route) => this.#execPipeline(commands, transaction, route),
      viewReadsFromReplicas: () => placement.readFromReplicas(),
    };
    // As ioredis: commands defined from the options.
    for (const [name, definition] of Object.entries(this.#opts.redisOptions.scripts ?? {})) this.defineCommand(name, definition);
    if (this.#opts.redisOptions.lazyConnect) this.#setStatus('wait');
    else this.connect().catch(noop);
  }

  /** ioredis-compatible connection status. */
  get status(): FailoverRedisStatus {
    return this.#status;
  }

  /**
   * Writable in ioredis, and written by libraries (BullMQ sets `status = 'end'` after its
   * `quit()`): accepted, and ignored; the status is this client's own.
   */
  set status(_value: FailoverRedisStatus) {
    // Ignored on purpose.
  }

  /**
   * ioredis-compatible: `subscriber` while this client has subscriptions over RESP2 (only
   * subscriber commands may be sent then), `normal` otherwise — also when subscribed over RESP3,
   * which ioredis 6 negotiates by default.
   */
  get mode(): 'normal' | 'subscriber' | 'monitor' {
    return this.#core.placement.subscriberMode ? 'subscriber' : 'normal';
  }

  /** ioredis-compatible: the socket of the master's (first) data connection, while connected. */
  get stream(): Redis['stream'] | undefined {
    const master = this.#core.placement.state.master;
    return master === null ? undefined : this.#core.pool.get(master.address)?.dataConnections()[0]?.stream;
  }

  /**
   * ioredis-compatible: emit only to listeners; an `error` nobody listens to is printed with
   * `console.error` instead of thrown, and errors are not reported once ended, nor those that
   * closing causes (as ioredis's `silentEmit`).
   */
  silentEmit(event: string, arg?: unknown): boolean {
    if (event === 'error') return this.#emitError(arg as Error);
    if (this.listenerCount(event) === 0) return false;
    return (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...(arg === undefined ? [] : [arg]));
  }

  /**
   * ioredis-compatible: commands not yet sent because of ioredis's auto-pipelining. Always 0:
   * this client batches per connection after routing, within the tick.
   */
  get autoPipelineQueueSize(): number {
    return 0;
  }

  /**
   * ioredis-compatible `MONITOR`: a plain ioredis connection in monitor mode to the current master
   * (where the writes are), resolved once monitoring; it emits `monitor` for every command.
   */
  monitor(callback?: Callback<Redis>): Promise<Redis> {
    const watching = (async () => {
      if (this.#status !== 'ready') await this.connect();
      const master = this.#core.placement.state.master;
      if (master === null) throw new NoMasterError('monitor() needs a master; none is known');
      return monitorConnection({ ...this.#opts.redisOptions, host: master.node.host, port: master.node.port });
    })();
    return asCallback(watching, callback);
  }

  /**
   * Start discovery and connect (automatic unless `redisOptions.lazyConnect`). Resolves when ready
   * — also when already connecting or connected, where ioredis rejects (see README).
   */
  connect(callback?: Callback<void>): Promise<void> {
    if (this.#closing.kind !== null) return asCallback(Promise.reject(new ClosedError()), callback);
    if (this.#status === 'ready') return asCallback(Promise.resolve(), callback);
    const waiting = new Promise<void>((resolve, reject) => this.#connectWaiters.push({ resolve, reject }));
    if (this.#status === 'wait') {
      this.#setStatus('connecting');
      this.#core.manager.start();
      this.#core.manager.request('connect');
    }
    return asCallback(waiting, callback);
  }

  /** The current picture: master, replicas, and where it came from. A copy: safe to keep. */
  topology(): Topology {
    const t = this.#core.manager.current;
    if (t === null) return { master: null, replicas: [], source: this.#opts.mode };
    return structuredClone(t);
  }

  /** Counts per node and totals (failovers, commands held now, …): a plain snapshot for a metrics exporter. */
  stats(): FailoverRedisStats {
    return this.#core.stats.snapshot();
  }

  /** Re-read the topology now. */
  async refreshTopology(): Promise<Topology> {
    await this.#core.manager.refresh('refreshTopology()');
    return this.topology();
  }

  /**
   * The runbook's manual promotion, done right: `REPLICAOF NO ONE` on `address` (a replica), then
   * `REPLICAOF` on the other replicas (and on the old master if it is up). Client mode only;
   * with Sentinel, use `switchover()`.
   */
  async promote(address: string): Promise<Topology> {
    await this.#core.coordinator.promote(address);
    return this.topology();
  }

  /**
   * The runbook's last step: make `address` (an old master that came back, or a replica following
   * the wrong node) a replica of the current master (`REPLICAOF`). In auto mode the client does
   * this by itself; this is for manual mode and operators.
   */
  async demote(address: string): Promise<Topology> {
    await this.#core.coordinator.demote(address);
    return this.topology();
  }

  /**
   * A planned handover to `to` (or the best replica): writes issued meanwhile are held and land
   * on the new master; no acknowledged write is lost. With Sentinel: `SENTINEL FAILOVER`.
   */
  async switchover(options: HandoverOptions = {}): Promise<SwitchoverResult> {
    const core = this.#core;
    try {
      // Writes wait from the start of the handover itself (after the picture it starts from).
      const result = await core.coordinator.switchover(options, () => core.setSwitching(true));
      // Writes resume once the client itself has the new master.
      await this.#untilMaster(result.to, performance.now() + (options.timeoutMs ?? 5000));
      return result;
    } finally {
      core.setSwitching(false);
    }
  }

  async #untilMaster(address: string, deadline: number): Promise<void> {
    const state = this.#core.placement.state;
    while (state.master?.address !== address || !state.master.ready) {
      if (performance.now() > deadline) break;
      await this.#core.manager.refresh('switchover done').catch(noop);
      if (state.master?.address !== address || !state.master.ready) await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** The same client with another read policy for the calls made through it. */
  withReadFrom(readFrom: ReadFrom): FailoverRedisView {
    return new FailoverView(this.#views, withPolicy(this.#route, readFrom, this.#opts.zone)) as unknown as FailoverRedisView;
  }

  /**
   * The same client whose writes made through it resolve only once `replicas` replicas have them
   * (`WAIT replicas timeoutMs`), else reject with `NotReplicatedError`.
   */
  withDurability(durability: DurabilitySettings): FailoverRedisView {
    return new FailoverView(this.#views, withDurability(this.#route, durability)) as unknown as FailoverRedisView;
  }

  pipeline(commands?: unknown[][]): ChainableCommander {
    return newPipeline(this, false, commands);
  }

  multi(options: { pipeline: false }): Promise<'OK'>;
  multi(commands?: unknown[][] | { pipeline?: boolean }): ChainableCommander;
  multi(commands?: unknown[][] | { pipeline?: boolean }): ChainableCommander | Promise<'OK'> {
    if (commands && !Array.isArray(commands) && commands.pipeline === false) {
      return this.sendCommand(new Command('multi', [], { replyEncoding: 'utf8' })) as Promise<'OK'>;
    }
    return newPipeline(this, true, Array.isArray(commands) ? commands : undefined);
  }

  /**
   * `EXEC` after `multi({ pipeline: false })`: ioredis's result shape, `[[err, result], …]`
   * (null when a WATCHed key changed).
   */
  exec(callback?: Callback<[Error | null, unknown][] | null>): Promise<[Error | null, unknown][] | null> {
    const raw = this.sendCommand(new Command('exec', [], { replyEncoding: 'utf8' })) as Promise<unknown[] | null>;
    return asCallback(raw.then(wrapMultiResult), callback);
  }

  /** ioredis-compatible entry point of every command method. */
  sendCommand(command: Command): Promise<unknown> {
    return this.#dispatch(command, this.#route);
  }

  /** @internal the pipeline's way back in. */
  execPipeline(commands: Command[], transaction: boolean): Promise<unknown> {
    return this.#execPipeline(commands, transaction, this.#route);
  }

  /**
   * A new client with the same options (its own connections), as ioredis's `duplicate()`.
   * `override` may hold ioredis `RedisOptions` (for the duplicate's connections: `connectionName`,
   * `maxRetriesPerRequest`, `enableReadyCheck`, …) as well as this library's options.
   */
  duplicate(override?: FailoverRedisOptions | Partial<RedisOptions>): FailoverRedis {
    if (override === undefined) return new FailoverRedis(this.#input as FailoverRedisOptions, this.#extra, this.#internals);
    const split = splitOverride(override as Record<string, unknown>);
    const extra: FailoverRedisOptions = { ...this.#extra, ...split };
    if (this.#extra?.redisOptions || split.redisOptions) extra.redisOptions = { ...this.#extra?.redisOptions, ...split.redisOptions };
    return new FailoverRedis(this.#input as FailoverRedisOptions, extra, this.#internals);
  }

  /**
   * Close gracefully, as ioredis's QUIT: the commands issued before are sent (also those waiting
   * for the client to connect) and answered, then the connections quit. Resolves `'OK'`; a second
   * `quit()` rejects with `Connection is closed.` as on ioredis, whose server answers nothing
   * after QUIT.
   */
  quit(callback?: Callback<'OK'>): Promise<'OK'> {
    return asCallback(this.#quit(), callback);
  }

  #quit(): Promise<'OK'> {
    // As ioredis, where QUIT is a command: rejected once ended, and behind a first QUIT (sent
    // or queued) it gets no answer; after a disconnect() nothing is queued and it resolves.
    const closing = this.#closing;
    if (this.#status === 'end' || closing.kind === 'quit') return closing.after(() => Promise.reject(new ClosedError()));
    if (closing.kind === 'drop') return Promise.resolve('OK');
    // Like any command, quit() starts a lazy client connecting (ioredis then drops the attempt).
    if (this.#status === 'wait') this.#setStatus('connecting');
    return closing.quit(this.#status === 'ready');
  }

  /**
   * Close now: commands in flight fail. `disconnect(true)`, as ioredis's, drops the connections
   * and lets them reconnect instead.
   */
  disconnect(reconnect = false): void {
    if (reconnect) {
      for (const node of this.#core.pool.all()) for (const conn of node.dataConnections()) conn.disconnect(true);
      return;
    }
    this.#closing.close('drop', this.#status === 'wait').catch(noop);
  }

  /** ioredis alias of `disconnect()`. */
  end(): void {
    this.disconnect();
  }

  // ----------------------------------------------------------------

  #dispatch(cmd: Command, route: ViewRoute): Promise<unknown> {
    if (this.#closing.kind !== null) return this.#closing.refuse(cmd);
    if (this.#status === 'wait') this.connect().catch(noop);
    if (this.#core.placement.subscribed && this.mode === 'subscriber' && !Command.checkFlag('VALID_IN_SUBSCRIBER_MODE', cmd.name)) {
      cmd.reject(new Error(SUBSCRIBER_MODE_MESSAGE));
      return cmd.promise;
    }
    this.#core.engine.dispatch(cmd, route);
    return cmd.promise;
  }

  #execPipeline(commands: Command[], transaction: boolean, route: ViewRoute): Promise<unknown> {
    if (this.#closing.kind !== null) return this.#closing.refuseBatch(commands, transaction);
    if (this.#status === 'wait') this.connect().catch(noop);
    return this.#core.engine.dispatchBatch(commands, transaction, route);
  }

  /** How the core reaches this facade: status, connect() callers and public events. */
  #coreHost(): CoreHost {
    return {
      ready: () => this.#setReady(),
      reconnecting: () => {
        // As ioredis when its connection drops: close, then reconnecting (until the master is back).
        if (this.#status !== 'ready') return;
        this.#setStatus('close');
        this.#setStatus('reconnecting');
      },
      discoveryFailed: (error, fatal) => {
        // Like ioredis's connect(): it rejects when the first attempt fails (attempts go on).
        const coded = fatal || error instanceof FailoverRedisError ? error : new NoNodeError(error.message, { cause: error });
        if (this.#status !== 'ready') for (const waiter of this.#connectWaiters.splice(0)) waiter.reject(coded);
        this.#emitError(coded);
      },
      selected: (db) => {
        (this.options as { db?: number }).db = db;
      },
      emit: (event, ...args) => {
        publishEvent(event, args);
        (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
      },
      emitError: (error) => this.#emitError(error),
    };
  }

  #setReady(): void {
    // While a quit() waits to send what came before it, the client still gets ready (as ioredis).
    if (this.#status === 'ready' || this.#closing.kind === 'drop' || this.#closing.ending) return;
    if (this.#status === 'reconnecting') this.#setStatus('connecting');
    this.#setStatus('connect');
    this.#setStatus('ready');
    for (const waiter of this.#connectWaiters.splice(0)) waiter.resolve();
  }

  /** As ioredis: the status changes now, its event is emitted on the next tick. */
  #setStatus(status: FailoverRedisStatus): void {
    this.#status = status;
    process.nextTick(() => (this.emit as (e: string) => boolean)(status));
  }

  #emitError(error: Error): boolean {
    return silentEmitError(this, error, this.#closing, this.#secrets);
  }

  /** How quit() and disconnect() reach the connections and statuses. */
  #closingHost(): ClosingHost {
    return {
      unsent: () => this.#core.engine.held > 0,
      connected: () => this.#status === 'ready',
      fail: () => {
        const closed = new ClosedError();
        this.#core.stopDispatch(closed);
        for (const waiter of this.#connectWaiters.splice(0)) waiter.reject(closed);
      },
      closeConnections: (quit) => this.#core.close(quit),
      ended: (connected) => {
        // As ioredis: a connected client (or one never started) closes, then ends, and what was
        // issued after quit() fails after those events (its socket's close); one that was
        // connecting ends, and what was issued meanwhile fails first.
        if (connected || this.#status === 'wait') this.#setStatus('close');
        this.#setStatus('end');
        return connected ? new Promise((resolve) => process.nextTick(resolve)) : Promise.resolve();
      },
    };
  }
}

installCommands(FailoverRedis.prototype, ['multi', 'pipeline', 'exec']);
installScanStreams(FailoverRedis.prototype);
