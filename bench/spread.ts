import { Redis } from 'ioredis';
import { FailoverRedis } from '../src/index.js';
import { CallCounter, hostPort, interleaved, withDirect, withReplicaSet, type Settings } from './harness.js';
import { compare, CONCURRENCY, cpuCell, loops } from './overhead.js';
import { fmtOps, fmtPct, fmtRatio, targetCell, type SectionResult, type Target } from './report.js';
import { shares, sum } from './stats.js';

const TOLERANCE = 0.1;

/** `CONCURRENCY` awaited GET loops, each on its own (existing) key. */
const reads = (c: { get(key: string): Promise<unknown> }) => async (i: number): Promise<number> => {
  await c.get(`bench:spread:${i}`);
  return 1;
};

export async function spread(settings: Settings): Promise<SectionResult> {
  const began = performance.now();
  const { rounds, roundMs } = settings;
  return withReplicaSet({ replicas: 2 }, async (set) => {
    await withDirect(set.master, async (conn) => {
      for (let i = 0; i < CONCURRENCY; i++) await conn.set(`bench:spread:${i}`, 'v'.repeat(32));
      await conn.wait(set.replicas.length, 5000);
    });
    const plain = new Redis(hostPort(set.replicas[0]!));
    // A control: the spreading done by hand, with two plain connections, without this library.
    const pair = set.replicas.map((r) => new Redis(hostPort(r)));
    let turn = 0;
    const byHand = { get: (key: string) => pair[turn++ % pair.length]!.get(key) };
    const failover = new FailoverRedis({ nodes: [set.master], readFrom: 'replica' });
    failover.on('error', () => undefined);
    const counter = new CallCounter(set.nodes);
    try {
      await Promise.all([plain.ping(), failover.connect(), ...pair.map((c) => c.ping())]);
      // GETs per node, counted by the servers around each round (every round alike).
      const gets: Record<string, number> = Object.fromEntries(set.nodes.map((n) => [n, 0]));
      const plainGets: Record<string, number> = { ...gets };
      const byHandGets: Record<string, number> = { ...gets };
      const measured = await interleaved(
        rounds,
        () => counter.around('get', plainGets, () => loops(roundMs, reads(plain))),
        () => counter.around('get', gets, () => loops(roundMs, reads(failover))),
      );
      const control = await interleaved(
        rounds,
        () => counter.around('get', plainGets, () => loops(roundMs, reads(plain))),
        () => counter.around('get', byHandGets, () => loops(roundMs, reads(byHand))),
      );
      const ours = compare(measured.a, measured.b);
      const theirs = compare(control.a, control.b);
      // The warm-up round is in `gets` too: it is reads all the same.
      const onReplicas = Object.fromEntries(set.replicas.map((r) => [r, gets[r]!]));
      const { shares: share, maxDeviation } = shares(onReplicas);
      const byHandShares = shares(Object.fromEntries(set.replicas.map((r) => [r, byHandGets[r]!]))).shares;
      const target: Target = { text: `each replica within ±${TOLERANCE * 100} % of an even share`, met: maxDeviation <= TOLERANCE && gets[set.master] === 0 };
      const misses = target.met
        ? []
        : [`spread: shares ${set.replicas.map((x) => fmtPct(share[x]!)).join(' / ')} (${(maxDeviation * 100).toFixed(1)} % off even), ${gets[set.master]} GETs on the master; target ${target.text}`];
      return {
        id: 'spread',
        table: {
          title: "2. Read spread: `readFrom: 'replica'` over 2 replicas",
          columns: [
            'client',
            'reads/s',
            'replica 1',
            'replica 2',
            'master',
            'reads/s against ioredis on one node: median of pairs (middle half)',
            'client CPU per read: ioredis on one node → this (median ratio)',
            'target',
          ],
          rows: [
            ['ioredis 6, one connection to replica 1', `${fmtOps(ours.aOps)} (${fmtOps(theirs.aOps)} in the control pairs)`, '100 %', '—', '—', '1', '—', '—'],
            [
              'control: 2 ioredis 6 connections, one per replica, alternated by the caller',
              fmtOps(theirs.bOps),
              ...set.replicas.map((x) => fmtPct(byHandShares[x]!)),
              `${byHandGets[set.master]} GETs`,
              `${fmtRatio(theirs.ratio)} (${theirs.spread})`,
              cpuCell(theirs),
              '—',
            ],
            [
              "FailoverRedis `readFrom: 'replica'`",
              fmtOps(ours.bOps),
              `${fmtPct(share[set.replicas[0]!]!)} (${gets[set.replicas[0]!]})`,
              `${fmtPct(share[set.replicas[1]!]!)} (${gets[set.replicas[1]!]})`,
              `${gets[set.master]} GETs`,
              `${fmtRatio(ours.ratio)} (${ours.spread})`,
              cpuCell(ours),
              targetCell(target),
            ],
          ],
          notes: [
            `${CONCURRENCY} awaited GET loops; ${rounds} pairs of ${roundMs} ms rounds, interleaved. Shares are counted by the servers (INFO commandstats, GET calls) around the FailoverRedis rounds: ${sum(Object.values(gets))} GETs in all.`,
            'The client and the 3 servers share the machine\'s cores: the throughput ratio says what spreading costs or gains on this machine, not on a real network. The control row spreads the same reads by hand over two plain connections, to tell the cost of spreading from the cost of the library.',
          ],
        },
        misses,
        data: { ioredisRounds: measured.a, failoverRounds: measured.b, ...ours, control: { ioredisRounds: control.a, byHandRounds: control.b, ...theirs }, getsPerNode: gets, plainGetsPerNode: plainGets, byHandGetsPerNode: byHandGets, shares: share, maxDeviation, master: set.master, replicas: set.replicas },
        durationMs: performance.now() - began,
      };
    } finally {
      counter.close();
      plain.disconnect();
      pair.forEach((c) => c.disconnect());
      await failover.quit().catch(() => failover.disconnect());
    }
  });
}
