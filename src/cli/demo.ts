import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { FailoverRedis } from '../client.js';
import type { FailoverEvent } from '../events.js';
import { pendingConvergence } from '../topology/health.js';
import type { Address } from '../topology/types.js';
import { splitAddress } from '../topology/address.js';
import type { ReplicaSet } from '../testing/index.js';
import { COMMON_OPTIONS, parse, UsageError } from './args.js';
import type { CommandContext } from './context.js';
import { HELP } from './help.js';
import { duration } from './render.js';

type Testing = typeof import('../testing/index.js');

/**
 * The testing helper, loaded by this command only: the others need none of it. It runs the
 * `redis-server` on PATH (or REDISMS_SYSTEM_BINARY); without one, `startReplicaSet` rejects with a
 * `RedisServerNotFoundError` that says how to get one. The specifier is a variable so that the
 * bundler leaves the import alone; `../testing/index.js` is right from src/cli (tsx) and from
 * dist/cli alike.
 */
async function loadTesting(): Promise<Testing> {
  const specifier = '../testing/index.js';
  return (await import(specifier)) as Testing;
}

const TRAFFIC_MS = 1500;
const FAILOVER_TIMEOUT_MS = 30_000;
const REJOIN_TIMEOUT_MS = 25_000;

/**
 * Writes and reads through FailoverRedis, one at a time each, recording what was acknowledged
 * (and when it was sent): the raw material for the outage and data-loss figures.
 */
class Workload {
  readonly acked: string[] = [];
  readonly sentAt: number[] = [];
  readonly ackedAt: number[] = [];
  readonly failures = new Map<string, number>();
  reads = 0;
  readFailures = 0;
  #running = true;
  #loops: Promise<void>[];

  constructor(redis: FailoverRedis) {
    this.#loops = [this.#write(redis), this.#read(redis)];
  }

  get failed(): number {
    let n = 0;
    for (const count of this.failures.values()) n += count;
    return n;
  }

  /** When the first write sent at or after `since` was acknowledged, or null. */
  firstAckSentAfter(since: number): number | null {
    for (let i = this.sentAt.length - 1; i >= 0 && this.sentAt[i]! >= since; i--) {
      if (i === 0 || this.sentAt[i - 1]! < since) return this.ackedAt[i]!;
    }
    return null;
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  async #write(redis: FailoverRedis): Promise<void> {
    for (let i = 0; this.#running; i++) {
      const key = `demo:${i}`;
      const sent = performance.now();
      try {
        await redis.set(key, String(i));
        this.acked.push(key);
        this.sentAt.push(sent);
        this.ackedAt.push(performance.now());
      } catch (error) {
        const code = (error as { code?: string }).code ?? (error as Error).name;
        this.failures.set(code, (this.failures.get(code) ?? 0) + 1);
      }
      await sleep(1);
    }
  }

  async #read(redis: FailoverRedis): Promise<void> {
    while (this.#running) {
      try {
        await redis.get(this.acked.at(-1) ?? 'demo:0');
        this.reads++;
      } catch {
        this.readFailures++;
      }
      await sleep(1);
    }
  }
}

