import type { Redis } from 'ioredis';
import { Activity } from './activity.js';

/** What the heartbeat needs of a connection (the master's control connection). */
export type PingConnection = Pick<Redis, 'ping'> & { readonly status?: string };

/** What it reads of a data connection: ioredis's queue of commands sent and not yet answered. */
export interface SentQueue {
  readonly length: number;
  peekFront(): unknown;
}

export interface HeartbeatSettings {
  /** While the client is active: how often the master's queues are looked at (no I/O by itself). */
  intervalMs: number;
  /**
   * While active with nothing in flight to the master: a PING after this long without a sign of
   * life (so the first look after waking up asks once).
   */
  idlePingMs: number;
  /** No application command for this long (and nothing held or in flight): the client is idle. */
  lingerMs: number;
  /** Silence after which the master is suspect: writes wait instead of going into a void. */
  suspectAfterMs: number;
  /** Silence after which the master may be declared down. */
  downAfterMs: number;
  onSuspect(suspect: boolean): void;
  /**
   * While the silence lasts past `downAfterMs`, the picture is looked at again at most this often
   * (the replicas' view of the master changes as time passes).
   */
  repeatSilentMs: number;
  /** The silence crossed `downAfterMs`, or still lasts `repeatSilentMs` after the last call: look again. */
  onSilent(silenceMs: number): void;
  /**
   * The master has owed an answer for a whole look (true), or answers again (false): the moment
   * to start asking its replicas whether they still hear it, and to stop.
   */
  onSilence?(silent: boolean): void;
  /** The client became active (true) or idle (false): the other watchers follow its pace. */
  onPace?(active: boolean): void;
  /** Something else keeps the client active: commands held, a failover under way. */
  busy?(): boolean;
  /** Where the application's commands are counted (and the idle watch woken). */
  activity?: Activity;
}

/** What the watch knows of the master between two looks: plain data, advanced by `observe()`. */
export interface WatchState {
  /** When the master was last seen answering anything (a PING, a command of the application). */
  lifeAt: number;
  /** Since when the master owes an answer and has given none; null while nothing waits. */
  waitingSince: number | null;
  /** The command at the head of each data connection's queue at the last look. */
  heads: unknown[];
  /** When the last look was taken. */
  lookedAt: number;
}

/** One look at the master's connections. */
export interface Look {
  now: number;
  /** The head of each data connection's queue now (null: nothing in flight on it). */
  heads: unknown[];
  /** A PING is sent and not answered. */
  pingOutstanding: boolean;
  /** When the last PING answer arrived, if one arrived since the last look. */
  pingAnsweredAt: number | null;
  /** The control connection is connected (false: closed, reconnecting — the master owes us a connection). */
  reachable: boolean;
}

export function initialWatch(now: number): WatchState {
  return { lifeAt: now, waitingSince: null, heads: [], lookedAt: now };
}

/**
 * The master's silence from what is in flight, without sending anything: a command that was at the
 * head of a data connection's queue at the last look and is no longer has been answered since that
 * look; one still there has not. Pure. Returns the next state, the silence (how long the master has
 * owed an answer; 0 when nothing waits) and whether to ask it on the control connection now (a
 * stuck head: a hung master, or only a slow command — a PING tells which).
 */
