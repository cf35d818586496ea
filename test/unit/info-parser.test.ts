import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseInfo, parseInfoReplication, replicationToNodeState } from '../../src/topology/info-parser.js';
import type { ReplicationInfo } from '../../src/topology/info-parser.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/info-replication/${name}`, import.meta.url), 'utf8');

const FIXTURES = [
  'replica-link-down-a.txt',
  'replica-link-down-b.txt',
  'promoted-replica.txt',
  'replica-of-promoted.txt',
  'promoted-with-one-replica.txt',
  'restarted-old-master.txt',
  'old-master-rejoined.txt',
  'promoted-with-two-replicas.txt',
  'sentinel-promoted-master.txt',
  'stranded-master-0-linked.txt',
  'stranded-master-1-acks-stopped.txt',
  'stranded-master-2-no-replicas.txt',
  'stranded-master-3-healed.txt',
  'cycle-a-follows-b.txt',
  'cycle-b-follows-a.txt',
  'cycle-c-follows-b.txt',
];

const OLD_REPLID = '943718468a346457e58ad233607f464998e6159c';
const NEW_REPLID = '458e0f8b3f40adb50a3dca8cc90e76b96937107b';
const STRANDED_REPLID = 'fc18006a3543c90b0db9bb3478531c24b3538007';
const ZEROS = '0000000000000000000000000000000000000000';

/** The fields a master's reply lacks, all null. */
const NO_REPLICA_FIELDS = {
  masterHost: null,
  masterPort: null,
  masterLinkStatus: null,
  masterLastIoSecondsAgo: null,
  masterSyncInProgress: null,
  masterLinkDownSinceSeconds: null,
  replicaReplOffset: null,
  replicaPriority: null,
  replicaReadOnly: null,
  replicaAnnounced: null,
};
const NO_OTHER_SECTIONS = { loading: null, runId: null, redisVersion: null, availabilityZone: null };

const CYCLE_REPLID = '4dfb7938b04b8bbde56f36a4cb8cbf6a43b5e8e5';
const cycleReplica = (masterPort: number) => ({
  role: 'replica' as const,
  masterHost: '127.0.0.1',
  masterPort,
  masterLinkStatus: 'up' as const,
  masterLastIoSecondsAgo: 1,
  masterSyncInProgress: false,
  masterLinkDownSinceSeconds: null,
  replicaReplOffset: 77,
  replicaPriority: 100,
  replicaReadOnly: true,
  replicaAnnounced: true,
  masterFailoverState: 'no-failover',
  masterReplid: CYCLE_REPLID,
  masterReplid2: ZEROS,
  masterReplOffset: 77,
  secondReplOffset: -1,
  replBacklogActive: true,
  replBacklogSize: 1048576,
  ...NO_OTHER_SECTIONS,
});

