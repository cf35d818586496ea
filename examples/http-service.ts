/**
 * An HTTP service on FailoverRedis riding through a master kill. The service (node:http, on
 * 127.0.0.1, a free port) INCRs a counter per request and returns it; the same script sends
 * requests one after another for about 5 s and kills the master after 1 s. While there is no
 * master the requests wait (they are held, not failed), so the service answers them late rather
 * than with errors. A request whose INCR was in flight at the kill answers 503: that INCR may or
 * may not have been applied (ERR_MAYBE_APPLIED), and it is never retried behind the caller's back.
 * Run: npx tsx examples/http-service.ts
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FailoverRedis, FailoverRedisError } from 'redis-failover';
import { startReplicaSet } from 'redis-failover/testing';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const set = await startReplicaSet({ replicas: 2 });
// commandTimeoutMs bounds how long a request may wait for a master before it is answered 503.
const redis = new FailoverRedis({ nodes: [set.master], commandTimeoutMs: 5000, failover: { downAfterMs: 1000 } });
// Connection errors during the failover: a service logs them (unhandled, they are printed, as ioredis does).
redis.on('error', (e) => console.error(`redis: ${e.message}`));

const server: Server = createServer((_req, res) => {
  redis.incr('page:hits').then(
    (hits) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ hits }));
    },
    (error: unknown) => {
      const code = error instanceof FailoverRedisError ? error.code : 'ERR';
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: code }));
    },
  );
});

try {
  await redis.connect();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  console.log(`service listening on ${url}`);

  let failoverLine = '';
  redis.on('failover', (e) => (failoverLine = `failover: ${e.from} -> ${e.to} in ${e.durationMs} ms`));
  const oldMaster = set.master;
  const killing = sleep(1000).then(() => set.kill(oldMaster));

  // The clients: one request at a time, for about 5 s.
  let answered = 0;
  const errors: string[] = [];
  let longestGapMs = 0;
  let lastOkAt = performance.now();
  const until = performance.now() + 5000;
  while (performance.now() < until) {
    const response = await fetch(url);
    const body = (await response.json()) as { hits?: number; error?: string };
    if (response.ok) {
      answered++;
      longestGapMs = Math.max(longestGapMs, performance.now() - lastOkAt);
      lastOkAt = performance.now();
    } else if (response.status >= 500) {
      errors.push(body.error ?? String(response.status));
    }
    await sleep(5);
  }
  await killing;

  console.log(`killed the master ${oldMaster} after 1 s; ${failoverLine || 'no failover event'}`);
  console.log(
    `requests answered: ${answered}, errors (5xx): ${errors.length}${errors.length ? ` (${errors.join(', ')})` : ''}, ` +
      `longest gap between answers: ${Math.round(longestGapMs)} ms`,
  );
  const after = await fetch(url);
  console.log(`still answering: GET / -> ${after.status} ${await after.text()} (master now ${redis.topology().master?.address})`);
} finally {
  server.closeAllConnections();
  server.close();
  await redis.quit();
  await set.stop();
}
