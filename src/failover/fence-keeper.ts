import createDebug from 'debug';
import type { WarningEvent } from '../events.js';
import type { TopologyManager } from '../topology/manager.js';
import type { TopologyProvider } from '../topology/provider.js';
import type { Address } from '../topology/types.js';
import { decideFence, type FenceDecision, type LinkReading } from './fence.js';

const debug = createDebug('redis-failover:failover');

export interface FenceKeeperSettings {
  fencing: boolean;
  downAfterMs: number;
  quorum: number | null;
  /** Sentinel mode: a cut is first put to the Sentinels. */
  sentinel: boolean;
  provider: TopologyProvider;
  manager: TopologyManager;
  onFence(fenced: boolean): void;
  onWarning(event: WarningEvent): void;
  /** The coordinator's master now, and whether a change of master is on its way. */
  knownMaster(): Address | null;
  changePending(): boolean;
  stopped(): boolean;
}

/**
 * The fence's state and how it is carried out: the replicas the current master has been seen
 * with (the baseline), whether writes to it are held, and the judging of each link reading by
 * `decideFence` (asking the Sentinels when it says so). The coordinator feeds it.
 */
export class FenceKeeper {
  #s: FenceKeeperSettings;
  /** The most replicas the current master has been seen with (the fence's baseline). */
  #had = 0;
  #fenced = false;

  constructor(settings: FenceKeeperSettings) {
    this.#s = settings;
  }

  get fenced(): boolean {
    return this.#fenced;
  }

  /** The master was seen with `linked` replicas. */
  seen(linked: number): void {
    this.#had = Math.max(this.#had, linked);
  }

  /** A new master: its replicas are counted afresh, and a fence on the old one is lifted. */
  newMaster(address: Address): void {
    this.#had = 0;
    this.#set(false, `new master ${address}`);
  }

  /** What a probe of the master's links should hear from: the replicas it had, and those still syncing. */
  expected(): { replicas: number; syncing: number } | null {
    const master = this.#s.knownMaster();
    // A change of master on its way (a switchover, a promotion): the old master's replicas are
    // being repointed, and a probe would only hold its control connection for nothing.
    if (this.#had === 0 || master === null || this.#s.changePending()) return null;
    const syncing = this.#s.manager.current?.replicas.filter((r) => r.up && r.masterAddress === master && r.syncing).length ?? 0;
    return { replicas: this.#had, syncing };
  }

  /**
   * The link watch read the master's links: judge the fence and carry it out. In Sentinel mode a
   * cut is first put to the Sentinels; writes wait meanwhile — a Sentinel that vouches for the
   * master answers in a round trip and lets them go, and in the Jepsen case none answers.
   */
  async judge(address: Address, links: LinkReading): Promise<void> {
    const s = this.#s;
    const current = (): boolean => !s.stopped() && address === s.knownMaster();
    if (!current()) return;
    this.#had = Math.max(this.#had, links.attached);
    const settings = { fencing: s.fencing, downAfterMs: s.downAfterMs, quorum: s.quorum, sentinel: s.sentinel };
    const evidence = { master: address, links, had: this.#had, sentinelsConfirming: null as number | null, fenced: this.#fenced };
    let decisions: FenceDecision[] = decideFence(evidence, settings);
    if (decisions.some((d) => d.kind === 'ask-sentinels')) {
      const ask = s.provider.judgesConfirming;
      const timeoutMs = Math.max(200, Math.min(1000, Math.floor(s.downAfterMs / 2)));
      const wasFenced = this.#fenced;
      if (!wasFenced) this.#set(true, 'asking the Sentinels');
      evidence.sentinelsConfirming = ask ? await ask.call(s.provider, address, timeoutMs) : 0;
      if (!current()) return;
      evidence.fenced = wasFenced;
      decisions = decideFence(evidence, settings).filter((d) => d.kind !== 'ask-sentinels');
      if (!wasFenced && !decisions.some((d) => d.kind === 'fence')) this.#set(false, `${evidence.sentinelsConfirming} Sentinel(s) vouch for ${address}`);
    }
    for (const decision of decisions) {
      if (decision.kind === 'ask-sentinels') continue;
      debug('%s: %s', decision.kind, decision.reason);
      this.#set(decision.kind === 'fence', decision.reason);
      if (decision.kind === 'fence') s.onWarning({ code: 'MASTER_FENCED', message: `writes wait: ${decision.reason}`, address });
    }
    // Another master may be on its way (Sentinel's, or a promotion on the other side): look again
    // while fenced, so that writes go to it as soon as the source names it.
    if (this.#fenced) s.manager.request('master fenced');
  }

  #set(fenced: boolean, why: string): void {
    if (fenced === this.#fenced) return;
    this.#fenced = fenced;
    if (!fenced) debug('writes go again: %s', why);
    this.#s.onFence(fenced);
  }
}
