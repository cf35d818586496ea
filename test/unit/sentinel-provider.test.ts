import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Redis, RedisOptions } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { AuthError, NoNodeError } from '../../src/errors.js';
import { NodePool, type ConnectionPurpose } from '../../src/pool/node-pool.js';
import type { HostPort } from '../../src/topology/address.js';
import type { Probe } from '../../src/topology/assemble.js';
import { parseInfoReplication } from '../../src/topology/info-parser.js';
import { SentinelProvider } from '../../src/topology/sentinel-provider.js';
import {
  assembleSentinelTopology,
  withPromoted,
  parseMasterAddr,
  parseSentinelEvent,
  parseSentinelPeers,
  parseSentinelReplicas,
  SENTINEL_CHANNELS,
  type SentinelView,
} from '../../src/topology/sentinel-replies.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/info-replication/${name}.txt`, import.meta.url), 'utf8');

/** One `SENTINEL replicas` entry as ioredis returns it (flat key/value list), captured from Redis 7.0. */
function replicaEntry(port: number, fields: Record<string, string> = {}): string[] {
  const base: Record<string, string> = {
    name: `127.0.0.1:${port}`,
    ip: '127.0.0.1',
    port: String(port),
    runid: '55ccfb3a3c6c8f5b045b282281ae8b601105599c',
    flags: 'slave',
    'link-pending-commands': '0',
    'link-refcount': '1',
    'last-ping-sent': '0',
    'last-ok-ping-reply': '507',
    'last-ping-reply': '507',
    'down-after-milliseconds': '1000',
    'info-refresh': '3634',
    'role-reported': 'slave',
    'role-reported-time': '3708',
    'master-link-down-time': '0',
    'master-link-status': 'ok',
    'master-host': '127.0.0.1',
    'master-port': '6381',
    'slave-priority': '100',
    'slave-repl-offset': '425',
    'replica-announced': '1',
    ...fields,
  };
  return Object.entries(base).flat();
}

// The old master, dead, as Sentinel lists it after the failover (captured).
const deadOldMaster = replicaEntry(6379, {
  runid: '',
  flags: 's_down,slave,disconnected',
  's-down-time': '2673',
  'master-link-status': 'err',
  'master-host': '?',
  'master-port': '0',
  'slave-repl-offset': '0',
});

function probe(port: number, fixtureName: string | null, host = '127.0.0.1'): Probe {
  return {
    node: { host, port },
    address: `${host}:${port}`,
    info: fixtureName === null ? null : parseInfoReplication(fixture(fixtureName)),
    latencyMs: fixtureName === null ? null : 0.4,
    error: fixtureName === null ? new Error('ECONNREFUSED') : null,
  };
}

const view = (masterPort: number, ...replicas: string[][]): SentinelView => ({
  master: { host: '127.0.0.1', port: masterPort },
  replicas: parseSentinelReplicas(replicas),
});

