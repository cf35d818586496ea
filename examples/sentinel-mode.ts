/**
 * Sentinel mode: the client asks Sentinel where the master is and, when the master dies, follows
 * Sentinel's promotion (`+switch-master`) at once. Writes issued meanwhile wait and then go to the
 * new master — the one `SENTINEL get-master-addr-by-name` names.
 * Starts one master, two replicas and three Sentinels on 127.0.0.1, then kills the master (SIGKILL).
 * Run: npx tsx examples/sentinel-mode.ts
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

/** Polls `check` every 20 ms until it returns true; throws after `ms` so nothing hangs. */
async function waitUntil(what: string, ms: number, check: () => boolean): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

const set = await startReplicaSet({ replicas: 2, sentinels: 3, downAfterMs: 1000 });
const redis = new FailoverRedis({ sentinels: set.sentinels, name: set.name });
// Connection errors while the old master is down: without a listener they are printed, as ioredis does.
redis.on('error', (e) => console.log(`error: ${e.message}`));
let writing = true;
try {
  await redis.connect();
  const { master, replicas, source } = redis.topology();
  console.log(`topology (from ${source}): master ${master?.address}, replicas ${replicas.map((r) => r.address).join(', ')}`);

  // An application writing all along: one INCR every 10 ms.
  let acknowledged = 0;
  let killedAt = Infinity;
  let resumedAt: number | undefined; // the first acknowledgement of a write issued after the kill
  const errors: string[] = [];
  const writer = (async () => {
    while (writing) {
      const issuedAt = performance.now();
      try {
        await redis.incr('orders:count');
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
  await set.kill(oldMaster);
  killedAt = performance.now(); // the process is gone: a write issued from now on can only land on a new master
  console.log(`killed the master ${oldMaster} (SIGKILL); Sentinel's down-after-milliseconds is 1000`);

  const event = await within(20_000, 'failover event', failover);
  console.log(`failover event: ${event.from} -> ${event.to} in ${event.durationMs} ms (${event.reason})`);
  await waitUntil('a write after the kill', 10_000, () => resumedAt !== undefined);
  console.log(`writes resumed ${Math.round(resumedAt! - killedAt)} ms after the kill`);
  await sleep(300);
  writing = false;
  await writer;

  const [sentinelHost, sentinelPort] = set.sentinels[0]!.split(':');
  const sentinel = new Redis({ host: sentinelHost, port: Number(sentinelPort) });
  const [host, port] = (await sentinel.call('SENTINEL', 'get-master-addr-by-name', set.name)) as [string, string];
  sentinel.disconnect();
  const clientMaster = redis.topology().master?.address;
  const sentinelMaster = `${host}:${port}`;
  console.log(`SENTINEL get-master-addr-by-name ${set.name}: ${sentinelMaster}; the client's master: ${clientMaster} (${sentinelMaster === clientMaster ? 'same' : 'DIFFERENT'})`);

  // A write in flight at the kill rejects with ERR_MAYBE_APPLIED (never resent on its own, so never
  // doubled). Replication is asynchronous: a write the old master acknowledged just before it died
  // may not have reached the replica that was promoted — no client can bring it back.
  const count = Number(await redis.withReadFrom('master').get('orders:count'));
  console.log(`writes: ${acknowledged} acknowledged, ${errors.length} errors; orders:count on the new master: ${count}`);
  for (const error of errors) console.log(`  ${error}`);
} finally {
  writing = false;
  await redis.quit();
  await set.stop();
}
