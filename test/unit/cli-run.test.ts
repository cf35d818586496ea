import { describe, expect, it } from 'vitest';
import { HELP } from '../../src/cli/help.js';
import type { Stream } from '../../src/cli/output.js';
import { run } from '../../src/cli/run.js';

/** The CLI in-process with captured output. Every case here fails or ends before any connection. */
async function cli(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const capture = () => {
    const chunks: string[] = [];
    const stream: Stream = {
      isTTY: false,
      write(text: string, callback?: () => void) {
        chunks.push(text);
        callback?.();
        return true;
      },
    };
    return { stream, text: () => chunks.join('') };
  };
  const stdout = capture();
  const stderr = capture();
  const code = await run(argv, { stdout: stdout.stream, stderr: stderr.stream, env });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe('help', () => {
  it.each(Object.keys(HELP))('%s --help: usage, options and examples, exit 0', async (command) => {
    const { code, stdout } = await cli([command, '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^Usage: redis-failover ${command}`));
    expect(stdout).toMatch(/\nExamples:\n {2}\S/);
    expect(stdout).toMatch(/Exit codes:/);
  });

  it('every command that connects documents the password from REDIS_PASSWORD', () => {
    for (const command of ['status', 'watch', 'promote', 'switchover', 'demote']) expect(HELP[command]).toContain('REDIS_PASSWORD');
  });

  it('the overview lists every command; with no command it goes to stderr, exit 2', async () => {
    const { code, stdout } = await cli(['--help']);
    expect(code).toBe(0);
    for (const command of Object.keys(HELP)) expect(stdout).toMatch(new RegExp(`\\n  ${command} `));
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: redis-failover <command>');
    expect((await cli(['help', 'demote'])).stdout).toBe(`${HELP['demote']}\n`);
  });

  it('--version', async () => {
    expect((await cli(['--version'])).stdout).toMatch(/^redis-failover \d+\.\d+\.\d+\n$/);
  });
});

describe('usage errors: exit 2, a clear message, a pointer to --help', () => {
  it.each([
    [['frobnicate'], /unknown command "frobnicate"; the commands are status, watch, promote, switchover, demote, demo/],
    [['status'], /status: give the address of at least one member \(host:port\)/],
    [['status', '127.0.0.1:abc'], /status: "127\.0\.0\.1:abc" is not a valid address: the port must be a number from 1 to 65535/],
    [['status', 'redis-1'], /"redis-1" is not a valid address: the port is missing \(write 'host:port'\)/],
    [['status', '--sentinel', '127.0.0.1:26379'], /--sentinel needs --name/],
    [['watch', '127.0.0.1:6379', '--interval', 'fast'], /--interval must be a whole number/],
    [['promote'], /promote: give exactly one address/],
    [['promote', '127.0.0.1:6379', '--nodes', '127.0.0.1:x'], /"127\.0\.0\.1:x" is not a valid address/],
    [['demote', '127.0.0.1:6379'], /--to <master host:port> is required/],
    [['demote', '127.0.0.1:6379', '--to', '127.0.0.1:6379'], /cannot follow itself/],
    [['promote', '127.0.0.1:6379', '--sentinel', '--name', 'mymaster'], /promote is for replica sets without Sentinel/],
    [['switchover', '--sentinel', '--name', 'm', '127.0.0.1:26379', '--to', '127.0.0.1:6380'], /--to does not apply with Sentinel/],
    [['status', '127.0.0.1:6379', '--color'], /Unknown option '--color'/],
    [['demo', '127.0.0.1:6379'], /demo starts its own servers and takes no addresses/],
  ])('%j', async (argv, message) => {
    const { code, stdout, stderr } = await cli(argv);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/Run 'redis-failover \S* ?--help' for usage and examples\./);
    expect(stdout).toBe('');
  });

  it('colour on stderr only where asked for, and --no-color wins', async () => {
    expect((await cli(['status'], { FORCE_COLOR: '1' })).stderr).toContain('\x1b[31m');
    expect((await cli(['status', '--no-color'], { FORCE_COLOR: '1' })).stderr).not.toContain('\x1b[');
    expect((await cli(['status'])).stderr).not.toContain('\x1b[');
  });

  it('never echoes a password, from a flag, the environment or a URL', async () => {
    const secret = 'Tr0ub4dor&3';
    for (const argv of [
      ['status', '--password', secret, '127.0.0.1:abc'],
      ['status', `redis://:${secret}@127.0.0.1:abc`],
      ['status', `redis://:${secret}@127.0.0.1:6379?readFrom=${secret}`],
      ['status', `redis://ops:${encodeURIComponent(secret)}@127.0.0.1:6379`, '127.0.0.1:6380'],
    ]) {
      const { code, stdout, stderr } = await cli(argv, { REDIS_PASSWORD: secret });
      expect(code).toBe(2);
      expect(stdout + stderr).not.toContain(secret);
      expect(stdout + stderr).not.toContain(encodeURIComponent(secret));
    }
  });
});
