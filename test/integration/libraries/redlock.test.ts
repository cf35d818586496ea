import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { FailoverRedis } from '../../../src/index.js';
import { killMaster, sharedSet, whoIsMaster, MODES, sleep, unexpected } from '../../helpers/libraries.js';
import { resources } from '../../helpers/resources.js';
import { waitFor } from '../../helpers/writer.js';

// redlock 4 is CommonJS without typings: the part of its API used here.
interface Lock {
  value: string;
  expiration: number;
  unlock(): Promise<void>;
  extend(ttl: number): Promise<Lock>;
}
interface RedlockInstance {
  lock(resource: string, ttl: number): Promise<Lock>;
  on(event: 'clientError', listener: (error: unknown) => void): void;
}
type RedlockClass = new (clients: unknown[], options: Record<string, number>) => RedlockInstance;
const Redlock = createRequire(import.meta.url)('redlock') as RedlockClass;

const res = resources();
const TTL = 1000;

interface Tally {
  /** lock() gave up after its retries. */
  lockGaveUp: number;
  acquired: number;
  extended: number;
  extendFailed: number;
  unlocked: number;
  unlockFailed: number;
  /** Two holders at once, both locks still valid: `lost` if the first was taken on the killed master and the second on another. */
  overlaps: { lost: boolean; masters: string[] }[];
  /** The raw client errors redlock reports (`clientError`), each a command's rejection. */
  clientErrors: unknown[];
}

/**
 * `workers` lock loops on one resource, one Redlock per client (as separate processes would be):
 * lock (TTL 1 s), hold ~15 ms, extend, hold ~15 ms, unlock. A holder is checked against the
 * others at every acquisition: two in their critical section with unexpired locks is an overlap.
 */
function lockLoops(clients: (Redis | FailoverRedis)[], resource: string, oldMaster: () => string | null) {
  const tally: Tally = { lockGaveUp: 0, acquired: 0, extended: 0, extendFailed: 0, unlocked: 0, unlockFailed: 0, overlaps: [], clientErrors: [] };
  const holding = new Map<number, { validUntil: number; master: string }>();
  const masterOf = (c: Redis | FailoverRedis) => ('topology' in c ? (c.topology().master?.address ?? 'none') : 'plain');
  /** What each worker is doing now, for a failure message. */
  const phase = clients.map(() => 'start');
  let running = true;
  const loops = clients.map(async (client, w) => {
    // Bounded retries (~3 s): with retryCount -1 an extend of a lock that expired while it was held
    // through the failover would retry for ever (redlock retries extends as it retries locks).
    const redlock = new Redlock([client], { retryCount: 150, retryDelay: 20, retryJitter: 10 });
    redlock.on('clientError', (e) => tally.clientErrors.push(e));
    while (running) {
      phase[w] = 'lock';
      let lock: Lock;
      try {
        lock = await redlock.lock(resource, TTL);
      } catch {
        tally.lockGaveUp++;
        continue;
      }
      const now = Date.now();
      for (const [other, h] of holding) {
        // Classified by where each lock was taken (the client's master at that moment), not by time:
        // redlock resolves on bluebird's scheduler, after the I/O callbacks of the same turn, so a
        // lock the old master granted just before it died may resolve after the kill was seen.
        const here = masterOf(client);
        if (other !== w && h.validUntil > now) tally.overlaps.push({ lost: h.master === oldMaster() && here !== oldMaster(), masters: [h.master, here] });
      }
      tally.acquired++;
      const master = masterOf(client);
      holding.set(w, { validUntil: lock.expiration, master });
      await sleep(15);
      let valid = true;
      phase[w] = 'extend';
      try {
        await lock.extend(TTL);
        tally.extended++;
        holding.set(w, { validUntil: lock.expiration, master });
      } catch {
        tally.extendFailed++;
        valid = false; // stop using it: its validity is the first lock's
      }
      if (valid) await sleep(15);
      holding.delete(w);
      phase[w] = 'unlock';
      try {
        await lock.unlock();
        tally.unlocked++;
      } catch {
        tally.unlockFailed++;
      }
      phase[w] = 'idle';
      await sleep(5);
    }
    phase[w] = 'stopped';
  });
  return {
    tally,
    phase,
    async stop() {
      running = false;
      const stopped = await Promise.race([Promise.all(loops).then(() => true), sleep(10_000).then(() => false)]);
      if (!stopped) throw new Error(`lock loops still running 10 s after stop: ${phase.join(', ')}; tally ${JSON.stringify({ ...tally, clientErrors: tally.clientErrors.length })}`);
      return tally;
    },
  };
}

