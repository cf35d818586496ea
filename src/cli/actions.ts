import { setTimeout as sleep } from 'node:timers/promises';
import type { FailoverRedis } from '../client.js';
import { assessHealth, pendingConvergence, replicationChanges } from '../topology/health.js';
import type { Address, Topology } from '../topology/types.js';
import { address, COMMON_OPTIONS, CONNECTION_OPTIONS, intOption, listOption, parse, stringValue, UsageError, type Target } from './args.js';
import { openClient, readTopology, targetFor, type CommandContext } from './context.js';
import { HELP } from './help.js';
import { describeChanges, duration, healthSummary, healthTable } from './render.js';

const NODES = { nodes: { type: 'string', multiple: true } } as const;
const WAIT = { wait: { type: 'string' } } as const;
const METHODS = { 'failover-command': 'FAILOVER TO', 'pause-and-replicaof': 'CLIENT PAUSE + REPLICAOF', 'sentinel-failover': 'SENTINEL FAILOVER' } as const;

/** `promote <addr>`: REPLICAOF NO ONE there and REPLICAOF on the others, through `FailoverRedis.promote`. */
export async function promote(argv: readonly string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, ...CONNECTION_OPTIONS, ...NODES, ...WAIT, force: { type: 'boolean' } });
  if (values['help']) return help(ctx, 'promote');
  if (positionals.length !== 1) throw new UsageError('give exactly one address: the replica to promote (other members go in --nodes)');
  const node = address(positionals[0]!);
  const others = listOption(values, 'nodes').map((a) => address(a));
  const waitMs = intOption(values, 'wait', 10_000);
  const target = noSentinel(targetFor(values, ctx, { seeds: [node, ...others], promote: 'manual' }), 'promote', 'switchover');
  const { out } = ctx;
  const { style } = out;
  const client = openClient(target, ctx);
  try {
    const before = await readTopology(client, target);
    printState(ctx, 'before', before);
    const master = before.master;
    if (master?.address === node) {
      // Idempotent, as the library's steps are: a second run finishes the repointing.
      out.out(`${node} is already the master; repointing the members that follow another node`);
      await repointStragglers(ctx, client, node);
      return await confirmAndReport(ctx, client, before, node, undefined, waitMs);
    }
    if (!before.replicas.some((r) => r.address === node)) {
      throw new UsageError(`${node} is not a member of the replica set found from ${target.label}`);
    }
    if (master?.up && master.role === 'master' && values['force'] !== true) {
      throw new UsageError(
        `the master ${master.address} answers: promoting ${node} now may lose the writes it acknowledged that ${node} has not received. ` +
          `For a planned handover use 'redis-failover switchover ${master.address} --to ${node}'; to promote anyway, add --force`,
      );
    }
    if (master !== null && !master.up && others.length === 0) {
      out.out(style.yellow(`note: the master ${master.address} does not answer, so only the members named here are known; name the other replicas with --nodes to have them repointed too`));
    }
    out.out(`promoting ${style.bold(node)}: REPLICAOF NO ONE on it, then REPLICAOF ${node} on every other member that answers`);
    await client.promote(node);
    await repointStragglers(ctx, client, node);
    return await confirmAndReport(ctx, client, before, node, undefined, waitMs);
  } finally {
    await client.quit().catch(() => undefined);
  }
}

