import { describe, expect, it } from 'vitest';
import { ClusterWatcher } from '../../../src/cluster/watcher.js';
import { ClosedError } from '../../../src/errors.js';

describe('ClusterWatcher', () => {
  it('once stopped, opens no connection: a read or sample still under way gets ClosedError, as from a closed NodePool', () => {
    let made = 0;
    const watcher = new ClusterWatcher(
      {
        seeds: [{ host: '127.0.0.1', port: 1 }],
        redisOptions: {},
        factory: () => {
          made++;
          throw new Error('no connection may be made');
        },
        reach: (a) => ({ host: a.split(':')[0]!, port: Number(a.split(':')[1]) }),
        probeTimeoutMs: 100,
        downAfterMs: 1000,
        refreshIntervalMs: 1000,
      },
      { observed: () => undefined, silence: () => undefined },
    );
    watcher.stop();
    expect(() => watcher.control('127.0.0.1:1')).toThrow(ClosedError);
    expect(() => watcher.control('127.0.0.1:1')).toThrow(ClosedError);
    expect(made).toBe(0);
  });
});
