import { describe, expect, it } from 'vitest';
import { resolveClusterOptions } from '../../../src/cluster/options.js';
import { InvalidOptionError } from '../../../src/errors.js';
import { resolveOptions } from '../../../src/options.js';

function optionOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    return (error as InvalidOptionError).option;
  }
  return undefined;
}

describe('resolveClusterOptions', () => {
  it('applies the FailoverRedis defaults to the shared options', () => {
    const o = resolveClusterOptions({ nodes: ['10.0.0.1:7000', { host: '10.0.0.2', port: 7000 }] });
    expect(o.seeds).toEqual([{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7000 }]);
    expect(o.base.readFrom.name).toBe('replicaPreferred');
    expect(o.base.consistency).toBe('read-your-writes');
    expect(o.base.failover.downAfterMs).toBe(1000);
    expect(o.assist).toBe(false);
  });

  it('reads redis+cluster:// and rediss+cluster:// URLs', () => {
    const o = resolveClusterOptions('redis+cluster://:pw@h1:7000,h2:7001?readFrom=replica&downAfterMs=500');
    expect(o.seeds).toEqual([{ host: 'h1', port: 7000 }, { host: 'h2', port: 7001 }]);
    expect(o.base.readFrom.name).toBe('replica');
    expect(o.base.redisOptions.password).toBe('pw');
    expect(o.base.failover.downAfterMs).toBe(500);
    expect(resolveClusterOptions('rediss+cluster://h1:7000').base.redisOptions.tls).toEqual({});
  });

  it('throws InvalidOptionError naming the option', () => {
    expect(optionOf(() => resolveClusterOptions({ nodes: [] }))).toBe('nodes');
    expect(optionOf(() => resolveClusterOptions({ nodes: ['h:1'], readFrom: 'nope' as never }))).toBe('readFrom');
    expect(optionOf(() => resolveClusterOptions({ nodes: ['h:1'], sentinels: ['s:1'] } as never))).toBe('sentinels');
    expect(optionOf(() => resolveClusterOptions({ nodes: ['h:1'], poolSize: 2 } as never))).toBe('poolSize');
    expect(optionOf(() => resolveClusterOptions({ nodes: ['h:1'], failover: { promote: 'auto' } } as never))).toBe('failover.promote');
    expect(optionOf(() => resolveClusterOptions({ nodes: ['h:1'], failover: { assist: 'yes' } } as never))).toBe('failover.assist');
    expect(optionOf(() => resolveClusterOptions({ nodes: ['h:1'], readfrom: 'master' } as never))).toBe('readfrom');
    expect(optionOf(() => resolveClusterOptions({ nodes: ['h:1'], durability: { replicas: 0, timeoutMs: 1 } }))).toBe('durability.replicas');
    expect(optionOf(() => resolveClusterOptions('redis://h:1'))).toBe('url');
    expect(optionOf(() => resolveClusterOptions('redis+sentinel://h:1/m'))).toBe('url');
  });

  it('never echoes a URL password in an error', () => {
    try {
      resolveClusterOptions('redis+cluster://:hunter2@h:1?readFrom=bogus');
      expect.unreachable();
    } catch (error) {
      expect(String(error)).not.toContain('hunter2');
    }
  });

  it('failover.assist', () => {
    expect(resolveClusterOptions({ nodes: ['h:1'], failover: { assist: true, downAfterMs: 300 } })).toMatchObject({ assist: true, base: { failover: { downAfterMs: 300 } } });
  });

  it('?assist= in a cluster URL, overridden by the options object', () => {
    expect(resolveClusterOptions('redis+cluster://h1:7000,h2:7001?assist=true&downAfterMs=500')).toMatchObject({ assist: true, base: { failover: { downAfterMs: 500 } } });
    expect(resolveClusterOptions('redis+cluster://h1:7000?readFrom=replica&assist=true')).toMatchObject({ assist: true, base: { readFrom: { name: 'replica' } } });
    expect(resolveClusterOptions('redis+cluster://h1:7000?assist=false').assist).toBe(false);
    expect(resolveClusterOptions('redis+cluster://h1:7000?assist=true', { failover: { assist: false } }).assist).toBe(false);
    // A "?" in the password is not the query's start.
    expect(resolveClusterOptions('redis+cluster://:p%3Fw@h1:7000?assist=true')).toMatchObject({ assist: true, base: { redisOptions: { password: 'p?w' } } });
    expect(optionOf(() => resolveClusterOptions('redis+cluster://h1:7000?assist=yes'))).toBe('assist');
    // Only cluster URLs have it.
    expect(optionOf(() => resolveOptions('redis://h1:7000?assist=true'))).toBe('assist');
  });
});
