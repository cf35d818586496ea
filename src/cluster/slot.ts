import calculateSlot from 'cluster-key-slot';
import type { Command } from 'ioredis';
import { classOf } from '../dispatch/attempt.js';
import { firstKeyOnly } from '../routing/classify.js';

export const SLOT_COUNT = 16384;

/**
 * The "slot" of a keyless command (PING, INFO, PUBLISH, FLUSHALL, a script with no keys): any
 * shard's master that can take it now, in turn.
 */
export const ANY_SLOT = -1;

/**
 * The hash slot of `key`: CRC16 mod 16384 of the key, or of its `{hashtag}` when the first `{` is
 * followed by a non-empty tag and a `}`. ioredis routes with the same package, so the two agree.
 */
export function slotOf(key: string | Buffer): number {
  return calculateSlot(key);
}

/**
 * The slot the cluster dispatcher sends `cmd` by: its keys' slot (GET, SET, HGET…: the first
 * argument's, without asking the command table), ANY_SLOT for a keyless command (any shard's
 * master), or null for what ioredis Cluster keeps: subscriptions (its subscriber connections),
 * WATCH/MULTI/EXEC and SELECT (connection state), keyless blocking commands, HIMPORT (ioredis
 * coordinates it across the masters). Blocking commands go on the node's connection, as ioredis
 * Cluster sends them.
 */
export function commandSlot(cmd: Command): number | null {
  const kind = classOf(cmd).kind;
  if (kind !== 'read' && kind !== 'write' && kind !== 'blocking') return null;
  if (firstKeyOnly(cmd.name) && cmd.args.length > 0) return slotOf(cmd.args[0] as string | Buffer);
  const slot = cmd.getSlot();
  if (slot !== null) return slot;
  return kind === 'blocking' || cmd.name === 'himport' ? null : ANY_SLOT;
}

/**
 * The slot of a batch: its keys' one slot, ANY_SLOT when it has no keys, or null when ioredis's
 * cluster pipeline must take it (keys in several slots, or a command ioredis keeps). MULTI and
 * EXEC written inside a pipeline go with it.
 */
export function batchSlot(commands: readonly Command[]): number | null {
  let slot = ANY_SLOT;
  for (const c of commands) {
    const s = commandSlot(c);
    if (s === null) {
      if (c.name !== 'multi' && c.name !== 'exec') return null;
    } else if (s !== ANY_SLOT) {
      if (slot !== ANY_SLOT && slot !== s) return null;
      slot = s;
    }
  }
  return slot;
}
