import { describe, expect, it } from 'vitest';
import { READ, classifyCommand } from '../../../src/routing/classify.js';
import { isZonePolicy, parseReadFrom, requireZone } from '../../../src/routing/read-policy.js';
import { markZones, route, routeTarget, type RouteDecision, type RoutingState } from '../../../src/routing/route.js';
import type { NodeState } from '../../../src/topology/types.js';
import { nodeState } from '../../helpers/topology.js';

const node = (port: number, zone: string | null, patch: Partial<NodeState> = {}): NodeState =>
  nodeState(port, { latencyMs: 1, replid: 'x', zone, ...patch }, '10.0.0.1');
const masterIn = (zone: string | null): NodeState => node(6379, zone, { role: 'master', linkStatus: null, masterAddress: null });
const AFFINITY = parseReadFrom('zoneAffinity');
const WITH_PRIMARY = parseReadFrom('zoneAffinityReplicasAndPrimary');

/** A routing state in client zone `zone`, every connection ready. */
function state(master: NodeState | null, replicas: NodeState[], zone: string | null = 'az1'): RoutingState {
  const s: RoutingState = {
    known: true,
    master: master === null ? null : routeTarget(master, true),
    replicas: replicas.map((r) => routeTarget(r, false)),
    gate: null,
    pinned: null,
    fatal: null,
    turn: 0,
  };
  markZones(s, zone);
  if (s.master) s.master.ready = true;
  for (const r of s.replicas) r.ready = true;
  return s;
}

const where = (d: RouteDecision): string => (d.kind === 'send' ? String(d.target.node.port) : d.kind === 'wait' ? `wait:${d.reason}` : 'fail');

/** Ports the reads of `turns` consecutive turns went to, with counts. */
function spread(s: RoutingState, policy = AFFINITY, need = 0, turns = 120): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < turns; i++) {
    s.turn = i;
    const port = where(route(READ, s, policy, need));
    out[port] = (out[port] ?? 0) + 1;
  }
  return out;
}

describe('markZones', () => {
  it('marks the targets whose zone equals the client’s; an unknown zone on either side never matches', () => {
    const s = state(masterIn('az1'), [node(6380, 'az1'), node(6381, 'az2'), node(6382, null)]);
    expect(s.master!.sameZone).toBe(true);
    expect(s.replicas.map((t) => t.sameZone)).toEqual([true, false, false]);
    const none = state(masterIn(null), [node(6380, null)], null);
    expect([none.master!.sameZone, none.replicas[0]!.sameZone]).toEqual([false, false]);
  });
});

describe('zoneAffinity', () => {
  it('reads from the replicas in the client’s zone, round robin, evenly wherever they sit in the list', () => {
    const s = state(masterIn('az1'), [node(6380, 'az1'), node(6381, 'az2'), node(6382, 'az1'), node(6383, 'az2')]);
    expect(spread(s)).toEqual({ 6380: 60, 6382: 60 });
  });

  it('falls back to the other replicas (round robin) when none in the zone may serve, then to the master', () => {
    const s = state(masterIn('az1'), [node(6380, 'az1'), node(6381, 'az2'), node(6382, null)]);
    s.replicas[0]!.ready = false;
    expect(spread(s)).toEqual({ 6381: 60, 6382: 60 });
    s.replicas[1]!.fresh = false; // lagging past maxReplicaLag
    s.replicas[2]!.ready = false;
    expect(spread(s)).toEqual({ 6379: 120 });
  });

  it('never reads from the master while a replica of any zone may serve, even a master in the client’s zone', () => {
    expect(spread(state(masterIn('az1'), [node(6381, 'az2')]))).toEqual({ 6381: 120 });
  });

  it('composes with read-your-writes: a same-zone replica without this session’s writes is passed over', () => {
    const s = state(masterIn('az1'), [node(6380, 'az1'), node(6381, 'az2')]);
    s.replicas[0]!.reached = 3;
    s.replicas[1]!.reached = 7;
    expect(spread(s, AFFINITY, 3)).toEqual({ 6380: 120 });
    expect(spread(s, AFFINITY, 5)).toEqual({ 6381: 120 });
    expect(spread(s, AFFINITY, 9)).toEqual({ 6379: 120 });
  });

  it('a blocking read goes by the policy on the blocking lane; a write still goes to the master', () => {
    const s = state(masterIn('az2'), [node(6380, 'az1'), node(6381, 'az2')]);
    const d = route(classifyCommand('blpop', ['k', '0']), s, AFFINITY, 0);
    // BLPOP writes (it pops): the master. XREAD BLOCK only reads.
    expect(where(d)).toBe('6379');
    const x = route(classifyCommand('xread', ['BLOCK', '0', 'STREAMS', 's', '$']), s, AFFINITY, 0);
    expect(x.kind === 'send' && [x.target.node.port, x.lane]).toEqual([6380, 'blocking']);
  });

  it('waits, as replicaPreferred does, while the master that reads fall back to is silent', () => {
    const s = state(masterIn('az1'), []);
    s.gate = 'master-silent';
    expect(where(route(READ, s, AFFINITY, 0))).toBe('wait:master-silent');
  });

  it('allocates nothing: the same decision object each time', () => {
    const s = state(masterIn('az1'), [node(6380, 'az1'), node(6381, 'az2')]);
    expect(route(READ, s, AFFINITY, 0)).toBe(route(READ, s, AFFINITY, 0));
  });
});

