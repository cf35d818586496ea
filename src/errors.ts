/**
 * Every error this library raises is a `FailoverRedisError` with a stable `code`. Errors that Redis
 * itself replies with (`ReplyError`) pass through unchanged.
 */
export type FailoverErrorCode =
  | 'ERR_INVALID_OPTION'
  | 'ERR_NO_MASTER'
  | 'ERR_NO_REPLICA'
  | 'ERR_NO_NODE'
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

/** The command was never sent: it waited `commandTimeoutMs` for a node and none came. */
export class CommandTimeoutError extends FailoverRedisError {
  constructor(command: string, ms: number, options?: { cause?: unknown }) {
    super('ERR_COMMAND_TIMEOUT', `${command.toUpperCase()} waited ${ms} ms for a node to send it to (commandTimeoutMs); it was not sent`, options);
  }
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

/** Discovery reached no member of the replica set (nor any Sentinel): nothing answered. */
export class NoNodeError extends FailoverRedisError {
  constructor(message: string, options?: { cause?: unknown }, code: 'ERR_NO_NODE' | 'ERR_NOT_CLUSTER' = 'ERR_NO_NODE') {
    super(code, message, options);
  }
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
