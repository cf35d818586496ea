import type { Health, NodeHealth, ReplicationChange } from '../topology/health.js';
import type { Address, Topology } from '../topology/types.js';
import { table, type Style } from './output.js';

const NONE = '-';

/** The runbook's `INFO replication` of every node, as one table. */
export function healthTable(health: Health, style: Style): string[] {
  // The zone column only once some node's zone is known (most deployments have none to show).
  const zoned = health.nodes.some((n) => n.node.zone !== null);
  const header = ['ADDRESS', 'ROLE', 'STATE', 'FOLLOWS', 'LINK', 'OFFSET', 'LAG B', 'LAG S', 'PRIO', 'REPLICAS', ...(zoned ? ['ZONE'] : []), 'WARNINGS'];
  const rows = health.nodes.map((n) => row(n, style, zoned));
  const lines = table([header.map((h) => style.bold(h)), ...rows]);
  return lines;
}

function row(n: NodeHealth, style: Style, zoned: boolean): string[] {
  const { node } = n;
  const replica = node.role === 'replica';
  const roleText = n.isMaster ? `${node.role}*` : node.role;
  const wrongRole = (n.isMaster && node.role !== 'master') || (!n.isMaster && node.role === 'master');
  const role = !node.up ? style.dim(roleText) : wrongRole ? style.red(roleText) : n.isMaster ? style.bold(roleText) : roleText;
  let link = NONE;
  if (node.up && replica) {
    if (node.syncing) link = style.yellow('sync');
    else if (node.linkStatus === 'up') link = style.green('up');
    else if (node.linkStatus === 'down') link = style.red('down');
  }
  const codes = n.codes.filter((c) => c !== 'NODE_DOWN' && c !== 'MASTER_DOWN');
  return [
    node.address,
    role,
    node.up ? style.green('up') : style.red('down'),
    replica && node.masterAddress ? (n.codes.includes('WRONG_MASTER') ? style.yellow(node.masterAddress) : node.masterAddress) : NONE,
    link,
    node.up ? String(node.offset) : NONE,
    node.up && replica ? String(node.lagBytes) : NONE,
    node.up && replica && node.lagSeconds !== null ? String(node.lagSeconds) : NONE,
    node.priority !== null ? String(node.priority) : NONE,
    n.connectedReplicas !== null ? String(n.connectedReplicas) : NONE,
    ...(zoned ? [node.zone ?? NONE] : []),
    codes.length > 0 ? style.yellow(codes.join(',')) : '',
  ];
}

/** `healthy …` or `degraded: N warnings`, then one line per warning. */
export function healthSummary(health: Health, style: Style): string[] {
  if (health.status === 'healthy') {
    const replicas = health.nodes.filter((n) => !n.isMaster).length;
    return [style.green(`healthy: master ${health.master}, ${replicas} replica(s) in sync`)];
  }
  const n = health.warnings.length;
  const lines = [style.yellow(`degraded: ${n} warning${n === 1 ? '' : 's'}`)];
  for (const w of health.warnings) {
    const mark = w.severity === 'critical' ? style.red('✗') : style.yellow('!');
    lines.push(`  ${mark} ${style.bold(w.code)} ${w.message}`);
  }
  return lines;
}

/** The same content as the table and the warnings, for scripts. */
export function healthJson(topology: Topology, health: Health): Record<string, unknown> {
  return {
    status: health.status,
    source: topology.source,
    master: health.master,
    nodes: health.nodes.map(({ node, isMaster, connectedReplicas, codes }) => ({
      address: node.address,
      role: node.role,
      isMaster,
      up: node.up,
      follows: node.role === 'replica' ? node.masterAddress : null,
      linkStatus: node.linkStatus,
      syncing: node.syncing,
      loading: node.loading,
      offset: node.up ? node.offset : null,
      lagBytes: node.up && node.role === 'replica' ? node.lagBytes : null,
      lagSeconds: node.lagSeconds,
      priority: node.priority,
      connectedReplicas,
      latencyMs: node.latencyMs,
      zone: node.zone,
      warnings: codes,
    })),
    warnings: health.warnings,
  };
}

export interface DescribeOptions {
  /**
   * The master after the changes, if it answers: another member turning master is then a second
   * master, not a promotion. With none (the master dead), it is read as a promotion under way.
   */
  master?: Address | null;
  /** A note to append to a change's line (a duration). */
  annotate?: (change: ReplicationChange) => string | undefined;
}

/**
 * One line per change. A demotion (role change to replica plus its new master) reads as one
 * line; a promotion is the role change alone.
 */
export function describeChanges(changes: readonly ReplicationChange[], style: Style, options: DescribeOptions = {}): string[] {
  const annotate = options.annotate ?? (() => undefined);
  const lines: string[] = [];
  const repointed = new Set(changes.flatMap((c) => (c.type === 'repointed' ? [c.address] : [])));
  const demoted = new Set(
    changes.flatMap((c) => (c.type === 'role-change' && c.from === 'master' && c.to === 'replica' && repointed.has(c.address) ? [c.address] : [])),
  );
  const add = (change: ReplicationChange, line: string): void => {
    const note = annotate(change);
    lines.push(note ? `${line} ${style.dim(note)}` : line);
  };
  for (const c of changes) {
    switch (c.type) {
      case 'master-change':
        add(c, `${style.bold('master')} ${c.from ?? 'none'} → ${style.bold(c.to ?? 'none')}`);
        break;
      case 'node-added':
        add(c, `${c.address} joined`);
        break;
      case 'node-removed':
        add(c, `${c.address} left`);
        break;
      case 'node-up':
        add(c, `${c.address} ${style.green('up')}`);
        break;
      case 'node-down':
        add(c, `${c.address} ${style.red('down')}`);
        break;
      case 'role-change':
        if (c.from === 'replica' && c.to === 'master') {
          const second = options.master !== undefined && options.master !== null && options.master !== c.address;
          add(c, second ? `${c.address} ${style.red('says role:master')} while the master is ${options.master ?? 'unknown'}` : `${c.address} ${style.bold('promoted')}: replica → master`);
        }
        else if (demoted.has(c.address)) break;
        else add(c, `${c.address} role ${c.from} → ${c.to}`);
        break;
      case 'repointed':
        if (demoted.has(c.address)) add(c, `${c.address} ${style.bold('demoted')}: master → replica of ${c.to ?? 'no node'}`);
        else add(c, `${c.address} ${style.bold('repointed')}: now follows ${c.to ?? 'no node'} (was ${c.from ?? 'a master'})`);
        break;
      case 'link-change':
        add(c, `${c.address} link to its master ${c.to === 'up' ? style.green('up') : style.red(c.to ?? 'unknown')}`);
        break;
    }
  }
  return lines;
}

/** `1234 ms` or `12.3 s`. */
export function duration(ms: number): string {
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
