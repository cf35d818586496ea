import createDebug from 'debug';
import type { Redis } from 'ioredis';
import { FailoverRedisError } from '../errors.js';
import type { WarningEvent } from '../events.js';
import type { NodePool } from '../pool/node-pool.js';
import type { Address, NodeState } from '../topology/types.js';

const debug = createDebug('redis-failover:failover');

/**
 * A role change that failed. `notPermitted`: this user may not run the command at all (`NOPERM`),
 * or the server does not know it (renamed or disabled, as managed services do): retrying will not
 * help, and the client follows whoever else promotes.
 */
export class PromotionError extends FailoverRedisError {
  readonly address: string;
  readonly notPermitted: boolean;
  constructor(address: string, step: string, cause: unknown) {
    const reason = (cause as Error)?.message ?? String(cause);
    const notPermitted = isRefusedForRights(cause);
    const permission = /NOPERM/.test(reason) ? ` (the ACL user needs permission for ${step.split(' ')[0]})` : '';
    super('ERR_PROMOTION_FAILED', `${step} on ${address} failed: ${reason}${permission}`, { cause });
    this.address = address;
    this.notPermitted = notPermitted;
  }
}

/**
 * `NOPERM` (the ACL forbids it), or an unknown command (`rename-command REPLICAOF ""`, or a managed
 * service that hides it): the same answer comes every time.
 */
export function isRefusedForRights(error: unknown): boolean {
  const message = (error as Error)?.message ?? '';
  return /^NOPERM\b|^ERR unknown command\b|^ERR unknown subcommand\b/.test(message);
}

/** `REPLCONF GETACK *` in the protocol: written raw, since Redis sends no reply to it. */
const GETACK = '*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n';

/** Where a role change that could not be saved to the node's config file is told. */
export type RoleWarningSink = (warning: WarningEvent) => void;

/**
 * The runbook's steps, and the only place this library changes a server's role (`REPLICAOF`,
 * `FAILOVER`, `SENTINEL FAILOVER`, and the write pause around a handover). Each `REPLICAOF` step
 * is idempotent: `REPLICAOF NO ONE` on a master and `REPLICAOF h p` on a replica already following
 * h:p are no-ops for Redis, so several clients acting at once converge.
 *
 * Every role change is followed by `CONFIG REWRITE`, as Sentinel does: without it a node started
 * from a config file (or a unit with `--replicaof`) comes back from a restart with its old role,
 * and two nodes that each follow the other leave the set with no master. A node that cannot save
 * (no config file, or no right to) gets one warning, not a failure: its role is right until it restarts.
 */
export class RoleChanger {
  readonly pool: NodePool;
  #warn: RoleWarningSink;
  #warned = new Set<Address>();

  constructor(pool: NodePool, warn: RoleWarningSink) {
    this.pool = pool;
    this.#warn = warn;
  }

  /** `REPLICAOF NO ONE` on the candidate. */
  makeMaster(candidate: NodeState): Promise<void> {
    return this.#replicaof(candidate, 'REPLICAOF NO ONE', ['NO', 'ONE']);
  }

  /** `REPLICAOF <master>` on one node (a replica to repoint, or an old master to demote). */
  follow(node: NodeState, master: NodeState): Promise<void> {
    return this.#replicaof(node, `REPLICAOF ${master.address}`, [master.host, master.port]);
  }

  /**
   * Promote `candidate` and repoint every other reachable node to it. Repointing failures do not
   * undo the promotion: the next refresh sees the stragglers and repoints them again.
   */
  async promote(candidate: NodeState, others: readonly NodeState[]): Promise<void> {
    await this.makeMaster(candidate);
    const results = await Promise.allSettled(others.filter((r) => r.up && r.address !== candidate.address).map((r) => this.follow(r, candidate)));
    for (const result of results) if (result.status === 'rejected') debug('repoint failed: %s', (result.reason as Error).message);
  }

  /** `FAILOVER TO <target> TIMEOUT <ms>` on the master (Redis ≥ 6.2): it answers at once, the swap follows. */
  async failoverTo(master: NodeState, target: NodeState, timeoutMs: number): Promise<void> {
    debug('%s: FAILOVER TO %s', master.address, target.address);
    try {
      await this.#control(master).call('FAILOVER', 'TO', target.host, target.port, 'TIMEOUT', timeoutMs);
    } catch (error) {
      throw new PromotionError(master.address, 'FAILOVER', error);
    }
  }

