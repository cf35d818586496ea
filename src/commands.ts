import { Redis } from 'ioredis';

/**
 * ioredis's command methods (`get`, `getBuffer`, `call`, `defineCommand`, … every command in
 * `@ioredis/commands`) live on its `Commander` prototype and only need `sendCommand`, `options`
 * and `scriptsSet` from their object. Installing them on our own classes gives the exact argument
 * forms, reply transformers, Buffer variants and callbacks of ioredis, with our `sendCommand`
 * deciding where each command goes — and no hand-written wall of signatures.
 */
const commander = Object.getPrototypeOf(Redis.prototype) as Record<string, unknown>;

const OWN = new Set(['constructor', 'sendCommand']);

export function installCommands(target: object, skip: readonly string[] = []): void {
  const skipped = new Set([...OWN, ...skip]);
  for (const name of Object.getOwnPropertyNames(commander)) {
    if (skipped.has(name) || Object.prototype.hasOwnProperty.call(target, name)) continue;
    const descriptor = Object.getOwnPropertyDescriptor(commander, name)!;
    Object.defineProperty(target, name, { ...descriptor, enumerable: false });
  }
}