export function observe(state: WatchState, look: Look, idlePingMs: number): { state: WatchState; silenceMs: number; ping: boolean } {
  let outstanding = look.pingOutstanding || !look.reachable;
  let answeredAfter: number | null = look.pingAnsweredAt;
  for (let i = 0; i < look.heads.length; i++) {
    const head = look.heads[i];
    const before = state.heads[i] ?? null;
    if (head !== null) outstanding = true;
    // The head at the last look was answered at some point since then: the earliest is assumed,
    // so that silence is never underestimated.
    if (before !== null && head !== before) answeredAfter = Math.max(answeredAfter ?? -Infinity, state.lookedAt);
  }
  const lifeAt = answeredAfter === null ? state.lifeAt : Math.max(state.lifeAt, answeredAfter);
  let waitingSince: number | null = null;
  if (outstanding) {
    // Sent after the last look at the earliest, unless something already waited then.
    waitingSince = Math.max(state.waitingSince ?? state.lookedAt, answeredAfter ?? -Infinity);
  }
  const next: WatchState = { lifeAt, waitingSince, heads: look.heads, lookedAt: look.now };
  const silenceMs = waitingSince === null ? 0 : look.now - waitingSince;
  // A head stuck for a whole look; or nothing in flight and no sign of life for `idlePingMs` (a
  // client that only reads from replicas still learns of a hung master before its next write).
  const stuck = outstanding && look.reachable && answeredAfter === null && state.waitingSince !== null;
  const ping = !look.pingOutstanding && (stuck || (!outstanding && look.now - lifeAt >= idlePingMs));
  return { state: next, silenceMs, ping };
}

/**
 * Watches the master for silence — a master that is hung but keeps its TCP connection (SIGSTOP,
 * a paused container) never closes anything; only silence shows it, in about `downAfterMs`
 * instead of the minutes a TCP timeout takes — at a cost that follows the client's own activity:
 *
 * - active (application commands lately, held, or a failover under way): every `intervalMs` it
 *   looks at the commands in flight on the master's data connections. Answered ones prove the
 *   master alive, so a client that keeps writing sends nothing more; a command stuck at the head of
 *   a queue for a whole look starts the silence and a PING on the control connection.
 * - idle: nothing at all — no timer, no PING. A busy client learns of a hung master from its own
 *   commands; an idle one has no one waiting on it. Its next command wakes the watch, whose first
 *   look PINGs the master; a signal (a connection lost, a node back, a Sentinel event) or a refresh
 *   that finds the master down wakes it too. The idle refresh's INFO of the master counts as life.
 */
export class Heartbeat {
  #settings: HeartbeatSettings;
  #conn: PingConnection | null = null;
  #queues: () => Iterable<SentQueue> = () => [];
  #target: string | null = null;
  #state: WatchState = initialWatch(performance.now());
  #silenceMs = 0;
  #pingSentAt: number | null = null;
  #pingAnsweredAt: number | null = null;
  #suspect = false;
  #silent = false;
  /** When `onSilent` was last called in this silence; null before the first. */
  #silentReportedAt: number | null = null;
  #timer: NodeJS.Timeout | null = null;
  #generation = 0;
  #active = false;
  #activeAt = performance.now();
  #activity: Activity;
  #lastCommands = 0;

  constructor(settings: HeartbeatSettings) {
    this.#settings = settings;
    this.#activity = settings.activity ?? new Activity();
  }

