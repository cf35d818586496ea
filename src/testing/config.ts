import type { Settings } from './options.js';
import { splitAddress } from './probe.js';

/** `redis-server` arguments of a data node (after `--port`/`--bind`); the user's `args` last. */
export function dataNodeArgs(settings: Settings, dir: string, replicaOf: string | undefined): string[] {
  const { password } = settings;
  const args = ['--save', '', '--appendonly', 'no', '--dir', dir];
  // Redis 7 waits 5 s by default before a diskless full sync, hoping more replicas join.
  args.push('--repl-diskless-sync-delay', '0');
  // Masters ping their replicas every second (Redis's default is 10 s): a hung master then shows
  // in its replicas' master_last_io_seconds_ago within ~2 s, which is what client-mode failover
  // takes as the replicas' word that it is down.
  args.push('--repl-ping-replica-period', '1');
  if (password !== undefined) args.push('--requirepass', password, '--masterauth', password);
  if (replicaOf) {
    const { host, port } = splitAddress(replicaOf);
    args.push('--replicaof', host, String(port));
  }
  return [...args, ...settings.args];
}

/**
 * `--port`/`--bind` of a data node started directly. Off 127.0.0.1 (in its own namespace),
 * protected mode is turned off: Redis 7 would refuse the client's and the other members'
 * connections, and the namespace's address is reachable from this machine only.
 */
export function listenArgs(host: string, port: number): string[] {
  const args = ['--port', String(port), '--bind', host];
  if (host !== '127.0.0.1') args.push('--protected-mode', 'no');
  return args;
}

export interface SentinelPeer {
  /** Sentinel run id: 40 hex characters. */
  id: string;
  host: string;
  port: number;
}

/**
 * A Sentinel's config file: its own, since Sentinel rewrites it. Quorum: a majority.
 *
 * Left alone, Sentinels find each other through hello messages, the first sent 2 s after start.
 * The file names each one's id and the others' ids and ports up front, as Sentinel records them
 * itself, so they connect at once; only a Sentinel that tried a peer before it listened waits
 * for its 1 s reconnect period. A peer that ends up on another port is corrected by hello.
 */
export function sentinelConfig(
  settings: Settings,
  at: { self: SentinelPeer; others: SentinelPeer[]; dir: string; master: string; replicas: string[] },
): string {
  const { name, password, downAfterMs, failoverTimeoutMs, sentinels } = settings;
  const master = splitAddress(at.master);
  const lines = [
    `port ${at.self.port}`,
    `bind ${at.self.host}`,
    ...(at.self.host === '127.0.0.1' ? [] : ['protected-mode no']),
    `dir ${quote(at.dir)}`,
    'sentinel resolve-hostnames no',
    `sentinel myid ${at.self.id}`,
    `sentinel monitor ${name} ${master.host} ${master.port} ${Math.floor(sentinels / 2) + 1}`,
    `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
    `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
    `sentinel parallel-syncs ${name} 1`,
  ];
  if (password !== undefined) lines.push(`sentinel auth-pass ${name} ${quote(password)}`);
  for (const replica of at.replicas.map(splitAddress)) {
    lines.push(`sentinel known-replica ${name} ${replica.host} ${replica.port}`);
  }
  for (const other of at.others) {
    lines.push(`sentinel known-sentinel ${name} ${other.host} ${other.port} ${other.id}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A config-file string argument, quoted the way Redis's config parser unquotes it. */
function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, '\\$&').replace(/\n/g, '\\n')}"`;
}
