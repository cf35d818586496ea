/**
 * Prometheus metrics for FailoverRedis with prom-client, served at /metrics by node:http.
 * Events feed counters the moment something happens (`failover`, `node-down`, `topology`);
 * `stats()` is read at scrape time for what is a state rather than an event (per node: role, up,
 * commands sent, errors, latency; commands held now). A writer runs, the master is killed, and
 * the example scrapes its own /metrics once the client has failed over and prints the text.
 * Run: npx tsx examples/metrics.ts
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import { FailoverRedis, type FailoverEvent } from 'redis-failover';
import { startReplicaSet } from 'redis-failover/testing';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const set = await startReplicaSet({ replicas: 2 });
const redis = new FailoverRedis({ nodes: [set.master], failover: { downAfterMs: 1000 } });
redis.on('error', () => undefined); // connection errors during the failover: counted in stats() below

// ---- metrics fed by events
const registry = new Registry();
const failovers = new Counter({ name: 'redis_failovers_total', help: 'Changes of master seen by this client.', registers: [registry] });
const lastFailover = new Gauge({
  name: 'redis_last_failover_duration_seconds',
  help: 'From the first sign of trouble to the new master known, for the last failover.',
  registers: [registry],
});
const nodeDown = new Counter({ name: 'redis_node_down_total', help: 'Times a node was seen going down.', labelNames: ['address'], registers: [registry] });
const topologyChanges = new Counter({ name: 'redis_topology_changes_total', help: 'Changes in the replica set picture, by type.', labelNames: ['type'], registers: [registry] });
const masterUp = new Gauge({ name: 'redis_master_up', help: '1 while a master is known and up.', registers: [registry] });
const replicasUp = new Gauge({ name: 'redis_replicas_up', help: 'Replicas up, as of the last topology.', registers: [registry] });
const writes = new Counter({ name: 'app_writes_total', help: 'Writes made by the application, by result.', labelNames: ['result'], registers: [registry] });

redis.on('failover', (e) => {
  failovers.inc();
  lastFailover.set(e.durationMs / 1000);
});
redis.on('node-down', (e) => nodeDown.inc({ address: e.address }));
redis.on('topology', (topology, changes) => {
  for (const change of changes) topologyChanges.inc({ type: change.type });
  masterUp.set(topology.master?.up ? 1 : 0);
  replicasUp.set(topology.replicas.filter((r) => r.up && r.role === 'replica').length);
});

// ---- metrics read from stats() at scrape time: collect() runs once per scrape, never per command
new Counter({
  name: 'redis_node_commands_total',
  help: 'Application commands sent to each node (retries included).',
  labelNames: ['address'],
  registers: [registry],
  collect() {
    this.reset();
    for (const n of redis.stats().nodes) this.inc({ address: n.address }, n.commandsSent);
  },
});
new Counter({
  name: 'redis_node_errors_total',
  help: 'Application commands that failed at each node.',
  labelNames: ['address'],
  registers: [registry],
  collect() {
    this.reset();
    for (const n of redis.stats().nodes) this.inc({ address: n.address }, n.errors);
  },
});
new Gauge({
  name: 'redis_node_up',
  help: '1 while the node answers, by its role.',
  labelNames: ['address', 'role'],
  registers: [registry],
  collect() {
    this.reset();
    for (const n of redis.stats().nodes) this.set({ address: n.address, role: n.role }, n.up ? 1 : 0);
  },
});
new Gauge({
  name: 'redis_node_latency_seconds',
  help: "The last probe's round trip to each node.",
  labelNames: ['address'],
  registers: [registry],
  collect() {
    this.reset();
    for (const n of redis.stats().nodes) if (n.latencyMs !== null) this.set({ address: n.address }, n.latencyMs / 1000);
  },
});
new Gauge({
  name: 'redis_commands_held',
  help: 'Commands waiting for a node right now.',
  registers: [registry],
  collect() {
    this.set(redis.stats().held);
  },
});

// ---- the /metrics endpoint
const server = createServer((req, res) => {
  if (req.url !== '/metrics') {
    res.writeHead(404).end();
    return;
  }
  registry.metrics().then(
    (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
    (error: unknown) => res.writeHead(500).end(String(error)),
  );
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;

// ---- the application
let writing = true;
try {
  await redis.connect();
  const writer = (async () => {
    while (writing) {
      try {
        await redis.incr('events:count');
        writes.inc({ result: 'ok' });
      } catch {
        writes.inc({ result: 'error' });
      }
      await sleep(10);
    }
  })();
  const failover = new Promise<FailoverEvent>((resolve) => redis.once('failover', resolve));

  await sleep(500);
  const oldMaster = set.master;
  await set.kill(oldMaster);
  let timer: NodeJS.Timeout | undefined;
  const event = await Promise.race([
    failover,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no failover within 15 s')), 15_000))),
  ]).finally(() => clearTimeout(timer));
  console.log(`killed the master ${oldMaster}; failover to ${event.to} in ${event.durationMs} ms`);
  await sleep(500); // writes flow again on the new master
  writing = false;
  await writer;

  const response = await fetch(url);
  console.log(`GET ${url} -> ${response.status} ${response.headers.get('content-type')}`);
  console.log(await response.text());
} finally {
  writing = false;
  server.close();
  await redis.quit();
  await set.stop();
}
