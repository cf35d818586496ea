import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const ADDRESS = String.raw`127\.0\.0\.1:\d+`;

/**
 * Each example runs as a user would run it (`npx tsx examples/<file>.ts`), and its output is
 * checked. It must also exit on its own: a client that keeps the process alive after `quit()`
 * fails here. The example runs in a process group of its own so that, if it hangs, it and every
 * server it started are killed with it.
 */
async function example(file: string, timeoutMs = 30_000): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', `examples/${file}`], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    process.kill(-child.pid!, 'SIGKILL');
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  }).finally(() => clearTimeout(timer));
  const output = `--- stdout\n${stdout}--- stderr\n${stderr}`;
  if (timedOut) throw new Error(`examples/${file} did not exit within ${timeoutMs} ms\n${output}`);
  if (code !== 0) throw new Error(`examples/${file} exited with code ${code}\n${output}`);
  return stdout;
}

/** The first match of `pattern` in `out`, or a failure that shows the output. */
function line(out: string, pattern: RegExp): RegExpExecArray {
  const match = pattern.exec(out);
  if (!match) expect.fail(`no line matching ${pattern} in:\n${out}`);
  return match;
}

describe('examples', () => {
  it('quick-start: discovers the set and reads from the replicas', async () => {
    const out = await example('quick-start.ts');
    expect(out).toMatch(/discovered master 127\.0\.0\.1:\d+ and replicas 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+/);
    expect(out).toMatch(/master {2}127\.0\.0\.1:\d+: 1 GETs/);
    const replicaGets = [...out.matchAll(/replica 127\.0\.0\.1:\d+: (\d+) GETs/g)].map((m) => Number(m[1]));
    expect(replicaGets).toEqual([5, 5]);
  });

  it('sentinel-mode: follows Sentinel to the master it names, writes resume', async () => {
    const out = await example('sentinel-mode.ts');
    const [, master] = line(out, new RegExp(`topology \\(from sentinel\\): master (${ADDRESS}), replicas ${ADDRESS}, ${ADDRESS}`));
    expect(line(out, /killed the master (\S+) /)[1]).toBe(master);
    const [, from, to] = line(out, new RegExp(`failover event: (${ADDRESS}) -> (${ADDRESS}) in \\d+ ms \\(`));
    expect(from).toBe(master);
    expect(to).not.toBe(master);
    line(out, /writes resumed \d+ ms after the kill/);
    const [, named, clients] = line(out, new RegExp(`SENTINEL get-master-addr-by-name mymaster: (${ADDRESS}); the client's master: (${ADDRESS}) \\(same\\)`));
    expect(named).toBe(to);
    expect(clients).toBe(to);
    const [, acked, errors] = line(out, /writes: (\d+) acknowledged, (\d+) errors/);
    expect(Number(acked)).toBeGreaterThan(10);
    // At most the one INCR in flight at the kill, reported as maybe applied.
    expect(Number(errors)).toBeLessThanOrEqual(1);
    for (const error of out.matchAll(/^ {2}(\w+): /gm)) expect(error[1]).toBe('MaybeAppliedError');
  });

  it('client-mode-failover: events for the kill, the promotion and the old master rejoining', async () => {
    const out = await example('client-mode-failover.ts');
    const [, oldMaster] = line(out, new RegExp(`killing the master (${ADDRESS})`));
    line(out, new RegExp(`node-down +${oldMaster} \\(master\\)`));
    const [, from, to] = line(out, new RegExp(`failover +(${ADDRESS}) -> (${ADDRESS}) in \\d+ ms \\(promoted`));
    expect(from).toBe(oldMaster);
    expect(to).not.toBe(oldMaster);
    line(out, new RegExp(`role-change +${to}: replica -> master`));
    line(out, /writes resumed \d+ ms after the kill/);
    line(out, new RegExp(`role-change +${oldMaster}: master -> replica`));
    line(out, new RegExp(`${oldMaster} rejoined as a replica of ${to} \\(master_link_status:up\\)`));
    const [, errors] = line(out, /writes: \d+ acknowledged, (\d+) errors/);
    expect(Number(errors)).toBeLessThanOrEqual(1);
  });

  it('read-from: the servers count the GETs where each policy sends them', async () => {
    const out = await example('read-from.ts');
    const counts = (title: string) => {
      const [, rest] = line(out, new RegExp(`^${title} +(.*)$`, 'm'));
      return [...rest!.matchAll(/(master|replica) +127\.0\.0\.1:\d+: (\d+)/g)].map((m) => `${m[1]} ${m[2]}`);
    };
    expect(counts(String.raw`default \(replicaPreferred\)`)).toEqual(['master 0', 'replica 5', 'replica 5']);
    expect(counts(String.raw`withReadFrom\('master'\)`)).toEqual(['master 10', 'replica 0', 'replica 0']);
    expect(counts(`readFrom: 'replica'`)).toEqual(['master 0', 'replica 5', 'replica 5']);
    expect(counts(String.raw` {2}default \(replicaPreferred\)`)).toEqual(['master 10']);
    line(out, /readFrom: 'replica': GET rejected with ERR_NO_REPLICA/);
  });

  it('zone-affinity: the servers count the GETs in the client’s zone, then in another, then on the master', async () => {
    const out = await example('zone-affinity.ts');
    const counts = (title: string) => {
      const [, rest] = line(out, new RegExp(`^${title} +(.*)$`, 'm'));
      return [...rest!.matchAll(/(master|replica) +(az\d) 127\.0\.0\.1:\d+: (\d+)/g)].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
    };
    expect(counts('client in az1')).toEqual(['master az3 0', 'replica az1 5', 'replica az1 5', 'replica az2 0']);
    expect(counts('az1 replicas killed')).toEqual(['master az3 0', 'replica az2 10']);
    expect(counts('every replica killed')).toEqual(['master az3 10']);
  });

  it('switchover: a planned handover under writes, nothing failed, nothing lost', async () => {
    const out = await example('switchover.ts');
    const [, from, to] = line(out, new RegExp(`switchover: \\{ from: (${ADDRESS}), to: (${ADDRESS}), durationMs: \\d+, method: [\\w-]+ \\}`));
    expect(to).not.toBe(from);
    const [, acked] = line(out, /writes: (\d+) acknowledged, 0 errors/);
    expect(Number(acked)).toBeGreaterThan(10);
    line(out, new RegExp(`visits on the new master ${to}: ${acked} \\(equal to the acknowledged count\\)`));
    line(out, new RegExp(`${from} replica of ${to}`));
  });

  it('http-service: the service keeps answering through a master kill', async () => {
    const out = await example('http-service.ts');
    const [, killed, from, to] = line(out, new RegExp(`killed the master (${ADDRESS}) after 1 s; failover: (${ADDRESS}) -> (${ADDRESS})`));
    expect(from).toBe(killed);
    expect(to).not.toBe(killed);
    const [, answered, errors, gap] = line(out, /requests answered: (\d+), errors \(5xx\): (\d+).*, longest gap between answers: (\d+) ms/);
    expect(Number(answered)).toBeGreaterThan(50);
    // Only a request whose INCR was in flight at the kill may fail, and it says why.
    expect(Number(errors)).toBeLessThanOrEqual(1);
    if (Number(errors) === 1) line(out, /errors \(5xx\): 1 \(ERR_MAYBE_APPLIED\)/);
    expect(Number(gap)).toBeLessThan(5000);
    line(out, new RegExp(`still answering: GET / -> 200 \\{"hits":\\d+\\} \\(master now ${to}\\)`));
  });

  it('metrics: failover, node-down and topology events as Prometheus counters and gauges', async () => {
    const out = await example('metrics.ts');
    const [, oldMaster] = line(out, new RegExp(`killed the master (${ADDRESS}); failover to ${ADDRESS} in \\d+ ms`));
    expect(out).toContain('# TYPE redis_failovers_total counter\nredis_failovers_total 1\n');
    line(out, /^redis_last_failover_duration_seconds \d+(\.\d+)?$/m);
    expect(out).toContain(`redis_node_down_total{address="${oldMaster}"} 1\n`);
    expect(out).toContain('redis_topology_changes_total{type="role-change"} 1\n');
    expect(out).toContain('redis_master_up 1\n');
    expect(out).toContain('redis_replicas_up 1\n');
    expect(Number(line(out, /^app_writes_total\{result="ok"\} (\d+)$/m)[1])).toBeGreaterThan(10);
    // prom-client, served by node:http; stats() read at scrape time.
    line(out, /^GET http:\/\/127\.0\.0\.1:\d+\/metrics -> 200 text\/plain/m);
    const [, newMaster] = line(out, new RegExp(`failover to (${ADDRESS})`));
    expect(Number(line(out, new RegExp(`^redis_node_commands_total\\{address="${newMaster}"\\} (\\d+)$`, 'm'))[1])).toBeGreaterThan(0);
    expect(out).toContain(`redis_node_up{address="${newMaster}",role="master"} 1\n`);
    expect(out).toContain(`redis_node_up{address="${oldMaster}",role="master"} 0\n`);
    line(out, /^redis_commands_held 0$/m);
  });

  it('opentelemetry: the tracing channel as spans, a held write and the failover among them', async () => {
    const out = await example('opentelemetry.ts');
    const [, oldMaster, newMaster] = line(out, new RegExp(`killed the master (${ADDRESS}); failover to (${ADDRESS}) in \\d+ ms`));
    line(out, new RegExp(`^failover span: redis failover ${oldMaster} -> ${newMaster} \\(\\d+ ms, `, 'm'));
    expect(Number(line(out, /^spans: (\d+)$/m)[1])).toBeGreaterThan(10);
    // Before the kill: reads on a replica, writes on the old master.
    line(out, new RegExp(`redis get node=${ADDRESS} role=replica attempts=1 heldMs=0 OK`));
    line(out, new RegExp(`redis incr node=${oldMaster} role=master attempts=1 heldMs=0 OK`));
    // A write issued after the kill waited for the new master and went there.
    const [, held] = line(out, new RegExp(`redis incr node=${newMaster} role=master attempts=1 heldMs=(\\d+) OK`));
    expect(Number(held)).toBeGreaterThan(0);
    expect(out).not.toMatch(/redis (info|ping|role|wait) /);
  });

  it('cluster: reads on each shard replica, read-your-writes, a shard master killed at node-timeout 15 s and assisted', async () => {
    const out = await example('cluster.ts');
    expect([...out.matchAll(/^shard \d: slots /gm)]).toHaveLength(3);
    line(out, /30 writes, each read back at once: 0 stale/);
    const counts = [...out.matchAll(/^(master|replica) +127\.0\.0\.1:\d+: (\d+) GETs/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(counts.filter((c) => c.startsWith('master'))).toEqual(['master 0', 'master 0', 'master 0']);
    expect(counts.filter((c) => c.startsWith('replica')).reduce((n, c) => n + Number(c.split(' ')[1]), 0)).toBe(150);
    const [, killed] = line(out, new RegExp(`killed the shard master (${ADDRESS})`));
    const [, from, ms] = line(out, new RegExp(`failover event: (${ADDRESS}) -> ${ADDRESS} in (\\d+) ms \\(cluster failover\\)`));
    expect(from).toBe(killed);
    // Assisted: well before the cluster's own 15 s node-timeout.
    expect(Number(ms)).toBeLessThan(5000);
    const [, acked, errors] = line(out, /writes: (\d+) acknowledged, (\d+) errors/);
    expect(Number(errors)).toBeLessThanOrEqual(1);
    if (Number(errors) === 1) line(out, /1 errors \(ERR_MAYBE_APPLIED\)/);
    const [, visits] = line(out, /visits on the new master: (\d+)/);
    expect(Number(visits)).toBeGreaterThanOrEqual(Number(acked));
    expect(Number(visits)).toBeLessThanOrEqual(Number(acked) + Number(errors));
  });
});
