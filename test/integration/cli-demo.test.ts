import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

// The demo starts (and must stop) its own replica set: this file has none of its own.
describe('redis-failover demo --no-sentinel', () => {
  it('fails over under traffic, loses no acknowledged write, brings the old master back as a replica, stops everything', async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'src/cli/main.ts', 'demo', '--no-sentinel'],
        { cwd: root, env: { ...process.env, NO_COLOR: '1' }, timeout: 50_000 },
        (error, out, err) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout: out, stderr: err }),
      );
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const master = /^ {3}master {4}(127\.0\.0\.1:\d+)$/m.exec(stdout)?.[1];
    expect(master).toBeDefined();
    expect(stdout).toMatch(new RegExp(`failover +${master!.replace(/\./g, '\\.')} → 127\\.0\\.0\\.1:\\d+ in \\d+ ms`));
    expect(stdout).toMatch(/acknowledged, lost {3}0 \(0 of \d+ before the sync point; 0 of \d+ after it\)/);
    expect(stdout).toMatch(/outage {15}writes paused \d+ ms/);
    expect(stdout).toMatch(/old master {11}rejoined as a replica/);
    expect(stdout).toContain('WAIT 2 1000 → 2 replicas have every write so far');
    // No live counter off a terminal: plain lines only.
    expect(stdout).not.toContain('\r');
    expect(stdout).not.toContain('\x1b[');

    // Everything it started is gone: nothing listens where the servers were.
    const addresses = [...new Set(stdout.match(/127\.0\.0\.1:\d+/g))];
    expect(addresses.length).toBe(3);
    for (const address of addresses) {
      const socket = connect(Number(address.split(':')[1]), '127.0.0.1');
      const [error] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
      expect(error.code).toBe('ECONNREFUSED');
    }
  });
});
