import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import { parseAddress, parseRedisUrl, resolveOptions } from '../../src/options.js';
import type { FailoverRedisOptions } from '../../src/options-types.js';

/** Runs `fn`, asserts it threw InvalidOptionError for `option`, and returns the error. */
function invalid(fn: () => unknown, option: string): InvalidOptionError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InvalidOptionError);
  const error = caught as InvalidOptionError;
  expect(error.code).toBe('ERR_INVALID_OPTION');
  expect(error.name).toBe('InvalidOptionError');
  expect(error.option).toBe(option);
  expect(error.message).toContain(`"${option}"`);
  return error;
}

const nodes = ['127.0.0.1:6379'];
const resolveWith = (extra: Record<string, unknown>) => () => resolveOptions({ nodes, ...extra } as FailoverRedisOptions);

describe('the forms in the Public API', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("{ nodes: ['127.0.0.1:6379'] }: client mode with every default", () => {
    const o = resolveOptions({ nodes: ['127.0.0.1:6379'] });
    expect(o).toEqual({
      mode: 'nodes',
      seeds: [{ host: '127.0.0.1', port: 6379 }],
      name: null,
      readFrom: expect.objectContaining({ name: 'replicaPreferred', choose: null }),
      zone: null,
      zones: null,
      maxReplicaLag: { bytes: null, ms: null },
      consistency: 'read-your-writes',
      durability: null,
      failover: { promote: 'auto', downAfterMs: 1000, quorum: null },
      redisOptions: {},
      sentinelOptions: {},
      natMap: new Map(),
      poolSize: 1,
      commandTimeoutMs: 10_000,
      maxQueuedCommands: 10_000,
      refreshIntervalMs: 2000,
      fencing: true,
    });
  });

  it("{ sentinels: ['127.0.0.1:26379'], name: 'mymaster' }: Sentinel mode, Sentinel promotes", () => {
    const o = resolveOptions({ sentinels: ['127.0.0.1:26379'], name: 'mymaster' });
    expect(o.mode).toBe('sentinel');
    expect(o.seeds).toEqual([{ host: '127.0.0.1', port: 26379 }]);
    expect(o.name).toBe('mymaster');
    expect(o.failover.promote).toBe('sentinel');
  });

  it("'redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster?readFrom=replica'", () => {
    const o = resolveOptions('redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster?readFrom=replica');
    expect(o.mode).toBe('sentinel');
    expect(o.seeds).toEqual([
      { host: '127.0.0.1', port: 26379 },
      { host: '127.0.0.1', port: 26380 },
    ]);
    expect(o.name).toBe('mymaster');
    expect(o.readFrom.name).toBe('replica');
    expect(o.redisOptions).toEqual({});
    expect(o.sentinelOptions).toEqual({});
  });

  it("'redis://:password@10.0.0.1:6379,10.0.0.2:6379/0?readFrom=replicaPreferred'", () => {
    const o = resolveOptions('redis://:password@10.0.0.1:6379,10.0.0.2:6379/0?readFrom=replicaPreferred');
    expect(o.mode).toBe('nodes');
    expect(o.seeds).toEqual([
      { host: '10.0.0.1', port: 6379 },
      { host: '10.0.0.2', port: 6379 },
    ]);
    expect(o.redisOptions).toEqual({ password: 'password', db: 0 });
    expect(o.readFrom.name).toBe('replicaPreferred');
  });

  it('process.env.ORDERS_REDIS_URL: one URL per service', () => {
    vi.stubEnv('ORDERS_REDIS_URL', 'rediss://orders:s3cret@orders-redis:6380/2');
    const o = resolveOptions(process.env.ORDERS_REDIS_URL);
    expect(o.seeds).toEqual([{ host: 'orders-redis', port: 6380 }]);
    expect(o.redisOptions).toEqual({ username: 'orders', password: 's3cret', db: 2, tls: {} });
  });

  it('process.env.ORDERS_REDIS_URL unset: says the variable may be unset', () => {
    vi.stubEnv('ORDERS_REDIS_URL', undefined);
    const error = invalid(() => resolveOptions(process.env.ORDERS_REDIS_URL), 'nodes');
    expect(error.message).toMatch(/no topology source/);
    expect(error.message).toMatch(/environment variable/);
  });
});

