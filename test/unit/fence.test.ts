import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ackLimitS, decideFence, linksFromInfo, linksFromProbe, replicaAcks, type FenceEvidence, type FenceSettings } from '../../src/failover/fence.js';
import type { ReplicationInfo } from '../../src/topology/info-parser.js';
import { parseInfoReplication } from '../../src/topology/info-parser.js';
import { sentinelVouchesFor } from '../../src/topology/sentinel-replies.js';

const info = (name: string) =>
  parseInfoReplication(readFileSync(new URL(`../fixtures/info-replication/${name}`, import.meta.url), 'utf8'));

const LINKED = info('stranded-master-0-linked.txt');
const ACKS_STOPPED = info('stranded-master-1-acks-stopped.txt');
const NO_REPLICAS = info('stranded-master-2-no-replicas.txt');
const HEALED = info('stranded-master-3-healed.txt');
const ONE_REPLICA = info('promoted-with-one-replica.txt');
const REPLICA = info('replica-of-promoted.txt');

const M = '10.213.116.10:6379';
const client: FenceSettings = { fencing: true, downAfterMs: 1000, quorum: null, sentinel: false };
const sentinel: FenceSettings = { ...client, sentinel: true };

function evidence(patch: Partial<FenceEvidence> & { info?: ReplicationInfo }): FenceEvidence {
  const { info = LINKED, ...rest } = patch;
  return { master: M, links: linksFromInfo(info, 1000), had: 2, sentinelsConfirming: null, fenced: false, ...rest };
}

describe('replicaAcks', () => {
  it('counts attached replicas and those that acknowledged within the limit', () => {
    expect(replicaAcks(LINKED, 1000)).toEqual({ attached: 2, acking: 2 });
    expect(replicaAcks(ACKS_STOPPED, 1000)).toEqual({ attached: 2, acking: 0 });
    expect(replicaAcks(NO_REPLICAS, 1000)).toEqual({ attached: 0, acking: 0 });
    expect(replicaAcks(HEALED, 1000)).toEqual({ attached: 2, acking: 2 });
  });

  it('counts a replica still in its initial sync as linked (no ACKs yet, and no candidate anywhere)', () => {
    const text = readFileSync(new URL('../fixtures/info-replication/stranded-master-1-acks-stopped.txt', import.meta.url), 'utf8');
    const syncing = parseInfoReplication(text.replace('state=online,offset=163,lag=3', 'state=wait_bgsave,offset=0,lag=3'));
    expect(replicaAcks(syncing, 1000)).toEqual({ attached: 2, acking: 1 });
    // Two had, one syncing and one cut: one cut is not a majority of two.
    expect(decideFence(evidence({ info: syncing }), client)).toEqual([]);
  });

  it('waits at least two seconds of lag (one missed ACK), longer with a longer downAfterMs', () => {
    expect(ackLimitS(100)).toBe(2);
    expect(ackLimitS(1000)).toBe(2);
    expect(ackLimitS(5000)).toBe(5);
    expect(replicaAcks(ACKS_STOPPED, 5000).acking).toBe(2);
  });
});

describe('decideFence, client mode', () => {
  it('leaves a linked master alone', () => {
    expect(decideFence(evidence({}), client)).toEqual([]);
  });

  it('fences a master whose replicas stopped acknowledging, before it drops them', () => {
    const out = decideFence(evidence({ info: ACKS_STOPPED }), client);
    expect(out).toEqual([{ kind: 'fence', reason: expect.stringContaining('lost 2/2 replica link(s)') }]);
  });

  it('fences a master that dropped its replicas (connected_slaves:0), from the count it had', () => {
    expect(decideFence(evidence({ info: NO_REPLICAS }), client)[0]?.kind).toBe('fence');
    // Already fenced: nothing more to do.
    expect(decideFence(evidence({ info: NO_REPLICAS, fenced: true }), client)).toEqual([]);
  });

  it('unfences when the replicas acknowledge again', () => {
    expect(decideFence(evidence({ info: HEALED, fenced: true }), client)).toEqual([
      { kind: 'unfence', reason: expect.stringContaining('2/2 replicas') },
    ]);
  });

  it('does not fence for fewer lost replicas than a promotion needs', () => {
    // Three had, one attached and acking: two cut, a majority of three → fence.
    expect(decideFence(evidence({ info: ONE_REPLICA, had: 3 }), client)[0]?.kind).toBe('fence');
    // Two had, one acking: one cut, the majority of two is two → no promotion possible, no fence.
    expect(decideFence(evidence({ info: ONE_REPLICA, had: 2 }), client)).toEqual([]);
    // quorum: 1 makes one cut replica enough to promote: fence.
    expect(decideFence(evidence({ info: ONE_REPLICA, had: 2 }), { ...client, quorum: 1 })[0]?.kind).toBe('fence');
  });

  it('never fences a master that never had a replica', () => {
    expect(decideFence(evidence({ info: NO_REPLICAS, had: 0 }), client)).toEqual([]);
  });

  it('with fencing off, never fences, and lifts a fence', () => {
    const off = { ...client, fencing: false };
    expect(decideFence(evidence({ info: NO_REPLICAS }), off)).toEqual([]);
    expect(decideFence(evidence({ info: NO_REPLICAS, fenced: true }), off)).toEqual([{ kind: 'unfence', reason: 'fencing is off' }]);
  });

  it('unfences a node that is no longer a master (the gate is not for READONLY)', () => {
    expect(decideFence(evidence({ info: REPLICA, fenced: true }), client)[0]?.kind).toBe('unfence');
  });
});

