import { describe, expectTypeOf, it } from 'vitest';
import type { FailoverClusterEvents, FailoverEvent, FailoverRedis, FailoverRedisEvents, ResubscribedEvent, NodeEvent, RoleChangeEvent, Topology, TopologyChange } from '../../src/index.js';

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

  it('has ioredis command signatures', () => {
    expectTypeOf<FailoverRedis['get']>().toBeCallableWith('key');
    expectTypeOf<ReturnType<FailoverRedis['hgetall']>>().toEqualTypeOf<Promise<Record<string, string>>>();
    expectTypeOf<ReturnType<FailoverRedis['getBuffer']>>().toEqualTypeOf<Promise<Buffer | null>>();
  });
});
