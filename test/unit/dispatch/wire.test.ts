import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { TickWrites } from '../../../src/dispatch/wire.js';

/** A connection whose stream counts corks as Node's Writable does. */
function conn(): Redis & { log: string[] } {
  const log: string[] = [];
  const stream = {
    writableCorked: 0,
    cork() {
      this.writableCorked++;
      log.push('cork');
    },
    uncork() {
      this.writableCorked--;
      log.push('uncork');
    },
  };
  return { stream, log } as unknown as Redis & { log: string[] };
}

describe('TickWrites', () => {
  it('writes the first command of a tick at once; a second on the same connection corks it until the tick ends', async () => {
    const tick = new TickWrites();
    const a = conn();
    const b = conn();
    tick.before(a);
    tick.before(b);
    expect(a.log).toEqual([]);
    expect(b.log).toEqual([]);
    tick.before(a);
    tick.before(a);
    expect(a.log).toEqual(['cork']);
    await Promise.resolve();
    expect(a.log).toEqual(['cork', 'uncork']);
    expect(b.log).toEqual([]);
    // A new tick starts afresh: its first command is written at once again.
    tick.before(a);
    expect(a.log).toEqual(['cork', 'uncork']);
  });
});
