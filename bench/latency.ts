/**
 * `npm run bench -- --only latency`: one awaited loop, no concurrency — what a single caller waits
 * for each command. SET then GET of one key, each timed; every client paired with plain ioredis on
 * the same master, A/B interleaved. Issue 18's target: FailoverRedis's median latency within 5 %
 * of ioredis's (defaults and `readFrom: 'master'`), so batching writes per tick must not cost a
 * lone caller anything.
 */
import { Redis } from 'ioredis';
import { FailoverRedis } from '../src/index.js';
import { hostPort, interleaved, withReplicaSet, type Settings } from './harness.js';
import { glideClient, GLIDE, NODE_REDIS, nodeRedisClient, type Peer } from './peers.js';
import { fmtRatio, targetCell, type SectionResult, type Target } from './report.js';
import { median, pairedRatios, percentile, summarizeLatencies, type LatencyRound } from './stats.js';

const VALUE = 'v'.repeat(32);

interface SetGet {
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
}

async function oneLoop(ms: number, c: SetGet): Promise<LatencyRound> {
  const samples: number[] = [];
  const end = performance.now() + ms;
  const key = 'bench:latency';
  while (performance.now() < end) {
    let t = performance.now();
    await c.set(key, VALUE);
    let now = performance.now();
    samples.push(now - t);
    t = now;
    await c.get(key);
    now = performance.now();
    samples.push(now - t);
  }
  return summarizeLatencies(samples);
}

interface Side {
  label: string;
  client: SetGet;
  ready(): Promise<unknown>;
  close(): Promise<unknown> | void;
  /** Issue 18's ≤ 1.05× applies to FailoverRedis rows only. */
  target: boolean;
}

function failoverSide(label: string, redis: FailoverRedis): Side {
  redis.on('error', () => undefined);
  return { label, client: redis, ready: () => redis.connect(), close: () => redis.quit().catch(() => redis.disconnect()), target: true };
}

function peerSide(p: Peer): Side {
  return { label: p.label, client: p, ready: () => p.ready(), close: () => p.close(), target: false };
}

const fmtUs = (us: number): string => `${us.toFixed(1)} µs`;

export async function latency(settings: Settings): Promise<SectionResult> {
  const began = performance.now();
  const { rounds, roundMs } = settings;
  return withReplicaSet({ replicas: 2 }, async (set) => {
    const at = hostPort(set.master);
    const sides: Side[] = [
      (() => {
        const other = new Redis(at);
        return { label: 'control (A/A): a second ioredis 6', client: other, ready: () => other.ping(), close: () => other.disconnect(), target: false };
      })(),
      failoverSide("FailoverRedis `readFrom: 'master'`", new FailoverRedis({ nodes: [set.master], readFrom: 'master' })),
      failoverSide('FailoverRedis defaults (`replicaPreferred`, read-your-writes)', new FailoverRedis({ nodes: [set.master] })),
      peerSide(nodeRedisClient(set.master, `${NODE_REDIS} \`createClient\``)),
      peerSide(glideClient([set.master])),
    ];
    const rows: string[][] = [];
    const misses: string[] = [];
    const data: Record<string, unknown> = {};
    for (const side of sides) {
      const plain = new Redis(at);
      try {
        await Promise.all([plain.ping(), side.ready()]);
        const r = await interleaved(
          rounds,
          () => oneLoop(roundMs, plain),
          () => oneLoop(roundMs, side.client),
        );
        const ratios = pairedRatios(
          r.b.map((x) => x.medianUs),
          r.a.map((x) => x.medianUs),
        );
        const ratio = median(ratios);
        const target: Target | null = side.target ? { text: 'median ≤ 1.05× ioredis', met: ratio <= 1.05 } : null;
        if (target && !target.met) misses.push(`latency, ${side.label}: median ${fmtRatio(ratio)} ioredis's (pairs ${ratios.map((x) => x.toFixed(3)).join(', ')}); target ${target.text}`);
        rows.push([
          side.label,
          `${fmtUs(median(r.a.map((x) => x.medianUs)))} / ${fmtUs(median(r.a.map((x) => x.p99Us)))}`,
          `${fmtUs(median(r.b.map((x) => x.medianUs)))} / ${fmtUs(median(r.b.map((x) => x.p99Us)))}`,
          `${fmtRatio(ratio)} (${fmtRatio(percentile(ratios, 25))} – ${fmtRatio(percentile(ratios, 75))})`,
          targetCell(target),
        ]);
        data[side.label] = { ioredisRounds: r.a, rounds: r.b, ratios, ratio };
      } finally {
        plain.disconnect();
        await side.close();
      }
    }
    return {
      id: 'latency',
      table: {
        title: '1b. One awaited loop (no concurrency): latency of each SET and GET, against plain ioredis 6 on the same master',
        columns: ['client', 'ioredis 6: median / p99', 'this client: median / p99', 'median latency ratio: median of pairs (middle half)', 'target'],
        rows,
        notes: [
          `${rounds} pairs of ${roundMs} ms rounds per row, A/B interleaved after one warm-up round each; in a round one loop sends SET then GET of one key, each awaited and timed with performance.now(). The ratio is taken per pair, of the two rounds' medians.`,
          'Nothing else runs in the process: a client that batches writes per tick must send a lone command at once for this row to stay at 1×.',
          `${GLIDE}: \`requestTimeout\` 5000 ms (see section 1); its commands cross from JavaScript to its Rust threads and back.`,
        ],
      },
      misses,
      data,
      durationMs: performance.now() - began,
    };
  });
}