/** `switchover`: `FailoverRedis.switchover`, then the replicas still following the old master repointed. */
export async function switchover(argv: readonly string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...COMMON_OPTIONS,
    ...CONNECTION_OPTIONS,
    ...NODES,
    ...WAIT,
    to: { type: 'string' },
    timeout: { type: 'string' },
    method: { type: 'string' },
  });
  if (values['help']) return help(ctx, 'switchover');
  const method = stringValue(values, 'method');
  if (method !== undefined && method !== 'pause-and-replicaof' && method !== 'failover-command') {
    throw new UsageError(`--method must be pause-and-replicaof or failover-command, not ${JSON.stringify(method)}`);
  }
  const to = stringValue(values, 'to') === undefined ? undefined : address(stringValue(values, 'to')!, '--to');
  const timeoutMs = intOption(values, 'timeout', 5000, 1);
  const seeds = [...positionals, ...listOption(values, 'nodes')];
  const target = targetFor(values, ctx, { seeds, promote: 'manual' });
  // Sentinel reconfigures the old master only after ~8 s, plus up to 10 s for its next INFO.
  const waitMs = intOption(values, 'wait', target.mode === 'sentinel' ? 30_000 : 15_000);
  if (target.mode === 'sentinel' && to !== undefined) {
    throw new UsageError('--to does not apply with Sentinel: Sentinel picks the replica (steer it with replica-priority)');
  }
  const { out } = ctx;
  const { style } = out;
  const client = openClient(target, ctx);
  try {
    const before = await readTopology(client, target);
    printState(ctx, 'before', before);
    const by = target.mode === 'sentinel' ? ' (Sentinel picks it)' : '';
    out.out(`switching over from ${before.master?.address ?? 'no master'} to ${to ?? `the best replica${by}`}; writes pause at most ${timeoutMs} ms`);
    const result = await client.switchover({ timeoutMs, ...(to !== undefined ? { to } : {}), ...(method !== undefined ? { method } : {}) });
    out.out(`${style.bold(result.to)} took over from ${result.from} in ${duration(result.durationMs)} by ${METHODS[result.method]}`);
    if (target.mode === 'nodes') await repointStragglers(ctx, client, result.to);
    else out.out(style.dim('Sentinel repoints the replicas and the old master itself: the old master only after ~8 to 20 s'));
    return await confirmAndReport(ctx, client, before, result.to, undefined, waitMs);
  } finally {
    await client.quit().catch(() => undefined);
  }
}

/** `demote <addr> --to <master>`: `FailoverRedis.demote`, once `--to` is checked to be the master. */
export async function demote(argv: readonly string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(argv, { ...COMMON_OPTIONS, ...CONNECTION_OPTIONS, ...NODES, ...WAIT, to: { type: 'string' } });
  if (values['help']) return help(ctx, 'demote');
  if (positionals.length !== 1) throw new UsageError('give exactly one address: the node to demote');
  const node = address(positionals[0]!);
  const toText = stringValue(values, 'to');
  if (toText === undefined) throw new UsageError('--to <master host:port> is required: the master the node is to follow');
  const master = address(toText, '--to');
  if (master === node) throw new UsageError(`${node} cannot follow itself`);
  const waitMs = intOption(values, 'wait', 10_000);
  const seeds = [node, master, ...listOption(values, 'nodes').map((a) => address(a))];
  const target = noSentinel(targetFor(values, ctx, { seeds, promote: 'manual' }), 'demote', 'status');
  const { out } = ctx;
  const client = openClient(target, ctx);
  try {
    const before = await readTopology(client, target);
    printState(ctx, 'before', before);
    const actual = before.master?.address ?? null;
    if (actual !== master) {
      throw new UsageError(
        `--to ${master} is not the replica set's master: ${actual === null ? 'no master is known' : `the master is ${actual} (the node its replicas follow)`}; ` +
          'demote repoints a node to the current master only',
      );
    }
    if (!before.replicas.some((r) => r.address === node)) {
      throw new UsageError(`${node} is not a member of the replica set found from ${target.label}`);
    }
    out.out(`demoting ${out.style.bold(node)}: REPLICAOF ${master} on it`);
    await client.demote(node);
    return await confirmAndReport(ctx, client, before, master, [node], waitMs);
  } finally {
    await client.quit().catch(() => undefined);
  }
}

function upMembers(topology: Topology): Address[] {
  return [...(topology.master ? [topology.master] : []), ...topology.replicas].filter((n) => n.up).map((n) => n.address);
}

function help(ctx: CommandContext, command: string): number {
  ctx.out.out(HELP[command]);
  return 0;
}

