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

/** One write per connection per tick instead of one per command: the stream is corked until the tick ends. */
export function cork(conn: Redis): void {
  const stream = conn.stream;
  if (stream && stream.writableCorked === 0) {
    stream.cork();
    process.nextTick(() => stream.uncork());
  }
}
