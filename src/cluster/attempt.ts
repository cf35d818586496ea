import type { Command } from 'ioredis';
import { waitError, type ViewRoute } from '../dispatch/attempt.js';
import type { Holdable } from '../dispatch/hold-queue.js';
import type { AttemptFacts } from '../dispatch/judge.js';
import { NoMasterError } from '../errors.js';
import type { CommandTrace } from '../observability/channels.js';
import type { CommandClass } from '../routing/classify.js';
import type { ReadPolicy } from '../routing/read-policy.js';
import type { WaitReason } from '../routing/route.js';
import type { Address } from '../topology/types.js';
import type { ClusterDispatcher } from './dispatcher.js';
import type { ClusterProgress } from './progress.js';

/** MOVED/ASK followed for one command or batch before its error is passed on (ioredis: 16). */
export const MAX_REDIRECTS = 5;
/** CLUSTERDOWN/TRYAGAIN: nothing was applied; try again after this long. */
export const CLUSTER_RETRY_MS = 50;

/**
 * What a single command and a one-slot batch share on their way through the cluster: plain
 * fields, placed by `ClusterDispatcher#place()`, judged by `judge()`.
 */
export abstract class ClusterSend implements Holdable, AttemptFacts {
  readonly pinned = false;
  policy: ReadPolicy;
  atMaster = false;
  tries = 0;
  redirects = 0;
  /** MOVED/ASK: the next send goes there (ASK: after ASKING). */
  redirect: { address: Address; asking: boolean } | null = null;
  /** -READONLY from this node: wait for a master that is another one. */
  notAt: Address | null = null;
  sentTo: Address | null = null;
  reason: WaitReason | 'cluster-down' | null = null;
  /** CLUSTERDOWN/TRYAGAIN: not before this time (performance.now()). */
  retryAt = 0;
  /** Its context on `redis-failover:command` or `:batch`, when that channel has subscribers. */
  trace: CommandTrace | null = null;

  constructor(
    readonly name: string,
    readonly cls: CommandClass,
    readonly slot: number,
    policy: ReadPolicy,
  ) {
    this.policy = policy;
  }

  get readOnly(): boolean {
    return this.cls.readOnly;
  }

  abstract retry(): boolean;
  abstract fail(error: Error): void;
  /** The write sequence a replica must have applied to serve these reads (read-your-writes). */
  abstract need(progress: ClusterProgress): number;

  waitCause(): Error | undefined {
    if (this.reason === 'cluster-down') return new NoMasterError(`the cluster reports CLUSTERDOWN for slot ${this.slot}`);
    return waitError(this.reason, this.sentTo, null);
  }
}

/** One command on its way through the cluster. */
export class ClusterAttempt extends ClusterSend {
  tracked = false;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;

  constructor(
    readonly d: ClusterDispatcher,
    readonly cmd: Command,
    cls: CommandClass,
    slot: number,
    readonly view: ViewRoute,
  ) {
    super(cmd.name, cls, slot, view.policy);
    this.resolve = cmd.resolve;
    this.reject = cmd.reject;
  }

  retry(): boolean {
    return this.d.tryAttempt(this);
  }
  fail(error: Error): void {
    this.reject(error);
  }
  need(progress: ClusterProgress): number {
    return progress.needed(this.cmd);
  }
}