const EXPECTED: Record<string, ReplicationInfo> = {
  // Two replicas following each other, a third following one of them: see the fixtures' README.
  'cycle-a-follows-b.txt': {
    ...cycleReplica(6380),
    connectedReplicas: 1,
    replicas: [{ ip: '127.0.0.1', port: 6380, state: 'online', offset: 77, lag: 1 }],
    replBacklogFirstByteOffset: 1,
    replBacklogHistlen: 77,
  },
  'cycle-b-follows-a.txt': {
    ...cycleReplica(6379),
    connectedReplicas: 2,
    replicas: [
      { ip: '127.0.0.1', port: 6379, state: 'online', offset: 0, lag: 1 },
      { ip: '127.0.0.1', port: 6381, state: 'wait_bgsave', offset: 0, lag: 0 },
    ],
    replBacklogFirstByteOffset: 78,
    replBacklogHistlen: 0,
  },
  'cycle-c-follows-b.txt': {
    ...cycleReplica(6380),
    masterLinkStatus: 'down',
    masterLastIoSecondsAgo: -1,
    masterLinkDownSinceSeconds: -1,
    replicaReplOffset: 1,
    connectedReplicas: 0,
    replicas: [],
    masterReplid: 'dcff692021674305188cc41d6a2df09c2ec0bbc1',
    masterReplOffset: 0,
    replBacklogActive: false,
    replBacklogFirstByteOffset: 0,
    replBacklogHistlen: 0,
  },
  // A master partitioned from both replicas (nftables drop, repl-timeout 3 s): see the fixtures' README.
  'stranded-master-0-linked.txt': {
    role: 'master',
    ...NO_REPLICA_FIELDS,
    connectedReplicas: 2,
    replicas: [
      { ip: '10.213.116.11', port: 6379, state: 'online', offset: 163, lag: 1 },
      { ip: '10.213.116.12', port: 6379, state: 'online', offset: 163, lag: 1 },
    ],
    masterFailoverState: 'no-failover',
    masterReplid: STRANDED_REPLID,
    masterReplid2: ZEROS,
    masterReplOffset: 163,
    secondReplOffset: -1,
    replBacklogActive: true,
    replBacklogSize: 1048576,
    replBacklogFirstByteOffset: 1,
    replBacklogHistlen: 163,
    ...NO_OTHER_SECTIONS,
  },
  'stranded-master-1-acks-stopped.txt': {
    role: 'master',
    ...NO_REPLICA_FIELDS,
    connectedReplicas: 2,
    replicas: [
      { ip: '10.213.116.11', port: 6379, state: 'online', offset: 163, lag: 3 },
      { ip: '10.213.116.12', port: 6379, state: 'online', offset: 163, lag: 3 },
    ],
    masterFailoverState: 'no-failover',
    masterReplid: STRANDED_REPLID,
    masterReplid2: ZEROS,
    masterReplOffset: 296,
    secondReplOffset: -1,
    replBacklogActive: true,
    replBacklogSize: 1048576,
    replBacklogFirstByteOffset: 1,
    replBacklogHistlen: 296,
    ...NO_OTHER_SECTIONS,
  },
  'stranded-master-2-no-replicas.txt': {
    role: 'master',
    ...NO_REPLICA_FIELDS,
    connectedReplicas: 0,
    replicas: [],
    masterFailoverState: 'no-failover',
    masterReplid: STRANDED_REPLID,
    masterReplid2: ZEROS,
    masterReplOffset: 387,
    secondReplOffset: -1,
    replBacklogActive: true,
    replBacklogSize: 1048576,
    replBacklogFirstByteOffset: 1,
    replBacklogHistlen: 387,
    ...NO_OTHER_SECTIONS,
  },
  'stranded-master-3-healed.txt': {
    role: 'master',
    ...NO_REPLICA_FIELDS,
    connectedReplicas: 2,
    replicas: [
      { ip: '10.213.116.12', port: 6379, state: 'online', offset: 401, lag: 1 },
      { ip: '10.213.116.11', port: 6379, state: 'online', offset: 401, lag: 1 },
    ],
    masterFailoverState: 'no-failover',
    masterReplid: STRANDED_REPLID,
    masterReplid2: ZEROS,
    masterReplOffset: 401,
    secondReplOffset: -1,
    replBacklogActive: true,
    replBacklogSize: 1048576,
    replBacklogFirstByteOffset: 1,
    replBacklogHistlen: 401,
    ...NO_OTHER_SECTIONS,
  },
  'replica-link-down-a.txt': {
    role: 'replica',
    masterHost: '127.0.0.1',
    masterPort: 6379,
    masterLinkStatus: 'down',
    masterLastIoSecondsAgo: -1,
    masterSyncInProgress: false,
    masterLinkDownSinceSeconds: 327,
    replicaReplOffset: 2590,
    replicaPriority: 100,
    replicaReadOnly: true,
    replicaAnnounced: true,
    connectedReplicas: 0,
    replicas: [],
    masterFailoverState: 'no-failover',
    masterReplid: OLD_REPLID,
    masterReplid2: ZEROS,
    masterReplOffset: 2590,
    secondReplOffset: -1,
    replBacklogActive: true,
    replBacklogSize: 1048576,
    replBacklogFirstByteOffset: 1,
    replBacklogHistlen: 2590,
    ...NO_OTHER_SECTIONS,
  },
  'replica-link-down-b.txt': {
    role: 'replica',
    masterHost: '127.0.0.1',
    masterPort: 6379,
    masterLinkStatus: 'down',
    masterLastIoSecondsAgo: -1,
    masterSyncInProgress: false,
    masterLinkDownSinceSeconds: 355,
    replicaReplOffset: 2590,
    replicaPriority: 100,
    replicaReadOnly: true,
    replicaAnnounced: true,
    connectedReplicas: 0,
    replicas: [],
    masterFailoverState: 'no-failover',
    masterReplid: OLD_REPLID,
    masterReplid2: ZEROS,
    masterReplOffset: 2590,
    secondReplOffset: -1,
    replBacklogActive: true,
    replBacklogSize: 1048576,
    replBacklogFirstByteOffset: 15,
    replBacklogHistlen: 2576,
    ...NO_OTHER_SECTIONS,
  },
  'promoted-replica.txt': {
    role: 'master',
    ...NO_REPLICA_FIELDS,
    connectedReplicas: 0,
    replicas: [],
    masterFailoverState: 'no-failover',
    masterReplid: NEW_REPLID,
    masterReplid2: OLD_REPLID,
    masterReplOffset: 2590,
    secondReplOffset: 2591,
    replBacklogActive: true,
    replBacklogSize: 1048576,
    replBacklogFirstByteOffset: 15,
    replBacklogHistlen: 2576,
    ...NO_OTHER_SECTIONS,
  },
  'replica-of-promoted.txt': {
    role: 'replica',
    masterHost: '127.0.0.1',
    masterPort: 6381,
    masterLinkStatus: 'up',
    masterLastIoSecondsAgo: 9,
    masterSyncInProgress: false,
    masterLinkDownSinceSeconds: null,
    replicaReplOffset: 2604,
    replicaPriority: 100,
    replicaReadOnly: true,
    replicaAnnounced: true,
    connectedReplicas: 0,
    replicas: [],
    masterFailoverState: 'no-failover',
    masterReplid: NEW_REPLID,
    masterReplid2: OLD_REPLID,
    masterReplOffset: 2604,
    secondReplOffset: 2591,
    replBacklogActive: true,
    replBacklogSize: 1048576,
    replBacklogFirstByteOffset: 1,
    replBacklogHistlen: 2604,
    ...NO_OTHER_SECTIONS,
  },
  'promoted-with-one-replica.txt': {
    role: 'master',
    ...NO_REPLICA_FIELDS,
    connectedReplicas: 1,
    replicas: [{ ip: '127.0.0.1', port: 6380, state: 'online', offset: 2632, lag: 1 }],
    masterFailoverState: 'no-failover',
    masterReplid: NEW_REPLID,
    masterReplid2: OLD_REPLID,
    masterReplOffset: 2632,
    secondReplOffset: 2591,
    replBacklogActive: true,
    replBacklogSize: 1048576,
    replBacklogFirstByteOffset: 15,
    replBacklogHistlen: 2618,
    ...NO_OTHER_SECTIONS,
  },
  'restarted-old-master.txt': {
    role: 'master',
    ...NO_REPLICA_FIELDS,
    connectedReplicas: 0,
    replicas: [],
    masterFailoverState: 'no-failover',
    masterReplid: '0f0546acb0aecd970497a0dac52e71539d3b2f16',
    masterReplid2: ZEROS,
    masterReplOffset: 0,
    secondReplOffset: -1,
    replBacklogActive: false,
    replBacklogSize: 1048576,
    replBacklogFirstByteOffset: 0,
    replBacklogHistlen: 0,
    ...NO_OTHER_SECTIONS,
  },
  'old-master-rejoined.txt': {
    role: 'replica',
    masterHost: '127.0.0.1',
    masterPort: 6381,
    masterLinkStatus: 'up',
    masterLastIoSecondsAgo: 3,
    masterSyncInProgress: false,
    masterLinkDownSinceSeconds: null,
    replicaReplOffset: 4018,
    replicaPriority: 100,
    replicaReadOnly: true,
    replicaAnnounced: true,
    connectedReplicas: 0,
    replicas: [],
    masterFailoverState: 'no-failover',
    masterReplid: NEW_REPLID,
    masterReplid2: ZEROS,
    masterReplOffset: 4018,
    secondReplOffset: -1,
    replBacklogActive: true,
    replBacklogSize: 1048576,
    replBacklogFirstByteOffset: 4019,
    replBacklogHistlen: 0,
    ...NO_OTHER_SECTIONS,
  },
  'promoted-with-two-replicas.txt': {
    role: 'master',
    ...NO_REPLICA_FIELDS,
    connectedReplicas: 2,
    replicas: [
      { ip: '127.0.0.1', port: 6380, state: 'online', offset: 4046, lag: 0 },
      { ip: '127.0.0.1', port: 6379, state: 'online', offset: 4046, lag: 0 },
    ],
    masterFailoverState: 'no-failover',
    masterReplid: NEW_REPLID,
    masterReplid2: OLD_REPLID,
    masterReplOffset: 4046,
    secondReplOffset: 2591,
    replBacklogActive: true,
    replBacklogSize: 1048576,
    replBacklogFirstByteOffset: 15,
    replBacklogHistlen: 4032,
    ...NO_OTHER_SECTIONS,
  },
  'sentinel-promoted-master.txt': {
    role: 'master',
    ...NO_REPLICA_FIELDS,
    connectedReplicas: 2,
    replicas: [
      { ip: '127.0.0.1', port: 6381, state: 'online', offset: 23418, lag: 0 },
      { ip: '127.0.0.1', port: 6379, state: 'online', offset: 23551, lag: 0 },
    ],
    masterFailoverState: 'no-failover',
    masterReplid: 'ea3bc11d99568d87b0496fb83c6f2ccc58425baa',
    masterReplid2: 'a30878092cdd31e404af76eaa7a2d024c8ae843e',
    masterReplOffset: 23551,
    secondReplOffset: 19299,
    replBacklogActive: true,
    replBacklogSize: 1048576,
    replBacklogFirstByteOffset: 71,
    replBacklogHistlen: 23481,
    ...NO_OTHER_SECTIONS,
  },
};

