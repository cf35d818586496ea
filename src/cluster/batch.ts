import type { Command } from 'ioredis';
import { classOf, cloneCommand, pipelineConnectionLoss, unsentResult, type ViewRoute } from '../dispatch/attempt.js';
import { judge } from '../dispatch/judge.js';
import { MaybeAppliedError, NotReplicatedError } from '../errors.js';
import { batchChannel, BatchTrace, traceBatch } from '../observability/channels.js';
import type { DurabilitySettings } from '../options-types.js';
import { READ, WRITE } from '../routing/classify.js';
import { ClusterSend, MAX_REDIRECTS } from './attempt.js';
import type { ClusterDispatcher } from './dispatcher.js';
import type { ClusterProgress } from './progress.js';

/**
 * A `pipeline()` or `multi()` whose keys share one slot: routed like a single command (a batch of
 * reads by the read policy, anything else to the shard master), held while its shard has no
 * usable master, and judged by `judge()` when its connection dies. Run through a real ioredis
 * pipeline on the chosen node's connection: same wire format, same `[[err, result], …]` shape.
 */
class ClusterBatch extends ClusterSend {
  /** `durability` of the client or view, for a batch that writes: one WAIT right behind it. */
  readonly durability: DurabilitySettings | null;

  constructor(
    readonly d: ClusterDispatcher,
    readonly commands: Command[],
    readonly transaction: boolean,
    slot: number,
    view: ViewRoute,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: Error) => void,
  ) {
    super(transaction ? 'exec' : 'pipeline', !transaction && commands.every((c) => classOf(c).kind === 'read') ? READ : WRITE, slot, view.policy);
    this.durability = this.cls.readOnly ? null : view.durability;
  }

  retry(): boolean {
    return tryBatch(this);
  }
  /** Never sent: as ioredis (and FailoverRedis), a pipeline resolves with the error for each command, a transaction rejects. */
  fail(error: Error): void {
    if (this.transaction) this.reject(error);
    else this.resolve(unsentResult(this.commands, error));
  }
  need(progress: ClusterProgress): number {
    let need = 0;
    for (const c of this.commands) need = Math.max(need, progress.needed(c));
    return need;
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
  const conn = d.place(b);
  if (conn === null) return false;
  if (conn === undefined) return true;
  const address = b.sentTo!;
  b.tries++;
  b.reason = null;
  d.count(address, 'sent');
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
  if (first !== null) d.count(b.sentTo ?? '?', 'errors');
  const applied = lost === null && !(first !== null && /^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN|EXECABORT)/.test(first.message) && !partlyApplied(result));
  for (const w of writes) d.progress!.settled(w, applied);
  const m = first?.message ?? '';
  const moved = /^MOVED (\d+) (\S+)$/.exec(m) ?? /MOVED (\d+) (\S+)/.exec(String((first as { previousErrors?: Error[] } | null)?.previousErrors?.[0]?.message ?? ''));
  if (lost === null && moved && !partlyApplied(result) && b.redirects < MAX_REDIRECTS) {
    // No command of the batch ran (they share one slot, and the slot is elsewhere): send it there.
    d.redirected(b, 'MOVED', moved[1]!, moved[2]!);
    return;
  }
  b.redirect = null;
  if (lost === null && /^(CLUSTERDOWN|TRYAGAIN)/.test(m) && !partlyApplied(result)) {
    d.clusterDown(b, m);
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