describe('decideFence from a probe (PUBLISH, then WAIT for the replicas within a timeout)', () => {
  const probe = (acked: number, syncing = 0) => evidence({ links: linksFromProbe(acked, syncing, 100) });

  it('client mode: fences when a quorum did not acknowledge in time, says how, and lifts it when they do again', () => {
    expect(decideFence(probe(2), client)).toEqual([]);
    expect(decideFence(probe(1), client)).toEqual([]);
    expect(decideFence(probe(0), client)).toEqual([{ kind: 'fence', reason: expect.stringContaining('lost 2/2 replica link(s) (no acknowledgement of a probe within 100 ms)') }]);
    expect(decideFence({ ...probe(2), fenced: true }, client)[0]?.kind).toBe('unfence');
  });

  it('a replica in its initial sync counts as linked; Sentinel mode asks the Sentinels about one cut replica', () => {
    expect(decideFence(probe(0, 1), client)).toEqual([]);
    expect(decideFence(probe(1), sentinel)).toEqual([{ kind: 'ask-sentinels' }]);
  });
});

describe('decideFence, Sentinel mode', () => {
  it('asks the Sentinels before fencing, and fences only when none vouches for the master', () => {
    expect(decideFence(evidence({ info: ACKS_STOPPED }), sentinel)).toEqual([{ kind: 'ask-sentinels' }]);
    expect(decideFence(evidence({ info: ACKS_STOPPED, sentinelsConfirming: 0 }), sentinel)).toEqual([
      { kind: 'fence', reason: expect.stringContaining('no Sentinel vouches for it') },
    ]);
    expect(decideFence(evidence({ info: ACKS_STOPPED, sentinelsConfirming: 2 }), sentinel)).toEqual([]);
  });

  it('one lost replica is enough (Sentinel may promote it), a Sentinel that vouches for the master lifts the fence', () => {
    expect(decideFence(evidence({ info: ONE_REPLICA, had: 2, sentinelsConfirming: 0 }), sentinel)[0]?.kind).toBe('fence');
    expect(decideFence(evidence({ info: NO_REPLICAS, fenced: true, sentinelsConfirming: 1 }), sentinel)[0]?.kind).toBe('unfence');
  });

  it('does not ask the Sentinels while the replicas acknowledge', () => {
    expect(decideFence(evidence({ info: LINKED }), sentinel)).toEqual([]);
    expect(decideFence(evidence({ info: HEALED, fenced: true }), sentinel)[0]?.kind).toBe('unfence');
  });
});

describe('sentinelVouchesFor (SENTINEL master <name>)', () => {
  const reply = (ip: string, port: number, flags: string) => ['name', 'mymaster', 'ip', ip, 'port', String(port), 'runid', 'x', 'flags', flags];
  it('vouches for the master it names with no doubt flag', () => {
    expect(sentinelVouchesFor(reply('10.213.116.10', 6379, 'master'), M)).toBe(true);
    expect(sentinelVouchesFor(new Map(Object.entries({ ip: '10.213.116.10', port: '6379', flags: 'master' })), M)).toBe(true);
  });
  it('not for another master, nor one it sees down or is failing over (it still names it until the switch)', () => {
    expect(sentinelVouchesFor(reply('10.213.116.11', 6379, 'master'), M)).toBe(false);
    expect(sentinelVouchesFor(reply('10.213.116.10', 6379, 'master,s_down'), M)).toBe(false);
    expect(sentinelVouchesFor(reply('10.213.116.10', 6379, 'master,s_down,o_down,failover_in_progress'), M)).toBe(false);
    expect(sentinelVouchesFor(null, M)).toBe(false);
  });
  it('applies natMap', () => {
    expect(sentinelVouchesFor(reply('172.17.0.2', 6379, 'master'), M, () => ({ host: '10.213.116.10', port: 6379 }))).toBe(true);
  });
});
