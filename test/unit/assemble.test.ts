import { describe, expect, it } from 'vitest';
import { assembleTopology } from '../../src/topology/assemble.js';
import { probe } from '../helpers/topology.js';

describe('assembleTopology (the runbook, step by step)', () => {
  it('master dead: the replicas name it, it is marked down', () => {
    const t = assembleTopology([probe(6379, null), probe(6380, 'replica-link-down-a'), probe(6381, 'replica-link-down-b')], null, 'nodes');
    expect(t.master).toMatchObject({ address: '127.0.0.1:6379', up: false, role: 'master' });
    expect(t.replicas.map((r) => [r.address, r.linkStatus, r.syncing])).toEqual([
      ['127.0.0.1:6380', 'down', false],
      ['127.0.0.1:6381', 'down', false],
    ]);
  });

  it('after REPLICAOF NO ONE on 6381 and REPLICAOF on 6380, 6381 is the master', () => {
    const t = assembleTopology(
      [probe(6379, null), probe(6380, 'replica-of-promoted'), probe(6381, 'promoted-with-one-replica')],
      null,
      'nodes',
    );
    expect(t.master?.address).toBe('127.0.0.1:6381');
    expect(t.master?.offset).toBe(2632);
    const r6380 = t.replicas.find((r) => r.port === 6380)!;
    expect(r6380).toMatchObject({ up: true, linkStatus: 'up', masterAddress: '127.0.0.1:6381', lagSeconds: 1, lagBytes: 2632 - 2604 });
    expect(t.replicas.find((r) => r.port === 6379)).toMatchObject({ up: false });
  });

  it('the old master back empty is not the master: the one the replicas follow is', () => {
    const t = assembleTopology(
      [probe(6379, 'restarted-old-master'), probe(6380, 'replica-of-promoted'), probe(6381, 'promoted-with-one-replica')],
      null,
      'nodes',
    );
    expect(t.master?.address).toBe('127.0.0.1:6381');
    expect(t.replicas.find((r) => r.port === 6379)).toMatchObject({ role: 'master', up: true, offset: 0 });
  });

  it('the final picture: one master with two replicas', () => {
    const t = assembleTopology(
      [probe(6379, 'old-master-rejoined'), probe(6380, 'replica-of-promoted'), probe(6381, 'promoted-with-two-replicas')],
      null,
      'nodes',
    );
    expect(t.master?.address).toBe('127.0.0.1:6381');
    expect(t.replicas.map((r) => [r.port, r.role, r.masterAddress])).toEqual([
      [6379, 'replica', '127.0.0.1:6381'],
      [6380, 'replica', '127.0.0.1:6381'],
    ]);
  });

  it('applies natMap to announced addresses', () => {
    const t = assembleTopology([probe(6381, 'promoted-with-one-replica')], null, 'nodes', (a) =>
      a.port === 6380 ? { host: '10.9.9.9', port: 16380 } : a,
    );
    expect(t.replicas.map((r) => r.address)).toEqual(['10.9.9.9:16380']);
  });

  it('keeps members known before, marked down, when they stop answering', () => {
    const before = assembleTopology([probe(6380, 'replica-of-promoted'), probe(6381, 'promoted-with-one-replica')], null, 'nodes');
    const after = assembleTopology([probe(6380, null), probe(6381, 'promoted-replica')], before, 'nodes');
    expect(after.replicas.find((r) => r.port === 6380)).toMatchObject({ up: false, role: 'replica' });
  });
});