describe('Sentinel replies', () => {
  it('reads SENTINEL replicas entries (flat lists), with Sentinel words made ours', () => {
    const [alive, dead] = parseSentinelReplicas([replicaEntry(6380), deadOldMaster]);
    expect(alive).toEqual({
      host: '127.0.0.1',
      port: 6380,
      flags: ['slave'],
      role: 'replica',
      linkStatus: 'up',
      masterHost: '127.0.0.1',
      masterPort: 6381,
      offset: 425,
      priority: 100,
      runId: '55ccfb3a3c6c8f5b045b282281ae8b601105599c',
    });
    expect(dead).toMatchObject({ flags: ['s_down', 'slave', 'disconnected'], linkStatus: 'down', masterHost: null, masterPort: null, runId: null });
  });

  it('reads RESP3 map entries too, and skips entries without an address', () => {
    const entry = Object.fromEntries(Object.entries({ ip: '10.0.0.2', port: '6380', flags: 'slave' }));
    expect(parseSentinelReplicas([entry, ['ip', '10.0.0.3'], 'junk'])).toMatchObject([{ host: '10.0.0.2', port: 6380, flags: ['slave'] }]);
    expect(parseSentinelReplicas(null)).toEqual([]);
  });

  it('get-master-addr-by-name: [ip, port], or null for a master the Sentinel does not know', () => {
    expect(parseMasterAddr(['127.0.0.1', '40401'])).toEqual({ host: '127.0.0.1', port: 40401 });
    expect(parseMasterAddr(null)).toBeNull();
    expect(parseMasterAddr(['127.0.0.1', 'x'])).toBeNull();
  });

  it('SENTINEL sentinels: the peers, except those flagged disconnected', () => {
    const peer = (port: number, flags: string) => ['name', 'id', 'ip', '127.0.0.1', 'port', String(port), 'runid', 'id', 'flags', flags];
    expect(parseSentinelPeers([peer(26380, 'sentinel'), peer(26381, 's_down,sentinel,disconnected')])).toEqual([
      { host: '127.0.0.1', port: 26380 },
    ]);
  });

  it('events name the master they are about (captured messages)', () => {
    expect(parseSentinelEvent('+switch-master', 'mymaster 127.0.0.1 40401 127.0.0.1 35627')).toEqual({ instance: 'master', master: 'mymaster' });
    expect(parseSentinelEvent('+sdown', 'master mymaster 127.0.0.1 40401')).toEqual({ instance: 'master', master: 'mymaster' });
    expect(parseSentinelEvent('+odown', 'master mymaster 127.0.0.1 40401 #quorum 2/2')).toEqual({ instance: 'master', master: 'mymaster' });
    expect(parseSentinelEvent('+slave', 'slave 127.0.0.1:45183 127.0.0.1 45183 @ mymaster 127.0.0.1 35627')).toEqual({
      instance: 'slave',
      master: 'mymaster',
    });
    expect(
      parseSentinelEvent('-role-change', 'slave 127.0.0.1:35627 127.0.0.1 35627 @ mymaster 127.0.0.1 40401 new reported role is master'),
    ).toEqual({ instance: 'slave', master: 'mymaster' });
    expect(parseSentinelEvent('+sdown', 'sentinel 5e98 127.0.0.1 26380 @ other 127.0.0.1 7000')).toEqual({ instance: 'sentinel', master: 'other' });
  });
});

