import { describe, expect, it } from 'vitest';
import { CommandTimeoutError, MaybeAppliedError, NoReplicaError, NotReplicatedError, OfflineError } from '../../../src/errors.js';
import { command, engineOver, FakePlacement, FakeWrites, lost, settled, view } from './fakes.js';

const M = 6379;
const R1 = 6380;
const R2 = 6381;

describe('Engine: routing', () => {
  it('sends reads to the replicas in turn and writes to the master, on the shared connection', async () => {
    const p = new FakePlacement(M, [R1, R2]);
    const engine = engineOver(p);
    const gets = [command('get', 'a'), command('get', 'b'), command('get', 'c')];
    for (const g of gets) engine.dispatch(g, view());
    const set = command('set', 'k', 'v');
    engine.dispatch(set, view());
    expect(p.conn(R1).names).toEqual(['get', 'get']);
    expect(p.conn(R2).names).toEqual(['get']);
    expect(p.conn(M).names).toEqual(['set']);
    expect(p.target(R1).counters.sent).toBe(2);
    expect(p.target(M).counters.sent).toBe(1);
    // Outcomes come back through the command, as ioredis gives them.
    gets[0]!.resolve('1');
    set.resolve('OK');
    await expect(gets[0]!.promise).resolves.toBe('1');
    await expect(set.promise).resolves.toBe('OK');
  });

  it('outcomes reach the engine when instrumentation wraps resolve/reject and calls them detached (as OpenTelemetry does)', async () => {
    const p = new FakePlacement(M, [R1, R2]);
    const engine = engineOver(p, { writes: new FakeWrites() });
    const wrap = (c: ReturnType<typeof command>): void => {
      const { resolve, reject } = c;
      c.resolve = (value: unknown) => resolve(value);
      c.reject = (error: Error) => reject(error);
    };
    const get = command('get', 'k');
    engine.dispatch(get, view());
    wrap(get);
    get.reject(lost());
    expect(p.conn(R2).names).toEqual(['get']);
    get.resolve('v');
    await expect(get.promise).resolves.toBe('v');
    const set = command('set', 'k', 'v');
    engine.dispatch(set, view());
    wrap(set);
    set.resolve('OK');
    await expect(set.promise).resolves.toBe('OK');
  });

  it('a blocking command leases a connection and gives it back with its outcome', async () => {
    const p = new FakePlacement(M, []);
    const engine = engineOver(p);
    const pop = command('blpop', 'q', '0');
    engine.dispatch(pop, view());
    expect(p.leased.map((c) => c.address)).toEqual(['127.0.0.1:6379']);
    expect(p.released).toEqual([]);
    pop.resolve(['q', 'x']);
    await expect(pop.promise).resolves.toEqual(['q', 'x']);
    expect(p.released.map((c) => c.address)).toEqual(['127.0.0.1:6379']);
  });

  it('WATCH…EXEC runs on one leased connection; the routing state is pinned to its node until EXEC is answered', async () => {
    const p = new FakePlacement(M, [R1]);
    const engine = engineOver(p);
    const watch = command('watch', 'k');
    engine.dispatch(watch, view());
    expect(p.leased).toHaveLength(1);
    expect(p.state.pinned).toBe(p.target(M));
    // A read inside the session goes where the session is, not to a replica.
    const get = command('get', 'k');
    engine.dispatch(get, view());
    const exec = command('exec');
    engine.dispatch(exec, view());
    expect(p.conn(M).names).toEqual(['watch', 'get', 'exec']);
    expect(p.conn(R1).names).toEqual([]);
    exec.resolve([]);
    await exec.promise;
    expect(p.state.pinned).toBeNull();
    expect(p.released).toHaveLength(1);
  });

  it('subscriptions go through the placement, and their errors are their own', async () => {
    const p = new FakePlacement(M, [R1]);
    const engine = engineOver(p);
    const sub = command('subscribe', 'news');
    engine.dispatch(sub, view());
    expect(p.subscribed).toEqual(['subscribe 6379']);
    sub.reject(lost());
    await expect(sub.promise).rejects.toThrow('Connection is closed.');
    expect(p.observations).toEqual([]);
  });

  it('SELECT, once answered, is reported to the placement', async () => {
    const p = new FakePlacement(M, []);
    const engine = engineOver(p);
    const select = command('select', '3');
    engine.dispatch(select, view());
    select.resolve('OK');
    await select.promise;
    expect(p.selects).toEqual([3]);
  });
});

