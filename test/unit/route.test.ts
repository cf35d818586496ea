import { describe, expect, it } from 'vitest';
import { NoReplicaError } from '../../src/errors.js';
import { classifyCommand, READ, WRITE, type CommandClass } from '../../src/routing/classify.js';
import { parseReadFrom } from '../../src/routing/read-policy.js';
import { route, routeTarget, type RouteDecision, type RoutingState } from '../../src/routing/route.js';
import { buildRoutingTable, resolveLag } from '../../src/routing/router.js';
import type { NodeState, Topology } from '../../src/topology/types.js';
import { nodeState } from '../helpers/topology.js';

const node = (port: number, patch: Partial<NodeState> = {}): NodeState => nodeState(port, { latencyMs: 1, replid: 'x', ...patch }, '10.0.0.1');
const master = node(6379, { role: 'master', linkStatus: null, masterAddress: null });
const noLag = resolveLag(undefined);
const cls = (name: string, ...args: string[]): CommandClass => classifyCommand(name, args);

/** A routing snapshot of `master` and `replicas`, every connection ready unless said otherwise. */
function snapshot(replicas: NodeState[], patch: Partial<RoutingState> = {}, m: NodeState | null = master): RoutingState {
  const topology: Topology = { master: m, replicas, source: 'nodes' };
  const table = buildRoutingTable(topology, noLag);
  const state: RoutingState = {
    known: true,
    master: table.master === null ? null : routeTarget(table.master, true),
    replicas: table.replicas.map((r) => routeTarget(r, false)),
    gate: null,
    pinned: null,
    fatal: null,
    turn: 0,
    ...patch,
  };
  if (state.master) state.master.ready = true;
  for (const r of state.replicas) r.ready = true;
  return state;
}

/** Where a decision sends: the port, 'wait:<reason>' or 'fail:<code>'. */
function where(d: RouteDecision): string {
  if (d.kind === 'send') return `${d.target.node.port}/${d.lane}`;
  if (d.kind === 'wait') return `wait:${d.reason}`;
  return `fail:${(d.error as { code?: string }).code ?? d.error.message}`;
}

function spread(policy: string, state = snapshot([node(6380), node(6381)]), reads = 300): Record<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < reads; i++) {
    state.turn = i;
    const d = route(READ, state, parseReadFrom(policy), 0);
    const key = d.kind === 'send' ? (d.target === state.master ? 'master' : d.target.address) : where(d);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return Object.fromEntries(counts);
}