describe('assembleSentinelTopology', () => {
  it('after the failover: the master Sentinel names, the dead old master down from Sentinel’s fields', () => {
    const t = assembleSentinelTopology(view(6381, replicaEntry(6380), deadOldMaster), [
      probe(6381, 'promoted-with-one-replica'),
      probe(6380, 'replica-of-promoted'),
      probe(6379, null),
    ], null);
    expect(t.source).toBe('sentinel');
    expect(t.master).toMatchObject({ address: '127.0.0.1:6381', role: 'master', up: true, offset: 2632, latencyMs: 0.4 });
    expect(t.replicas.map((r) => r.address)).toEqual(['127.0.0.1:6379', '127.0.0.1:6380']);
    expect(t.replicas[1]).toMatchObject({ up: true, role: 'replica', linkStatus: 'up', offset: 2604, lagBytes: 28, lagSeconds: 1 });
    expect(t.replicas[0]).toMatchObject({
      up: false,
      role: 'replica',
      linkStatus: 'down',
      syncing: true,
      masterAddress: null,
      offset: 0,
      priority: 100,
      latencyMs: null,
      runId: null,
    });
  });

  it('Sentinel is authoritative: its master stays the master even when its own INFO says replica', () => {
    // Sentinel names 6380 (say, mid-promotion); 6380 still reports role:slave of 6381.
    const t = assembleSentinelTopology(view(6380, replicaEntry(6381)), [probe(6380, 'replica-of-promoted'), probe(6381, 'promoted-with-one-replica')], null);
    expect(t.master).toMatchObject({ address: '127.0.0.1:6380', role: 'replica', up: true });
    expect(t.replicas).toMatchObject([{ address: '127.0.0.1:6381', role: 'master', lagBytes: 0 }]);
  });

  it('withPromoted: the replica Sentinel is promoting, on its own word, before Sentinel names it', () => {
    // Sentinel still names 6380; 6381 already says role:master (REPLICAOF NO ONE done), flagged disconnected meanwhile.
    const t = assembleSentinelTopology(view(6380, replicaEntry(6381, { flags: 'slave,disconnected' })), [probe(6380, 'replica-of-promoted'), probe(6381, 'promoted-with-one-replica')], null);
    const followed = withPromoted(t, '127.0.0.1:6380', '127.0.0.1:6381');
    expect(followed?.master).toMatchObject({ address: '127.0.0.1:6381', role: 'master', up: true });
    expect(followed?.replicas.map((r) => r.address)).toEqual(['127.0.0.1:6380']);
    // Not while it does not say master, nor when Sentinel names someone else, nor when it did not answer.
    expect(withPromoted(t, '127.0.0.1:6380', '127.0.0.1:6379')).toBeNull();
    expect(withPromoted(t, '127.0.0.1:6379', '127.0.0.1:6381')).toBeNull();
    const silent = assembleSentinelTopology(view(6380, replicaEntry(6381)), [probe(6380, 'replica-of-promoted'), probe(6381, null)], null);
    expect(withPromoted(silent, '127.0.0.1:6380', '127.0.0.1:6381')).toBeNull();
  });

  it('the master named but unreachable: down, as known before; lag against the furthest replica', () => {
    const before = assembleSentinelTopology(view(6379, replicaEntry(6380, { 'master-port': '6379' })), [
      probe(6379, 'sentinel-promoted-master'),
      probe(6380, 'replica-link-down-a'),
    ], null);
    const t = assembleSentinelTopology(
      view(6379, replicaEntry(6380, { 'master-port': '6379' }), replicaEntry(6381, { 'master-port': '6379' })),
      [probe(6379, null), probe(6380, 'replica-link-down-a'), probe(6381, 'replica-link-down-b')],
      before,
    );
    expect(t.master).toMatchObject({ address: '127.0.0.1:6379', role: 'master', up: false, latencyMs: null, offset: 23551 });
    expect(t.replicas.map((r) => [r.port, r.up, r.linkStatus, r.lagBytes])).toEqual([
      [6380, true, 'down', 0],
      [6381, true, 'down', 0],
    ]);
  });

  it('a master never seen before and unreachable is a bare down entry', () => {
    const t = assembleSentinelTopology(view(6379), [probe(6379, null)], null);
    expect(t.master).toMatchObject({ address: '127.0.0.1:6379', role: 'master', up: false, offset: 0, runId: null });
    expect(t.replicas).toEqual([]);
  });

  it('flags s_down, o_down and disconnected mean down even when our probe answered; a silent replica is down too', () => {
    const flagged = (port: number, flags: string) => replicaEntry(port, { flags });
    const t = assembleSentinelTopology(
      view(6381, flagged(6379, 'slave,s_down'), flagged(6380, 'o_down,slave'), flagged(6382, 'slave,disconnected'), flagged(6383, 'slave')),
      [
        probe(6381, 'promoted-with-two-replicas'),
        probe(6379, 'old-master-rejoined'),
        probe(6380, 'replica-of-promoted'),
        probe(6382, 'replica-of-promoted'),
        probe(6383, null),
      ],
      null,
    );
    expect(t.replicas.map((r) => [r.port, r.up])).toEqual([
      [6379, false],
      [6380, false],
      [6382, false],
      [6383, false],
    ]);
    // Listed with what INFO said: the client still knows them, it just sends them nothing.
    expect(t.replicas[0]).toMatchObject({ offset: 4018, linkStatus: 'up', lagBytes: 28, lagSeconds: 0 });
    expect(t.replicas[3]).toMatchObject({ offset: 425, masterAddress: '127.0.0.1:6381', linkStatus: 'up' });
  });

  it('ignores the master if Sentinel also lists it among the replicas', () => {
    const t = assembleSentinelTopology(view(6381, replicaEntry(6381), replicaEntry(6380)), [probe(6381, 'promoted-with-one-replica'), probe(6380, 'replica-of-promoted')], null);
    expect(t.replicas.map((r) => r.port)).toEqual([6380]);
  });

  it('applies natMap to every announced address: master, replicas, and the master a replica follows', () => {
    const nat = new Map([
      ['10.0.0.1:6379', { host: '127.0.0.1', port: 6381 }],
      ['10.0.0.2:6379', { host: '127.0.0.1', port: 6380 }],
      ['127.0.0.1:6381', { host: '127.0.0.1', port: 6381 }],
    ]);
    const mapAddress = (a: HostPort) => nat.get(`${a.host}:${a.port}`) ?? a;
    const announced: SentinelView = {
      master: { host: '10.0.0.1', port: 6379 },
      replicas: parseSentinelReplicas([replicaEntry(6379, { ip: '10.0.0.2', 'master-host': '10.0.0.1', 'master-port': '6379' })]),
    };
    const t = assembleSentinelTopology(announced, [probe(6381, 'promoted-with-one-replica'), probe(6380, 'replica-of-promoted')], null, mapAddress);
    expect(t.master?.address).toBe('127.0.0.1:6381');
    expect(t.replicas).toMatchObject([{ address: '127.0.0.1:6380', up: true, masterAddress: '127.0.0.1:6381', lagSeconds: 1 }]);

    // Unreachable: described from Sentinel's fields, mapped as well.
    const down = assembleSentinelTopology(announced, [probe(6381, 'promoted-with-one-replica'), probe(6380, null)], null, mapAddress);
    expect(down.replicas).toMatchObject([{ address: '127.0.0.1:6380', up: false, masterAddress: '127.0.0.1:6381' }]);
  });
});