describe('Engine: holding', () => {
  it('holds a write while no master is known, and sends it once the picture has one', async () => {
    const p = new FakePlacement(null, [R1]);
    const engine = engineOver(p);
    const set = command('set', 'k', 'v');
    engine.dispatch(set, view());
    expect(engine.held).toBe(1);
    engine.drain();
    expect(engine.held).toBe(1);
    p.setNodes(M, [R1]);
    engine.drain();
    expect(engine.held).toBe(0);
    expect(p.conn(M).names).toEqual(['set']);
    set.resolve('OK');
    await expect(set.promise).resolves.toBe('OK');
  });

  it('holds a command whose target is not connected yet, and reports the wait reason as the timeout cause', async () => {
    const p = new FakePlacement(M, []);
    p.conn(M).status = 'connecting';
    const engine = engineOver(p, { holdTimeoutMs: 20 });
    const set = command('set', 'k', 'v');
    engine.dispatch(set, view());
    expect(p.target(M).ready).toBe(false);
    const error = await set.promise.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandTimeoutError);
    expect((error as Error).cause).toEqual(new Error('waits: master-connecting'));
  });

  it('without an offline queue, a command that would wait fails at once (ERR_OFFLINE)', async () => {
    const engine = engineOver(new FakePlacement(null), { offlineQueue: false });
    const set = command('set', 'k', 'v');
    engine.dispatch(set, view());
    await expect(set.promise).rejects.toBeInstanceOf(OfflineError);
    expect(engine.held).toBe(0);
  });

  it('routing failures settle at once: readFrom replica with no replica', async () => {
    const engine = engineOver(new FakePlacement(M, []));
    const get = command('get', 'k');
    engine.dispatch(get, view('replica'));
    await expect(get.promise).rejects.toBeInstanceOf(NoReplicaError);
  });

  it('failHeld() and close() settle everything held', async () => {
    const engine = engineOver(new FakePlacement(null));
    const a = command('set', 'a', '1');
    engine.dispatch(a, view());
    engine.failHeld(new Error('WRONGPASS'));
    await expect(a.promise).rejects.toThrow('WRONGPASS');
    const b = command('set', 'b', '1');
    engine.dispatch(b, view());
    engine.close(new Error('closed'));
    await expect(b.promise).rejects.toThrow('closed');
  });
});

describe('Engine: after a failure (judge)', () => {
  it('a read whose connection died is sent again, to the next replica', async () => {
    const p = new FakePlacement(M, [R1, R2]);
    const engine = engineOver(p);
    const get = command('get', 'k');
    engine.dispatch(get, view());
    expect(p.conn(R1).names).toEqual(['get']);
    get.reject(lost());
    expect(p.conn(R2).names).toEqual(['get']);
    expect(p.observations).toEqual(['connection-lost 127.0.0.1:6380']);
    expect(p.target(R1).counters.errors).toBe(1);
    get.resolve('v');
    await expect(get.promise).resolves.toBe('v');
  });

  it('a write whose connection died may have been applied: never resent, ERR_MAYBE_APPLIED', async () => {
    const p = new FakePlacement(M, [R1]);
    const engine = engineOver(p);
    const set = command('set', 'k', 'v');
    engine.dispatch(set, view());
    set.reject(lost());
    const error = await set.promise.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MaybeAppliedError);
    expect(error).toMatchObject({ code: 'ERR_MAYBE_APPLIED' });
    expect(p.conn(M).names).toEqual(['set']);
    expect(p.observations).toEqual(['connection-lost 127.0.0.1:6379']);
  });

  it('a write that met READONLY waits for a master that is another node, then goes there', async () => {
    const p = new FakePlacement(M, [R1]);
    const engine = engineOver(p);
    const set = command('set', 'k', 'v');
    engine.dispatch(set, view());
    set.reject(new Error("READONLY You can't write against a read only replica."));
    expect(engine.held).toBe(1);
    expect(p.observations).toEqual(['readonly 127.0.0.1:6379']);
    // The same master again (a stale picture): it keeps waiting.
    engine.drain();
    expect(engine.held).toBe(1);
    p.setNodes(R1, [M]);
    engine.drain();
    expect(p.conn(R1).names).toEqual(['set']);
    set.resolve('OK');
    await expect(set.promise).resolves.toBe('OK');
  });

  it('a read a replica cannot serve now (LOADING) goes to the master', async () => {
    const p = new FakePlacement(M, [R1]);
    const engine = engineOver(p);
    const get = command('get', 'k');
    engine.dispatch(get, view());
    get.reject(new Error('LOADING Redis is loading the dataset in memory'));
    expect(p.conn(M).names).toEqual(['get']);
    get.resolve('v');
    await expect(get.promise).resolves.toBe('v');
  });

  it("a reply error is the command's own answer", async () => {
    const engine = engineOver(new FakePlacement(M, []));
    const incr = command('incr', 'k');
    engine.dispatch(incr, view());
    incr.reject(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'));
    await expect(incr.promise).rejects.toThrow('WRONGTYPE');
  });

  it("a placement's own reply errors are looked at first (a cluster's MOVED): resend or hold", async () => {
    const p = new FakePlacement(M, []);
    p.replyError = (_a, e) => (e.message.startsWith('MOVED') ? 'resend' : e.message.startsWith('CLUSTERDOWN') ? 'hold' : null);
    const engine = engineOver(p);
    const set = command('set', 'k', 'v');
    engine.dispatch(set, view());
    set.reject(new Error('MOVED 1 127.0.0.1:6379'));
    expect(p.conn(M).names).toEqual(['set', 'set']);
    set.reject(new Error('CLUSTERDOWN The cluster is down'));
    expect(engine.held).toBe(1);
    engine.drain();
    set.resolve('OK');
    await expect(set.promise).resolves.toBe('OK');
  });
});

