import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../src/failover/retries.js';
import { decide, type DecideSettings, type Decision, type Evidence } from '../../src/failover/decide.js';
import { assembleTopology, type Probe } from '../../src/topology/assemble.js';
import { describeCycle, replicationCycle } from '../../src/topology/cycle.js';
import { assessHealth } from '../../src/topology/health.js';
import type { Topology } from '../../src/topology/types.js';
import { edited, evidence as baseEvidence, probe, probeText } from '../helpers/topology.js';

const A = '127.0.0.1:6379';
const B = '127.0.0.1:6380';
const C = '127.0.0.1:6381';
const auto: DecideSettings = { promote: 'auto', downAfterMs: 1000, quorum: null };

const evidence = (patch: Partial<Evidence> = {}): Evidence => baseEvidence({ knownMaster: B, ...patch });

const picture = (probes: Probe[], previous: Topology | null = null): Topology => assembleTopology(probes, previous, 'nodes');
const kinds = (decisions: Decision[]) => decisions.map((d) => d.kind);
const find = <K extends Decision['kind']>(decisions: Decision[], kind: K) => decisions.find((d): d is Extract<Decision, { kind: K }> => d.kind === kind);

/** Captured: 6379 and 6380 follow each other (links up), 6381 follows 6380. */
const cycle = () => picture([probe(6379, 'cycle-a-follows-b'), probe(6380, 'cycle-b-follows-a'), probe(6381, 'cycle-c-follows-b')]);

describe('a replication cycle (captured on Redis 7.0)', () => {
  it('is a picture with no master: no node that says role:replica is ever named master', () => {
    const t = cycle();
    expect(t.master).toBeNull();
    expect(t.replicas.map((r) => [r.address, r.role, r.up, r.masterAddress])).toEqual([
      [A, 'replica', true, B],
      [B, 'replica', true, A],
      [C, 'replica', true, B],
    ]);
    expect(replicationCycle(t)).toEqual([A, B]);
    expect(describeCycle([A, B])).toBe(`${A} → ${B} → ${A}`);
  });

  it('even when a master was known before', () => {
    const before = picture([probe(6381, 'promoted-with-one-replica'), probe(6380, 'replica-of-promoted')]);
    expect(before.master?.address).toBe(C);
    expect(picture([probe(6379, 'cycle-a-follows-b'), probe(6380, 'cycle-b-follows-a'), probe(6381, 'cycle-c-follows-b')], before).master).toBeNull();
  });

  it('a chain ending at a node that does not answer is the usual outage: that node is the master, down', () => {
    // 6381 follows 6380, which follows the dead 6379.
    const t = picture([probe(6379, null), probe(6380, 'replica-link-down-a'), probeText(6381, edited('replica-link-down-b', { master_port: 6380 }))]);
    expect(t.master?.address).toBe(A);
    expect(t.master?.up).toBe(false);
    expect(replicationCycle(t)).toBeNull();
  });

  it('status names it', () => {
    const health = assessHealth(cycle());
    expect(health.master).toBeNull();
    expect(health.warnings[0]).toMatchObject({ code: 'REPLICATION_CYCLE', severity: 'critical' });
    expect(health.warnings[0]!.message).toContain(`${A} → ${B} → ${A}`);
  });
});

describe('decide: no master', () => {
  it('says so at once, once per loop, and waits downAfterMs before repairing', () => {
    const d = decide(cycle(), null, evidence({ noMasterSince: 9600 }), auto);
    expect(kinds(d)).toEqual(['trouble', 'warn', 'recheck']);
    expect(find(d, 'warn')!.event.code).toBe('REPLICATION_CYCLE');
    expect(find(d, 'recheck')!.inMs).toBe(1000 - 400 + 10);
    const again = decide(cycle(), null, evidence({ noMasterSince: 9600, warned: new Set([find(d, 'warn')!.key]) }), auto);
    expect(kinds(again)).toEqual(['trouble', 'recheck']);
  });

  it('after downAfterMs: promotes by the election rule over every member and repoints all the others', () => {
    const d = decide(cycle(), null, evidence({ noMasterSince: 8000 }), auto);
    const promote = find(d, 'promote')!;
    // 6379 and 6380 have the highest offset (77); the lower address wins.
    expect(promote.candidate.address).toBe(A);
    expect(promote.followers.map((r) => r.address)).toEqual([B, C]);
    expect(promote.from).toBe(B);
    expect(promote.reason).toContain('replication cycle');
  });

  it('the highest offset wins whatever the address', () => {
    const t = picture([
      probe(6379, 'cycle-a-follows-b'),
      probeText(6380, edited('cycle-b-follows-a', { slave_repl_offset: 90 })),
      probe(6381, 'cycle-c-follows-b'),
    ]);
    expect(find(decide(t, null, evidence({ noMasterSince: 8000 }), auto), 'promote')!.candidate.address).toBe(B);
  });

  it('never on a partial view: a member that does not answer may be the master, or ahead', () => {
    const t = picture([probe(6379, 'cycle-a-follows-b'), probe(6380, 'cycle-b-follows-a'), probe(6382, null)]);
    expect(t.master).toBeNull();
    const d = decide(t, null, evidence({ noMasterSince: 8000 }), auto);
    expect(find(d, 'promote')).toBeUndefined();
    expect(find(d, 'recheck')!.why).toContain('127.0.0.1:6382');
  });

  it('manual mode and Sentinel mode report it and never promote', () => {
    for (const promote of ['manual', 'sentinel'] as const) {
      const d = decide(cycle(), null, evidence({ noMasterSince: 0 }), { ...auto, promote });
      expect(kinds(d)).toEqual(['trouble', 'warn', 'recheck']);
    }
  });

  it('not while a role change is under way, refused, or backing off', () => {
    expect(find(decide(cycle(), null, evidence({ noMasterSince: 0, acting: true }), auto), 'promote')).toBeUndefined();
    expect(find(decide(cycle(), null, evidence({ noMasterSince: 0, refused: 'NOPERM' }), auto), 'promote')).toBeUndefined();
    const backing = decide(cycle(), null, evidence({ noMasterSince: 0, retryAt: 10_300 }), auto);
    expect(find(backing, 'promote')).toBeUndefined();
    expect(find(backing, 'recheck')!.inMs).toBe(300);
  });
});

