import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';
import { withReplicaSet, type Settings } from './harness.js';
import { GLIDE, NODE_REDIS } from './peers.js';
import { fmtMiB, fmtRatio, targetCell, type SectionResult, type Target } from './report.js';
import { median, ratio } from './stats.js';

const here = dirname(fileURLToPath(import.meta.url));
// Under bench/results/ (ignored by lint) so that the bundle resolves ioredis from node_modules.
const outDir = join(here, 'results', '.build');

const KINDS = ['empty', 'ioredis', 'failover', 'node-redis', 'node-redis-sentinel', 'glide'] as const;
type Kind = (typeof KINDS)[number];

interface Usage {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

/** Plain JavaScript for the child: src/ bundled in (lazily, as a chunk), packages left external. */
async function bundle(): Promise<string> {
  rmSync(outDir, { recursive: true, force: true });
  await build({
    entry: { 'memory-child': join(here, 'memory-child.ts') },
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    outDir,
    splitting: true,
    sourcemap: false,
    dts: false,
    config: false,
    silent: true,
    skipNodeModulesBundle: true,
  });
  return join(outDir, 'memory-child.js');
}

function measure(script: string, kind: Kind, set: { nodes: string[]; sentinels: string[]; name: string }): Promise<Usage> {
  return new Promise((resolve, reject) => {
    const config = JSON.stringify({ nodes: set.nodes, sentinels: set.sentinels, name: set.name });
    const child = spawn(process.execPath, ['--expose-gc', script, kind, config], { stdio: ['ignore', 'pipe', 'pipe'], cwd: outDir });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (code !== 0 || !line) return reject(new Error(`memory child (${kind}) exited with ${signal ?? code}: ${err.trim() || out.trim()}`));
      resolve(JSON.parse(line) as Usage);
    });
  });
}

export async function memory(settings: Settings): Promise<SectionResult> {
  const began = performance.now();
  const script = await bundle();
  try {
    // Sentinels for node-redis's Sentinel client only; the others are given the nodes.
    return await withReplicaSet({ replicas: 2, sentinels: 3 }, async (set) => {
      const samples = Object.fromEntries(KINDS.map((k) => [k, [] as Usage[]])) as Record<Kind, Usage[]>;
      for (let run = 0; run < settings.runs; run++) {
        // Rotate the order so that no kind always runs first.
        for (let k = 0; k < KINDS.length; k++) {
          const kind = KINDS[(k + run) % KINDS.length]!;
          samples[kind].push(await measure(script, kind, set));
        }
      }
      const med = (kind: Kind, key: keyof Usage): number => median(samples[kind].map((u) => u[key]));
      const over = (kind: Kind, key: keyof Usage): number => med(kind, key) - med('empty', key);
      /** Over an empty Node, with its ratio to 3 plain ioredis clients' (also over an empty Node). */
      const overCell = (kind: Kind, key: keyof Usage): string =>
        kind === 'empty' ? '—' : kind === 'ioredis' ? fmtMiB(over(kind, key)) : `${fmtMiB(over(kind, key))} (${fmtRatio(ratio(over(kind, key), over('ioredis', key)))})`;
      const row = (label: string, kind: Kind): string[] => [label, fmtMiB(med(kind, 'heapUsed')), overCell(kind, 'heapUsed'), fmtMiB(med(kind, 'rss')), overCell(kind, 'rss')];
      const heapRatio = ratio(over('failover', 'heapUsed'), over('ioredis', 'heapUsed'));
      const rssRatio = ratio(over('failover', 'rss'), over('ioredis', 'rss'));
      const target: Target = { text: '≤ 1.25× the heap and the RSS of 3 ioredis clients, over an empty Node', met: heapRatio <= 1.25 && rssRatio <= 1.25 };
      return {
        id: 'memory',
        table: {
          title: '6. Memory of one process holding the clients (after GC, connected, after 1000 SET + 1000 GET)',
          columns: ['process holds', 'heap used', 'heap over an empty Node (× 3 ioredis)', 'RSS', 'RSS over an empty Node (× 3 ioredis)'],
          rows: [
            row('nothing (empty Node process)', 'empty'),
            row('3 plain ioredis 6 clients, one per node (the baseline)', 'ioredis'),
            row('1 FailoverRedis on the same 3 nodes (defaults)', 'failover'),
            row(`3 plain ${NODE_REDIS} clients, one per node`, 'node-redis'),
            row(`1 ${NODE_REDIS} \`createSentinel\`, \`replicaPoolSize: 1\` (master, 2 replicas, 1 Sentinel connection)`, 'node-redis-sentinel'),
            row(`1 ${GLIDE} \`GlideClient\`, \`readFrom: 'preferReplica'\`, given the 3 nodes`, 'glide'),
            ['FailoverRedis / 3 ioredis, over an empty Node', '', fmtRatio(heapRatio), '', `${fmtRatio(rssRatio)}; ${targetCell(target)}`],
          ],
          notes: [
            `Each number is the median of ${settings.runs} child process${settings.runs === 1 ? '' : 'es'} (\`node --expose-gc\`, plain JavaScript bundled from the sources, nothing else loaded), measured with process.memoryUsage() after 4 GCs.`,
            'Each includes the client code loaded (ioredis alone, or ioredis and this library, or the peer) and every connection the client keeps open.',
            `${GLIDE}: its heap is the JavaScript side only; its RSS includes its native library and the Rust runtime's threads, where its connections live.`,
            'The replica set has 3 Sentinels (for node-redis\'s Sentinel client); every other client is given the data nodes.',
          ],
        },
        misses: target.met ? [] : [`memory: FailoverRedis over an empty Node is ${fmtRatio(heapRatio)} the heap and ${fmtRatio(rssRatio)} the RSS of 3 ioredis clients; target ${target.text}`],
        data: {
          samples,
          heapOverEmpty: Object.fromEntries(KINDS.map((k) => [k, over(k, 'heapUsed')])),
          rssOverEmpty: Object.fromEntries(KINDS.map((k) => [k, over(k, 'rss')])),
          heapRatio,
          rssRatio,
        },
        durationMs: performance.now() - began,
      };
    });
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}
