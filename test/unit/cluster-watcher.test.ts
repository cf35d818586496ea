import { describe, expect, it } from 'vitest';
import { ClusterWatcher } from '../../src/cluster/watcher.js';

describe('ClusterWatcher', () => {
  it('once stopped, opens no connection: a read or sample still under way gets one that is closed', async () => {
    const watcher = new ClusterWatcher(
      { seeds: [{ host: '127.0.0.1', port: 1 }], redisOptions: {}, reach: (a) => ({ host: a.split(':')[0]!, port: Number(a.split(':')[1]) }), probeTimeoutMs: 100, downAfterMs: 1000, refreshIntervalMs: 1000 },
      { observed: () => undefined, silence: () => undefined },
    );
    watcher.stop();
    const conn = watcher.control('127.0.0.1:1');
    expect(conn.status).toBe('end');
    await expect(conn.call('PING')).rejects.toThrow('Connection is closed.');
    // Not kept: the next ask gets another closed one, never a live connection.
    expect(watcher.control('127.0.0.1:1').status).toBe('end');
  });
});
