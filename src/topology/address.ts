import type { Address } from './types.js';

export interface HostPort {
  host: string;
  port: number;
}

/** `host:port`, with IPv6 hosts in brackets (`[::1]:6379`): the key of a node everywhere. */
export function formatAddress(host: string, port: number): Address {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The inverse of `formatAddress`, for addresses this library made itself (never throws on them). */
export function splitAddress(address: Address): HostPort {
  const at = address.lastIndexOf(':');
  let host = address.slice(0, at);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port: Number(address.slice(at + 1)) };
}