function noSentinel(target: Target, command: string, instead: string): Target {
  if (target.mode === 'sentinel') {
    throw new UsageError(`${command} is for replica sets without Sentinel: with Sentinel, Sentinel does it (see '${instead}')`);
  }
  return target;
}

function printState(ctx: CommandContext, label: string, topology: Topology): void {
  const { out } = ctx;
  out.out(out.style.dim(`${label}:`));
  for (const line of healthTable(assessHealth(topology), out.style)) out.out(line);
  out.out();
}

/**
 * `FAILOVER TO` leaves the other replicas following the old master (now itself a replica): the
 * health check names them (`WRONG_MASTER`), and each is repointed with `demote`.
 */
async function repointStragglers(ctx: CommandContext, client: FailoverRedis, master: Address): Promise<void> {
  const topology = await client.refreshTopology();
  const stragglers = new Set(assessHealth(topology).warnings.flatMap((w) => (w.code === 'WRONG_MASTER' && w.address !== null ? [w.address] : [])));
  for (const node of topology.replicas.filter((r) => stragglers.has(r.address))) {
    ctx.out.out(`repointing ${node.address} to ${master}: it follows ${node.masterAddress ?? 'no node'}`);
    await client.demote(node.address);
  }
}

/**
 * Read every node's `INFO replication` until the set has `master` with every reachable member
 * (or `only` those) following it, link up; then print what changed and the table. 0 when
 * confirmed, 1 when `waitMs` ran out first.
 */
async function confirmAndReport(
  ctx: CommandContext,
  client: FailoverRedis,
  before: Topology,
  master: Address,
  only: Address[] | undefined,
  waitMs: number,
): Promise<number> {
  const { out } = ctx;
  const { style } = out;
  const started = performance.now();
  // Every member that answered before must follow the new master, not only those answering now:
  // Sentinel drops a reconfigured node from its list for a moment.
  const members = (after: Topology): Address[] =>
    only ?? [...new Set([...upMembers(before), ...upMembers(after)])].filter((a) => a !== master);
  let after = await client.refreshTopology();
  let pending = pendingConvergence(after, master, members(after));
  if (pending.length > 0) out.out(style.dim(`waiting up to ${duration(waitMs)} for: ${pending.join('; ')}`));
  while (pending.length > 0 && performance.now() - started < waitMs) {
    await sleep(200);
    after = await client.refreshTopology().catch(() => after);
    pending = pendingConvergence(after, master, members(after));
    out.status(style.dim(`  ${duration(performance.now() - started)}: ${pending.join('; ') || 'done'}`));
  }
  const waited = performance.now() - started;
  out.out();
  const changes = describeChanges(replicationChanges(before, after), style, { master: after.master?.up ? after.master.address : null });
  out.out(style.dim(`what changed, read back from INFO replication:`));
  for (const line of changes.length > 0 ? changes : ['nothing']) out.out(`  ${line}`);
  out.out();
  const health = assessHealth(after);
  for (const line of healthTable(health, style)) out.out(line);
  out.out();
  for (const line of healthSummary(health, style)) out.out(line);
  for (const node of after.replicas.filter((r) => !r.up && (only === undefined || only.includes(r.address)))) {
    out.out(style.dim(`${node.address} does not answer: once it is back, run 'redis-failover demote ${node.address} --to ${master}'`));
  }
  if (pending.length > 0) {
    out.err(out.errStyle.red(`✗ not confirmed within ${duration(waitMs)}: ${pending.join('; ')}`));
    return 1;
  }
  const followers = members(after).length;
  const what = only !== undefined ? `${only.join(', ')} follows it` : `${followers} replica${followers === 1 ? '' : 's'} follow${followers === 1 ? 's' : ''} it`;
  const wait = waited >= 100 ? ` (after ${duration(waited)})` : '';
  out.out(style.green(`✓ confirmed by INFO replication: ${master} is the master and ${what} with the link up${wait}`));
  return 0;
}
