/**
 * Every error this library raises is a `FailoverRedisError` with a stable `code`. Errors that Redis
 * itself replies with (`ReplyError`) to a command pass through unchanged; a refusal of the
 * credentials while connecting (`NOAUTH`, `WRONGPASS`) becomes an `AuthError`, the reply its cause.
 */
export type FailoverErrorCode =
  | 'ERR_INVALID_OPTION'
  | 'ERR_NO_MASTER'
  | 'ERR_NO_REPLICA'
  | 'ERR_NO_NODE'
  | 'ERR_AUTH'
  | 'ERR_NOT_REPLICA_SET'
  | 'ERR_NOT_SENTINEL'
  | 'ERR_NOT_CLUSTER'
  | 'ERR_QUEUE_FULL'
  | 'ERR_COMMAND_TIMEOUT'
  | 'ERR_MAYBE_APPLIED'
  | 'ERR_FAILOVER_TIMEOUT'
  | 'ERR_PROMOTION_FAILED'
  | 'ERR_NOT_REPLICATED'
  | 'ERR_CLOSED'
  | 'ERR_OFFLINE';

export class FailoverRedisError extends Error {
  readonly code: FailoverErrorCode;

  constructor(code: FailoverErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An option (object or URL form) is missing, malformed or contradicts another. */
export class InvalidOptionError extends FailoverRedisError {
  /** The option's name as the user wrote it, e.g. `readFrom` or `failover.downAfterMs`. */
  readonly option: string;

  constructor(option: string, message: string) {
    super('ERR_INVALID_OPTION', `Invalid option "${option}": ${message}`);
    this.option = option;
  }
}

/** No master is known (or reachable) and the command could not wait any longer. */
export class NoMasterError extends FailoverRedisError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_NO_MASTER', message, options);
  }
}

/** `readFrom: 'replica'` and no replica qualifies (down, loading, syncing or lagging). */
export class NoReplicaError extends FailoverRedisError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_NO_REPLICA', message, options);
  }
}

/** The command was never sent: the queue of commands held for a master was full. */
export class QueueFullError extends FailoverRedisError {
  constructor(limit: number) {
    super('ERR_QUEUE_FULL', `More than ${limit} commands are waiting for a master (maxQueuedCommands)`);
  }
}

/**
 * The command was never sent: it waited `commandTimeoutMs` for a node and none came. The message
 * says what it waited for and why that node could not be used (its last connection error, or the
 * last discovery error); `cause` is that reason as an error, with the node's own error as its cause.
 */
export class CommandTimeoutError extends FailoverRedisError {
  constructor(command: string, ms: number, options?: { cause?: unknown }) {
    super('ERR_COMMAND_TIMEOUT', `${command.toUpperCase()} waited ${ms} ms for a node and was not sent (commandTimeoutMs)${because(options?.cause)}`, options);
  }
}

/** `: why (and why that)`: the messages of an error and of its causes, each said once. */
function because(cause: unknown): string {
  const said: string[] = [];
  for (let e = cause, depth = 0; e instanceof Error && depth < 3; e = (e as { cause?: unknown }).cause, depth++) {
    if (!said.some((m) => m.includes(e.message))) said.push(e.message);
  }
  return said.length === 0 ? '' : `: ${said.join(': ')}`;
}

/**
 * The write was sent but the connection died before the reply: Redis may or may not have
 * applied it. It is never resent on its own, since a resend could apply it twice. The message is
 * ioredis's for a command lost with its connection, `Connection is closed.`, which libraries
 * compare to decide on their own retries (BullMQ retries its idempotent scripts on it); `code`,
 * `command` and `address` say what happened.
 */
export class MaybeAppliedError extends FailoverRedisError {
  readonly command: string;
  readonly address: string;

  constructor(command: string, address: string, options?: { cause?: unknown }) {
    super('ERR_MAYBE_APPLIED', 'Connection is closed.', options);
    this.command = command;
    this.address = address;
  }

