import { describe, expect, it } from 'vitest';
import {
  AuthError,
  FailoverRedisError,
  misconfiguration,
  NoNodeError,
  NotClusterError,
  NotReplicaSetError,
  NotSentinelError,
} from '../../src/errors.js';

class ReplyError extends Error {
  override name = 'ReplyError';
}

describe('errors that name a configuration mistake', () => {
  it('a Sentinel in nodes: NotReplicaSetError showing the sentinels/name form with the name it monitors', () => {
    const e = new NotReplicaSetError('10.0.0.9:26379', 'sentinel', ['orders']);
    expect(e).toBeInstanceOf(NoNodeError);
    expect(e).toMatchObject({ name: 'NotReplicaSetError', code: 'ERR_NOT_REPLICA_SET', address: '10.0.0.9:26379', found: 'sentinel', monitors: ['orders'] });
    expect(e.message).toBe(
      "10.0.0.9:26379 is a Sentinel, not a master or replica: give it as { sentinels: ['10.0.0.9:26379'], name: 'orders' } (URL: redis+sentinel://10.0.0.9:26379/orders)",
    );
    expect(new NotReplicaSetError('s:26379', 'sentinel').message).toContain("name: '<master name>'");
    expect(new NotReplicaSetError('s:26379', 'sentinel', ['a', 'b']).message).toMatch(/name: '<master name>'.*it monitors 'a', 'b'$/);
  });

  it('a cluster node in nodes, or in sentinels: the FailoverCluster form', () => {
    expect(new NotReplicaSetError('c:7000', 'cluster').message).toBe(
      "c:7000 is a Redis Cluster node, not a master or replica: give it as new FailoverCluster({ nodes: ['c:7000'] }) (URL: redis+cluster://c:7000)",
    );
    const e = new NotSentinelError('c:7000', 'cluster');
    expect(e).toMatchObject({ name: 'NotSentinelError', code: 'ERR_NOT_SENTINEL', found: 'cluster' });
    expect(e.message).toMatch(/^c:7000 is a Redis Cluster node, not a Sentinel: give it as new FailoverCluster/);
  });

  it('a master in sentinels: the nodes form', () => {
    const cause = new ReplyError("ERR unknown command 'SENTINEL'");
    const e = new NotSentinelError('m:6379', 'standalone', cause);
    expect(e.cause).toBe(cause);
    expect(e.message).toBe(
      "m:6379 is a Redis server (a master or replica), not a Sentinel: give it as { nodes: ['m:6379'] } (URL: redis://m:6379), or give the Sentinels' addresses (port 26379 by default)",
    );
  });

  it('FailoverCluster given a Sentinel or a plain master: the FailoverRedis form', () => {
    expect(new NotClusterError('s:26379', undefined, 'sentinel', ['mymaster']).message).toBe(
      "s:26379 is a Sentinel, not a Redis Cluster member: use FailoverRedis and give it as { sentinels: ['s:26379'], name: 'mymaster' } (URL: redis+sentinel://s:26379/mymaster)",
    );
    const plain = new NotClusterError('m:6379');
    expect(plain).toMatchObject({ code: 'ERR_NOT_CLUSTER', found: 'standalone' });
    expect(plain.message).toMatch(/^m:6379 is not a Redis Cluster member \(cluster support disabled\); .*FailoverRedis.*\{ nodes: \['m:6379'\] \}/);
  });

  it('credentials: AuthError names the node and the option, keeps the reply as cause, never a password', () => {
    const wrong = new ReplyError('WRONGPASS invalid username-password pair or user is disabled.');
    const e = new AuthError('10.0.0.1:6379', wrong);
    expect(e).toBeInstanceOf(NoNodeError);
    expect(e).toBeInstanceOf(FailoverRedisError);
    expect(e).toMatchObject({ name: 'AuthError', code: 'ERR_AUTH', address: '10.0.0.1:6379', server: 'node', cause: wrong });
    expect(e.message).toBe(
      '10.0.0.1:6379 refused the credentials (WRONGPASS): the password or the username does not match, or the user is disabled; set redisOptions.password (and redisOptions.username for an ACL user), or user:password@host:port in the URL',
    );
    const missing = new AuthError('10.0.0.1:6379', new ReplyError('NOAUTH Authentication required.'));
    expect(missing.message).toMatch(/^10\.0\.0\.1:6379 requires a password and none was given \(NOAUTH\); set redisOptions\.password/);
    const sentinel = new AuthError('10.0.0.1:26379', new ReplyError('ERR invalid password'), 'sentinel');
    expect(sentinel.message).toMatch(/refused the credentials \(ERR invalid password\).*sentinelOptions\.password.*sentinelPassword=/);
  });

  it('misconfiguration(): the mistake itself or the one it wraps; null for anything else', () => {
    const auth = new AuthError('a:1', new ReplyError('NOAUTH Authentication required.'));
    expect(misconfiguration(auth)).toBe(auth);
    expect(misconfiguration(new NoNodeError('no Sentinel answered', { cause: auth }))).toBe(auth);
    const kind = new NotReplicaSetError('s:26379', 'sentinel');
    expect(misconfiguration(kind)).toBe(kind);
    expect(misconfiguration(new NoNodeError('No member answered'))).toBeNull();
    expect(misconfiguration(new ReplyError('WRONGPASS raw'))).toBeNull();
    expect(misconfiguration('text')).toBeNull();
  });
});
