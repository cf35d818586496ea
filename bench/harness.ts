import { Redis } from 'ioredis';
import { parseInfo } from '../src/topology/info-parser.js';
import { startReplicaSet, type ReplicaSet, type ReplicaSetOptions } from '../src/testing/index.js';
import { roundOrder } from './stats.js';

/** How long and how often; `--quick` shrinks all of it. */
export interface Settings {
  quick: boolean;
  /** A/B pairs per throughput comparison. */
  rounds: number;
  /** Length of one throughput round. */
  roundMs: number;
  /** Fresh replica sets per failover scenario. */
  runs: number;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function hostPort(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
}

/** A plain ioredis connection for checks made on the servers themselves (never a contender). */
export function direct(address: string): Redis {
  const conn = new Redis({ ...hostPort(address), maxRetriesPerRequest: 1, retryStrategy: () => null });
  conn.on('error', () => undefined);
  return conn;
}

export async function withDirect<T>(address: string, use: (conn: Redis) => Promise<T>): Promise<T> {
  const conn = direct(address);
  try {
    return await use(conn);
  } finally {
    conn.disconnect();
  }
}

/** Rejects after `ms` with `message`; every wait of the benchmark is bounded. */
export async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${message} (after ${ms} ms)`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 10): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A replica set that is always stopped, whatever happens in `use`. */
export async function withReplicaSet<T>(options: ReplicaSetOptions, use: (set: ReplicaSet) => Promise<T>): Promise<T> {
  const set = await startReplicaSet(options);
  try {
    return await use(set);
  } finally {
    await set.stop();
  }
}

/**
 * Counts what the servers ran, from their own `INFO commandstats`, over connections opened once
 * (so that counting around a round adds no connects or closes to the next round).
 */
export class CallCounter {
  readonly #conns: Map<string, Redis>;

  constructor(addresses: readonly string[]) {
    this.#conns = new Map(addresses.map((a) => [a, direct(a)]));
  }

  /** How many times each node ran `command` so far. */
  async calls(command: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    await Promise.all(
      [...this.#conns].map(async ([address, conn]) => {
        const entry = parseInfo(await conn.info('commandstats'))[`cmdstat_${command}`];
        out[address] = entry ? Number(/calls=(\d+)/.exec(entry)?.[1] ?? 0) : 0;
      }),
    );
    return out;
  }

  /** Runs `fn` and adds to `into` the calls of `command` each node ran meanwhile. */
  async around<T>(command: string, into: Record<string, number>, fn: () => Promise<T>): Promise<T> {
    const before = await this.calls(command);
    const result = await fn();
    const after = await this.calls(command);
    for (const [address, n] of Object.entries(after)) into[address] = (into[address] ?? 0) + n - (before[address] ?? 0);
    return result;
  }

  close(): void {
    for (const conn of this.#conns.values()) conn.disconnect();
  }
}

/** `role:master` and no master of its own, by the node's own `INFO replication`. */
export async function isMaster(address: string): Promise<boolean> {
  return withDirect(address, async (conn) => /^role:master\r?$/m.test(await conn.info('replication')));
}

export async function sentinelMaster(sentinel: string, name: string): Promise<string> {
  return withDirect(sentinel, async (conn) => {
    const [host, port] = (await conn.call('SENTINEL', 'get-master-addr-by-name', name)) as [string, string];
    return `${host}:${port}`;
  });
}

/**
 * Our own subscription to every Sentinel's `+switch-master`: the moment Sentinel announces the
 * new master, as any subscriber (ioredis's failover detector, this library) can first learn it.
 */
export async function watchSwitchMaster(sentinels: readonly string[]): Promise<{ at: () => number | null; to: () => string | null; close: () => void }> {
  let at: number | null = null;
  let to: string | null = null;
  const conns = sentinels.map(direct);
  for (const conn of conns) {
    conn.on('message', (channel: string, message: string) => {
      if (channel !== '+switch-master' || at !== null) return;
      at = performance.now();
      const parts = message.split(' ');
      to = `${parts[3]}:${parts[4]}`;
    });
  }
  await within(Promise.all(conns.map((c) => c.subscribe('+switch-master'))), 5000, 'subscribing to +switch-master');
  return {
    at: () => at,
    to: () => to,
    close: () => conns.forEach((c) => c.disconnect()),
  };
}

/**
 * A/B rounds, interleaved (A B, B A, …): `rounds` measurements of each, returned in pairs so the
 * caller can take a ratio per pair. One unmeasured warm-up round of each first.
 */
export async function interleaved<T>(rounds: number, a: () => Promise<T>, b: () => Promise<T>): Promise<{ a: T[]; b: T[] }> {
  await a();
  await b();
  const out = { a: [] as T[], b: [] as T[] };
  for (let i = 0; i < rounds; i++) {
    for (const which of roundOrder(i)) out[which].push(await (which === 'a' ? a() : b()));
  }
  return out;
}

/** A short label for an error, for tallies: the library's code, else Redis's reply prefix. */
export function errorLabel(error: unknown): string {
  if (error && typeof error === 'object') {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_')) return code;
    const name = (error as { name?: unknown }).name;
    const message = String((error as { message?: unknown }).message ?? '');
    const prefix = /^([A-Z]{3,})\b/.exec(message)?.[1];
    if (prefix) return prefix;
    if (typeof name === 'string' && name !== 'Error') return name;
    return message.slice(0, 60);
  }
  return String(error).slice(0, 60);
}
