import { describe, expect, it } from 'vitest';
import type { Probe } from '../../src/topology/assemble.js';
import type { ReplicationInfo } from '../../src/topology/info-parser.js';
import { withoutAliases } from '../../src/topology/nodes-provider.js';

const probe = (address: string, runId: string | null): Probe => {
  const [host, port] = address.split(':') as [string, string];
  return { node: { host, port: Number(port) }, address, info: (runId === null ? null : { runId }) as ReplicationInfo | null, latencyMs: 1, error: null };
};

describe('a seed given by host name, reached again under its announced address', () => {
  it('the same run_id twice: the seed\'s alias goes, the announced address stays', () => {
    const probes = [probe('localhost:6379', 'abc'), probe('127.0.0.1:6380', 'def'), probe('127.0.0.1:6379', 'abc')];
    expect(withoutAliases(probes, new Set(['localhost:6379'])).map((p) => p.address)).toEqual(['127.0.0.1:6380', '127.0.0.1:6379']);
  });

  it('whichever order the probes came in', () => {
    const probes = [probe('127.0.0.1:6379', 'abc'), probe('localhost:6379', 'abc')];
    expect(withoutAliases(probes, new Set(['localhost:6379'])).map((p) => p.address)).toEqual(['127.0.0.1:6379']);
  });

  it('distinct servers, unanswered probes and no run_id are left alone', () => {
    const probes = [probe('a:1', 'x'), probe('b:1', 'y'), probe('c:1', null), probe('d:1', null)];
    expect(withoutAliases(probes, new Set(['a:1']))).toBe(probes);
  });

  it('the announced address not answering this round: the seed answers for it, under the announced address', () => {
    const known = new Map([['abc', '127.0.0.1:6379']]);
    const probes = [probe('localhost:6379', 'abc'), probe('127.0.0.1:6380', 'def'), probe('127.0.0.1:6379', null)];
    const kept = withoutAliases(probes, new Set(['localhost:6379']), known);
    expect(kept.map((p) => [p.address, p.info?.runId ?? null])).toEqual([
      ['127.0.0.1:6380', 'def'],
      ['127.0.0.1:6379', 'abc'],
    ]);
    expect(kept[1]!.node).toEqual({ host: '127.0.0.1', port: 6379 });
    // Not probed at all this round: the same.
    expect(withoutAliases([probe('localhost:6379', 'abc')], new Set(['localhost:6379']), known).map((p) => p.address)).toEqual(['127.0.0.1:6379']);
    // A run id never seen under another address: the seed stays itself.
    expect(withoutAliases([probe('localhost:6379', 'zzz')], new Set(['localhost:6379']), known).map((p) => p.address)).toEqual(['localhost:6379']);
  });
});
