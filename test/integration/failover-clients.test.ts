import { describe, expect, it } from 'vitest';
import { type WarningEvent } from '../../src/index.js';
import { role, waitFor } from '../helpers/writer.js';
import { resources } from '../helpers/resources.js';

const { client, replicaSet } = resources();

describe('many clients, one replica set', () => {
  it('five clients in auto mode converge on exactly one new master', async () => {
    const set = await replicaSet({ replicas: 2 });
    const five = Array.from({ length: 5 }, (_, i) => client({ nodes: [set.nodes[i % set.nodes.length]!], failover: { downAfterMs: 500 } }));
    await Promise.all(five.map((c) => c.connect()));
    await set.kill(set.master);
    // Once each client has seen its master go: a write sent before that goes to the dead socket
    // and is (rightly) ERR_MAYBE_APPLIED. kill() resolves at the process's exit, which the
    // clients' sockets learn of a moment later.
    await waitFor('every client to see the master gone', () => five.every((c) => c.status !== 'ready'));
    await Promise.all(five.map((c, i) => c.set(`five:${i}`, '1')));
    const masters = five.map((c) => c.topology().master!.address);
    expect(new Set(masters).size).toBe(1);
    const roles = await Promise.all(set.replicas.map(role));
    expect(roles.filter((r) => r.role === 'master')).toHaveLength(1);
    const newMaster = set.replicas[roles.findIndex((r) => r.role === 'master')]!;
    expect(masters[0]).toBe(newMaster);
    const other = roles.find((r) => r.role === 'replica');
    await waitFor('the other replica to follow', async () => (await role(set.replicas.find((r) => r !== newMaster)!)).master === newMaster);
    expect(other).toBeDefined();
  });
});

describe('manual mode', () => {
  it('never promotes; reads keep coming from the replicas; promote() does the runbook on demand', async () => {
    const set = await replicaSet({ replicas: 2 });
    const redis = client({ nodes: [set.master], readFrom: 'replicaPreferred', failover: { promote: 'manual', downAfterMs: 300 } });
    const warnings: WarningEvent[] = [];
    redis.on('warning', (w) => warnings.push(w));
    let failovers = 0;
    redis.on('failover', () => failovers++);
    await redis.set('manual:k', 'v');
    await redis.wait(2, 1000);
    await set.kill(set.master);
    const deadline = performance.now() + 2000;
    while (performance.now() < deadline) {
      expect(await redis.get('manual:k')).toBe('v');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(failovers).toBe(0);
    for (const r of set.replicas) expect((await role(r)).role).toBe('replica');
    expect(warnings.some((w) => w.code === 'MASTER_DOWN')).toBe(true);

    const target = set.replicas[1]!;
    await redis.promote(target);
    expect((await role(target)).role).toBe('master');
    await waitFor('the other replica to be repointed', async () => (await role(set.replicas[0]!)).master === target);
    await redis.set('manual:after', '1');
    expect(redis.topology().master?.address).toBe(target);
    expect(failovers).toBe(1);
  });
});

describe('a replica dies', () => {
  it('reads move to the other replica and nothing fails', async () => {
    const set = await replicaSet({ replicas: 2 });
    const redis = client({ nodes: [set.master], readFrom: 'replica' });
    await redis.set('r:k', 'v');
    await redis.wait(2, 1000);
    let errors = 0;
    let reads = 0;
    let running = true;
    const loop = (async () => {
      while (running) {
        try {
          expect(await redis.get('r:k')).toBe('v');
          reads++;
        } catch {
          errors++;
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    await set.kill(set.replicas[0]!);
    await new Promise((r) => setTimeout(r, 1000));
    running = false;
    await loop;
    expect(errors).toBe(0);
    expect(reads).toBeGreaterThan(100);
    await waitFor('the dead replica to be marked down', () => redis.topology().replicas.find((r) => r.address === set.replicas[0])?.up === false);
  });
});

describe('pub/sub across a failover', () => {
  it('a subscriber made before the failover receives messages published after it', async () => {
    const set = await replicaSet({ replicas: 2 });
    const subscriber = client({ nodes: [set.master], failover: { downAfterMs: 500 } });
    const publisher = client({ nodes: [set.master], failover: { downAfterMs: 500 } });
    const messages: string[] = [];
    subscriber.on('message', (_channel, message) => messages.push(message));
    await subscriber.subscribe('news');
    await publisher.publish('news', 'before');
    await waitFor('the first message', () => messages.includes('before'));
    await set.kill(set.master);
    // As in the five clients' test: once the publisher has seen its master go (a write sent into
    // the dying socket is rightly ERR_MAYBE_APPLIED).
    await waitFor('the publisher to see the master gone', () => publisher.status !== 'ready');
    await publisher.set('pubsub:after', '1'); // held until the new master is there
    await waitFor('the subscriber to follow the new master', () => subscriber.topology().master?.address === publisher.topology().master?.address);
    await waitFor(
      'a message after the failover',
      async () => {
        await publisher.publish('news', 'after');
        return messages.includes('after');
      },
      10_000,
    );
  });
});

describe('a replica hangs (SIGSTOP)', () => {
  it('reads stuck on it move to another node once it is seen down; none fails', async () => {
    const set = await replicaSet({ replicas: 2 });
    const redis = client({ nodes: [set.master], readFrom: 'replica', refreshIntervalMs: 500 });
    await redis.set('hung:k', 'v');
    await redis.wait(2, 1000);
    await redis.refreshTopology();
    set.pause(set.replicas[0]!);
    try {
      const started = performance.now();
      const reads = await Promise.all(Array.from({ length: 20 }, () => redis.get('hung:k')));
      expect(reads.every((v) => v === 'v')).toBe(true);
      expect(performance.now() - started).toBeLessThan(8000);
    } finally {
      set.resume(set.replicas[0]!);
    }
  });
});
