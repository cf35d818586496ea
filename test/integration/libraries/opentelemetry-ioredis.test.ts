// The instrumentation patches ioredis when it is loaded, so it is registered before anything here
// loads ioredis: the client and ioredis come in through dynamic imports below. It hooks require()
// (require-in-the-middle); an ESM import of ioredis, which is CommonJS, is hooked only under
// `node --import @opentelemetry/instrumentation/hook.mjs`. So ioredis is first require()d, as a
// CommonJS application would, and the ESM imports that follow share that (patched) module.
import { createRequire } from 'node:module';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { describe, expect, it } from 'vitest';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();
// Enabled on construction; it hooks the loading of ioredis from now on.
// requireParentSpan: false — by default it records only commands made inside a span.
const instrumentation = new IORedisInstrumentation({ requireParentSpan: false });
instrumentation.setTracerProvider(provider);

createRequire(import.meta.url)('ioredis');
const { Redis } = await import('ioredis');
const { resources } = await import('../../helpers/resources.js');
const { killMaster, sharedSet, MODES, unexpected } = await import('../../helpers/libraries.js');
const { checkCounters, startWriter, syncPoint } = await import('../../helpers/writer.js');

const res = resources();

/** The spans ended so far: command name, peer port, statement (key included), error status. */
function spans(): { name: string; port: number; statement: string; error: boolean }[] {
  return exporter.getFinishedSpans().map((s) => ({
    name: s.name,
    statement: String(s.attributes['db.statement'] ?? s.attributes['db.query.text'] ?? ''),
    port: Number(s.attributes['net.peer.port'] ?? s.attributes['server.port']),
    error: s.status.code === 2,
  }));
}

describe.each(MODES)('@opentelemetry/instrumentation-ioredis registered first, %s mode', (mode) => {
  const shared = sharedSet(res, mode);

  it('control, no failover: 50 SETs and GETs make 100 spans (plain ioredis: all on the master; FailoverRedis: SETs on the master, GETs on the nodes that served them)', async () => {
    const ms = await shared();
    const [host, port] = ms.set.master.split(':');
    // Connected first: a command queued offline is sent (and traced) a second time once connected.
    const plain = new Redis({ host, port: Number(port), lazyConnect: true });
    try {
      await plain.connect();
      exporter.reset();
      for (let i = 0; i < 50; i++) {
        await plain.set(`plain:${i}`, 'v');
        await plain.get(`plain:${i}`);
      }
      const mine = spans().filter((s) => s.port === Number(port) && (s.name === 'set' || s.name === 'get') && s.statement.includes('plain:'));
      expect(mine.length).toBe(100);

      // The same through FailoverRedis: SETs on the master's connection, GETs wherever read-your-writes sends them.
      const redis = res.client(ms.options());
      await redis.connect();
      exporter.reset();
      for (let i = 0; i < 50; i++) {
        await redis.set(`fr:${i}`, 'v');
        expect(await redis.get(`fr:${i}`)).toBe('v');
      }
      const ours = spans().filter((s) => s.statement.includes('fr:'));
      const ports = new Set(ms.set.nodes.map((n) => Number(n.split(':')[1])));
      expect(ours.filter((s) => s.name === 'set' && s.port === Number(port)).length).toBe(50);
      expect(ours.filter((s) => s.name === 'get' && ports.has(s.port)).length).toBe(50);
      await redis.quit();
    } finally {
      plain.disconnect();
    }
  });

  it('kill -9 of the master under an INCR writer: the client keeps working (nothing acknowledged lost or doubled, only ERR_MAYBE_APPLIED fails), spans come from the per-node connections on both the old and the new master', async () => {
    const ms = await shared();
    const redis = res.client(ms.options());
    await redis.connect();
    exporter.reset();
    const writer = startWriter(redis, `otel-${mode}`);
    await new Promise((r) => setTimeout(r, 300));
    const syncedAt = await syncPoint(redis, 2);
    const { address, deadAt } = await killMaster(ms, redis);
    await writer.ackAfter(deadAt, 30_000);
    await new Promise((r) => setTimeout(r, 300));
    const result = await writer.stop();
    const { lost, doubled } = await checkCounters(address, result, syncedAt);

    const oldPort = Number(ms.set.master.split(':')[1]);
    const newPort = Number(address.split(':')[1]);
    const incr = spans().filter((s) => s.name === 'incr' && s.statement.includes(`otel-${mode}:`));
    const counts = { old: incr.filter((s) => s.port === oldPort).length, new: incr.filter((s) => s.port === newPort).length, errored: incr.filter((s) => s.error).length };
    console.log(
      `otel ${mode}: ${result.acked.length} INCR acknowledged, ${result.failed.length} failed (${result.failed.map((f) => (f.error as { code?: string }).code).join(',')}), ` +
        `lost ${lost.length}, doubled ${doubled.length}; incr spans ${incr.length}: old master ${counts.old}, new master ${counts.new}, errored ${counts.errored}; all span names ${[...new Set(spans().map((s) => s.name))].join(',')}`,
    );
    expect(unexpected(result.failed.map((f) => f.error))).toEqual([]);
    expect(result.failed.length).toBeLessThanOrEqual(1);
    expect(lost).toEqual([]);
    expect(doubled).toEqual([]);
    // One span per INCR sent to a node: every acknowledged one has a span on the master that answered it.
    expect(counts.old + counts.new).toBeGreaterThanOrEqual(result.acked.length);
    expect(counts.old).toBeGreaterThan(0);
    expect(counts.new).toBeGreaterThan(0);
  });
});
