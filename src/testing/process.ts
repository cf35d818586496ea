import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import createDebug from 'debug';
import { withTimeout } from '../util.js';

const output = createDebug('redis-failover:testing:output');

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** The pid while `child` runs (paused counts as running). */
export function pidWhileRunning(child: ChildProcess | undefined): number | undefined {
  return child && isRunning(child) ? child.pid : undefined;
}

/** `child`, of the member at `addr`, if it runs; else throws. */
export function runningOrThrow(child: ChildProcess | undefined, addr: string): ChildProcess {
  if (!child || !isRunning(child)) throw new Error(`redis-failover/testing: ${addr} is not running`);
  return child;
}

/** SIGKILL, then wait for the exit to be reaped; works on a stopped (SIGSTOP) process too. */
export async function killAndWait(child: ChildProcess, timeoutMs = 5000): Promise<void> {
  if (child.pid === undefined || !isRunning(child)) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await withTimeout(exited, timeoutMs, `redis-failover/testing: pid ${child.pid} did not exit after SIGKILL`);
}

export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error('redis-failover/testing: no free port');
  return port;
}

/** `count` distinct free ports (held open together, so none is handed out twice). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer().listen(0, '127.0.0.1'));
  try {
    await Promise.all(servers.map((server) => once(server, 'listening')));
    return servers.map((server) => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('redis-failover/testing: no free port');
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/** The last lines a process printed, for the error when it exits before it answers. */
const TAIL_LINES = 5;

/**
 * Forwards a process's log lines to `DEBUG=redis-failover:testing:output`; returns a function
 * giving its last few lines (why redis-server gave up: a port in use, a bad argument).
 */
export function logOutput(child: ChildProcess, label: string): () => string[] {
  const tail: string[] = [];
  const write = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line.trim()) continue;
      output('%s %s', label, line.trimEnd());
      tail.push(line.trim());
      if (tail.length > TAIL_LINES) tail.shift();
    }
  };
  child.stdout?.on('data', write);
  child.stderr?.on('data', write);
  return () => [...tail];
}

/**
 * Spawns `redis-server` (data nodes, Sentinels, cluster nodes; first starts and restarts alike)
 * and waits for `ready`, failing as soon as the process exits instead, with its last log lines.
 */
export async function launchDirect(options: {
  binary: string;
  args: string[];
  dir: string;
  /** What it is (`master`, `sentinel-2`) and where it listens. */
  label: string;
  addr: string;
  /** Called right after the spawn, so the caller can track the pid before it is ready. */
  onSpawn: (child: ChildProcess) => void;
  ready: (child: ChildProcess, signal: AbortSignal) => Promise<void>;
}): Promise<ChildProcess> {
  const child = spawn(options.binary, options.args, { cwd: options.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  options.onSpawn(child);
  const tail = logOutput(child, `${options.label} ${options.addr}`);
  const abort = new AbortController();
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => {
      const report = () => {
        const said = tail();
        const last = said.length > 0 ? `: ${said.join(' | ')}` : '';
        const how = signal ?? `code ${code}`;
        reject(new Error(`redis-failover/testing: ${options.label} did not start on ${options.addr}: it exited (${how})${last}`));
      };
      // Its last lines may still be in the pipes; wait for them, briefly (a fork may hold them).
      const late = setTimeout(report, 200).unref();
      child.once('close', () => {
        clearTimeout(late);
        report();
      });
    });
    child.once('error', reject);
  });
  exited.catch(() => {});
  try {
    await Promise.race([options.ready(child, abort.signal), exited]);
    return child;
  } catch (err) {
    await killAndWait(child);
    throw err;
  } finally {
    abort.abort();
  }
}