describe('parseInfoReplication on captured replies', () => {
  it('has an expectation for every fixture file', () => {
    const files = readdirSync(new URL('../fixtures/info-replication/', import.meta.url)).filter((f) => f.endsWith('.txt'));
    expect(files.sort()).toEqual([...FIXTURES].sort());
    expect(Object.keys(EXPECTED).sort()).toEqual([...FIXTURES].sort());
  });

  it('fixtures are CRLF, as the server sends them', () => {
    for (const name of FIXTURES) expect(fixture(name)).toContain('\r\n');
  });

  it.each(FIXTURES)('%s (CRLF)', (name) => {
    expect(parseInfoReplication(fixture(name))).toEqual(EXPECTED[name]);
  });

  it.each(FIXTURES)('%s (LF only)', (name) => {
    expect(parseInfoReplication(fixture(name).replaceAll('\r\n', '\n'))).toEqual(EXPECTED[name]);
  });

  it('never puts NaN in a number field', () => {
    for (const name of FIXTURES) {
      for (const value of Object.values(parseInfoReplication(fixture(name)))) expect(value).not.toBeNaN();
    }
  });
});

describe('parseInfo', () => {
  it('splits on the first colon, skips headers and blank lines, takes CRLF and LF', () => {
    const fields = parseInfo('# Server\r\nredis_version:7.2.4\r\n\r\n# Replication\nrole:slave\nmaster_host:::1\n');
    expect({ ...fields }).toEqual({ redis_version: '7.2.4', role: 'slave', master_host: '::1' });
  });

  it('keeps empty values and ignores lines without a key or a colon', () => {
    const fields = parseInfo('config_file:\r\nno colon here\r\n:orphan value\r\nok:1\r\n');
    expect({ ...fields }).toEqual({ config_file: '', ok: '1' });
  });

  it('treats a field named like a prototype member as data', () => {
    const fields = parseInfo('__proto__:x\r\nconstructor:y\r\n');
    expect(fields['__proto__']).toBe('x');
    expect(fields['constructor']).toBe('y');
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });

  it.each([
    ['an empty string', ''],
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['a Buffer', Buffer.from('role:master\r\n')],
    ['binary garbage', '\u0000\u00ff\ufffd:\u0001\r\n\u0000\u0000\r\r\n'],
  ])('never throws on %s', (_label, input) => {
    expect(() => parseInfo(input as string)).not.toThrow();
    expect(() => parseInfoReplication(input as string)).not.toThrow();
  });

  it('gives an empty record for anything but a string', () => {
    expect(Object.keys(parseInfo(undefined as unknown as string))).toEqual([]);
    expect(Object.keys(parseInfo(Buffer.from('role:master') as unknown as string))).toEqual([]);
  });
});

