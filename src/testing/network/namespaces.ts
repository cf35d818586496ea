import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import createDebug from 'debug';
import { findExecutable } from '../binary.js';
import { NetworkUnavailableError } from '../errors.js';
import {
  SUBNET_BASE,
  candidateSubnets,
  linkName,
  missingPrerequisites,
  namespaceName,
  ownerOf,
  parseCidr,
  rulesScript,
} from './plan.js';
import type { Cidr } from './plan.js';

const log = createDebug('redis-failover:testing:network');

/** Where `ip` and `nft` live. */
export interface NetworkTools {
  ip: string;
  nft: string;
}

/** `ip` and `nft` may sit in sbin directories that a non-login PATH lacks. */
const SBIN = ['/usr/sbin', '/sbin'];

/**
 * Why `startReplicaSet({ network: 'namespaces' })` cannot run here (not Linux, not root, no `ip`
 * or no `nft`), or undefined when it can. Tests use it to skip with the reason.
 */
export function checkNetworkNamespaces(env: NodeJS.ProcessEnv = process.env): NetworkUnavailableError | undefined {
  const found = probeTools(env);
  return 'missing' in found ? found.missing : undefined;
}

export function networkTools(env: NodeJS.ProcessEnv = process.env): NetworkTools {
  const found = probeTools(env);
  if ('missing' in found) throw found.missing;
  return found;
}

function probeTools(env: NodeJS.ProcessEnv): NetworkTools | { missing: NetworkUnavailableError } {
  const ip = findExecutable('ip', env, SBIN);
  const nft = findExecutable('nft', env, SBIN);
  const missing = missingPrerequisites({ platform: process.platform, uid: process.getuid?.(), ip, nft });
  if (missing.length > 0 || ip === null || nft === null) return { missing: new NetworkUnavailableError(missing) };
  return { ip, nft };
}

/** Runs a command; rejects with its stderr. `input` goes to its stdin. */
function run(file: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`redis-failover/testing: ${file} ${args.join(' ')}: ${stderr.trim() || `exit ${code}`}`));
    });
    // A command that fails early closes its stdin: its exit status tells why, not the EPIPE.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input);
  });
}

