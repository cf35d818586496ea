import { describe, expectTypeOf, it } from 'vitest';
import type { ClusterTopology, FailoverCluster, FailoverClusterEvents, FailoverEvent, NodeEvent, NodeState } from '../../../src/index.js';

describe('FailoverCluster public types', () => {
  it('pins the event map and the topology', () => {
    expectTypeOf<FailoverClusterEvents['failover']>().toEqualTypeOf<[event: FailoverEvent]>();
    expectTypeOf<FailoverClusterEvents['topology']>().toEqualTypeOf<[topology: ClusterTopology]>();
    expectTypeOf<FailoverClusterEvents['node-down']>().toEqualTypeOf<[event: NodeEvent]>();
    expectTypeOf<FailoverClusterEvents['smessage']>().toEqualTypeOf<[channel: string, message: string]>();
    expectTypeOf<ClusterTopology>().toEqualTypeOf<{
      source: 'cluster';
      shards: Array<{ slots: Array<[number, number]>; master: NodeState | null; replicas: NodeState[] }>;
    }>();
  });

  it('has ioredis command signatures', () => {
    expectTypeOf<FailoverCluster['get']>().toBeCallableWith('key');
    expectTypeOf<ReturnType<FailoverCluster['hgetall']>>().toEqualTypeOf<Promise<Record<string, string>>>();
    expectTypeOf<ReturnType<FailoverCluster['topology']>>().toEqualTypeOf<ClusterTopology>();
  });
});
