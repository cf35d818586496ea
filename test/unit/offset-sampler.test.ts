import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { OffsetSampler } from '../../src/consistency/offset-sampler.js';
import { ReplicaProgress } from '../../src/consistency/bookkeeping.js';
import type { NodeState } from '../../src/topology/types.js';

const node = (address: string): NodeState => ({ address }) as NodeState;

/** A fake control connection: ROLE and INFO replication as a node would answer them. */
function fake(role: unknown[], info: string, log: string[], address: string, opts: { noRole?: boolean; hang?: boolean } = {}): Redis {
  return {
    call: (command: string) => {
      log.push(`${address} ${command}`);
      if (opts.hang) return new Promise(() => undefined);
      return opts.noRole ? Promise.reject(new Error("NOPERM User norole has no permissions to run the 'role' command")) : Promise.resolve(role);
    },
    info: (section: string) => {
      log.push(`${address} INFO ${section}`);
      return Promise.resolve(info);
    },
  } as unknown as Redis;
}

const MASTER_INFO = '# Replication\r\nrole:master\r\nconnected_slaves:1\r\nmaster_repl_offset:500\r\n';
const REPLICA_INFO = '# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:7000\r\nmaster_link_status:up\r\nslave_repl_offset:500\r\n';

describe('OffsetSampler (the one sampler of FailoverRedis and FailoverCluster)', () => {
  it('reads ROLE; where an ACL user is refused it (NOPERM), INFO replication from then on, for every node', async () => {
    const log: string[] = [];
    const conns = new Map([
      ['m:1', fake(['master', 500, []], MASTER_INFO, log, 'm:1', { noRole: true })],
      ['r:1', fake(['slave', '127.0.0.1', 7000, 'connected', 500], REPLICA_INFO, log, 'r:1', { noRole: true })],
    ]);
    const sampler = new OffsetSampler({ control: (n) => conns.get(n.address)!, probeTimeoutMs: 100 });
    const progress = new ReplicaProgress();
    expect(await sampler.sample({ master: node('m:1'), replicas: [node('r:1')], progress }, 7)).toBe(7);
    expect(progress.reachedSeq('r:1')).toBe(7);
    expect(log).toEqual(['m:1 ROLE', 'm:1 INFO replication', 'r:1 INFO replication']);
  });

  it('with ROLE allowed: ROLE only; a node that is not the master yields no sample (null)', async () => {
    const log: string[] = [];
    const sampler = new OffsetSampler({ control: (n) => fake(['slave', 'h', 1, 'connected', 10], REPLICA_INFO, log, n.address), probeTimeoutMs: 100 });
    expect(await sampler.offset(node('r:2'))).toEqual({ role: 'replica', offset: 10 });
    expect(await sampler.sample({ master: node('r:2'), replicas: [node('r:3')], progress: new ReplicaProgress() }, 1)).toBeNull();
    expect(log).toEqual(['r:2 ROLE', 'r:2 ROLE']);
  });

  it('a hung replica does not hold back the round: the others count at once', async () => {
    const log: string[] = [];
    const conns = new Map([
      ['m:1', fake(['master', 500, []], MASTER_INFO, log, 'm:1')],
      ['r:1', fake(['slave', 'h', 1, 'connected', 500], REPLICA_INFO, log, 'r:1')],
      ['r:2', fake([], '', log, 'r:2', { hang: true })],
    ]);
    const sampler = new OffsetSampler({ control: (n) => conns.get(n.address)!, probeTimeoutMs: 60_000 });
    const progress = new ReplicaProgress();
    const began = performance.now();
    expect(await sampler.sample({ master: node('m:1'), replicas: [node('r:1'), node('r:2')], progress }, 3)).toBe(0);
    expect(performance.now() - began).toBeLessThan(1000);
    expect(progress.reachedSeq('r:1')).toBe(3);
    // Still awaited: not asked again.
    await sampler.sample({ master: node('m:1'), replicas: [node('r:1'), node('r:2')], progress }, 4);
    expect(log.filter((l) => l.startsWith('r:2'))).toEqual(['r:2 ROLE']);
  });
});
