import { describe, expect, it } from 'vitest';
import {
  failoverLine,
  masterAddresses,
  nodeDownLine,
  nodeUpLine,
  placeOf,
  problemChanges,
  problemLines,
  rejoined,
  rejoinLine,
} from '../../src/cli/cluster-watch.js';
import { connectionTarget } from '../../src/cli/args.js';
import { slotsText } from '../../src/cli/cluster-status.js';
import { warnPasswordOnCommandLine } from '../../src/cli/context.js';
import { makeStyle, Output, type Stream } from '../../src/cli/output.js';
import type { ClusterShardState, ClusterTopology } from '../../src/cluster/topology.js';
import type { NodeState } from '../../src/topology/types.js';

const plain = makeStyle(false);
const color = makeStyle(true);

function node(port: number, role: NodeState['role'], state: Partial<NodeState> = {}): NodeState {
  return {
    address: `127.0.0.1:${port}`, host: '127.0.0.1', port, role, up: true,
    offset: 100, lagBytes: 0, lagSeconds: null, linkStatus: role === 'replica' ? 'up' : null,
    lastIoSecondsAgo: null, priority: null, latencyMs: 0.2, masterAddress: role === 'replica' ? '127.0.0.1:7000' : null,
    loading: false, syncing: false, replid: null, runId: null, zone: null,
    ...state,
  };
}

const shard = (slots: Array<[number, number]>, master: NodeState | null, replicas: NodeState[] = []): ClusterShardState => ({ slots, master, replicas });
const cluster = (...shards: ClusterShardState[]): ClusterTopology => ({ source: 'cluster', shards });

// Three shards, the third split in two ranges with a single slot; plus a slotless shard headed by a
// failed old master (as CLUSTER SHARDS lists one until it rejoins).
const healthy = () =>
  cluster(
    shard([[0, 5460]], node(7000, 'master'), [node(7003, 'replica')]),
    shard([[5461, 10922]], node(7001, 'master'), [node(7004, 'replica', { masterAddress: '127.0.0.1:7001' })]),
    shard([[10923, 10923], [10924, 16383]], node(7002, 'master'), [node(7005, 'replica', { masterAddress: '127.0.0.1:7002' })]),
  );

describe('slotsText', () => {
  it('ranges joined by commas; a one-slot range as one number', () => {
    expect(slotsText(shard([[0, 5460]], null))).toBe('slots 0-5460');
    expect(slotsText(shard([[0, 5460], [10923, 10923], [12000, 16383]], null))).toBe('slots 0-5460,10923,12000-16383');
    expect(slotsText(shard([[0, 0]], null))).toBe('slots 0');
  });

  it('no slots', () => {
    expect(slotsText(shard([], node(7000, 'master')))).toBe('no slots');
  });
});

describe('placeOf', () => {
  it('a master with its slots; a replica with its master and slots', () => {
    const t = healthy();
    expect(placeOf(t, '127.0.0.1:7000')).toBe('master of slots 0-5460');
    expect(placeOf(t, '127.0.0.1:7002')).toBe('master of slots 10923,10924-16383');
    expect(placeOf(t, '127.0.0.1:7004')).toBe('replica of 127.0.0.1:7001, slots 5461-10922');
  });

  it('a master without slots; a replica of a shard with no master', () => {
    const t = cluster(shard([], node(7000, 'master', { up: false })), shard([[0, 16383]], null, [node(7003, 'replica', { linkStatus: 'down' })]));
    expect(placeOf(t, '127.0.0.1:7000')).toBe('a master without slots');
    expect(placeOf(t, '127.0.0.1:7003')).toBe('replica of no master, slots 0-16383');
  });

  it('null for an address not in the picture, and in an empty picture', () => {
    expect(placeOf(healthy(), '127.0.0.1:7999')).toBeNull();
    expect(placeOf(cluster(), '127.0.0.1:7000')).toBeNull();
  });
});

describe('masterAddresses', () => {
  it("the shards' masters, and a listed replica that says it is a master", () => {
    const t = cluster(
      shard([[0, 8191]], node(7000, 'master'), [node(7003, 'master')]),
      shard([[8192, 16383]], node(7001, 'master'), [node(7004, 'replica')]),
      shard([], null, [node(7005, 'replica')]),
    );
    expect([...masterAddresses(t)].sort()).toEqual(['127.0.0.1:7000', '127.0.0.1:7001', '127.0.0.1:7003']);
  });

  it('empty for an empty picture', () => {
    expect(masterAddresses(cluster()).size).toBe(0);
  });
});

