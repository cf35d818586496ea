import type { Command, Redis } from 'ioredis';
import { classOf, cloneCommand, pipelineConnectionLoss, waitError, type ViewRoute } from '../dispatch/attempt.js';
import type { Holdable } from '../dispatch/hold-queue.js';
import { judge, type AttemptFacts } from '../dispatch/judge.js';
import { MaybeAppliedError, NoMasterError, NotReplicatedError } from '../errors.js';
import { batchChannel, BatchTrace, traceBatch } from '../observability/channels.js';
import type { DurabilitySettings } from '../options-types.js';
import { READ, WRITE, type CommandClass } from '../routing/classify.js';
import type { ReadPolicy } from '../routing/read-policy.js';
import type { WaitReason } from '../routing/route.js';
import type { Address } from '../topology/types.js';
import type { ClusterDispatcher } from './dispatcher.js';

/** MOVED followed for one batch before its results are passed on. */
const MAX_REDIRECTS = 5;
const CLUSTER_RETRY_MS = 50;

/**
 * A `pipeline()` or `multi()` whose keys share one slot: routed like a single command (a batch of
 * reads by the read policy, anything else to the shard master), held while its shard has no
 * usable master, and judged by `judge()` when its connection dies. Run through a real ioredis
 * pipeline on the chosen node's connection: same wire format, same `[[err, result], …]` shape.
 */
class ClusterBatch implements Holdable, AttemptFacts {
  readonly name: string;
  readonly cls: CommandClass;
  readonly pinned = false;
  policy: ReadPolicy;
  atMaster = false;
  tries = 0;
  redirects = 0;
  redirect: Address | null = null;
  retryAt = 0;
  reason: WaitReason | 'cluster-down' | null = null;
  sentTo: Address | null = null;
  /** `durability` of the client or view, for a batch that writes: one WAIT right behind it. */
  readonly durability: DurabilitySettings | null;
  trace: BatchTrace | null = null;

  constructor(
    readonly d: ClusterDispatcher,
    readonly commands: Command[],
    readonly transaction: boolean,
    readonly slot: number,
    view: ViewRoute,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: Error) => void,
  ) {
    this.name = transaction ? 'exec' : 'pipeline';
    this.cls = !transaction && commands.every((c) => classOf(c).kind === 'read') ? READ : WRITE;
    this.policy = view.policy;
    this.durability = this.cls.readOnly ? null : view.durability;
  }

  get readOnly(): boolean {
    return this.cls.readOnly;
  }
  retry(): boolean {
    return tryBatch(this);
  }
  fail(error: Error): void {
    this.reject(error);
  }
  waitCause(): Error | undefined {
    if (this.reason === 'cluster-down') return new NoMasterError(`the cluster reports CLUSTERDOWN for slot ${this.slot}`);
    return waitError(this.reason, this.sentTo, null);
  }
}

/** Send a one-slot batch through the cluster dispatcher; resolves with ioredis's `exec()` result. */
export function sendBatch(d: ClusterDispatcher, commands: Command[], transaction: boolean, slot: number, view: ViewRoute): Promise<unknown> {
  const run = (trace: BatchTrace | null): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const b = new ClusterBatch(d, commands, transaction, slot, view, resolve, reject);
      b.trace = trace;
      if (!tryBatch(b)) d.hold(b);
    });
  if (!batchChannel.hasSubscribers) return run(null);
  const trace = new BatchTrace(transaction, commands, view.policy.name);
  return traceBatch(trace, () => run(trace));
}

