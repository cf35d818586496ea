import diagnostics_channel from 'node:diagnostics_channel';
import { Redis, type ChainableCommander } from 'ioredis';
import { FailoverRedis } from '../src/index.js';
import { CallCounter, hostPort, interleaved, withReplicaSet, type Settings } from './harness.js';
import { glideClient, GLIDE, NODE_REDIS, nodeRedisClient, type Peer } from './peers.js';
import { fmtOps, fmtRatio, targetCell, throughputTarget, type SectionResult, type Target } from './report.js';
import { median, pairedRatios, percentile, rate } from './stats.js';

/** What a throughput workload needs of a client; ioredis and FailoverRedis both have it. */
export interface KV {
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
  pipeline(): ChainableCommander;
}

export const CONCURRENCY = 50;
const PIPELINE = 16;
const VALUE = 'v'.repeat(32);

/** One round of one client. */
export interface Round {
  opsPerSec: number;
  /**
   * CPU time this process spent per operation (user + system): the client's own cost, much less
   * disturbed than ops/s by other work competing for the cores. It includes the loops themselves.
   */
  cpuUsPerOp: number;
}

/** `CONCURRENCY` loops, each awaiting its own step, for `ms`. */
export async function loops(ms: number, step: (loop: number) => Promise<number>): Promise<Round> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const end = started + ms;
  let ops = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, i) => {
      while (performance.now() < end) {
        // Not `ops += await …`: that reads `ops` before the await and loses the other loops' counts.
        const n = await step(i);
        ops += n;
      }
    }),
  );
  const elapsed = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { opsPerSec: rate(ops, elapsed), cpuUsPerOp: (used.user + used.system) / Math.max(ops, 1) };
}

/** The cells and numbers of one A/B comparison. */
export function compare(a: Round[], b: Round[]) {
  const aOps = a.map((x) => x.opsPerSec);
  const bOps = b.map((x) => x.opsPerSec);
  const ratios = pairedRatios(bOps, aOps);
  const cpuRatios = pairedRatios(
    b.map((x) => x.cpuUsPerOp),
    a.map((x) => x.cpuUsPerOp),
  );
  return {
    aOps: median(aOps),
    bOps: median(bOps),
    ratios,
    ratio: median(ratios),
    aCpu: median(a.map((x) => x.cpuUsPerOp)),
    bCpu: median(b.map((x) => x.cpuUsPerOp)),
    cpuRatio: median(cpuRatios),
    /** `0.912× – 1.034×`: the middle half of the pair ratios. */
    spread: `${fmtRatio(percentile(ratios, 25))} – ${fmtRatio(percentile(ratios, 75))}`,
  };
}

export function cpuCell(c: ReturnType<typeof compare>): string {
  return `${c.aCpu.toFixed(1)} → ${c.bCpu.toFixed(1)} µs (${fmtRatio(c.cpuRatio)})`;
}

/** SET then GET of the loop's own key, each awaited. */
export const getSet = (c: Pick<KV, 'get' | 'set'>) => async (i: number): Promise<number> => {
  const key = `bench:kv:${i}`;
  await c.set(key, VALUE);
  await c.get(key);
  return 2;
};

/** A pipeline of 8 SET + 8 GET, awaited as a whole. */
const pipelined = (c: KV) => async (i: number): Promise<number> => {
  const p = c.pipeline();
  for (let j = 0; j < PIPELINE / 2; j++) {
    const key = `bench:pipe:${i}:${j}`;
    p.set(key, VALUE).get(key);
  }
  const results = await p.exec();
  const failed = results?.find(([error]) => error !== null);
  if (!results || failed) throw new Error(`pipeline failed: ${failed?.[0]?.message ?? 'no result'}`);
  return PIPELINE;
};

/** The B side of a comparison: a FailoverRedis, or (for the A/A control) ioredis again. */
interface Contender {
  client: KV;
  ready(): Promise<unknown>;
  close(): Promise<unknown>;
}

function ours(redis: FailoverRedis): Contender {
  redis.on('error', () => undefined);
  return { client: redis as unknown as KV, ready: () => redis.connect(), close: () => redis.quit().catch(() => redis.disconnect()) };
}

/**
 * FailoverRedis with one subscriber on `redis-failover:command`, a handler on each of its five
 * events that does nothing: the cost of building and publishing the contexts, not of a tracer.
 */
function traced(redis: FailoverRedis): Contender {
  const inner = ours(redis);
  const channel = diagnostics_channel.tracingChannel('redis-failover:command');
  const handlers = { start() {}, end() {}, asyncStart() {}, asyncEnd() {}, error() {} };
  return {
    client: inner.client,
    ready: () => {
      channel.subscribe(handlers);
      return inner.ready();
    },
    close: () => {
      channel.unsubscribe(handlers);
      return inner.close();
    },
  };
}

function theirs(redis: Redis): Contender {
  return { client: redis, ready: () => redis.ping(), close: async () => redis.disconnect() };
}

