import { Redis } from 'ioredis';
import { FailoverRedis } from '../src/index.js';
import { CallCounter, hostPort, interleaved, withDirect, withReplicaSet, type Settings } from './harness.js';
import { compare, CONCURRENCY, cpuCell, loops, type Round } from './overhead.js';
import { glideClient, nodeRedisSentinel, type Peer } from './peers.js';
import { fmtOps, fmtPct, fmtRatio, targetCell, throughputTarget, type SectionResult, type Target } from './report.js';
import { shares, sum } from './stats.js';

const TOLERANCE = 0.1;

interface Reader {
  get(key: string): Promise<unknown>;
}

/** `CONCURRENCY` awaited GET loops, each on its own (existing) key. */
const reads = (c: Reader) => async (i: number): Promise<number> => {
  await c.get(`bench:spread:${i}`);
  return 1;
};

/** One client spreading reads, measured against plain ioredis on one replica. */
interface Spreader {
  id: string;
  label: string;
  reader: Reader;
  ready(): Promise<unknown>;
  close(): Promise<unknown> | void;
  /** The FailoverRedis row carries the target. */
  target: boolean;
}

function peerSpreader(id: string, peer: Peer): Spreader {
  return { id, label: peer.label, reader: peer, ready: () => peer.ready(), close: () => peer.close(), target: false };
}