function tryBatch(b: ClusterBatch): boolean {
  const d = b.d;
  let conn: Redis | null;
  let address: Address;
  if (b.redirect !== null) {
    conn = d.redirectConnection(b.redirect);
    if (conn === null) return false;
    address = b.redirect;
    b.atMaster = true;
  } else {
    if (b.retryAt > performance.now()) return false;
    const progress = d.progress;
    const need = (): number => (progress === null ? 0 : Math.max(0, ...b.commands.map((c) => progress.needed(c))));
    const { decision, master } = d.decide(b.slot, b.cls, b.policy, need);
    if (decision.kind === 'fail') {
      b.reject(decision.error);
      return true;
    }
    if (decision.kind === 'wait') {
      b.reason = decision.reason;
      b.sentTo = master;
      return false;
    }
    address = decision.target.address;
    conn = d.connectionOf(address);
    b.atMaster = address === master;
  }
  b.tries++;
  b.sentTo = address;
  b.reason = null;
  d.countSent(address);
  b.trace?.sent(address, b.atMaster, b.tries);
  // A fresh copy per send: a command object settles once.
  const batch = b.commands.map(cloneCommand);
  const writes = d.trackWrites ? batch.filter((c) => classOf(c).writesData) : [];
  for (const w of writes) d.progress!.sending(w);
  const real = (b.transaction ? conn.multi() : conn.pipeline()) as unknown as { sendCommand(c: Command): void; exec(): Promise<unknown> };
  for (const c of batch) real.sendCommand(c);
  const executed = real.exec();
  // Counted on the same connection, right behind the batch: the replicas that have all of it.
  const waited = b.durability === null ? null : conn.call('WAIT', b.durability.replicas, b.durability.timeoutMs).then(Number, () => 0);
  executed.then(
    (result) => settled(b, result, writes, null, waited),
    (error: Error) => settled(b, null, writes, error, null),
  );
  return true;
}

function settled(b: ClusterBatch, result: unknown, writes: Command[], error: Error | null, waited: Promise<number> | null): void {
  const d = b.d;
  const lost = error !== null && pipelineConnectionLoss([[error]]) !== null ? error : pipelineConnectionLoss(result);
  const first = firstError(result) ?? error;
  if (first !== null) d.countError(b.sentTo ?? '?');
  const applied = lost === null && !(first !== null && /^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN|EXECABORT)/.test(first.message) && !partlyApplied(result));
  for (const w of writes) d.progress!.settled(w, applied);
  const m = first?.message ?? '';
  const moved = /^MOVED (\d+) (\S+)$/.exec(m) ?? /MOVED (\d+) (\S+)/.exec(String((first as { previousErrors?: Error[] } | null)?.previousErrors?.[0]?.message ?? ''));
  if (lost === null && moved && !partlyApplied(result) && b.redirects < MAX_REDIRECTS) {
    // No command of the batch ran (they share one slot, and the slot is elsewhere): send it there.
    b.redirects++;
    b.redirect = moved[2]!;
    d.stale(`MOVED ${moved[1]} ${moved[2]}`);
    if (!tryBatch(b)) d.hold(b);
    return;
  }
  b.redirect = null;
  if (lost === null && /^(CLUSTERDOWN|TRYAGAIN)/.test(m) && !partlyApplied(result)) {
    b.reason = 'cluster-down';
    b.retryAt = performance.now() + CLUSTER_RETRY_MS - 1;
    d.hold(b);
    d.retrySoon();
    d.stale(m.split(' ')[0]!);
    return;
  }
  if (lost !== null) {
    d.lost(b.sentTo ?? '?');
    switch (judge(lost, b)) {
      case 'resend-read':
        if (!tryBatch(b)) d.hold(b);
        return;
      case 'maybe-applied':
        b.reject(new MaybeAppliedError(b.name, b.sentTo ?? '?', { cause: lost }));
        return;
      default:
        break;
    }
  }
  if (error !== null) b.reject(error);
  else if (b.durability === null || waited === null) b.resolve(result);
  else {
    const { replicas, timeoutMs } = b.durability;
    void waited.then((acks) => (acks < replicas ? b.reject(new NotReplicatedError(b.name, acks, replicas, timeoutMs)) : b.resolve(result)));
  }
}

/** The first error among a pipeline's results, or null. */
function firstError(result: unknown): Error | null {
  if (!Array.isArray(result)) return null;
  for (const entry of result) if (Array.isArray(entry) && entry[0] instanceof Error) return entry[0];
  return null;
}

/** Some command of the batch succeeded: it ran, so the batch cannot simply be sent again. */
function partlyApplied(result: unknown): boolean {
  return Array.isArray(result) && result.some((entry) => Array.isArray(entry) && entry[0] === null);
}
