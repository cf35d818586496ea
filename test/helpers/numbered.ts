/** One numbered message: when its PUBLISH was sent and answered (`performance.now()`), and the answer. */
export interface Sent {
  n: number;
  sentAt: number;
  answeredAt: number;
  /** Subscribers that received it, or null if the PUBLISH failed (it may or may not have been published). */
  receivers: number | null;
}

/**
 * A publisher of numbered messages (`1`, `2`, …) on `channel`, one every `intervalMs`, each
 * PUBLISH awaited (`{ publish: (c, m) => cluster.spublish(c, m) }` for sharded channels): what was sent, and when, to count and place the messages a subscriber lost.
 */
export function startPublisher(redis: { publish(channel: string, message: string): Promise<number> }, channel: string, intervalMs = 2) {
  const sent: Sent[] = [];
  let stopped = false;
  const done = (async () => {
    for (let n = 1; !stopped; n++) {
      const sentAt = performance.now();
      const receivers = await redis.publish(channel, String(n)).catch(() => null);
      sent.push({ n, sentAt, answeredAt: performance.now(), receivers });
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    sent,
    async stop(): Promise<Sent[]> {
      stopped = true;
      await done;
      return sent;
    },
  };
}

/** The messages published (PUBLISH answered) that never arrived: `received` holds the numbers that did. */
export function lostMessages(sent: readonly Sent[], received: ReadonlySet<number>): Sent[] {
  return sent.filter((s) => s.receivers !== null && !received.has(s.n));
}
