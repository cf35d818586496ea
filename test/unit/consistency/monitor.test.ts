import { Command, type Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConsistencyMonitor } from '../../../src/consistency/monitor.js';
import { nodeState } from '../../helpers/topology.js';

const master = nodeState(7000, { role: 'master', masterAddress: null, linkStatus: null });
const replica = nodeState(7001, { masterAddress: '127.0.0.1:7000' });

/** Control connections that answer ROLE at once: the master's offset grows, the replica never catches up. */
function monitor(): { m: ConsistencyMonitor; roles: () => number } {
  let roles = 0;
  let offset = 100;
  const conn = (isMaster: boolean) => ({ call: () => (roles++, Promise.resolve(isMaster ? ['master', (offset += 10), []] : ['slave', '127.0.0.1', 7000, 'connected', 1])) }) as unknown as Redis;
  const m = new ConsistencyMonitor({ control: (n) => conn(n.role === 'master'), readYourWrites: true, lag: { bytes: null, ms: null }, probeTimeoutMs: 100 });
  m.setNodes(master, [replica]);
  return { m, roles: () => roles };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ConsistencyMonitor: how often pending writes are sampled', () => {
  it('every 10 ms while reads need them; backing off to 100 ms while none does', async () => {
    vi.useFakeTimers();
    const alone = monitor();
    alone.m.settled(alone.m.wrote(new Command('set', ['k', 'v'])));
    await vi.advanceTimersByTimeAsync(1000);
    const writerOnly = alone.roles();
    alone.m.stop();

    const read = monitor();
    read.m.settled(read.m.wrote(new Command('set', ['k', 'v'])));
    for (let t = 0; t < 1000; t += 5) {
      expect(read.m.needed(new Command('get', ['k']))).toBeGreaterThan(0);
      await vi.advanceTimersByTimeAsync(5);
    }
    const withReads = read.roles();
    read.m.stop();
    // Two ROLE per round (the master, then the replica).
    expect(writerOnly / 2).toBeLessThanOrEqual(16);
    expect(withReads / 2).toBeGreaterThanOrEqual(60);
  });
});
