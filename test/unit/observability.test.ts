import diagnostics_channel from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BatchTrace,
  commandChannel,
  CommandTrace,
  FAILOVER_CHANNEL,
  publishEvent,
  publishResubscribed,
  RESUBSCRIBED_CHANNEL,
  TOPOLOGY_CHANNEL,
  traceBatch,
  traceCommand,
  type TracedAttempt,
} from '../../src/observability/channels.js';
import { buildStats, replicaSetPicture } from '../../src/observability/stats.js';
import { clusterPicture } from '../../src/cluster/stats.js';
import { CLIENT_INFO_TAG, connectionName, withIdentity } from '../../src/pool/identity.js';
import { controlDelayBound, controlReconnectDelay, dataDelayBound, fullJitter, reconnectDelay } from '../../src/pool/reconnect.js';
import type { NodeState, Topology } from '../../src/topology/types.js';

type Events = [string, CommandTrace, Partial<CommandTrace>][];

/** Subscribe to every event of a tracing channel, recording a copy of the context at each. */
function record(channel: typeof commandChannel): { events: Events; stop(): void } {
  const events: Events = [];
  const snap = (t: CommandTrace) => ({ node: t.node, role: t.role, attempts: t.attempts, heldMs: t.heldMs });
  const handlers = {
    start: (t: CommandTrace) => events.push(['start', t, snap(t)]),
    end: (t: CommandTrace) => events.push(['end', t, snap(t)]),
    asyncStart: (t: CommandTrace) => events.push(['asyncStart', t, snap(t)]),
    asyncEnd: (t: CommandTrace) => events.push(['asyncEnd', t, snap(t)]),
    error: (t: CommandTrace) => events.push(['error', t, snap(t)]),
  };
  channel.subscribe(handlers);
  return { events, stop: () => channel.unsubscribe(handlers) };
}

function attempt(name: string, args: unknown[], promise: Promise<unknown>): TracedAttempt & { cmd: { args: unknown[]; promise: Promise<unknown> } } {
  return { name, view: { policy: { name: 'replicaPreferred' } }, trace: null, cmd: { args, promise } };
}

let stop: (() => void) | null = null;
afterEach(() => {
  stop?.();
  stop = null;
});

describe('redis-failover:command', () => {
  it('has no subscribers until one subscribes: the dispatcher builds nothing', () => {
    expect(commandChannel.hasSubscribers).toBe(false);
    const r = record(commandChannel);
    expect(commandChannel.hasSubscribers).toBe(true);
    r.stop();
    expect(commandChannel.hasSubscribers).toBe(false);
  });

  it('start and end around routing, node set before asyncEnd, no argument values', async () => {
    const r = record(commandChannel);
    stop = r.stop;
    let resolve!: (v: unknown) => void;
    const a = attempt('GET', ['secret-key'], new Promise((res) => (resolve = res)));
    traceCommand(a, (x) => {
      x.trace!.held();
      expect(r.events.map((e) => e[0])).toEqual(['start']);
    });
    expect(r.events.map((e) => e[0])).toEqual(['start', 'end']);
    a.trace!.sent('127.0.0.1:6380', false, 1);
    a.trace!.sent('127.0.0.1:6381', false, 2); // retried on another replica
    resolve('value');
    await a.cmd.promise;
    await new Promise((res) => setImmediate(res));
    expect(r.events.map((e) => e[0])).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    const ctx = r.events[3]![1];
    expect(r.events[3]![2]).toMatchObject({ node: '127.0.0.1:6381', role: 'replica', attempts: 2 });
    expect(ctx).toMatchObject({ command: 'get', argsCount: 1, readFrom: 'replicaPreferred' });
    expect(ctx.heldMs).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(ctx)).not.toContain('secret-key');
    expect(JSON.stringify(ctx)).not.toContain('value');
  });

  it('a failure publishes error with the error on the context, and counts the wait until it', async () => {
    const r = record(commandChannel);
    stop = r.stop;
    let reject!: (e: Error) => void;
    const a = attempt('set', ['k', 'v'], new Promise((_, rej) => (reject = rej)));
    a.cmd.promise.catch(() => undefined);
    traceCommand(a, (x) => x.trace!.held());
    await new Promise((res) => setTimeout(res, 20));
    reject(new Error('timed out'));
    await new Promise((res) => setImmediate(res));
    expect(r.events.map((e) => e[0])).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
    const ctx = r.events[4]![1];
    expect(ctx).toMatchObject({ command: 'set', argsCount: 2, node: null, role: null, attempts: 0 });
    expect((ctx.error as Error).message).toBe('timed out');
    expect(ctx.heldMs).toBeGreaterThanOrEqual(15);
  });
});

