/**
 * The other Node.js clients the benchmark measures beside ioredis: node-redis (npm `redis`) and
 * valkey-glide (`@valkey/valkey-glide`, a Rust core in the same process, driven over a native
 * binding). Each is wrapped in one small shape, `Peer`, so that every section drives them alike.
 *
 * What each can be asked to do here, and what not, is said by `PEER_LIMITS` (the tables print it
 * in the row of a peer that cannot run a workload, rather than leaving the row out).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GlideClient, type ReadFrom } from '@valkey/valkey-glide';
import { createClient, createSentinel } from 'redis';
import { hostPort } from './harness.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

function installed(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export const NODE_REDIS = `node-redis ${installed('redis')}`;
export const GLIDE = `valkey-glide ${installed('@valkey/valkey-glide')}`;

/** What every section needs of a peer client. `close()` is a hard close: what is pending fails. */
export interface Peer {
  label: string;
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
  /** `WAIT replicas timeout` on the connection the writes go through. */
  wait(replicas: number, timeoutMs: number): Promise<number>;
  /** Connects (glide: creates the client); resolves once a command can be sent. */
  ready(): Promise<unknown>;
  close(): void;
}

/** The part of node-redis's client and Sentinel client used here (their full types do not unify). */
interface NodeRedisLike {
  on(event: 'error', listener: (error: Error) => void): unknown;
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
  connect(): Promise<unknown>;
  destroy(): unknown;
}

function nodeRedisPeer(label: string, client: NodeRedisLike, wait: (args: string[]) => Promise<unknown>): Peer {
  // node-redis emits 'error' on every failed (re)connection: without a listener it throws.
  client.on('error', () => undefined);
  let closed = false;
  return {
    label,
    set: (key, value) => client.set(key, value),
    get: (key) => client.get(key),
    wait: async (replicas, timeoutMs) => Number(await wait(['WAIT', String(replicas), String(timeoutMs)])),
    ready: () => client.connect(),
    close: () => {
      if (closed) return;
      closed = true;
      try {
        client.destroy();
      } catch {
        // not connected yet
      }
    },
  };
}

/** node-redis `createClient` on one fixed address: it never moves. */
export function nodeRedisClient(address: string, label = `${NODE_REDIS}, fixed master address`): Peer {
  const client = createClient({ socket: hostPort(address) });
  return nodeRedisPeer(label, client, (args) => client.sendCommand(args));
}

/**
 * node-redis `createSentinel`: its Sentinel client. `replicaPoolSize > 0` sends read-only commands
 * to the replicas (round robin over one connection per replica); 0 (its default) keeps all on the master.
 */
export function nodeRedisSentinel(sentinels: readonly string[], name: string, replicaPoolSize = 0): Peer {
  const sentinel = createSentinel({ name, sentinelRootNodes: sentinels.map(hostPort), replicaPoolSize });
  const label = replicaPoolSize > 0 ? `${NODE_REDIS} \`createSentinel\`, \`replicaPoolSize: ${replicaPoolSize}\`` : `${NODE_REDIS} \`createSentinel\``;
  // The Sentinel client's `sendCommand` takes "is it read-only" first: WAIT goes to the master.
  return nodeRedisPeer(label, sentinel, (args) => sentinel.sendCommand(false, args));
}

/**
 * valkey-glide `GlideClient` (standalone) given `addresses`: it finds the primary among them and,
 * with `readFrom: 'preferReplica'`, spreads reads over the replicas it was given. Its defaults but
 * one: `requestTimeout` 5000 ms instead of 250 ms, which on a machine whose two cores the servers
 * share would fail commands that are merely slow (ioredis and node-redis have no such timeout).
 */
export function glideClient(addresses: readonly string[], readFrom: ReadFrom = 'primary', label?: string): Peer {
  let client: GlideClient | null = null;
  let closed = false;
  const use = (): GlideClient => {
    if (!client) throw new Error(`${GLIDE}: not connected`);
    return client;
  };
  return {
    label: label ?? `${GLIDE} \`GlideClient\`${readFrom === 'primary' ? '' : `, \`readFrom: '${readFrom}'\``}`,
    set: (key, value) => use().set(key, value),
    get: (key) => use().get(key),
    wait: async (replicas, timeoutMs) => Number(await use().customCommand(['WAIT', String(replicas), String(timeoutMs)])),
    ready: async () => {
      client = await GlideClient.createClient({ addresses: addresses.map(hostPort), readFrom, requestTimeout: 5000 });
      if (closed) client.close();
    },
    close: () => {
      if (closed) return;
      closed = true;
      client?.close();
    },
  };
}

/** Rows a peer cannot run, and why: printed in that peer's row. */
export const PEER_LIMITS = {
  glideSentinel: 'valkey-glide has no Sentinel support: given the master and replicas as addresses it finds the primary among them at connect time',
} as const;