describe('Engine: durability', () => {
  const durable = view('replicaPreferred', { replicas: 1, timeoutMs: 100 });

  it('sends WAIT right behind the write on the same connection; resolves once WAIT counts enough replicas', async () => {
    const p = new FakePlacement(M, [R1]);
    const engine = engineOver(p);
    const set = command('set', 'k', 'v');
    engine.dispatch(set, durable);
    const conn = p.conn(M);
    expect(conn.names).toEqual(['set', 'wait']);
    expect(conn.sent[1]!.args).toEqual(['1', '100']);
    let done = false;
    void set.promise.then(() => (done = true));
    set.resolve('OK');
    await settled();
    expect(done).toBe(false);
    conn.sent[1]!.resolve(1);
    await expect(set.promise).resolves.toBe('OK');
  });

  it('rejects with ERR_NOT_REPLICATED when too few replicas acknowledged, or WAIT failed', async () => {
    const p = new FakePlacement(M, [R1]);
    const engine = engineOver(p);
    const a = command('set', 'a', 'v');
    const b = command('set', 'b', 'v');
    engine.dispatch(a, durable);
    engine.dispatch(b, durable);
    const [, waitA, , waitB] = p.conn(M).sent;
    a.resolve('OK');
    waitA!.resolve(0);
    b.resolve('OK');
    waitB!.reject(lost());
    await expect(a.promise).rejects.toBeInstanceOf(NotReplicatedError);
    await expect(b.promise).rejects.toMatchObject({ code: 'ERR_NOT_REPLICATED' });
  });

  it('a write that failed keeps its own error; reads get no WAIT', async () => {
    const p = new FakePlacement(M, [R1]);
    const engine = engineOver(p);
    const set = command('set', 'k', 'v');
    engine.dispatch(set, durable);
    set.reject(new Error('OOM command not allowed'));
    p.conn(M).sent[1]!.resolve(1);
    await expect(set.promise).rejects.toThrow('OOM');
    const get = command('get', 'k');
    engine.dispatch(get, durable);
    expect(p.conn(R1).names).toEqual(['get']);
  });

  it('inside MULTI only EXEC waits for replicas (the queued commands are only queued)', () => {
    const p = new FakePlacement(M, []);
    const engine = engineOver(p);
    engine.dispatch(command('multi'), durable);
    engine.dispatch(command('set', 'k', 'v'), durable);
    engine.dispatch(command('exec'), durable);
    expect(p.conn(M).names).toEqual(['multi', 'set', 'exec', 'wait']);
  });
});