/** A Sentinel connection stand-in, answering from a table; enough of ioredis for the provider. */
class FakeSentinel extends EventEmitter {
  status = 'ready';
  calls: string[] = [];
  channels: string[] = [];
  constructor(
    readonly address: string,
    readonly purpose: ConnectionPurpose,
    readonly options: RedisOptions,
    readonly answer: (sub: string) => unknown,
  ) {
    super();
  }
  call(_command: string, args: string[]): Promise<unknown> {
    this.calls.push(args[0]!);
    const reply = this.answer(args[0]!);
    return reply instanceof Error ? Promise.reject(reply) : Promise.resolve(reply);
  }
  subscribe(...channels: string[]): Promise<number> {
    this.channels.push(...channels);
    return Promise.resolve(channels.length);
  }
  disconnect(): void {
    this.status = 'end';
  }
}

/** A data node's control connection stand-in: INFO from a fixture. */
function fakeData(text: string, calls: unknown[][] = []): Redis {
  const conn = Object.assign(new EventEmitter(), {
    status: 'ready',
    info: () => Promise.resolve(text),
    call: (...args: unknown[]) => {
      calls.push(args);
      return Promise.resolve(1);
    },
    disconnect: () => undefined,
    quit: () => Promise.resolve('OK'),
  });
  return conn as unknown as Redis;
}

function fakeProvider(answers: Record<number, ((sub: string) => unknown) | undefined>, options: RedisOptions = {}) {
  const made: FakeSentinel[] = [];
  const infos: Record<number, string> = { 6381: fixture('promoted-with-one-replica'), 6380: fixture('replica-of-promoted') };
  const dataCalls: unknown[][] = [];
  const pool = new NodePool({
    redisOptions: {},
    poolSize: 1,
    factory: (node) => fakeData(infos[node.port] ?? '', dataCalls),
    hooks: { onReady() {}, onClose() {}, onError() {} },
  });
  const provider = new SentinelProvider({
    sentinels: [26379, 26380].map((port) => ({ host: '127.0.0.1', port })),
    name: 'mymaster',
    sentinelOptions: options,
    pool,
    mapAddress: (a) => a,
    probeTimeoutMs: 200,
    connectionFactory: (node, purpose, opts) => {
      const answer = answers[node.port] ?? (() => new Error(`connect ECONNREFUSED 127.0.0.1:${node.port}`));
      const conn = new FakeSentinel(`${node.host}:${node.port}`, purpose, opts, answer);
      made.push(conn);
      return conn as unknown as Redis;
    },
  });
  return { provider, made, pool, dataCalls };
}

const knows = (sub: string): unknown =>
  ({
    'get-master-addr-by-name': ['127.0.0.1', '6381'],
    replicas: [replicaEntry(6380)],
    sentinels: [['name', 'x', 'ip', '127.0.0.1', 'port', '26381', 'flags', 'sentinel']],
  })[sub];

