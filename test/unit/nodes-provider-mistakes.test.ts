import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { AuthError, NoNodeError, NotReplicaSetError } from '../../src/errors.js';
import { RoleChanger } from '../../src/failover/actions.js';
import { NodePool } from '../../src/pool/node-pool.js';
import type { Probe } from '../../src/topology/assemble.js';
import { mistakeIn, NodesProvider, refusedByMaster } from '../../src/topology/nodes-provider.js';
import type { Topology } from '../../src/topology/types.js';

const server = (name: string): string => readFileSync(new URL(`../fixtures/info-server/${name}`, import.meta.url), 'utf8');

class ReplyError extends Error {
  override name = 'ReplyError';
}

/** A control connection stand-in: INFO answers `reply` (a text, or an error to reject with). */
function answering(reply: string | Error): Redis {
  const conn = Object.assign(new EventEmitter(), {
    status: 'ready',
    info: () => (typeof reply === 'string' ? Promise.resolve(reply) : Promise.reject(reply)),
    disconnect: () => undefined,
    quit: () => Promise.resolve('OK'),
  });
  return conn as unknown as Redis;
}

async function discover(replies: Record<number, string | Error>): Promise<Error | Topology> {
  const pool = new NodePool({ redisOptions: {}, poolSize: 1, factory: (node) => answering(replies[node.port]!), hooks: { onReady() {}, onClose() {}, onError() {} } });
  const provider = new NodesProvider({ seeds: Object.keys(replies).map((port) => ({ host: '127.0.0.1', port: Number(port) })), pool, roles: new RoleChanger(pool, () => {}), mapAddress: (a) => a, probeTimeoutMs: 200 });
  try {
    return await provider.discover(null).catch((e: Error) => e);
  } finally {
    await pool.close(false);
  }
}

const MASTER = server('standalone-master.txt');

describe('NodesProvider: the mistakes waiting does not cure', () => {
  it('a Sentinel as a seed: NotReplicaSetError with the name it monitors, even when another seed answered', async () => {
    const alone = await discover({ 26379: server('sentinel-two-masters.txt') });
    expect(alone).toBeInstanceOf(NotReplicaSetError);
    expect(alone).toMatchObject({ code: 'ERR_NOT_REPLICA_SET', address: '127.0.0.1:26379', found: 'sentinel', monitors: ['mymaster', 'othermaster'] });
    const mixed = await discover({ 6379: MASTER, 26379: server('sentinel-two-masters.txt') });
    expect(mixed).toBeInstanceOf(NotReplicaSetError);
  });

  it('a Redis Cluster node as a seed: NotReplicaSetError saying FailoverCluster', async () => {
    const error = await discover({ 7000: server('cluster-node.txt') });
    expect(error).toMatchObject({ name: 'NotReplicaSetError', found: 'cluster' });
    expect((error as Error).message).toContain("new FailoverCluster({ nodes: ['127.0.0.1:7000'] })");
  });

  it('credentials refused and no member answered: AuthError (the reply as cause), whatever else failed', async () => {
    const wrongpass = new ReplyError('WRONGPASS invalid username-password pair or user is disabled.');
    const error = await discover({ 6379: new Error('connect ECONNREFUSED 127.0.0.1:6379'), 6380: wrongpass });
    expect(error).toBeInstanceOf(AuthError);
    expect(error).toBeInstanceOf(NoNodeError);
    expect(error).toMatchObject({ code: 'ERR_AUTH', address: '127.0.0.1:6380', cause: wrongpass });
  });

  it('a plain master answers: a topology, no mistake', async () => {
    const topology = await discover({ 6379: MASTER });
    expect(topology).toMatchObject({ source: 'nodes', master: { address: '127.0.0.1:6379', up: true } });
  });
});

const probe = (address: string, error: Error | null, info: Probe['info'] = null): Probe => ({
  node: { host: address.split(':')[0]!, port: Number(address.split(':')[1]) },
  address,
  info,
  latencyMs: null,
  error,
});

describe('mistakeIn and refusedByMaster', () => {
  const auth = new AuthError('m:1', new ReplyError('NOAUTH Authentication required.'));

  it('a refusal is the mistake only when nobody answered; a misplaced Sentinel always is', () => {
    const answered = probe('r:2', null, {} as Probe['info']);
    expect(mistakeIn([probe('m:1', auth)])).toBe(auth);
    expect(mistakeIn([probe('m:1', auth), answered])).toBeNull();
    expect(mistakeIn([probe('m:1', new Error('connect ECONNREFUSED'))])).toBeNull();
    const sentinel = new NotReplicaSetError('s:26379', 'sentinel');
    expect(mistakeIn([answered, probe('s:26379', sentinel)])).toBe(sentinel);
  });

  it('the master refusing the credentials is the mistake, though its replicas answer', () => {
    const down = { address: 'm:1', up: false } as Topology['master'];
    const topology = { master: down, replicas: [], source: 'nodes' } as Topology;
    expect(refusedByMaster(topology, [probe('m:1', auth)])).toBe(auth);
    expect(refusedByMaster(topology, [probe('m:1', new Error('connect ECONNREFUSED'))])).toBeNull();
    expect(refusedByMaster({ ...topology, master: { ...down!, up: true } }, [probe('m:1', auth)])).toBeNull();
    expect(refusedByMaster({ ...topology, master: null }, [probe('m:1', auth)])).toBeNull();
  });
});