describe('parseInfoReplication on malformed or partial input', () => {
  const EMPTY: ReplicationInfo = {
    role: 'unknown',
    ...NO_REPLICA_FIELDS,
    connectedReplicas: null,
    replicas: [],
    masterFailoverState: null,
    masterReplid: null,
    masterReplid2: null,
    masterReplOffset: null,
    secondReplOffset: null,
    replBacklogActive: null,
    replBacklogSize: null,
    replBacklogFirstByteOffset: null,
    replBacklogHistlen: null,
    ...NO_OTHER_SECTIONS,
  };

  it.each([
    ['an empty string', ''],
    ['undefined', undefined],
    ['binary garbage', '\u0000\u00ff\ufffd\u0001\u0002'],
    ['lines without a colon', 'role master\r\nmaster_port 6379\r\n'],
    ['only a header', '# Replication\r\n'],
  ])('%s gives every field null', (_label, input) => {
    expect(parseInfoReplication(input as string)).toEqual(EMPTY);
  });

  it('turns malformed numbers and flags into null, never NaN', () => {
    const info = parseInfoReplication(
      [
        'role:slave',
        'master_port:abc',
        'slave_repl_offset:12x',
        'slave_priority:',
        'master_repl_offset:1.5',
        'repl_backlog_size:' + '9'.repeat(400),
        'master_sync_in_progress:yes',
        'slave_read_only:2',
        'master_link_status:connecting',
      ].join('\r\n'),
    );
    expect(info).toMatchObject({
      role: 'replica',
      masterPort: null,
      replicaReplOffset: null,
      replicaPriority: null,
      masterReplOffset: null,
      replBacklogSize: null,
      masterSyncInProgress: null,
      replicaReadOnly: null,
      masterLinkStatus: null,
    });
  });

  it('maps an unknown role to unknown, including prototype names', () => {
    expect(parseInfoReplication('role:sentinel\r\n').role).toBe('unknown');
    expect(parseInfoReplication('role:constructor\r\n').role).toBe('unknown');
  });

  it('skips replica lines without a valid ip and port, keeps partial ones', () => {
    const info = parseInfoReplication(
      [
        'role:master',
        'slave0:ip=,port=abc',
        'slave1:ip=10.0.0.2',
        'slave2:port=6380',
        'slave3:garbage',
        'slave4:ip=10.0.0.3,port=0,state=online',
        'slave5:ip=10.0.0.4,port=70000',
        'slave6:ip=10.0.0.5,port=6390',
        'slave7:ip=::1,port=6391,state=wait_bgsave,offset=oops,lag=-',
        'slave:ip=10.0.0.6,port=6392',
        'slavex:ip=10.0.0.7,port=6393',
      ].join('\r\n'),
    );
    expect(info.replicas).toEqual([
      { ip: '10.0.0.5', port: 6390, state: null, offset: null, lag: null },
      { ip: '::1', port: 6391, state: 'wait_bgsave', offset: null, lag: null },
    ]);
  });

  it('orders replicas by N numerically, not by line order or as text', () => {
    const info = parseInfoReplication(
      [
        'slave10:ip=h,port=10',
        'slave2:ip=h,port=2',
        'slave0:ip=h,port=1',
        'slave1:ip=h,port=11',
      ].join('\n'),
    );
    expect(info.replicas.map((r) => r.port)).toEqual([1, 11, 2, 10]);
  });
});

