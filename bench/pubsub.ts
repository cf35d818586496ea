import { Redis } from 'ioredis';
import { createSentinel } from 'redis';
import { FailoverRedis, type ResubscribedEvent } from '../src/index.js';
import type { ReplicaSet } from '../src/testing/index.js';
import { hostPort, sleep, waitFor, withReplicaSet, type Settings } from './harness.js';
import { fmtMs, type SectionResult } from './report.js';

const CHANNEL = 'bench:ticks';
/** Messages a second, sent as a burst of 10 every 10 ms, each PUBLISH answered on its own. */
const PER_TICK = 10;
const TICK_MS = 10;
const SETTLE_MS = 500;

interface Published {
  n: number;
  sentAt: number;
  answeredAt: number;
  ok: boolean;
}

interface Subscriber {
  label: string;
  received: Set<number>;
  events: { event: ResubscribedEvent; at: number }[];
  ready(): Promise<void>;
  close(): void;
}

function failoverSubscriber(set: ReplicaSet): Subscriber {
  const redis = new FailoverRedis({ sentinels: set.sentinels, name: set.name });
  redis.on('error', () => undefined);
  const s: Subscriber = {
    label: 'FailoverRedis, Sentinel mode',
    received: new Set(),
    events: [],
    ready: async () => void (await redis.subscribe(CHANNEL)),
    close: () => redis.disconnect(),
  };
  redis.on('message', (_c, m) => s.received.add(Number(m)));
  redis.on('resubscribed', (event) => s.events.push({ event, at: performance.now() }));
  return s;
}

function ioredisSubscriber(set: ReplicaSet): Subscriber {
  const redis = new Redis({ sentinels: set.sentinels.map(hostPort), name: set.name, lazyConnect: true });
  redis.on('error', () => undefined);
  const s: Subscriber = {
    label: 'ioredis 6 Sentinel',
    received: new Set(),
    events: [],
    ready: async () => void (await redis.subscribe(CHANNEL)),
    close: () => redis.disconnect(),
  };
  redis.on('message', (_c, m) => s.received.add(Number(m)));
  return s;
}

function nodeRedisSubscriber(set: ReplicaSet): Subscriber {
  const sentinel = createSentinel({ name: set.name, sentinelRootNodes: set.sentinels.map(hostPort) });
  sentinel.on('error', () => undefined);
  const s: Subscriber = {
    label: 'node-redis 6.3.1 `createSentinel`',
    received: new Set(),
    events: [],
    ready: async () => {
      await sentinel.connect();
      await sentinel.subscribe(CHANNEL, (m) => s.received.add(Number(m)));
    },
    close: () => {
      try {
        sentinel.destroy();
      } catch {
        // not connected
      }
    },
  };
  return s;
}

/** PER_TICK numbered PUBLISHes every TICK_MS through `redis` (held by it while there is no master). */
function publisher(redis: FailoverRedis) {
  const sent: Published[] = [];
  let n = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < PER_TICK; i++) {
      const p: Published = { n: ++n, sentAt: performance.now(), answeredAt: NaN, ok: false };
      sent.push(p);
      redis.publish(CHANNEL, String(p.n)).then(
        () => ((p.ok = true), (p.answeredAt = performance.now())),
        () => (p.answeredAt = performance.now()),
      );
    }
  }, TICK_MS);
  return { sent, last: () => n, stop: () => clearInterval(timer) };
}

interface RunRow {
  label: string;
  published: number;
  lost: number;
  /** From the first lost message's PUBLISH to the last one's answer: where messages were actually lost. */
  lossWindowMs: number | null;
  events: number;
  gapMs: number | null;
  /** Every event, as `from → to gapMs`. */
  detail: string[];
  /** Every lost message was published inside one of the events' windows. */
  covered: boolean | null;
}

