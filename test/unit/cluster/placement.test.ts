import { EventEmitter } from 'node:events';
import { Command, type Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ClusterPlacement, CLUSTER_RETRY_MS } from '../../../src/cluster/placement.js';
import type { NodeConnections } from '../../../src/cluster/pool.js';
import { redirectOf } from '../../../src/cluster/replies.js';
import { ANY_SLOT } from '../../../src/cluster/slot.js';
import type { ClusterTopology } from '../../../src/cluster/topology.js';
import { ClosedError, CommandTimeoutError, NoMasterError } from '../../../src/errors.js';
import { splitAddress } from '../../../src/topology/address.js';
import { nodeState } from '../../helpers/topology.js';
import { command, engineOver, settled, view } from '../dispatch/fakes.js';

/** A connection of ioredis Cluster's pool, with no socket: what it was sent, and its status and events. */
class PoolConnection extends EventEmitter {
  status = 'ready';
  readonly sent: Command[] = [];
  asked = 0;
  sendCommand(cmd: Command): Promise<unknown> {
    this.sent.push(cmd);
    return cmd.promise;
  }
  connect(): Promise<void> {
    return Promise.resolve();
  }
  asking(): Promise<unknown> {
    this.asked++;
    return Promise.resolve('OK');
  }
  get names(): string[] {
    return this.sent.map((c) => c.name);
  }
}

class Pool implements NodeConnections {
  readonly conns = new Map<string, PoolConnection>();
  getInstanceByKey(key: string): Redis | undefined {
    return this.conns.get(key) as unknown as Redis | undefined;
  }
  findOrCreate(node: { host: string; port: number }): Redis {
    const key = `${node.host}:${node.port}`;
    let conn = this.conns.get(key);
    if (conn === undefined) this.conns.set(key, (conn = new PoolConnection()));
    return conn as unknown as Redis;
  }
  at(port: number): PoolConnection {
    return this.findOrCreate({ host: '127.0.0.1', port }) as unknown as PoolConnection;
  }
}

const master = (port: number) => nodeState(port, { role: 'master', masterAddress: null, linkStatus: null });
const replica = (port: number, of: number) => nodeState(port, { masterAddress: `127.0.0.1:${of}` });

/** Two shards: slots 0–8191 on 7000 (replica 7001), 8192–16383 on 7002 (replica 7003). */
const picture: ClusterTopology = {
  source: 'cluster',
  shards: [
    { slots: [[0, 8191]], master: master(7000), replicas: [replica(7001, 7000)] },
    { slots: [[8192, 16383]], master: master(7002), replicas: [replica(7003, 7002)] },
  ],
};

function setup(readFrom = 'master') {
  const pool = new Pool();
  const stale: string[] = [];
  const placement = new ClusterPlacement({ pool, reach: splitAddress, consistency: null, writes: null, lag: { bytes: null, ms: null }, zone: null, stale: (reason) => stale.push(reason) });
  const engine = engineOver(placement, { holdTimeoutMs: 1000 });
  if (readFrom !== 'master') placement.readFromReplicas();
  return { pool, placement, engine, stale, v: view(readFrom) };
}