describe('parseInfoReplication on a full INFO reply', () => {
  const FULL = [
    '# Server',
    'redis_version:7.2.4',
    'redis_git_sha1:00000000',
    'redis_mode:standalone',
    'os:Linux 6.5.0-1022-azure x86_64',
    'process_id:81',
    'run_id:6d5d8c0b3e8f0d7a2b8f3a5b7c1e2d4f6a8b0c1d',
    'tcp_port:6380',
    'executable:/usr/bin/redis-server',
    'config_file:',
    '',
    '# Clients',
    'connected_clients:3',
    '',
    '# Persistence',
    'loading:1',
    'async_loading:0',
    'rdb_changes_since_last_save:0',
    '',
    '# Replication',
    'role:slave',
    'master_host:::1',
    'master_port:6379',
    'master_link_status:up',
    'master_last_io_seconds_ago:0',
    'master_sync_in_progress:1',
    'slave_read_repl_offset:98',
    'slave_repl_offset:98',
    'master_sync_total_bytes:-1',
    'slave_priority:0',
    'slave_read_only:0',
    'replica_announced:0',
    'connected_slaves:0',
    'master_failover_state:no-failover',
    'master_replid:' + NEW_REPLID,
    'master_replid2:' + ZEROS,
    'master_repl_offset:98',
    'second_repl_offset:-1',
    'repl_backlog_active:1',
    'repl_backlog_size:1048576',
    'repl_backlog_first_byte_offset:1',
    'repl_backlog_histlen:98',
    '',
    '# Keyspace',
    'db0:keys=1,expires=0,avg_ttl=0',
    '',
  ].join('\r\n');

  it('reads the replication fields and loading, run_id and redis_version', () => {
    expect(parseInfoReplication(FULL)).toEqual({
      role: 'replica',
      masterHost: '::1',
      masterPort: 6379,
      masterLinkStatus: 'up',
      masterLastIoSecondsAgo: 0,
      masterSyncInProgress: true,
      masterLinkDownSinceSeconds: null,
      replicaReplOffset: 98,
      replicaPriority: 0,
      replicaReadOnly: false,
      replicaAnnounced: false,
      connectedReplicas: 0,
      replicas: [],
      masterFailoverState: 'no-failover',
      masterReplid: NEW_REPLID,
      masterReplid2: ZEROS,
      masterReplOffset: 98,
      secondReplOffset: -1,
      replBacklogActive: true,
      replBacklogSize: 1048576,
      replBacklogFirstByteOffset: 1,
      replBacklogHistlen: 98,
      loading: true,
      runId: '6d5d8c0b3e8f0d7a2b8f3a5b7c1e2d4f6a8b0c1d',
      redisVersion: '7.2.4',
      availabilityZone: null,
    } satisfies ReplicationInfo);
  });

  it('parses the same with LF line endings', () => {
    expect(parseInfoReplication(FULL.replaceAll('\r\n', '\n'))).toEqual(parseInfoReplication(FULL));
  });

  it('keeps every field of every section in parseInfo', () => {
    const fields = parseInfo(FULL);
    expect(fields['db0']).toBe('keys=1,expires=0,avg_ttl=0');
    expect(fields['os']).toBe('Linux 6.5.0-1022-azure x86_64');
    expect(fields['config_file']).toBe('');
    expect(Object.keys(fields)).toHaveLength(36);
  });
});

