import { describe, expect, it } from 'vitest';
import { resolveClusterOptions } from '../../src/cluster/options.js';
import { InvalidOptionError } from '../../src/errors.js';
import { parseRedisUrl, resolveOptions } from '../../src/options.js';
import { assignZones, withZone } from '../../src/topology/zones.js';
import { nodeState } from '../helpers/topology.js';

function invalid(fn: () => unknown, option: string): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe(option);
    return (error as Error).message;
  }
  throw new Error('expected an InvalidOptionError');
}

const nodes = ['10.0.0.1:6379'];

describe('zone and zones options', () => {
  it('default to none', () => {
    const o = resolveOptions({ nodes });
    expect([o.zone, o.zones]).toEqual([null, null]);
  });

  it('resolve zones from a record keyed by host:port (normalized: IPv6 in brackets), or from a function', () => {
    const o = resolveOptions({ nodes, zone: 'az1', zones: { '10.0.0.1:6379': 'az1', '[::1]:6380': 'az2' } });
    expect(o.zone).toBe('az1');
    expect([o.zones!('10.0.0.1:6379'), o.zones!('[::1]:6380'), o.zones!('10.0.0.9:6379')]).toEqual(['az1', 'az2', null]);
    const f = resolveOptions({ nodes, zones: (address) => (address.endsWith(':6379') ? 'az1' : undefined) }).zones!;
    expect([f('h:6379'), f('h:6380')]).toEqual(['az1', null]);
    // A throwing or ill-typed function means "unknown", never a failed refresh.
    const bad = resolveOptions({ nodes, zones: (() => { throw new Error('boom'); }) as never }).zones!;
    expect(bad('h:1')).toBeNull();
  });

  it('refuse a zone policy without zone, naming the option', () => {
    expect(invalid(() => resolveOptions({ nodes, readFrom: 'zoneAffinity' }), 'zone')).toMatch(/readFrom "zoneAffinity" .* no zone was given/);
    expect(invalid(() => resolveOptions({ nodes, readFrom: 'zoneAffinityReplicasAndPrimary' }), 'zone')).toMatch(/zoneAffinityReplicasAndPrimary/);
    expect(resolveOptions({ nodes, readFrom: 'zoneAffinity', zone: 'az1' }).readFrom.name).toBe('zoneAffinity');
  });

  it('refuse an empty or non-string zone, and zones that are not a map of addresses to zones', () => {
    invalid(() => resolveOptions({ nodes, zone: '' }), 'zone');
    invalid(() => resolveOptions({ nodes, zone: 1 as never }), 'zone');
    invalid(() => resolveOptions({ nodes, zones: ['az1'] as never }), 'zones');
    expect(invalid(() => resolveOptions({ nodes, zones: { 'not an address': 'az1' } }), 'zones')).toMatch(/not a valid address/);
    invalid(() => resolveOptions({ nodes, zones: { '10.0.0.1:6379': '' } }), 'zones["10.0.0.1:6379"]');
  });

  it('suggest zone for a typo', () => {
    expect(invalid(() => resolveOptions({ nodes, zome: 'az1' } as never), 'zome')).toMatch(/did you mean "zone"/);
  });
});

describe('zones in URLs', () => {
  it('take readFrom and the client’s zone from the query', () => {
    expect(parseRedisUrl('redis://10.0.0.1:6379?readFrom=zoneAffinity&zone=us-east-1a')).toMatchObject({ readFrom: 'zoneAffinity', zone: 'us-east-1a' });
    const o = resolveOptions('redis+sentinel://10.0.0.1:26379/mymaster?readFrom=AZAffinityReplicasAndPrimary&zone=us%2Deast%2D1a');
    expect([o.readFrom.name, o.zone]).toEqual(['zoneAffinityReplicasAndPrimary', 'us-east-1a']);
  });

  it('refuse a zone policy without ?zone=, and an empty zone', () => {
    invalid(() => resolveOptions('redis://10.0.0.1:6379?readFrom=zoneAffinity'), 'zone');
    invalid(() => parseRedisUrl('redis://10.0.0.1:6379?zone='), 'zone');
  });

  it('take the nodes’ zones from the options next to the URL', () => {
    const o = resolveOptions('redis://10.0.0.1:6379?readFrom=zoneAffinity&zone=az1', { zones: { '10.0.0.1:6379': 'az1' } });
    expect(o.zones!('10.0.0.1:6379')).toBe('az1');
  });
});

describe('FailoverCluster zone options', () => {
  it('validate alike, in both forms', () => {
    const o = resolveClusterOptions({ nodes, readFrom: 'zoneAffinity', zone: 'az1', zones: { '10.0.0.1:6379': 'az1' } });
    expect([o.base.readFrom.name, o.base.zone, o.base.zones!('10.0.0.1:6379')]).toEqual(['zoneAffinity', 'az1', 'az1']);
    expect(resolveClusterOptions('redis+cluster://10.0.0.1:7000?readFrom=zoneAffinity&zone=az2').base.zone).toBe('az2');
    invalid(() => resolveClusterOptions({ nodes, readFrom: 'zoneAffinity' }), 'zone');
    invalid(() => resolveClusterOptions('redis+cluster://10.0.0.1:7000?readFrom=zoneAffinity'), 'zone');
  });
});

describe('a node’s zone', () => {
  const zoneOf = (address: string): string | null => (address === '127.0.0.1:6380' ? 'from-option' : null);

  it('is the server’s own report first, then the option, else unknown', () => {
    expect(withZone(nodeState(6380, { zone: 'reported' }), zoneOf).zone).toBe('reported');
    expect(withZone(nodeState(6380), zoneOf).zone).toBe('from-option');
    expect(withZone(nodeState(6381), zoneOf).zone).toBeNull();
  });

  it('leaves a node, and a picture without the option, as they were (no copy)', () => {
    const n = nodeState(6381);
    expect(withZone(n, zoneOf)).toBe(n);
    const topology = { master: nodeState(6379, { role: 'master' }), replicas: [nodeState(6380)], source: 'nodes' as const };
    expect(assignZones(topology, null)).toBe(topology);
    expect(assignZones(topology, zoneOf).replicas[0]!.zone).toBe('from-option');
  });
});

describe('the topology manager applies the zones option to every picture', () => {
  it('fills in the zones the servers did not report, and keeps the ones they did', async () => {
    const { TopologyManager } = await import('../../src/topology/manager.js');
    const reported = { master: nodeState(6379, { role: 'master', zone: 'reported' }), replicas: [nodeState(6380), nodeState(6381)], source: 'nodes' as const };
    const seen: Array<typeof reported> = [];
    const manager = new TopologyManager({
      provider: { source: 'nodes', discover: () => Promise.resolve(reported) } as never,
      refreshIntervalMs: 60_000,
      onTopology: (next) => seen.push(next as typeof reported),
      onError: () => undefined,
      zones: (address) => ({ '127.0.0.1:6379': 'from-option', '127.0.0.1:6380': 'az2' })[address] ?? null,
    });
    const t = await manager.refresh();
    expect([t.master!.zone, ...t.replicas.map((r) => r.zone)]).toEqual(['reported', 'az2', null]);
    expect(seen[0]).toBe(t);
    expect(manager.current).toBe(t);
  });
});