/** `demo`: the runbook scenario end to end on a throwaway replica set. 0 when it went as it should. */
export async function demo(argv: readonly string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, 'no-sentinel': { type: 'boolean' } });
  const { out } = ctx;
  const { style } = out;
  if (values['help']) {
    out.out(HELP['demo']);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`demo starts its own servers and takes no addresses (got ${positionals.join(' ')})`);
  const withSentinel = values['no-sentinel'] !== true;
  const started = performance.now();
  const step = (n: number, text: string): void => out.out(`\n${style.bold(`${n}. ${text}`)}`);
  const say = (text: string): void => out.out(`   ${text}`);

  out.out(`${style.bold('redis-failover demo')}: the master/replica runbook, end to end, on a throwaway replica set`);
  step(1, `Start a master, 2 replicas${withSentinel ? ' and 3 Sentinels' : ' (no Sentinel: the client itself will promote)'}`);
  const testing = await loadTesting();
  const set: ReplicaSet = await testing.startReplicaSet({ replicas: 2, sentinels: withSentinel ? 3 : 0, downAfterMs: 1000 });
  let redis: FailoverRedis | null = null;
  let workload: Workload | null = null;
  let ticker: NodeJS.Timeout | undefined;
  let cleaning: Promise<void> | null = null;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      clearInterval(ticker);
      await workload?.stop().catch(() => undefined);
      await redis?.quit().catch(() => undefined);
      await set.stop();
    })());
  const onInterrupt = (): void => {
    out.out(style.yellow('\ninterrupted: stopping the replica set'));
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onInterrupt);

  try {
    say(`master    ${set.master}`);
    say(`replicas  ${set.replicas.join(', ')}`);
    if (withSentinel) say(`sentinels ${set.sentinels.join(', ')} (down-after 1000 ms, quorum 2)`);
    say(style.dim(`up in ${duration(performance.now() - started)}`));

    step(2, 'Traffic through FailoverRedis: SET to the master, GET from the replicas');
    redis = new FailoverRedis(withSentinel ? { sentinels: set.sentinels, name: set.name } : { nodes: [set.master], failover: { downAfterMs: 1000 } });
    redis.on('error', () => undefined);
    await redis.connect();
    say(`${withSentinel ? `new FailoverRedis({ sentinels: [${set.sentinels.length} Sentinels], name: '${set.name}' })` : `new FailoverRedis({ nodes: ['${set.master}'] })`}`);
    const client = redis;
    const load = (workload = new Workload(client));
    const counts = (): string =>
      `writes ${load.acked.length} acknowledged, ${load.failed} failed · reads ${load.reads} · master ${client.topology().master?.address ?? 'none'}`;
    ticker = setInterval(() => out.status(`   ${style.cyan('▶')} ${counts()}`), 100);

    let killedAt: number | null = null;
    const at = (): string => (killedAt === null ? '' : style.dim(`+${((performance.now() - killedAt) / 1000).toFixed(3)} s `));
    const failovers: FailoverEvent[] = [];
    // Up and down of the old master only: replicas flicker while Sentinel reconfigures them, which
    // says little here (and 'watch' shows it all).
    let watched: { address: string; seen: Set<string> } | null = null;
    const upDown = (address: string, state: 'up' | 'down'): void => {
      if (watched === null || address !== watched.address || watched.seen.has(state)) return;
      watched.seen.add(state);
      say(`${at()}${address} ${state === 'up' ? style.green('up') : style.red('down')}`);
    };
    client.on('node-down', (e) => upDown(e.address, 'down'));
    client.on('node-up', (e) => upDown(e.address, 'up'));
    client.on('role-change', (e) => {
      const { master, replicas } = client.topology();
      // A node that does not answer has no role of its own to report (Sentinel's list, or a guess).
      if (![master, ...replicas].some((n) => n?.address === e.address && n.up)) return;
      // A node back from the dead reports its role afresh: while the master answers, a node saying
      // master is a second one, not a promotion (with the master dead, it is the promotion).
      if (e.to === 'master' && master?.up && master.address !== e.address) say(`${at()}${e.address} says role:master while the master is ${master.address}`);
      else say(`${at()}${e.address}: ${e.from} → ${style.bold(e.to)}`);
    });
    client.on('warning', (e) => say(`${at()}${style.yellow(e.code)}: ${e.message}`));
    client.on('failover', (e) => {
      failovers.push(e);
      say(`${at()}${style.bold('failover')} ${e.from} → ${style.bold(e.to ?? 'none')} in ${duration(e.durationMs)} (${e.reason})`);
    });

    await sleep(TRAFFIC_MS);
    say(counts());

    step(3, 'Sync point: WAIT for both replicas');
    const synced = load.acked.length;
    const replicas = await client.wait(2, 1000);
    say(`WAIT 2 1000 → ${replicas} replicas have every write so far (${synced} acknowledged).`);
    say(style.dim('Replication is asynchronous: a write acknowledged between this point and the kill may die with'));
    say(style.dim('the master before it reaches a replica. Those are counted apart; no client can save them.'));

    const oldMaster = client.topology().master!.address;
    step(4, `kill -9 the master ${oldMaster}`);
    watched = { address: oldMaster, seen: new Set() };
    killedAt = performance.now();
    const kill = killedAt;
    say(`${at()}SIGKILL ${oldMaster}`);
    await set.kill(oldMaster);
    const resumedAt = await until(FAILOVER_TIMEOUT_MS, () => {
      const master = client.topology().master;
      return master !== null && master.address !== oldMaster ? load.firstAckSentAfter(kill) : null;
    });
    if (resumedAt === null) throw new Error(`no write was acknowledged by a new master within ${duration(FAILOVER_TIMEOUT_MS)} of the kill`);
    const newMaster = client.topology().master!.address;
    const outageMs = resumedAt - kill;
    say(`${at()}first write acknowledged by the new master ${style.bold(newMaster)}: writes were paused ${style.bold(duration(outageMs))}`);

    step(5, `Restart the old master ${oldMaster}: empty, and a master again (a crash without persistence)`);
    await set.restart(oldMaster);
    const restartedAt = performance.now();
    say(`${at()}${oldMaster} restarted`);
    say(
      style.dim(
        withSentinel
          ? 'Sentinel reconfigures a returning master itself, after ~8 s (it lets its new configuration spread first)…'
          : 'The client sees a second master that is not the one its replicas follow, and demotes it (REPLICAOF)…',
      ),
    );
    const rejoinedAt = await until(REJOIN_TIMEOUT_MS, async () => {
      const topology = await client.refreshTopology().catch(() => null);
      return topology !== null && pendingConvergence(topology, newMaster, [oldMaster]).length === 0 ? performance.now() : null;
    }, 200);
    if (rejoinedAt !== null) say(`${at()}${oldMaster} is a replica of ${newMaster} again, link up, ${duration(rejoinedAt - restartedAt)} after its restart`);
    else say(style.red(`${oldMaster} did not rejoin as a replica within ${duration(REJOIN_TIMEOUT_MS)}`));

    step(6, 'Stop the traffic and look for every acknowledged write on the new master');
    await sleep(200);
    clearInterval(ticker);
    await load.stop();
    const missing = await missingKeys(newMaster, load.acked);
    const lostBefore = missing.filter((i) => i < synced).length;
    const lostAfter = missing.length - lostBefore;
    say(`EXISTS on ${newMaster} for each of the ${load.acked.length} acknowledged keys: ${missing.length} missing`);

    out.out(`\n${style.bold('Summary')}`);
    const failover = failovers.find((f) => f.to !== null);
    const failures = [...load.failures].map(([code, n]) => `${n} ${code}`).join(', ');
    const rows: [string, string][] = [
      ['mode', withSentinel ? 'Sentinel (3 Sentinels, down-after 1000 ms)' : 'client mode (the client promotes; down-after 1000 ms)'],
      ['writes acknowledged', `${load.acked.length} (${synced} before the WAIT sync point)`],
      ['writes failed', load.failed === 0 ? '0' : `${load.failed} (${failures}${load.failures.has('ERR_MAYBE_APPLIED') ? ': in flight when the master died; may have been applied' : ''})`],
      ['acknowledged, lost', `${missing.length} (${lostBefore} of ${synced} before the sync point; ${lostAfter} of ${load.acked.length - synced} after it)`],
      ['reads', `${load.reads} (${load.readFailures} failed)`],
      ['failover', failover ? `${failover.from} → ${failover.to} in ${duration(failover.durationMs)}, as the client measured it` : 'none seen'],
      ['outage', `writes paused ${duration(outageMs)} (from the kill to the first write acknowledged by the new master)`],
      ['old master', rejoinedAt !== null ? `rejoined as a replica ${duration(rejoinedAt - restartedAt)} after its restart` : 'did not rejoin'],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) say(`${k.padEnd(width)}  ${v}`);

    const ok = failover !== undefined && rejoinedAt !== null && lostBefore === 0;
    await cleanup();
    out.out(
      ok
        ? style.green(`\n✓ failover ${failover.from} → ${failover.to}, old master back as a replica, no write acknowledged before the sync point lost`)
        : style.red('\n✗ the demo did not go as it should (see above)'),
    );
    out.out(style.dim(`replica set stopped; ${duration(performance.now() - started)} in all`));
    return ok ? 0 : 1;
  } finally {
    process.off('SIGINT', onInterrupt);
    await cleanup();
  }
}

/** Polls `check` every `everyMs` until it returns a value, or null after `timeoutMs`. */
async function until<T>(timeoutMs: number, check: () => T | null | Promise<T | null>, everyMs = 20): Promise<T | null> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const value = await check();
    if (value !== null) return value;
    await sleep(everyMs);
  }
  return null;
}

/** The indexes of `keys` that do not exist on `address`, asked with plain ioredis (EXISTS, pipelined). */
async function missingKeys(address: Address, keys: readonly string[]): Promise<number[]> {
  const conn = new Redis({ ...splitAddress(address), lazyConnect: true, maxRetriesPerRequest: 1 });
  conn.on('error', () => undefined);
  try {
    await conn.connect();
    const missing: number[] = [];
    for (let start = 0; start < keys.length; start += 1000) {
      const batch = keys.slice(start, start + 1000);
      const pipeline = conn.pipeline();
      for (const key of batch) pipeline.exists(key);
      const results = (await pipeline.exec()) ?? [];
      results.forEach(([error, exists], i) => {
        if (error !== null || exists !== 1) missing.push(start + i);
      });
    }
    return missing;
  } finally {
    conn.disconnect();
  }
}
