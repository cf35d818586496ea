import createDebug from 'debug';
import type { FailoverEvent, WarningEvent } from '../events.js';
import type { NodePool } from '../pool/node-pool.js';
import type { TopologyManager } from '../topology/manager.js';
import type { TopologyProvider } from '../topology/provider.js';
import type { Address, NodeState, Topology } from '../topology/types.js';
import { PromotionError, type RoleChanger } from './actions.js';
import { decide, type Decision, type DecideSettings, type Evidence } from './decide.js';
import { decideFence, type FenceDecision, type LinkReading } from './fence.js';
import type { Activity } from './activity.js';
import { Heartbeat, type SentQueue } from './heartbeat.js';
import { LinkWatch } from './link-watch.js';
import { WitnessSampler } from './witnesses.js';
import { defaultQuorum } from './election.js';
import { quietLimitMs } from './decide.js';
import type { HandoverOptions, SwitchoverResult } from './switchover.js';

const debug = createDebug('redis-failover:failover');

/** A silent master is looked at again at most this often by the heartbeat (the rechecks add theirs). */
const SILENT_REPEAT_MS = 250;

/** While the master is silent, each replica is asked for its offset this often. */
const WITNESS_SAMPLE_MS = 25;

/** After a failed role change, the next waits 100 ms, then twice as long each time up to 5 s, less up to half at random. */
const RETRY = { firstMs: 100, maxMs: 5000 } as const;

/** The wait before the next role change after `failures` failed ones in a row: exponential, with jitter. */
export function retryDelayMs(failures: number, random: () => number = Math.random): number {
  const ceiling = Math.min(RETRY.maxMs, RETRY.firstMs * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling * (0.5 + random() / 2));
}

export interface CoordinatorSettings extends DecideSettings {
  pool: NodePool;
  /** Who carries out promotions and demotions (`REPLICAOF`, saved with `CONFIG REWRITE`). */
  roles: RoleChanger;
  manager: TopologyManager;
  /** Who changes roles on request (`promote`, `demote`, `switchover`): ourselves, or Sentinel. */
  provider: TopologyProvider;
  /** The master stopped answering (or answers again): hold writes meanwhile. */
  onSuspect(suspect: boolean): void;
  /** The master has owed an answer for a whole look (or answers again): probe it briefly. */
  onSilence?(master: Address | null): void;
  onFailover(event: FailoverEvent): void;
  onWarning(event: WarningEvent): void;
  onError(error: Error): void;
  /** About to promote: drop the old master's connections so nothing more is written there. */
  beforePromote(oldMaster: Address): void;
  /** `fencing` option: hold writes to a master stranded from its replicas. */
  fencing: boolean;
  /** The master is fenced (or no longer): hold writes meanwhile. */
  onFence(fenced: boolean): void;
  /** Where the dispatcher counts the application's commands: the watch follows the client's pace. */
  activity?: Activity;
  /** Commands held by the dispatcher (waiting for a master): someone waits on this client. */
  held?(): number;
}

/**
 * Detection is apart from action: detectors (connection loss, the heartbeat, `-READONLY`, the
 * periodic poll, Sentinel events) only ask for a refresh; after each refresh `decide()` looks at
 * the settled picture, and this class carries out what it says: timers, `REPLICAOF` through
 * actions.ts, events. It is also where the client's `promote`, `demote` and `switchover` go.
 */
export class FailoverCoordinator {
  #settings: CoordinatorSettings;
  #heartbeat: Heartbeat;
  #knownMaster: Address | null = null;
  /** When the current trouble began (first silence or loss), for `durationMs` and the wait. */
  #troubleSince: number | null = null;
  #reasons = new Set<string>();
  #pendingReason: string | null = null;
  #acting = false;
  #timer: NodeJS.Timeout | null = null;
  #pingPeriodS: number | null = null;
  #warnedDown = false;
  #warned = new Set<string>();
  #noMasterSince: number | null = null;
  /** Why role changes are refused to this client for good (its ACL user), or null. */
  #refused: string | null = null;
  /** Role changes that failed in a row, and when the next may be tried. */
  #failures = 0;
  #retryAt = 0;
  #stopped = false;
  #links: LinkWatch;
  /** While the master is silent: its replicas' offsets, sampled (sub-second witnesses). */
  #witnesses: WitnessSampler;
  /** The replicas' quiet was reported as a quorum in this silence (one refresh asked for it). */
  #quietReported = false;
  /** The most replicas the current master has been seen with (the fence's baseline). */
  #had = 0;
  #fenced = false;