describe('object form', () => {
  it('takes { host, port } and IPv6 in brackets, and drops duplicates', () => {
    const o = resolveOptions({ nodes: [{ host: '10.0.0.1', port: 6379 }, '[::1]:6380', '10.0.0.1:6379'] });
    expect(o.seeds).toEqual([
      { host: '10.0.0.1', port: 6379 },
      { host: '::1', port: 6380 },
    ]);
  });

  it('keeps every given value', () => {
    const choose = () => undefined;
    const o = resolveOptions({
      nodes,
      readFrom: choose,
      maxReplicaLag: { bytes: 1024, ms: 5000 },
      consistency: 'eventual',
      durability: { replicas: 1, timeoutMs: 100 },
      failover: { promote: 'manual', downAfterMs: 500, quorum: 2 },
      redisOptions: { password: 'pw', enableAutoPipelining: true },
      sentinelOptions: { password: 'spw' },
      natMap: { '172.17.0.2:6379': '127.0.0.1:7000', '[fd00::2]:6379': { host: 'localhost', port: 7001 } },
      poolSize: 4,
      commandTimeoutMs: 0,
      maxQueuedCommands: 0,
      refreshIntervalMs: 250,
    });
    expect(o.readFrom).toEqual({ name: 'custom', choose });
    expect(o.maxReplicaLag).toEqual({ bytes: 1024, ms: 5000 });
    expect(o.consistency).toBe('eventual');
    expect(o.durability).toEqual({ replicas: 1, timeoutMs: 100 });
    expect(o.failover).toEqual({ promote: 'manual', downAfterMs: 500, quorum: 2 });
    expect(o.redisOptions).toEqual({ password: 'pw', enableAutoPipelining: true });
    expect(o.sentinelOptions).toEqual({ password: 'spw' });
    expect(o.natMap).toEqual(
      new Map([
        ['172.17.0.2:6379', { host: '127.0.0.1', port: 7000 }],
        ['[fd00::2]:6379', { host: 'localhost', port: 7001 }],
      ]),
    );
    expect([o.poolSize, o.commandTimeoutMs, o.maxQueuedCommands, o.refreshIntervalMs]).toEqual([4, 0, 0, 250]);
  });

  it('accepts readFrom aliases through parseReadFrom', () => {
    expect(resolveOptions({ nodes, readFrom: 'REPLICA_PREFERRED' as never }).readFrom.name).toBe('replicaPreferred');
  });

  it('copies redisOptions rather than sharing them', () => {
    const redisOptions = { db: 1 };
    const o = resolveOptions({ nodes, redisOptions });
    o.redisOptions.db = 2;
    expect(redisOptions.db).toBe(1);
  });

  it('merges extra over the options, nested settings one level deep', () => {
    const o = resolveOptions(
      { nodes, redisOptions: { password: 'pw', db: 1 }, failover: { downAfterMs: 500 } },
      { redisOptions: { db: 3, keyPrefix: undefined }, failover: { quorum: 2 } },
    );
    expect(o.redisOptions).toEqual({ password: 'pw', db: 3 });
    expect(o.failover).toEqual({ promote: 'auto', downAfterMs: 500, quorum: 2 });
  });
});

