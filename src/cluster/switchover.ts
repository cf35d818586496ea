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
 * `to` reports `role:master` (`durationMs` up to then) and the watcher's picture shows it serving
 * the slots, so that the client has seen, and reported, the change by then.
 */
export async function clusterSwitchover(watcher: ClusterWatcher, from: Address, options: ClusterSwitchoverOptions): Promise<ClusterSwitchoverResult> {
  const began = performance.now();
  const timeoutMs = options.timeoutMs ?? 5000;
  const conn = watcher.control(options.to);
  await conn.call('CLUSTER', 'FAILOVER');
  while (performance.now() - began < timeoutMs) {
    const role = roleOffset(await conn.call('ROLE').catch(() => null));
    if (role.role === 'master') {
      const durationMs = Math.round(performance.now() - began);
      await pictureShows(watcher, options.to, began + timeoutMs);
      return { from, to: options.to, durationMs };
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new ClusterSwitchoverError(`${options.to} did not become master within ${timeoutMs} ms after CLUSTER FAILOVER`);
}

/**
 * Read the cluster until `CLUSTER SHARDS` shows `master` serving slots, or `deadline` passed: the
 * node that answers learns of the takeover by gossip, a moment after the new master itself.
 */
async function pictureShows(watcher: ClusterWatcher, master: Address, deadline: number): Promise<void> {
  while (performance.now() < deadline) {
    const t = await watcher.refresh().catch(() => null);
    if (t?.shards.some((s) => s.master?.address === master && s.slots.length > 0)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}
