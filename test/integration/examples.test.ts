import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

/** Each example runs as a user would run it (`npx tsx examples/<file>.ts`), and its output is checked. */
async function example(file: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', `examples/${file}`], { cwd: root, timeout: 60_000 });
  return stdout;
}

describe('examples', () => {
  it('quick-start: discovers the set and reads from the replicas', async () => {
    const out = await example('quick-start.ts');
    expect(out).toMatch(/discovered master 127\.0\.0\.1:\d+ and replicas 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+/);
    expect(out).toMatch(/master {2}127\.0\.0\.1:\d+: 1 GETs/);
    const replicaGets = [...out.matchAll(/replica 127\.0\.0\.1:\d+: (\d+) GETs/g)].map((m) => Number(m[1]));
    expect(replicaGets).toEqual([5, 5]);
  });
});
