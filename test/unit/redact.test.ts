import { describe, expect, it } from 'vitest';
import { redactCommandArgs, redactUrl } from '../../src/redact.js';

describe('redactUrl', () => {
  it.each([
    ['redis://:password@10.0.0.1:6379,10.0.0.2:6379/0?readFrom=replicaPreferred', 'redis://:***@10.0.0.1:6379,10.0.0.2:6379/0?readFrom=replicaPreferred'],
    ['rediss://app:s3cret@h:1/2', 'rediss://app:***@h:1/2'],
    ['redis://:p@ss/w#rd@h:1', 'redis://:***@h:1'],
    ['redis://:p%40ss@[::1]:6379', 'redis://:***@[::1]:6379'],
    ['redis+sentinel://s:1/m?sentinelPassword=x&readFrom=replica', 'redis+sentinel://s:1/m?sentinelPassword=***&readFrom=replica'],
    ['redis://h?password=x', 'redis://h?password=***'],
    ['redis://app@h:1', 'redis://app@h:1'],
    ['redis://h:1/0', 'redis://h:1/0'],
    ['127.0.0.1:6379', '127.0.0.1:6379'],
  ])('%s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});

describe('redactCommandArgs', () => {
  it.each<[string, unknown[], unknown[]]>([
    ['AUTH', ['pw'], ['***']],
    ['auth', ['user', 'pw'], ['user', '***']],
    ['HELLO', ['3', 'AUTH', 'user', 'pw', 'SETNAME', 'app'], ['3', 'AUTH', 'user', '***', 'SETNAME', 'app']],
    ['hello', [3, 'auth', 'user', Buffer.from('pw')], [3, 'auth', 'user', '***']],
    ['HELLO', ['3', 'SETNAME', 'auth'], ['3', 'SETNAME', 'auth']],
    ['CONFIG', ['SET', 'requirepass', 'pw'], ['SET', 'requirepass', '***']],
    ['config', ['set', 'maxmemory', '1gb', 'MASTERAUTH', 'pw'], ['set', 'maxmemory', '1gb', 'MASTERAUTH', '***']],
    ['CONFIG', ['GET', 'requirepass'], ['GET', 'requirepass']],
    ['MIGRATE', ['h', '6379', '', '0', '5000', 'COPY', 'AUTH', 'pw', 'KEYS', 'a'], ['h', '6379', '', '0', '5000', 'COPY', 'AUTH', '***', 'KEYS', 'a']],
    ['MIGRATE', ['h', '6379', '', '0', '5000', 'AUTH2', 'user', 'pw', 'KEYS', 'auth', 'b'], ['h', '6379', '', '0', '5000', 'AUTH2', 'user', '***', 'KEYS', 'auth', 'b']],
    ['MIGRATE', ['h', '6379', 'auth', '0', '5000'], ['h', '6379', 'auth', '0', '5000']],
    ['SENTINEL', ['SET', 'mymaster', 'auth-pass', 'pw', 'quorum', '2'], ['SET', 'mymaster', 'auth-pass', '***', 'quorum', '2']],
    ['SENTINEL', ['CONFIG', 'SET', 'sentinel-pass', 'pw'], ['CONFIG', 'SET', 'sentinel-pass', '***']],
    ['ACL', ['SETUSER', 'app', 'on', '>pw', '~*', '+@all'], ['SETUSER', 'app', 'on', '>***', '~*', '+@all']],
    ['GET', ['password'], ['password']],
    ['SET', ['auth', 'pw'], ['auth', 'pw']],
  ])('%s %j', (name, args, expected) => {
    expect(redactCommandArgs(name, args)).toEqual(expected);
  });

  it('returns a copy', () => {
    const args = ['pw'];
    expect(redactCommandArgs('AUTH', args)).not.toBe(args);
    expect(args).toEqual(['pw']);
  });
});
