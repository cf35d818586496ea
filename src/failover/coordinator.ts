import createDebug from 'debug';
import type { FailoverEvent, WarningEvent } from '../events.js';
import type { NodePool } from '../pool/node-pool.js';
import type { TopologyManager } from '../topology/manager.js';
import type { TopologyProvider } from '../topology/provider.js';
import type { Address, NodeState, Topology } from '../topology/types.js';
import type { PromotionError, RoleChanger } from './actions.js';
import { RoleChangeRetries } from './retries.js';
import { decide, type Decision, type DecideSettings, type Evidence } from './decide.js';
import { FenceKeeper } from './fence-keeper.js';
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
  #retries = new RoleChangeRetries();
  #stopped = false;
  #links: LinkWatch;
  /** While the master is silent: its replicas' offsets, sampled (sub-second witnesses). */
  #witnesses: WitnessSampler;
  /** The replicas' quiet was reported as a quorum in this silence (one refresh asked for it). */
  #quietReported = false;
  #fence: FenceKeeper;

  constructor(settings: CoordinatorSettings) {
    this.#settings = settings;
    // Looking costs no I/O (the queues of commands in flight), so it can be frequent while active.
    const interval = Math.max(25, Math.min(50, Math.floor(settings.downAfterMs / 20)));
    // Idle after 2 × downAfterMs (2 s at least) without a command; while active with nothing in
    // flight to the master, a PING after as long without a sign of life.
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
      busy: () => this.#troubleSince !== null || this.#fence.fenced || this.#acting || this.#pendingReason !== null || (settings.held?.() ?? 0) > 0,
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
      expected: () => this.#fence.expected(),
      onReading: (address, links) => this.#fence.judge(address, links),
    });
    this.#fence = new FenceKeeper({
      fencing: settings.fencing,
      downAfterMs: settings.downAfterMs,
      quorum: settings.quorum,
      sentinel: settings.promote === 'sentinel',
      provider: settings.provider,
      manager: settings.manager,
      onFence: settings.onFence,
      onWarning: settings.onWarning,
      knownMaster: () => this.#knownMaster,
      changePending: () => this.#pendingReason !== null,
      stopped: () => this.#stopped,
    });
  }

  get fenced(): boolean {
    return this.#fence.fenced;
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
    // Its answer to the discovery is a sign of life too; no answer wakes an idle client's watch.
    if (next.master.up && next.master.latencyMs !== null) this.#heartbeat.heard(next.master.address, performance.now() - next.master.latencyMs);
    else if (!next.master.up) this.#heartbeat.wake();
    const decisions = decide(next, previous, this.#evidence(), this.#settings);
    this.#knownMaster = next.master.address;
    if (next.master.up) {
      const linked = next.replicas.filter((r) => r.up && r.masterAddress === next.master!.address && r.linkStatus === 'up').length;
      this.#fence.seen(linked);
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
   * and waits for its own routing to have the new master: `hold` is called when the handover
   * starts (after the fresh picture it needs, so writes wait only for the handover itself).
   */
  async switchover(options: HandoverOptions = {}, hold?: () => void): Promise<SwitchoverResult> {
    const { manager, provider } = this.#settings;
    const topology = await manager.refresh('switchover()');
    let expected = false;
    try {
      return await provider.handover(topology, options, (reason) => {
        expected = true;
        hold?.();
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
      refused: this.#retries.refused,
      retryAt: this.#retries.retryAt,
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
      .then(() => this.#retries.succeeded())
      .catch((error: Error) => this.#actionFailed(reason, error))
      .finally(() => {
        this.#acting = false;
        if (!this.#stopped) this.#settings.manager.request('after failover action');
      });
  }

  /** A role change failed: refused for rights (said once, never tried again), or tried again later. */
  #actionFailed(reason: string | null, error: Error): void {
    debug('failover action failed: %s', error.message);
    if (reason !== null) this.#pendingReason = null;
    const verdict = this.#retries.failed(error, performance.now());
    if (verdict === null) return;
    if (verdict === 'refused') {
      const message =
        `this client may not change roles (${error.message}): it will not promote or demote, and follows whoever does ` +
        "(Sentinel, the service, an operator). Set failover: { promote: 'manual' } to say so, or give the user REPLICAOF and CONFIG rights.";
      this.#settings.onWarning({ code: 'PROMOTION_NOT_PERMITTED', message, address: (error as PromotionError).address });
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
    this.#fence.newMaster(master.address);
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