describe('replicationToNodeState', () => {
  const state = (name: string, port: number, latencyMs: number | null = 0.4) =>
    replicationToNodeState(`127.0.0.1:${port}`, '127.0.0.1', port, parseInfoReplication(fixture(name)), latencyMs);

  it('a replica whose master is down: link down (not syncing), offset from slave_repl_offset', () => {
    expect(state('replica-link-down-a.txt', 6380)).toEqual({
      address: '127.0.0.1:6380',
      host: '127.0.0.1',
      port: 6380,
      role: 'replica',
      up: true,
      offset: 2590,
      lagBytes: 0,
      lagSeconds: null,
      linkStatus: 'down',
      priority: 100,
      latencyMs: 0.4,
      masterAddress: '127.0.0.1:6379',
      loading: false,
      syncing: false,
      replid: OLD_REPLID,
      runId: null,
      lastIoSecondsAgo: -1,
      zone: null,
    });
  });

  it('a replica with its link up is not syncing', () => {
    expect(state('replica-of-promoted.txt', 6380)).toMatchObject({
      role: 'replica',
      offset: 2604,
      linkStatus: 'up',
      masterAddress: '127.0.0.1:6381',
      syncing: false,
    });
  });

  it('a master: offset from master_repl_offset, no link, no master', () => {
    expect(state('promoted-with-two-replicas.txt', 6381, null)).toEqual({
      address: '127.0.0.1:6381',
      host: '127.0.0.1',
      port: 6381,
      role: 'master',
      up: true,
      offset: 4046,
      lagBytes: 0,
      lagSeconds: null,
      linkStatus: null,
      priority: null,
      latencyMs: null,
      masterAddress: null,
      loading: false,
      syncing: false,
      replid: NEW_REPLID,
      runId: null,
      lastIoSecondsAgo: null,
      zone: null,
    });
  });

  it('the restarted old master: offset 0 and its fresh replid', () => {
    expect(state('restarted-old-master.txt', 6379)).toMatchObject({
      role: 'master',
      offset: 0,
      replid: '0f0546acb0aecd970497a0dac52e71539d3b2f16',
    });
  });

  it('a replica without slave_repl_offset falls back to master_repl_offset', () => {
    const info = parseInfoReplication('role:slave\r\nmaster_link_status:up\r\nmaster_repl_offset:77\r\n');
    expect(replicationToNodeState('h:1', 'h', 1, info, null)).toMatchObject({ offset: 77, syncing: false });
  });

  it('a replica in a full sync is syncing (the link status is kept apart); loading comes from the reply', () => {
    const syncing = parseInfoReplication('role:slave\r\nmaster_link_status:up\r\nmaster_sync_in_progress:1\r\n');
    expect(replicationToNodeState('h:1', 'h', 1, syncing, null).syncing).toBe(true);
    expect(replicationToNodeState('h:1', 'h', 1, parseInfoReplication('role:slave'), null)).toMatchObject({ syncing: false, linkStatus: null });
    const loading = parseInfoReplication('loading:1\r\nrole:master\r\n');
    expect(replicationToNodeState('h:1', 'h', 1, loading, null)).toMatchObject({ loading: true, syncing: false });
  });

  it('formats an IPv6 master address in brackets, like every other address', () => {
    const info = parseInfoReplication('role:slave\r\nmaster_host:::1\r\nmaster_port:6379\r\n');
    expect(replicationToNodeState('[::1]:6380', '::1', 6380, info, null).masterAddress).toBe('[::1]:6379');
  });

  it('an empty reply gives an unknown node with zero offset', () => {
    expect(replicationToNodeState('h:1', 'h', 1, parseInfoReplication(''), null)).toMatchObject({
      role: 'unknown',
      offset: 0,
      linkStatus: null,
      masterAddress: null,
      loading: false,
      syncing: false,
      replid: null,
      zone: null,
    });
  });
});

