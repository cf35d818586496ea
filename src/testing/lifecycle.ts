import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import createDebug from 'debug';
import { answersAs, settleAll, waitUntil } from './probe.js';
import { isRunning, killAndWait, launchDirect } from './process.js';

const log = createDebug('redis-failover:testing');

/** What a group of processes (a replica set, a cluster) shows its lifecycle. */
export interface ProcessGroup {
  /** Every process the group holds now; one not spawned yet is `undefined`. */
  processes(): Iterable<ChildProcess | undefined>;
  /** Undoes what else the group set up, once its processes are gone. */
  release?(): Promise<void>;
  /** The same, synchronously, for process exit. */
  releaseNow?(): void;
}

export interface LaunchOptions {
  binary: string;
  args: string[];
  dir: string;
  label: string;
  addr: string;
  timeoutMs: number;
  /** Called right after the spawn, so the caller can track the pid before it is ready. */
  onSpawn: (child: ChildProcess) => void;
  /** A client of `addr`, to see the process answer there. */
  probe: () => Redis;
}

/**
 * A group of processes in a temporary directory: from its creation until it has stopped they are
 * killed synchronously on process exit, and `stop()` stops them once however often it is called.
 */
export class Lifecycle {
  static readonly #live = new Set<Lifecycle>();
  // Runs on process exit (a failed test, process.exit()): only synchronous work is possible.
  static readonly #onExit = (): void => {
    for (const lifecycle of Lifecycle.#live) lifecycle.#killNow();
  };

  /** The group's temporary directory, removed on stop. */
  readonly root: string;
  readonly #group: ProcessGroup;
  /** What the group is called in errors: `'set'`, `'cluster'`. */
  readonly #noun: string;
  #stopping: Promise<void> | undefined;

  constructor(options: { prefix: string; noun: string; group: ProcessGroup }) {
    this.root = mkdtempSync(join(tmpdir(), options.prefix));
    this.#group = options.group;
    this.#noun = options.noun;
    if (Lifecycle.#live.size === 0) process.on('exit', Lifecycle.#onExit);
    Lifecycle.#live.add(this);
  }

  /** Whether `stop()` has been called. */
  get stopping(): boolean {
    return this.#stopping !== undefined;
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stopAll();
    return this.#stopping;
  }

  /**
   * Spawns `redis-server` (see `launchDirect`) and resolves when it answers PING — it, not
   * another process that took its free port first (then it exits, and the caller may retry on
   * another port). A process that comes up after `stop()` began is killed again, since the stop
   * may have missed it.
   */
  async launch(options: LaunchOptions): Promise<void> {
    const { label, addr } = options;
    const child = await launchDirect({
      binary: options.binary,
      args: options.args,
      dir: options.dir,
      label,
      addr,
      onSpawn: options.onSpawn,
      ready: (child, signal) =>
        waitUntil(`${label} ${addr} did not answer PING`, () => answersAs(options.probe(), child.pid), options.timeoutMs, signal),
    });
    log('%s %s pid %d', label, addr, child.pid);
    if (this.#stopping) {
      await killAndWait(child);
      throw new Error(`redis-failover/testing: the ${this.#noun} was stopped while ${label} started`);
    }
  }

  async #stopAll(): Promise<void> {
    const processes = [...this.#group.processes()];
    try {
      await settleAll(processes.flatMap((child) => (child ? [killAndWait(child)] : [])));
    } finally {
      await this.#group.release?.();
      rmSync(this.root, { recursive: true, force: true });
      Lifecycle.#live.delete(this);
      if (Lifecycle.#live.size === 0) process.off('exit', Lifecycle.#onExit);
      log('stopped %s', this.root);
    }
  }

  #killNow(): void {
    for (const child of this.#group.processes()) {
      if (child?.pid !== undefined && isRunning(child)) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
    this.#group.releaseNow?.();
    try {
      rmSync(this.root, { recursive: true, force: true });
    } catch {
      // A process still writing as it dies; the OS cleans tmp eventually.
    }
  }
}

/** Runs `start`; if it fails, stops `group` (a failed stop is only logged) and rethrows. */
export async function startOrStop<T extends { stop(): Promise<void> }>(group: T, start: () => Promise<void>): Promise<T> {
  try {
    await start();
  } catch (err) {
    await group.stop().catch((stopErr: unknown) => log('stop after failed start: %O', stopErr));
    throw err;
  }
  return group;
}
