/**
 * A planned switchover (maintenance on the master's host, say) while the application writes:
 * `switchover()` hands the master role to the best replica (Redis ≥ 6.2: `FAILOVER TO … TIMEOUT`,
 * which waits for the replica to have every byte), holds the writes issued meanwhile and sends
 * them to the new master. Every write is acknowledged, none fails, and the counter on the new
 * master equals the number of acknowledged INCRs.
 * Run: npx tsx examples/switchover.ts
 */
import { Redis } from 'ioredis';
import { FailoverRedis } from 'redis-failover';
import { startReplicaSet } from 'redis-failover/testing';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `host:port master` or `host:port replica of host:port`, as the node itself reports it. */
async function describe(address: string): Promise<string> {
  const [host, port] = address.split(':');
  const node = new Redis({ host, port: Number(port) });
  try {
    const info = await node.info('replication');
    const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
    return field('role') === 'master' ? `${address} master` : `${address} replica of ${field('master_host')}:${field('master_port')}`;
  } finally {
    node.disconnect();
  }
}

const set = await startReplicaSet({ replicas: 2 });
const redis = new FailoverRedis({ nodes: [set.master] });
let writing = true;
try {
  await redis.connect();
  console.log(`master ${redis.topology().master?.address}, replicas ${redis.topology().replicas.map((r) => r.address).join(', ')}`);

  let acknowledged = 0;
  let longestWriteMs = 0;
  const errors: string[] = [];
  const writer = (async () => {
    while (writing) {
      const sentAt = performance.now();
      try {
        await redis.incr('visits');
        acknowledged++;
        longestWriteMs = Math.max(longestWriteMs, performance.now() - sentAt);
      } catch (error) {
        errors.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      }
      await sleep(2);
    }
  })();

  await sleep(300);
  const { from, to, durationMs, method } = await redis.switchover({ timeoutMs: 5000 });
  console.log(`switchover: { from: ${from}, to: ${to}, durationMs: ${durationMs}, method: ${method} }`);
  await sleep(300);
  writing = false;
  await writer;

  const visits = Number(await redis.withReadFrom('master').get('visits'));
  console.log(`writes: ${acknowledged} acknowledged, ${errors.length} errors; longest write ${Math.round(longestWriteMs)} ms`);
  console.log(`visits on the new master ${redis.topology().master?.address}: ${visits} (${visits === acknowledged ? 'equal to' : 'DIFFERENT from'} the acknowledged count)`);
  for (const error of errors) console.log(`  ${error}`);
  console.log(`the servers say: ${(await Promise.all(set.nodes.map(describe))).join('; ')}`);
} finally {
  writing = false;
  await redis.quit();
  await set.stop();
}
