import type { ChainableCommander, Command, RedisCommander } from 'ioredis';
import { installCommands } from './commands.js';
import type { ViewRoute } from './dispatch/attempt.js';
import { InvalidOptionError } from './errors.js';
import type { DurabilitySettings, ReadFrom } from './options-types.js';
import { newPipeline, type PipelineHost } from './pipeline.js';
import { parseReadFrom, requireZone } from './routing/read-policy.js';

/** A view with another read policy or durability over the same connections. */
export interface FailoverRedisView extends RedisCommander<{ type: 'default' }> {
  pipeline(commands?: unknown[][]): ChainableCommander;
  multi(commands?: unknown[][]): ChainableCommander;
  withReadFrom(readFrom: ReadFrom): FailoverRedisView;
  withDurability(durability: DurabilitySettings): FailoverRedisView;
}

/** What a view needs of its client: the way in for its commands, and the client's scripts. */
export interface ViewHost {
  /** The client: its `defineCommand` methods are the view's too. */
  readonly client: object;
  readonly options: object;
  /** The client's `zone` option: a view may choose a zone policy only with one. */
  readonly zone: string | null;
  readonly scriptsSet: Record<string, unknown>;
  readonly addedBuiltinSet: Set<string>;
  dispatchWith(command: Command, route: ViewRoute): Promise<unknown>;
  execPipelineWith(commands: Command[], transaction: boolean, route: ViewRoute): Promise<unknown>;
  /** A view that reads from replicas was made: their connections must be open. */
  viewReadsFromReplicas(): void;
}

export function resolveDurability(d: DurabilitySettings): DurabilitySettings {
  if (!Number.isInteger(d?.replicas) || d.replicas < 1) throw new InvalidOptionError('durability.replicas', 'must be an integer ≥ 1');
  if (!Number.isInteger(d.timeoutMs) || d.timeoutMs < 0) throw new InvalidOptionError('durability.timeoutMs', 'must be an integer ≥ 0 (ms)');
  return Object.freeze({ replicas: d.replicas, timeoutMs: d.timeoutMs });
}

/** `route` with another read policy: the durability stays. `zone`: the client's, which zone policies need. */
export function withPolicy(route: ViewRoute, readFrom: ReadFrom, zone: string | null): ViewRoute {
  return Object.freeze({ policy: requireZone(parseReadFrom(readFrom), zone, 'withReadFrom'), durability: route.durability });
}

/** `route` with another durability: the read policy stays. */
export function withDurability(route: ViewRoute, durability: DurabilitySettings): ViewRoute {
  return Object.freeze({ policy: route.policy, durability: resolveDurability(durability) });
}

/**
 * `withReadFrom(policy)` / `withDurability(d)`: the client's commands with another route, same
 * connections. Views compose: each keeps what the view it came from set, and changes one thing.
 */
export class FailoverView implements PipelineHost {
  readonly options: object;
  readonly scriptsSet: Record<string, unknown>;
  readonly addedBuiltinSet: Set<string>;
  #host: ViewHost;
  #route: ViewRoute;

  constructor(host: ViewHost, route: ViewRoute) {
    this.#host = host;
    this.#route = route;
    this.options = host.options;
    this.scriptsSet = host.scriptsSet;
    this.addedBuiltinSet = host.addedBuiltinSet;
    if (route.policy.name !== 'master') host.viewReadsFromReplicas();
    const self = this as unknown as Record<string, unknown>;
    const from = host.client as unknown as Record<string, unknown>;
    for (const name of [...Object.keys(host.scriptsSet), ...host.addedBuiltinSet]) {
      self[name] = from[name];
      self[`${name}Buffer`] = from[`${name}Buffer`];
    }
  }

  sendCommand(command: Command): Promise<unknown> {
    return this.#host.dispatchWith(command, this.#route);
  }

  execPipeline(commands: Command[], transaction: boolean): Promise<unknown> {
    return this.#host.execPipelineWith(commands, transaction, this.#route);
  }

  pipeline(commands?: unknown[][]): ChainableCommander {
    return newPipeline(this, false, commands);
  }

  multi(commands?: unknown[][]): ChainableCommander {
    return newPipeline(this, true, commands);
  }

  withReadFrom(readFrom: ReadFrom): FailoverRedisView {
    return new FailoverView(this.#host, withPolicy(this.#route, readFrom, this.#host.zone)) as unknown as FailoverRedisView;
  }

  withDurability(durability: DurabilitySettings): FailoverRedisView {
    return new FailoverView(this.#host, withDurability(this.#route, durability)) as unknown as FailoverRedisView;
  }
}

installCommands(FailoverView.prototype, ['multi', 'pipeline']);