describe('route(): reads by policy', () => {
  it('spreads replicaPreferred reads evenly over the replicas (round robin)', () => {
    expect(spread('replicaPreferred')).toEqual({ '10.0.0.1:6380': 150, '10.0.0.1:6381': 150 });
  });

  it('spreads within ±10% over 300 reads with three replicas', () => {
    for (const count of Object.values(spread('replica', snapshot([node(6380), node(6381), node(6382)])))) {
      expect(Math.abs(count - 100)).toBeLessThanOrEqual(10);
    }
  });

  it('sends master reads to the master', () => {
    expect(spread('master')).toEqual({ master: 300 });
  });

  it('any: master and replicas share', () => {
    expect(spread('any')).toEqual({ master: 100, '10.0.0.1:6380': 100, '10.0.0.1:6381': 100 });
  });

  it('masterPreferred uses a replica only when the master is not ready', () => {
    const state = snapshot([node(6380)]);
    expect(where(route(READ, state, parseReadFrom('masterPreferred'), 0))).toBe('6379/data');
    state.master!.ready = false;
    expect(where(route(READ, state, parseReadFrom('masterPreferred'), 0))).toBe('6380/data');
  });

  it('nearest picks the lowest latency, sharing between equals', () => {
    const state = snapshot([node(6380, { latencyMs: 5 }), node(6381, { latencyMs: 0.2 })]);
    expect(where(route(READ, state, parseReadFrom('nearest'), 0))).toBe('6381/data');
    expect(spread('nearest', snapshot([node(6380, { latencyMs: 0.5 }), node(6381, { latencyMs: 0.5 })]))).toEqual({
      '10.0.0.1:6380': 150,
      '10.0.0.1:6381': 150,
    });
  });

  it('falls back to the master for replicaPreferred, rejects at once for replica', () => {
    const state = snapshot([node(6380, { up: false }), node(6381, { syncing: true })]);
    expect(state.replicas).toEqual([]);
    expect(where(route(READ, state, parseReadFrom('replicaPreferred'), 0))).toBe('6379/data');
    const d = route(READ, state, parseReadFrom('replica'), 0);
    expect(d.kind === 'fail' && d.error).toBeInstanceOf(NoReplicaError);
  });

  it('skips replicas whose connection is not ready', () => {
    const state = snapshot([node(6380), node(6381)]);
    state.replicas[0]!.ready = false;
    for (let i = 0; i < 10; i++) {
      state.turn = i;
      expect(where(route(READ, state, parseReadFrom('replica'), 0))).toBe('6381/data');
    }
  });

  it('asks a custom policy among the eligible replicas', () => {
    const state = snapshot([node(6380), node(6381), node(6382, { up: false })]);
    let seen: number[] = [];
    const policy = parseReadFrom((candidates: readonly NodeState[]) => {
      seen = candidates.map((c) => c.port);
      return candidates[candidates.length - 1];
    });
    expect(where(route(READ, state, policy, 0))).toBe('6381/data');
    expect(seen).toEqual([6380, 6381]);
    expect(where(route(READ, state, parseReadFrom(() => undefined), 0))).toBe('6379/data');
  });

  it('decides without allocating: the same decision object for the same target and lane', () => {
    const state = snapshot([node(6380)]);
    expect(route(READ, state, parseReadFrom('replica'), 0)).toBe(route(READ, state, parseReadFrom('replica'), 0));
    state.gate = 'master-silent';
    expect(route(WRITE, state, parseReadFrom('replica'), 0)).toBe(route(cls('set', 'k', 'v'), state, parseReadFrom('replica'), 0));
  });
});

describe('route(): read-your-writes and lag', () => {
  it('a read that needs this session’s writes goes only to replicas that reached them, else to the master', () => {
    const state = snapshot([node(6380), node(6381)]);
    state.replicas[0]!.reached = 5;
    state.replicas[1]!.reached = 3;
    for (let i = 0; i < 4; i++) {
      state.turn = i;
      expect(where(route(READ, state, parseReadFrom('replicaPreferred'), 4))).toBe('6380/data');
      expect(where(route(READ, state, parseReadFrom('replicaPreferred'), 6))).toBe('6379/data');
    }
  });

  it('readFrom replica waits for a replica to catch up instead of failing', () => {
    const state = snapshot([node(6380)]);
    expect(where(route(READ, state, parseReadFrom('replica'), 2))).toBe('wait:replica-catching-up');
    state.replicas[0]!.reached = 2;
    expect(where(route(READ, state, parseReadFrom('replica'), 2))).toBe('6380/data');
  });

  it('with the master unavailable, reads go on from the replicas whatever they reached', () => {
    const state = snapshot([node(6380)]);
    state.master!.ready = false;
    expect(where(route(READ, state, parseReadFrom('replicaPreferred'), 9))).toBe('6380/data');
    state.master!.ready = true;
    state.gate = 'master-silent';
    expect(where(route(READ, state, parseReadFrom('replicaPreferred'), 9))).toBe('6380/data');
  });

  it('a fenced master (it answers; the fence holds writes) serves the reads that need its writes; other reads are not let through the fence', () => {
    const state = snapshot([node(6380)], { gate: 'master-fenced' });
    state.replicas[0]!.reached = 1;
    expect(where(route(READ, state, parseReadFrom('replicaPreferred'), 2))).toBe('6379/data');
    expect(where(route(READ, state, parseReadFrom('replicaPreferred'), 1))).toBe('6380/data');
    expect(where(route(READ, state, parseReadFrom('master'), 0))).toBe('wait:master-fenced');
    expect(where(route(WRITE, state, parseReadFrom('replicaPreferred'), 0))).toBe('wait:master-fenced');
  });

  it('a replica past maxReplicaLag gets no reads', () => {
    const state = snapshot([node(6380), node(6381)]);
    state.replicas[1]!.fresh = false;
    expect(spread('replicaPreferred', state, 10)).toEqual({ '10.0.0.1:6380': 10 });
  });

  it('blocking reads honour read-your-writes like any read (on the blocking lane)', () => {
    const state = snapshot([node(6380)]);
    const xread = cls('xread', 'BLOCK', '0', 'STREAMS', 's', '$');
    expect(where(route(xread, state, parseReadFrom('replicaPreferred'), 0))).toBe('6380/blocking');
    expect(where(route(xread, state, parseReadFrom('replicaPreferred'), 1))).toBe('6379/blocking');
  });

  it('blocking reads wait for connecting replicas with readFrom replica, as plain reads do', () => {
    const state = snapshot([node(6380)]);
    state.replicas[0]!.ready = false;
    const xread = cls('xread', 'BLOCK', '0', 'STREAMS', 's', '$');
    expect(where(route(xread, state, parseReadFrom('replica'), 0))).toBe('wait:replica-connecting');
    expect(where(route(READ, state, parseReadFrom('replica'), 0))).toBe('wait:replica-connecting');
  });
});

