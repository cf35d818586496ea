import type { Redis } from 'ioredis';
import { parseClusterShards } from '../cluster/shards.js';
import { parseInfo } from '../topology/info-parser.js';
import type { ClusterShard } from './cluster-options.js';

/** `true` once the node knows every one of `expected` nodes and is in handshake with none. */
export async function knowsAll(client: Redis, expected: number): Promise<true | string> {
  const lines = String(await client.call('CLUSTER', 'NODES'))
    .split('\n')
    .filter((line) => line.trim() !== '');
  const pending = lines.filter((line) => /handshake|noaddr/.test(line.split(' ')[2] ?? '')).length;
  if (lines.length === expected && pending === 0) return true;
  return `knows ${lines.length - pending}/${expected} nodes`;
}

/**
 * `true` once the node serves every slot (`cluster_state:ok`) and its `CLUSTER SHARDS` is
 * `expected`: every master on its slots, every replica under its master and synced (`online`;
 * until a replica has an offset Redis calls it `loading` and leaves it out of `CLUSTER SLOTS`).
 */
export async function servesLayout(client: Redis, expected: ClusterShard[]): Promise<true | string> {
  const info = parseInfo(String(await client.call('CLUSTER', 'INFO')));
  if (info['cluster_state'] !== 'ok') return `cluster_state:${info['cluster_state'] ?? '?'}`;
  const shards = parseClusterShards(await client.call('CLUSTER', 'SHARDS'), client.options.host);
  const seen = shards
    .filter((s) => s.slots.length > 0)
    .map((s) => ({
      master: s.master ? `${s.master.address}${s.master.health === 'online' ? '' : ` ${s.master.health}`}` : '-',
      replicas: s.replicas.map((r) => `${r.address}${r.health === 'online' ? '' : ` ${r.health}`}`).sort(),
      slots: s.slots,
    }));
  const want = expected.map((s) => ({ master: s.master, replicas: [...s.replicas].sort(), slots: s.slots }));
  return JSON.stringify(seen) === JSON.stringify(want) || `shards ${JSON.stringify(seen)}`;
}

/** `true` once the node reports `cluster_state:ok`. */
export async function clusterStateOk(client: Redis): Promise<true | string> {
  const state = parseInfo(String(await client.call('CLUSTER', 'INFO')))['cluster_state'];
  return state === 'ok' || `cluster_state:${state ?? '?'}`;
}