describe('redis-failover:batch', () => {
  it('one context with the command count; the promise is the caller\'s', async () => {
    const batches = diagnostics_channel.tracingChannel<BatchTrace, BatchTrace>('redis-failover:batch');
    const r = record(batches as unknown as typeof commandChannel);
    stop = r.stop;
    const trace = new BatchTrace(true, [{ args: ['a', '1'] }, { args: ['a'] }], 'master');
    const result = await traceBatch(trace, async () => {
      trace.sent('127.0.0.1:6379', true, 1);
      return ['OK', '1'];
    });
    expect(result).toEqual(['OK', '1']);
    await new Promise((res) => setImmediate(res));
    expect(r.events.map((e) => e[0])).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    expect(trace).toMatchObject({ command: 'multi', count: 2, argsCount: 3, node: '127.0.0.1:6379', role: 'master', attempts: 1 });
  });
});

describe('failover and topology channels', () => {
  it('publish the event payloads, nothing for other events', () => {
    const seen: [string, unknown][] = [];
    const onFailover = (m: unknown) => seen.push(['failover', m]);
    const onTopology = (m: unknown) => seen.push(['topology', m]);
    diagnostics_channel.subscribe(FAILOVER_CHANNEL, onFailover);
    diagnostics_channel.subscribe(TOPOLOGY_CHANNEL, onTopology);
    try {
      const event = { from: 'a:1', to: 'b:2', reason: 'promoted by this client', durationMs: 900 };
      const topology: Topology = { master: null, replicas: [], source: 'nodes' };
      publishEvent('failover', [event]);
      publishEvent('topology', [topology, []]);
      publishEvent('node-down', [{ address: 'a:1', role: 'master' }]);
      expect(seen).toEqual([
        ['failover', event],
        ['topology', { topology, changes: [] }],
      ]);
      expect(seen[0]![1]).toBe(event);
    } finally {
      diagnostics_channel.unsubscribe(FAILOVER_CHANNEL, onFailover);
      diagnostics_channel.unsubscribe(TOPOLOGY_CHANNEL, onTopology);
    }
  });
});

describe('resubscribed channel', () => {
  it('publishes the event payload itself, under the exported name', () => {
    const seen: unknown[] = [];
    const onResubscribed = (m: unknown) => seen.push(m);
    expect(RESUBSCRIBED_CHANNEL).toBe('redis-failover:resubscribed');
    diagnostics_channel.subscribe(RESUBSCRIBED_CHANNEL, onResubscribed);
    try {
      const event = { channels: ['news'], patterns: [], shardChannels: [], from: 'a:1', to: 'b:2', gapMs: 512 };
      publishResubscribed(event);
      expect(seen).toEqual([event]);
      expect(seen[0]).toBe(event);
    } finally {
      diagnostics_channel.unsubscribe(RESUBSCRIBED_CHANNEL, onResubscribed);
    }
  });
});