describe('zoneAffinityReplicasAndPrimary', () => {
  it('counts a master in the client’s zone as one more candidate of the zone, in turn with its replicas', () => {
    const s = state(masterIn('az1'), [node(6380, 'az1'), node(6381, 'az2'), node(6382, 'az1')]);
    expect(spread(s, WITH_PRIMARY)).toEqual({ 6379: 40, 6380: 40, 6382: 40 });
  });

  it('reads from a same-zone master before any replica of another zone', () => {
    expect(spread(state(masterIn('az1'), [node(6381, 'az2')]), WITH_PRIMARY)).toEqual({ 6379: 120 });
  });

  it('a master in another zone is no zone candidate: other replicas first, the master last', () => {
    const s = state(masterIn('az2'), [node(6380, 'az1'), node(6381, 'az3')]);
    expect(spread(s, WITH_PRIMARY)).toEqual({ 6380: 120 });
    s.replicas[0]!.ready = false;
    expect(spread(s, WITH_PRIMARY)).toEqual({ 6381: 120 });
    s.replicas[1]!.ready = false;
    expect(spread(s, WITH_PRIMARY)).toEqual({ 6379: 120 });
  });

  it('a silent master is no candidate: its same-zone reads go to the replicas; with none, they wait', () => {
    const s = state(masterIn('az1'), [node(6380, 'az1'), node(6381, 'az2')]);
    s.gate = 'master-silent';
    expect(spread(s, WITH_PRIMARY)).toEqual({ 6380: 120 });
    const alone = state(masterIn('az1'), []);
    alone.gate = 'master-silent';
    expect(where(route(READ, alone, WITH_PRIMARY, 0))).toBe('wait:master-silent');
  });

  it('a fenced master in the zone takes only the reads that need a write only it holds', () => {
    const s = state(masterIn('az1'), [node(6380, 'az1')]);
    s.gate = 'master-fenced';
    s.replicas[0]!.reached = 2;
    expect(spread(s, WITH_PRIMARY)).toEqual({ 6380: 120 });
    expect(spread(s, WITH_PRIMARY, 5)).toEqual({ 6379: 120 });
  });

  it('composes with read-your-writes: the same-zone master has every write', () => {
    const s = state(masterIn('az1'), [node(6380, 'az1'), node(6381, 'az2')]);
    s.replicas[0]!.reached = 1;
    s.replicas[1]!.reached = 9;
    expect(spread(s, WITH_PRIMARY, 5)).toEqual({ 6379: 120 });
  });
});

describe('the zone policies as values', () => {
  it('parse from their names and valkey-glide’s spellings, case-insensitively', () => {
    for (const name of ['zoneAffinity', 'ZONEAFFINITY', 'AZAffinity', 'AZ_AFFINITY', 'zone_affinity']) {
      expect(parseReadFrom(name).name).toBe('zoneAffinity');
    }
    for (const name of ['zoneAffinityReplicasAndPrimary', 'AZAffinityReplicasAndPrimary', 'AZ_AFFINITY_REPLICAS_AND_PRIMARY']) {
      expect(parseReadFrom(name).name).toBe('zoneAffinityReplicasAndPrimary');
    }
    expect(isZonePolicy(AFFINITY)).toBe(true);
    expect(isZonePolicy(parseReadFrom('replicaPreferred'))).toBe(false);
  });

  it('need the client’s zone: without it, an InvalidOptionError naming zone', () => {
    expect(() => requireZone(AFFINITY, null)).toThrow(/Invalid option "zone": readFrom "zoneAffinity" reads from replicas in the client's availability zone, but no zone was given/);
    expect(requireZone(AFFINITY, 'az1')).toBe(AFFINITY);
    expect(requireZone(parseReadFrom('replica'), null).name).toBe('replica');
  });
});
