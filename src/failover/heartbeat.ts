import type { Redis } from 'ioredis';

/** What the heartbeat needs of a connection (the master's control connection). */
export type PingConnection = Pick<Redis, 'ping'>;

export interface HeartbeatSettings {
  intervalMs: number;
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
}

/**
 * PINGs the master on its control connection, one at a time, and measures the silence since the
 * last answer. A master that is hung but keeps its TCP connection (SIGSTOP, a paused container)
 * never closes anything; only this silence shows it, in about `downAfterMs` instead of the
 * minutes a TCP timeout takes.
 */
export class Heartbeat {
  #settings: HeartbeatSettings;
  #conn: PingConnection | null = null;
  #target: string | null = null;
  #lastOkAt = performance.now();
  #outstanding = false;
  #suspect = false;
  /** When `onSilent` was last called in this silence; null before the first. */
  #silentReportedAt: number | null = null;
  #timer: NodeJS.Timeout | null = null;
  #generation = 0;

  constructor(settings: HeartbeatSettings) {
    this.#settings = settings;
  }

  /** Watch this master (its control connection). The clock starts now. */
  watch(address: string, conn: PingConnection): void {
    if (address === this.#target && conn === this.#conn) return;
    this.#target = address;
    this.#conn = conn;
    this.#generation++;
    this.#outstanding = false;
    this.#lastOkAt = performance.now();
    this.#silentReportedAt = null;
    this.#setSuspect(false);
    if (this.#timer === null) {
      this.#timer = setInterval(() => this.#tick(), this.#settings.intervalMs);
      this.#timer.unref();
    }
  }

  get target(): string | null {
    return this.#target;
  }

  /** Milliseconds since the master last answered a PING. */
  silenceMs(): number {
    return performance.now() - this.#lastOkAt;
  }

  get suspect(): boolean {
    return this.#suspect;
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#conn = null;
    this.#target = null;
  }

  #tick(): void {
    const conn = this.#conn;
    if (conn === null) return;
    if (!this.#outstanding) {
      this.#outstanding = true;
      const generation = this.#generation;
      conn.ping().then(
        () => {
          if (generation !== this.#generation) return;
          this.#outstanding = false;
          this.#lastOkAt = performance.now();
          this.#silentReportedAt = null;
          this.#setSuspect(false);
        },
        () => {
          if (generation === this.#generation) this.#outstanding = false;
        },
      );
    }
    const silence = this.silenceMs();
    if (silence >= this.#settings.suspectAfterMs) this.#setSuspect(true);
    if (silence < this.#settings.downAfterMs) return;
    const now = performance.now();
    if (this.#silentReportedAt === null || now - this.#silentReportedAt >= this.#settings.repeatSilentMs) {
      this.#silentReportedAt = now;
      this.#settings.onSilent(silence);
    }
  }

  #setSuspect(suspect: boolean): void {
    if (suspect === this.#suspect) return;
    this.#suspect = suspect;
    this.#settings.onSuspect(suspect);
  }
}