describe('availability_zone', () => {
  // The server section of Valkey 8.1's INFO (abridged), with `availability-zone us-east-1a` set.
  const VALKEY_81 = [
    '# Server',
    'redis_version:7.2.4',
    'server_name:valkey',
    'valkey_version:8.1.1',
    'redis_mode:standalone',
    'run_id:0c6f1d7c2f5e4a3b9d8e7f6a5b4c3d2e1f0a9b8c',
    'tcp_port:6380',
    'availability_zone:us-east-1a',
    '',
    '# Replication',
    'role:slave',
    'master_host:10.0.0.1',
    'master_port:6379',
    'master_link_status:up',
    'slave_repl_offset:420',
    '',
  ].join('\r\n');

  it('reads the zone a Valkey 8.1 server reports into the NodeState', () => {
    const info = parseInfoReplication(VALKEY_81);
    expect(info.availabilityZone).toBe('us-east-1a');
    expect(replicationToNodeState('10.0.0.2:6380', '10.0.0.2', 6380, info).zone).toBe('us-east-1a');
  });

  it('is null where the server reports none: Redis, or Valkey with the config unset (an empty value)', () => {
    expect(parseInfoReplication(fixture('promoted-replica.txt')).availabilityZone).toBeNull();
    expect(parseInfoReplication(VALKEY_81.replace('availability_zone:us-east-1a', 'availability_zone:')).availabilityZone).toBeNull();
  });
});
