/**
 * OpenTelemetry spans from FailoverRedis's tracing channel, without touching the client: a
 * subscriber to `redis-failover:command` opens a span at `start` and ends it at `asyncEnd`,
 * with the node, role, attempts and time held as attributes; `redis-failover:failover` becomes
 * a span of its own. Spans go to the SDK's in-memory exporter (swap in an OTLP exporter in a real
 * service). A writer and a reader run, the master is killed, and the spans around the failover
 * are printed.
 * Run: npx tsx examples/opentelemetry.ts
 */
import diagnostics_channel from 'node:diagnostics_channel';
import { SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { COMMAND_CHANNEL, FAILOVER_CHANNEL, FailoverRedis, type CommandContext, type FailoverEvent } from 'redis-failover';
import { startReplicaSet } from 'redis-failover/testing';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- the tracer and where its spans go
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
trace.setGlobalTracerProvider(provider);
const tracer = trace.getTracer('redis-failover-example');

// ---- the channel, as spans: one per application command (never the client's own INFO/PING)
const spans = new WeakMap<CommandContext, Span>();
diagnostics_channel.tracingChannel<CommandContext, CommandContext>(COMMAND_CHANNEL).subscribe({
  start(ctx) {
    spans.set(ctx, tracer.startSpan(`redis ${ctx.command}`, { kind: SpanKind.CLIENT, attributes: { 'db.system': 'redis', 'db.operation.name': ctx.command } }));
  },
  end() {},
  asyncStart() {},
  error(ctx) {
    const span = spans.get(ctx);
    const error = ctx.error as Error & { code?: string };
    span?.recordException(error);
    span?.setStatus({ code: SpanStatusCode.ERROR, message: error.code ?? error.message });
  },
  asyncEnd(ctx) {
    const span = spans.get(ctx);
    if (span === undefined) return;
    span.setAttributes({
      'server.address': ctx.node ?? 'none',
      'redis_failover.role': ctx.role ?? 'none',
      'redis_failover.read_from': ctx.readFrom,
      'redis_failover.attempts': ctx.attempts,
      'redis_failover.held_ms': Math.round(ctx.heldMs),
    });
    span.end();
  },
});
diagnostics_channel.subscribe(FAILOVER_CHANNEL, (message) => {
  const e = message as FailoverEvent;
  const now = Date.now();
  tracer
    .startSpan(`redis failover ${e.from} -> ${e.to}`, { startTime: now - e.durationMs, attributes: { 'redis_failover.reason': e.reason } })
    .end(now);
});

// ---- the application
const set = await startReplicaSet({ replicas: 2 });
const redis = new FailoverRedis({ nodes: [set.master], readFrom: 'replicaPreferred', consistency: 'eventual', failover: { downAfterMs: 1000 } });
redis.on('error', () => undefined); // connection errors during the failover: the spans show them
let running = true;
try {
  await redis.connect();
  const loop = (step: () => Promise<unknown>) =>
    (async () => {
      while (running) {
        await step().catch(() => undefined);
        await sleep(20);
      }
    })();
  const loops = [loop(() => redis.incr('otel:count')), loop(() => redis.get('otel:count'))];
  const failover = new Promise<FailoverEvent>((resolve) => redis.once('failover', resolve));
  await sleep(300);
  const oldMaster = set.master;
  const killedAt = Date.now();
  await set.kill(oldMaster);
  let timer: NodeJS.Timeout | undefined;
  const event = await Promise.race([
    failover,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no failover within 15 s')), 15_000))),
  ]).finally(() => clearTimeout(timer));
  console.log(`killed the master ${oldMaster}; failover to ${event.to} in ${event.durationMs} ms`);
  await sleep(300);
  running = false;
  await Promise.all(loops);

  // ---- the spans of the failover: the failover itself, and every command that ended after the kill
  // until writes flowed again, plus one plain read and write on either side for comparison
  const finished = exporter.getFinishedSpans();
  const ms = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;
  const line = (s: ReadableSpan) => {
    const a = s.attributes;
    const status = s.status.code === SpanStatusCode.ERROR ? `ERROR ${s.status.message}` : 'OK';
    const where = a['server.address'] === undefined ? '' : ` node=${a['server.address']} role=${a['redis_failover.role']} attempts=${a['redis_failover.attempts']} heldMs=${a['redis_failover.held_ms']}`;
    return `  +${String(Math.round(ms(s.startTime) - killedAt)).padStart(5)} ms ${String(Math.round(ms(s.duration))).padStart(5)} ms  ${s.name}${where} ${status}`;
  };
  console.log(`spans: ${finished.length}`);
  const failoverSpan = finished.find((s) => s.name.startsWith('redis failover'));
  if (failoverSpan) console.log(`failover span: ${failoverSpan.name} (${Math.round(ms(failoverSpan.duration))} ms, ${failoverSpan.attributes['redis_failover.reason']})`);
  const around = finished.filter((s) => {
    const end = ms(s.endTime);
    return !s.name.startsWith('redis failover') && end >= killedAt && (s.status.code === SpanStatusCode.ERROR || Number(s.attributes['redis_failover.held_ms']) > 0 || Number(s.attributes['redis_failover.attempts']) > 1);
  });
  const before = finished.filter((s) => ms(s.endTime) < killedAt);
  const after = finished.filter((s) => ms(s.startTime) > killedAt + event.durationMs + 100);
  console.log('spans around the kill (time since the kill, duration):');
  for (const s of [...before.slice(-2), ...around, ...after.slice(0, 2)]) console.log(line(s));
} finally {
  running = false;
  await redis.quit();
  await set.stop();
  await provider.shutdown();
}
