import { readFileSync } from 'node:fs';
import { FailoverRedisError, InvalidOptionError } from '../errors.js';
import { UsageError } from './args.js';
import { UnreachableError, type Command, type CommandContext } from './context.js';
import { HELP, MAIN_HELP } from './help.js';
import { Output, type Stream } from './output.js';

/** Loaded on use: `demo` pulls in the testing helper (and its optional dependency), the rest never do. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  status: async () => (await import('./status.js')).status,
  watch: async () => (await import('./watch.js')).watch,
  promote: async () => (await import('./actions.js')).promote,
  switchover: async () => (await import('./actions.js')).switchover,
  demote: async () => (await import('./actions.js')).demote,
  demo: async () => (await import('./demo.js')).demo,
};

export interface RunEnvironment {
  stdout: Stream;
  stderr: Stream;
  env: NodeJS.ProcessEnv;
}

/**
 * The CLI: `redis-failover <command> [options]`. Returns the exit code: 0 healthy or done,
 * 1 degraded or failed, 2 unreachable or a usage error.
 */
export async function run(argv: readonly string[], io: RunEnvironment): Promise<number> {
  const [name, ...rest] = argv;
  // Before the command's own parsing: a usage error must honour --no-color too.
  const out = new Output(io.stdout, io.stderr, io.env, argv.includes('--no-color'));
  const ctx: CommandContext = { out, env: io.env };
  try {
    if (name === undefined) {
      out.err(MAIN_HELP);
      return 2;
    }
    if (name === '-h' || name === '--help' || name === 'help') {
      const topic = name === 'help' ? rest[0] : undefined;
      out.out(topic !== undefined && Object.hasOwn(HELP, topic) ? HELP[topic]! : MAIN_HELP);
      return 0;
    }
    if (name === '--version' || name === '-v') {
      out.out(version());
      return 0;
    }
    const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (load === undefined) {
      throw new UsageError(`unknown command ${JSON.stringify(name)}; the commands are ${Object.keys(COMMANDS).join(', ')}`);
    }
    const command = await load();
    return await command(rest, ctx);
  } catch (error) {
    return report(error, name !== undefined && Object.hasOwn(COMMANDS, name) ? name : null, ctx);
  } finally {
    await out.flush();
  }
}

function report(error: unknown, command: string | null, { out, env }: CommandContext): number {
  const { red, dim } = out.errStyle;
  const prefix = `redis-failover${command ? ` ${command}` : ''}:`;
  if (error instanceof UsageError || error instanceof InvalidOptionError) {
    out.err(`${prefix} ${red(error.message)}`);
    out.err(dim(`Run 'redis-failover ${command ?? ''}${command ? ' ' : ''}--help' for usage and examples.`));
    return 2;
  }
  if (error instanceof UnreachableError) {
    out.err(`${prefix} ${red(error.message)}`);
    return 2;
  }
  const message = error instanceof Error ? error.message : String(error);
  out.err(`${prefix} ${red(message)}`);
  if (!(error instanceof FailoverRedisError) && env['DEBUG'] && error instanceof Error && error.stack) out.err(dim(error.stack));
  return 1;
}

function version(): string {
  try {
    // src/cli/run.ts and dist/cli/main.js both sit two levels below package.json.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return `redis-failover ${pkg.version ?? 'unknown'}`;
  } catch {
    return 'redis-failover (version unknown)';
  }
}