  /**
   * Watch this master: its control connection (PING) and its data connections' queues. The clock
   * starts now; the client starts active.
   */
  watch(address: string, conn: PingConnection, queues: () => Iterable<SentQueue> = () => []): void {
    if (address === this.#target && conn === this.#conn) return;
    this.#target = address;
    this.#conn = conn;
    this.#queues = queues;
    this.#generation++;
    this.#pingSentAt = null;
    this.#pingAnsweredAt = null;
    this.#state = initialWatch(performance.now());
    this.#silenceMs = 0;
    this.#silentReportedAt = null;
    this.#setSilent(false);
    this.#setSuspect(false);
    this.#activate();
  }

  get target(): string | null {
    return this.#target;
  }

  /** Milliseconds the master has owed an answer (0 while nothing waits for one). */
  silenceMs(): number {
    return this.#silenceMs;
  }

  get suspect(): boolean {
    return this.#suspect;
  }

  /** The client is active: the master is watched closely. */
  get active(): boolean {
    return this.#active;
  }

  /** Trouble elsewhere (a connection closed, a signal): watch closely now, whatever the pace. */
  wake(): void {
    if (!this.#active) this.#activate();
  }

  /** The master answered something else at `at` (a discovery's INFO): alive then. */
  heard(address: string, at: number): void {
    if (address !== this.#target || this.#pingSentAt !== null) return;
    if (this.#active) this.#pingAnsweredAt = Math.max(this.#pingAnsweredAt ?? -Infinity, at);
    else this.#state = { ...this.#state, lifeAt: Math.max(this.#state.lifeAt, at) };
  }

  stop(): void {
    this.#activity.cancel();
    this.#clearTimers();
    this.#conn = null;
    this.#target = null;
    this.#active = false;
  }

  #clearTimers(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #activate(): void {
    this.#activity.cancel();
    if (this.#conn === null) return;
    const now = performance.now();
    this.#activeAt = now;
    this.#clearTimers();
    this.#timer = setInterval(() => this.#tick(), this.#settings.intervalMs);
    this.#timer.unref();
    // What is in flight now was sent after this moment at the earliest.
    this.#state = { ...this.#state, lookedAt: now, heads: [] };
    if (this.#pingSentAt !== null) this.#state.waitingSince = Math.min(this.#state.waitingSince ?? Infinity, this.#pingSentAt);
    if (!this.#active) {
      this.#active = true;
      this.#settings.onPace?.(true);
    }
  }

  #sleep(): void {
    this.#clearTimers();
    this.#active = false;
    this.#activity.sleep(() => this.#activate());
    this.#settings.onPace?.(false);
  }

  #ping(): void {
    const conn = this.#conn;
    if (conn === null || this.#pingSentAt !== null) return;
    const generation = this.#generation;
    this.#pingSentAt = performance.now();
    conn.ping().then(
      () => {
        if (generation !== this.#generation) return;
        const now = performance.now();
        this.#pingSentAt = null;
        this.#pingAnsweredAt = now;
        if (!this.#active) {
          // Idle: the answer is all there is to look at.
          this.#state = { ...this.#state, lifeAt: now, waitingSince: null, lookedAt: now };
          this.#pingAnsweredAt = null;
          this.#silenceMs = 0;
          this.#silentReportedAt = null;
          this.#setSilent(false);
          this.#setSuspect(false);
        }
      },
      () => {
        if (generation === this.#generation) this.#pingSentAt = null;
      },
    );
  }

  #tick(): void {
    if (this.#conn === null) return;
    const now = performance.now();
    const heads: unknown[] = [];
    for (const queue of this.#queues()) heads.push(queue.length > 0 ? (queue.peekFront() ?? null) : null);
    const status = this.#conn.status;
    const reachable = status === undefined || status === 'ready' || status === 'connect';
    const look = { now, heads, pingOutstanding: this.#pingSentAt !== null, pingAnsweredAt: this.#pingAnsweredAt, reachable };
    const seen = observe(this.#state, look, this.#settings.idlePingMs);
    this.#state = seen.state;
    this.#pingAnsweredAt = null;
    this.#silenceMs = seen.silenceMs;
    if (seen.ping) this.#ping();
    const silence = seen.silenceMs;
    this.#setSilent(silence >= this.#settings.intervalMs);
    if (silence === 0) {
      this.#silentReportedAt = null;
      this.#setSuspect(false);
    } else if (silence >= this.#settings.suspectAfterMs) {
      this.#setSuspect(true);
    }
    if (silence >= this.#settings.downAfterMs) {
      if (this.#silentReportedAt === null || now - this.#silentReportedAt >= this.#settings.repeatSilentMs) {
        this.#silentReportedAt = now;
        this.#settings.onSilent(silence);
      }
    }
    // Active while the application sends, something waits, or a failover is under way.
    const commands = this.#activity.commands;
    if (commands !== this.#lastCommands || silence > 0 || this.#suspect || this.#settings.busy?.() === true) this.#activeAt = now;
    this.#lastCommands = commands;
    if (now - this.#activeAt >= this.#settings.lingerMs && this.#conn !== null) this.#sleep();
  }

  #setSilent(silent: boolean): void {
    if (silent === this.#silent) return;
    this.#silent = silent;
    this.#settings.onSilence?.(silent);
  }

  #setSuspect(suspect: boolean): void {
    if (suspect === this.#suspect) return;
    this.#suspect = suspect;
    this.#settings.onSuspect(suspect);
  }
}