describe('Engine: read-your-writes', () => {
  it('records a write as it is issued, sends a read of it to the master until a replica has it, settles the record on reply', async () => {
    const p = new FakePlacement(M, [R1]);
    const writes = new FakeWrites();
    const engine = engineOver(p, { writes });
    const set = command('set', 'k', 'v');
    engine.dispatch(set, view());
    expect(writes.seq).toBe(1);
    engine.dispatch(command('get', 'k'), view());
    engine.dispatch(command('get', 'other'), view());
    expect(p.conn(M).names).toEqual(['set', 'get']);
    expect(p.conn(R1).names).toEqual(['get']);
    expect(engine.readYourWritesRedirects).toBe(1);
    p.target(R1).reached = 1;
    engine.dispatch(command('get', 'k'), view());
    expect(p.conn(R1).names).toEqual(['get', 'get']);
    set.resolve('OK');
    await set.promise;
    expect(writes.settledSeqs).toEqual([1]);
  });

  it('whether a write is tracked is decided when it is issued (before any view reads from replicas: not tracked, even if sent later)', async () => {
    const p = new FakePlacement(null, [R1]);
    const writes = new FakeWrites();
    writes.active = false;
    const engine = engineOver(p, { writes });
    const set = command('set', 'k', 'v');
    engine.dispatch(set, view());
    writes.active = true;
    p.setNodes(M, [R1]);
    engine.drain();
    expect(p.conn(M).names).toEqual(['set']);
    expect(writes.seq).toBe(0);
    set.resolve('OK');
    await expect(set.promise).resolves.toBe('OK');
    expect(writes.settledSeqs).toEqual([]);
  });

  it('a read that needs a write not sent yet (no master connected) goes where that write goes, behind it, not to a replica', async () => {
    const p = new FakePlacement(M, [R1]);
    p.conn(M).status = 'connecting';
    const writes = new FakeWrites();
    const engine = engineOver(p, { writes });
    const set = command('set', 'k', 'v');
    engine.dispatch(set, view());
    const batch = engine.dispatchBatch([command('set', 'b', '1')], false, view());
    expect(writes.seq).toBe(2);
    expect(writes.unsent).toEqual(new Set([1, 2]));
    const get = command('get', 'k');
    engine.dispatch(get, view());
    engine.dispatchBatch([command('get', 'b')], false, view());
    engine.dispatch(command('get', 'other'), view());
    expect(p.conn(R1).names).toEqual(['get']);
    expect(engine.held).toBe(4);
    p.conn(M).status = 'ready';
    p.target(M).ready = true;
    engine.drain();
    expect(engine.held).toBe(0);
    expect(writes.unsent.size).toBe(0);
    expect(p.conn(M).names).toEqual(['set', 'get']);
    expect(p.conn(M).batches).toHaveLength(2);
    set.resolve('OK');
    p.conn(M).batches[0]!.settle.resolve([[null, 'OK']]);
    await batch;
    expect(writes.settledSeqs).toEqual([1, 2]);
  });

  it('a write never sent settles its record when it fails (a single, a batch)', async () => {
    const writes = new FakeWrites();
    const engine = engineOver(new FakePlacement(null, [R1]), { writes, offlineQueue: false });
    const set = command('set', 'k', 'v');
    engine.dispatch(set, view());
    await expect(set.promise).rejects.toBeInstanceOf(OfflineError);
    await expect(engine.dispatchBatch([command('set', 'a', '1')], false, view())).resolves.toEqual([[expect.any(OfflineError)]]);
    expect(writes.settledSeqs).toEqual([1, 2]);
    expect(writes.unsent.size).toBe(0);
  });

  it('a write that failed no longer holds back reads (its record settles with it)', async () => {
    const p = new FakePlacement(M, [R1]);
    const writes = new FakeWrites();
    const engine = engineOver(p, { writes });
    const set = command('set', 'k', 'v');
    engine.dispatch(set, view());
    set.reject(lost());
    await set.promise.catch(() => undefined);
    expect(writes.settledSeqs).toEqual([1]);
  });
});

