import { describe, expect, it } from 'vitest';
import { decide, quietLimitMs, type DecideSettings, type Decision } from '../../src/failover/decide.js';
import { assembleTopology, type Probe } from '../../src/topology/assemble.js';
import type { Topology, TopologySource } from '../../src/topology/types.js';
import { edited, evidence, probe, probeText } from '../helpers/topology.js';

const M6379 = '127.0.0.1:6379';
const M6381 = '127.0.0.1:6381';

const auto: DecideSettings = { promote: 'auto', downAfterMs: 1000, quorum: null };
const manual: DecideSettings = { ...auto, promote: 'manual' };
const sentinel: DecideSettings = { ...auto, promote: 'sentinel' };


const picture = (probes: Probe[], source: TopologySource = 'nodes'): Topology => assembleTopology(probes, null, source);
const kinds = (decisions: Decision[]) => decisions.map((d) => d.kind);
const find = <K extends Decision['kind']>(decisions: Decision[], kind: K) => decisions.find((d): d is Extract<Decision, { kind: K }> => d.kind === kind);

/** 6379 killed: it does not answer, both replicas report their link to it down (captured). */
const killed = () => picture([probe(6379, null), probe(6380, 'replica-link-down-a'), probe(6381, 'replica-link-down-b')]);

describe('decide: master killed (both replicas see the link down)', () => {
  it('before downAfterMs: notes the trouble and looks again when the silence will have lasted downAfterMs', () => {
    const d = decide(killed(), null, evidence({ silenceMs: 400, suspect: true }), auto);
    expect(kinds(d)).toEqual(['trouble', 'recheck']);
    expect(find(d, 'trouble')?.reason).toBe(`master ${M6379} unreachable`);
    expect(find(d, 'recheck')?.inMs).toBe(1000 - 400 + 10);
  });

  it('after downAfterMs: promotes the lowest address of equal replicas and repoints the other', () => {
    const d = decide(killed(), null, evidence({ silenceMs: 1200, suspect: true }), auto);
    expect(kinds(d)).toEqual(['trouble', 'promote']);
    const promote = find(d, 'promote')!;
    expect(promote.candidate.address).toBe('127.0.0.1:6380');
    expect(promote.followers.map((r) => r.address)).toEqual(['127.0.0.1:6380', '127.0.0.1:6381']);
    expect(promote.from).toBe(M6379);
    expect(promote.reason).toBe(`promoted 127.0.0.1:6380: master ${M6379} down, 2 replicas agree`);
  });

  it('the candidate is the lowest replica-priority first, then the highest offset', () => {
    const byPriority = picture([probe(6379, null), probe(6380, 'replica-link-down-a'), probeText(6381, edited('replica-link-down-b', { slave_priority: 50 }))]);
    expect(find(decide(byPriority, null, evidence({ silenceMs: 1200 }), auto), 'promote')?.candidate.address).toBe(M6381);
    const byOffset = picture([probe(6379, null), probe(6380, 'replica-link-down-a'), probeText(6381, edited('replica-link-down-b', { slave_repl_offset: 2600 }))]);
    expect(find(decide(byOffset, null, evidence({ silenceMs: 1200 }), auto), 'promote')?.candidate.address).toBe(M6381);
    const never = picture([probe(6379, null), probeText(6380, edited('replica-link-down-a', { slave_priority: 0 })), probeText(6381, edited('replica-link-down-b', { slave_priority: 0 }))]);
    const d = decide(never, null, evidence({ silenceMs: 1200 }), auto);
    expect(kinds(d)).toEqual(['trouble', 'recheck']);
    expect(find(d, 'recheck')?.inMs).toBe(500);
  });

  it('one action at a time: with a promotion under way, nothing more is started', () => {
    expect(kinds(decide(killed(), null, evidence({ silenceMs: 1200, acting: true }), auto))).toEqual(['trouble']);
  });
});

