import type { EventEmitter } from 'node:events';
import { Cluster as IoCluster, Redis, ScanStream, type ClusterOptions, type Command, type RedisOptions, type ScanStreamOptions } from 'ioredis';
import type { HostPort } from './topology/address.js';
import { unsentResult } from './dispatch/attempt.js';
import { ClosedError, InvalidOptionError } from './errors.js';
import { REDACTED } from './redact.js';
import { OPTION_KEYS, type ResolvedOptions } from './options.js';
import { noop, whenTrue } from './util.js';
import { withIdentity } from './pool/identity.js';
import type { FailoverRedisOptions } from './options-types.js';

/** ioredis's own defaults (`Redis.defaultOptions`), which its `redis.options` always carries. */
const IOREDIS_DEFAULTS = (Redis as unknown as { defaultOptions: RedisOptions }).defaultOptions;

/**
 * What `redis.options` shows: ioredis's defaults under the options given, as on a plain ioredis
 * client (libraries read `maxRetriesPerRequest`, `enableOfflineQueue`, `keyPrefix`, `db` there),
 * with the address of the first seed (or the Sentinels and name). `enableAutoPipelining` reads
 * false: the client batches per connection after routing, and ioredis's own auto-pipelining,
 * which the command methods consult there, would batch reads and writes together before.
 */
export function facadeOptions(opts: ResolvedOptions): RedisOptions {
  const where: RedisOptions =
    opts.mode === 'sentinel'
      ? { sentinels: opts.seeds.map((s) => ({ host: s.host, port: s.port })), name: opts.name ?? undefined }
      : { host: opts.seeds[0]!.host, port: opts.seeds[0]!.port };
  return { ...IOREDIS_DEFAULTS, ...where, ...opts.redisOptions, enableAutoPipelining: false };
}

/**
 * ioredis's `Cluster` under FailoverCluster: its slot map, connections, pipelines and pub/sub.
 * `nodeOptions` without the key prefix (FailoverCluster's commands carry it already).
 */
export function underlyingCluster(seeds: readonly HostPort[], base: ResolvedOptions, nodeOptions: RedisOptions): IoCluster {
  return new IoCluster(
    seeds.map((s) => ({ host: s.host, port: s.port })),
    {
      // A function, not 'master': ioredis then opens replica connections with READONLY, and
      // still sends what it routes itself (pipelines, keyless commands) to the masters.
      scaleReads: ((nodes: Redis[]) => nodes[0]) as ClusterOptions['scaleReads'],
      redisOptions: withIdentity('data', nodeOptions),
      natMap: Object.fromEntries([...base.natMap].map(([k, v]) => [k, { host: v.host, port: v.port }])),
      lazyConnect: true,
      shardedSubscribers: true,
      slotsRefreshTimeout: Math.max(200, Math.floor(base.failover.downAfterMs / 2)),
    } as ClusterOptions,
  );
}

/**
 * What FailoverCluster's `options` shows, as ioredis `Cluster#options`: the cluster options with
 * the node options under `redisOptions` and the key prefix at the top (libraries such as BullMQ
 * read `options.redisOptions`).
 */
export function clusterFacadeOptions(io: IoCluster, base: ResolvedOptions): ClusterOptions & { keyPrefix?: string } {
  const { keyPrefix, lazyConnect } = base.redisOptions;
  return { ...io.options, redisOptions: { ...base.redisOptions }, keyPrefix, enableAutoPipelining: false, lazyConnect: lazyConnect ?? false };
}

// Where an ioredis address would go: the topology says where the nodes are.
const ADDRESS_KEYS = new Set(['host', 'port', 'path', 'sentinels']);

/**
 * `duplicate(override)` takes ioredis `RedisOptions` as ioredis's does (BullMQ passes
 * `{ connectionName }`, `{ maxRetriesPerRequest: null }`), as well as this library's options:
 * the keys of ours stay on top, every other key goes to `redisOptions`. Pure.
 */
export function splitOverride(override: Record<string, unknown>): FailoverRedisOptions {
  const out: Record<string, unknown> = {};
  const redisOptions: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    if (Object.hasOwn(OPTION_KEYS, key)) out[key] = value;
    else if (ADDRESS_KEYS.has(key)) {
      throw new InvalidOptionError(`duplicate.${key}`, `${key} comes from the topology; a duplicate connects to the same replica set`);
    } else redisOptions[key] = value;
  }
  if (Object.keys(redisOptions).length > 0) {
    out['redisOptions'] = { ...(out['redisOptions'] as Record<string, unknown> | undefined), ...redisOptions };
  }
  return out as FailoverRedisOptions;
}

