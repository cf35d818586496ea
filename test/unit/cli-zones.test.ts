import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UsageError, zonesOption } from '../../src/cli/args.js';
import { shardTables } from '../../src/cli/cluster-status.js';
import { makeStyle } from '../../src/cli/output.js';
import { healthJson, healthTable } from '../../src/cli/render.js';
import type { ClusterTopology } from '../../src/cluster/topology.js';
import { assembleTopology, type Probe } from '../../src/topology/assemble.js';
import { assessHealth } from '../../src/topology/health.js';
import { parseInfoReplication } from '../../src/topology/info-parser.js';
import { assignZones } from '../../src/topology/zones.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/info-replication/${name}.txt`, import.meta.url), 'utf8');
const probe = (port: number, name: string): Probe => ({
  node: { host: '127.0.0.1', port },
  address: `127.0.0.1:${port}`,
  info: parseInfoReplication(fixture(name)),
  latencyMs: 0.3,
  error: null,
});
const plain = makeStyle(false);
const healthy = () =>
  assembleTopology([probe(6379, 'old-master-rejoined'), probe(6380, 'replica-of-promoted'), probe(6381, 'promoted-with-two-replicas')], null, 'nodes');
const zoneOf = (address: string): string | null => ({ '127.0.0.1:6381': 'az1', '127.0.0.1:6380': 'az2' })[address] ?? null;

describe('status: the zone column', () => {
  it('shows each node’s zone, unknown as "-", once some zone is known', () => {
    const lines = healthTable(assessHealth(assignZones(healthy(), zoneOf)), plain);
    expect(lines[0]).toMatch(/REPLICAS +ZONE +WARNINGS$/);
    expect(lines.find((l) => l.startsWith('127.0.0.1:6381'))).toMatch(/ az1$/);
    expect(lines.find((l) => l.startsWith('127.0.0.1:6380'))).toMatch(/ az2$/);
    expect(lines.find((l) => l.startsWith('127.0.0.1:6379'))).toMatch(/ -$/);
  });

  it('is left out while no zone is known, and JSON always has the field', () => {
    const health = assessHealth(healthy());
    expect(healthTable(health, plain)[0]).not.toContain('ZONE');
    const nodes = healthJson(healthy(), health)['nodes'] as Array<{ zone: string | null }>;
    expect(nodes.map((n) => n.zone)).toEqual([null, null, null]);
  });

  it('per shard of a cluster too', () => {
    const t = healthy();
    const cluster: ClusterTopology = { source: 'cluster', shards: [assignZones({ slots: [[0, 16383]], master: t.master, replicas: t.replicas }, zoneOf)] };
    const lines = shardTables(cluster, plain);
    expect(lines[2]).toMatch(/LAG B +ZONE$/);
    expect(lines[3]).toMatch(/^127\.0\.0\.1:6381 .* az1$/);
  });
});

describe('--zones', () => {
  it('reads host:port=zone pairs, repeated or comma-separated', () => {
    expect(zonesOption({ zones: ['10.0.0.1:6379=az1,10.0.0.2:6379=az2', '[::1]:6380=az3'] })).toEqual({
      '10.0.0.1:6379': 'az1',
      '10.0.0.2:6379': 'az2',
      '[::1]:6380': 'az3',
    });
    expect(zonesOption({})).toBeUndefined();
  });

  it('says what is wrong with a pair', () => {
    expect(() => zonesOption({ zones: ['10.0.0.1:6379'] })).toThrow(UsageError);
    expect(() => zonesOption({ zones: ['10.0.0.1:6379='] })).toThrow(/host:port=zone/);
    expect(() => zonesOption({ zones: ['nope=az1'] })).toThrow(UsageError);
  });
});
