import { FailoverRedisError } from '../errors.js';
import { roleOffset } from '../consistency/offset-sampler.js';
import type { Address } from '../topology/types.js';
import type { ClusterWatcher } from './watcher.js';

export interface ClusterSwitchoverOptions {
  /** The replica to hand the shard's slots to. */
  to: Address;
  /** How long to wait for it to report `role:master`. @default 5000 */
  timeoutMs?: number;
}

export interface ClusterSwitchoverResult {
  from: Address;
  to: Address;
  durationMs: number;
}

/** `CLUSTER FAILOVER` did not make the replica a master within `timeoutMs`. */
export class ClusterSwitchoverError extends FailoverRedisError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_FAILOVER_TIMEOUT', message, options);
  }
}

/**
 * The cluster's manual failover: `CLUSTER FAILOVER` on the replica, which pauses its master's
 * clients, catches up to its offset and takes over — nothing acknowledged is lost. Resolves once
 * `to` reports `role:master`.
 */
export async function clusterSwitchover(watcher: ClusterWatcher, from: Address, options: ClusterSwitchoverOptions): Promise<ClusterSwitchoverResult> {
  const began = performance.now();
  const timeoutMs = options.timeoutMs ?? 5000;
  const conn = watcher.control(options.to);
  await conn.call('CLUSTER', 'FAILOVER');
  while (performance.now() - began < timeoutMs) {
    const role = roleOffset(await conn.call('ROLE').catch(() => null));
    if (role.role === 'master') return { from, to: options.to, durationMs: Math.round(performance.now() - began) };
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new ClusterSwitchoverError(`${options.to} did not become master within ${timeoutMs} ms after CLUSTER FAILOVER`);
}
