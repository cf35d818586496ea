import { describe, expect, it } from 'vitest';
import { MaybeAppliedError, type FailoverEvent, type WarningEvent } from '../../src/index.js';
import { direct } from '../helpers/redis.js';
import { role, waitFor } from '../helpers/writer.js';
import { resources } from '../helpers/resources.js';

const { client, replicaSet } = resources();

describe('an ACL user without REPLICAOF', () => {
  it('cannot promote: a failover event and a typed error say which permission is missing; reads go on', async () => {
    const set = await replicaSet({ replicas: 2 });
    for (const address of set.nodes) {
      const admin = direct(address);
      await admin.call('ACL', 'SETUSER', 'app', 'on', '>app-pass', '~*', '&*', '+@all', '-replicaof', '-slaveof', '-failover');
      admin.disconnect();
    }
    const redis = client({ nodes: [set.master], failover: { downAfterMs: 300 }, redisOptions: { username: 'app', password: 'app-pass' } });
    const failovers: FailoverEvent[] = [];
    const errors: Error[] = [];
    redis.on('failover', (e) => failovers.push(e));
    redis.on('error', (e) => errors.push(e));
    await redis.set('acl:k', 'v');
    await redis.wait(2, 1000);
    await set.kill(set.master);
    await waitFor('a failed promotion', () => failovers.length > 0);
    expect(failovers[0]!.to).toBeNull();
    expect(failovers[0]!.reason).toMatch(/promotion failed: .*NOPERM/);
    const promotionError = errors.find((e) => (e as { code?: string }).code === 'ERR_PROMOTION_FAILED');
    expect(promotionError?.message).toMatch(/REPLICAOF/);
    expect(promotionError?.message).not.toContain('app-pass');
    expect(await redis.get('acl:k')).toBe('v');
    for (const r of set.replicas) expect((await role(r)).role).toBe('replica');
  });
});

describe('a master that restarts empty while its replicas are attached', () => {
  it('raises a warning: their resync will empty them', async () => {
    const set = await replicaSet({ replicas: 1 });
    const redis = client({ nodes: [set.master], failover: { downAfterMs: 10_000 } });
    const warnings: WarningEvent[] = [];
    redis.on('warning', (w) => warnings.push(w));
    const onProcessWarning = () => undefined;
    process.on('warning', onProcessWarning);
    for (let i = 0; i < 50; i++) await redis.set(`empty:${i}`, 'x');
    await redis.refreshTopology();
    await set.kill(set.master);
    await set.restart(set.master);
    await waitFor('the restart warning', async () => {
      await redis.refreshTopology().catch(() => undefined);
      return warnings.find((w) => w.code === 'MASTER_RESTARTED_EMPTY');
    });
    process.off('warning', onProcessWarning);
    expect(warnings.find((w) => w.code === 'MASTER_RESTARTED_EMPTY')?.address).toBe(set.master);
  });
});

describe('commands in flight when the master dies', () => {
  it('MULTI/EXEC and pipelines fail whole with ERR_MAYBE_APPLIED, never half resent; held commands go to the new master', async () => {
    const set = await replicaSet({ replicas: 2 });
    const redis = client({ nodes: [set.master], failover: { downAfterMs: 300 } });
    await redis.connect();
    // A stopped master keeps the connection but sends no replies: the commands are on the wire.
    set.pause(set.master);
    const tx = redis.multi().incr('tx:a').incr('tx:b').exec();
    const pipe = redis.pipeline().incr('p:a').get('p:a').exec();
    const write = redis.incr('w:a');
    const outcome = Promise.allSettled([tx, pipe, write]);
    await new Promise((r) => setTimeout(r, 50));
    await set.kill(set.master);
    const settled = await outcome;
    for (const s of settled) {
      expect(s.status).toBe('rejected');
      expect((s as PromiseRejectedResult).reason).toBeInstanceOf(MaybeAppliedError);
    }
    // A command issued now is held, then lands on the new master.
    expect(await redis.incr('after')).toBe(1);
    const newMaster = redis.topology().master!.address;
    const check = direct(newMaster);
    expect(await check.mget('tx:a', 'tx:b', 'p:a', 'w:a')).toEqual([null, null, null, null]);
    check.disconnect();
  });
});