describe('decide: role changes refused or failing', () => {
  /** 6379 killed: both replicas see the link down. */
  const killed = () => picture([probe(6379, null), probe(6380, 'replica-link-down-a'), probe(6381, 'replica-link-down-b')]);
  const down = { silenceMs: 1200, suspect: true, knownMaster: A };

  it('refused for rights: no promotion, a recheck to follow whoever promotes', () => {
    const d = decide(killed(), null, evidence({ ...down, refused: 'NOPERM this user has no permissions to run the replicaof command' }), auto);
    expect(kinds(d)).toEqual(['trouble', 'recheck']);
    expect(find(d, 'recheck')!.why).toContain('following whoever promotes');
  });

  it('backing off: the next try when the wait is over', () => {
    expect(kinds(decide(killed(), null, evidence({ ...down, retryAt: 10_250 }), auto))).toEqual(['trouble', 'recheck']);
    expect(kinds(decide(killed(), null, evidence({ ...down, retryAt: 9_000 }), auto))).toEqual(['trouble', 'promote']);
  });

  it('an old master back is not demoted while refused or backing off', () => {
    const t = picture([probe(6381, 'promoted-with-one-replica'), probe(6380, 'replica-of-promoted'), probe(6379, 'restarted-old-master')]);
    expect(kinds(decide(t, null, evidence({ knownMaster: C }), auto))).toContain('demote');
    expect(kinds(decide(t, null, evidence({ knownMaster: C, refused: 'NOPERM' }), auto))).not.toContain('demote');
    expect(kinds(decide(t, null, evidence({ knownMaster: C, retryAt: 20_000 }), auto))).not.toContain('demote');
  });

  it('the wait doubles from 100 ms up to 5 s, less up to half at random', () => {
    expect(retryDelayMs(1, () => 1)).toBe(100);
    expect(retryDelayMs(1, () => 0)).toBe(50);
    expect(retryDelayMs(3, () => 1)).toBe(400);
    expect(retryDelayMs(30, () => 1)).toBe(5000);
    expect(retryDelayMs(30, () => 0)).toBe(2500);
  });
});

describe('decide: a first picture with a master alone', () => {
  it('warns when other configured members do not answer or follow another node', () => {
    const t = picture([probe(6379, 'restarted-old-master'), probe(6380, null), probe(6381, null)]);
    expect(t.master?.address).toBe(A);
    const d = decide(t, null, evidence({ knownMaster: null }), auto);
    const warning = find(d, 'warn')!;
    expect(warning.event.code).toBe('MASTER_ALONE');
    expect(warning.event.message).toContain(`${B} (does not answer)`);
  });

  it('not for a master alone by design, nor on later pictures', () => {
    const alone = picture([probe(6379, 'restarted-old-master')]);
    expect(find(decide(alone, null, evidence({ knownMaster: null }), auto), 'warn')).toBeUndefined();
    const t = picture([probe(6379, 'restarted-old-master'), probe(6380, null)]);
    expect(find(decide(t, t, evidence({ knownMaster: A }), auto), 'warn')).toBeUndefined();
  });
});

describe('decide: the repair seen by a client that did not make it', () => {
  it('reports the new master with the cycle as its reason', () => {
    const repaired = picture([probe(6381, 'promoted-with-one-replica'), probe(6380, 'replica-of-promoted')]);
    const reasons = ['data connection to 127.0.0.1:6380 closed', 'master silent for 300 ms', `no master: replication cycle ${A} → ${B} → ${A}`];
    const report = find(decide(repaired, null, evidence({ knownMaster: B, reasons }), auto), 'report')!;
    expect(report.event).toMatchObject({ from: B, to: C });
    expect(report.event.reason).toBe(`master changed (nodes) after no master: replication cycle ${A} → ${B} → ${A}`);
  });
});