async function run(): Promise<RunRow[]> {
  return withReplicaSet({ replicas: 2, sentinels: 3, downAfterMs: 1000 }, async (set) => {
    const subs = [failoverSubscriber(set), ioredisSubscriber(set), nodeRedisSubscriber(set)];
    const pubClient = new FailoverRedis({ sentinels: set.sentinels, name: set.name });
    pubClient.on('error', () => undefined);
    try {
      await Promise.all(subs.map((s) => s.ready()));
      await pubClient.connect();
      const pub = publisher(pubClient);
      await waitFor('messages flowing to every subscriber', () => subs.every((s) => s.received.size > 200), 10_000);
      await set.kill(set.master);
      const killedAt = pub.last();
      // Each subscriber back: a message published well after the kill reached it (or 20 s passed).
      await waitFor('every subscriber on the new master', () => subs.every((s) => [...s.received].some((m) => m > killedAt + 1000)), 20_000).catch(() => undefined);
      await sleep(1000);
      pub.stop();
      await sleep(SETTLE_MS);
      return subs.map((s) => {
        const lost = pub.sent.filter((p) => p.ok && !s.received.has(p.n));
        const ev = s.events[0];
        const inside = (p: Published): boolean => s.events.some(({ event, at }) => p.answeredAt >= at - event.gapMs - 2 && p.sentAt <= at + 2);
        return {
          label: s.label,
          published: pub.sent.filter((p) => p.ok).length,
          lost: lost.length,
          lossWindowMs: lost.length === 0 ? null : lost.at(-1)!.answeredAt - lost[0]!.sentAt,
          events: s.events.length,
          gapMs: ev === undefined ? null : s.events.reduce((sum, e) => sum + e.event.gapMs, 0),
          detail: s.events.map(({ event }) => `${event.from} → ${event.to} ${event.gapMs} ms`),
          covered: ev === undefined ? null : lost.every(inside),
        };
      });
    } finally {
      subs.forEach((s) => s.close());
      pubClient.disconnect();
    }
  });
}

/** Messages lost by a subscriber through a kill -9 failover (Sentinel), and the gap the `resubscribed` event reports. */
export async function pubsub(settings: Settings): Promise<SectionResult> {
  const began = performance.now();
  const runs: RunRow[][] = [];
  for (let i = 0; i < settings.runs; i++) runs.push(await run());
  const rows = runs.flatMap((r, i) =>
    r.map((x) => [
      String(i + 1),
      x.label,
      String(x.published),
      String(x.lost),
      fmtMs(x.lossWindowMs),
      x.label.startsWith('FailoverRedis') ? `${x.events}${x.events > 1 ? ` (${x.detail.join('; ')})` : ''}` : '— (no such signal)',
      x.gapMs === null ? '—' : fmtMs(x.gapMs),
      x.covered === null ? '—' : x.covered ? 'yes' : 'no',
    ]),
  );
  const misses = runs.flat().filter((x) => x.label.startsWith('FailoverRedis') && (x.events === 0 || x.covered !== true));
  return {
    id: 'pubsub',
    table: {
      title: 'Pub/sub through a kill -9 failover (Sentinel): messages lost by a subscriber, and the gap `resubscribed` reports',
      columns: ['run', 'subscriber', 'published (PUBLISH answered)', 'lost', 'loss window (first lost sent → last lost answered)', '`resubscribed` events', 'reported `gapMs` (sum)', 'every lost message inside the reported window'],
      rows,
      notes: [
        `One publisher (FailoverRedis, Sentinel mode: it holds its PUBLISHes while there is no master) sends ${(PER_TICK * 1000) / TICK_MS} numbered messages a second; the master is killed with SIGKILL; Sentinel \`down-after-milliseconds\` 1000.`,
        'A message counts as lost when its PUBLISH was answered and the subscriber never received it (checked after a 0.5 s settle).',
        'Several events in one run are several re-subscriptions (Sentinel failing over twice, say); a lost message counts as covered when it lies in any of their windows.',
      ],
    },
    misses: misses.map((x) => `pubsub — ${x.label}: ${x.events} events, lost messages inside the window: ${x.covered}`),
    data: { runs },
    durationMs: performance.now() - began,
  };
}
