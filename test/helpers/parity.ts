import { setTimeout as sleep } from 'node:timers/promises';
import { expect, vi } from 'vitest';

/** What the parity tests need of a client, plain ioredis or ours. */
interface Closable {
  on(event: 'error', listener: (error: Error) => void): unknown;
  disconnect(): void;
}

/** Run `steps` on each kind of client (`flush` first) and return the results by kind. */
export async function compareOn<M>(clients: Record<string, M>, flush: () => Promise<unknown>, steps: (make: M) => Promise<unknown>, kinds = Object.keys(clients)): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [name, make] of Object.entries(clients).filter(([name]) => kinds.includes(name))) {
    await flush();
    out[name] = await steps(make);
  }
  return out;
}

/** Every kind gave what the first gave. */
export function expectSame(results: Record<string, unknown>): void {
  const [first, ...rest] = Object.entries(results);
  for (const [name, value] of rest) expect({ [name]: value }).toEqual({ [name]: first![1] });
}

/**
 * `console.error`'s calls, and the `error` events heard (when `listen`), while a client that cannot
 * connect (a wrong password, no server) tries: until the first of either, or 5 s.
 */
export async function unhandledErrors(make: () => Closable, listen: boolean): Promise<{ calls: unknown[][]; heard: Error[] }> {
  const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  const heard: Error[] = [];
  const client = make();
  if (listen) client.on('error', (error: Error) => heard.push(error));
  const deadline = Date.now() + 5000;
  while (spy.mock.calls.length === 0 && heard.length === 0 && Date.now() < deadline) await sleep(20);
  client.disconnect();
  await sleep(50);
  const calls = spy.mock.calls.map((call) => [...call]);
  spy.mockRestore();
  return { calls, heard };
}

interface Quittable extends Closable {
  quit(): Promise<unknown>;
  ping(): Promise<unknown>;
  get(key: string): Promise<unknown>;
}

/**
 * `console.error`'s calls while clients are closed every way: `disconnect()` at once, `quit()` of a
 * lazy one, `disconnect()` once connected, `quit()` with a command in flight (of `key`).
 */
export async function errorsOnClose(make: (options?: { lazyConnect?: boolean }) => Quittable, key: string, settleMs: number): Promise<unknown[][]> {
  const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  const a = make();
  a.disconnect();
  const b = make({ lazyConnect: true });
  await b.quit();
  const c = make();
  await c.ping();
  c.disconnect();
  const d = make();
  d.get(key).catch(() => undefined);
  await d.quit();
  await sleep(settleMs);
  const calls = spy.mock.calls.map((call) => [...call]);
  spy.mockRestore();
  for (const client of [a, b, c, d]) client.disconnect();
  return calls;
}

/**
 * A log of what happened, in order: each promise as it settles (`name`, then its value or its
 * error's message), and, when a client is given, its status events among them.
 */
export function recorder(client?: { on(event: string, listener: () => void): unknown }, events: readonly string[] = []): { log: unknown[]; track(name: string, p: Promise<unknown>): Promise<void> } {
  const log: unknown[] = [];
  if (client !== undefined) for (const event of events) client.on(event, () => log.push(event));
  return {
    log,
    track: (name, p) =>
      p.then(
        (value) => void log.push([name, value]),
        (error: Error) => void log.push([name, 'rejected', error.message]),
      ),
  };
}
