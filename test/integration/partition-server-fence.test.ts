import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestContext } from 'vitest';
import { FailoverRedis } from '../../src/index.js';
import { checkNetworkNamespaces, startReplicaSet, type NamespacedReplicaSet } from '../../src/testing/index.js';
import { direct } from '../helpers/redis.js';
import { checkCounters, startWriter } from '../helpers/writer.js';
import { DOWN_AFTER_MS, REPL_TIMEOUT_ARGS } from './partition-helpers.js';

const unavailable = checkNetworkNamespaces();

function needsNamespaces(ctx: TestContext): void {
  if (unavailable) ctx.skip(unavailable.message);
}

/**
 * The server-side fence (`min-replicas-to-write 1`, `min-replicas-max-lag 2`) and the client's,
 * on a master stranded with the client: the server refuses writes (`NOREPLICAS`) once no replica
 * acknowledged within max-lag seconds; the client's fence holds them instead of sending them.
 */
describe('min-replicas-to-write with the client fence', () => {
  let set: NamespacedReplicaSet;
  beforeAll(async () => {
    if (unavailable) return;
    set = await startReplicaSet({ network: 'namespaces', replicas: 1, args: REPL_TIMEOUT_ARGS });
    const master = direct(set.master);
    await master.config('SET', 'min-replicas-to-write', '1');
    await master.config('SET', 'min-replicas-max-lag', '2');
    master.disconnect();
  });
  afterAll(async () => {
    await set?.stop();
  });

  it('the server refuses what the unfenced client sends; the fenced client holds it; nothing acknowledged is lost', async (ctx) => {
    needsNamespaces(ctx);
    const options = { nodes: [set.master], failover: { downAfterMs: DOWN_AFTER_MS }, commandTimeoutMs: 3000 };
    const fenced = new FailoverRedis(options);
    const unfenced = new FailoverRedis({ ...options, fencing: false });
    for (const c of [fenced, unfenced]) c.on('error', () => {});
    try {
      await fenced.set('mr:warm', '1');
      await unfenced.set('mr:warm', '1');
      const writers = [startWriter(fenced, 'mr:fenced'), startWriter(unfenced, 'mr:unfenced')];
      await delay(500);
      const cutAt = performance.now();
      await set.partition([set.master, 'client'], [...set.replicas]);
      await delay(4000);
      await set.heal();
      const healedAt = performance.now();
      await Promise.all(writers.map((w) => w.ackAfter(healedAt, 20_000)));
      const [f, u] = await Promise.all(writers.map((w) => w.stop()));
      const noreplicas = (r: typeof f) => r!.failed.filter((x) => x.error.message.startsWith('NOREPLICAS')).length;
      const lastAckAfterCut = (r: typeof f) => Math.round(Math.max(0, ...r!.ackTimes.filter((t) => t < healedAt)) - cutAt);
      console.log(
        `min-replicas-to-write 1, max-lag 2 s: unfenced client: ${noreplicas(u)} NOREPLICAS, last ack ${lastAckAfterCut(u)} ms after the cut; ` +
          `fenced client: ${noreplicas(f)} NOREPLICAS, ${f!.failed.length} errors, last ack ${lastAckAfterCut(f)} ms after the cut`,
      );
      // The server fence answers every write the unfenced client sends once max-lag has passed.
      expect(noreplicas(u)).toBeGreaterThan(0);
      // The client fence holds writes at about the same time, so few if any reach the server's.
      expect(noreplicas(f)).toBeLessThan(noreplicas(u));
      for (const r of [f!, u!]) {
        const { lost, doubled } = await checkCounters(set.master, r);
        expect(lost).toEqual([]);
        expect(doubled).toEqual([]);
      }
    } finally {
      fenced.disconnect();
      unfenced.disconnect();
    }
  });
});