describe('route(): lanes, waits and failures', () => {
  const policy = parseReadFrom('replicaPreferred');

  it.each([
    ['set', ['k', 'v'], '6379/data'],
    ['ping', [], '6379/data'],
    ['blpop', ['k', '0'], '6379/blocking'],
    ['watch', ['k'], '6379/transaction'],
    ['multi', [], '6379/transaction'],
    ['exec', [], '6379/data'],
    ['subscribe', ['c'], '6379/subscriber'],
    ['select', ['1'], '6379/data'],
  ])('%s goes to %s', (name, args, expected) => {
    expect(where(route(cls(name, ...args), snapshot([node(6380)]), policy, 0))).toBe(expected);
  });

  it.each([
    ['set', ['k', 'v']],
    ['blpop', ['k', '0']],
    ['watch', ['k']],
    ['multi', []],
    ['select', ['1']],
  ])('the write gate holds %s (master silent, switchover)', (name, args) => {
    for (const gate of ['master-silent', 'switchover'] as const) {
      expect(where(route(cls(name, ...args), snapshot([node(6380)], { gate }), policy, 0))).toBe(`wait:${gate}`);
    }
  });

  it('the gate does not hold subscriptions or replica reads', () => {
    const state = snapshot([node(6380)], { gate: 'switchover' });
    expect(where(route(cls('subscribe', 'c'), state, policy, 0))).toBe('6379/subscriber');
    expect(where(route(READ, state, policy, 0))).toBe('6380/data');
    expect(where(route(READ, state, parseReadFrom('master'), 0))).toBe('wait:switchover');
  });

  it('waits before the first discovery, without a master, and while the master connects', () => {
    const unknown: RoutingState = { known: false, master: null, replicas: [], gate: null, pinned: null, fatal: null, turn: 0 };
    expect(where(route(WRITE, unknown, policy, 0))).toBe('wait:no-topology');
    expect(where(route(READ, unknown, policy, 0))).toBe('wait:no-topology');
    expect(where(route(WRITE, snapshot([node(6380)], {}, null), policy, 0))).toBe('wait:no-master');
    const connecting = snapshot([node(6380)]);
    connecting.master!.ready = false;
    expect(where(route(WRITE, connecting, policy, 0))).toBe('wait:master-connecting');
  });

  it('an open WATCH…EXEC session takes everything, reads included, on its lane', () => {
    const state = snapshot([node(6380)]);
    state.pinned = state.master;
    for (const c of [READ, WRITE, cls('exec'), cls('blpop', 'k', '0')]) expect(where(route(c, state, policy, 0))).toBe('6379/transaction');
  });

  it('fails everything with a fatal error (a wrong password)', () => {
    const error = new Error('WRONGPASS invalid username-password pair');
    const state = snapshot([node(6380)], { fatal: error });
    for (const c of [READ, WRITE, cls('subscribe', 'c')]) expect(route(c, state, policy, 0)).toEqual({ kind: 'fail', error });
  });
});
