import diagnostics_channel from 'node:diagnostics_channel';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailoverCluster, RESUBSCRIBED_CHANNEL, type ResubscribedEvent } from '../../src/index.js';
import { slotOf } from '../../src/cluster/slot.js';
import { startCluster, type Cluster } from '../../src/testing/index.js';
import { lostMessages, startPublisher, type Sent } from '../helpers/numbered.js';
import { waitFor } from '../helpers/writer.js';

let cluster: Cluster;
const clients: FailoverCluster[] = [];
const published: ResubscribedEvent[] = [];
const onPublished = (message: unknown): void => void published.push(message as ResubscribedEvent);

beforeAll(async () => {
  cluster = await startCluster({ shards: 3, replicasPerShard: 1, nodeTimeoutMs: 1000 });
  diagnostics_channel.subscribe(RESUBSCRIBED_CHANNEL, onPublished);
});

afterAll(async () => {
  diagnostics_channel.unsubscribe(RESUBSCRIBED_CHANNEL, onPublished);
  await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
  await cluster?.stop();
});

function client(): FailoverCluster {
  const c = new FailoverCluster({ nodes: [cluster.masters[0]!], failover: { downAfterMs: 500 } });
  c.on('error', () => undefined);
  clients.push(c);
  return c;
}

const port = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1));

/** The node and id of the connection subscribed (not sharded) to `ticks`. */
async function subscriberConnection(): Promise<{ node: string; id: string } | undefined> {
  for (const node of cluster.nodes) {
    const admin = new Redis(port(node), '127.0.0.1');
    try {
      const list = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
      const line = list.split('\n').find((l) => / sub=[1-9]/.test(l));
      if (line) return { node, id: /\bid=(\d+)/.exec(line)![1]! };
    } finally {
      admin.disconnect();
    }
  }
  return undefined;
}

function outsideWindow(lost: readonly Sent[], at: number, gapMs: number): Sent[] {
  return lost.filter((s) => s.answeredAt < at - gapMs - 2 || s.sentAt > at + 2);
}

describe('FailoverCluster resubscribed', () => {
  it('its subscriber connection lost (CLIENT KILL): one event, from that node to the one ioredis picked next', async () => {
    const sub = client();
    const pub = client();
    const received = new Set<number>();
    const events: { event: ResubscribedEvent; at: number }[] = [];
    sub.on('message', (_c, m) => received.add(Number(m)));
    sub.on('resubscribed', (event) => events.push({ event, at: performance.now() }));
    await sub.subscribe('ticks');
    published.length = 0;
    const publisher = startPublisher(pub, 'ticks');
    await waitFor('messages flowing', () => received.size > 50);
    const conn = (await subscriberConnection())!;
    const admin = new Redis(port(conn.node), '127.0.0.1');
    await admin.call('CLIENT', 'KILL', 'ID', conn.id).finally(() => admin.disconnect());
    await waitFor('the resubscribed event', () => events.length > 0);
    const n = publisher.sent.length;
    await waitFor('messages after it', () => publisher.sent.length > n + 100 && received.has(publisher.sent.at(-1)!.n));
    const sent = await publisher.stop();
    // PUBLISH goes to any node and the cluster bus carries it on: late messages are not lost ones.
    await new Promise((r) => setTimeout(r, 500));
    expect(events).toHaveLength(1);
    const { event, at } = events[0]!;
    expect(event).toEqual({ channels: ['ticks'], patterns: [], shardChannels: [], from: conn.node, to: expect.any(String), gapMs: expect.any(Number) });
    expect(cluster.nodes).toContain(event.to);
    expect(published).toEqual([event]);
    expect(outsideWindow(lostMessages(sent, received), at, event.gapMs)).toEqual([]);
    // Closed: the next test's kill must not move this client's subscriptions (the channel is process-wide).
    await Promise.all([sub.quit(), pub.quit()]);
  });

  it('kill -9 of the master of a sharded channel: one event, from the old master to the elected one; its gap covers every message lost', async () => {
    const sub = client();
    const pub = client();
    const channel = 'orders:{7}';
    const shard = cluster.shards.find((s) => s.slots.some(([a, b]) => slotOf(channel) >= a && slotOf(channel) <= b))!;
    const oldMaster = shard.master;
    const received = new Set<number>();
    const events: { event: ResubscribedEvent; at: number }[] = [];
    sub.on('smessage', (_c, m) => received.add(Number(m)));
    sub.on('resubscribed', (event) => events.push({ event, at: performance.now() }));
    await sub.ssubscribe(channel);
    published.length = 0;
    const publisher = startPublisher({ publish: (c, m) => pub.spublish(c, m) as Promise<number> }, channel);
    await waitFor('messages flowing', () => received.size > 50);
    await cluster.kill(oldMaster);
    await waitFor('the resubscribed event', () => events.length > 0, 30_000);
    const n = publisher.sent.length;
    await waitFor('messages after it', () => publisher.sent.length > n + 100 && received.has(publisher.sent.at(-1)!.n));
    const sent = await publisher.stop();
    // PUBLISH goes to any node and the cluster bus carries it on: late messages are not lost ones.
    await new Promise((r) => setTimeout(r, 500));
    // One event as a rule; under load ioredis has once made the shard's subscriber connection a
    // second time (seen in a CI run, cause not traced): each re-subscription has its event, the
    // first from the old master, the last on the elected one, and together they cover every loss.
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events.length).toBeLessThanOrEqual(3);
    for (const { event } of events) expect(event).toEqual({ channels: [], patterns: [], shardChannels: [channel], from: expect.any(String), to: expect.any(String), gapMs: expect.any(Number) });
    expect(events[0]!.event.from).toBe(oldMaster);
    expect(events.at(-1)!.event.to).toBe(shard.replicas[0]);
    expect(published).toEqual(events.map((e) => e.event));
    const lost = lostMessages(sent, received);
    const uncovered = events.reduce((rest, { event, at }) => outsideWindow(rest, at, event.gapMs), lost);
    expect(uncovered).toEqual([]);
    console.log(`cluster kill -9: ${lost.length} of ${sent.length} sharded messages lost; events ${events.map((e) => `${e.event.from} → ${e.event.to} ${e.event.gapMs} ms`).join(', ')}`);
  });
});
