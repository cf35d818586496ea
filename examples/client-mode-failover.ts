/**
 * Client mode (no Sentinel): the client runs the failover runbook itself. Every event is printed
 * while a writer runs: the master is killed; once it has been silent for `downAfterMs` and the
 * replicas confirm that their own link to it is down, the client promotes the best replica
 * (`REPLICAOF NO ONE`) and repoints the other; the writes issued meanwhile wait and then land on
 * the new master. When the old master comes back — empty, as a master — it is demoted to a
 * replica of the new one.
 * Run: npx tsx examples/client-mode-failover.ts
 */
import { Redis } from 'ioredis';
import { FailoverRedis, type FailoverEvent } from 'redis-failover';
import { startReplicaSet } from 'redis-failover/testing';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with `promise`, or rejects once `ms` passed, so a broken set-up fails instead of hanging. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `check` every 50 ms until it returns true; throws after `ms` so nothing hangs. */
async function waitUntil(what: string, ms: number, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** A node's own view of its replication role, straight from `INFO replication`. */
async function replicationOf(address: string): Promise<{ role: string; master: string; link: string }> {
  const [host, port] = address.split(':');
  const node = new Redis({ host, port: Number(port), lazyConnect: true, retryStrategy: () => null });
  try {
    await node.connect();
    const info = await node.info('replication');
    const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim() ?? '';
    return { role: field('role'), master: `${field('master_host')}:${field('master_port')}`, link: field('master_link_status') };
  } finally {
    node.disconnect();
  }
}

const set = await startReplicaSet({ replicas: 2 });
const redis = new FailoverRedis({ nodes: [set.master], failover: { downAfterMs: 1000 } });
const started = performance.now();
const log = (line: string) => console.log(`+${String(Math.round(performance.now() - started)).padStart(5)} ms  ${line}`);
redis.on('node-down', (e) => log(`node-down    ${e.address} (${e.role})`));
redis.on('node-up', (e) => log(`node-up      ${e.address} (${e.role})`));
redis.on('role-change', (e) => log(`role-change  ${e.address}: ${e.from} -> ${e.to}`));
redis.on('failover', (e) => log(`failover     ${e.from} -> ${e.to} in ${e.durationMs} ms (${e.reason})`));
redis.on('warning', (e) => log(`warning      ${e.code}: ${e.message}`));
// Connection errors (ECONNREFUSED while the old master is down): without a listener they are printed, as ioredis does.
redis.on('error', (e) => log(`error        ${e.message}`));
redis.on('topology', (t, changes) => {
  const nodes = [t.master, ...t.replicas].flatMap((n) => (n ? [`${n.address} ${n.role}${n.up ? '' : ' (down)'}`] : []));
  log(`topology     ${nodes.join(', ')}${changes.length ? ` [${changes.map((c) => c.type).join(', ')}]` : ''}`);
});

let writing = true;
try {
  await redis.connect();

  let acknowledged = 0;
  let killedAt = Infinity;
  let resumedAt: number | undefined; // the first acknowledgement of a write issued after the kill
  const errors: string[] = [];
  const writer = (async () => {
    while (writing) {
      const issuedAt = performance.now();
      try {
        await redis.incr('jobs:done');
        acknowledged++;
        if (issuedAt > killedAt) resumedAt ??= performance.now();
      } catch (error) {
        errors.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      }
      await sleep(10);
    }
  })();
  const failover = new Promise<FailoverEvent>((resolve) => redis.once('failover', resolve));

  await sleep(500);
  const oldMaster = set.master;
  log(`killing the master ${oldMaster} (SIGKILL)`);
  await set.kill(oldMaster);
  killedAt = performance.now(); // the process is gone: a write issued from now on can only land on a new master

  await within(15_000, 'failover', failover);
  await waitUntil('a write after the kill', 10_000, () => resumedAt !== undefined);
  log(`writes resumed ${Math.round(resumedAt! - killedAt)} ms after the kill`);
  const newMaster = redis.topology().master!.address;

  // The old master restarts with no data and believes it is a master: the client demotes it.
  log(`restarting ${oldMaster} (empty, as a master)`);
  await set.restart(oldMaster);
  await waitUntil('the old master to rejoin as a replica', 10_000, async () => {
    const r = await replicationOf(oldMaster);
    return r.role === 'slave' && r.master === newMaster && r.link === 'up';
  });
  log(`${oldMaster} rejoined as a replica of ${newMaster} (master_link_status:up)`);

  writing = false;
  await writer;
  // A write in flight at the kill rejects with ERR_MAYBE_APPLIED and is never resent. Replication
  // is asynchronous: a write acknowledged just before the kill may not have reached the promoted
  // replica, so jobs:done can be a little below the acknowledged count.
  const count = Number(await redis.withReadFrom('master').get('jobs:done'));
  log(`writes: ${acknowledged} acknowledged, ${errors.length} errors; jobs:done on ${newMaster}: ${count}`);
  for (const error of errors) log(`  ${error}`);
} finally {
  writing = false;
  await redis.quit();
  await set.stop();
}
