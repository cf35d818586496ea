import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseClusterShards, parseClusterSlots } from '../../../src/cluster/shards.js';
import type { ClusterNodeEntry, ClusterShardEntry } from '../../../src/cluster/shards.js';
import { slotOf } from '../../../src/cluster/slot.js';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../fixtures/cluster/${name}`, import.meta.url), 'utf8')) as unknown;

const MOMENTS = ['single-node', 'healthy', 'master-failed', 'after-promotion', 'old-master-rejoined'];

/** The fixtures' nodes, by port (see test/fixtures/cluster/README.md). */
const ID: Record<number, string> = {
  34685: 'bad7ec355c0d8e2e8b942b7f04d0518e95fb399d',
  36553: '3950d8142f5412ca83a45ea9aa4fac16a4c04fd8',
  46627: 'b6daf1b2e64b4a6b5ef9451be0b92a9f7629b13e',
  39235: '842ab9ab09391fa01f0962076282121e628f6107',
};

type Brief = [address: string, role: string, health: string | null, offset: number | null];
/** A shard as `[slots, master, ...replicas]`, each node briefly. */
const brief = (shards: ClusterShardEntry[]) =>
  shards.map((s) => [s.slots, s.master && node(s.master), ...s.replicas.map(node)]);
const node = (n: ClusterNodeEntry): Brief => [n.address, n.role, n.health, n.offset];

describe('parseClusterShards on captured replies', () => {
  it.each(MOMENTS)('%s: the RESP2 and the RESP3-map forms parse the same', (moment) => {
    const resp2 = parseClusterShards(fixture(`${moment}-shards.resp2.json`), '127.0.0.1');
    expect(resp2.length).toBeGreaterThan(0);
    expect(parseClusterShards(fixture(`${moment}-shards.resp3-map.json`), '127.0.0.1')).toEqual(resp2);
  });

  it('healthy: three shards in slot order, every node online', () => {
    const shards = parseClusterShards(fixture('healthy-shards.resp2.json'));
    expect(brief(shards)).toEqual([
      [[[0, 5460]], ['127.0.0.1:34685', 'master', 'online', 2216], ['127.0.0.1:36553', 'replica', 'online', 2216]],
      [[[5461, 10922]], ['127.0.0.1:46627', 'master', 'online', 218], ['127.0.0.1:39235', 'replica', 'online', 218]],
      [[[10923, 16383]], ['127.0.0.1:43929', 'master', 'online', 218], ['127.0.0.1:33311', 'replica', 'online', 218]],
    ]);
    expect(shards[1]!.master).toEqual({
      host: '127.0.0.1',
      port: 46627,
      address: '127.0.0.1:46627',
      id: ID[46627],
      role: 'master',
      health: 'online',
      offset: 218,
    });
    expect(shards[1]!.replicas[0]!.id).toBe(ID[39235]);
  });

  it("master-failed: Redis's `fail` is 'failed'; the replica is not promoted yet", () => {
    const [first] = parseClusterShards(fixture('master-failed-shards.resp2.json'));
    expect(brief([first!])).toEqual([
      [[[0, 5460]], ['127.0.0.1:34685', 'master', 'failed', 2216], ['127.0.0.1:36553', 'replica', 'online', 2216]],
    ]);
  });

  it('after-promotion: the promoted replica serves the slots; the dead master is a slotless shard, last', () => {
    expect(brief(parseClusterShards(fixture('after-promotion-shards.resp2.json')))).toEqual([
      [[[0, 5460]], ['127.0.0.1:36553', 'master', 'online', 2216]],
      [[[5461, 10922]], ['127.0.0.1:46627', 'master', 'online', 274], ['127.0.0.1:39235', 'replica', 'online', 274]],
      [[[10923, 16383]], ['127.0.0.1:43929', 'master', 'online', 274], ['127.0.0.1:33311', 'replica', 'online', 274]],
      [[], ['127.0.0.1:34685', 'master', 'failed', 2216]],
    ]);
  });

  it('old-master-rejoined: the restarted master is a replica of the promoted one', () => {
    const [first] = parseClusterShards(fixture('old-master-rejoined-shards.resp3-map.json'));
    expect(brief([first!])).toEqual([
      [[[0, 5460]], ['127.0.0.1:36553', 'master', 'online', 2230], ['127.0.0.1:34685', 'replica', 'online', 2230]],
    ]);
    expect(first!.master!.id).toBe(ID[36553]);
    expect(first!.replicas[0]!.id).toBe(ID[34685]);
  });

  it('single-node: a node that met no other has an empty ip; `origin` fills it in', () => {
    expect(parseClusterShards(fixture('single-node-shards.resp2.json'))).toEqual([{ slots: [[0, 16383]], master: null, replicas: [] }]);
    const [shard] = parseClusterShards(fixture('single-node-shards.resp2.json'), '127.0.0.1');
    expect(shard!.master).toMatchObject({ host: '127.0.0.1', address: `127.0.0.1:${shard!.master!.port}`, role: 'master' });
  });
});

describe('parseClusterSlots on captured replies', () => {
  it.each(MOMENTS)('%s: the RESP2 and the RESP3-map forms parse the same', (moment) => {
    const resp2 = parseClusterSlots(fixture(`${moment}-slots.resp2.json`), '127.0.0.1');
    expect(resp2.length).toBeGreaterThan(0);
    expect(parseClusterSlots(fixture(`${moment}-slots.resp3-map.json`), '127.0.0.1')).toEqual(resp2);
  });

  it('healthy: the same shards as CLUSTER SHARDS, without health or offsets', () => {
    const fromSlots = parseClusterSlots(fixture('healthy-slots.resp2.json'));
    const fromShards = parseClusterShards(fixture('healthy-shards.resp2.json'));
    const strip = (n: ClusterNodeEntry | null) => n && { ...n, health: null, offset: null };
    expect(fromSlots).toEqual(fromShards.map((s) => ({ ...s, master: strip(s.master), replicas: s.replicas.map(strip) })));
  });

  it('master-failed: CLUSTER SLOTS still names the dead master; after the promotion it leaves it out', () => {
    expect(parseClusterSlots(fixture('master-failed-slots.resp2.json'))[0]!.master!.address).toBe('127.0.0.1:34685');
    const after = parseClusterSlots(fixture('after-promotion-slots.resp2.json'));
    expect(after).toHaveLength(3);
    expect(brief([after[0]!])).toEqual([[[[0, 5460]], ['127.0.0.1:36553', 'master', null, null]]]);
  });

  it('merges the ranges of one master into one shard, sorted', () => {
    const n = (port: number, id: string) => ['10.0.0.1', port, id, []];
    const reply = [
      [100, 199, n(7001, 'b'), n(7003, 'd')],
      [0, 99, n(7000, 'a')],
      [200, 299, n(7000, 'a'), n(7002, 'c')],
    ];
    expect(brief(parseClusterSlots(reply))).toEqual([
      [[[0, 99], [200, 299]], ['10.0.0.1:7000', 'master', null, null], ['10.0.0.1:7002', 'replica', null, null]],
      [[[100, 199]], ['10.0.0.1:7001', 'master', null, null], ['10.0.0.1:7003', 'replica', null, null]],
    ]);
  });
});

describe('odd input', () => {
  it.each([undefined, null, 'ERR', 42, {}, [null, 1, 'x', [], {}]])('never throws: %j', (reply) => {
    expect(parseClusterShards(reply)).toEqual([]);
    expect(parseClusterSlots(reply)).toEqual([]);
  });

  it('keeps what it can: bad slots, ports, roles and health are dropped, Buffers and Maps read', () => {
    const reply = [
      new Map<unknown, unknown>([
        [Buffer.from('slots'), [Buffer.from('10'), 20, 30, 99999, 40]],
        [
          'nodes',
          [
            [Buffer.from('ip'), Buffer.from('::1'), 'port', '7000', 'role', 'master', 'health', 'weird', 'id', 'x'],
            { ip: '10.0.0.2', port: 0, role: 'master' },
            { ip: '10.0.0.3', 'tls-port': 7443, role: 'slave', health: 'failed' },
            { ip: '10.0.0.4', port: 7004, role: 'observer' },
            'garbage',
          ],
        ],
      ]),
      ['__proto__', { polluted: true }, 'slots', [1, 2]],
    ];
    expect(parseClusterShards(reply)).toEqual([
      { slots: [[1, 2]], master: null, replicas: [] },
      { slots: [[10, 20]], master: entry('::1', 7000, '[::1]:7000', 'master', null, 'x'), replicas: [entry('10.0.0.3', 7443, '10.0.0.3:7443', 'replica', 'failed', null)] },
    ]);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('orders shards and replicas the same however the reply is ordered', () => {
    const reply = fixture('healthy-shards.resp3-map.json') as Array<{ nodes: unknown[] }>;
    const shuffled = [...reply].reverse().map((s) => ({ ...s, nodes: [...s.nodes].reverse() }));
    expect(parseClusterShards(shuffled)).toEqual(parseClusterShards(reply));
  });
});

function entry(host: string, port: number, address: string, role: 'master' | 'replica', health: 'failed' | null, id: string | null): ClusterNodeEntry {
  return { host, port, address, id, role, health, offset: null };
}

describe('slotOf', () => {
  it('is CRC16 mod 16384, hashing only a non-empty {hashtag}', () => {
    expect(slotOf('123456789')).toBe(0x31c3); // the CRC16 check value in the cluster spec
    expect(slotOf('foo')).toBe(12182);
    expect(slotOf(Buffer.from('foo'))).toBe(12182);
    expect(slotOf('{user1000}.following')).toBe(slotOf('user1000'));
    expect(slotOf('{user1000}.followers')).toBe(slotOf('user1000'));
    expect(slotOf('foo{}{bar}')).not.toBe(slotOf('bar')); // an empty first tag: the whole key
    expect(slotOf('foo{{bar}}zap')).toBe(slotOf('{bar'));
    expect(slotOf('foo{bar}{zap}')).toBe(slotOf('bar'));
  });
});
