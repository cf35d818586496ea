import { describe, expect, it } from 'vitest';
import { explainMistake } from '../../src/cli/context.js';
import { AuthError, NoNodeError, NotReplicaSetError, NotSentinelError } from '../../src/errors.js';

class ReplyError extends Error {
  override name = 'ReplyError';
}

describe('the CLI names a mistake in its own terms (flags, environment)', () => {
  it('an authentication error: says the node answered with one, and how to pass credentials', () => {
    const noauth = explainMistake(new AuthError('127.0.0.1:6379', new ReplyError('NOAUTH HELLO must be called with the client already authenticated')));
    expect(noauth).toBe(
      '127.0.0.1:6379 answered with an authentication error (NOAUTH: it requires a password and none was given); set REDIS_PASSWORD (and --user for an ACL user), or give them in the URL: redis://user:password@host:port',
    );
    const wrong = explainMistake(new AuthError('127.0.0.1:6379', new ReplyError('WRONGPASS invalid username-password pair or user is disabled.')));
    expect(wrong).toMatch(/^127\.0\.0\.1:6379 answered with an authentication error \(WRONGPASS: the password or the user does not match\); set REDIS_PASSWORD/);
    const sentinel = explainMistake(new AuthError('127.0.0.1:26379', new ReplyError('WRONGPASS x'), 'sentinel'));
    expect(sentinel).toMatch(/REDIS_SENTINEL_PASSWORD \(or --sentinel-password\)/);
  });

  it('a Sentinel given as a node: --sentinel --name, with the name it monitors', () => {
    expect(explainMistake(new NotReplicaSetError('127.0.0.1:26379', 'sentinel', ['mymaster']))).toBe(
      '127.0.0.1:26379 is a Sentinel, not a master or replica: add --sentinel --name mymaster, or use redis+sentinel://127.0.0.1:26379/mymaster',
    );
    expect(explainMistake(new NotReplicaSetError('s:1', 'sentinel', ['a', 'b']))).toContain('--name <master name> (it monitors a, b)');
  });

  it('a node given as a Sentinel: drop --sentinel; other errors are not mistakes', () => {
    expect(explainMistake(new NotSentinelError('127.0.0.1:6379', 'standalone'))).toMatch(/^127\.0\.0\.1:6379 is a Redis master or replica, not a Sentinel: give it without --sentinel/);
    expect(explainMistake(new NoNodeError('No member of the replica set answered'))).toBeNull();
    expect(explainMistake(new Error('connect ECONNREFUSED'))).toBeNull();
  });
});