describe('SentinelProvider with stand-in connections', () => {
  it('skips a Sentinel that fails or does not know the master, then starts with the one that answered', async () => {
    const { provider, made, pool } = fakeProvider({ 26379: (sub) => (sub === 'get-master-addr-by-name' ? null : new Error('ERR No such master with that name')), 26380: knows });
    const t = await provider.discover(null);
    expect(t).toMatchObject({ source: 'sentinel', master: { address: '127.0.0.1:6381', up: true } });
    expect(t.replicas.map((r) => r.address)).toEqual(['127.0.0.1:6380']);
    expect(provider.sentinels).toEqual(['127.0.0.1:26379', '127.0.0.1:26380', '127.0.0.1:26381']);

    await provider.discover(t);
    const asked = made.filter((c) => c.calls.length > 0).map((c) => [c.address, c.calls.length]);
    // 26379 once (master unknown), 26380 twice (three queries each time), never 26381.
    expect(asked).toEqual([
      ['127.0.0.1:26379', 3],
      ['127.0.0.1:26380', 6],
    ]);
    // Sentinel replies are read as flat lists whatever the caller's options say.
    expect(made[0]!.options).toMatchObject({ replyMapping: 'legacy', db: 0, retryStrategy: null });
    await provider.close();
    await pool.close(false);
    expect(made.every((c) => c.status === 'end')).toBe(true);
    await expect(provider.discover(t)).rejects.toThrow(/closed/);
  });

  it('rejects, naming each Sentinel and why, never with the password', async () => {
    const secret = 's3cr3t-pw';
    const { provider, pool } = fakeProvider({ 26380: () => new Error(`ERR something went wrong (${secret})`) }, { password: secret });
    const error: Error = await provider.discover(null).then(
      () => new Error('resolved'),
      (e: Error) => e,
    );
    expect(error.message).toMatch(/No Sentinel answered for master "mymaster"/);
    expect(error).toMatchObject({ name: 'NoNodeError', code: 'ERR_NO_NODE' });
    expect(error.message).toContain('127.0.0.1:26379: connect ECONNREFUSED 127.0.0.1:26379');
    expect(error.message).toContain('127.0.0.1:26380: ERR something went wrong');
    expect(error.message).not.toContain(secret);
    await provider.close();
    await pool.close(false);
  });

  it('credentials a Sentinel refuses: an AuthError naming it, whatever else failed, never with the password', async () => {
    const secret = 's3cr3t-pw';
    const { provider, pool } = fakeProvider({ 26380: () => new Error('WRONGPASS invalid username-password pair or user is disabled.') }, { password: secret });
    const error: Error = await provider.discover(null).then(
      () => new Error('resolved'),
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(AuthError);
    expect(error).toBeInstanceOf(NoNodeError);
    expect(error).toMatchObject({ name: 'AuthError', code: 'ERR_AUTH', address: '127.0.0.1:26380', server: 'sentinel' });
    expect(error.message).toMatch(/^127\.0\.0\.1:26380 refused the credentials \(WRONGPASS\).*sentinelOptions\.password/);
    expect((error.cause as Error).message).toMatch(/^WRONGPASS/);
    expect(error.message).not.toContain(secret);
    await provider.close();
    await pool.close(false);
  });

  it('a query that hangs counts as no answer after probeTimeoutMs', async () => {
    const { provider, pool } = fakeProvider({ 26379: () => new Promise(() => undefined), 26380: knows });
    const started = performance.now();
    const t = await provider.discover(null);
    expect(t.master?.address).toBe('127.0.0.1:6381');
    expect(performance.now() - started).toBeLessThan(1000);
    await provider.close();
    await pool.close(false);
  });

  it('watch: one subscriber per Sentinel, later ones too; signals only for our master', async () => {
    const { provider, made, pool } = fakeProvider({ 26380: knows });
    const signals: string[] = [];
    provider.watch((reason) => signals.push(reason));
    const subscribers = () => made.filter((c) => c.channels.length > 0);
    expect(subscribers().map((c) => c.address)).toEqual(['127.0.0.1:26379', '127.0.0.1:26380']);
    expect(subscribers()[0]!.channels).toEqual([...SENTINEL_CHANNELS]);
    expect(subscribers()[0]!.options).toMatchObject({ autoResubscribe: true, maxRetriesPerRequest: null });
    expect(typeof subscribers()[0]!.options.retryStrategy).toBe('function');

    await provider.discover(null);
    expect(subscribers().map((c) => c.address)).toContain('127.0.0.1:26381');

    const sub = subscribers()[0]!;
    sub.emit('message', '+switch-master', 'mymaster 127.0.0.1 6381 127.0.0.1 6380');
    sub.emit('message', '+switch-master', 'othermaster 127.0.0.1 7000 127.0.0.1 7001');
    sub.emit('message', '+sdown', 'sentinel 5e98 127.0.0.1 26380 @ mymaster 127.0.0.1 6381');
    sub.emit('message', '+sdown', 'slave 127.0.0.1:6380 127.0.0.1 6380 @ mymaster 127.0.0.1 6381');
    sub.emit('ready');
    expect(signals).toEqual(['sentinel +switch-master', 'sentinel +sdown']);
    sub.emit('ready'); // a reconnect: events may have been missed
    expect(signals.at(-1)).toBe('sentinel reconnected');

    // The Sentinel that announced a switch is asked first next time (the others may lag behind it).
    const last = subscribers().find((c) => c.address === '127.0.0.1:26381')!;
    last.emit('message', '+switch-master', 'mymaster 127.0.0.1 6381 127.0.0.1 6380');
    const before = made.length;
    await provider.discover(null).catch(() => undefined);
    expect(made.slice(before).map((c) => c.address)[0]).toBe('127.0.0.1:26381');

    await provider.close();
    sub.emit('message', '+switch-master', 'mymaster 127.0.0.1 6380 127.0.0.1 6381');
    expect(signals).toHaveLength(4);
    expect(made.every((c) => c.status === 'end')).toBe(true);
    await pool.close(false);
  });

  it('handover: WAIT on the master\'s data connections, SENTINEL FAILOVER on the Sentinel that answered last, done when it names another master', async () => {
    let switched = false;
    const failing = (sub: string): unknown => (sub === 'FAILOVER' ? new Error('NOGOODSLAVE No suitable replica to promote') : sub === 'get-master-addr-by-name' ? null : new Error('ERR No such master with that name'));
    const leader = (sub: string): unknown => {
      if (sub === 'FAILOVER') {
        switched = true;
        return 'OK';
      }
      if (sub === 'get-master-addr-by-name' && switched) return ['127.0.0.1', '6380'];
      return knows(sub);
    };
    const { provider, made, pool, dataCalls } = fakeProvider({ 26379: failing, 26380: leader });
    const t = await provider.discover(null);
    pool.node(t.master!).open();
    const reasons: string[] = [];
    const result = await provider.handover(t, { timeoutMs: 1000 }, (reason) => reasons.push(reason));
    expect(result).toMatchObject({ from: '127.0.0.1:6381', to: '127.0.0.1:6380', method: 'sentinel-failover' });
    expect(reasons).toEqual(['switchover (SENTINEL FAILOVER)']);
    // WAIT on the master's data connection; the replica (not yet saying master) asked its ROLE meanwhile.
    expect(dataCalls.filter((c) => c[0] === 'WAIT')).toEqual([['WAIT', 1, 1000]]);
    expect(dataCalls.filter((c) => c[0] !== 'WAIT')).toContainEqual(['ROLE']);
    // 26380 answered discovery last: asked first, and never 26379.
    expect(made.filter((c) => c.calls.includes('FAILOVER')).map((c) => c.address)).toEqual(['127.0.0.1:26380']);
    expect(new Set(made.map((c) => c.purpose))).toEqual(new Set(['sentinel']));
    await provider.close();
    await pool.close(false);
  });

  it('handover: every Sentinel refusing is a PromotionError; promote, demote and switchover.to are refused as in Sentinel mode', async () => {
    const refuse = (sub: string): unknown => (sub === 'FAILOVER' ? new Error('INPROG Failover already in progress') : knows(sub));
    const { provider, pool, made } = fakeProvider({ 26379: refuse, 26380: refuse });
    const t = await provider.discover(null);
    // Each known Sentinel is asked (26381, learnt from the others, refuses the connection: the last error).
    await expect(provider.handover(t, {}, () => undefined)).rejects.toMatchObject({
      code: 'ERR_PROMOTION_FAILED',
      message: 'SENTINEL FAILOVER on 127.0.0.1:6381 failed: connect ECONNREFUSED 127.0.0.1:26381',
    });
    expect(made.filter((c) => c.calls.includes('FAILOVER')).map((c) => c.address)).toEqual(['127.0.0.1:26379', '127.0.0.1:26380', '127.0.0.1:26381']);
    await expect(provider.handover(t, { to: '127.0.0.1:6380' }, () => undefined)).rejects.toThrow(
      'Invalid option "switchover.to": Sentinel picks the replica in Sentinel mode (steer it with replica-priority)',
    );
    await expect(provider.promote()).rejects.toThrow('Invalid option "promote": Sentinel promotes in Sentinel mode; use switchover()');
    await expect(provider.demote()).rejects.toThrow('Invalid option "demote": Sentinel reconfigures old masters in Sentinel mode');
    await expect(provider.handover({ master: null, replicas: [], source: 'sentinel' }, {}, () => undefined)).rejects.toMatchObject({ code: 'ERR_NO_MASTER' });
    await provider.close();
    await expect(provider.discover(t)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await pool.close(false);
  });
});
