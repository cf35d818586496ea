import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LinkReading } from '../../src/failover/fence.js';
import { LinkWatch, PROBE_CHANNEL, type LinkConnection } from '../../src/failover/link-watch.js';

/** A master's control connection: WAIT answers `acked`, or PUBLISH fails with `refuse`. */
function master(acked: number, refuse: string | null = null) {
  const calls: string[] = [];
  const conn = {
    calls,
    publish: (channel: string) => {
      calls.push(`PUBLISH ${channel}`);
      return refuse === null ? Promise.resolve(0) : Promise.reject(new Error(refuse));
    },
    call: (name: string, ...args: unknown[]) => {
      calls.push(`${name} ${args.join(' ')}`);
      return Promise.resolve(acked);
    },
    info: () => {
      calls.push('INFO');
      return Promise.resolve('# Replication\r\nrole:master\r\nconnected_slaves:1\r\nslave0:ip=10.0.0.2,port=6379,state=online,offset=5,lag=0\r\n');
    },
  };
  return conn;
}

describe('LinkWatch (stand-in master)', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'performance'] }));
  afterEach(() => vi.useRealTimers());

  function start(conn: ReturnType<typeof master>, expected: { replicas: number; syncing: number } | null = { replicas: 2, syncing: 0 }) {
    const readings: LinkReading[] = [];
    const watch = new LinkWatch({ intervalMs: 250, probeTimeoutMs: 100, downAfterMs: 1000, expected: () => expected, onReading: (_a, l) => void readings.push(l) });
    watch.watch('10.0.0.1:6379', conn as unknown as LinkConnection);
    return { watch, readings };
  }

  it('probes with PUBLISH then WAIT for the replicas it had, every interval', async () => {
    const conn = master(1);
    const { watch, readings } = start(conn);
    await vi.advanceTimersByTimeAsync(500);
    expect(conn.calls.slice(0, 2)).toEqual([`PUBLISH ${PROBE_CHANNEL}`, 'WAIT 2 100']);
    expect(readings).toHaveLength(2);
    expect(readings[0]).toMatchObject({ master: true, acking: 1, how: expect.stringContaining('within 100 ms') });
    watch.stop();
  });

  it('falls back to INFO replication where PUBLISH is refused (ACL), for good', async () => {
    const conn = master(1, "NOPERM this user has no permissions to run the 'publish' command");
    const { watch, readings } = start(conn);
    await vi.advanceTimersByTimeAsync(500);
    expect(conn.calls.filter((c) => c.startsWith('PUBLISH'))).toHaveLength(1);
    expect(conn.calls.filter((c) => c === 'INFO')).toHaveLength(2);
    expect(readings[1]).toMatchObject({ master: true, attached: 1, acking: 1 });
    watch.stop();
  });

  it('nothing to probe without replicas; paused while idle, and reads at once on resume', async () => {
    const none = master(0);
    const idle = start(none, null);
    await vi.advanceTimersByTimeAsync(1000);
    expect(none.calls).toEqual([]);
    idle.watch.stop();
    const conn = master(2);
    const { watch, readings } = start(conn);
    watch.pause();
    await vi.advanceTimersByTimeAsync(1000);
    expect(readings).toHaveLength(0);
    watch.resume();
    await vi.advanceTimersByTimeAsync(10);
    expect(readings).toHaveLength(1);
    watch.stop();
  });
});
