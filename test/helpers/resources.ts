import { afterAll } from 'vitest';
import { FailoverRedis } from '../../src/index.js';
import { startReplicaSet, type ReplicaSet, type ReplicaSetOptions } from '../../src/testing/index.js';

/**
 * Replica sets and clients made by a test file, all stopped in its `afterAll` — stopped nodes
 * resumed first, so that no QUIT waits on a paused server.
 */
export function resources() {
  const sets: ReplicaSet[] = [];
  const clients: FailoverRedis[] = [];
  afterAll(async () => {
    for (const s of sets) {
      for (const node of s.nodes) {
        try {
          s.resume(node);
        } catch {
          // killed by the test
        }
      }
    }
    await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
    await Promise.all(sets.map((s) => s.stop()));
  });
  return {
    sets,
    /** A client whose errors are expected (the tests kill its servers): they are not thrown. */
    client(...args: ConstructorParameters<typeof FailoverRedis>): FailoverRedis {
      const c = new FailoverRedis(...args);
      c.on('error', () => undefined);
      clients.push(c);
      return c;
    },
    /** Keep a client made elsewhere (a duplicate()) for the clean-up. */
    track(c: FailoverRedis): FailoverRedis {
      c.on('error', () => undefined);
      clients.push(c);
      return c;
    },
    async replicaSet(options?: ReplicaSetOptions): Promise<ReplicaSet> {
      const s = await startReplicaSet(options);
      sets.push(s);
      return s;
    },
  };
}