/** node-redis or valkey-glide in a GET/SET row (they have no ioredis-shaped pipeline to offer). */
function peer(p: Peer): Contender {
  const client: KV = {
    get: (key) => p.get(key),
    set: (key, value) => p.set(key, value),
    pipeline: () => {
      throw new Error(`${p.label}: only the GET/SET loops are measured for this client`);
    },
  };
  return { client, ready: () => p.ready(), close: async () => p.close() };
}

interface Comparison {
  id: string;
  workload: string;
  /** Label of the B column for this row. */
  b: string;
  plain: () => Redis;
  other: (master: string) => Contender;
  step: (c: KV) => (i: number) => Promise<number>;
  /** On the ops/s ratio, and on the client CPU per op when `cpu` is given. */
  target: { ops: number; cpu?: number } | null;
}

export async function overhead(settings: Settings): Promise<SectionResult> {
  const began = performance.now();
  const { rounds, roundMs } = settings;
  return withReplicaSet({ replicas: 2 }, async (set) => {
    const at = hostPort(set.master);
    const comparisons: Comparison[] = [
      {
        id: 'control',
        workload: `control (A/A): GET/SET, ${CONCURRENCY} awaited loops, ioredis against a second ioredis`,
        b: 'ioredis 6',
        plain: () => new Redis(at),
        other: () => theirs(new Redis(at)),
        step: getSet,
        target: null,
      },
      {
        id: 'loops',
        workload: `GET/SET, ${CONCURRENCY} awaited loops — \`readFrom: 'master'\``,
        b: 'FailoverRedis',
        plain: () => new Redis(at),
        other: (m) => ours(new FailoverRedis({ nodes: [m], readFrom: 'master' })),
        step: getSet,
        target: { ops: 1, cpu: 1 },
      },
      {
        id: 'traced',
        workload: `GET/SET, ${CONCURRENCY} awaited loops — \`readFrom: 'master'\`, one subscriber on \`redis-failover:command\``,
        b: 'FailoverRedis',
        plain: () => new Redis(at),
        other: (m) => traced(new FailoverRedis({ nodes: [m], readFrom: 'master' })),
        step: getSet,
        target: null,
      },
      {
        id: 'pipelines',
        workload: `pipelines of ${PIPELINE} (8 SET + 8 GET), ${CONCURRENCY} loops — \`readFrom: 'master'\``,
        b: 'FailoverRedis',
        plain: () => new Redis(at),
        other: (m) => ours(new FailoverRedis({ nodes: [m], readFrom: 'master' })),
        step: pipelined,
        target: { ops: 0.95 },
      },
      {
        id: 'autoPipelining',
        workload: `\`enableAutoPipelining\`, GET/SET, ${CONCURRENCY} loops — \`readFrom: 'master'\``,
        b: 'FailoverRedis',
        plain: () => new Redis({ ...at, enableAutoPipelining: true }),
        other: (m) => ours(new FailoverRedis({ nodes: [m], readFrom: 'master', redisOptions: { enableAutoPipelining: true } })),
        step: getSet,
        target: { ops: 0.95 },
      },
      {
        id: 'nodeRedis',
        workload: `GET/SET, ${CONCURRENCY} awaited loops — peer: ${NODE_REDIS} \`createClient\` on the master`,
        b: NODE_REDIS,
        plain: () => new Redis(at),
        other: (m) => peer(nodeRedisClient(m)),
        step: getSet,
        target: null,
      },
      {
        id: 'glide',
        workload: `GET/SET, ${CONCURRENCY} awaited loops — peer: ${GLIDE} \`GlideClient\` on the master (CPU: its Rust threads included)`,
        b: GLIDE,
        plain: () => new Redis(at),
        other: (m) => peer(glideClient([m])),
        step: getSet,
        target: null,
      },
      {
        id: 'defaults',
        workload: `GET/SET, ${CONCURRENCY} awaited loops — FailoverRedis defaults (\`replicaPreferred\`, read-your-writes)`,
        b: 'FailoverRedis',
        plain: () => new Redis(at),
        other: (m) => ours(new FailoverRedis({ nodes: [m] })),
        step: getSet,
        target: { ops: 1, cpu: 1 },
      },
    ];

    const rows: string[][] = [];
    const misses: string[] = [];
    const data: Record<string, unknown> = {};
    for (const cmp of comparisons) {
      const plain = cmp.plain();
      const other = cmp.other(set.master);
      const counter = new CallCounter(set.nodes);
      try {
        await Promise.all([plain.ping(), other.ready()]);
        // Where each side's GETs went, counted by the servers around its own rounds (both sides
        // alike, so the counting costs them the same).
        const aGets: Record<string, number> = Object.fromEntries(set.nodes.map((n) => [n, 0]));
        const gets: Record<string, number> = { ...aGets };
        const measured = await interleaved(
          rounds,
          () => counter.around('get', aGets, () => loops(roundMs, cmp.step(plain))),
          () => counter.around('get', gets, () => loops(roundMs, cmp.step(other.client))),
        );
        const c = compare(measured.a, measured.b);
        const { ratios, ratio: r } = c;
        const target: Target | null = cmp.target === null ? null : throughputTarget(r, c.cpuRatio, cmp.target.ops, cmp.target.cpu);
        const totalGets = Object.values(gets).reduce((a, b) => a + b, 0);
        const onMaster = totalGets > 0 ? gets[set.master]! / totalGets : 0;
        rows.push([
          cmp.workload,
          fmtOps(c.aOps),
          `${fmtOps(c.bOps)}${cmp.b === 'FailoverRedis' ? '' : ` (${cmp.b})`}`,
          `${fmtRatio(r)} (${c.spread})`,
          cpuCell(c),
          `${(onMaster * 100).toFixed(0)} %`,
          targetCell(target),
        ]);
        if (target && !target.met) {
          misses.push(
            `overhead, ${cmp.id}: FailoverRedis/ioredis ops/s = ${r.toFixed(4)}× (pairs ${ratios.map((x) => x.toFixed(3)).join(', ')}), target ${target.text}; ` +
              `client CPU per op ${cpuCell(c)}`,
          );
        }
        data[cmp.id] = { workload: cmp.workload, a: 'ioredis 6', b: cmp.b, aRounds: measured.a, bRounds: measured.b, ...c, aGetsPerNode: aGets, bGetsPerNode: gets, master: set.master };
      } finally {
        counter.close();
        plain.disconnect();
        await other.close();
      }
    }
    const defaults = data['defaults'] as { bGetsPerNode: Record<string, number> } | undefined;
    const notes: string[] = [];
    const loopsRow = data['loops'] as { cpuRatio: number; ratio: number } | undefined;
    const tracedRow = data['traced'] as { cpuRatio: number; ratio: number } | undefined;
    if (loopsRow && tracedRow) {
      notes.push(
        `Tracing channel: every row but "one subscriber" runs with nobody subscribed to \`redis-failover:command\`/\`:batch\`, so the dispatcher checks \`hasSubscribers\` and builds nothing. ` +
          `With one subscriber (five no-op handlers) the ops/s ratio is ${fmtRatio(tracedRow.ratio)} against ${fmtRatio(loopsRow.ratio)} without, and client CPU per op ${fmtRatio(tracedRow.cpuRatio)} of ioredis's against ${fmtRatio(loopsRow.cpuRatio)}: the cost of one context and five publishes per command.`,
      );
    }
    if (defaults) {
      const g = defaults.bGetsPerNode;
      const total = Object.values(g).reduce((x, y) => x + y, 0);
      if (total > 0 && g[set.master]! / total > 0.5) {
        notes.push(
          'Defaults row: each loop reads the key it has just written, so read-your-writes sends that GET to the master until a replica is known to have the write; most of its reads therefore stay on the master here (see the column).',
        );
      }
    }
    return {
      id: 'overhead',
      table: {
        title: '1. Cost per command: FailoverRedis and the peers against plain ioredis 6 on the same master',
        columns: [
          'workload',
          'ioredis 6 ops/s',
          'the other client: ops/s (FailoverRedis unless named)',
          'ops/s ratio: median of pairs (middle half of pairs)',
          'client CPU per op: ioredis → the other client (median ratio)',
          'its GETs served by the master',
          'target (issue 18: ops/s ratio, and CPU per op where named)',
        ],
        rows,
        notes: [
          `${rounds} pairs of ${roundMs} ms rounds per row, A/B interleaved (A B, B A, …) after one warm-up round each; ops/s are medians of the rounds, the ratio is the median of the per-pair ratios, and the range beside it their 25th – 75th percentiles.`,
          'Client CPU per op is the benchmark process\'s own CPU time (user + system, the loops included) divided by the operations of the round: the cost on every command, as the client pays it, and much less shaken than ops/s by other work on the machine.',
          'One replica set (a master and 2 replicas, so every SET is also replicated twice); ioredis always talks to the master. GETs per node are counted by the servers (INFO commandstats) around every round, on both sides.',
          'The control row pits ioredis against a second, identical ioredis client: how far its ratio strays from 1 is the noise of this machine during this run.',
          `Peers: ${NODE_REDIS} (its defaults: RESP3, writes batched per tick) and ${GLIDE} (its defaults; a Rust core in the same process) run the GET/SET loops only, each paired with plain ioredis like every row. process.cpuUsage() counts every thread of the process, so glide's CPU per op includes its Rust threads. The pipeline, auto-pipelining, tracing and read-policy rows are FailoverRedis options with no counterpart in them: both batch a tick's commands into one socket write on their own (what the auto-pipelining row measures for ioredis).`,
          ...notes,
        ],
      },
      misses,
      data,
      durationMs: performance.now() - began,
    };
  });
}
