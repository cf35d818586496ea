import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import createDebug from 'debug';

const log = createDebug('redis-failover:testing');

export function splitAddress(addr: string): { host: string; port: number } {
  const at = addr.lastIndexOf(':');
  const port = Number(addr.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port <= 0) {
    throw new Error(`redis-failover/testing: not a host:port address: ${addr}`);
  }
  return { host: addr.slice(0, at), port };
}

/**
 * ioredis clients used only to watch the set come up: no offline queue and a short command
 * timeout, so a check against a node that is down or stopped fails fast and is polled again.
 */
export class Probes {
  readonly #clients = new Map<string, Redis>();

  get(addr: string, password?: string): Redis {
    let client = this.#clients.get(addr);
    if (!client) {
      const { host, port } = splitAddress(addr);
      client = new Redis({
        host,
        port,
        password,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        connectTimeout: 1000,
        commandTimeout: 1000,
        retryStrategy: () => 20,
      });
      client.on('error', (err: Error) => log('probe %s: %s', addr, err.message));
      this.#clients.set(addr, client);
    }
    return client;
  }

  close(): void {
    for (const client of this.#clients.values()) client.disconnect();
    this.#clients.clear();
  }
}

/**
 * Polls `check` until it returns `true`; any other return value (or error) describes what is
 * still missing and ends up in the error thrown after `timeoutMs`. `signal` ends the polling early.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<true | string>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string;
  for (;;) {
    if (signal?.aborted) throw new Error(`redis-failover/testing: ${what}: wait cancelled`);
    try {
      const result = await check();
      if (result === true) return;
      last = result;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) {
      throw new Error(`redis-failover/testing: ${what} within ${timeoutMs} ms (last: ${last})`);
    }
    await delay(20);
  }
}

/** Runs every wait to its end and reports all that failed in one error. */
export async function settleAll(waits: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(waits);
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
  if (failed.length === 0) return;
  if (failed.length === 1) throw failed[0];
  const messages = failed.map((e) => (e instanceof Error ? e.message : String(e)));
  throw new AggregateError(failed, messages.join('; '));
}

/** One field of `INFO` text, e.g. `master_link_status`. */
export function infoField(info: string, field: string): string | undefined {
  const match = new RegExp(`^${field}:(.*?)\\r?$`, 'm').exec(info);
  return match?.[1];
}

/** A Sentinel reply entry (a flat `[key, value, …]` array) as a record. */
export function entryFields(entry: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  if (!Array.isArray(entry)) return fields;
  for (let i = 0; i + 1 < entry.length; i += 2) fields[String(entry[i])] = String(entry[i + 1]);
  return fields;
}