describe('rejoined', () => {
  it('a former master listed as a replica, up and replicating, with its new master', () => {
    const after = cluster(shard([[0, 5460]], node(7003, 'master'), [node(7000, 'replica', { masterAddress: '127.0.0.1:7003' })]));
    expect(rejoined(new Set(['127.0.0.1:7000']), after)).toEqual([{ address: '127.0.0.1:7000', master: '127.0.0.1:7003' }]);
  });

  it('not while it is down or still says master; not a replica that never was a master', () => {
    const former = new Set(['127.0.0.1:7000', '127.0.0.1:7001']);
    const after = cluster(
      shard([[0, 5460]], node(7003, 'master'), [node(7000, 'replica', { up: false })]),
      shard([[5461, 10922]], node(7004, 'master'), [node(7001, 'master'), node(7006, 'replica')]),
    );
    expect(rejoined(former, after)).toEqual([]);
  });

  it('master null when its shard has none', () => {
    const after = cluster(shard([[0, 5460]], null, [node(7000, 'replica')]));
    expect(rejoined(new Set(['127.0.0.1:7000']), after)).toEqual([{ address: '127.0.0.1:7000', master: null }]);
  });
});

describe('problemChanges', () => {
  it('appeared and cleared at once, in order; those that stay are in neither', () => {
    expect(problemChanges(['a', 'b', 'c'], ['b', 'd', 'e'])).toEqual({ appeared: ['d', 'e'], cleared: ['a', 'c'] });
  });

  it('nothing either way when the same, or both empty', () => {
    expect(problemChanges(['a'], ['a'])).toEqual({ appeared: [], cleared: [] });
    expect(problemChanges([], [])).toEqual({ appeared: [], cleared: [] });
  });
});

