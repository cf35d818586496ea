import { describe, expect, it } from 'vitest';
import { address, connectionTarget, CONNECTION_OPTIONS, intOption, listOption, parse, UsageError, type Values } from '../../src/cli/args.js';

const target = (values: Values, seeds: string[], env: NodeJS.ProcessEnv = {}, onSecret?: (s: string) => void) =>
  connectionTarget(values, env, { seeds, promote: 'manual', ...(onSecret ? { onSecret } : {}) });

const usage = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
};

describe('parse', () => {
  it('reads options and positionals with node:util parseArgs', () => {
    const { values, positionals } = parse(['10.0.0.1:6379', '--user', 'ops', '--tls', '10.0.0.2:6379'], CONNECTION_OPTIONS);
    expect(values).toMatchObject({ user: 'ops', tls: true });
    expect(positionals).toEqual(['10.0.0.1:6379', '10.0.0.2:6379']);
  });

  it('turns its errors into usage errors, in one sentence', () => {
    expect(usage(() => parse(['--bogus'], CONNECTION_OPTIONS))).toBe("Unknown option '--bogus'");
    expect(usage(() => parse(['--user'], CONNECTION_OPTIONS))).toMatch(/^Option '--user <value>' argument missing$/);
  });
});

describe('address', () => {
  it("is the library's parseAddress, normalised", () => {
    expect(address('10.0.0.1:6379')).toBe('10.0.0.1:6379');
    expect(address(' [::1]:6380 ')).toBe('[::1]:6380');
  });

  it('says what is wrong, without the option-name prefix', () => {
    expect(usage(() => address('127.0.0.1:abc'))).toBe('"127.0.0.1:abc" is not a valid address: the port must be a number from 1 to 65535');
    expect(usage(() => address('localhost'))).toBe(`"localhost" is not a valid address: the port is missing (write 'host:port')`);
    expect(usage(() => address('::1:6379'))).toMatch(/IPv6 address goes in brackets/);
    expect(usage(() => address('127.0.0.1:70000'))).toMatch(/1 to 65535/);
  });
});

describe('number and list options', () => {
  it('whole numbers with a floor; lists repeated or comma-separated', () => {
    expect(intOption({ wait: '2500' }, 'wait', 10)).toBe(2500);
    expect(intOption({}, 'wait', 10)).toBe(10);
    expect(usage(() => intOption({ wait: '2.5s' }, 'wait', 10))).toBe('--wait must be a whole number ≥ 0, got "2.5s"');
    expect(usage(() => intOption({ interval: '0' }, 'interval', 1000, 100))).toMatch(/≥ 100/);
    expect(listOption({ nodes: ['a:1,b:2', ' c:3 ', ''] }, 'nodes')).toEqual(['a:1', 'b:2', 'c:3']);
  });
});

describe('connectionTarget', () => {
  it('client mode: the nodes, manual promotion, the password from REDIS_PASSWORD', () => {
    const t = target({}, ['10.0.0.2:6379', '10.0.0.1:6379', '10.0.0.2:6379'], { REDIS_PASSWORD: 'from-env-pw' });
    expect(t.mode).toBe('nodes');
    expect(t.input).toEqual({ nodes: ['10.0.0.2:6379', '10.0.0.1:6379'], failover: { promote: 'manual' } });
    expect(t.extra.redisOptions).toEqual({ connectTimeout: 3000, password: 'from-env-pw' });
    expect(t.secrets).toEqual(['from-env-pw']);
    expect(t.passwordOnCommandLine).toBe(false);
    expect(t.label).toBe('10.0.0.2:6379, 10.0.0.1:6379');
  });

  it('--password wins over the environment; --user, --tls, --connect-timeout pass through', () => {
    const t = target({ password: 'flag-pw', user: 'ops', tls: true, 'connect-timeout': '500' }, ['10.0.0.1:6379'], { REDIS_PASSWORD: 'env-pw' });
    expect(t.extra.redisOptions).toEqual({ connectTimeout: 500, password: 'flag-pw', username: 'ops', tls: {} });
    expect(t.passwordOnCommandLine).toBe(true);
  });

  it('Sentinel mode needs --name; --name needs --sentinel', () => {
    expect(usage(() => target({ sentinel: true }, ['10.0.0.5:26379']))).toMatch(/--sentinel needs --name/);
    expect(usage(() => target({ name: 'mymaster' }, ['10.0.0.5:26379']))).toMatch(/needs --sentinel/);
    const t = target({ sentinel: true, name: 'mymaster', tls: true }, ['10.0.0.5:26379'], { REDIS_SENTINEL_PASSWORD: 'sentinel-pw', REDIS_PASSWORD: 'data-pw' });
    expect(t.mode).toBe('sentinel');
    expect(t.input).toEqual({ sentinels: ['10.0.0.5:26379'], name: 'mymaster', sentinelOptions: { connectTimeout: 3000, tls: {}, password: 'sentinel-pw' } });
    expect(t.extra.redisOptions).toMatchObject({ password: 'data-pw', tls: {} });
    expect(t.label).toBe('Sentinel 10.0.0.5:26379 (master name "mymaster")');
  });

  it('a URL stands for the addresses; its password is never in the label', () => {
    const t = target({}, ['redis://:p%40ss-word@10.0.0.1:6379,10.0.0.2:6379/0']);
    expect(t.mode).toBe('nodes');
    expect(t.label).toBe('redis://:***@10.0.0.1:6379,10.0.0.2:6379/0');
    expect(t.secrets).toEqual(expect.arrayContaining(['p%40ss-word', 'p@ss-word']));
    expect(t.extra.failover).toEqual({ promote: 'manual' });
    expect(t.passwordOnCommandLine).toBe(true);
    const s = target({}, ['redis+sentinel://10.0.0.5:26379/mymaster?sentinelPassword=sp-secret']);
    expect(s.mode).toBe('sentinel');
    expect(s.extra.failover).toBeUndefined();
    expect(s.secrets).toContain('sp-secret');
  });

  it('URL mistakes and mixtures are usage errors', () => {
    expect(usage(() => target({}, ['redis://10.0.0.1:6379', '10.0.0.2:6379']))).toMatch(/either one URL or host:port addresses/);
    expect(usage(() => target({ sentinel: true, name: 'x' }, ['redis://10.0.0.1:6379']))).toMatch(/do not go with a URL/);
    expect(usage(() => target({}, ['http://10.0.0.1:6379']))).toMatch(/redis:\/\//);
    expect(usage(() => target({}, ['redis://10.0.0.1:6379?readFrom=slaves']))).toMatch(/readFrom/);
  });

  it('no address, or a bad one, is a usage error', () => {
    expect(usage(() => target({}, []))).toBe('give the address of at least one member (host:port)');
    expect(usage(() => target({ sentinel: true, name: 'm' }, []))).toBe('give the address of at least one Sentinel (host:port)');
    expect(usage(() => target({}, ['10.0.0.1:6379', 'nohost']))).toMatch(/"nohost" is not a valid address/);
  });

  it('hands every password over before anything can fail', () => {
    const seen: string[] = [];
    expect(() => target({ password: 'flag-secret' }, ['redis://:url-secret@bad host:1'], { REDIS_SENTINEL_PASSWORD: 'sent-secret' }, (s) => seen.push(s))).toThrow();
    expect(seen).toEqual(['flag-secret', 'sent-secret', 'url-secret']);
  });
});
