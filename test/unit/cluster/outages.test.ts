import { describe, expect, it } from 'vitest';
import { ShardOutages } from '../../../src/cluster/outages.js';
import type { ClusterTopology } from '../../../src/cluster/topology.js';
import type { NodeState } from '../../../src/topology/types.js';

function node(address: string, role: 'master' | 'replica', fields: Partial<NodeState> = {}): NodeState {
  const [host, port] = address.split(':');
  return {
    address, host: host!, port: Number(port), role, up: true, offset: 100, lagBytes: 0, lagSeconds: null,
    linkStatus: role === 'replica' ? 'up' : null, lastIoSecondsAgo: null, priority: 100, latencyMs: null,
    masterAddress: null, loading: false, syncing: false, replid: null, runId: null, zone: null, ...fields,
  };
}

/** One shard whose master is `up`, its two replicas reporting their link `link`. */
function picture(up: boolean, link: 'up' | 'down'): ClusterTopology {
  return {
    source: 'cluster',
    shards: [
      { slots: [[0, 16383]], master: node('m:1', 'master', { up }), replicas: [node('r:1', 'replica', { linkStatus: link, offset: 90 }), node('r:2', 'replica', { linkStatus: link, offset: 95 })] },
      { slots: [], master: node('old:1', 'master', { up: false }), replicas: [] },
    ],
  };
}
const never = (): boolean => false;

describe('ShardOutages', () => {
  it('a healthy cluster: no trouble, nothing to assist', () => {
    const o = new ShardOutages({ downAfterMs: 1000, assist: true });
    expect(o.review(picture(true, 'up'), never, 0)).toEqual({ trouble: false, assist: [] });
  });

  it('assists once downAfterMs after the first sign, on the witness with the highest offset, once per outage', () => {
    const o = new ShardOutages({ downAfterMs: 1000, assist: true });
    o.suspect('m:1', 100);
    // This client lost the master; the replicas still see it: trouble, but no witness yet.
    expect(o.review(picture(true, 'up'), (a) => a === 'm:1', 1200)).toEqual({ trouble: true, assist: [] });
    expect(o.review(picture(false, 'down'), never, 1099)).toEqual({ trouble: true, assist: [] });
    expect(o.review(picture(false, 'down'), never, 1100)).toEqual({ trouble: true, assist: [{ master: 'm:1', replica: 'r:2' }] });
    expect(o.review(picture(false, 'down'), never, 1500).assist).toEqual([]);
    // The request failed: asked again on the next look.
    o.assistFailed('m:1');
    expect(o.review(picture(false, 'down'), never, 1600).assist).toEqual([{ master: 'm:1', replica: 'r:2' }]);
    expect(o.replaced('m:1')).toBe(100);
  });

  it('never while the replicas report their link up, and never with assist off', () => {
    const on = new ShardOutages({ downAfterMs: 1000, assist: true });
    expect(on.review(picture(false, 'up'), never, 0).assist).toEqual([]);
    expect(on.review(picture(false, 'up'), never, 5000)).toEqual({ trouble: true, assist: [] });
    const off = new ShardOutages({ downAfterMs: 1000, assist: false });
    off.review(picture(false, 'down'), never, 0);
    expect(off.review(picture(false, 'down'), never, 5000)).toEqual({ trouble: true, assist: [] });
  });

  it('a silent master counts from downAfterMs/2 before the heartbeat said so; answering again ends the outage', () => {
    const o = new ShardOutages({ downAfterMs: 1000, assist: true });
    o.silence('m:1', true, 2000);
    expect(o.review(picture(true, 'down'), never, 2499).assist).toEqual([]);
    expect(o.review(picture(true, 'down'), never, 2500).assist).toEqual([{ master: 'm:1', replica: 'r:2' }]);
    o.silence('m:1', false, 2600);
    expect(o.review(picture(true, 'up'), never, 2700)).toEqual({ trouble: false, assist: [] });
    expect(o.replaced('m:1')).toBeUndefined();
  });
});
