import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { io as connectClient, type Socket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import type { FailoverRedis } from '../../../src/index.js';
import { killMaster, sharedSet, MODES, sleep } from '../../helpers/libraries.js';
import { resources } from '../../helpers/resources.js';
import { waitFor } from '../../helpers/writer.js';

const res = resources();

interface Side {
  http: HttpServer;
  io: Server;
  client: Socket;
  /** Payloads this side's client received, in order. */
  got: string[];
}

/** A Socket.IO server on 127.0.0.1 (random port) with the Redis adapter on `pub`/`sub`, and one client. */
async function side(pub: Redis | FailoverRedis, sub: Redis | FailoverRedis): Promise<Side> {
  const http = createServer();
  const io = new Server(http, { adapter: createAdapter(pub, sub) });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  const client = connectClient(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true, reconnection: false });
  const got: string[] = [];
  client.on('msg', (m: string) => got.push(m));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('connect_error', reject);
  });
  return { http, io, client, got };
}

async function close(sides: Side[]): Promise<void> {
  for (const s of sides) {
    s.client.disconnect();
    await new Promise<void>((resolve) => s.io.close(() => resolve()));
  }
}

/** 10 broadcasts from each server; resolves with how many of the 20 each client received. */
async function exchange(sides: Side[], tag: string): Promise<number[]> {
  for (let i = 0; i < 10; i++) for (const [n, s] of sides.entries()) s.io.emit('msg', `${tag}:${n}:${i}`);
  const count = () => sides.map((s) => s.got.filter((m) => m.startsWith(`${tag}:`)).length);
  await waitFor(`20 ${tag} messages on each client`, () => count().every((c) => c === 20) || undefined, 5000).catch(() => undefined);
  await sleep(100); // and no more than 20
  return count();
}

describe.each(MODES)('@socket.io/redis-adapter 8, two Socket.IO servers, %s mode', (mode) => {
  const shared = sharedSet(res, mode);

  it('control, plain ioredis pub/sub on the master: 10 broadcasts from each server reach both clients (20 each); fetchSockets() sees both clients', async () => {
    const ms = await shared();
    const [host, port] = ms.set.master.split(':');
    const pubs = [0, 1].map(() => new Redis({ host, port: Number(port) }));
    const subs = pubs.map((p) => p.duplicate());
    const sides = [await side(pubs[0]!, subs[0]!), await side(pubs[1]!, subs[1]!)];
    try {
      await sleep(200); // the subscriptions are made
      expect(await exchange(sides, 'plain')).toEqual([20, 20]);
      expect((await sides[0]!.io.fetchSockets()).length).toBe(2);
    } finally {
      await close(sides);
      for (const c of [...pubs, ...subs]) c.disconnect();
    }
  });

  it('kill -9 of the master between broadcasts: 20 of 20 on each client before, pub/sub re-made on the new master, 20 of 20 after; fetchSockets() before and after sees both; no publish rejected', async () => {
    const ms = await shared();
    const pubs = [0, 1].map(() => res.client(ms.options()));
    const subs = pubs.map((p) => res.track(p.duplicate()));
    await Promise.all([...pubs, ...subs].map((c) => c.connect()));
    const sides = [await side(pubs[0]!, subs[0]!), await side(pubs[1]!, subs[1]!)];
    try {
      await sleep(200);
      expect(await exchange(sides, 'before')).toEqual([20, 20]);
      expect((await sides[0]!.io.fetchSockets()).length).toBe(2);

      // No broadcast is in flight at the kill: the adapter does not catch publish rejections.
      const { address } = await killMaster(ms, pubs[0]!);
      for (const c of [pubs[1]!, ...subs]) await waitFor('every client on the new master', () => c.topology().master?.address === address || undefined);
      // Pub/sub is at most once: a message published before a subscriber is back is gone. Probe
      // across servers until one crosses each way, counting those that did not.
      let probes = 0;
      await waitFor(
        'a broadcast crossing both ways on the new master',
        async () => {
          probes++;
          sides[0]!.io.emit('msg', `probe:0:${probes}`);
          sides[1]!.io.emit('msg', `probe:1:${probes}`);
          await sleep(50);
          return (sides[1]!.got.some((m) => m.startsWith('probe:0:')) && sides[0]!.got.some((m) => m.startsWith('probe:1:'))) || undefined;
        },
        20_000,
      );
      const after = await exchange(sides, 'after');
      const fetched = (await sides[1]!.io.fetchSockets()).length;
      console.log(
        `socket.io ${mode}: before 20/20 each; new master ${address}; ${probes} probe rounds until broadcasts crossed both ways ` +
          `(client 0 got ${sides[0]!.got.filter((m) => m.startsWith('probe:1:')).length}, client 1 got ${sides[1]!.got.filter((m) => m.startsWith('probe:0:')).length} of the other server's); after ${after.join('/')}; fetchSockets ${fetched}`,
      );
      expect(after).toEqual([20, 20]);
      expect(fetched).toBe(2);
    } finally {
      await close(sides);
    }
  });
});