describe('ClusterPlacement under the engine', () => {
  it("sends a keyed command to its slot's shard: writes to the master, reads by the read policy", () => {
    const { pool, placement, engine } = setup('replica');
    placement.update(picture);
    engine.dispatch(command('set', 'a', '1'), view('replica'), 100);
    engine.dispatch(command('get', 'a'), view('replica'), 100);
    engine.dispatch(command('get', 'b'), view('replica'), 9000);
    expect(pool.at(7000).names).toEqual(['set']);
    expect(pool.at(7001).names).toEqual(['get']);
    expect(pool.at(7003).names).toEqual(['get']);
    expect(placement.counters.get('127.0.0.1:7001')).toEqual({ sent: 1, errors: 0 });
  });

  it('holds what comes before the first picture, and a slot no shard serves; a keyless command goes to any ready master', () => {
    const { pool, placement, engine } = setup();
    const early = command('set', 'a', '1');
    engine.dispatch(early, view('master'), 100);
    expect(engine.held).toBe(1);
    placement.update({ source: 'cluster', shards: [picture.shards[0]!] });
    expect(pool.at(7000).names).toEqual(['set']);
    engine.dispatch(command('set', 'b', '1'), view('master'), 9000);
    expect(engine.held).toBe(1);
    engine.dispatch(command('ping'), view('master'), ANY_SLOT);
    expect(pool.at(7000).names).toEqual(['set', 'ping']);
  });

  it('readiness is kept from connection events: a master not ready holds its writes until its connection says ready', () => {
    const { pool, placement, engine } = setup();
    pool.at(7000).status = 'connecting';
    placement.update(picture);
    const set = command('set', 'a', '1');
    engine.dispatch(set, view('master'), 100);
    expect(engine.held).toBe(1);
    pool.at(7000).status = 'ready';
    pool.at(7000).emit('ready');
    expect(engine.held).toBe(0);
    expect(pool.at(7000).names).toEqual(['set']);
  });

  it("a silent master or a switchover closes its shard's write gate only", () => {
    const { pool, placement, engine } = setup();
    placement.update(picture);
    placement.silence('127.0.0.1:7000', true);
    engine.dispatch(command('set', 'a', '1'), view('master'), 100);
    engine.dispatch(command('set', 'b', '1'), view('master'), 9000);
    expect(pool.at(7000).names).toEqual([]);
    expect(pool.at(7002).names).toEqual(['set']);
    placement.switching('127.0.0.1:7002', true);
    placement.silence('127.0.0.1:7000', false);
    engine.dispatch(command('set', 'c', '1'), view('master'), 9000);
    expect(pool.at(7000).names).toEqual(['set']);
    expect(pool.at(7002).names).toEqual(['set']);
    expect(engine.held).toBe(1);
  });

  it('MOVED: sent again to the node it names (as a master), and the picture is read again; ASK: ASKING right before it', async () => {
    const { pool, placement, engine, stale } = setup('replica');
    placement.update(picture);
    const get = command('get', 'a');
    engine.dispatch(get, view('replica'), 100);
    get.reject(new Error('MOVED 100 127.0.0.1:7002'));
    expect(pool.at(7002).names).toEqual(['get']);
    expect(stale).toEqual(['MOVED 100 127.0.0.1:7002']);
    get.reject(new Error('ASK 100 127.0.0.1:7004'));
    expect(pool.at(7004).names).toEqual(['get']);
    expect(pool.at(7004).asked).toBe(1);
    get.resolve('v');
    await expect(get.promise).resolves.toBe('v');
  });

  it('gives up after five redirections with the last one as the error', async () => {
    const { placement, engine } = setup();
    placement.update(picture);
    const get = command('get', 'a');
    engine.dispatch(get, view('master'), 100);
    for (let i = 0; i < 6; i++) get.reject(new Error('MOVED 100 127.0.0.1:7002'));
    await expect(get.promise).rejects.toThrow('MOVED 100');
  });

  it('CLUSTERDOWN: held (nothing applied), tried again after a short wait', async () => {
    const { pool, placement, engine } = setup();
    placement.update(picture);
    const set = command('set', 'a', '1');
    engine.dispatch(set, view('master'), 100);
    set.reject(new Error('CLUSTERDOWN The cluster is down'));
    expect(engine.held).toBe(1);
    engine.drain();
    expect(pool.at(7000).names).toEqual(['set']);
    await new Promise((r) => setTimeout(r, CLUSTER_RETRY_MS + 20));
    expect(pool.at(7000).names).toEqual(['set', 'set']);
    set.resolve('OK');
    await expect(set.promise).resolves.toBe('OK');
  });

  it("a pipeline whose result holds a MOVED is sent again only when no command of it ran", async () => {
    const { pool, placement, engine } = setup();
    placement.update(picture);
    const conn = pool.at(7000) as unknown as { pipeline(): unknown };
    const batches: Array<{ commands: Command[]; settle: (r: unknown) => void }> = [];
    conn.pipeline = () => {
      const b = { commands: [] as Command[], settle: (_r: unknown) => {} };
      batches.push(b);
      return { sendCommand: (c: Command) => b.commands.push(c), exec: () => new Promise((resolve) => (b.settle = resolve)) };
    };
    const moved = (): [Error] => [new Error('MOVED 100 127.0.0.1:7000')];
    const whole = engine.dispatchBatch([command('get', 'a'), command('get', 'a')], false, view('master'), 100);
    batches[0]!.settle([moved(), moved()]);
    await settled();
    expect(batches).toHaveLength(2);
    batches[1]!.settle([[null, '1'], [null, '1']]);
    await expect(whole).resolves.toEqual([[null, '1'], [null, '1']]);
    const part = engine.dispatchBatch([command('set', 'a', '2'), command('get', 'b')], false, view('master'), 100);
    batches[2]!.settle([[null, 'OK'], moved()]);
    const result = (await part) as [Error | null, unknown][];
    expect(batches).toHaveLength(3);
    expect(result[1]![0]!.message).toMatch(/^MOVED/);
  });

  it('a command held for a slot no master serves times out with the reason as its cause', async () => {
    const pool = new Pool();
    const placement = new ClusterPlacement({ pool, reach: splitAddress, consistency: null, writes: null, lag: { bytes: null, ms: null }, zone: null, stale: () => undefined });
    const engine = engineOver(placement, { holdTimeoutMs: 30 });
    placement.update({ source: 'cluster', shards: [picture.shards[1]!] });
    const set = command('set', 'a', '1');
    engine.dispatch(set, view('master'), 100);
    const error = (await set.promise.catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(CommandTimeoutError);
    expect(error.cause).toBeInstanceOf(NoMasterError);
  });

  it('after close(), what is held and every later attempt fail with the close error', async () => {
    const { placement, engine } = setup();
    const held = command('set', 'a', '1');
    engine.dispatch(held, view('master'), 100);
    placement.close(new ClosedError());
    engine.close(new ClosedError());
    await expect(held.promise).rejects.toBeInstanceOf(ClosedError);
    const late = command('get', 'a');
    engine.dispatch(late, view('master'), 100);
    await expect(late.promise).rejects.toBeInstanceOf(ClosedError);
  });
});

describe('redirectOf', () => {
  it('reads MOVED and ASK; a transaction aborted by a MOVED (EXECABORT, previousErrors) is a MOVED; anything else is not', () => {
    expect(redirectOf(new Error('MOVED 3999 127.0.0.1:6381'))).toEqual({ kind: 'MOVED', slot: '3999', address: '127.0.0.1:6381' });
    expect(redirectOf(new Error('ASK 3999 127.0.0.1:6381'))).toEqual({ kind: 'ASK', slot: '3999', address: '127.0.0.1:6381' });
    const aborted = Object.assign(new Error('EXECABORT Transaction discarded because of previous errors.'), { previousErrors: [new Error('MOVED 12 127.0.0.1:7002')] });
    expect(redirectOf(aborted)).toEqual({ kind: 'MOVED', slot: '12', address: '127.0.0.1:7002' });
    expect(redirectOf(new Error('ERR wrong number of arguments'))).toBeNull();
  });
});
