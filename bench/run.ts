/**
 * `npm run bench [-- --quick] [-- --only <section>[,<section>…]]`
 *
 * Runs the sections one after another (never in parallel: client and servers share the cores),
 * prints one Markdown table per section and writes bench/results/latest.json (and the outage
 * charts): everything a run writes goes to bench/results/, which git ignores; the results the
 * README quotes are kept apart, in bench/reference/.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { Settings } from './harness.js';
import { cluster } from './cluster.js';
import { latency } from './latency.js';
import { memory } from './memory.js';
import { hung, outage } from './outage.js';
import { overhead } from './overhead.js';
import { partition } from './partition.js';
import { pubsub } from './pubsub.js';
import { calls } from './calls.js';
import { environment, renderReport, renderSection, writeResults, type SectionResult } from './report.js';
import { spread } from './spread.js';
import { switchoverSection } from './switchover.js';

const SECTIONS: Record<string, (settings: Settings) => Promise<SectionResult>> = {
  overhead,
  latency,
  spread,
  outage,
  hung,
  switchover: switchoverSection,
  pubsub,
  memory,
  partition,
  cluster,
  calls,
  fleet: (settings) => import('./fleet.js').then((m) => m.fleet(settings)),
};

const USAGE = `usage: npm run bench [-- --quick] [-- --only <section>[,<section>…]]
sections: ${Object.keys(SECTIONS).join(', ')}
  --quick   fewer, shorter rounds and one run per failover scenario
  --only    run only these sections (repeatable or comma-separated)
  --rounds N, --round-ms MS   A/B pairs per throughput comparison and the length of a round
  --runs N  fresh replica sets per failover scenario (and memory samples)`;

function parse(argv: string[]): { quick: boolean; only: string[] | null; settings: Settings } {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      rounds: { type: 'string' },
      'round-ms': { type: 'string' },
      runs: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const only = values.only?.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean) ?? null;
  for (const name of only ?? []) {
    if (!(name in SECTIONS)) throw new Error(`unknown section "${name}"\n${USAGE}`);
  }
  const quick = values.quick ?? false;
  const settings: Settings = quick ? { quick, rounds: 12, roundMs: 250, runs: 1 } : { quick, rounds: 40, roundMs: 250, runs: 3 };
  const int = (name: string, value: string | undefined, least: number): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < least) throw new Error(`--${name} must be an integer ≥ ${least}\n${USAGE}`);
    return n;
  };
  settings.rounds = int('rounds', values.rounds, 1) ?? settings.rounds;
  settings.roundMs = int('round-ms', values['round-ms'], 100) ?? settings.roundMs;
  settings.runs = int('runs', values.runs, 1) ?? settings.runs;
  return { quick, only, settings };
}

async function main(): Promise<number> {
  const { quick, only, settings } = parse(process.argv.slice(2));
  // Every loop is bounded; this bounds the whole, whatever hangs. process.exit() runs the
  // replica sets' exit hook, which kills every server they started.
  const names = only ?? Object.keys(SECTIONS);
  const budgetMs = names.length * (quick ? 4 : 20) * 60_000;
  setTimeout(() => {
    console.error(`bench: still running after ${budgetMs / 60_000} min; giving up`);
    process.exit(2);
  }, budgetMs).unref();

  const startedAt = new Date();
  const env = environment();
  console.log(`redis-failover bench (${quick ? 'quick' : 'full'}): ${names.join(', ')}`);
  const results: SectionResult[] = [];
  let failed = false;
  for (const name of names) {
    const began = performance.now();
    const loadBefore = os.loadavg()[0]!;
    process.stdout.write(`\n… ${name}\n`);
    let result: SectionResult;
    try {
      result = await SECTIONS[name]!(settings);
    } catch (error) {
      failed = true;
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      console.error(message);
      result = {
        id: name,
        table: { title: `${name}: failed`, columns: ['error'], rows: [[String(error instanceof Error ? error.message : error)]], notes: [] },
        misses: [`${name}: the section failed to run (${error instanceof Error ? error.message : String(error)})`],
        data: { error: message },
        durationMs: performance.now() - began,
      };
    }
    result.loadAvg = { before: loadBefore, after: os.loadavg()[0]! };
    results.push(result);
    console.log(`\n${renderSection(result)}\n\n(${name}: ${(result.durationMs / 1000).toFixed(1)} s)`);
  }
  const markdown = renderReport(env, results, quick);
  const path = writeResults(env, results, { quick, only, settings, startedAt, markdown });
  console.log(`\n${markdown}\n\nresults: ${path}\ntotal: ${((Date.now() - startedAt.getTime()) / 1000).toFixed(1)} s`);
  return failed ? 1 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`bench: ${signal}; stopping the servers`);
    process.exit(130);
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
