import { createRequire } from 'node:module';
import { list } from '@ioredis/commands';

/**
 * How a command travels. Decided from `@ioredis/commands` (flags and key positions), never from
 * a hand-kept list of reads:
 * - `read`: flagged `readonly` and names keys (or is a `*_RO` script call): the read policy picks.
 * - `write`: everything else that runs on the shared master connection, including commands with
 *   no flags, no keys, or unknown to the table (module commands) — the master is always right.
 * - `blocking`: holds its connection (BLPOP, XREAD BLOCK, …): gets a leased connection.
 * - `subscribe`: (un)subscriptions, on the dedicated subscriber connection.
 * - `transaction`: WATCH/UNWATCH/MULTI/EXEC/DISCARD: connection state, kept on one master connection.
 * - `select`: changes the database of every connection.
 */
export type CommandKind = 'read' | 'write' | 'blocking' | 'subscribe' | 'transaction' | 'select';

export interface CommandClass {
  readonly kind: CommandKind;
  /** For `blocking`: whether it only reads (XREAD), so it may go to a replica. */
  readonly readOnly: boolean;
  /**
   * May change data: flagged `write`, a script or function call, or unknown to the table (module
   * commands). Read-your-writes tracks these; PING, INFO or PUBLISH go to the master but change
   * nothing a later read could miss.
   */
  readonly writesData: boolean;
  /** For `transaction`: WATCH and MULTI open a session pinned to one connection until EXEC. */
  readonly pins: boolean;
}

const cls = (kind: CommandKind, readOnly: boolean, writesData: boolean, pins = false): CommandClass =>
  Object.freeze({ kind, readOnly, writesData, pins });
export const READ: CommandClass = cls('read', true, false);
export const WRITE: CommandClass = cls('write', false, true);
const MASTER: CommandClass = cls('write', false, false);
const BLOCKING_READ: CommandClass = cls('blocking', true, false);
const BLOCKING_WRITE: CommandClass = cls('blocking', false, true);
const SUBSCRIBE: CommandClass = cls('subscribe', false, false);
// WATCH and MULTI change no data themselves; EXEC may.
const TRANSACTION_OPEN: CommandClass = cls('transaction', false, false, true);
const TRANSACTION: CommandClass = cls('transaction', false, true);
const SELECT: CommandClass = cls('select', false, false);

const SUBSCRIPTION_COMMANDS = new Set(['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe']);
const TRANSACTION_COMMANDS = new Set(['watch', 'unwatch', 'multi', 'exec', 'discard']);
const SESSION_OPENERS = new Set(['watch', 'multi']);
// WAIT/WAITAOF carry the `blocking` flag but count acknowledgements of the writes made on the
// same connection: they must run on the shared master connection, behind those writes.
const SAME_CONNECTION_BLOCKING = new Set(['wait', 'waitaof']);
// XREAD/XREADGROUP only block with a BLOCK argument; without it they are plain commands.
const BLOCK_OPTION = new Set(['xread', 'xreadgroup']);

interface Spec {
  readonly fixed: CommandClass;
  /** Commands with subcommands (OBJECT, XINFO, MEMORY, …) are classified by their subcommand. */
  readonly sub: Map<string, CommandClass> | null;
  readonly blockOption: boolean;
}

// The table is the published command metadata; the flags of subcommands are not exposed by the
// package's functions, so read them from its JSON once.
type RawSpec = { flags: string[]; keyStart: number; keyStop: number; step: number; subcommands?: Record<string, RawSpec> };
const raw = createRequire(import.meta.url)('@ioredis/commands/built/commands.json') as Record<string, RawSpec>;

function classOf(name: string, spec: RawSpec | undefined): CommandClass {
  if (SUBSCRIPTION_COMMANDS.has(name)) return SUBSCRIBE;
  if (TRANSACTION_COMMANDS.has(name)) return SESSION_OPENERS.has(name) ? TRANSACTION_OPEN : TRANSACTION;
  if (name === 'select') return SELECT;
  const flags = spec?.flags ?? [];
  const readonly = flags.includes('readonly');
  if (flags.includes('blocking') && !SAME_CONNECTION_BLOCKING.has(name)) {
    return readonly ? BLOCKING_READ : BLOCKING_WRITE;
  }
  // Scripts declared read-only name their keys through numkeys, which may be 0: still reads.
  const namesKeys = (spec?.keyStart ?? 0) > 0 || flags.includes('movablekeys');
  if (readonly && namesKeys) return READ;
  if (spec === undefined || flags.includes('write') || flags.includes('script_runner')) return WRITE;
  return MASTER;
}

// Commands whose one key is their first argument, as `@ioredis/commands` computes it (GET, SET,
// HGET, INCR, …): read-your-writes reads it there, without asking the table per command. The
// commands the table's `getKeyIndexes` treats specially are left to it.
const SPECIAL_KEYS = new Set(['georadius', 'georadiusbymember', 'sort', 'sort_ro', 'migrate']);
const FIRST_KEY_ONLY = new Set<string>();

const table = new Map<string, Spec>();
for (const name of list) {
  const spec = raw[name];
  let sub: Map<string, CommandClass> | null = null;
  if (spec?.subcommands) {
    sub = new Map();
    for (const [subName, subSpec] of Object.entries(spec.subcommands)) sub.set(subName, classOf(name, subSpec));
  }
  if (spec && spec.keyStart === 1 && spec.keyStop === 1 && spec.step === 1 && !spec.subcommands && !spec.flags.includes('movablekeys') && !SPECIAL_KEYS.has(name) && !BLOCK_OPTION.has(name)) {
    FIRST_KEY_ONLY.add(name);
  }
  table.set(name, {
    fixed: classOf(name, spec),
    sub,
    blockOption: BLOCK_OPTION.has(name),
  });
}

function hasBlockArgument(args: readonly unknown[]): boolean {
  for (const arg of args) {
    if (typeof arg === 'string' && arg.length === 5 && arg.toLowerCase() === 'block') return true;
    if (Buffer.isBuffer(arg) && arg.length === 5 && arg.toString().toLowerCase() === 'block') return true;
    if (typeof arg === 'string' && arg.toLowerCase() === 'streams') return false;
  }
  return false;
}

/**
 * Classify a command by name (as ioredis sends it: lower case) and its arguments. Constant work
 * for the common case: one map lookup.
 */
export function classifyCommand(name: string, args: readonly unknown[]): CommandClass {
  let spec = table.get(name);
  if (spec === undefined) {
    const lower = name.toLowerCase();
    spec = lower === name ? undefined : table.get(lower);
    if (spec === undefined) return WRITE; // unknown (a module command): may write
  }
  if (spec.sub !== null) {
    const subName = args[0];
    const sub = typeof subName === 'string' || Buffer.isBuffer(subName) ? spec.sub.get(String(subName).toLowerCase()) : undefined;
    return sub ?? MASTER;
  }
  if (spec.blockOption) {
    if (hasBlockArgument(args)) return spec.fixed.readOnly ? BLOCKING_READ : BLOCKING_WRITE;
    return spec.fixed.readOnly ? READ : WRITE;
  }
  return spec.fixed;
}

/** Whether the only key of `name` (lower case, as ioredis sends it) is its first argument. */
export function firstKeyOnly(name: string): boolean {
  return FIRST_KEY_ONLY.has(name);
}
