/**
 * Whether anyone waits on this client: the dispatcher counts the application's commands here, and
 * the master watch reads the count at each look. While the client is idle nothing looks; the next
 * command wakes the watch at once. The hot path is a counter and a flag.
 */
export class Activity {
  /** Application commands dispatched so far. */
  commands = 0;
  #wake: (() => void) | null = null;

  /** An application command is being dispatched. */
  touch(): void {
    this.commands++;
    if (this.#wake !== null) {
      const wake = this.#wake;
      this.#wake = null;
      wake();
    }
  }

  /** The client went idle: call `wake` on the next command (once). */
  sleep(wake: () => void): void {
    this.#wake = wake;
  }

  /** Nothing to wake any more (a new watch, or the client closed). */
  cancel(): void {
    this.#wake = null;
  }
}
