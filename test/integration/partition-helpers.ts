import { execFile } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { FailoverRedis, type FailoverRedisOptions } from '../../src/index.js';
import type { NamespacedReplicaSet } from '../../src/testing/index.js';
import { direct } from '../helpers/redis.js';
import { checkCounters, role, startWriter, waitFor, type WriterResult } from '../helpers/writer.js';

const run = promisify(execFile);

/** A replica drops a silent master after repl-timeout seconds (Redis's default is 60). */
export const REPL_TIMEOUT_ARGS = ['--repl-timeout', '2'];
export const DOWN_AFTER_MS = 1000;

export interface Roles {
  master: string;
  replicas: string[];
}

/** Exactly one node says role:master and every other follows it with its link up, else undefined. */
export async function oneMaster(set: NamespacedReplicaSet): Promise<Roles | undefined> {
  const roles = await Promise.all(set.nodes.map(async (address) => ({ address, ...(await role(address)) })));
  const masters = roles.filter((r) => r.role === 'master');
  if (masters.length !== 1) return undefined;
  const master = masters[0]!.address;
  const replicas = roles.filter((r) => r.address !== master);
  if (!replicas.every((r) => r.role === 'replica' && r.master === master)) return undefined;
  return { master, replicas: replicas.map((r) => r.address) };
}

export interface ClientOutcome {
  label: string;
  acked: number;
  lost: string[];
  /** performance.now() of each lost key's acknowledgement, relative to the cut. */
  lostAtMs: number[];
  doubled: string[];
  errors: Record<string, number>;
  fenced: number;
  failovers: number;
}

export interface CaseOutcome {
  before: Roles;
  after: Roles;
  /** From heal() to one master with every replica linked to it. */
  oneMasterMs: number;
  clients: ClientOutcome[];
}

export interface CaseSpec {
  /** Cut the network (the set is healed afterwards by the runner). */
  cut(roles: Roles): Promise<void>;
  /** How long the cut lasts before heal(). */
  holdMs: number;
  options: (roles: Roles) => Omit<FailoverRedisOptions, 'durability'>;
  /** Runs during the hold, with the clients (checks made while the network is cut). */
  during?: (clients: FailoverRedis[], roles: Roles) => Promise<void>;
  /** Undo what `cut` did outside partition()/heal(), if anything. */
  undo?: () => Promise<void>;
}

function errorKey(error: Error): string {
  return (error as { code?: string }).code ?? error.name;
}

/**
 * One case of the partition matrix: two clients write unique keys at once, one without and one
 * with `durability: { replicas: 1 }`; the network is cut, held, healed; once one master remains
 * with every replica linked, every acknowledged key is looked for on it.
 */
export async function runCase(set: NamespacedReplicaSet, prefix: string, spec: CaseSpec): Promise<CaseOutcome> {
  const before = await waitFor('one master before the case', () => oneMaster(set), 30_000);
  const common = spec.options(before);
  const clients = [
    { label: 'default', redis: new FailoverRedis({ ...common }) },
    { label: 'durable', redis: new FailoverRedis({ ...common, durability: { replicas: 1, timeoutMs: 300 } }) },
  ].map((c) => {
    const counts = { fenced: 0, failovers: 0 };
    c.redis.on('error', () => {});
    c.redis.on('warning', (w) => {
      if (w.code === 'MASTER_FENCED') counts.fenced++;
    });
    c.redis.on('failover', () => counts.failovers++);
    return { ...c, counts };
  });
  try {
    for (const c of clients) await c.redis.set(`${prefix}:${c.label}:warm`, '1');
    const writers = clients.map((c) => startWriter(c.redis, `${prefix}:${c.label}`, 5));
    await delay(700);
    const cutAt = performance.now();
    await spec.cut(before);
    await Promise.all([delay(spec.holdMs), spec.during?.(clients.map((c) => c.redis), before)]);
    await spec.undo?.();
    await set.heal();
    const healedAt = performance.now();
    const after = await waitFor('one master after heal', () => oneMaster(set), 45_000);
    const oneMasterMs = Math.round(performance.now() - healedAt);
    // Both clients write again on the one master before the writers stop.
    const resumed = performance.now();
    await Promise.all(writers.map((w) => w.ackAfter(resumed, 30_000)));
    const results: WriterResult[] = await Promise.all(writers.map((w) => w.stop()));
    const outcomes: ClientOutcome[] = [];
    for (const [i, c] of clients.entries()) {
      const result = results[i]!;
      const { lost, doubled } = await checkCounters(after.master, result);
      const lostSet = new Set(lost);
      const lostAtMs = result.acked.flatMap((key, k) => (lostSet.has(key) ? [Math.round(result.ackTimes[k]! - cutAt)] : []));
      const errors: Record<string, number> = {};
      for (const f of result.failed) errors[errorKey(f.error)] = (errors[errorKey(f.error)] ?? 0) + 1;
      outcomes.push({ label: c.label, acked: result.acked.length, lost, lostAtMs, doubled, errors, ...c.counts });
    }
    return { before, after, oneMasterMs, clients: outcomes };
  } finally {
    await Promise.all(clients.map((c) => c.redis.quit().catch(() => c.redis.disconnect())));
  }
}

