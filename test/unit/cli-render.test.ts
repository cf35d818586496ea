import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { makeStyle } from '../../src/cli/output.js';
import { describeChanges, duration, healthJson, healthSummary, healthTable } from '../../src/cli/render.js';
import { assembleTopology, type Probe } from '../../src/topology/assemble.js';
import { assessHealth, replicationChanges } from '../../src/topology/health.js';
import { parseInfoReplication } from '../../src/topology/info-parser.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/info-replication/${name}.txt`, import.meta.url), 'utf8');
const probe = (port: number, name: string | null): Probe => ({
  node: { host: '127.0.0.1', port },
  address: `127.0.0.1:${port}`,
  info: name === null ? null : parseInfoReplication(fixture(name)),
  latencyMs: name === null ? null : 0.3,
  error: name === null ? new Error('ECONNREFUSED') : null,
});
const plain = makeStyle(false);

const promoted = () => assembleTopology([probe(6379, null), probe(6380, 'replica-of-promoted'), probe(6381, 'promoted-with-one-replica')], null, 'nodes');
const back = () => assembleTopology([probe(6379, 'restarted-old-master'), probe(6380, 'replica-of-promoted'), probe(6381, 'promoted-with-one-replica')], null, 'nodes');
const final = () => assembleTopology([probe(6379, 'old-master-rejoined'), probe(6380, 'replica-of-promoted'), probe(6381, 'promoted-with-two-replicas')], null, 'nodes');

describe('the status table', () => {
  it('one row per node, the master first, with what INFO replication says', () => {
    expect(healthTable(assessHealth(back()), plain)).toEqual([
      'ADDRESS         ROLE     STATE  FOLLOWS         LINK  OFFSET  LAG B  LAG S  PRIO  REPLICAS  WARNINGS',
      '127.0.0.1:6381  master*  up     -               -     2632    -      -      -     1',
      '127.0.0.1:6379  master   up     -               -     0       -      -      -     0         TWO_MASTERS',
      '127.0.0.1:6380  replica  up     127.0.0.1:6381  up    2604    28     1      100   0',
    ]);
  });

  it('a node that does not answer: down, nothing else claimed', () => {
    const row = healthTable(assessHealth(promoted()), plain).find((l) => l.startsWith('127.0.0.1:6379'));
    expect(row).toMatch(/^127\.0\.0\.1:6379 +\S+ +down +- +- +- +- +- +- +-$/);
  });

  it('colour marks the state, never the layout', () => {
    const lines = healthTable(assessHealth(back()), makeStyle(true));
    expect(lines[1]).toContain('\x1b[32mup\x1b[39m');
    expect(lines[2]).toContain('\x1b[31mmaster\x1b[39m'); // a second master
    expect(lines.map((l) => l.split('\x1b[').map((part, i) => (i === 0 ? part : part.replace(/^[0-9;]*m/, ''))).join(''))).toEqual(
      healthTable(assessHealth(back()), plain),
    );
  });

  it('the summary: healthy, or every warning', () => {
    expect(healthSummary(assessHealth(final()), plain)).toEqual(['healthy: master 127.0.0.1:6381, 2 replica(s) in sync']);
    expect(healthSummary(assessHealth(back()), plain)).toEqual([
      'degraded: 1 warning',
      '  ✗ TWO_MASTERS 127.0.0.1:6379 also says role:master: writes it takes are lost when it is demoted (the master is 127.0.0.1:6381)',
    ]);
  });
});

describe('the JSON form', () => {
  it('the same content as the table and the warnings', () => {
    const t = back();
    const json = healthJson(t, assessHealth(t));
    expect(json).toMatchObject({ status: 'degraded', source: 'nodes', master: '127.0.0.1:6381' });
    expect(json['nodes']).toEqual([
      expect.objectContaining({ address: '127.0.0.1:6381', role: 'master', isMaster: true, up: true, follows: null, offset: 2632, lagBytes: null, connectedReplicas: 1, warnings: [] }),
      expect.objectContaining({ address: '127.0.0.1:6379', role: 'master', isMaster: false, offset: 0, warnings: ['TWO_MASTERS'] }),
      expect.objectContaining({ address: '127.0.0.1:6380', role: 'replica', follows: '127.0.0.1:6381', linkStatus: 'up', offset: 2604, lagBytes: 28, lagSeconds: 1, priority: 100 }),
    ]);
    expect(json['warnings']).toEqual([expect.objectContaining({ code: 'TWO_MASTERS', severity: 'critical', address: '127.0.0.1:6379' })]);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});

describe('describeChanges', () => {
  it('reads like the runbook: promoted, repointed, back as a second master, demoted', () => {
    const dead = assembleTopology([probe(6379, null), probe(6380, 'replica-link-down-a'), probe(6381, 'replica-link-down-b')], null, 'nodes');
    const lines = (a: ReturnType<typeof final>, b: ReturnType<typeof final>) =>
      describeChanges(replicationChanges(a, b), plain, { master: b.master?.up ? b.master.address : null });
    expect(lines(dead, promoted())).toEqual([
      'master 127.0.0.1:6379 → 127.0.0.1:6381',
      '127.0.0.1:6380 repointed: now follows 127.0.0.1:6381 (was 127.0.0.1:6379)',
      '127.0.0.1:6381 promoted: replica → master',
    ]);
    expect(lines(promoted(), back())).toEqual(['127.0.0.1:6379 up', '127.0.0.1:6379 says role:master while the master is 127.0.0.1:6381']);
    expect(lines(back(), final())).toEqual(['127.0.0.1:6379 demoted: master → replica of 127.0.0.1:6381']);
  });

  it('a member turning master while the master is dead is a promotion, while it answers a second master', () => {
    const dead = assembleTopology([probe(6379, null), probe(6380, 'replica-link-down-a'), probe(6381, 'replica-link-down-b')], null, 'nodes');
    const halfway = structuredClone(dead);
    Object.assign(halfway.replicas.find((r) => r.port === 6381)!, { role: 'master', masterAddress: null, linkStatus: null });
    // Sentinel has not named it yet: the master is still the dead one.
    expect(halfway.master?.address).toBe('127.0.0.1:6379');
    expect(describeChanges(replicationChanges(dead, halfway), plain, { master: null })).toEqual(['127.0.0.1:6381 promoted: replica → master']);
    expect(describeChanges(replicationChanges(dead, halfway), plain, { master: '127.0.0.1:6379' })).toEqual([
      '127.0.0.1:6381 says role:master while the master is 127.0.0.1:6379',
    ]);
  });

  it('appends notes (durations) to the lines they belong to', () => {
    const changes = replicationChanges(final(), promoted());
    const text = describeChanges(changes, plain, { annotate: (c) => (c.type === 'node-down' ? 'after 3 s' : undefined) });
    expect(text).toContain('127.0.0.1:6379 down after 3 s');
  });

  it('durations: ms below 10 s, then seconds', () => {
    expect(duration(924.4)).toBe('924 ms');
    expect(duration(12_345)).toBe('12.3 s');
  });
});
