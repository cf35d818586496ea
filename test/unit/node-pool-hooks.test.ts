import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { NodePool, type ConnectionPurpose } from '../../src/pool/node-pool.js';

/** A stand-in connection: the test emits what ioredis would ('ready', 'close' on every failed attempt). */
class FakeConnection extends EventEmitter {
  status = 'connecting';
  connects = 0;
  connect(): Promise<void> {
    this.connects++;
    this.status = 'connecting';
    return Promise.resolve();
  }
  disconnect(): void {
    this.status = 'end';
  }
}

function pool() {
  const made: FakeConnection[] = [];
  const seen: string[] = [];
  const nodes = new NodePool({
    redisOptions: {},
    poolSize: 1,
    factory: () => {
      const conn = new FakeConnection();
      made.push(conn);
      return conn as unknown as Redis;
    },
    hooks: {
      onReady: (node) => seen.push(`ready ${node.address}`),
      onClose: (node, purpose: ConnectionPurpose) => seen.push(`close ${purpose} ${node.address}`),
      onBack: (node) => seen.push(`back ${node.address}`),
      onError: () => undefined,
    },
  });
  return { nodes, made, seen };
}

describe('NodePool hooks: losses and returns, not reconnect attempts', () => {
  it('a lost connection is reported once, not for each failed attempt; its return is reported once', () => {
    const { nodes, made, seen } = pool();
    nodes.node({ host: '127.0.0.1', port: 6379 }).control();
    const control = made[0]!;
    control.emit('ready');
    expect(seen).toEqual([]);
    control.emit('close');
    // ioredis says 'close' again after every failed reconnect (ECONNREFUSED while the node is down).
    for (let i = 0; i < 5; i++) control.emit('close');
    expect(seen).toEqual(['close control 127.0.0.1:6379']);
    control.emit('ready');
    expect(seen).toEqual(['close control 127.0.0.1:6379', 'back 127.0.0.1:6379']);
  });

  it('a node that was down when first asked is reported back when its control connection first gets through', () => {
    const { nodes, made, seen } = pool();
    nodes.node({ host: '127.0.0.1', port: 6380 }).control();
    made[0]!.emit('close');
    made[0]!.emit('close');
    expect(seen).toEqual([]);
    made[0]!.emit('ready');
    expect(seen).toEqual(['back 127.0.0.1:6380']);
  });

  it('data connections: ready each time, a loss once; no return of their own (the control connection says it)', () => {
    const { nodes, made, seen } = pool();
    nodes.node({ host: '127.0.0.1', port: 6381 }).open();
    const data = made[0]!;
    data.emit('ready');
    data.emit('close');
    data.emit('close');
    data.emit('ready');
    expect(seen).toEqual(['ready 127.0.0.1:6381', 'close data 127.0.0.1:6381', 'ready 127.0.0.1:6381']);
  });

  it('the control connection back: data connections waiting out their reconnect delay try at once', () => {
    const { nodes, made } = pool();
    const node = nodes.node({ host: '127.0.0.1', port: 6382 });
    node.open();
    node.control();
    const [data, control] = [made[0]!, made[1]!];
    data.emit('ready');
    control.emit('ready');
    data.emit('close');
    control.emit('close');
    data.status = 'reconnecting';
    control.status = 'reconnecting';
    // ioredis reconnects the control connection first (its delays are shorter).
    control.status = 'ready';
    control.emit('ready');
    expect(data.connects).toBe(1);
    expect(control.connects).toBe(0);
    // Asked again (a Sentinel handover polling the promoted replica): only what still waits.
    node.reconnectNow();
    expect(data.connects).toBe(1);
  });
});
