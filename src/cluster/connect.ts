import type { Cluster as IoCluster } from 'ioredis';
import { FailoverRedisError, NoMasterError, NoNodeError } from '../errors.js';
import { isAuthError } from '../failover/signals.js';
import { slotTable, uncoveredRanges } from './topology.js';
import type { ClusterWatcher } from './watcher.js';

/**
 * Read the cluster until every slot is served: resolves then, or throws what stood in the way
 * once `deadline` passed or `connecting()` turned false. A wrong password (`AuthError`) or seeds
 * that are not cluster members (`NotClusterError`: a plain master, a Sentinel) throw at once;
 * `seen` hears each reason to wait (uncovered slots), so a timeout can name it.
 */
export async function discoverCluster(watcher: ClusterWatcher, deadline: number, connecting: () => boolean, seen: (reason: Error) => void): Promise<void> {
  let lastError: unknown;
  while (performance.now() < deadline && connecting()) {
    try {
      const gaps = uncoveredRanges(slotTable(await watcher.refresh()));
      if (gaps.length === 0) return;
      lastError = new NoMasterError(`the cluster does not cover every slot: no master serves ${gaps.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(', ')}`);
      seen(lastError as Error);
    } catch (error) {
      // Only "no node answered yet" is waited out; a mistake (credentials, seeds that are not
      // cluster members: a NoNodeError subclass) or anything else is thrown at once.
      if (!(error instanceof NoNodeError) || error.constructor !== NoNodeError) throw error;
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw lastError ?? new NoNodeError('no cluster node answered');
}

/** ioredis's Cluster ready (a keyless command may have started its connect already). */
export function ioClusterReady(io: IoCluster): Promise<void> {
  if (io.status === 'ready') return Promise.resolve();
  if (io.status === 'wait') return io.connect();
  return new Promise((resolve, reject) => {
    io.once('ready', resolve);
    io.once('end', () => reject(new NoNodeError('the ioredis Cluster connection ended before it was ready')));
  });
}

/**
 * Run `steps` in order within `budgetMs`; past it, rejects with the last reason `lastReason()`
 * gave (uncovered slots, say, says more than the time it took), else a timeout naming the budget.
 */
export async function withinBudget(budgetMs: number, steps: ReadonlyArray<() => Promise<void>>, lastReason: () => Error | null): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(lastReason() ?? new NoNodeError(`the cluster was not ready within ${budgetMs} ms (connectTimeout + commandTimeoutMs)`)), budgetMs);
  });
  try {
    for (const step of steps) await Promise.race([step(), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A failed connect as a coded error: ours as it is, a refused password or anything else as `NoNodeError`. */
export function connectError(error: unknown): FailoverRedisError {
  if (error instanceof FailoverRedisError) return error;
  const message = isAuthError(error) ? `the cluster refused the credentials: ${(error as Error).message}` : (error as Error).message;
  return new NoNodeError(message, { cause: error });
}
