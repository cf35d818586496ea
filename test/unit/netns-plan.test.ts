import { describe, expect, it } from 'vitest';
import { NetworkUnavailableError, PartitionGroupsError } from '../../src/testing/errors.js';
import {
  candidateSubnets,
  linkName,
  missingPrerequisites,
  namespaceName,
  overlaps,
  ownerOf,
  parseCidr,
  planPartition,
  rulesScript,
} from '../../src/testing/network/plan.js';

const M = '10.213.5.10:6379';
const R1 = '10.213.5.11:6379';
const R2 = '10.213.5.12:6379';
const hosts = new Map([
  ['client', '10.213.5.1'],
  [M, '10.213.5.10'],
  [R1, '10.213.5.11'],
  [R2, '10.213.5.12'],
]);

function groupsError(fn: () => unknown): PartitionGroupsError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PartitionGroupsError);
    expect((err as PartitionGroupsError).code).toBe('ERR_PARTITION_GROUPS');
    expect((err as PartitionGroupsError).name).toBe('PartitionGroupsError');
    return err as PartitionGroupsError;
  }
  throw new Error('did not throw');
}

describe('planPartition', () => {
  it('lets each member reach its own group only; the unnamed are alone', () => {
    const plan = planPartition([[M, R1], ['client']], hosts);
    expect(plan.get(M)?.sort()).toEqual(['10.213.5.10', '10.213.5.11']);
    expect(plan.get(R1)?.sort()).toEqual(['10.213.5.10', '10.213.5.11']);
    expect(plan.get(R2)).toEqual(['10.213.5.12']);
    expect(plan.has('client')).toBe(false);
  });

  it("puts the client's host in the sets of its group mates", () => {
    expect(planPartition([['client', R2], [M, R1]], hosts).get(R2)?.sort()).toEqual(['10.213.5.1', '10.213.5.12']);
  });

  it('names a non-member, or a member in two groups; a repeat within one group is fine', () => {
    expect(groupsError(() => planPartition([[M], ['127.0.0.1:6379']], hosts)).address).toBe('127.0.0.1:6379');
    const twice = groupsError(() => planPartition([[M, R1], [R2, R1]], hosts));
    expect(twice.address).toBe(R1);
    expect(twice.message).toContain('groups (1 and 2)');
    expect(planPartition([[M, M]], hosts).get(M)).toEqual(['10.213.5.10']);
  });
});

describe('rulesScript', () => {
  const everyone = [...hosts.values()];

  it('replaces the table in one transaction and drops (never rejects) other hosts both ways', () => {
    const script = rulesScript(['10.213.5.10', '10.213.5.11'], everyone);
    expect(script.startsWith('table inet redis_failover {}\ndelete table inet redis_failover\n')).toBe(true);
    expect(script).toContain('ip saddr != { 10.213.5.10, 10.213.5.11 } drop');
    expect(script).toContain('ip daddr != { 10.213.5.10, 10.213.5.11 } drop');
    expect(script).not.toContain('reject');
  });

  it('has no table when the member reaches everyone, or on heal', () => {
    const none = 'table inet redis_failover {}\ndelete table inet redis_failover\n';
    expect(rulesScript(undefined, everyone)).toBe(none);
    expect(rulesScript(everyone, everyone)).toBe(none);
  });
});

describe('names and subnets', () => {
  it('names everything after the owning pid, within IFNAMSIZ for links', () => {
    expect(namespaceName(4194304, 12, 'replica-1')).toBe('rfnet-4194304-12-replica-1');
    expect(linkName(4194304, 12)).toBe('rfn4194304s12');
    expect(ownerOf('rfnet-4194304-12-hub')).toBe(4194304);
    expect(ownerOf('rfn77s3')).toBe(77);
    expect(ownerOf('eth0')).toBeUndefined();
    expect(ownerOf('rfnet-x-1-hub')).toBeUndefined();
  });

  it('skips /24s that an address or route on the machine overlaps', () => {
    const taken = ['10.213.7.1/24', '10.213.8.0/25', '10.0.0.0/8'].map((c) => parseCidr(c)!);
    expect(overlaps(taken[2]!, parseCidr('10.213.9.0/24')!)).toBe(true);
    expect(candidateSubnets(taken, 1)).toEqual([]);
    const some = candidateSubnets(taken.slice(0, 2), 7);
    expect(some).toHaveLength(254);
    expect(some).not.toContain(7);
    expect(some).not.toContain(8);
    expect(some[0]).toBe(14);
    expect(parseCidr('10.213.300.1')).toBeUndefined();
  });
});

describe('prerequisites', () => {
  it('lists everything missing, in the error message too', () => {
    const missing = missingPrerequisites({ platform: 'linux', uid: 1000, ip: '/usr/sbin/ip', nft: null });
    expect(missing).toEqual(['root (running as uid 1000)', 'nft (nftables: not on PATH, /usr/sbin or /sbin)']);
    const error = new NetworkUnavailableError(missing);
    expect(error.code).toBe('ERR_NETWORK_UNAVAILABLE');
    expect(error.message).toContain('root (running as uid 1000)');
    expect(error.message).toContain('nft (nftables');
    expect(missingPrerequisites({ platform: 'linux', uid: 0, ip: '/sbin/ip', nft: '/sbin/nft' })).toEqual([]);
  });
});
