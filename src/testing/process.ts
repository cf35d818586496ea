import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { RedisMemoryServer } from 'redis-memory-server';
import createDebug from 'debug';
import { withTimeout } from '../util.js';

const output = createDebug('redis-failover:testing:output');

export interface Launched {
  child: ChildProcess;
  /** redis-memory-server's watchdog process for `child`, killed along with it. */
  watchdog: ChildProcess | undefined;
  port: number;
}

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

/** Forwards a process's log lines to `DEBUG=redis-failover:testing:output`. */
export function logOutput(child: ChildProcess, label: string): void {
  const write = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) output('%s %s', label, line.trimEnd());
  };
  child.stdout?.on('data', write);
  child.stderr?.on('data', write);
}

interface DataNodeOptions {
  binary: string;
  dir: string;
  args: string[];
  label: string;
  timeoutMs: number;
}

/**
 * Starts a data node on a free port through redis-memory-server. (Not for restarts: it will not
 * hand out again, for 15 s or more, a port it handed out, and moves to another port instead.)
 */
export async function launchDataNode(options: DataNodeOptions): Promise<Launched> {
  // Another process can take the free port before redis-server binds it: then try another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchDataNodeOnce(options);
    } catch (err) {
      if (attempt >= 3 || !(err instanceof Error) || !/already in use/i.test(err.message)) throw err;
    }
  }
}

async function launchDataNodeOnce(options: DataNodeOptions): Promise<Launched> {
  const { label } = options;
  const starting = RedisMemoryServer.create({
    instance: { ip: '127.0.0.1', args: options.args },
    binary: { systemBinary: options.binary },
    spawn: { cwd: options.dir },
    autoStart: true,
  });
  let server: RedisMemoryServer;
  try {
    server = await withTimeout(starting, options.timeoutMs, `timed out after ${options.timeoutMs} ms`);
  } catch (err) {
    // A start that times out may still finish later: stop it then.
    starting.then((late) => late.stop()).catch(() => {});
    // redis-memory-server rejects with plain strings ("redis-server instance closed with code 1").
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`redis-failover/testing: ${label} did not start: ${reason}`, { cause: err });
  }
  const info = server.getInstanceInfo();
  const child = info ? info.childProcess : undefined;
  if (!info || !child || child.pid === undefined) {
    await server.stop();
    throw new Error(`redis-failover/testing: ${label} started without a process`);
  }
  logOutput(child, `${label} 127.0.0.1:${info.port}`);
  return { child, watchdog: info.instance.killerProcess ?? undefined, port: info.port };
}

/**
 * Spawns `redis-server` directly (Sentinels, and data nodes coming back on their old port) and
 * waits for `ready`, failing as soon as the process exits instead.
 */
export async function launchDirect(options: {
  binary: string;
  args: string[];
  dir: string;
  label: string;
  /** Called right after the spawn, so the caller can track the pid before it is ready. */
  onSpawn: (child: ChildProcess) => void;
  ready: (signal: AbortSignal) => Promise<void>;
}): Promise<ChildProcess> {
  const child = spawn(options.binary, options.args, { cwd: options.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  options.onSpawn(child);
  logOutput(child, options.label);
  const abort = new AbortController();
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => {
      const how = signal ?? `code ${code}`;
      reject(new Error(`redis-failover/testing: ${options.label} exited (${how}) before it answered`));
    });
    child.once('error', reject);
  });
  exited.catch(() => {});
  try {
    await Promise.race([options.ready(abort.signal), exited]);
    return child;
  } catch (err) {
    await killAndWait(child);
    throw err;
  } finally {
    abort.abort();
  }
}
