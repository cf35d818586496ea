import createDebug from 'debug';
import type { Redis } from 'ioredis';
import { FailoverRedisError } from '../errors.js';
import type { NodePool } from '../pool/node-pool.js';
import type { NodeState } from '../topology/types.js';

const debug = createDebug('redis-failover:failover');

/**
 * The runbook's steps, and the only place this library changes a server's role (`REPLICAOF`,
 * `FAILOVER`, `SENTINEL FAILOVER`, and the write pause around a handover). Each `REPLICAOF` step
 * is idempotent: `REPLICAOF NO ONE` on a master and `REPLICAOF h p` on a replica already following
 * h:p are no-ops for Redis, so several clients acting at once converge.
 */
export class PromotionError extends FailoverRedisError {
  readonly address: string;
  constructor(address: string, step: string, cause: unknown) {
    const reason = (cause as Error)?.message ?? String(cause);
    const permission = /NOPERM/.test(reason) ? ' (the ACL user needs permission for REPLICAOF)' : '';
    super('ERR_PROMOTION_FAILED', `${step} on ${address} failed: ${reason}${permission}`, { cause });
    this.address = address;
  }
}

function control(pool: NodePool, node: NodeState): Redis {
  return pool.node(node).control();
}

async function run(pool: NodePool, node: NodeState, step: string, args: (string | number)[]): Promise<void> {
  debug('%s: %s', node.address, step);
  try {
    await control(pool, node).call('REPLICAOF', ...args);
  } catch (error) {
    throw new PromotionError(node.address, step, error);
  }
}

/** `REPLICAOF NO ONE` on the candidate. */
export function makeMaster(pool: NodePool, candidate: NodeState): Promise<void> {
  return run(pool, candidate, 'REPLICAOF NO ONE', ['NO', 'ONE']);
}

/** `REPLICAOF <master>` on one node (a replica to repoint, or an old master to demote). */
export function follow(pool: NodePool, node: NodeState, master: NodeState): Promise<void> {
  return run(pool, node, `REPLICAOF ${master.address}`, [master.host, master.port]);
}

/**
 * Promote `candidate` and repoint every other reachable replica to it. Repointing failures do
 * not undo the promotion: the next refresh sees the stragglers and repoints them again.
 */
export async function promote(pool: NodePool, candidate: NodeState, others: readonly NodeState[]): Promise<void> {
  await makeMaster(pool, candidate);
  const results = await Promise.allSettled(others.filter((r) => r.up && r.address !== candidate.address).map((r) => follow(pool, r, candidate)));
  for (const result of results) if (result.status === 'rejected') debug('repoint failed: %s', (result.reason as Error).message);
}

/** `FAILOVER TO <target> TIMEOUT <ms>` on the master (Redis ≥ 6.2): it answers at once, the swap follows. */
export async function failoverTo(pool: NodePool, master: NodeState, target: NodeState, timeoutMs: number): Promise<void> {
  debug('%s: FAILOVER TO %s', master.address, target.address);
  try {
    await control(pool, master).call('FAILOVER', 'TO', target.host, target.port, 'TIMEOUT', timeoutMs);
  } catch (error) {
    throw new PromotionError(master.address, 'FAILOVER', error);
  }
}

/**
 * `CLIENT PAUSE <ms> WRITE` on the master, so that the target can catch up. Redis < 6.2 has no
 * `WRITE` mode: the pause then covers all commands.
 */
export async function pauseWrites(pool: NodePool, master: NodeState, ms: number): Promise<void> {
  const conn = control(pool, master);
  await conn.call('CLIENT', 'PAUSE', ms, 'WRITE').catch(() => conn.call('CLIENT', 'PAUSE', ms));
}

/** `CLIENT UNPAUSE`; a failure is ignored (the pause ends by itself at its timeout). */
export async function unpause(pool: NodePool, master: NodeState): Promise<void> {
  await control(pool, master)
    .call('CLIENT', 'UNPAUSE')
    .catch(() => undefined);
}

/** `SENTINEL FAILOVER <name>` on one Sentinel: Sentinel elects, promotes and repoints by itself. */
export async function sentinelFailover(sentinel: Redis, name: string): Promise<void> {
  debug('SENTINEL FAILOVER %s', name);
  await sentinel.call('SENTINEL', ['FAILOVER', name]);
}
