import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startReplicaSet } from '../../src/testing/index.js';
import type { ReplicaSet } from '../../src/testing/index.js';
import { isAlive } from '../helpers/process.js';

const clients: Redis[] = [];

function connect(addr: string, password?: string): Redis {
  const [host, port] = addr.split(':');
  const client = new Redis({ host, port: Number(port), password, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  clients.push(client);
  return client;
}

async function replication(addr: string, password?: string): Promise<Record<string, string>> {
  const client = connect(addr, password);
  try {
    const info = await client.info('replication');
    return Object.fromEntries(
      info
        .split('\r\n')
        .filter((line) => line.includes(':'))
        .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]),
    );
  } finally {
    client.disconnect();
  }
}

/** Polls INFO replication of `addr` until `accept` holds (generous bound). */
async function eventually(
  addr: string,
  accept: (fields: Record<string, string>) => boolean,
  timeoutMs = 10_000,
): Promise<Record<string, string>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const fields = await replication(addr).catch(() => ({}) as Record<string, string>);
    if (accept(fields)) return fields;
    if (Date.now() > deadline) throw new Error(`${addr}: not there in time: ${JSON.stringify(fields)}`);
    await delay(50);
  }
}

function portOf(addr: string): string {
  return addr.slice(addr.lastIndexOf(':') + 1);
}

afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

describe('a master and two replicas', () => {
  let rs: ReplicaSet;

  beforeAll(async () => {
    rs = await startReplicaSet({ replicas: 2 });
  });
  afterAll(() => rs?.stop());

  it('starts with every replica linked to the master', async () => {
    expect(rs.nodes).toEqual([rs.master, ...rs.replicas]);
    expect(rs.replicas).toHaveLength(2);
    expect(rs.sentinels).toEqual([]);
    expect(new Set(rs.nodes).size).toBe(3);
    for (const addr of rs.nodes) expect(addr).toMatch(/^127\.0\.0\.1:\d+$/);

    const master = await replication(rs.master);
    expect(master['role']).toBe('master');
    expect(master['connected_slaves']).toBe('2');
    for (const addr of rs.replicas) {
      const replica = await replication(addr);
      expect(replica['role']).toBe('slave');
      expect(replica['master_port']).toBe(portOf(rs.master));
      expect(replica['master_link_status']).toBe('up');
    }
  });

  it('pauses and resumes a node', async () => {
    const addr = rs.replicas[1]!;
    const client = connect(addr);
    expect(await client.ping()).toBe('PONG');

    rs.pause(addr);
    expect(rs.pid(addr)).toBeTypeOf('number');
    const pending = client.ping();
    const answer = await Promise.race([pending, delay(300, 'no answer')]);
    expect(answer).toBe('no answer');

    rs.resume(addr);
    expect(await pending).toBe('PONG');
    expect(await client.ping()).toBe('PONG');
  });

  it('kills the master and restarts it as a replica, then as a master', async () => {
    const oldPid = rs.pid(rs.master)!;
    await rs.kill(rs.master);
    expect(rs.pid(rs.master)).toBeUndefined();
    expect(isAlive(oldPid)).toBe(false);

    // A replica whose master is gone refuses to feed sub-replicas: promote one first.
    const [promoted, other] = rs.replicas as [string, string];
    await connect(promoted).replicaof('NO', 'ONE');
    await rs.restart(rs.master, { asReplicaOf: promoted });
    expect(rs.pid(rs.master)).not.toBe(oldPid);
    const asReplica = await eventually(rs.master, (f) => f['master_link_status'] === 'up');
    expect(asReplica['role']).toBe('slave');
    expect(asReplica['master_port']).toBe(portOf(promoted));

    // Restart on a running node kills it first; without options it comes back a master.
    await rs.restart(rs.master);
    expect((await replication(rs.master))['role']).toBe('master');
    // The other replica still follows that address and reconnects; the promoted one rejoins.
    await connect(promoted).replicaof('127.0.0.1', portOf(rs.master));
    for (const addr of [promoted, other]) {
      await eventually(addr, (f) => f['master_port'] === portOf(rs.master) && f['master_link_status'] === 'up');
    }
    await eventually(rs.master, (f) => f['connected_slaves'] === '2');
  });

  it('leaves no process behind after stop()', async () => {
    const pids = rs.nodes.map((addr) => rs.pid(addr)!);
    expect(pids.every(isAlive)).toBe(true);
    rs.pause(rs.replicas[0]!);
    await rs.stop();
    await rs.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect(rs.pid(rs.master)).toBeUndefined();
    await expect(rs.restart(rs.master)).rejects.toThrow(/stopped/);
  });
});

describe('with three Sentinels and a password', () => {
  let rs: ReplicaSet;

  beforeAll(async () => {
    rs = await startReplicaSet({
      replicas: 2,
      sentinels: 3,
      name: 'primary',
      password: 's3cret',
      args: ['--maxmemory-policy', 'allkeys-lru'],
    });
  });
  afterAll(() => rs?.stop());

  it('every Sentinel knows the master, the replicas and the other Sentinels', async () => {
    expect(rs.name).toBe('primary');
    expect(rs.sentinels).toHaveLength(3);
    for (const addr of rs.sentinels) {
      const sentinel = connect(addr);
      expect(await sentinel.call('SENTINEL', 'get-master-addr-by-name', 'primary')).toEqual(
        rs.master.split(':'),
      );
      expect(await sentinel.call('SENTINEL', 'sentinels', 'primary')).toHaveLength(2);
      expect(await sentinel.call('SENTINEL', 'replicas', 'primary')).toHaveLength(2);
      const master = (await sentinel.call('SENTINEL', 'master', 'primary')) as string[];
      expect(master[master.indexOf('quorum') + 1]).toBe('2');
    }
  });

  it('applies the password and the extra args to every data node', async () => {
    for (const addr of rs.nodes) {
      await expect(connect(addr).ping()).rejects.toThrow(/NOAUTH/);
      const client = connect(addr, 's3cret');
      expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'allkeys-lru']);
      expect(await client.config('GET', 'save')).toEqual(['save', '']);
    }
  });

  it('restarts a Sentinel on its port from the config it rewrote', async () => {
    const addr = rs.sentinels[0]!;
    const oldPid = rs.pid(addr);
    await rs.kill(addr);
    expect(rs.pid(addr)).toBeUndefined();
    await rs.restart(addr);
    expect(rs.pid(addr)).not.toBe(oldPid);
    const sentinel = connect(addr);
    expect(await sentinel.call('SENTINEL', 'get-master-addr-by-name', 'primary')).toEqual(rs.master.split(':'));
    // It kept its id and what it had learnt, so it knows the other two at once.
    expect(await sentinel.call('SENTINEL', 'sentinels', 'primary')).toHaveLength(2);
  });

  it('stops the Sentinels too', async () => {
    const pids = [...rs.nodes, ...rs.sentinels].map((addr) => rs.pid(addr)!);
    expect(pids).toHaveLength(6);
    await rs.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe('a set that cannot start', () => {
  it('fails naming what did not come up', async () => {
    await expect(startReplicaSet({ replicas: 1, args: ['--no-such-option', 'x'] })).rejects.toThrow(
      /master did not start/,
    );
  });
});