describe('Engine: batches', () => {
  it('a pipeline of reads goes to a replica, one with a write to the master; the result is the pipeline’s', async () => {
    const p = new FakePlacement(M, [R1]);
    const engine = engineOver(p);
    const reads = engine.dispatchBatch([command('get', 'a'), command('get', 'b')], false, view());
    const mixed = engine.dispatchBatch([command('get', 'a'), command('set', 'b', '1')], false, view());
    expect(p.conn(R1).batches).toHaveLength(1);
    expect(p.conn(M).batches).toHaveLength(1);
    p.conn(R1).batches[0]!.settle.resolve([[null, '1'], [null, '2']]);
    p.conn(M).batches[0]!.settle.resolve([[null, '1'], [null, 'OK']]);
    await expect(reads).resolves.toEqual([[null, '1'], [null, '2']]);
    await expect(mixed).resolves.toEqual([[null, '1'], [null, 'OK']]);
  });

  it('a read pipeline whose connection died is sent again (as copies); a write pipeline may have been applied', async () => {
    const p = new FakePlacement(M, [R1, R2]);
    const engine = engineOver(p);
    const gets = [command('get', 'a')];
    const reads = engine.dispatchBatch(gets, false, view());
    p.conn(R1).batches[0]!.settle.resolve([[lost()]]);
    await settled();
    const again = p.conn(R2).batches[0]!;
    expect(again.commands[0]).not.toBe(gets[0]);
    again.settle.resolve([[null, '1']]);
    await expect(reads).resolves.toEqual([[null, '1']]);

    const write = engine.dispatchBatch([command('set', 'a', '1')], false, view());
    p.conn(M).batches[0]!.settle.resolve([[lost()]]);
    await expect(write).rejects.toBeInstanceOf(MaybeAppliedError);
  });

  it('never sent: a pipeline resolves with the error for each command, a transaction rejects', async () => {
    const pipeline = engineOver(new FakePlacement(M, [])).dispatchBatch([command('get', 'a'), command('get', 'b')], false, view('replica'));
    const [[first], [second]] = (await pipeline) as [[Error], [Error]];
    expect(first).toBeInstanceOf(NoReplicaError);
    expect(second).toBe(first);
    const offline = engineOver(new FakePlacement(null), { offlineQueue: false });
    await expect(offline.dispatchBatch([command('set', 'a', '1')], true, view())).rejects.toBeInstanceOf(OfflineError);
    await expect(offline.dispatchBatch([command('set', 'a', '1')], false, view())).resolves.toEqual([[expect.any(OfflineError)]]);
  });

  it('a durable write batch gets one WAIT behind it, and records its writes', async () => {
    const p = new FakePlacement(M, [R1]);
    const writes = new FakeWrites();
    const engine = engineOver(p, { writes });
    const done = engine.dispatchBatch([command('set', 'a', '1'), command('get', 'a'), command('set', 'b', '1')], true, view('replicaPreferred', { replicas: 1, timeoutMs: 50 }));
    const conn = p.conn(M);
    expect(conn.batches[0]!.transaction).toBe(true);
    expect(conn.names).toEqual(['wait']);
    expect(writes.seq).toBe(2);
    conn.batches[0]!.settle.resolve([[null, 'OK'], [null, '1'], [null, 'OK']]);
    await settled();
    conn.sent[0]!.resolve(1);
    await expect(done).resolves.toHaveLength(3);
    expect(writes.settledSeqs).toEqual([1, 2]);
  });

  it("WAIT's count may come before the batch's result (both parsed from one read; the result arrives through a promise)", async () => {
    const p = new FakePlacement(M, [R1]);
    const engine = engineOver(p);
    const done = engine.dispatchBatch([command('set', 'a', '1')], false, view('replicaPreferred', { replicas: 1, timeoutMs: 50 }));
    const conn = p.conn(M);
    conn.sent[0]!.resolve(1);
    conn.batches[0]!.settle.resolve([[null, 'OK']]);
    await expect(done).resolves.toEqual([[null, 'OK']]);
  });

  it("a placement's own error in a pipeline's result (a cluster's MOVED, nothing ran) sends the batch again, as copies", async () => {
    const p = new FakePlacement(M, []);
    p.batchError = (_a, result) => ((result as [Error | null][])[0]![0]?.message.startsWith('MOVED') === true ? 'resend' : null);
    const engine = engineOver(p);
    const get = command('get', 'a');
    const done = engine.dispatchBatch([get], false, view('master'));
    const conn = p.conn(M);
    conn.batches[0]!.settle.resolve([[new Error('MOVED 1 127.0.0.1:6379')]]);
    await settled();
    expect(conn.batches).toHaveLength(2);
    expect(conn.batches[1]!.commands[0]).not.toBe(get);
    conn.batches[1]!.settle.resolve([[null, 'v']]);
    await expect(done).resolves.toEqual([[null, 'v']]);
  });
});