describe('decide: master hung (replica links still up)', () => {
  // 6381 hung: its probe times out; 6380 keeps its link up but has heard nothing for 9 s.
  const hung = () => picture([probe(6380, 'replica-of-promoted'), probe(6381, null)]);

  it('promotes once the replica has been silent past repl-ping-replica-period (read from CONFIG)', () => {
    const d = decide(hung(), null, evidence({ knownMaster: M6381, silenceMs: 1500, suspect: true, replicaPingPeriodS: 5 }), auto);
    expect(kinds(d)).toEqual(['trouble', 'promote']);
    expect(find(d, 'promote')?.candidate.address).toBe('127.0.0.1:6380');
  });

  it('with Redis\'s default period (10 s), 9 s of silence proves nothing yet: look again shortly', () => {
    const d = decide(hung(), null, evidence({ knownMaster: M6381, silenceMs: 1500, suspect: true }), auto);
    expect(kinds(d)).toEqual(['trouble', 'recheck']);
    expect(find(d, 'recheck')?.inMs).toBe(100);
  });
});

describe('decide: sub-second witnesses (replica offsets seen standing still)', () => {
  // The master 6379 hung; both replicas keep their links up and reported last I/O 1 s ago.
  const linkUp = (name: string) => edited(name, { master_link_status: 'up', master_last_io_seconds_ago: 1 });
  const hung = () => picture([probe(6379, null), probeText(6380, linkUp('replica-link-down-a')), probeText(6381, linkUp('replica-link-down-b'))]);
  const quiet = (ms6380: number, ms6381: number) => new Map([['127.0.0.1:6380', ms6380], ['127.0.0.1:6381', ms6381]]);

  it('both offsets still for the ping period + margin (1100 ms with a 1 s period): promotes', () => {
    const d = decide(hung(), null, evidence({ silenceMs: 1150, suspect: true, replicaPingPeriodS: 1, replicaQuietMs: quiet(1100, 1120) }), auto);
    expect(kinds(d)).toEqual(['trouble', 'promote']);
  });

  it('one still offset short of the limit (a PING moved it 1 s ago): no majority, look again', () => {
    const d = decide(hung(), null, evidence({ silenceMs: 1150, suspect: true, replicaPingPeriodS: 1, replicaQuietMs: quiet(1100, 900) }), auto);
    expect(kinds(d)).toEqual(['trouble', 'recheck']);
  });

  it('the limit is never below downAfterMs nor the ping period: unknown period is Redis\'s 10 s', () => {
    expect(quietLimitMs(1000, 1)).toBe(1100);
    expect(quietLimitMs(5000, 1)).toBe(5100);
    expect(quietLimitMs(1000, null)).toBe(10_100);
    const d = decide(hung(), null, evidence({ silenceMs: 1150, suspect: true, replicaQuietMs: quiet(2000, 2000) }), auto);
    expect(kinds(d)).toEqual(['trouble', 'recheck']);
  });

  it('our own silence still has to reach downAfterMs', () => {
    const d = decide(hung(), null, evidence({ silenceMs: 900, suspect: true, replicaPingPeriodS: 1, replicaQuietMs: quiet(1200, 1200) }), auto);
    expect(kinds(d)).toEqual(['trouble', 'recheck']);
  });
});

describe('decide: the witnesses disagree', () => {
  it('client cut off alone (the replicas still hear the master): never promotes, looks again in 100 ms', () => {
    const linkUp = (name: string) => edited(name, { master_link_status: 'up', master_last_io_seconds_ago: 1 });
    const cutOff = picture([probe(6379, null), probeText(6380, linkUp('replica-link-down-a')), probeText(6381, linkUp('replica-link-down-b'))]);
    const d = decide(cutOff, null, evidence({ silenceMs: 30_000, suspect: true }), auto);
    expect(kinds(d)).toEqual(['trouble', 'recheck']);
    expect(find(d, 'recheck')).toMatchObject({ inMs: 100, why: expect.stringContaining('0/2 replicas see it down') });
  });

  it('one replica of two sees it down: short of the majority, no promotion; with quorum 1, promotion', () => {
    const half = picture([probe(6379, null), probe(6380, 'replica-link-down-a'), probeText(6381, edited('replica-link-down-b', { master_link_status: 'up', master_last_io_seconds_ago: 0 }))]);
    expect(kinds(decide(half, null, evidence({ silenceMs: 1200, suspect: true }), auto))).toEqual(['trouble', 'recheck']);
    const d = decide(half, null, evidence({ silenceMs: 1200, suspect: true }), { ...auto, quorum: 1 });
    expect(find(d, 'promote')?.reason).toContain('1 replicas agree');
  });
});