  /**
   * Makes `replica` acknowledge its offset to its master now. `FAILOVER` hands over only once the
   * target has acknowledged the master's whole stream, and while it pauses writes the master asks
   * for no acknowledgement: left alone, the target's own once-a-second acknowledgement decides,
   * and the handover waits up to a second. `REPLCONF GETACK *` sent to the replica makes it
   * acknowledge at once, whoever asks; it has no reply, so it goes raw on a connection of its own
   * (leased here, discarded by `close()`), never on one whose replies are counted. Where it is
   * refused, the refusal arrives on that connection only, and the handover takes Redis's time.
   */
  ackNudger(replica: NodeState): { nudge(): void; close(): void } {
    const node = this.pool.node(replica);
    let conn: Redis | null = null;
    try {
      conn = node.lease('blocking');
      conn.on('error', () => undefined);
    } catch {
      // The pool is closing: no nudge.
    }
    return {
      nudge: () => {
        if (conn?.status === 'ready') conn.stream.write(GETACK);
      },
      close: () => {
        if (conn !== null) node.release(conn, false);
        conn = null;
      },
    };
  }

  /** After `FAILOVER` (which does not save roles): save both nodes' new roles. */
  persist(nodes: readonly NodeState[]): void {
    for (const node of nodes) this.#rewrite(node);
  }

  /**
   * `CLIENT PAUSE <ms> WRITE` on the master, so that the target can catch up. Redis < 6.2 has no
   * `WRITE` mode: the pause then covers all commands.
   */
  async pauseWrites(master: NodeState, ms: number): Promise<void> {
    const conn = this.#control(master);
    await conn.call('CLIENT', 'PAUSE', ms, 'WRITE').catch(() => conn.call('CLIENT', 'PAUSE', ms));
  }

  /** `CLIENT UNPAUSE`; a failure is ignored (the pause ends by itself at its timeout). */
  async unpause(master: NodeState): Promise<void> {
    await this.#control(master)
      .call('CLIENT', 'UNPAUSE')
      .catch(() => undefined);
  }

  #control(node: NodeState): Redis {
    return this.pool.node(node).control();
  }

  async #replicaof(node: NodeState, step: string, args: (string | number)[]): Promise<void> {
    debug('%s: %s', node.address, step);
    try {
      await this.#control(node).call('REPLICAOF', ...args);
    } catch (error) {
      throw new PromotionError(node.address, step, error);
    }
    // Not awaited: the role is in place now, and saving it must not hold the writes waiting for
    // it. Queued behind REPLICAOF on the same connection, so it saves this role, not an older one.
    this.#rewrite(node);
  }

  #rewrite(node: NodeState): void {
    this.#control(node)
      .call('CONFIG', 'REWRITE')
      .then(() => this.#warned.delete(node.address))
      .catch((error: Error) => {
        debug('%s: CONFIG REWRITE failed: %s', node.address, error.message);
        if (this.#warned.has(node.address)) return;
        this.#warned.add(node.address);
        this.#warn({ code: 'CONFIG_NOT_PERSISTED', address: node.address, message: notPersistedMessage(node.address, error) });
      });
  }
}

function notPersistedMessage(address: Address, error: Error): string {
  const why = /without a config file/i.test(error.message)
    ? 'it runs without a config file'
    : isRefusedForRights(error)
      ? 'this user may not run CONFIG REWRITE'
      : `CONFIG REWRITE failed: ${error.message}`;
  return (
    `the role this client gave ${address} is not saved (${why}): if it restarts with its original replicaof, it comes back with its old role. ` +
    'Start it from a config file Redis may rewrite, or without replicaof on its command line.'
  );
}

/** `SENTINEL FAILOVER <name>` on one Sentinel: Sentinel elects, promotes and repoints by itself. */
export async function sentinelFailover(sentinel: Redis, name: string): Promise<void> {
  debug('SENTINEL FAILOVER %s', name);
  await sentinel.call('SENTINEL', ['FAILOVER', name]);
}
