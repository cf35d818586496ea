import type { Command, Redis } from 'ioredis';
import { isInlineMarker } from '../pipeline.js';

/** The batch through a real ioredis pipeline on `conn`: same wire format, same `exec()` result. */
export function runPipeline(conn: Redis, commands: Command[], transaction: boolean): Promise<unknown> {
  const real = (transaction ? conn.multi() : conn.pipeline()) as unknown as RealPipeline;
  for (const command of commands) {
    if (!isInlineMarker(command)) real.sendCommand(command);
    else if (command.name === 'multi') real.multi();
    else real.exec();
  }
  return real.exec();
}

interface RealPipeline {
  sendCommand(c: Command): void;
  multi(): void;
  exec(): Promise<unknown>;
}

/**
 * One socket write per connection per tick, from the second command on: the first command of a
 * tick on a connection is written at once (a lone caller pays nothing: a corked stream's write
 * takes Node's longer buffered path), a second one on the same connection corks it, and the stream
 * is uncorked once the work already queued is done — everything issued meanwhile leaves in one write.
 */
export class TickWrites {
  /** Connections written to in this tick (a handful at most: a linear search is the cheapest). */
  #seen: Redis[] = [];
  #corked: Array<NonNullable<Redis['stream']>> = [];

  /** `conn` is about to be written to. */
  before(conn: Redis): void {
    const seen = this.#seen;
    if (seen.length === 0) {
      // A microtask, not process.nextTick: one call into V8 for a lone caller, and it still runs
      // after the continuations already queued (the other loops woken by one socket read).
      queueMicrotask(this.#flush);
      seen.push(conn);
    } else if (!seen.includes(conn)) {
      seen.push(conn);
    } else {
      const stream = conn.stream;
      if (stream && stream.writableCorked === 0) {
        stream.cork();
        this.#corked.push(stream);
      }
    }
  }

  #flush = (): void => {
    for (const stream of this.#corked) stream.uncork();
    this.#corked.length = 0;
    this.#seen.length = 0;
  };
}