describe('decide: the old master returns', () => {
  // 6379 restarted as an empty master; 6381 is the master and 6380 follows it (captured).
  const returned = () => picture([probe(6379, 'restarted-old-master'), probe(6380, 'replica-of-promoted'), probe(6381, 'promoted-with-one-replica')]);

  it('auto: calm, and demote it to a replica of the current master', () => {
    const d = decide(returned(), null, evidence({ knownMaster: M6381 }), auto);
    expect(kinds(d)).toEqual(['calm', 'demote']);
    const demote = find(d, 'demote')!;
    expect(demote.master.address).toBe(M6381);
    expect(demote.nodes.map((n) => [n.address, n.role])).toEqual([[M6379, 'master']]);
  });

  it('manual, Sentinel, or an action under way: left alone', () => {
    expect(kinds(decide(returned(), null, evidence({ knownMaster: M6381 }), manual))).toEqual(['calm']);
    expect(kinds(decide(returned(), null, evidence({ knownMaster: M6381 }), sentinel))).toEqual(['calm']);
    expect(kinds(decide(returned(), null, evidence({ knownMaster: M6381, acting: true }), auto))).toEqual(['calm']);
    expect(kinds(decide(returned(), null, evidence({ knownMaster: M6381, suspect: true, silenceMs: 300 }), auto))).toEqual(['trouble', 'recheck']);
  });

  it('a replica still following the old master (a repointing cut short) is repointed too', () => {
    const t = picture([probe(6379, 'restarted-old-master'), probe(6380, 'replica-link-down-a'), probe(6381, 'promoted-with-one-replica')]);
    expect(find(decide(t, null, evidence({ knownMaster: M6381 }), auto), 'demote')?.nodes.map((n) => n.address)).toEqual([M6379, '127.0.0.1:6380']);
  });

  it('the final picture (all follow 6381): nothing to demote', () => {
    const t = picture([probe(6379, 'old-master-rejoined'), probe(6380, 'replica-of-promoted'), probe(6381, 'promoted-with-two-replicas')]);
    expect(kinds(decide(t, null, evidence({ knownMaster: M6381 }), auto))).toEqual(['calm']);
  });
});

describe('decide: the change of master is reported', () => {
  const promoted = () => picture([probe(6379, null), probe(6380, 'replica-of-promoted'), probe(6381, 'promoted-with-one-replica')]);

  it('with durationMs from the first trouble and the signals seen meanwhile', () => {
    const d = decide(promoted(), killed(), evidence({ troubleSince: 8_500, reasons: [`connection to ${M6379} lost`] }), auto);
    expect(kinds(d)).toEqual(['report', 'calm']);
    expect(find(d, 'report')?.event).toEqual({ from: M6379, to: M6381, reason: `master changed (nodes): connection to ${M6379} lost`, durationMs: 1500 });
  });

  it('with the reason of the change expected (our promotion, a switchover)', () => {
    const d = decide(promoted(), killed(), evidence({ troubleSince: 9_000, pendingReason: 'switchover to 127.0.0.1:6381' }), auto);
    expect(find(d, 'report')?.event).toMatchObject({ reason: 'switchover to 127.0.0.1:6381', durationMs: 1000 });
    expect(find(d, 'report')?.oldMasterDown).toBe(true);
  });

  it('keeps the connections of an old master that answers (a planned handover: its in-flight writes finish there)', () => {
    const handedOver = picture([probe(6379, 'old-master-rejoined'), probe(6380, 'replica-of-promoted'), probe(6381, 'promoted-with-two-replicas')]);
    const d = decide(handedOver, killed(), evidence({ pendingReason: 'switchover to 127.0.0.1:6381' }), auto);
    expect(find(d, 'report')?.oldMasterDown).toBe(false);
  });

  it('not on the first picture, nor when the master is the same', () => {
    expect(kinds(decide(promoted(), null, evidence({ knownMaster: null }), auto))).toEqual(['calm']);
    expect(kinds(decide(promoted(), null, evidence({ knownMaster: M6381 }), auto))).toEqual(['calm']);
  });

  it('nothing at all while no master is in the picture', () => {
    expect(decide({ master: null, replicas: [], source: 'nodes' }, null, evidence({ silenceMs: 5000, suspect: true }), auto)).toEqual([]);
  });
});

