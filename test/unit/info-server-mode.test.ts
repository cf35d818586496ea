import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseInfoReplication, parseServerMode } from '../../src/topology/info-parser.js';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/info-server/${name}`, import.meta.url), 'utf8');

describe('parseServerMode on captured INFO replies', () => {
  it('a Sentinel: its mode and the names of the masters it monitors, in order', () => {
    expect(parseServerMode(fixture('sentinel-two-masters.txt'))).toEqual({ mode: 'sentinel', monitors: ['mymaster', 'othermaster'] });
    // Its INFO has no replication section: read as a node of unknown role, which is why the mode is asked.
    expect(parseInfoReplication(fixture('sentinel-two-masters.txt')).role).toBe('unknown');
  });

  it('a Redis Cluster node and a plain master', () => {
    expect(parseServerMode(fixture('cluster-node.txt'))).toEqual({ mode: 'cluster', monitors: [] });
    expect(parseServerMode(fixture('standalone-master.txt'))).toEqual({ mode: 'standalone', monitors: [] });
  });

  it('LF only, and replies without the server section (INFO replication, an empty reply, garbage)', () => {
    expect(parseServerMode(fixture('sentinel-two-masters.txt').replaceAll('\r\n', '\n')).mode).toBe('sentinel');
    expect(parseServerMode('# Replication\r\nrole:master\r\nconnected_slaves:0\r\n')).toEqual({ mode: null, monitors: [] });
    expect(parseServerMode('')).toEqual({ mode: null, monitors: [] });
    expect(parseServerMode('redis_mode:weird\r\nmaster0:status=ok\r\n')).toEqual({ mode: null, monitors: [] });
    expect(parseServerMode(42 as unknown as string)).toEqual({ mode: null, monitors: [] });
  });
});
