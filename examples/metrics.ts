/**
 * Metrics from FailoverRedis's events: `failover`, `topology` and `node-down` feed a few counters
 * and gauges, rendered in the Prometheus text format by a tiny formatter written inline (serve the
 * text at /metrics in a real service). A writer runs, the master is killed, and the metrics are
 * printed once the client has failed over.
 * Run: npx tsx examples/metrics.ts
 */
import { FailoverRedis, type FailoverEvent } from 'redis-failover';
import { startReplicaSet } from 'redis-failover/testing';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- a minimal metrics registry: counters and gauges with labels, rendered as Prometheus text
type Labels = Record<string, string>;
interface Metric {
  type: 'counter' | 'gauge';
  help: string;
  values: Map<string, number>; // key: rendered labels, e.g. {address="127.0.0.1:6379"}
}
const registry = new Map<string, Metric>();
const labelText = (labels: Labels) => {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
};
function define(name: string, type: Metric['type'], help: string): void {
  registry.set(name, { type, help, values: new Map() });
}
function inc(name: string, labels: Labels = {}, by = 1): void {
  const values = registry.get(name)!.values;
  const key = labelText(labels);
  values.set(key, (values.get(key) ?? 0) + by);
}
function setGauge(name: string, value: number, labels: Labels = {}): void {
  registry.get(name)!.values.set(labelText(labels), value);
}
function render(): string {
  const lines: string[] = [];
  for (const [name, { type, help, values }] of registry) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of values) lines.push(`${name}${labels} ${value}`);
  }
  return lines.join('\n');
}

define('redis_failovers_total', 'counter', 'Changes of master seen by this client.');
define('redis_last_failover_duration_seconds', 'gauge', 'From the first sign of trouble to the new master known, for the last failover.');
define('redis_node_down_total', 'counter', 'Times a node was seen going down.');
define('redis_topology_changes_total', 'counter', 'Changes in the replica set picture, by type.');
define('redis_master_up', 'gauge', '1 while a master is known and up.');
define('redis_replicas_up', 'gauge', 'Replicas up, as of the last topology.');
define('app_writes_total', 'counter', 'Writes made by the application, by result.');

// ---- the application
const set = await startReplicaSet({ replicas: 2 });
const redis = new FailoverRedis({ nodes: [set.master], failover: { downAfterMs: 1000 } });

redis.on('failover', (e) => {
  inc('redis_failovers_total');
  setGauge('redis_last_failover_duration_seconds', e.durationMs / 1000);
});
redis.on('node-down', (e) => inc('redis_node_down_total', { address: e.address }));
redis.on('topology', (topology, changes) => {
  for (const change of changes) inc('redis_topology_changes_total', { type: change.type });
  setGauge('redis_master_up', topology.master?.up ? 1 : 0);
  setGauge('redis_replicas_up', topology.replicas.filter((r) => r.up && r.role === 'replica').length);
});

let writing = true;
try {
  await redis.connect();
  const writer = (async () => {
    while (writing) {
      try {
        await redis.incr('events:count');
        inc('app_writes_total', { result: 'ok' });
      } catch {
        inc('app_writes_total', { result: 'error' });
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

  console.log(render());
} finally {
  writing = false;
  await redis.quit();
  await set.stop();
}