describe('decide: a master restarted empty under attached replicas', () => {
  const withRunId = (t: Topology, runId: string, offset: number): Topology => ({ ...t, master: { ...t.master!, runId, offset } });
  const t = () => picture([probe(6380, 'replica-of-promoted'), probe(6381, 'promoted-with-one-replica')]);

  it('warns once per restart (run id changed, offset went back)', () => {
    const before = withRunId(t(), 'aaaa', 2632);
    const after = withRunId(t(), 'bbbb', 0);
    const d = decide(after, before, evidence({ knownMaster: M6381 }), auto);
    expect(kinds(d)).toEqual(['warn', 'calm']);
    const warning = find(d, 'warn')!;
    expect(warning.key).toBe(`${M6381}/bbbb`);
    expect(warning.event).toMatchObject({ code: 'MASTER_RESTARTED_EMPTY', address: M6381 });
    expect(warning.event.message).toContain('offset 2632 → 0) while 1 replica(s) are attached');
    expect(kinds(decide(after, before, evidence({ knownMaster: M6381, warned: new Set([warning.key]) }), auto))).toEqual(['calm']);
  });

  it('not for a restart that kept its data, nor for a first run id', () => {
    expect(kinds(decide(withRunId(t(), 'bbbb', 2700), withRunId(t(), 'aaaa', 2632), evidence({ knownMaster: M6381 }), auto))).toEqual(['calm']);
    expect(kinds(decide(withRunId(t(), 'bbbb', 0), t(), evidence({ knownMaster: M6381 }), auto))).toEqual(['calm']);
  });
});

describe("decide: promote: 'manual'", () => {
  it('warns that the master is down, once per trouble, and never promotes', () => {
    const first = decide(killed(), null, evidence({ silenceMs: 1200, suspect: true }), manual);
    expect(kinds(first)).toEqual(['trouble', 'warn-manual', 'recheck']);
    expect(find(first, 'warn-manual')?.event).toEqual({
      code: 'MASTER_DOWN',
      message: `master ${M6379} is down (2 replicas agree); promote: 'manual', so no replica is promoted`,
      address: M6379,
    });
    expect(find(first, 'recheck')?.inMs).toBe(1000);
    const later = decide(killed(), null, evidence({ silenceMs: 60_000, suspect: true, warnedDown: true }), manual);
    expect(kinds(later)).toEqual(['trouble', 'recheck']);
  });

  it('the warning is given again after the master changed (a new trouble)', () => {
    // The master was 6381; now the replicas follow 6379, which is down too.
    const d = decide(killed(), null, evidence({ knownMaster: M6381, silenceMs: 1200, suspect: true, warnedDown: true }), manual);
    expect(kinds(d)).toEqual(['report', 'trouble', 'warn-manual', 'recheck']);
  });
});

describe('decide: Sentinel mode', () => {
  it('reports the change Sentinel made, with its +switch-master signal as the reason', () => {
    const t = picture([probe(6379, null), probe(6380, 'sentinel-promoted-master'), probe(6381, null)], 'sentinel');
    const d = decide(t, killed(), evidence({ troubleSince: 7_000, reasons: ['connection to 127.0.0.1:6379 lost', 'sentinel +switch-master'] }), sentinel);
    expect(kinds(d)).toEqual(['report', 'calm']);
    expect(find(d, 'report')?.event).toEqual({ from: M6379, to: '127.0.0.1:6380', reason: 'sentinel +switch-master', durationMs: 3000 });
    // The old master does not answer: its connections go, so a write in flight there is not answered after a heal.
    expect(find(d, 'report')?.oldMasterDown).toBe(true);
  });

  it('a dead master: no promotion, no recheck of its own (Sentinel decides)', () => {
    expect(decide(killed(), null, evidence({ silenceMs: 60_000, suspect: true }), sentinel)).toEqual([]);
  });
});