function runSync(file: string, args: string[]): string | undefined {
  try {
    return execFileSync(file, args, { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One file per /24 in use, created exclusively: the lock that keeps parallel processes apart. */
const RESERVATIONS = join(existsSync('/run') ? '/run' : tmpdir(), 'redis-failover-netns');

/**
 * A set's network: a `hub` namespace holding a bridge, one veth from the root namespace to it
 * (the client's address, `.1`), and per member a namespace with one veth to the bridge. Deleting
 * the hub deletes the root link with it, so a crash leaves only namespaces, which the next start
 * removes (their owner's pid is in their names).
 */
export class NamespaceNetwork {
  static #sets = 0;

  readonly #tools: NetworkTools;
  readonly #set: number;
  readonly #link: string;
  readonly #hub: string;
  readonly #namespaces: string[] = [];
  #subnet: number | undefined;
  #nextHost = 10;

  private constructor(tools: NetworkTools) {
    this.#tools = tools;
    this.#set = ++NamespaceNetwork.#sets;
    this.#link = linkName(process.pid, this.#set);
    this.#hub = namespaceName(process.pid, this.#set, 'hub');
  }

  /** Removes leftovers of dead processes, reserves a free /24 and builds the hub and the client's link. */
  static async create(tools: NetworkTools): Promise<NamespaceNetwork> {
    const network = new NamespaceNetwork(tools);
    try {
      await removeLeftovers(tools);
      network.#subnet = await reserveSubnet(tools, network.#link);
      await network.#build();
    } catch (err) {
      await network.destroy();
      throw err;
    }
    log('%s: %s, hub %s', network.#link, network.subnet, network.#hub);
    return network;
  }

  get subnet(): string {
    return `${SUBNET_BASE}.${this.#subnet}.0/24`;
  }

  /** The calling process's address on the set's network. */
  get clientHost(): string {
    return this.#host(1);
  }

  #host(n: number): string {
    return `${SUBNET_BASE}.${this.#subnet}.${n}`;
  }

  async #build(): Promise<void> {
    const { ip } = this.#tools;
    this.#namespaces.push(this.#hub);
    await run(ip, ['netns', 'add', this.#hub]);
    await run(ip, ['-n', this.#hub, 'link', 'add', 'br0', 'type', 'bridge']);
    await run(ip, ['-n', this.#hub, 'link', 'set', 'br0', 'up']);
    await run(ip, ['link', 'add', this.#link, 'type', 'veth', 'peer', 'name', 'client', 'netns', this.#hub]);
    await run(ip, ['-n', this.#hub, 'link', 'set', 'client', 'master', 'br0', 'up']);
    await run(ip, ['addr', 'add', `${this.clientHost}/24`, 'dev', this.#link]);
    await run(ip, ['link', 'set', this.#link, 'up']);
  }

  /** A namespace with its own address for one member; the host number is taken at once, in call order. */
  async addMember(label: string): Promise<{ namespace: string; host: string }> {
    const n = this.#nextHost++;
    if (n > 254) throw new RangeError('redis-failover/testing: at most 245 members fit in a namespaced set');
    const { ip } = this.#tools;
    const namespace = namespaceName(process.pid, this.#set, label);
    const host = this.#host(n);
    this.#namespaces.push(namespace);
    await run(ip, ['netns', 'add', namespace]);
    await run(ip, ['-n', namespace, 'link', 'set', 'lo', 'up']);
    await run(ip, ['-n', namespace, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `m${n}`, 'netns', this.#hub]);
    await run(ip, ['-n', this.#hub, 'link', 'set', `m${n}`, 'master', 'br0', 'up']);
    await run(ip, ['-n', namespace, 'addr', 'add', `${host}/24`, 'dev', 'eth0']);
    await run(ip, ['-n', namespace, 'link', 'set', 'eth0', 'up']);
    return { namespace, host };
  }

  /** `file args…` run inside `namespace`: what to spawn. (`ip netns exec` execs, so the pid is the program's.) */
  command(namespace: string, file: string, args: string[]): { file: string; args: string[] } {
    return { file: this.#tools.ip, args: ['netns', 'exec', namespace, file, ...args] };
  }

  /**
   * Sets each namespace's rules: `allowed` hosts per namespace (absent: no rules). One `nft -f`
   * transaction per namespace; if any fails, every rule is removed again before the error is thrown.
   */
  async apply(allowed: ReadonlyMap<string, readonly string[] | undefined>, everyone: readonly string[]): Promise<void> {
    const scripts = [...allowed].map(([namespace, hosts]) => ({ namespace, script: rulesScript(hosts, everyone) }));
    try {
      await this.#nft(scripts);
    } catch (err) {
      await this.#nft(scripts.map(({ namespace }) => ({ namespace, script: rulesScript(undefined, everyone) }))).catch(
        (healErr: unknown) => log('removing rules after a failed partition: %O', healErr),
      );
      throw err;
    }
  }

  async #nft(scripts: { namespace: string; script: string }[]): Promise<void> {
    const { ip, nft } = this.#tools;
    const results = await Promise.allSettled(
      scripts.map(({ namespace, script }) => run(ip, ['netns', 'exec', namespace, nft, '-f', '-'], script)),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Removes the namespaces (with their links and rules), the client's link and the reservation. */
  async destroy(): Promise<void> {
    const { ip } = this.#tools;
    await Promise.allSettled([...this.#namespaces].reverse().map((ns) => run(ip, ['netns', 'del', ns])));
    await run(ip, ['link', 'del', this.#link]).catch(() => {});
    this.#release();
    log('%s removed', this.#link);
  }

  /** `destroy()` for a process that is exiting: synchronous, errors ignored. */
  destroyNow(): void {
    const { ip } = this.#tools;
    for (const ns of [...this.#namespaces].reverse()) runSync(ip, ['netns', 'del', ns]);
    runSync(ip, ['link', 'del', this.#link]);
    this.#release();
  }

  #release(): void {
    this.#namespaces.length = 0;
    if (this.#subnet === undefined) return;
    rmSync(join(RESERVATIONS, `${SUBNET_BASE}.${this.#subnet}`), { force: true });
    this.#subnet = undefined;
  }
}

/** Picks a /24 that no address or route on the machine overlaps and no other set has reserved. */
async function reserveSubnet(tools: NetworkTools, owner: string): Promise<number> {
  const taken: Cidr[] = [];
  for (const entry of JSON.parse(await run(tools.ip, ['-j', '-4', 'addr', 'show'])) as IpAddr[]) {
    for (const a of entry.addr_info ?? []) {
      const cidr = a.local === undefined ? undefined : parseCidr(a.local, a.prefixlen);
      if (cidr) taken.push(cidr);
    }
  }
  for (const route of JSON.parse(await run(tools.ip, ['-j', '-4', 'route', 'show', 'table', 'all'])) as IpRoute[]) {
    const cidr = route.dst === undefined || route.dst === 'default' ? undefined : parseCidr(route.dst);
    if (cidr) taken.push(cidr);
  }
  mkdirSync(RESERVATIONS, { recursive: true });
  for (const n of candidateSubnets(taken, process.pid)) {
    try {
      writeFileSync(join(RESERVATIONS, `${SUBNET_BASE}.${n}`), owner, { flag: 'wx' });
      return n;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new Error(`redis-failover/testing: no free /24 left in ${SUBNET_BASE}.0.0/16 for a namespaced set`);
}

interface IpAddr {
  addr_info?: { local?: string; prefixlen?: number }[];
}
interface IpRoute {
  dst?: string;
}

/**
 * Namespaces, root links and reservations left by processes that died without `stop()` (a crash,
 * SIGKILL): their servers are killed and everything named after the dead pid is removed.
 */
async function removeLeftovers(tools: NetworkTools): Promise<void> {
  const dead = (name: string) => {
    const pid = ownerOf(name);
    return pid !== undefined && pid !== process.pid && !isAlive(pid);
  };
  const namespaces = (await run(tools.ip, ['netns', 'list']))
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter(dead);
  for (const ns of namespaces) {
    const pids = await run(tools.ip, ['netns', 'pids', ns]).catch(() => '');
    for (const pid of pids.split('\n').map(Number).filter((p) => p > 0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    await run(tools.ip, ['netns', 'del', ns]).catch(() => {});
  }
  const links = (JSON.parse(await run(tools.ip, ['-j', 'link', 'show'])) as { ifname?: string }[])
    .map((link) => link.ifname ?? '')
    .filter(dead);
  for (const link of links) await run(tools.ip, ['link', 'del', link]).catch(() => {});
  const reservations = existsSync(RESERVATIONS) ? readdirSync(RESERVATIONS) : [];
  for (const file of reservations) {
    const path = join(RESERVATIONS, file);
    let owner: string;
    try {
      owner = readFileSync(path, 'utf8').trim();
    } catch {
      continue;
    }
    if (dead(owner)) rmSync(path, { force: true });
  }
  if (namespaces.length + links.length > 0) log('removed leftovers: %o', [...namespaces, ...links]);
}