  constructor(settings: CoordinatorSettings) {
    this.#settings = settings;
    // Looking costs no I/O (the queues of commands in flight), so it can be frequent while active.
    const interval = Math.max(25, Math.min(50, Math.floor(settings.downAfterMs / 20)));
    // While idle: a PING every 2 × downAfterMs (2 s at least), and the refresh 5 × slower.
    const idleMs = Math.max(2000, 2 * settings.downAfterMs);
    this.#heartbeat = new Heartbeat({
      intervalMs: interval,
      idlePingMs: idleMs,
      lingerMs: idleMs,
      suspectAfterMs: Math.max(2 * interval, Math.floor(settings.downAfterMs / 2)),
      downAfterMs: settings.downAfterMs,
      repeatSilentMs: SILENT_REPEAT_MS,
      activity: settings.activity,
      onSuspect: (suspect) => {
        settings.onSuspect(suspect);
        // Start watching the replicas now: by downAfterMs their view is fresh.
        if (suspect) this.signal(`no answer from ${this.#knownMaster} for ${Math.round(this.#heartbeat.silenceMs())} ms`);
      },
      onSilent: (ms) => this.signal(`master silent for ${Math.round(ms)} ms`),
      onSilence: (silent) => this.#onSilence(silent),
      onPace: (active) => {
        debug('client %s', active ? 'active: watching closely' : 'idle: watching slowly');
        if (active) this.#links.resume();
        else this.#links.pause();
        settings.manager.setActive(active);
      },
      busy: () => this.#troubleSince !== null || this.#fenced || this.#acting || this.#pendingReason !== null || (settings.held?.() ?? 0) > 0,
    });
    this.#witnesses = new WitnessSampler({
      intervalMs: WITNESS_SAMPLE_MS,
      // Fast while a witness can still come soon (a hung master: ~downAfterMs), then slowly.
      fastForMs: 2 * settings.downAfterMs + 1000,
      slowIntervalMs: 250,
      onRound: (quiet) => this.#onQuiet(quiet),
    });
    this.#links = new LinkWatch({
      intervalMs: Math.max(100, Math.min(500, Math.floor(settings.downAfterMs / 4))),
      // Replicas acknowledge a GETACK in a round trip; a tenth of downAfterMs is plenty, and bounds
      // how long the control connection waits behind a probe while a replica is cut.
      probeTimeoutMs: Math.max(50, Math.min(200, Math.floor(settings.downAfterMs / 10))),
      downAfterMs: settings.downAfterMs,
      expected: () => this.#expectedReplicas(),
      onReading: (address, links) => this.#judgeFence(address, links),
    });
  }

  get fenced(): boolean {
    return this.#fenced;
  }

  get masterSuspect(): boolean {
    return this.#heartbeat.suspect;
  }

  /** "The picture may have changed": note why, and refresh. */
  signal(reason: string): void {
    if (this.#stopped) return;
    this.#heartbeat.wake();
    this.#noteTrouble(reason);
    this.#settings.manager.request(reason);
  }

  /** Called with every new picture: decide, then carry the decisions out in order. */
  afterRefresh(next: Topology, previous: Topology | null): void {
    if (this.#stopped) return;
    if (next.master === null) {
      // No master at all (a replication cycle): the last one stays known, for the event that
      // reports the repair.
      this.#noMasterSince ??= performance.now();
      for (const decision of decide(next, previous, this.#evidence(), this.#settings)) this.#carryOut(decision);
      return;
    }
    this.#noMasterSince = null;
    // Watched first: a new master's silence counts from now.
    this.#watchMaster(next.master);
    // Its answer to the discovery is a sign of life too (an idle client's next PING waits).
    if (next.master.up && next.master.latencyMs !== null) this.#heartbeat.heard(next.master.address, performance.now() - next.master.latencyMs);
    const decisions = decide(next, previous, this.#evidence(), this.#settings);
    this.#knownMaster = next.master.address;
    if (next.master.up) {
      const linked = next.replicas.filter((r) => r.up && r.masterAddress === next.master!.address && r.linkStatus === 'up').length;
      this.#had = Math.max(this.#had, linked);
    }
    for (const decision of decisions) this.#carryOut(decision);
  }

  /** `promote(address)`: the runbook's manual promotion, with the other replicas repointed. */
  async promote(address: Address): Promise<void> {
    const { manager, provider } = this.#settings;
    const topology = manager.current ?? (await manager.refresh('promote()'));
    const before = { pending: this.#pendingReason, since: this.#troubleSince, reasons: [...this.#reasons] };
    this.#pendingReason = `promote(${address}) called`;
    this.#noteTrouble('manual promotion');
    try {
      await provider.promote(address, topology);
    } catch (error) {
      // Nothing changed (a refused request, or REPLICAOF NO ONE failed): no change to expect.
      this.#pendingReason = before.pending;
      this.#troubleSince = before.since;
      this.#reasons = new Set(before.reasons);
      throw error;
    }
    await manager.refresh('promoted');
  }

  /** `demote(address)`: make it follow the current master (the runbook's last step). */
  async demote(address: Address): Promise<void> {
    const { manager, provider } = this.#settings;
    const topology = await manager.refresh('demote()');
    await provider.demote(address, topology);
    await manager.refresh('demoted');
  }

  /**
   * A planned handover, as the provider does it. The change of master it brings is reported with
   * the provider's reason and a `durationMs` from its start. The caller holds its writes meanwhile
   * and waits for its own routing to have the new master.
   */
  async switchover(options: HandoverOptions = {}): Promise<SwitchoverResult> {
    const { manager, provider } = this.#settings;
    const topology = await manager.refresh('switchover()');
    let expected = false;
    try {
      return await provider.handover(topology, options, (reason) => {
        expected = true;
        this.#pendingReason = reason;
        this.#troubleSince = performance.now();
      });
    } catch (error) {
      if (expected) {
        // The planned change did not happen.
        this.#pendingReason = null;
        this.#troubleSince = null;
      }
      throw error;
    }
  }

  stop(): void {
    this.#stopped = true;
    this.#heartbeat.stop();
    this.#links.stop();
    this.#witnesses.stop();
    if (this.#timer !== null) clearTimeout(this.#timer);
  }

  // ----------------------------------------------------------------

  #evidence(): Evidence {
    return {
      now: performance.now(),
      silenceMs: this.#heartbeat.silenceMs(),
      suspect: this.#heartbeat.suspect,
      replicaPingPeriodS: this.#pingPeriodS,
      replicaQuietMs: this.#witnesses.quiet(),
      knownMaster: this.#knownMaster,
      troubleSince: this.#troubleSince,
      reasons: [...this.#reasons],
      pendingReason: this.#pendingReason,
      acting: this.#acting,
      warnedDown: this.#warnedDown,
      warned: this.#warned,
      noMasterSince: this.#noMasterSince,
      refused: this.#refused,
      retryAt: this.#retryAt,
    };
  }

  #carryOut(decision: Decision): void {
    switch (decision.kind) {
      case 'warn':
        this.#warned.add(decision.key);
        // The one that can empty the replicas also goes to the process's warnings (it is printed).
        if (decision.event.code === 'MASTER_RESTARTED_EMPTY') process.emitWarning(decision.event.message, { code: 'REDIS_FAILOVER_MASTER_RESTARTED_EMPTY' });
        this.#settings.onWarning(decision.event);
        return;
      case 'report':
        // Sentinel's switch, or another client's promotion: nothing more is written to a silent old master.
        if (decision.oldMasterDown && decision.event.from !== null) this.#settings.beforePromote(decision.event.from);
        this.#settings.onFailover(decision.event);
        this.#pendingReason = null;
        this.#troubleSince = null;
        this.#reasons.clear();
        this.#warnedDown = false;
        return;
      case 'calm':
        if (this.#troubleSince !== null && !this.#acting && this.#pendingReason === null) {
          this.#troubleSince = null;
          this.#reasons.clear();
        }
        this.#warnedDown = false;
        return;
      case 'demote': {
        const { nodes, master } = decision;
        this.#act(null, async () => {
          for (const node of nodes) {
            debug('demoting %s to a replica of %s', node.address, master.address);
            await this.#settings.roles.follow(node, master);
          }
        });
        return;
      }
      case 'trouble':
        this.#noteTrouble(decision.reason);
        return;
      case 'recheck':
        debug('recheck in %d ms: %s', decision.inMs, decision.why);
        this.#recheckIn(decision.inMs);
        return;
      case 'warn-manual':
        this.#warnedDown = true;
        this.#settings.onWarning(decision.event);
        return;
      case 'promote': {
        const { candidate, followers, from } = decision;
        this.#act(decision.reason, async () => {
          debug('promoting %s (master %s down)', candidate.address, from);
          if (from !== candidate.address) this.#settings.beforePromote(from);
          await this.#settings.roles.promote(candidate, followers);
        });
        return;
      }
    }
  }

  #act(reason: string | null, action: () => Promise<void>): void {
    if (this.#acting) return;
    this.#acting = true;
    if (reason !== null) this.#pendingReason = reason;
    action()
      .then(() => {
        this.#failures = 0;
        this.#retryAt = 0;
      })
      .catch((error: Error) => this.#actionFailed(reason, error))
      .finally(() => {
        this.#acting = false;
        if (!this.#stopped) this.#settings.manager.request('after failover action');
      });
  }

  /**
   * A role change failed. Refused for lack of rights (a managed service's user): said once, and no
   * role change is tried again — the client follows whoever promotes. Otherwise the next try waits,
   * longer after each failure: a node that keeps failing must not be asked in a loop.
   */
  #actionFailed(reason: string | null, error: Error): void {
    debug('failover action failed: %s', error.message);
    if (reason !== null) this.#pendingReason = null;
    if (this.#refused !== null) return;
    if (error instanceof PromotionError && error.notPermitted) {
      this.#refused = error.message;
      const message =
        `this client may not change roles (${error.message}): it will not promote or demote, and follows whoever does ` +
        "(Sentinel, the service, an operator). Set failover: { promote: 'manual' } to say so, or give the user REPLICAOF and CONFIG rights.";
      this.#settings.onWarning({ code: 'PROMOTION_NOT_PERMITTED', message, address: error.address });
    } else {
      this.#failures++;
      this.#retryAt = performance.now() + retryDelayMs(this.#failures);
    }
    if (reason !== null) this.#settings.onFailover({ from: this.#knownMaster, to: null, reason: `promotion failed: ${error.message}`, durationMs: 0 });
    this.#settings.onError(error);
  }

  /**
   * The master has owed an answer for a whole look: ask its replicas whether they still hear it
   * (sub-second witnesses), until it answers again. Only promotion uses what they say, so a client
   * that does not promote (Sentinel mode, `manual`) does not ask.
   */
  #onSilence(silent: boolean): void {
    this.#settings.onSilence?.(silent ? this.#heartbeat.target : null);
    // It answers again after a silence long enough to have been probed briefly (and seen down): look again.
    if (!silent && this.#troubleSince !== null && !this.#stopped) this.#settings.manager.request('master answers again');
    if (!silent || this.#settings.promote !== 'auto') {
      this.#witnesses.stop();
      this.#quietReported = false;
      return;
    }
    const topology = this.#settings.manager.current;
    const master = this.#knownMaster;
    if (topology === null || master === null) return;
    const pool = this.#settings.pool;
    const followers = topology.replicas.filter((r) => r.up && r.role === 'replica' && r.masterAddress === master);
    this.#witnesses.start(followers.map((r) => ({ address: r.address, conn: pool.node(r).control() })));
  }

  /**
   * A replica answered: once a quorum of the master's followers has been quiet long enough, and
   * the master silent for `downAfterMs`, look again now rather than at the next recheck.
   */
  #onQuiet(quiet: ReadonlyMap<Address, number>): void {
    if (this.#quietReported || this.#stopped) return;
    const topology = this.#settings.manager.current;
    const master = this.#knownMaster;
    if (topology === null || master === null) return;
    const limit = quietLimitMs(this.#settings.downAfterMs, this.#pingPeriodS);
    const quorum = this.#settings.quorum ?? defaultQuorum(topology.replicas, master);
    const agree = [...quiet.values()].filter((ms) => ms >= limit).length;
    if (agree < quorum || this.#heartbeat.silenceMs() < this.#settings.downAfterMs) return;
    this.#quietReported = true;
    this.signal(`${agree} replica(s) heard nothing from ${master} for ${limit} ms`);
  }

  #watchMaster(master: NodeState): void {
    if (this.#heartbeat.target === master.address) return;
    this.#witnesses.stop();
    const pool = this.#settings.pool;
    const control = pool.node(master).control();
    // The application's commands in flight there: answered ones say the master is alive.
    const queues = (): SentQueue[] => pool.get(master.address)?.dataConnections().map((c) => c.commandQueue) ?? [];
    this.#heartbeat.watch(master.address, control, queues);
    // A new master: its replicas are counted afresh, and a fence on the old one is lifted.
    this.#had = 0;
    this.#setFenced(false, `new master ${master.address}`);
    if (this.#settings.fencing) this.#links.watch(master.address, control);
    this.#pingPeriodS = null;
    this.#readPingPeriod(master);
  }

  /** `repl-ping-replica-period`: how long a replica may hear nothing from a live master. */
  #readPingPeriod(master: NodeState): void {
    this.#settings.pool
      .node(master)
      .control()
      .config('GET', 'repl-ping-replica-period')
      .then((reply) => {
        const value = Number((reply as string[])[1]);
        if (Number.isFinite(value) && value > 0) this.#pingPeriodS = value;
      })
      .catch(() => {
        // CONFIG may be forbidden to this user: keep Redis's default.
      });
  }

  /** What a probe of the master's links should hear from: the replicas it had, and those still syncing. */
  #expectedReplicas(): { replicas: number; syncing: number } | null {
    // A change of master on its way (a switchover, a promotion): the old master's replicas are
    // being repointed, and a probe would only hold its control connection for nothing.
    if (this.#had === 0 || this.#knownMaster === null || this.#pendingReason !== null) return null;
    const master = this.#knownMaster;
    const syncing = this.#settings.manager.current?.replicas.filter((r) => r.up && r.masterAddress === master && r.syncing).length ?? 0;
    return { replicas: this.#had, syncing };
  }

  /**
   * The link watch read the master's links: judge the fence and carry it out. In Sentinel mode a
   * cut is first put to the Sentinels; writes wait meanwhile — a Sentinel that vouches for the
   * master answers in a round trip and lets them go, and in the Jepsen case none answers.
   */
  async #judgeFence(address: Address, links: LinkReading): Promise<void> {
    if (this.#stopped || address !== this.#knownMaster) return;
    this.#had = Math.max(this.#had, links.attached);
    const settings = {
      fencing: this.#settings.fencing,
      downAfterMs: this.#settings.downAfterMs,
      quorum: this.#settings.quorum,
      sentinel: this.#settings.promote === 'sentinel',
    };
    const evidence = { master: address, links, had: this.#had, sentinelsConfirming: null as number | null, fenced: this.#fenced };
    let decisions: FenceDecision[] = decideFence(evidence, settings);
    if (decisions.some((d) => d.kind === 'ask-sentinels')) {
      const ask = this.#settings.provider.judgesConfirming;
      const timeoutMs = Math.max(200, Math.min(1000, Math.floor(this.#settings.downAfterMs / 2)));
      const wasFenced = this.#fenced;
      if (!wasFenced) this.#setFenced(true, 'asking the Sentinels');
      evidence.sentinelsConfirming = ask ? await ask.call(this.#settings.provider, address, timeoutMs) : 0;
      if (this.#stopped || address !== this.#knownMaster) return;
      evidence.fenced = wasFenced;
      decisions = decideFence(evidence, settings).filter((d) => d.kind !== 'ask-sentinels');
      if (!wasFenced && !decisions.some((d) => d.kind === 'fence')) this.#setFenced(false, `${evidence.sentinelsConfirming} Sentinel(s) vouch for ${address}`);
    }
    for (const decision of decisions) {
      if (decision.kind === 'ask-sentinels') continue;
      debug('%s: %s', decision.kind, decision.reason);
      this.#setFenced(decision.kind === 'fence', decision.reason);
      if (decision.kind === 'fence') this.#settings.onWarning({ code: 'MASTER_FENCED', message: `writes wait: ${decision.reason}`, address });
    }
    // Another master may be on its way (Sentinel's, or a promotion on the other side): look again
    // while fenced, so that writes go to it as soon as the source names it.
    if (this.#fenced) this.#settings.manager.request('master fenced');
  }

  #setFenced(fenced: boolean, why: string): void {
    if (fenced === this.#fenced) return;
    this.#fenced = fenced;
    if (!fenced) debug('writes go again: %s', why);
    this.#settings.onFence(fenced);
  }

  #noteTrouble(reason: string): void {
    this.#troubleSince ??= performance.now() - (this.#heartbeat.suspect ? this.#heartbeat.silenceMs() : 0);
    if (this.#reasons.size < 20) this.#reasons.add(reason);
  }

  #recheckIn(ms: number): void {
    if (this.#timer !== null || this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#settings.manager.request('failover recheck');
    }, Math.max(10, ms));
    this.#timer.unref();
  }
}
