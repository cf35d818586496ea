import { Redis } from 'ioredis';
import { parseInfo } from '../../src/topology/info-parser.js';

/** A plain ioredis connection to one node, for checks made on the servers themselves. */
export function direct(address: string, options: Record<string, unknown> = {}): Redis {
  const at = address.lastIndexOf(':');
  return new Redis({ host: address.slice(0, at), port: Number(address.slice(at + 1)), lazyConnect: false, ...options });
}

/** How many times each node ran `command`, from its own `INFO commandstats`. */
export async function commandCalls(addresses: readonly string[], command: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const address of addresses) {
    const conn = direct(address);
    try {
      const stats = parseInfo(await conn.info('commandstats'));
      const entry = stats[`cmdstat_${command}`];
      out[address] = entry ? Number(/calls=(\d+)/.exec(entry)?.[1] ?? 0) : 0;
    } finally {
      conn.disconnect();
    }
  }
  return out;
}

export async function resetStats(addresses: readonly string[]): Promise<void> {
  for (const address of addresses) {
    const conn = direct(address);
    try {
      await conn.config('RESETSTAT');
    } finally {
      conn.disconnect();
    }
  }
}

/** Wait until every replica has the master's offset (so replica reads see the writes). */
export async function waitForReplication(master: string, replicas: number, timeoutMs = 5000): Promise<void> {
  const conn = direct(master);
  try {
    await conn.wait(replicas, timeoutMs);
  } finally {
    conn.disconnect();
  }
}
