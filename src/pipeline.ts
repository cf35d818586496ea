import type { Command } from 'ioredis';
import { asCallback } from './util.js';
import { installCommands } from './commands.js';

/** Where a pipeline goes when it is executed: the client (or a view) that made it. */
export interface PipelineHost {
  readonly options: object;
  readonly scriptsSet: Record<string, unknown>;
  readonly addedBuiltinSet: Set<string>;
  /** Send the batch as one unit (one node, one connection) and give ioredis's `exec()` result. */
  execPipeline(commands: Command[], transaction: boolean): Promise<unknown>;
  sendCommand(command: Command): unknown;
}

/**
 * `pipeline()` and `multi()`: records commands with ioredis's own methods, then hands them over
 * as a whole at `exec()`, so that the client can pick one node for the batch (a replica when
 * every command is a read, the master otherwise) and run it on that node's connection through a
 * real ioredis pipeline — same wire format, same `[[err, result], …]` shape.
 */
export class FailoverPipeline {
  readonly isPipeline = true;
  readonly redis: PipelineHost;
  readonly options: object;
  readonly scriptsSet: Record<string, unknown>;
  readonly addedBuiltinSet: Set<string>;
  #queue: Command[] = [];
  #transaction: boolean;
  #executed: Promise<unknown> | null = null;

  constructor(host: PipelineHost, transaction: boolean) {
    this.redis = host;
    this.options = host.options;
    this.scriptsSet = host.scriptsSet;
    this.addedBuiltinSet = host.addedBuiltinSet;
    this.#transaction = transaction;
    const self = this as unknown as Record<string, unknown>;
    const from = host as unknown as Record<string, unknown>;
    for (const name of [...Object.keys(host.scriptsSet), ...host.addedBuiltinSet]) {
      self[name] = from[name];
      self[`${name}Buffer`] = from[`${name}Buffer`];
    }
  }

  get length(): number {
    return this.#queue.length;
  }

  sendCommand(command: Command): this {
    this.#queue.push(command);
    return this;
  }

  /** Inside a pipeline, `multi()` turns it into a transaction (ioredis: `pipeline().multi()`). */
  multi(): this {
    this.#transaction = true;
    return this;
  }

  addBatch(commands: unknown[][]): this {
    const self = this as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const [name, ...args] of commands) {
      const method = self[String(name)];
      if (typeof method !== 'function') throw new TypeError(`Unknown command ${String(name)} in pipeline`);
      method.apply(this, args);
    }
    return this;
  }

  exec(callback?: (err: Error | null, result?: unknown) => void): Promise<unknown> {
    if (this.#executed === null) {
      this.#executed = this.redis.execPipeline(this.#queue, this.#transaction);
    } else {
      this.#executed = Promise.reject(new Error('Pipeline cannot be used to send any commands when the `exec()` has been called on it.'));
    }
    return asCallback(this.#executed, callback);
  }
}

installCommands(FailoverPipeline.prototype, ['multi', 'exec']);