/** ioredis's error for a command given to a connection in RESP2 subscriber mode. */
export const SUBSCRIBER_MODE_MESSAGE = 'Connection in subscriber mode, only subscriber commands may be used';

/**
 * What ioredis's `silentEmit('error', …)` prints when nobody listens (`[ioredis] Unhandled error
 * event: <stack>`), with this library's name. The text never carries a password: each of
 * `secrets` (the configured passwords) and the password of any URL in it become `***`.
 */
export function printUnhandledError(error: unknown, secrets: readonly string[]): void {
  const text = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
  console.error('[redis-failover] Unhandled error event:', redactSecrets(text, secrets));
}

/** `text` with each of `secrets`, and the password of any `scheme://user:password@` in it, replaced by `***`. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text.replace(URL_PASSWORD, `$1${REDACTED}@`);
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join(REDACTED);
  return out;
}

// Userinfo runs to the last `@` of the URL (as `splitUrl` reads it), so a password may hold `@`.
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s:@/]*:)\S*@/gi;

/** The passwords among ioredis options (`password`, `sentinelPassword`), for `redactSecrets`. */
export function passwordsOf(...options: (RedisOptions | undefined)[]): string[] {
  const out: string[] = [];
  for (const o of options) {
    for (const secret of [o?.password, o?.sentinelPassword]) {
      if (typeof secret === 'string' && secret.length > 0) out.push(secret);
    }
  }
  return out;
}

/**
 * ioredis's `silentEmit` while it closes on purpose (`manuallyClosing`): the errors that closing
 * causes — `Connection is closed.`, a failed connect or read — are not reported.
 */
export function isClosingNoise(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const syscall = (error as { syscall?: unknown }).syscall;
  return error.message === 'Connection is closed.' || syscall === 'connect' || syscall === 'read';
}

/** What `Closing` needs of its client. */
export interface ClosingHost {
  /** Something issued before quit() still waits to be sent (held for a node, or for the connect). */
  unsent(): boolean;
  /** The client is connected (ready). */
  connected(): boolean;
  /** Fail what still waits: held commands, connect() callers. */
  fail(): void;
  /** Close the connections; `quit`: after the replies in flight (QUIT goes behind them). */
  closeConnections(quit: boolean): Promise<void>;
  /** Set the final statuses; resolves once what is issued after the close may settle. */
  ended(wasConnected: boolean): Promise<void>;
}

/** How often a graceful close looks again whether what was issued before it has been sent. */
const UNSENT_POLL_MS = 5;

/**
 * How an ioredis client closes, for a facade over many connections. `quit`: gracefully, as
 * ioredis queues QUIT behind its offline queue — what was issued before is sent first (held
 * commands are bounded by `commandTimeoutMs`) and answered; `drop`: now, failing what waits
 * (`disconnect()`, or `quit()` with nothing to send before the client is connected, where ioredis
 * disconnects and answers OK at once). What is issued after either settles once the client ended.
 */
export class Closing {
  /** What was asked: nothing yet, a graceful close, or a close now (which cuts a graceful one short). */
  kind: 'quit' | 'drop' | null = null;
  /** The connections are being closed: no more `ready`, and closing noise is not reported. */
  ending = false;
  /** The final statuses are set. */
  over = false;
  #host: ClosingHost;
  #closed: Promise<boolean> | null = null;
  #ended: Promise<void> | null = null;

  constructor(host: ClosingHost) {
    this.#host = host;
  }

