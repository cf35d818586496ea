import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import createDebug from 'debug';
import { splitAddress as splitHostPort, type HostPort } from '../topology/address.js';

const log = createDebug('redis-failover:testing');

/** The library's `splitAddress`, refusing what is not a `host:port` (these come from users). */
export function splitAddress(addr: string): HostPort {
  const node = splitHostPort(addr);
  if (node.host === '' || !Number.isInteger(node.port) || node.port <= 0) {
    throw new Error(`redis-failover/testing: not a host:port address: ${addr}`);
  }
  return node;
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

/** `true` once the server behind `client` answers PING and is the process `pid`. */
export async function answersAs(client: Redis, pid: number | undefined): Promise<true | string> {
  const pong = await client.ping();
  if (pong !== 'PONG') return `PING answered ${pong}`;
  const id = infoField(await client.info('server'), 'process_id');
  return Number(id) === pid || `process ${id ?? '?'} answers there, not ${pid}`;
}

export async function replicaLinkUp(client: Redis): Promise<true | string> {
  const status = infoField(await client.info('replication'), 'master_link_status');
  return status === 'up' || `master_link_status:${status ?? '?'}`;
}

/** One field of `INFO` text, e.g. `master_link_status`. */
function infoField(info: string, field: string): string | undefined {
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

/** `true` once the Sentinel reports the master and is connected to every replica and other Sentinel. */
export async function sentinelSees(
  client: Redis,
  expected: { name: string; master: string; replicas: string[]; sentinels: number },
): Promise<true | string> {
  const [master, others, replicas] = await Promise.all([
    client.call('SENTINEL', 'get-master-addr-by-name', expected.name),
    client.call('SENTINEL', 'sentinels', expected.name),
    client.call('SENTINEL', 'replicas', expected.name),
  ]);
  const missing: string[] = [];
  const known = Array.isArray(master) ? master.join(':') : String(master);
  if (known !== expected.master) missing.push(`master is ${known}`);
  const otherCount = connected(others).length;
  if (otherCount !== expected.sentinels - 1) {
    missing.push(`sees ${otherCount}/${expected.sentinels - 1} other sentinels`);
  }
  const seen = new Set(connected(replicas).map((fields) => `${fields['ip']}:${fields['port']}`));
  const unseen = expected.replicas.filter((replica) => !seen.has(replica));
  if (unseen.length > 0) missing.push(`does not see replica(s) ${unseen.join(', ')}`);
  return missing.length === 0 || missing.join(', ');
}

function connected(reply: unknown): Record<string, string>[] {
  return (Array.isArray(reply) ? reply : [])
    .map(entryFields)
    .filter((fields) => !/s_down|disconnected/.test(fields['flags'] ?? ''));
}