describe('stats snapshot', () => {
  const node = (address: string, role: NodeState['role'], up = true): NodeState =>
    ({ address, host: address.split(':')[0]!, port: Number(address.split(':')[1]), role, up, offset: 0, lagBytes: 0, linkStatus: null, priority: 100, latencyMs: 1.5 }) as NodeState;

  it('every member, then nodes that left with their counts; totals summed', () => {
    const topology: Topology = { master: node('h:1', 'master'), replicas: [node('h:2', 'replica'), node('h:3', 'replica', false)], source: 'nodes' };
    const counters = new Map([
      ['h:1', { sent: 10, errors: 1 }],
      ['h:2', { sent: 5, errors: 0 }],
      ['h:0', { sent: 7, errors: 2 }],
    ]);
    const s = buildStats({ picture: replicaSetPicture(topology), counters, held: 3, failovers: 1, lastFailoverDurationMs: 900, readYourWritesRedirects: 4 });
    expect(s).toEqual({
      master: 'h:1',
      nodes: [
        { address: 'h:1', role: 'master', up: true, commandsSent: 10, errors: 1, latencyMs: 1.5 },
        { address: 'h:2', role: 'replica', up: true, commandsSent: 5, errors: 0, latencyMs: 1.5 },
        { address: 'h:3', role: 'replica', up: false, commandsSent: 0, errors: 0, latencyMs: 1.5 },
        { address: 'h:0', role: 'unknown', up: false, commandsSent: 7, errors: 2, latencyMs: null },
      ],
      held: 3,
      failovers: 1,
      lastFailoverDurationMs: 900,
      readYourWritesRedirects: 4,
      commandsSent: 22,
      errors: 3,
    });
  });

  it('before any topology', () => {
    const s = buildStats({ picture: replicaSetPicture(null), counters: new Map(), held: 0, failovers: 0, lastFailoverDurationMs: null, readYourWritesRedirects: 0 });
    expect(s).toMatchObject({ master: null, nodes: [], commandsSent: 0 });
  });

  it('a cluster: the same fields, its shard masters as masters', () => {
    const shard = (m: string, r: string) => ({ slots: [[0, 1]] as Array<[number, number]>, master: node(m, 'master'), replicas: [node(r, 'replica')] });
    const picture = clusterPicture({ source: 'cluster', shards: [shard('h:1', 'h:2'), shard('h:3', 'h:4')] });
    const s = buildStats({ picture, counters: new Map([['h:2', { sent: 2, errors: 0 }]]), held: 1, failovers: 2, lastFailoverDurationMs: 40, readYourWritesRedirects: 5 });
    expect(s).toMatchObject({ masters: ['h:1', 'h:3'], held: 1, failovers: 2, lastFailoverDurationMs: 40, readYourWritesRedirects: 5, commandsSent: 2, errors: 0 });
    expect(s.nodes.map((n) => [n.address, n.role])).toEqual([['h:1', 'master'], ['h:2', 'replica'], ['h:3', 'master'], ['h:4', 'replica']]);
    // Field for field FailoverRedis's snapshot, but `masters` for `master`.
    const replicaSetKeys = Object.keys(buildStats({ picture: replicaSetPicture(null), counters: new Map(), held: 0, failovers: 0, lastFailoverDurationMs: null, readYourWritesRedirects: 0 }));
    expect(Object.keys(s).sort()).toEqual(replicaSetKeys.map((k) => (k === 'master' ? 'masters' : k)).sort());
  });
});

describe('connection identity', () => {
  it('named by purpose, the application\'s name kept as a prefix', () => {
    expect(connectionName('data', undefined)).toBe('redis-failover:data');
    expect(connectionName('control', '')).toBe('redis-failover:control');
    expect(connectionName('blocking', 'orders-api')).toBe('orders-api:redis-failover:blocking');
    expect(connectionName('sentinel', 'my app')).toBe('my-app:redis-failover:sentinel');
  });

  it('tags the library for CLIENT SETINFO unless the application set its own tag', () => {
    expect(withIdentity('data', { connectionName: 'svc', db: 2 })).toEqual({ connectionName: 'svc:redis-failover:data', clientInfoTag: CLIENT_INFO_TAG, db: 2 });
    expect(withIdentity('subscriber', { clientInfoTag: 'mine' }).clientInfoTag).toBe('mine');
  });
});

describe('reconnect delays: full jitter', () => {
  it('bounds grow 50 ms doubling to 1 s (data), 50 ms steps to 250 ms (control)', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50].map(dataDelayBound)).toEqual([50, 100, 200, 400, 800, 1000, 1000, 1000]);
    expect([0, 1, 2, 3, 5, 6, 100].map(controlDelayBound)).toEqual([50, 50, 100, 150, 250, 250, 250]);
  });

  it('spans the whole range [0, bound]', () => {
    expect(fullJitter(400, () => 0)).toBe(0);
    expect(fullJitter(400, () => 0.5)).toBe(200);
    expect(fullJitter(400, () => 0.999999)).toBe(400);
    expect(reconnectDelay(10, () => 0.25)).toBe(250);
    expect(controlReconnectDelay(10, () => 1)).toBe(250);
  });

  it('a thousand clients spread over the interval instead of one instant', () => {
    const delays = Array.from({ length: 1000 }, () => reconnectDelay(6));
    for (const d of delays) {
      expect(Number.isInteger(d)).toBe(true);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(1000);
    }
    // No millisecond holds more than a few percent of them; every tenth of the range has some.
    const perMs = new Map<number, number>();
    for (const d of delays) perMs.set(d, (perMs.get(d) ?? 0) + 1);
    expect(Math.max(...perMs.values())).toBeLessThan(20);
    for (let k = 0; k < 10; k++) expect(delays.some((d) => d >= k * 100 && d < (k + 1) * 100)).toBe(true);
  });
});