/** One line per client, for the test log (the matrix outcomes). */
export function describeCase(name: string, outcome: CaseOutcome): string {
  const parts = outcome.clients.map((c) => {
    const errors = Object.entries(c.errors).map(([k, v]) => `${k}×${v}`).join(',') || 'none';
    const lostAt = c.lostAtMs.length ? ` (acked ${Math.min(...c.lostAtMs)}..${Math.max(...c.lostAtMs)} ms after the cut)` : '';
    return `${c.label}: acked ${c.acked}, lost ${c.lost.length}${lostAt}, errors ${errors}, fenced ${c.fenced}`;
  });
  return `${name}: master ${outcome.before.master} → ${outcome.after.master}, one master ${outcome.oneMasterMs} ms after heal; ${parts.join('; ')}`;
}

/**
 * Drop traffic between two members only (partition() groups are disjoint, so "replica cut from
 * the master while both still reach the client" needs a rule of its own): an nftables table in
 * `a`'s namespace, removed by the returned function.
 */
export async function cutLink(a: string, b: string): Promise<() => Promise<void>> {
  const hostA = a.slice(0, a.lastIndexOf(':'));
  const hostB = b.slice(0, b.lastIndexOf(':'));
  const { stdout } = await run('ip', ['netns', 'list']);
  const mine = stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(`rfnet-${process.pid}-`));
  let ns: string | undefined;
  for (const name of mine) {
    const addrs = await run('ip', ['netns', 'exec', name, 'ip', '-4', '-o', 'addr']).then((r) => r.stdout, () => '');
    if (addrs.includes(` ${hostA}/`)) ns = name;
  }
  if (ns === undefined) throw new Error(`no namespace of this process has ${hostA}`);
  const rules = `table inet rf_link {
  chain input { type filter hook input priority -10; ip saddr ${hostB} drop; }
  chain output { type filter hook output priority -10; ip daddr ${hostB} drop; }
}
`;
  const child = execFile('ip', ['netns', 'exec', ns, 'nft', '-f', '-']);
  const done = new Promise<void>((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`nft exited ${code}`)))));
  child.stdin!.end(rules);
  await done;
  return async () => {
    await run('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', 'rf_link']).catch(() => {});
  };
}

export type Mode = 'client' | 'sentinel';

/** The cases of issue 11, for one mode: what to cut and for how long. */
export function matrix(set: NamespacedReplicaSet, mode: Mode): Record<string, CaseSpec> {
  const options = (roles: Roles): Omit<FailoverRedisOptions, 'durability'> => ({
    ...(mode === 'client' ? { nodes: [roles.master] } : { sentinels: [...set.sentinels], name: set.name }),
    failover: { downAfterMs: DOWN_AFTER_MS },
    commandTimeoutMs: 3000,
  });
  let undo: Array<() => Promise<void>> = [];
  const undoAll = async () => {
    for (const u of undo) await u();
    undo = [];
  };
  return {
    '1: the client cut off from the master alone': {
      options,
      holdMs: 3000,
      cut: async (r) => void undo.push(await cutLink(r.master, `${set.clientHost}:0`)),
      undo: undoAll,
    },
    '2: the master isolated from everyone': {
      options,
      holdMs: 5000,
      cut: (r) => set.isolate(r.master),
    },
    '3: the client stranded with the old master (the Jepsen case)': {
      options,
      holdMs: 5000,
      cut: (r) => set.partition([r.master, 'client'], [...r.replicas, ...set.sentinels]),
    },
    '4: replicas cut from each other; one replica cut from the master only': {
      options,
      holdMs: 3500,
      cut: async (r) => {
        undo.push(await cutLink(r.replicas[0]!, r.replicas[1]!));
        undo.push(await cutLink(r.replicas[0]!, r.master));
      },
      undo: undoAll,
      during: async (clients, r) => {
        const cut = r.replicas[0]!;
        const [client] = clients;
        await waitFor(`${cut} seen with its link down`, () => client!.topology().replicas.find((n) => n.address === cut)?.linkStatus === 'down', 10_000);
        await client!.set('p4:k', 'v');
        const before = await getCalls(cut);
        for (let i = 0; i < 100; i++) await client!.withReadFrom('replica').get('p4:k');
        const after = await getCalls(cut);
        if (after !== before) throw new Error(`${after - before} reads went to ${cut}, whose link to the master is down`);
      },
    },
    '5: a flapping partition': {
      options,
      holdMs: 0,
      cut: async (r) => {
        const until = performance.now() + 4000;
        while (performance.now() < until) {
          await set.isolate(r.master);
          await delay(300);
          await set.heal();
          await delay(300);
        }
      },
    },
  };
}

async function getCalls(address: string): Promise<number> {
  const conn = direct(address);
  try {
    const stats = await conn.info('commandstats');
    return Number(/cmdstat_get:calls=(\d+)/.exec(stats)?.[1] ?? 0);
  } finally {
    conn.disconnect();
  }
}
