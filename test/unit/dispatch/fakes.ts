import { Command, type Redis } from 'ioredis';
import { Engine, type EngineSettings } from '../../../src/dispatch/engine.js';
import type { Attempt, ViewRoute } from '../../../src/dispatch/attempt.js';
import type { Placement, WriteTracking } from '../../../src/dispatch/placement.js';
import { parseReadFrom } from '../../../src/routing/read-policy.js';
import { routeTarget, type RouteTarget, type RoutingState } from '../../../src/routing/route.js';
import type { Address } from '../../../src/topology/types.js';
import { nodeState } from '../../helpers/topology.js';

/**
 * A connection as the engine uses one, with no socket: it keeps what it was given, and the test
 * settles each command as ioredis would, by calling `command.resolve(reply)` or `reject(error)`.
 */
export class FakeConnection {
  status = 'ready';
  readonly stream = undefined;
  readonly sent: Command[] = [];
  readonly batches: FakePipeline[] = [];

  constructor(readonly address: Address) {}

  sendCommand(cmd: Command): Promise<unknown> {
    this.sent.push(cmd);
    return cmd.promise;
  }

  pipeline(): FakePipeline {
    return this.#batch(false);
  }

  multi(): FakePipeline {
    return this.#batch(true);
  }

  /** The names of what it was sent, in order (`get`, `wait`, …). */
  get names(): string[] {
    return this.sent.map((c) => c.name);
  }

  #batch(transaction: boolean): FakePipeline {
    const p = new FakePipeline(transaction);
    this.batches.push(p);
    return p;
  }
}

/** What `runPipeline()` uses of an ioredis pipeline; `exec()` waits for the test's `settle`. */
export class FakePipeline {
  readonly commands: Command[] = [];
  settle!: { resolve(result: unknown): void; reject(error: Error): void };

  constructor(readonly transaction: boolean) {}

  sendCommand(c: Command): void {
    this.commands.push(c);
  }
  multi(): void {}
  exec(): Promise<unknown> {
    return new Promise((resolve, reject) => (this.settle = { resolve, reject }));
  }
}

/**
 * A placement with one routing state over fake connections: a replica set in a few lines, with
 * everything the engine tells it kept for the test to look at.
 */
export class FakePlacement implements Placement {
  readonly state: RoutingState = { known: true, master: null, replicas: [], gate: null, pinned: null, fatal: null, turn: 0 };
  readonly conns = new Map<Address, FakeConnection>();
  readonly leased: FakeConnection[] = [];
  readonly released: FakeConnection[] = [];
  readonly observations: string[] = [];
  readonly subscribed: string[] = [];
  readonly selects: number[] = [];
  /** A topology's own reply errors (a cluster's MOVED …), when a test gives some. */
  replyError?: Placement['replyError'];
  batchError?: Placement['batchError'];

  /** Master on `port` and replicas on the others, every connection ready. */
  constructor(master: number | null, replicas: number[] = []) {
    this.setNodes(master, replicas);
  }

  setNodes(master: number | null, replicas: number[] = []): void {
    this.state.master = master === null ? null : this.#target(master, true);
    this.state.replicas = replicas.map((p) => this.#target(p, false));
  }

  conn(port: number): FakeConnection {
    const address = `127.0.0.1:${port}`;
    let conn = this.conns.get(address);
    if (conn === undefined) this.conns.set(address, (conn = new FakeConnection(address)));
    return conn;
  }

  target(port: number): RouteTarget {
    return [this.state.master, ...this.state.replicas].find((t) => t?.node.port === port)!;
  }

  #target(port: number, master: boolean): RouteTarget {
    const t = routeTarget(nodeState(port, master ? { role: 'master', masterAddress: null, linkStatus: null } : {}), master);
    t.ready = true;
    this.conn(port);
    return t;
  }

  stateFor(): RoutingState {
    return this.state;
  }

  connection(target: RouteTarget, lane: 'data' | 'blocking' | 'transaction'): Redis | null {
    const conn = this.conns.get(target.address);
    if (conn === undefined || conn.status !== 'ready') return null;
    if (lane !== 'data') this.leased.push(conn);
    return conn as unknown as Redis;
  }

  release(_target: RouteTarget, conn: Redis): void {
    this.released.push(conn as unknown as FakeConnection);
  }

  subscribe(cmd: Command, target: RouteTarget): boolean {
    this.subscribed.push(`${cmd.name} ${target.node.port}`);
    this.conns.get(target.address)!.sendCommand(cmd);
    return true;
  }

  selected(db: number): void {
    this.selects.push(db);
  }

  observed(what: 'connection-lost' | 'readonly', address: Address): void {
    this.observations.push(`${what} ${address}`);
  }

  waitCause(a: Attempt): Error | undefined {
    return a.reason === null ? undefined : new Error(`waits: ${a.reason}`);
  }
}

/** Read-your-writes as a test sets it: each write gets the next sequence; reads of `key` need its write. */
export class FakeWrites implements WriteTracking {
  active = true;
  seq = 0;
  readonly keys = new Map<string, number>();
  readonly settledSeqs: number[] = [];
  /** Recorded and not sent yet. */
  readonly unsent = new Set<number>();

  need(a: Attempt): number {
    if (a.policy.name === 'master') return 0;
    const cmds = a.cmd !== null ? [a.cmd] : a.batch!.commands;
    return Math.max(0, ...cmds.map((c) => this.keys.get(String(c.args[0])) ?? 0));
  }

  record(cmd: Command): number {
    this.keys.set(String(cmd.args[0]), ++this.seq);
    this.unsent.add(this.seq);
    return this.seq;
  }

  sent(seqs: number | readonly number[]): void {
    for (const seq of typeof seqs === 'number' ? [seqs] : seqs) this.unsent.delete(seq);
  }

  awaitsUnsent(need: number): boolean {
    return [...this.unsent].some((seq) => seq <= need);
  }

  settled(seqs: number | readonly number[]): void {
    for (const seq of typeof seqs === 'number' ? [seqs] : seqs) {
      this.settledSeqs.push(seq);
      this.unsent.delete(seq);
    }
  }
}

export function engineOver(placement: Placement, settings: Partial<EngineSettings> = {}): Engine {
  return new Engine({ placement, writes: null, maxQueuedCommands: 100, holdTimeoutMs: null, offlineQueue: true, autoPipelining: false, ...settings });
}

export function view(readFrom = 'replicaPreferred', durability: ViewRoute['durability'] = null): ViewRoute {
  return { policy: parseReadFrom(readFrom), durability };
}

export function command(name: string, ...args: string[]): Command {
  return new Command(name, args, { replyEncoding: 'utf8' });
}

export const lost = (): Error => new Error('Connection is closed.');

/** Let promise reactions run. */
export const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
