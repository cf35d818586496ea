import { FailoverRedis } from '../client.js';
import { AuthError, misconfiguration, NotReplicaSetError, NotSentinelError } from '../errors.js';
import type { FailoverRedisOptions } from '../options-types.js';
import { defaultConnectionFactory } from '../pool/node-pool.js';
import { formatAddress } from '../topology/address.js';
import type { HealthLimits } from '../topology/health.js';
import type { Topology } from '../topology/types.js';
import { connectionTarget, intOption, type Target, type TargetSettings, type Values } from './args.js';
import type { Output } from './output.js';

/** What every command gets: where to print, and the environment (for `REDIS_PASSWORD`, `NO_COLOR`). */
export interface CommandContext {
  out: Output;
  env: NodeJS.ProcessEnv;
}

export type Command = (argv: readonly string[], ctx: CommandContext) => Promise<number>;

/** The replica set could not be read at all: exit code 2. */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}

/** The connection flags as client options; passwords are handed to the output's scrubber first. */
export function targetFor(values: Values, ctx: CommandContext, settings: TargetSettings): Target {
  return connectionTarget(values, ctx.env, { ...settings, onSecret: (secret) => ctx.out.addSecret(secret) });
}

/** On a terminal, a warning (to stderr) when a password was typed on the command line (a flag or a URL). */
export function warnPasswordOnCommandLine(target: Target, ctx: CommandContext): void {
  if (target.passwordOnCommandLine && ctx.out.interactive) {
    // As redis-cli warns about -a: the process list shows it to every user of the machine.
    ctx.out.err(ctx.out.errStyle.yellow('Warning: a password on the command line is visible in the process list; set REDIS_PASSWORD instead.'));
  }
}

/** The last socket error of each node's connections (for messages: the library reports "no answer"). */
const socketErrors = new WeakMap<FailoverRedis, Map<string, string>>();

/**
 * A client for the target that connects only when asked: `refreshTopology()` reads the picture
 * without waiting for a master (there may be none), `connect()` starts the periodic refresh.
 * Errors surface through the calls that fail; the `error` event would only repeat them.
 */
export function openClient(target: Target, ctx: CommandContext, extra: FailoverRedisOptions = {}): FailoverRedis {
  for (const secret of target.secrets) ctx.out.addSecret(secret);
  warnPasswordOnCommandLine(target, ctx);
  const errors = new Map<string, string>();
  const client = new FailoverRedis(
    target.input,
    { ...target.extra, ...extra, redisOptions: { ...target.extra.redisOptions, ...extra.redisOptions, lazyConnect: true } },
    {
      // Only to say why a node did not answer (connection refused, timeout, TLS…) when none does.
      connectionFactory: (node, purpose, options) => {
        const conn = defaultConnectionFactory(node, purpose, options);
        conn.on('error', (error: Error) => errors.set(formatAddress(node.host, node.port), error.message));
        conn.on('ready', () => errors.delete(formatAddress(node.host, node.port)));
        return conn;
      },
    },
  );
  socketErrors.set(client, errors);
  client.on('error', () => undefined);
  return client;
}

/** The first picture; a replica set where no member (or no Sentinel) answers is unreachable. */
export async function readTopology(client: FailoverRedis, target: Target): Promise<Topology> {
  try {
    return await client.refreshTopology();
  } catch (error) {
    const causes = [...(socketErrors.get(client) ?? [])].map(([address, message]) => `${address}: ${message}`);
    const why = explainMistake(error) ?? (causes.length > 0 ? `no member answered (${causes.join('; ')})` : (error as Error).message);
    throw new UnreachableError(`cannot read the replica set from ${target.label}: ${why}`, { cause: error });
  }
}

/**
 * A mistake the library names in its options' terms (`redisOptions.password`, `sentinels`), said
 * in the CLI's: its flags and environment. Null when `error` is no such mistake.
 */
export function explainMistake(error: unknown): string | null {
  const mistake = misconfiguration(error);
  if (mistake instanceof AuthError) {
    const missing = mistake.cause instanceof Error && mistake.cause.message.startsWith('NOAUTH');
    const answer = missing ? 'NOAUTH: it requires a password and none was given' : 'WRONGPASS: the password or the user does not match';
    const how =
      mistake.server === 'sentinel'
        ? 'set REDIS_SENTINEL_PASSWORD (or --sentinel-password), or ?sentinelPassword=… in a redis+sentinel:// URL'
        : 'set REDIS_PASSWORD (and --user for an ACL user), or give them in the URL: redis://user:password@host:port';
    return `${mistake.address} answered with an authentication error (${answer}); ${how}`;
  }
  if (mistake instanceof NotReplicaSetError && mistake.found === 'sentinel') {
    const name = mistake.monitors.length === 1 ? mistake.monitors[0]! : '<master name>';
    const which = mistake.monitors.length > 1 ? ` (it monitors ${mistake.monitors.join(', ')})` : '';
    return `${mistake.address} is a Sentinel, not a master or replica: add --sentinel --name ${name}${which}, or use redis+sentinel://${mistake.address}/${name}`;
  }
  if (mistake instanceof NotSentinelError) {
    const what = mistake.found === 'cluster' ? 'a Redis Cluster node' : 'a Redis master or replica';
    return `${mistake.address} is ${what}, not a Sentinel: give it without --sentinel and --name (or give the Sentinels' addresses, port 26379 by default)`;
  }
  return mistake?.message ?? null;
}

export function healthLimits(values: Values): HealthLimits {
  return { lagBytes: intOption(values, 'max-lag-bytes', 1_048_576), lagSeconds: intOption(values, 'max-lag-seconds', 10) };
}

/** Resolves on Ctrl-C (SIGINT) or SIGTERM: how `watch` ends (with exit 0). */
export function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** `14:03:07.512`, local time. */
export function clock(date = new Date()): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}
