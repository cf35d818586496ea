import { Command, type ChainableCommander } from 'ioredis';
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
  /** Transactions opened inside this pipeline (`pipeline().multi()…exec()`) and not yet closed. */
  #inline = 0;
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

  /** As ioredis: the commands queued, MULTI/EXEC included (a `multi()` batch starts with MULTI). */
  get length(): number {
    return this.#queue.length + (this.#transaction ? 1 : 0);
  }

  sendCommand(command: Command): this {
    this.#queue.push(command);
    return this;
  }

  /**
   * Inside a pipeline, `multi()` opens a transaction within it, closed by the next `exec()`; the
   * last `exec()` sends the whole pipeline (ioredis: `pipeline().set().multi().incr().exec().get().exec()`).
   */
  multi(): this {
    this.#inline++;
    this.#queue.push(inlineMarker('multi'));
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

  exec(callback?: (err: Error | null, result?: unknown) => void): Promise<unknown> | this {
    if (this.#inline > 0) {
      this.#inline--;
      this.#queue.push(inlineMarker('exec'));
      return this;
    }
    // A second exec() gives the first one's result, as ioredis's does (which sends the commands
    // again but keeps the first replies; here they are not sent twice).
    this.#executed ??= this.redis.execPipeline(this.#queue, this.#transaction);
    return asCallback(this.#executed, callback);
  }
}

installCommands(FailoverPipeline.prototype, ['multi', 'exec']);

/** `pipeline(commands?)` / `multi(commands?)` of a client or view: ioredis's batch forms included. */
export function newPipeline(host: PipelineHost, transaction: boolean, commands?: unknown[][]): ChainableCommander {
  const pipeline = new FailoverPipeline(host, transaction);
  if (commands) pipeline.addBatch(commands);
  return pipeline as unknown as ChainableCommander;
}

/**
 * MULTI or EXEC written inside a pipeline: sent as ioredis's pipeline sends them (`multi()` /
 * `exec()` on the real pipeline), so the replies inside come out as ioredis gives them.
 */
function inlineMarker(name: 'multi' | 'exec'): Command {
  const command = new Command(name, [], { replyEncoding: 'utf8' });
  (command as { inline?: boolean }).inline = true;
  // Its outcome is the pipeline's: nothing awaits this promise.
  command.promise.catch(() => undefined);
  return command;
}

/** Whether `command` is a MULTI or EXEC written inside a pipeline. */
export function isInlineMarker(command: Command): boolean {
  return (command as { inline?: boolean }).inline === true;
}