  /** What happened, in words, for logs. */
  get detail(): string {
    return `${this.command.toUpperCase()} was sent to ${this.address} but the connection was lost before its reply: it may have been applied`;
  }
}

/**
 * The client (or the part of it asked: the topology manager, a provider) was closed. The
 * default message is ioredis's, which libraries compare.
 */
export class ClosedError extends FailoverRedisError {
  constructor(message = 'Connection is closed.') {
    super('ERR_CLOSED', message);
  }
}

type NoNodeCode = 'ERR_NO_NODE' | 'ERR_AUTH' | 'ERR_NOT_REPLICA_SET' | 'ERR_NOT_SENTINEL' | 'ERR_NOT_CLUSTER';

/**
 * Discovery reached no member of the replica set (nor any Sentinel, nor any cluster node) that it
 * could use. The subclasses name a mistake that waiting does not cure: `AuthError`,
 * `NotReplicaSetError`, `NotSentinelError`, `NotClusterError`.
 */
export class NoNodeError extends FailoverRedisError {
  constructor(message: string, options?: { cause?: unknown }, code: NoNodeCode = 'ERR_NO_NODE') {
    super(code, message, options);
  }
}

/**
 * A node (or a Sentinel) refused this client's credentials: `NOAUTH` (a password is needed and
 * none was given) or `WRONGPASS` (the password or the username is wrong). Code `ERR_AUTH`; the
 * Redis reply is the `cause`. Commands waiting for a node fail with it, and so do new ones, until
 * a discovery succeeds. The message names the node and the option to set, never the password.
 */
export class AuthError extends NoNodeError {
  /** The node that refused, `host:port`. */
  readonly address: string;
  /** What refused: a data node (`redisOptions`) or a Sentinel (`sentinelOptions`). */
  readonly server: 'node' | 'sentinel';

  constructor(address: string, cause: Error, server: 'node' | 'sentinel' = 'node') {
    const options = server === 'sentinel' ? 'sentinelOptions' : 'redisOptions';
    const what = cause.message.startsWith('NOAUTH')
      ? `${address} requires a password and none was given (NOAUTH)`
      : `${address} refused the credentials (${cause.message.startsWith('WRONGPASS') ? 'WRONGPASS' : cause.message}): the password or the username does not match, or the user is disabled`;
    const url = server === 'sentinel' ? 'sentinelPassword=… in a redis+sentinel:// URL' : 'user:password@host:port in the URL';
    super(`${what}; set ${options}.password (and ${options}.username for an ACL user), or ${url}`, { cause }, 'ERR_AUTH');
    this.address = address;
    this.server = server;
  }
}

/** What answered at an address, from `redis_mode` in its `INFO` (`standalone`: a plain master or replica). */
export type ServerKind = 'standalone' | 'sentinel' | 'cluster';

/**
 * An address given in `nodes` is not a master or replica of a replica set: it is a Sentinel
 * (a common mistake: `REDIS_URL=redis://sentinel:26379`) or a Redis Cluster node. Code
 * `ERR_NOT_REPLICA_SET`; the message shows the right form (`sentinels` and `name`, with the
 * names the Sentinel monitors, or `FailoverCluster`).
 */
export class NotReplicaSetError extends NoNodeError {
  readonly address: string;
  readonly found: Exclude<ServerKind, 'standalone'>;
  /** A Sentinel's: the names of the masters it monitors (the `name` to give). */
  readonly monitors: readonly string[];

  constructor(address: string, found: Exclude<ServerKind, 'standalone'>, monitors: readonly string[] = []) {
    const what = found === 'sentinel' ? 'a Sentinel' : 'a Redis Cluster node';
    const form = found === 'sentinel' ? sentinelForm(address, monitors) : clusterForm(address);
    super(`${address} is ${what}, not a master or replica: give it as ${form}`, undefined, 'ERR_NOT_REPLICA_SET');
    this.address = address;
    this.found = found;
    this.monitors = monitors;
  }
}

/**
 * An address given in `sentinels` is not a Sentinel: it is a Redis master or replica, or a Redis
 * Cluster node. Code `ERR_NOT_SENTINEL`; the message shows the right form.
 */
