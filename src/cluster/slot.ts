import calculateSlot from 'cluster-key-slot';

export const SLOT_COUNT = 16384;

/**
 * The hash slot of `key`: CRC16 mod 16384 of the key, or of its `{hashtag}` when the first `{` is
 * followed by a non-empty tag and a `}`. ioredis routes with the same package, so the two agree.
 */
export function slotOf(key: string | Buffer): number {
  return calculateSlot(key);
}