describe('timeline lines', () => {
  const failedOver = () =>
    cluster(shard([], node(7000, 'master', { up: false })), shard([[0, 5460], [10923, 10923]], node(7003, 'master')), shard([[5461, 10922]], node(7001, 'master')));

  it('a failover: from → to, how long, why, and the slots the new master serves', () => {
    const e = { from: '127.0.0.1:7000', to: '127.0.0.1:7003', reason: 'cluster failover', durationMs: 1234.4 };
    expect(failoverLine(e, failedOver(), plain)).toBe('failover 127.0.0.1:7000 → 127.0.0.1:7003 in 1234 ms (cluster failover, slots 0-5460,10923)');
    expect(failoverLine({ ...e, durationMs: 12_345 }, failedOver(), plain)).toBe('failover 127.0.0.1:7000 → 127.0.0.1:7003 in 12.3 s (cluster failover, slots 0-5460,10923)');
    expect(failoverLine(e, failedOver(), color)).toBe('\x1b[1mfailover\x1b[22m 127.0.0.1:7000 → \x1b[1m127.0.0.1:7003\x1b[22m in 1234 ms (cluster failover, slots 0-5460,10923)');
  });

  it('a failover with no duration, no old or new master, or a new master no shard shows', () => {
    expect(failoverLine({ from: null, to: '127.0.0.1:7003', reason: 'master changed', durationMs: 0 }, failedOver(), plain)).toBe(
      'failover none → 127.0.0.1:7003 (master changed, slots 0-5460,10923)',
    );
    expect(failoverLine({ from: '127.0.0.1:7000', to: null, reason: 'cluster failover', durationMs: 900 }, failedOver(), color)).toBe(
      '\x1b[1mfailover\x1b[22m 127.0.0.1:7000 → \x1b[31mno new master\x1b[39m in 900 ms (cluster failover)',
    );
    expect(failoverLine({ from: '127.0.0.1:7000', to: '127.0.0.1:7999', reason: 'cluster failover', durationMs: 5 }, failedOver(), plain)).toBe(
      'failover 127.0.0.1:7000 → 127.0.0.1:7999 in 5 ms (cluster failover)',
    );
  });

  it('a node down, where it sits; nothing more for one not in the picture', () => {
    expect(nodeDownLine('127.0.0.1:7000', healthy(), plain)).toBe('127.0.0.1:7000 down (master of slots 0-5460)');
    expect(nodeDownLine('127.0.0.1:7005', healthy(), plain)).toBe('127.0.0.1:7005 down (replica of 127.0.0.1:7002, slots 10923,10924-16383)');
    expect(nodeDownLine('127.0.0.1:7999', healthy(), color)).toBe('\x1b[31m127.0.0.1:7999 down\x1b[39m');
  });

  it('a node up again: how long it was down when known, and where it sits', () => {
    expect(nodeUpLine('127.0.0.1:7000', 4321.6, failedOver(), plain)).toBe('127.0.0.1:7000 up again after 4322 ms down (a master without slots)');
    expect(nodeUpLine('127.0.0.1:7003', null, failedOver(), plain)).toBe('127.0.0.1:7003 up again (master of slots 0-5460,10923)');
    expect(nodeUpLine('127.0.0.1:7999', 20_000, failedOver(), color)).toBe('\x1b[32m127.0.0.1:7999 up again\x1b[39m after 20.0 s down');
  });

  it('an old master rejoining', () => {
    expect(rejoinLine({ address: '127.0.0.1:7000', master: '127.0.0.1:7003' }, plain)).toBe('127.0.0.1:7000 rejoined as a replica of 127.0.0.1:7003');
    expect(rejoinLine({ address: '127.0.0.1:7000', master: null }, color)).toBe('\x1b[32m127.0.0.1:7000 rejoined as a replica of no master\x1b[39m');
  });

  it('problems appearing and clearing together: appeared first; not healthy while one is left', () => {
    expect(problemLines(['p1', 'p2'], ['p2', 'p3'], healthy(), plain)).toEqual(['! p3', 'cleared: p1']);
    expect(problemLines(['p1'], ['p2'], healthy(), color)).toEqual(['\x1b[33m! p2\x1b[39m', '\x1b[32mcleared: p1\x1b[39m']);
  });

  it('healthy again when the last problem clears, with the number of shards', () => {
    expect(problemLines(['p1', 'p2'], [], failedOver(), plain)).toEqual(['cleared: p1', 'cleared: p2', 'healthy again: 3 shard(s), every slot served']);
  });

  it('nothing when nothing changed, healthy or not', () => {
    expect(problemLines([], [], healthy(), plain)).toEqual([]);
    expect(problemLines(['p1'], ['p1'], healthy(), plain)).toEqual([]);
  });
});

describe('the password warning (status and watch, replica set or cluster)', () => {
  const capture = (isTTY: boolean) => {
    const chunks: string[] = [];
    const stream: Stream = {
      isTTY,
      write(text: string, callback?: () => void) {
        chunks.push(text);
        callback?.();
        return true;
      },
    };
    return { stream, text: () => chunks.join('') };
  };
  const warned = (values: Record<string, string | boolean>, seeds: string[], env: NodeJS.ProcessEnv, stdoutTTY: boolean) => {
    const stdout = capture(stdoutTTY);
    const stderr = capture(false);
    const ctx = { out: new Output(stdout.stream, stderr.stream, env), env };
    warnPasswordOnCommandLine(connectionTarget(values, env, { seeds, promote: 'manual' }), ctx);
    return { stdout: stdout.text(), stderr: stderr.text() };
  };
  const WARNING = 'Warning: a password on the command line is visible in the process list; set REDIS_PASSWORD instead.\n';

  it('on a terminal, for --password or a URL password, to stderr', () => {
    expect(warned({ password: 'flag-secret' }, ['127.0.0.1:7000'], {}, true)).toEqual({ stdout: '', stderr: WARNING });
    expect(warned({}, ['redis://:url-secret@127.0.0.1:7000'], {}, true)).toEqual({ stdout: '', stderr: WARNING });
  });

  it('not for REDIS_PASSWORD, and not when stdout is no terminal', () => {
    expect(warned({}, ['127.0.0.1:7000'], { REDIS_PASSWORD: 'env-secret' }, true)).toEqual({ stdout: '', stderr: '' });
    expect(warned({ password: 'flag-secret' }, ['127.0.0.1:7000'], {}, false)).toEqual({ stdout: '', stderr: '' });
  });
});
