import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RoleChanger } from '../../src/failover/actions.js';
import { NodePool } from '../../src/pool/node-pool.js';
import { NodesProvider } from '../../src/topology/nodes-provider.js';

/** A control connection stand-in whose INFO fails as a refused connection does. */
function refusing(port: number): Redis {
  const error = new Error(`connect ECONNREFUSED 127.0.0.1:${port}`);
  const conn = Object.assign(new EventEmitter(), {
    status: 'ready',
    info: () => Promise.reject(error),
    disconnect: () => undefined,
    quit: () => Promise.resolve('OK'),
  });
  return conn as unknown as Redis;
}

describe('NodesProvider', () => {
  it('no member answering is a NoNodeError naming each, with the first failure as its cause', async () => {
    const pool = new NodePool({ redisOptions: {}, poolSize: 1, factory: (node) => refusing(node.port), hooks: { onReady() {}, onClose() {}, onError() {} } });
    const provider = new NodesProvider({
      seeds: [6379, 6380].map((port) => ({ host: '127.0.0.1', port })),
      pool,
      roles: new RoleChanger(pool, () => {}),
      mapAddress: (a) => a,
      probeTimeoutMs: 200,
    });
    const error = await provider.discover(null).then(
      () => new Error('resolved'),
      (e: Error) => e,
    );
    expect(error).toMatchObject({ name: 'NoNodeError', code: 'ERR_NO_NODE' });
    expect(error.message).toBe(
      'No member of the replica set answered (127.0.0.1:6379: connect ECONNREFUSED 127.0.0.1:6379; 127.0.0.1:6380: connect ECONNREFUSED 127.0.0.1:6380)',
    );
    expect((error.cause as Error).message).toBe('connect ECONNREFUSED 127.0.0.1:6379');
    await pool.close(false);
  });
});