export async function spread(settings: Settings): Promise<SectionResult> {
  const began = performance.now();
  const { rounds, roundMs } = settings;
  // Sentinels too, for node-redis's Sentinel client (FailoverRedis and glide are given the nodes).
  return withReplicaSet({ replicas: 2, sentinels: 3 }, async (set) => {
    await withDirect(set.master, async (conn) => {
      for (let i = 0; i < CONCURRENCY; i++) await conn.set(`bench:spread:${i}`, 'v'.repeat(32));
      await conn.wait(set.replicas.length, 5000);
    });
    const plain = new Redis(hostPort(set.replicas[0]!));
    // A control: the spreading done by hand, with two plain connections, without any library.
    const pair = set.replicas.map((r) => new Redis(hostPort(r)));
    let turn = 0;
    const failover = new FailoverRedis({ nodes: [set.master], readFrom: 'replica' });
    failover.on('error', () => undefined);
    const spreaders: Spreader[] = [
      {
        id: 'byHand',
        label: 'control: 2 ioredis 6 connections, one per replica, alternated by the caller',
        reader: { get: (key) => pair[turn++ % pair.length]!.get(key) },
        ready: () => Promise.all(pair.map((c) => c.ping())),
        close: () => pair.forEach((c) => c.disconnect()),
        target: false,
      },
      {
        id: 'failover',
        label: "FailoverRedis `readFrom: 'replica'`",
        reader: failover,
        ready: () => failover.connect(),
        close: () => failover.quit().catch(() => failover.disconnect()),
        target: true,
      },
      peerSpreader('nodeRedisSentinel', nodeRedisSentinel(set.sentinels, set.name, 1)),
      peerSpreader('glide', glideClient([set.master, ...set.replicas], 'preferReplica')),
    ];
    const counter = new CallCounter(set.nodes);
    const rows: string[][] = [];
    const misses: string[] = [];
    const data: Record<string, unknown> = { master: set.master, replicas: set.replicas };
    const plainOps: number[] = [];
    try {
      await plain.ping();
      for (const s of spreaders) {
        try {
          await s.ready();
          // GETs per node, counted by the servers around each round (both sides alike).
          const gets: Record<string, number> = Object.fromEntries(set.nodes.map((n) => [n, 0]));
          const plainGets: Record<string, number> = { ...gets };
          const measured = await interleaved(
            rounds,
            () => counter.around('get', plainGets, () => loops(roundMs, reads(plain))),
            () => counter.around('get', gets, () => loops(roundMs, reads(s.reader))),
          );
          const c = compare(measured.a, measured.b);
          plainOps.push(...measured.a.map((r: Round) => r.opsPerSec));
          // The warm-up round is in `gets` too: it is reads all the same.
          const { shares: share, maxDeviation } = shares(Object.fromEntries(set.replicas.map((r) => [r, gets[r]!])));
          let target: Target | null = null;
          if (s.target) {
            // Issue 18: replica reads over 2 replicas ≥ 1.0× plain ioredis on one node, at ≤ 1.0× its CPU per read.
            const speed = throughputTarget(c.ratio, c.cpuRatio, 1, 1);
            const even = maxDeviation <= TOLERANCE && gets[set.master] === 0;
            target = { text: `each replica within ±${TOLERANCE * 100} % of an even share; ${speed.text}`, met: even && speed.met };
            if (!target.met) {
              misses.push(
                `spread: shares ${set.replicas.map((x) => fmtPct(share[x]!)).join(' / ')} (${(maxDeviation * 100).toFixed(1)} % off even), ${gets[set.master]} GETs on the master; ` +
                  `${fmtRatio(c.ratio)} the reads/s of ioredis on one replica, CPU per read ${cpuCell(c)}; target ${target.text}`,
              );
            }
          }
          rows.push([
            s.label,
            fmtOps(c.bOps),
            ...set.replicas.map((x) => `${fmtPct(share[x]!)} (${gets[x]})`),
            `${gets[set.master]} GETs`,
            `${fmtRatio(c.ratio)} (${c.spread})`,
            cpuCell(c),
            targetCell(target),
          ]);
          data[s.id] = { label: s.label, ioredisRounds: measured.a, rounds: measured.b, ...c, getsPerNode: gets, plainGetsPerNode: plainGets, shares: share, maxDeviation };
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          rows.push([s.label, `could not run: ${message}`, '—', '—', '—', '—', '—', '—']);
          data[s.id] = { label: s.label, error: message };
        } finally {
          await s.close();
        }
      }
      return {
        id: 'spread',
        table: {
          title: "2. Read spread over 2 replicas: FailoverRedis `readFrom: 'replica'` and the peers' replica reads",
          columns: [
            'client',
            'reads/s',
            'replica 1 (GETs)',
            'replica 2 (GETs)',
            'master',
            'reads/s against ioredis on one replica: median of pairs (middle half)',
            'client CPU per read: ioredis on one replica → this (median ratio)',
            'target',
          ],
          rows: [['ioredis 6, one connection to replica 1 (the baseline of every row)', `${fmtOps(plainOps.length ? plainOps.sort((a, b) => a - b)[plainOps.length >> 1]! : Number.NaN)} (median of all its rounds)`, '100 %', '—', '—', '1', '—', '—'], ...rows],
          notes: [
            `${CONCURRENCY} awaited GET loops; every row is its own ${rounds} pairs of ${roundMs} ms rounds against plain ioredis on replica 1, interleaved. Shares are counted by the servers (INFO commandstats, GET calls) around that row's rounds (${sum(Object.values((data['failover'] as { getsPerNode?: Record<string, number> } | undefined)?.getsPerNode ?? {}))} GETs in the FailoverRedis rounds).`,
            "The client and the 3 servers (and 3 idle Sentinels) share the machine's cores: the throughput ratio says what spreading costs or gains on this machine, not on a real network. The control row spreads the same reads by hand over two plain connections, to tell the cost of spreading from the cost of a library.",
            'node-redis `createSentinel` with `replicaPoolSize: 1` opens one connection per replica that Sentinel lists and sends read-only commands to them in turn (its default, 0, reads from the master); valkey-glide has no Sentinel support, so `GlideClient` is given the master and both replicas as addresses, with `readFrom: \'preferReplica\'`.',
          ],
        },
        misses,
        data,
        durationMs: performance.now() - began,
      };
    } finally {
      counter.close();
      plain.disconnect();
      pair.forEach((c) => c.disconnect());
    }
  });
}