  /**
   * Close (`now`: a `drop` at once, for a client that never started connecting). Resolves once
   * the connections are closed; the final statuses follow.
   */
  close(kind: 'quit' | 'drop', now = false): Promise<void> {
    if (this.kind !== 'drop' && this.kind !== kind) {
      this.kind = kind;
      if (kind === 'drop' && !this.ending) this.#host.fail();
      if (this.#closed === null && now) {
        this.ending = true;
        this.#closed = Promise.resolve(false);
        this.#ended = Promise.resolve();
        this.#host.closeConnections(false).catch(noop);
        this.over = true;
        this.#host.ended(false).catch(noop);
      } else if (this.#closed === null) {
        this.#closed = this.#shutDown();
        // The final statuses on a later turn, as ioredis's socket closes after QUIT's reply.
        this.#ended = this.#closed.then(async (connected) => {
          await new Promise((resolve) => setImmediate(resolve));
          this.over = true;
          return this.#host.ended(connected);
        });
      }
    }
    return this.#closed!.then(noop);
  }

  /** quit(): gracefully; not connected and nothing to send: closed now, OK at once (as ioredis). */
  quit(connected: boolean): Promise<'OK'> {
    if (!connected && !this.#host.unsent()) {
      this.close('drop').catch(noop);
      return Promise.resolve('OK');
    }
    return this.close('quit').then(() => 'OK');
  }

  /** Settled once the client has ended (at once before any close). */
  get ended(): Promise<void> {
    return this.#ended ?? Promise.resolve();
  }

  /**
   * A command issued after the close began: rejected once the client has ended, with
   * `Connection is closed.` (`whileClosing`: another message if it was issued before the end).
   */
  refuse(cmd: Command, whileClosing?: string): Promise<unknown> {
    const message = this.over ? undefined : whileClosing;
    this.after(() => cmd.reject(new ClosedError(message))).catch(noop);
    return cmd.promise;
  }

  /** A batch issued after the close began: as `refuse`, each of a pipeline's commands failed. */
  refuseBatch(commands: readonly Command[], transaction: boolean, whileClosing?: string): Promise<unknown> {
    const error = new ClosedError(this.over ? undefined : whileClosing);
    return this.after(() => (transaction ? Promise.reject(error) : unsentResult(commands, error)));
  }

  /** `settle` for something issued after the close began: run once the client has ended. */
  after<T>(settle: () => T | Promise<T>): Promise<T> {
    return this.#ended === null ? Promise.resolve().then(settle) : this.#ended.then(settle, settle);
  }

  async #shutDown(): Promise<boolean> {
    const host = this.#host;
    // As on ioredis, whose close completes on a later turn (its socket's): status events already
    // due (`connecting`) come first.
    await new Promise((resolve) => setImmediate(resolve));
    await whenTrue(() => this.kind !== 'quit' || !host.unsent(), UNSENT_POLL_MS);
    this.ending = true;
    host.fail();
    const connected = host.connected();
    await host.closeConnections(this.kind === 'quit');
    return connected;
  }
}

/**
 * ioredis's `silentEmit('error')`: nothing once ended, nor the noise of closing on purpose; to the
 * listeners; with none, printed (passwords redacted), never thrown.
 */
export function silentEmitError(emitter: EventEmitter, error: Error, closing: Closing, secrets: readonly string[]): boolean {
  if (closing.over) return false;
  if ((closing.ending || closing.kind === 'drop') && isClosingNoise(error)) return false;
  if (emitter.listenerCount('error') > 0) return emitter.emit('error', error);
  printUnhandledError(error, secrets);
  return false;
}

/** A plain ioredis connection in monitor mode (ioredis's `monitor()`), resolved once monitoring. */
export async function monitorConnection(options: RedisOptions): Promise<Redis> {
  const conn = new Redis({ ...options, monitor: true, lazyConnect: false });
  await new Promise<void>((resolve, reject) => {
    conn.once('error', reject);
    conn.once('monitoring', () => {
      conn.off('error', reject);
      resolve();
    });
  });
  return conn;
}

/** ioredis's `exec()` result shape after `multi({ pipeline: false })`: `[[err, result], …]`, null when aborted. */
export function wrapMultiResult(replies: unknown[] | null): [Error | null, unknown][] | null {
  if (replies === null) return null;
  return replies.map((reply) => (reply instanceof Error ? [reply] : [null, reply]) as [Error | null, unknown]);
}

const SCANS = ['scan', 'sscan', 'hscan', 'zscan'] as const;
export type ScanStreamMethod = `${(typeof SCANS)[number]}${'' | 'Buffer'}Stream`;

/**
 * ioredis's `scanStream(options)`, `sscanStream(key, options)`, … and their Buffer variants on
 * `proto`: a `ScanStream` over the client's own command method (`scan`, `sscanBuffer`, …).
 */
export function installScanStreams(proto: object): void {
  for (const scan of SCANS) {
    for (const variant of ['', 'Buffer']) {
      const command = `${scan}${variant}`;
      function stream(this: object, ...args: unknown[]): ScanStream {
        const [key, options] = (scan === 'scan' ? [undefined, args[0]] : args) as [string | undefined, ScanStreamOptions | undefined];
        return new ScanStream({ objectMode: true, key, redis: this, command, ...options } as ConstructorParameters<typeof ScanStream>[0]);
      }
      Object.defineProperty(proto, `${command}Stream`, { value: stream, writable: true, configurable: true });
    }
  }
}
