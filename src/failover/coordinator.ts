import createDebug from 'debug';
import type { FailoverEvent, WarningEvent } from '../events.js';
import type { NodePool } from '../pool/node-pool.js';
import type { TopologyManager } from '../topology/manager.js';
import type { Address, NodeState, Topology } from '../topology/types.js';
import { follow, promote, PromotionError } from './actions.js';
import { defaultQuorum, electCandidate, masterDownWitnesses } from './election.js';
import { Heartbeat } from './heartbeat.js';

const debug = createDebug('redis-failover:failover');

export interface CoordinatorSettings {
  mode: 'nodes' | 'sentinel';
  promote: 'auto' | 'manual' | 'sentinel';
  downAfterMs: number;
  quorum: number | null;
  pool: NodePool;
  manager: TopologyManager;
  /** The master stopped answering (or answers again): hold writes meanwhile. */
  onSuspect(suspect: boolean): void;
  onFailover(event: FailoverEvent): void;
  onWarning(event: WarningEvent): void;
  onError(error: Error): void;
  /** About to promote: drop the old master's connections so nothing more is written there. */
  beforePromote(oldMaster: Address): void;
}

/**
 * Detection is apart from action: detectors (connection loss, the heartbeat, `-READONLY`, the
 * periodic poll, Sentinel events) only ask for a refresh; after each refresh this coordinator
 * looks at the settled picture and decides — report a failover, promote, demote, or wait.
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
  #silenceLimitS: number | null = null;
  #warnedDown = false;
  #warnedRestart = new Set<string>();
  #stopped = false;

  constructor(settings: CoordinatorSettings) {
    this.#settings = settings;
    const interval = Math.max(50, Math.min(250, Math.floor(settings.downAfterMs / 5)));
    this.#heartbeat = new Heartbeat({
      intervalMs: interval,
      suspectAfterMs: Math.max(2 * interval, Math.floor(settings.downAfterMs / 2)),
      downAfterMs: settings.downAfterMs,
      onSuspect: (suspect) => {
        settings.onSuspect(suspect);
        // Start watching the replicas now: by downAfterMs their view is fresh.
        if (suspect) this.signal(`no answer from ${this.#knownMaster} for ${Math.round(this.#heartbeat.silenceMs())} ms`);
      },
      onSilent: (ms) => this.signal(`master silent for ${Math.round(ms)} ms`),
    });
  }

  get masterSuspect(): boolean {
    return this.#heartbeat.suspect;
  }

  /** "The picture may have changed": note why, and refresh. */
  signal(reason: string): void {
    if (this.#stopped) return;
    this.#noteTrouble(reason);
    this.#settings.manager.request(reason);
  }

  /** Called with every new picture. */
  afterRefresh(next: Topology, previous: Topology | null): void {
    if (this.#stopped) return;
    const master = next.master;
    if (master === null) return;
    this.#watchMaster(master);
    this.#checkRestartedEmpty(next, previous);

    if (this.#knownMaster !== null && master.address !== this.#knownMaster) {
      const reason = this.#pendingReason ?? this.#describeReasons(next.source);
      const started = this.#troubleSince ?? performance.now();
      this.#settings.onFailover({ from: this.#knownMaster, to: master.address, reason, durationMs: Math.round(performance.now() - started) });
      this.#pendingReason = null;
      this.#troubleSince = null;
      this.#reasons.clear();
      this.#warnedDown = false;
    }
    this.#knownMaster = master.address;
    if (this.#settings.mode === 'sentinel') {
      if (master.up && !this.#heartbeat.suspect) this.#calm();
      return;
    }

    const silence = this.#heartbeat.silenceMs();
    const down = silence >= this.#settings.downAfterMs && (!master.up || this.#heartbeat.suspect);
    if (master.up && !this.#heartbeat.suspect) {
      this.#calm();
      if (this.#settings.promote === 'auto') this.#demoteStrays(next, master);
      return;
    }
    this.#noteTrouble(`master ${master.address} unreachable`);
    if (!down) {
      this.#recheckIn(this.#settings.downAfterMs - silence + 10);
      return;
    }
    this.#considerPromotion(next, master);
  }

  /** `promote(address)`: the runbook's manual promotion, with the other replicas repointed. */
  async promoteNow(address: Address, topology: Topology): Promise<void> {
    const candidate = topology.replicas.find((r) => r.address === address);
    if (!candidate) throw new PromotionError(address, 'promote', new Error(`${address} is not a known replica`));
    const others = topology.replicas.filter((r) => r.address !== address && r.role === 'replica');
    if (topology.master?.up) others.push(topology.master);
    this.#pendingReason = `promote(${address}) called`;
    this.#noteTrouble('manual promotion');
    await promote(this.#settings.pool, candidate, others);
    await this.#settings.manager.refresh('promoted');
  }

  /** A change of master is coming on purpose (a switchover): report it with this reason. */
  expectChange(reason: string): void {
    this.#pendingReason = reason;
    this.#troubleSince = performance.now();
  }

  /** The planned change did not happen. */
  cancelExpectedChange(): void {
    this.#pendingReason = null;
    this.#troubleSince = null;
  }

  stop(): void {
    this.#stopped = true;
    this.#heartbeat.stop();
    if (this.#timer !== null) clearTimeout(this.#timer);
  }

  // ----------------------------------------------------------------

  #considerPromotion(next: Topology, master: NodeState): void {
    const followers = next.replicas.filter((r) => r.masterAddress === master.address);
    const witnesses = masterDownWitnesses(followers, master.address, this.#silenceLimit());
    const quorum = this.#settings.quorum ?? defaultQuorum(next.replicas, master.address);
    if (witnesses.length < quorum) {
      // The replicas still hear from the master: this client alone is cut off. Never promote on
      // our own view; look again shortly.
      debug('master %s unreachable for us, but %d/%d replicas see it down', master.address, witnesses.length, quorum);
      this.#recheckIn(100);
      return;
    }
    if (this.#settings.promote !== 'auto') {
      if (!this.#warnedDown) {
        this.#warnedDown = true;
        this.#settings.onWarning({
          code: 'MASTER_DOWN',
          message: `master ${master.address} is down (${witnesses.length} replicas agree); promote: 'manual', so no replica is promoted`,
          address: master.address,
        });
      }
      this.#recheckIn(1000);
      return;
    }
    const candidate = electCandidate(followers);
    if (candidate === null) {
      debug('no replica can be promoted (all down, loading or priority 0)');
      this.#recheckIn(500);
      return;
    }
    this.#act(`promoted ${candidate.address}: master ${master.address} down, ${witnesses.length} replicas agree`, async () => {
      debug('promoting %s (master %s down)', candidate.address, master.address);
      this.#settings.beforePromote(master.address);
      await promote(this.#settings.pool, candidate, followers);
    });
  }

  /** A node saying `role:master` that is not the master (an old master come back): demote it. */
  #demoteStrays(next: Topology, master: NodeState): void {
    const strays = next.replicas.filter((r) => r.up && r.role === 'master' && r.address !== master.address);
    // Replicas still pointing at another node (a repointing that failed half-way) are fixed too.
    const lost = next.replicas.filter((r) => r.up && r.role === 'replica' && r.masterAddress !== null && r.masterAddress !== master.address);
    if (strays.length === 0 && lost.length === 0) return;
    this.#act(null, async () => {
      for (const node of [...strays, ...lost]) {
        debug('demoting %s to a replica of %s', node.address, master.address);
        await follow(this.#settings.pool, node, master);
      }
    });
  }

  #act(reason: string | null, action: () => Promise<void>): void {
    if (this.#acting) return;
    this.#acting = true;
    if (reason !== null) this.#pendingReason = reason;
    action()
      .catch((error: Error) => {
        debug('failover action failed: %s', error.message);
        if (reason !== null) {
          this.#settings.onFailover({ from: this.#knownMaster, to: null, reason: `promotion failed: ${error.message}`, durationMs: 0 });
          this.#pendingReason = null;
        }
        this.#settings.onError(error);
      })
      .finally(() => {
        this.#acting = false;
        if (!this.#stopped) this.#settings.manager.request('after failover action');
      });
  }

  #watchMaster(master: NodeState): void {
    if (this.#heartbeat.target === master.address) return;
    this.#heartbeat.watch(master.address, this.#settings.pool.node(master).control());
    this.#silenceLimitS = null;
    this.#readPingPeriod(master);
  }

  /**
   * A replica hears from its master at least every `repl-ping-replica-period` seconds (10 by
   * default). Silence beyond that, and beyond `downAfterMs`, means the master is not sending.
   */
  #silenceLimit(): number {
    return Math.max(Math.ceil(this.#settings.downAfterMs / 1000), this.#silenceLimitS ?? 10) + 1;
  }

  #readPingPeriod(master: NodeState): void {
    this.#settings.pool
      .node(master)
      .control()
      .config('GET', 'repl-ping-replica-period')
      .then((reply) => {
        const value = Number((reply as string[])[1]);
        if (Number.isFinite(value) && value > 0) this.#silenceLimitS = value;
      })
      .catch(() => {
        // CONFIG may be forbidden to this user: keep Redis's default.
      });
  }

  #checkRestartedEmpty(next: Topology, previous: Topology | null): void {
    const before = previous?.master;
    const now = next.master;
    if (!before || !now || before.address !== now.address || !before.runId || !now.runId || before.runId === now.runId) return;
    if (now.offset >= before.offset) return;
    const attached = next.replicas.filter((r) => r.up && r.masterAddress === now.address).length;
    const key = `${now.address}/${now.runId}`;
    if (attached === 0 || this.#warnedRestart.has(key)) return;
    this.#warnedRestart.add(key);
    const message =
      `master ${now.address} restarted (run id changed, offset ${before.offset} → ${now.offset}) while ${attached} replica(s) ` +
      'are attached: if it restarted without its data, their resync will empty them. Enable persistence, or keep a restarted master from rejoining as master.';
    process.emitWarning(message, { code: 'REDIS_FAILOVER_MASTER_RESTARTED_EMPTY' });
    this.#settings.onWarning({ code: 'MASTER_RESTARTED_EMPTY', message, address: now.address });
  }

  #noteTrouble(reason: string): void {
    this.#troubleSince ??= performance.now() - (this.#heartbeat.suspect ? this.#heartbeat.silenceMs() : 0);
    if (this.#reasons.size < 20) this.#reasons.add(reason);
  }

  #calm(): void {
    if (this.#troubleSince !== null && !this.#acting && this.#pendingReason === null) {
      this.#troubleSince = null;
      this.#reasons.clear();
    }
    this.#warnedDown = false;
  }

  #describeReasons(source: string): string {
    const reasons = [...this.#reasons];
    const sentinel = reasons.find((r) => r.includes('+switch-master'));
    if (sentinel) return sentinel;
    return reasons.length > 0 ? `master changed (${source}): ${reasons.slice(0, 3).join('; ')}` : `master changed (${source})`;
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
