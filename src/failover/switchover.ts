import { setTimeout as sleep } from 'node:timers/promises';
import createDebug from 'debug';
import type { Redis } from 'ioredis';
import { FailoverRedisError, NoMasterError } from '../errors.js';
import { parseInfo, parseInfoReplication } from '../topology/info-parser.js';
import type { Address, NodeState, Topology } from '../topology/types.js';
import type { RoleChanger } from './actions.js';
import { electCandidate } from './election.js';

const debug = createDebug('redis-failover:failover');

export interface SwitchoverOptions {
  /** The replica to hand over to; by default the best one (priority, then offset, then address). */
  to?: string;
  /**
   * How long the old master may pause writes while the target catches up.
   * @default 5000
   */
  timeoutMs?: number;
}

export type SwitchoverMethod = 'failover-command' | 'pause-and-replicaof';

/** `switchover()`'s options as the client takes them; `method` applies without Sentinel only. */
export interface HandoverOptions extends SwitchoverOptions {
  /** @default 'pause-and-replicaof' */
  method?: SwitchoverMethod;
}

export interface SwitchoverResult {
  from: Address;
  to: Address;
  durationMs: number;
  /** `FAILOVER` (Redis ≥ 6.2), `CLIENT PAUSE` + `REPLICAOF` (older servers), or Sentinel's. */
  method: 'failover-command' | 'pause-and-replicaof' | 'sentinel-failover';
}

export class SwitchoverError extends FailoverRedisError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_FAILOVER_TIMEOUT', message, options);
  }
}

/** Pick and check the target: an up replica of the current master with its link up. */
export function switchoverTarget(topology: Topology, to: string | undefined): { master: NodeState; target: NodeState } {
  const master = topology.master;
  if (master === null || !master.up) throw new NoMasterError('switchover needs a reachable master; none is known');
  const followers = topology.replicas.filter(
    (r) => r.up && r.role === 'replica' && r.masterAddress === master.address && r.linkStatus === 'up' && !r.syncing && !r.loading,
  );
  if (to !== undefined) {
    const target = followers.find((r) => r.address === to);
    if (!target) throw new SwitchoverError(`switchover target ${to} is not an up-to-date replica of ${master.address}`);
    return { master, target };
  }
  const target = electCandidate(followers);
  if (target === null) throw new SwitchoverError(`switchover: ${master.address} has no replica that can take over`);
  return { master, target };
}

async function roleOf(conn: Redis): Promise<ReturnType<typeof parseInfoReplication>> {
  return parseInfoReplication((await conn.info('replication')) as string);
}

/**
 * A planned handover with no acknowledged write lost. The caller holds new writes before and
 * releases them after. By hand (the default): `CLIENT PAUSE … WRITE` on the master, wait for the
 * target's offset, `REPLICAOF NO ONE`, repoint the others and the old master, `CLIENT UNPAUSE`.
 * Or Redis's own `FAILOVER TO host port TIMEOUT ms` (≥ 6.2), which does the same, slower.
 */
export async function switchover(
  roles: RoleChanger,
  topology: Topology,
  options: SwitchoverOptions,
  method?: SwitchoverMethod,
): Promise<SwitchoverResult> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 5000;
  const { master, target } = switchoverTarget(topology, options.to);
  const masterConn = roles.pool.node(master).control();
  const targetConn = roles.pool.node(target).control();
  const version = parseInfo((await masterConn.info('server')) as string).redis_version;
  // `CLIENT PAUSE WRITE` + `REPLICAOF` is the default: on Redis 7.0, `FAILOVER TO` held writes
  // 0.5–0.7 s under a writer (its steps wait for the once-a-second replication cron), the manual
  // steps 5–15 ms, with the same guarantee (writes paused until the target has every byte).
  const chosen = method ?? 'pause-and-replicaof';
  debug('switchover %s → %s (%s, Redis %s)', master.address, target.address, chosen, version);
  const deadline = started + timeoutMs + 2000;

  if (chosen === 'failover-command') {
    const acks = roles.ackNudger(target);
    try {
      await roles.failoverTo(master, target, timeoutMs);
      // FAILOVER answers at once; the swap happens after the target acknowledges (asked for here,
      // again on each look until it is done). Done when the target says master.
      for (;;) {
        acks.nudge();
        const [old, next] = await Promise.all([roleOf(masterConn), roleOf(targetConn)]);
        if (next.role === 'master' && old.role === 'replica') break;
        if (old.role === 'master' && old.masterFailoverState === 'no-failover' && next.role !== 'master') {
          throw new SwitchoverError(`FAILOVER TO ${target.address} was aborted by ${master.address} (target did not catch up within ${timeoutMs} ms?)`);
        }
        if (performance.now() > deadline) throw new SwitchoverError(`switchover to ${target.address} did not finish within ${timeoutMs} ms`);
        await sleep(5);
      }
    } finally {
      acks.close();
    }
    // FAILOVER saves neither node's new role (REPLICAOF through RoleChanger does).
    roles.persist([master, target]);
    // FAILOVER swaps the two nodes only: the other replicas still follow the old master (now a
    // replica itself). Repoint them, as the runbook does.
    const others = topology.replicas.filter((r) => r.up && r.role === 'replica' && r.address !== target.address);
    await Promise.allSettled(others.map((r) => roles.follow(r, target)));
  } else {
    const others = topology.replicas.filter((r) => r.up && r.role === 'replica' && r.address !== target.address);
    await roles.pauseWrites(master, timeoutMs);
    try {
      const goal = (await roleOf(masterConn)).masterReplOffset ?? 0;
      for (;;) {
        const info = await roleOf(targetConn);
        if ((info.replicaReplOffset ?? 0) >= goal) break;
        if (performance.now() > deadline) throw new SwitchoverError(`${target.address} did not catch up with ${master.address} within ${timeoutMs} ms`);
        await sleep(5);
      }
      await roles.makeMaster(target);
      await roles.follow(master, target);
      await Promise.allSettled(others.map((r) => roles.follow(r, target)));
    } finally {
      await roles.unpause(master);
    }
  }
  return { from: master.address, to: target.address, durationMs: Math.round(performance.now() - started), method: chosen };
}