export class NotSentinelError extends NoNodeError {
  readonly address: string;
  readonly found: Exclude<ServerKind, 'sentinel'>;

  constructor(address: string, found: Exclude<ServerKind, 'sentinel'>, cause?: unknown) {
    const what = found === 'cluster' ? 'is a Redis Cluster node, not a Sentinel' : 'is a Redis server (a master or replica), not a Sentinel';
    const form = found === 'cluster' ? clusterForm(address) : `${nodesForm(address)}, or give the Sentinels' addresses (port 26379 by default)`;
    super(`${address} ${what}: give it as ${form}`, { cause }, 'ERR_NOT_SENTINEL');
    this.address = address;
    this.found = found;
  }
}

/**
 * A seed given to `FailoverCluster` answered, but not as a Redis Cluster member: a plain master or
 * replica (cluster support disabled), or a Sentinel. Code `ERR_NOT_CLUSTER`; the message shows
 * the `FailoverRedis` form. A `NoNodeError`, since no cluster node was found.
 */
export class NotClusterError extends NoNodeError {
  readonly address: string;
  readonly found: Exclude<ServerKind, 'cluster'>;

  constructor(address: string, cause?: unknown, found: Exclude<ServerKind, 'cluster'> = 'standalone', monitors: readonly string[] = []) {
    const message =
      found === 'sentinel'
        ? `${address} is a Sentinel, not a Redis Cluster member: use FailoverRedis and give it as ${sentinelForm(address, monitors)}`
        : `${address} is not a Redis Cluster member (cluster support disabled); for a master with replicas use FailoverRedis and give it as ${nodesForm(address)}`;
    super(message, { cause }, 'ERR_NOT_CLUSTER');
    this.address = address;
    this.found = found;
  }
}

/** The error, or the error it wraps, when it is a mistake no waiting cures: credentials, or the wrong kind of server. */
export function misconfiguration(error: unknown): NoNodeError | null {
  for (let e = error, depth = 0; e instanceof Error && depth < 2; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof AuthError || e instanceof NotReplicaSetError || e instanceof NotSentinelError || e instanceof NotClusterError) return e;
  }
  return null;
}

function nodesForm(address: string): string {
  return `{ nodes: ['${address}'] } (URL: redis://${address})`;
}

function clusterForm(address: string): string {
  return `new FailoverCluster({ nodes: ['${address}'] }) (URL: redis+cluster://${address})`;
}

function sentinelForm(address: string, monitors: readonly string[]): string {
  const name = monitors.length === 1 ? monitors[0]! : '<master name>';
  const which = monitors.length > 1 ? `; it monitors ${monitors.map((m) => `'${m}'`).join(', ')}` : '';
  return `{ sentinels: ['${address}'], name: '${name}' } (URL: redis+sentinel://${address}/${name})${which}`;
}

/**
 * `durability`: the write is on the master, but fewer replicas than asked acknowledged it within
 * `timeoutMs`. It was applied (and will usually reach the replicas later); it is not lost unless
 * the master dies before it does.
 */
export class NotReplicatedError extends FailoverRedisError {
  readonly acknowledged: number;
  readonly required: number;

  constructor(command: string, acknowledged: number, required: number, timeoutMs: number) {
    super(
      'ERR_NOT_REPLICATED',
      `${command.toUpperCase()} is on the master but only ${acknowledged} of ${required} replica(s) acknowledged it within ${timeoutMs} ms`,
    );
    this.acknowledged = acknowledged;
    this.required = required;
  }
}

const OFFLINE_MESSAGE = "Stream isn't writeable and enableOfflineQueue options is false";

/**
 * `redisOptions.enableOfflineQueue: false`: the command would have had to wait for a node, and
 * this client was told not to let commands wait (ioredis's message).
 */
export class OfflineError extends FailoverRedisError {
  constructor(options?: { cause?: unknown }) {
    super('ERR_OFFLINE', OFFLINE_MESSAGE, options);
  }
}
