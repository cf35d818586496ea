import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { RedisMemoryServer } from 'redis-memory-server';
import createDebug from 'debug';

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

export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** SIGKILL, then wait for the exit to be reaped; works on a stopped (SIGSTOP) process too. */
export async function killAndWait(child: ChildProcess, timeoutMs = 5000): Promise<void> {
  if (child.pid === undefined || !isRunning(child)) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await withTimeout(exited, timeoutMs, `redis-failover/testing: pid ${child.pid} did not exit after SIGKILL`);
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('redis-failover/testing: no free port');
  return address.port;
}

/** Forwards a process's log lines to `DEBUG=redis-failover:testing:output`. */
export function logOutput(child: ChildProcess, label: string): void {
  const write = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) output('%s %s', label, line.trimEnd());
  };
  child.stdout?.on('data', write);
  child.stderr?.on('data', write);
}

/**
 * Starts a data node through redis-memory-server. With `port`, the node must come up on exactly
 * that port: redis-memory-server silently moves to another port when the one asked for is busy,
 * which would break `restart()`'s promise, so that is an error here.
 */
export async function launchDataNode(options: {
  binary: string;
  port?: number;
  dir: string;
  args: string[];
  label: string;
  timeoutMs: number;
}): Promise<Launched> {
  const { label } = options;
  const starting = RedisMemoryServer.create({
    instance: { ip: '127.0.0.1', port: options.port, args: options.args },
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
  if (options.port !== undefined && info.port !== options.port) {
    await server.stop();
    throw new Error(`redis-failover/testing: ${label} could not start again on port ${options.port} (busy)`);
  }
  logOutput(child, `${label} 127.0.0.1:${info.port}`);
  return { child, watchdog: info.instance.killerProcess ?? undefined, port: info.port };
}

/**
 * Spawns `redis-server <conf> --sentinel` (Sentinel rewrites `conf`) and waits for `ready`,
 * failing as soon as the process exits instead.
 */
export async function launchSentinel(options: {
  binary: string;
  conf: string;
  dir: string;
  label: string;
  /** Called right after the spawn, so the caller can track the pid before it is ready. */
  onSpawn: (child: ChildProcess) => void;
  ready: (signal: AbortSignal) => Promise<void>;
}): Promise<ChildProcess> {
  const child = spawn(options.binary, [options.conf, '--sentinel'], {
    cwd: options.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  options.onSpawn(child);
  logOutput(child, options.label);
  const abort = new AbortController();
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) =>
      reject(new Error(`redis-failover/testing: ${options.label} exited (${signal ?? `code ${code}`}) before it answered`)),
    );
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
