import type { Address } from '../topology/types.js';

/** A MOVED or ASK reply: the slot lives (MOVED) or is being imported (ASK) at `address`. */
export interface RedirectReply {
  readonly kind: 'MOVED' | 'ASK';
  readonly slot: string;
  readonly address: Address;
}

const REDIRECT = /^(MOVED|ASK) (\d+) (\S+)$/;

/**
 * The MOVED/ASK in `error`, or null. A transaction whose first command met MOVED fails with
 * EXECABORT, the MOVED among its `previousErrors` (ioredis): no command of it ran. Pure.
 */
export function redirectOf(error: Error): RedirectReply | null {
  let m = REDIRECT.exec(error.message);
  if (m === null && error.message.startsWith('EXECABORT')) {
    const previous = (error as { previousErrors?: Error[] }).previousErrors?.[0];
    const moved = previous === undefined ? null : REDIRECT.exec(previous.message);
    if (moved !== null && moved[1] === 'MOVED') m = moved;
  }
  return m === null ? null : { kind: m[1] as 'MOVED' | 'ASK', slot: m[2]!, address: m[3]! };
}

/** CLUSTERDOWN (the cluster cannot serve the slot now) or TRYAGAIN (a multi-key command during a resharding): nothing applied. */
export function retriesClusterDown(message: string): boolean {
  return message.startsWith('CLUSTERDOWN') || message.startsWith('TRYAGAIN');
}
