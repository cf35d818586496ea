import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/**
 * A `redis-server` run the way a user runs one, not the way the testing helpers do: from its own
 * config file (as a systemd unit or a container entrypoint does) or its own command line, and
 * restarted with exactly that file or command line, as a service manager would.
 */
export class ServiceNode {
  readonly port: number;
  readonly address: string;
  readonly dir: string;
  readonly configFile: string | null;
  #args: string[];
  #child: ChildProcess | null = null;

  private constructor(port: number, dir: string, configFile: string | null, args: string[]) {
    this.port = port;
    this.address = `127.0.0.1:${port}`;
    this.dir = dir;
    this.configFile = configFile;
    this.#args = args;
  }

  /**
   * `lines` are config directives (`replicaof 127.0.0.1 6379`, `user app on …`). With
   * `configFile`, they go in `redis.conf` in the node's own folder; without, on the command line.
   */
  static async create(options: { configFile: boolean; lines?: string[]; port?: number }): Promise<ServiceNode> {
    const port = options.port ?? (await freePort());
    const dir = mkdtempSync(join(tmpdir(), `rf-service-${port}-`));
    const lines = [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, 'save ""', 'appendonly no', 'repl-ping-replica-period 1', 'repl-diskless-sync-delay 0', ...(options.lines ?? [])];
    if (options.configFile) {
      const file = join(dir, 'redis.conf');
      writeFileSync(file, `${lines.join('\n')}\n`);
      return new ServiceNode(port, dir, file, [file]);
    }
    const args = lines.flatMap((line) => {
      const [name, ...rest] = line.split(' ');
      return [`--${name}`, ...rest.map((v) => (v === '""' ? '' : v))];
    });
    return new ServiceNode(port, dir, null, args);
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Start it, and wait until it answers PING. */
  async start(): Promise<void> {
    const child = spawn('redis-server', this.#args, { stdio: 'ignore' });
    this.#child = child;
    const deadline = Date.now() + 10_000;
    for (;;) {
      const conn = new Redis({ port: this.port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      conn.on('error', () => undefined);
      try {
        await conn.connect();
        await conn.ping();
        return;
      } catch (error) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`redis-server on ${this.port} did not start: ${(error as Error).message}`, { cause: error });
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        conn.disconnect();
      }
    }
  }

  /** kill -9, by its pid, and wait for the exit. */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** What a service manager does: stop it, start it again from the same file or command line. */
  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise((r) => server.close(r));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}