describe.each(MODES)('redlock 4 on one replica set, %s mode', (mode) => {
  const shared = sharedSet(res, mode);

  it('control, plain ioredis then FailoverRedis on the same master, no failover: 3 workers, 20 acquisitions, every extend and unlock succeeds, never two holders', async () => {
    const ms = await shared();
    const [host, port] = ms.set.master.split(':');
    const plain = [0, 1, 2].map(() => new Redis({ host, port: Number(port) }));
    try {
      const ours = [0, 1, 2].map(() => res.client(ms.options()));
      for (const clients of [plain, ours]) {
        const loops = lockLoops(clients, `ctl-${mode}-${clients === plain ? 'plain' : 'failover'}`, () => null);
        await waitFor('20 acquisitions', () => loops.tally.acquired >= 20 || undefined);
        const t = await loops.stop();
        expect(t.overlaps).toEqual([]);
        expect(t.clientErrors).toEqual([]);
        expect([t.lockGaveUp, t.extendFailed, t.unlockFailed]).toEqual([0, 0, 0]);
        expect(t.unlocked).toBe(t.acquired);
      }
      await Promise.all(ours.map((c) => c.quit()));
    } finally {
      for (const c of plain) c.disconnect();
    }
  });

  it('kill -9 of the master between acquisitions: locks go on being taken, extended and released on the new master; no two holders at once except a lock lost with the old master (async replication, counted); only ERR_MAYBE_APPLIED fails', async () => {
    const ms = await shared();
    const clients = [0, 1, 2].map(() => res.client(ms.options()));
    const failovers: string[] = [];
    clients.forEach((c, i) => c.on('failover', (e) => failovers.push(`client ${i}: ${e.from} -> ${e.to} (${e.reason})`)));
    await Promise.all(clients.map((c) => c.connect()));
    const loops = lockLoops(clients, `res-${mode}`, () => ms.set.master);
    await waitFor('20 acquisitions', () => loops.tally.acquired >= 20 || undefined);
    const before = loops.tally.acquired;
    const t0 = performance.now();
    await killMaster(ms, clients[0]!).catch(async (e: Error) => {
      throw new Error(`${e.message}; ${await whoIsMaster(ms, clients)}`);
    });
    const failoverMs = Math.round(performance.now() - t0);
    await waitFor('20 acquisitions on the new master', () => loops.tally.acquired >= before + 20 || undefined, 20_000).catch(async (e: Error) => {
      throw new Error(`${e.message}; tally ${JSON.stringify({ ...loops.tally, clientErrors: loops.tally.clientErrors.map(String) })}; ${await whoIsMaster(ms, clients)}`);
    });
    const resumedMs = Math.round(performance.now() - t0);
    const t = await loops.stop();
    const lost = t.overlaps.filter((o) => o.lost).length;
    console.log(
      `redlock ${mode}: new master after ${failoverMs} ms, 20 more locks by ${resumedMs} ms; lock() gave up ${t.lockGaveUp}; acquired ${t.acquired} (${before} before the kill), extended ${t.extended} (failed ${t.extendFailed}), ` +
        `unlocked ${t.unlocked} (failed ${t.unlockFailed}), overlaps ${t.overlaps.length} (lost with the old master ${lost}), ` +
        `client errors ${t.clientErrors.length}: ${[...new Set(t.clientErrors.map((e) => (e as { code?: string }).code))].join(', ')}`,
    );

    expect(unexpected(t.clientErrors)).toEqual([]);
    // Known Redis limit: a lock taken (or extended) on the master and not yet replicated dies with
    // it, so a second holder may get it on the new master. Only that kind of overlap is allowed.
    expect(t.overlaps.filter((o) => !o.lost), `overlaps not explained by the kill; failovers: ${failovers.join('; ')}`).toEqual([]);
    // Each worker has at most one extend or unlock in flight at the kill (an extend or unlock held
    // through a failover longer than the TTL finds its lock expired: redlock reports it failed).
    expect(t.extendFailed + t.unlockFailed).toBeLessThanOrEqual(clients.length);
    expect(t.lockGaveUp).toBe(0);
  });
});
