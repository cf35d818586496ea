import { describe, expectTypeOf, it } from 'vitest';
import type { FailoverClusterEvents, FailoverClusterOptions, FailoverEvent, FailoverRedis, FailoverRedisEvents, FailoverRedisOptions, NodeEvent, NodeState, ReadFromName, ResubscribedEvent, RoleChangeEvent, Topology, TopologyChange, ZonesOption } from '../../src/index.js';

describe('public types', () => {
  it('pins the event map', () => {
    expectTypeOf<FailoverRedisEvents['failover']>().toEqualTypeOf<[event: FailoverEvent]>();
    expectTypeOf<FailoverRedisEvents['topology']>().toEqualTypeOf<[topology: Topology, changes: TopologyChange[]]>();
    expectTypeOf<FailoverRedisEvents['node-down']>().toEqualTypeOf<[event: NodeEvent]>();
    expectTypeOf<FailoverRedisEvents['role-change']>().toEqualTypeOf<[event: RoleChangeEvent]>();
    expectTypeOf<FailoverRedisEvents['error']>().toEqualTypeOf<[error: Error]>();
    expectTypeOf<FailoverRedisEvents['resubscribed']>().toEqualTypeOf<[event: ResubscribedEvent]>();
    expectTypeOf<FailoverClusterEvents['resubscribed']>().toEqualTypeOf<[event: ResubscribedEvent]>();
    expectTypeOf<ResubscribedEvent>().toEqualTypeOf<{
      channels: string[];
      patterns: string[];
      shardChannels: string[];
      from: string | null;
      to: string;
      gapMs: number;
    }>();
    expectTypeOf<FailoverEvent>().toEqualTypeOf<{ from: string | null; to: string | null; reason: string; durationMs: number }>();
  });

  it('pins the zone options and the node zone', () => {
    expectTypeOf<'zoneAffinity' | 'zoneAffinityReplicasAndPrimary'>().toMatchTypeOf<ReadFromName>();
    expectTypeOf<FailoverRedisOptions['zone']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<FailoverRedisOptions['zones']>().toEqualTypeOf<ZonesOption | undefined>();
    expectTypeOf<FailoverClusterOptions['zones']>().toEqualTypeOf<ZonesOption | undefined>();
    expectTypeOf<NodeState['zone']>().toEqualTypeOf<string | null>();
  });

  it('has ioredis command signatures', () => {
    expectTypeOf<FailoverRedis['get']>().toBeCallableWith('key');
    expectTypeOf<ReturnType<FailoverRedis['hgetall']>>().toEqualTypeOf<Promise<Record<string, string>>>();
    expectTypeOf<ReturnType<FailoverRedis['getBuffer']>>().toEqualTypeOf<Promise<Buffer | null>>();
  });
});
