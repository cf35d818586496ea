import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';
import { withReplicaSet, type Settings } from './harness.js';
import { fmtMiB, fmtRatio, type SectionResult } from './report.js';
import { median, ratio } from './stats.js';

const here = dirname(fileURLToPath(import.meta.url));
// Under bench/results/ (ignored by lint) so that the bundle resolves ioredis from node_modules.
const outDir = join(here, 'results', '.build');

const KINDS = ['empty', 'ioredis', 'failover'] as const;
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

function measure(script: string, kind: Kind, nodes: string[]): Promise<Usage> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', script, kind, ...nodes], { stdio: ['ignore', 'pipe', 'pipe'] });
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
    return await withReplicaSet({ replicas: 2 }, async (set) => {
      const samples: Record<Kind, Usage[]> = { empty: [], ioredis: [], failover: [] };
      for (let run = 0; run < settings.runs; run++) {
        // Rotate the order so that no kind always runs first.
        for (let k = 0; k < KINDS.length; k++) {
          const kind = KINDS[(k + run) % KINDS.length]!;
          samples[kind].push(await measure(script, kind, set.nodes));
        }
      }
      const med = (kind: Kind, key: keyof Usage): number => median(samples[kind].map((u) => u[key]));
      const over = (kind: Kind, key: keyof Usage): number => med(kind, key) - med('empty', key);
      const row = (label: string, kind: Kind): string[] => [
        label,
        fmtMiB(med(kind, 'heapUsed')),
        kind === 'empty' ? '—' : fmtMiB(over(kind, 'heapUsed')),
        fmtMiB(med(kind, 'rss')),
        kind === 'empty' ? '—' : fmtMiB(over(kind, 'rss')),
      ];
      const heapRatio = ratio(over('failover', 'heapUsed'), over('ioredis', 'heapUsed'));
      const rssRatio = ratio(over('failover', 'rss'), over('ioredis', 'rss'));
      return {
        id: 'memory',
        table: {
          title: '6. Memory of one process holding the clients (after GC, connected, after 1000 SET + 1000 GET)',
          columns: ['process holds', 'heap used', 'heap over an empty Node', 'RSS', 'RSS over an empty Node'],
          rows: [
            row('nothing (empty Node process)', 'empty'),
            row('3 plain ioredis 6 clients, one per node', 'ioredis'),
            row('1 FailoverRedis on the same 3 nodes (defaults)', 'failover'),
            ['FailoverRedis / ioredis', '', fmtRatio(heapRatio), '', fmtRatio(rssRatio)],
          ],
          notes: [
            `Each number is the median of ${settings.runs} child process${settings.runs === 1 ? '' : 'es'} (\`node --expose-gc\`, plain JavaScript bundled from the sources, nothing else loaded), measured with process.memoryUsage() after 4 GCs.`,
            'Both include the client code loaded (ioredis alone, or ioredis and this library) and every connection the client keeps open.',
          ],
        },
        misses: [],
        data: { samples, heapOverEmpty: { ioredis: over('ioredis', 'heapUsed'), failover: over('failover', 'heapUsed') }, rssOverEmpty: { ioredis: over('ioredis', 'rss'), failover: over('failover', 'rss') } },
        durationMs: performance.now() - began,
      };
    });
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}