describe('validation', () => {
  it('no topology source', () => {
    expect(invalid(() => resolveOptions({}), 'nodes').message).toMatch(/no topology source/);
    invalid(() => resolveOptions(undefined), 'nodes');
  });

  it('nodes and sentinels both', () => {
    const error = invalid(() => resolveOptions({ nodes, sentinels: ['127.0.0.1:26379'], name: 'mymaster' }), 'sentinels');
    expect(error.message).toMatch(/not both/);
  });

  it('sentinels without name, or with an empty one', () => {
    expect(invalid(() => resolveOptions({ sentinels: ['127.0.0.1:26379'] }), 'name').message).toMatch(/master's name/);
    invalid(() => resolveOptions({ sentinels: ['127.0.0.1:26379'], name: '' }), 'name');
  });

  it('name without sentinels', () => {
    expect(invalid(resolveWith({ name: 'mymaster' }), 'name').message).toMatch(/connectionName/);
  });

  it('empty or non-array address lists', () => {
    expect(invalid(() => resolveOptions({ nodes: [] }), 'nodes').message).toMatch(/empty/);
    invalid(() => resolveOptions({ sentinels: [], name: 'mymaster' }), 'sentinels');
    invalid(() => resolveOptions({ nodes: '127.0.0.1:6379' as never }), 'nodes');
  });

  it.each([
    ['127.0.0.1', /port is missing/],
    ['127.0.0.1:', /port must be/],
    ['127.0.0.1:abc', /port must be/],
    ['127.0.0.1:0', /port must be/],
    ['127.0.0.1:65536', /port must be/],
    ['127.0.0.1:-1', /port must be/],
    [':6379', /host is empty/],
    ['::1:6379', /brackets/],
    ['[::1', /"\]"/],
    ['[::1]6379', /":port"/],
    ['[]:6379', /host is empty/],
    ['redis://127.0.0.1:6379', /not a URL/],
    [{ host: '', port: 6379 }, /host must be/],
    [{ host: 'a', port: 70000 }, /port must be/],
    [{ host: 'a', port: '6379' }, /port must be/],
    [6379, /expected/],
  ])('a bad address: %j', (address, why) => {
    const error = invalid(() => resolveOptions({ nodes: [address as never] }), 'nodes');
    expect(error.message).toMatch(why);
    invalid(() => resolveOptions({ sentinels: [address as never], name: 'mymaster' }), 'sentinels');
  });

  it('unknown readFrom', () => {
    expect(invalid(resolveWith({ readFrom: 'replicas' }), 'readFrom').message).toMatch(/replicaPreferred/);
  });

  it.each([
    ['commandTimeoutMs', -1],
    ['commandTimeoutMs', Infinity],
    ['commandTimeoutMs', NaN],
    ['commandTimeoutMs', '100'],
    ['maxQueuedCommands', -1],
    ['maxQueuedCommands', 1.5],
    ['poolSize', 0],
    ['poolSize', 1.5],
    ['refreshIntervalMs', 0],
    ['refreshIntervalMs', Infinity],
  ])('%s = %j', (option, value) => {
    const error = invalid(resolveWith({ [option]: value }), option);
    expect(error.message).toMatch(/must be/);
  });

  it.each([
    [{ failover: { downAfterMs: 0 } }, 'failover.downAfterMs'],
    [{ failover: { downAfterMs: -5 } }, 'failover.downAfterMs'],
    [{ failover: { quorum: 0 } }, 'failover.quorum'],
    [{ failover: { quorum: 1.5 } }, 'failover.quorum'],
    [{ durability: { replicas: 0, timeoutMs: 100 } }, 'durability.replicas'],
    [{ durability: { replicas: 1.5, timeoutMs: 100 } }, 'durability.replicas'],
    [{ durability: { replicas: 1, timeoutMs: -1 } }, 'durability.timeoutMs'],
    [{ durability: { replicas: 1 } }, 'durability.timeoutMs'],
    [{ durability: { timeoutMs: 10 } }, 'durability.replicas'],
    [{ durability: 1 }, 'durability'],
    [{ maxReplicaLag: { bytes: -1 } }, 'maxReplicaLag.bytes'],
    [{ maxReplicaLag: { ms: NaN } }, 'maxReplicaLag.ms'],
    [{ maxReplicaLag: 100 }, 'maxReplicaLag'],
    [{ failover: 'auto' }, 'failover'],
  ])('nested %j', (extra, option) => {
    invalid(resolveWith(extra), option);
  });

  it('unknown consistency and promote values', () => {
    expect(invalid(resolveWith({ consistency: 'strong' }), 'consistency').message).toMatch(/read-your-writes/);
    expect(invalid(resolveWith({ failover: { promote: 'always' } }), 'failover.promote').message).toMatch(/"auto", "manual"/);
  });

  it('promote in Sentinel mode: the Sentinels promote', () => {
    const sentinel = { sentinels: ['127.0.0.1:26379'], name: 'mymaster' };
    for (const promote of ['auto', 'manual'] as const) {
      const error = invalid(() => resolveOptions({ ...sentinel, failover: { promote } }), 'failover.promote');
      expect(error.message).toMatch(/Sentinels promote/);
    }
  });

  it('unknown keys, with the right name suggested', () => {
    expect(invalid(resolveWith({ readfrom: 'master' }), 'readfrom').message).toMatch(/did you mean "readFrom"/);
    expect(invalid(resolveWith({ poolsize: 2 }), 'poolsize').message).toMatch(/"poolSize"/);
    expect(invalid(resolveWith({ commandTimeout: 5 }), 'commandTimeout').message).toMatch(/"commandTimeoutMs"/);
    expect(invalid(resolveWith({ failover: { downAfter: 5 } }), 'failover.downAfter').message).toMatch(
      /"failover.downAfterMs"/,
    );
    expect(invalid(resolveWith({ maxReplicaLag: { seconds: 5 } }), 'maxReplicaLag.seconds').message).toMatch(/known/);
    expect(invalid(() => resolveOptions({ nodes }, { sentinel: [] } as never), 'sentinel').message).toMatch(
      /"sentinels"/,
    );
    expect(invalid(resolveWith({ zzz: 1 }), 'zzz').message).toMatch(/known: nodes, sentinels/);
  });

  it('ioredis options at the top level point to redisOptions, without echoing the value', () => {
    const error = invalid(resolveWith({ password: 'hunter2' }), 'password');
    expect(error.message).toMatch(/redisOptions/);
    expect(error.message).not.toContain('hunter2');
    expect(invalid(resolveWith({ sentinelPassword: 'x' }), 'sentinelPassword').message).toMatch(
      /sentinelOptions: \{ password/,
    );
    expect(invalid(resolveWith({ host: 'x' }), 'host').message).toMatch(/nodes/);
  });

  it('a non-object redisOptions or sentinelOptions', () => {
    expect(invalid(resolveWith({ redisOptions: 'redis://x' }), 'redisOptions').message).toMatch(/a string/);
    invalid(resolveWith({ redisOptions: null }), 'redisOptions');
    invalid(resolveWith({ redisOptions: [] }), 'redisOptions');
    invalid(resolveWith({ sentinelOptions: 5 }), 'sentinelOptions');
  });

  it.each(['host', 'port', 'path', 'sentinels', 'name'])('redisOptions.%s comes from the topology', (key) => {
    const error = invalid(resolveWith({ redisOptions: { [key]: 'x' } }), `redisOptions.${key}`);
    expect(error.message).toMatch(/comes from the topology/);
    invalid(resolveWith({ sentinelOptions: { [key]: 'x' } }), `sentinelOptions.${key}`);
  });

  it('a bad natMap', () => {
    invalid(resolveWith({ natMap: { 'a:1': 'b' } }), 'natMap');
    invalid(resolveWith({ natMap: { a: 'b:1' } }), 'natMap');
    invalid(resolveWith({ natMap: ['a:1'] }), 'natMap');
  });

  it('a non-object input', () => {
    invalid(() => resolveOptions(42 as never), 'options');
    invalid(() => resolveOptions([] as never), 'options');
    invalid(() => resolveOptions({ nodes }, 'x' as never), 'options');
  });
});

describe('URL form', () => {
  it('default ports: 6379, and 26379 for Sentinel', () => {
    expect(resolveOptions('redis://cache').seeds).toEqual([{ host: 'cache', port: 6379 }]);
    expect(resolveOptions('redis+sentinel://s1,s2:26380/mymaster').seeds).toEqual([
      { host: 's1', port: 26379 },
      { host: 's2', port: 26380 },
    ]);
  });

  it('IPv6 in brackets, with or without a port', () => {
    expect(resolveOptions('redis://[::1]:6380,[fe80::1]').seeds).toEqual([
      { host: '::1', port: 6380 },
      { host: 'fe80::1', port: 6379 },
    ]);
  });

  it('credentials: user and password, password alone, user alone, percent-decoded', () => {
    expect(resolveOptions('redis://app:p%40ss%3Aw%2Fd@h:1').redisOptions).toEqual({ username: 'app', password: 'p@ss:w/d' });
    expect(resolveOptions('redis://:pw@h:1').redisOptions).toEqual({ password: 'pw' });
    expect(resolveOptions('redis://app@h:1').redisOptions).toEqual({ username: 'app' });
    // Unencoded "@", "/" and "#" in a password still read as the password: userinfo ends at the last "@".
    expect(resolveOptions('redis://:p@ss/w#rd@h:1/2').redisOptions).toEqual({ password: 'p@ss/w#rd', db: 2 });
  });

  it('the database, for redis:// and after the master name', () => {
    expect(resolveOptions('redis://h:1/15').redisOptions).toEqual({ db: 15 });
    expect(resolveOptions('redis://h:1/').redisOptions).toEqual({});
    const o = resolveOptions('redis+sentinel://h/my%20master/3');
    expect([o.name, o.redisOptions.db]).toEqual(['my master', 3]);
  });

  it('rediss:// sets TLS on data connections; rediss+sentinel:// on Sentinel connections too', () => {
    expect(resolveOptions('rediss://h:1').redisOptions).toEqual({ tls: {} });
    const s = resolveOptions('rediss+sentinel://h:1/m');
    expect(s.redisOptions).toEqual({ tls: {} });
    expect(s.sentinelOptions).toEqual({ tls: {} });
    expect(resolveOptions('redis://h:1?tls=true').redisOptions).toEqual({ tls: {} });
    expect(resolveOptions('redis+sentinel://h:1/m?tls=true').sentinelOptions).toEqual({ tls: {} });
    expect(resolveOptions('REDISS://h:1').redisOptions.tls).toEqual({});
  });

  it('TLS from the URL survives extra redisOptions', () => {
    const o = resolveOptions('rediss://:pw@h:1', { redisOptions: { tls: { servername: 'h' }, enableAutoPipelining: true } });
    expect(o.redisOptions).toEqual({ password: 'pw', tls: { servername: 'h' }, enableAutoPipelining: true });
    expect(resolveOptions('rediss://h:1', { redisOptions: { tls: undefined } }).redisOptions.tls).toEqual({});
  });

  it('every query parameter', () => {
    const o = resolveOptions(
      'redis+sentinel://h/m?readFrom=nearest&maxReplicaLagBytes=1024&maxReplicaLagMs=500&consistency=eventual' +
        '&durabilityReplicas=1&durabilityTimeoutMs=250&downAfterMs=750&quorum=2&poolSize=3&commandTimeoutMs=5000' +
        '&maxQueuedCommands=99&refreshIntervalMs=1000&connectTimeout=3000&keyPrefix=orders%3A' +
        '&sentinelUsername=sent&sentinelPassword=s%26cret&tls=true',
    );
    expect(o.readFrom.name).toBe('nearest');
    expect(o.maxReplicaLag).toEqual({ bytes: 1024, ms: 500 });
    expect(o.consistency).toBe('eventual');
    expect(o.durability).toEqual({ replicas: 1, timeoutMs: 250 });
    expect(o.failover).toEqual({ promote: 'sentinel', downAfterMs: 750, quorum: 2 });
    expect([o.poolSize, o.commandTimeoutMs, o.maxQueuedCommands, o.refreshIntervalMs]).toEqual([3, 5000, 99, 1000]);
    expect(o.redisOptions).toEqual({ connectTimeout: 3000, keyPrefix: 'orders:', tls: {} });
    expect(o.sentinelOptions).toEqual({ connectTimeout: 3000, username: 'sent', password: 's&cret', tls: {} });
    expect(resolveOptions('redis://h?promote=manual').failover.promote).toBe('manual');
    expect(resolveOptions('redis+sentinel://h?name=mymaster').name).toBe('mymaster');
    expect(resolveOptions('redis+sentinel://h/mymaster?name=mymaster').name).toBe('mymaster');
  });

  it('explicit object options win over the URL', () => {
    const o = resolveOptions('redis://:pw@h:1/1?readFrom=replica&poolSize=2', {
      readFrom: 'master',
      redisOptions: { db: 4 },
    });
    expect(o.readFrom.name).toBe('master');
    expect(o.poolSize).toBe(2);
    expect(o.redisOptions).toEqual({ password: 'pw', db: 4 });
    expect(resolveOptions('redis://h?durabilityReplicas=2', { durability: { timeoutMs: 50 } as never }).durability).toEqual({
      replicas: 2,
      timeoutMs: 50,
    });
  });

  it('parseRedisUrl returns the unresolved object form', () => {
    expect(parseRedisUrl('redis://:pw@h:1/0?poolSize=2')).toEqual({
      nodes: [{ host: 'h', port: 1 }],
      redisOptions: { password: 'pw', db: 0 },
      poolSize: 2,
    });
  });

  it.each([
    ['http://h:6379', /redis:\/\/, rediss:\/\/, redis\+sentinel:\/\/ or rediss\+sentinel:\/\/.*not http:\/\//],
    ['h:6379', /write redis:\/\/host:port/],
    ['', /empty/],
    ['redis://', /no host/],
    ['redis://a,,b', /empty entry/],
    ['redis://h:port', /port must be/],
    ['redis://h:0', /port must be/],
    ['redis://::1', /brackets/],
    ['redis://h/0/x', /\/db/],
    ['redis+sentinel://h/m/0/x', /masterName/],
  ])('%j is rejected as "url"', (url, why) => {
    expect(invalid(() => resolveOptions(url), 'url').message).toMatch(why);
  });

  it.each([
    ['redis://h/x', 'db'],
    ['redis://h/-1', 'db'],
    ['redis+sentinel://h', 'name'],
    ['redis+sentinel://h//0', 'name'],
    ['redis+sentinel://h/a?name=b', 'name'],
    ['redis://h?name=m', 'name'],
    ['redis://h?readfrom=replica', 'readfrom'],
    ['redis://h?password=x', 'password'],
    ['redis://h?readFrom=bogus', 'readFrom'],
    ['redis://h?poolSize=0', 'poolSize'],
    ['redis://h?poolSize=', 'poolSize'],
    ['redis://h?poolSize=0x10', 'poolSize'],
    ['redis://h?commandTimeoutMs=-1', 'commandTimeoutMs'],
    ['redis://h?commandTimeoutMs=Infinity', 'commandTimeoutMs'],
    ['redis://h?maxQueuedCommands=1.5', 'maxQueuedCommands'],
    ['redis://h?refreshIntervalMs=0', 'refreshIntervalMs'],
    ['redis://h?downAfterMs=0', 'downAfterMs'],
    ['redis://h?quorum=0', 'quorum'],
    ['redis://h?durabilityReplicas=0', 'durabilityReplicas'],
    ['redis://h?durabilityTimeoutMs=-1', 'durabilityTimeoutMs'],
    ['redis://h?durabilityReplicas=1', 'durability.timeoutMs'],
    ['redis://h?maxReplicaLagBytes=-1', 'maxReplicaLagBytes'],
    ['redis://h?maxReplicaLagMs=x', 'maxReplicaLagMs'],
    ['redis://h?connectTimeout=-1', 'connectTimeout'],
    ['redis://h?consistency=strong', 'consistency'],
    ['redis://h?promote=always', 'promote'],
    ['redis+sentinel://h/m?promote=auto', 'promote'],
    ['redis://h?tls=false', 'tls'],
    ['rediss://h?tls=false', 'tls'],
    ['redis://h?sentinelPassword=x', 'sentinelPassword'],
    ['redis://h?sentinelUsername=x', 'sentinelUsername'],
    ['redis://h?poolSize=1&poolSize=2', 'poolSize'],
  ])('%j is rejected, naming %s', (url, option) => {
    invalid(() => resolveOptions(url), option);
  });

  it('suggests the query parameter meant', () => {
    expect(invalid(() => resolveOptions('redis://h?readfrom=replica'), 'readfrom').message).toMatch(/"readFrom"/);
  });

  describe('the password never appears in an error', () => {
    it.each([
      'redis://:hunter2@h:1/x',
      'redis://user:hunter2@h:99999',
      'redis://:hunter2@h?bogus=1',
      'redis://:hunter2@h?poolSize=hunter2',
      'redis+sentinel://:hunter2@h',
      'redis+sentinel://:hunter2@h/m?sentinelPassword=hunter3&poolSize=hunter3',
      'redis://:hunter%32@h?poolSize=hunter2',
      'redis://:hunter2%zz@h',
      // "?" unencoded in a password: the password's pieces land in the host list or the query.
      'redis://:hun?ter2@h:1',
      'redis://u:1234?ter2@h:1',
      // A password passed where the URL belongs.
      'hunter2',
      'hunter2@h:1',
    ])('%s', (url) => {
      const error = (() => {
        try {
          resolveOptions(url);
        } catch (e) {
          return e as InvalidOptionError;
        }
        throw new Error('expected an error');
      })();
      expect(error).toBeInstanceOf(InvalidOptionError);
      for (const text of [error.message, error.option, error.stack ?? '']) {
        expect(text).not.toMatch(/hunter[23]|ter2/);
      }
    });

    it('nor in an error from extra options', () => {
      const error = invalid(() => resolveOptions('redis://:hunter2@h', { poolSize: 0 }), 'poolSize');
      expect(error.message).not.toContain('hunter2');
    });
  });
});

describe('parseAddress', () => {
  it('uses the default port when given one', () => {
    expect(parseAddress('h', 'x', 1)).toEqual({ host: 'h', port: 1 });
    expect(parseAddress({ host: '[::1]', port: 2 }, 'x')).toEqual({ host: '::1', port: 2 });
    invalid(() => parseAddress('h', 'x'), 'x');
  });
});

describe('fencing', () => {
  it('is on by default, and false turns it off (object and URL forms)', () => {
    expect(resolveOptions({ nodes: ['h:1'] }).fencing).toBe(true);
    expect(resolveOptions({ nodes: ['h:1'], fencing: false }).fencing).toBe(false);
    expect(resolveOptions('redis://h:1?fencing=false').fencing).toBe(false);
    expect(resolveOptions('redis+sentinel://h:26379/m?fencing=true').fencing).toBe(true);
  });

  it('takes only a boolean', () => {
    expect(invalid(() => resolveOptions({ nodes: ['h:1'], fencing: 'no' as unknown as boolean }), 'fencing').message).toMatch(/true or false/);
    invalid(() => resolveOptions('redis://h:1?fencing=0'), 'fencing');
  });
});
