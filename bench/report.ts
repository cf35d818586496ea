import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One section's printed table. Cells are already formatted; the table is Markdown. */
export interface Table {
  title: string;
  columns: string[];
  rows: string[][];
  notes: string[];
}

/** A target that was not met, said in one line with its numbers. */
export type Miss = string;

export interface SectionResult {
  id: string;
  table: Table;
  /** Further tables of the section, printed after the first (e.g. a per-function breakdown). */
  more?: Table[];
  misses: Miss[];
  /** Raw samples and per-run details for latest.json. */
  data: unknown;
  durationMs: number;
  /** The machine's 1-minute load average before and after the section (other work shares the cores). */
  loadAvg?: { before: number; after: number };
}

export interface Target {
  /** e.g. `≥ 0.97×`. */
  text: string;
  met: boolean;
}

/**
 * A throughput target: the ops/s ratio at least `minRatio` and, when `maxCpuRatio` is given, the
 * client CPU per op at most that ratio (issue 18: "≥ 1.0× ops/s at ≤ 1.0× client CPU per op").
 */
export function throughputTarget(ratio: number, cpuRatio: number, minRatio: number, maxCpuRatio?: number): Target {
  const text = `≥ ${minRatio.toFixed(2)}× ops/s${maxCpuRatio === undefined ? '' : `, CPU/op ≤ ${maxCpuRatio.toFixed(2)}×`}`;
  return { text, met: ratio >= minRatio && (maxCpuRatio === undefined || cpuRatio <= maxCpuRatio) };
}

/** The target cell: `met (≥ 0.97×)` or `**MISSED** (≥ 0.97×)`. */
export function targetCell(target: Target | null): string {
  if (target === null) return '—';
  return target.met ? `met (${target.text})` : `**MISSED** (${target.text})`;
}

export function renderTable(table: Table): string {
  const escape = (cell: string): string => cell.replace(/\|/g, '\\|');
  const lines = [
    `### ${table.title}`,
    '',
    `| ${table.columns.map(escape).join(' | ')} |`,
    `| ${table.columns.map(() => '---').join(' | ')} |`,
    ...table.rows.map((row) => `| ${row.map(escape).join(' | ')} |`),
  ];
  if (table.notes.length > 0) lines.push('', ...table.notes.map((n) => `- ${n}`));
  return lines.join('\n');
}

/** A section's tables, the main one first. */
export function renderSection(section: Pick<SectionResult, 'table' | 'more'>): string {
  return [section.table, ...(section.more ?? [])].map(renderTable).join('\n\n');
}

export function renderReport(env: Environment, sections: SectionResult[], quick: boolean): string {
  const misses = sections.flatMap((s) => s.misses);
  const head = [
    `## Benchmark (${quick ? 'quick run: fewer and shorter rounds, one run per failover scenario' : 'full run'})`,
    '',
    `${env.machine.cpuModel} × ${env.machine.cpus}, ${env.machine.memGiB} GiB, ${env.machine.os}; ` +
      `Node ${env.node}; Redis ${env.redis}; ioredis ${env.packages['ioredis']}; ` +
      `node-redis (\`redis\`) ${env.packages['redis'] ?? 'n/a'}; valkey-glide ${env.packages['@valkey/valkey-glide'] ?? 'n/a'}; ` +
      `redis-failover ${env.packages['redis-failover']}${env.git ? ` (${env.git.commit.slice(0, 9)}${env.git.dirty ? ', uncommitted changes in src/' : ''})` : ''}. ` +
      'Every server on 127.0.0.1, started by `redis-failover/testing`; the client shares the cores with them.',
  ];
  const loads = sections.flatMap((s) => (s.loadAvg ? [s.loadAvg.before, s.loadAvg.after] : []));
  if (loads.length > 0) {
    head.push(
      '',
      `1-minute load average during the run: ${Math.min(...loads).toFixed(2)} – ${Math.max(...loads).toFixed(2)} on ${env.machine.cpus} cores` +
        ' (anything above the benchmark\'s own processes is other work on the machine, and shows up as noise in the throughput pairs).',
    );
  }
  const body = sections.map(renderSection);
  const tail = ['### Missed targets', '', ...(misses.length ? misses.map((m) => `- ${m}`) : ['- none'])];
  return [...head, '', ...body.flatMap((b) => [b, '']), ...tail].join('\n');
}

export interface Environment {
  machine: { cpus: number; cpuModel: string; memGiB: number; os: string; loadAvg: number[] };
  node: string;
  redis: string;
  packages: Record<string, string>;
  git: { commit: string; dirty: boolean } | null;
}

const root = dirname(dirname(fileURLToPath(import.meta.url)));

function packageVersion(path: string): string {
  try {
    return (JSON.parse(readFileSync(`${root}/${path}`, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function run(command: string, args: string[]): string | null {
  try {
    return execFileSync(command, args, { cwd: root, encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export function environment(): Environment {
  const cpus = os.cpus();
  const binary = process.env['REDISMS_SYSTEM_BINARY'] || 'redis-server';
  const redis = /v=(\S+)/.exec(run(binary, ['--version']) ?? '')?.[1] ?? 'unknown';
  const commit = run('git', ['rev-parse', 'HEAD']);
  const status = run('git', ['status', '--porcelain', '--', 'src']);
  return {
    machine: {
      cpus: cpus.length,
      cpuModel: cpus[0]?.model.trim() ?? 'unknown CPU',
      memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      loadAvg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    },
    node: process.version,
    redis,
    packages: {
      'redis-failover': packageVersion('package.json'),
      ioredis: packageVersion('node_modules/ioredis/package.json'),
      redis: packageVersion('node_modules/redis/package.json'),
      '@valkey/valkey-glide': packageVersion('node_modules/@valkey/valkey-glide/package.json'),
      '@ioredis/commands': packageVersion('node_modules/@ioredis/commands/package.json'),
    },
    git: commit === null ? null : { commit, dirty: (status ?? '') !== '' },
  };
}

export const RESULTS_PATH = `${root}/bench/results/latest.json`;

export function writeResults(env: Environment, sections: SectionResult[], options: { quick: boolean; only: string[] | null; settings: object; startedAt: Date; markdown: string }): string {
  const json = {
    generatedAt: new Date().toISOString(),
    startedAt: options.startedAt.toISOString(),
    quick: options.quick,
    only: options.only,
    settings: options.settings,
    environment: env,
    misses: sections.flatMap((s) => s.misses),
    sections: Object.fromEntries(
      sections.map((s) => [s.id, { durationMs: Math.round(s.durationMs), loadAvg: s.loadAvg, table: s.table, more: s.more, misses: s.misses, data: s.data }]),
    ),
    markdown: options.markdown,
  };
  mkdirSync(dirname(RESULTS_PATH), { recursive: true });
  writeFileSync(RESULTS_PATH, `${JSON.stringify(json, null, 2)}\n`);
  return RESULTS_PATH;
}

// ------------------------------------------------------------------ cell formatting

/** 152340 → `152.3k`. */
export function fmtOps(opsPerSec: number): string {
  return opsPerSec >= 1000 ? `${(opsPerSec / 1000).toFixed(1)}k` : opsPerSec.toFixed(0);
}

export function fmtRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(3)}×` : 'n/a';
}

export function fmtMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return 'n/a';
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

export function fmtPct(share: number): string {
  return Number.isFinite(share) ? `${(share * 100).toFixed(1)} %` : 'n/a';
}

export function fmtMiB(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
