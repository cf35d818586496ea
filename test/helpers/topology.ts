import { readFileSync } from 'node:fs';
import type { Probe } from '../../src/topology/assemble.js';
import { parseInfoReplication } from '../../src/topology/info-parser.js';
import type { Evidence } from '../../src/failover/decide.js';
import type { NodeState } from '../../src/topology/types.js';

/** A captured `INFO replication` reply from test/fixtures/info-replication (CRLF kept). */
export function fixture(name: string): string {
  return readFileSync(new URL(`../fixtures/info-replication/${name}.txt`, import.meta.url), 'utf8');
}

/** A probe of 127.0.0.1:port that answered with a fixture, or (null) did not answer. */
export function probe(port: number, fixtureName: string | null): Probe {
  return {
    node: { host: '127.0.0.1', port },
    address: `127.0.0.1:${port}`,
    info: fixtureName === null ? null : parseInfoReplication(fixture(fixtureName)),
    latencyMs: fixtureName === null ? null : 0.3,
    error: fixtureName === null ? new Error('ECONNREFUSED') : null,
  };
}

/** A healthy replica of `${host}:6379` on `port`, with `patch` applied. */
export function nodeState(port: number, patch: Partial<NodeState> = {}, host = '127.0.0.1'): NodeState {
  return {
    address: `${host}:${port}`,
    host,
    port,
    role: 'replica',
    up: true,
    offset: 1000,
    lagBytes: 0,
    lagSeconds: 0,
    linkStatus: 'up',
    lastIoSecondsAgo: 0,
    priority: 100,
    latencyMs: 0.2,
    masterAddress: `${host}:6379`,
    loading: false,
    syncing: false,
    replid: null,
    runId: null,
    zone: null,
    ...patch,
  };
}

/** A probe of 127.0.0.1:port that answered with this `INFO` text (a fixture, edited). */
export function probeText(port: number, text: string): Probe {
  return { node: { host: '127.0.0.1', port }, address: `127.0.0.1:${port}`, info: parseInfoReplication(text), latencyMs: 0.3, error: null };
}

/**
 * A fixture with some `field:value` lines replaced, for the moments no capture shows (a replica
 * whose link is still up, say). Throws on a field the fixture lacks, so a typo cannot pass.
 */
export function edited(name: string, fields: Record<string, string | number>): string {
  let text = fixture(name);
  for (const [field, value] of Object.entries(fields)) {
    const line = new RegExp(`^${field}:.*$`, 'm');
    if (!line.test(text)) throw new Error(`${name} has no ${field} line`);
    text = text.replace(line, `${field}:${value}`);
  }
  return text;
}

/** `decide()`'s evidence of a client whose master (127.0.0.1:6379) answers, at t = 10 s. */
export function evidence(patch: Partial<Evidence> = {}): Evidence {
  return {
    now: 10_000,
    silenceMs: 0,
    suspect: false,
    replicaPingPeriodS: null,
    replicaQuietMs: new Map(),
    knownMaster: '127.0.0.1:6379',
    troubleSince: null,
    reasons: [],
    pendingReason: null,
    acting: false,
    warnedDown: false,
    warned: new Set(),
    noMasterSince: null,
    refused: null,
    retryAt: 0,
    ...patch,
  };
}
