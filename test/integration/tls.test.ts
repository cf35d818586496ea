import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailoverRedis } from '../../src/index.js';
import { waitFor } from '../helpers/writer.js';

/**
 * TLS end to end: a master and a replica that listen on TLS only (no plain port at all), with a
 * throwaway CA made by openssl. A client that connects at all is connected over TLS.
 */
const dir = mkdtempSync(join(tmpdir(), 'redis-failover-tls-'));
const servers: ChildProcess[] = [];
let masterPort = 0;
let replicaPort = 0;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

function startServer(port: number, extra: string[]): void {
  const tls = ['--tls-cert-file', join(dir, 'server.crt'), '--tls-key-file', join(dir, 'server.key'), '--tls-ca-cert-file', join(dir, 'ca.crt')];
  const child = spawn(
    process.env['REDISMS_SYSTEM_BINARY'] ?? 'redis-server',
    ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
      '--tls-replication', 'yes', '--tls-auth-clients', 'no', '--repl-diskless-sync-delay', '0', ...tls, ...extra],
    { stdio: 'ignore' },
  );
  servers.push(child);
}

beforeAll(async () => {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=redis-failover test CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'san.ext');
  masterPort = await freePort();
  replicaPort = await freePort();
  startServer(masterPort, []);
  startServer(replicaPort, ['--replicaof', '127.0.0.1', String(masterPort)]);
});

afterAll(() => {
  for (const child of servers) if (child.pid !== undefined && child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('TLS', () => {
  it('discovers and routes over TLS on every connection (there is no plain port to fall back to)', async () => {
    const ca = readFileSync(join(dir, 'ca.crt'));
    const redis = new FailoverRedis({ nodes: [`127.0.0.1:${replicaPort}`], redisOptions: { tls: { ca } } });
    redis.on('error', () => undefined);
    try {
      await waitFor('the TLS set to be discovered', async () => {
        await redis.refreshTopology().catch(() => undefined);
        const t = redis.topology();
        return t.master?.address === `127.0.0.1:${masterPort}` && t.replicas.some((r) => r.up && r.linkStatus === 'up');
      });
      await redis.set('tls:k', 'v');
      expect(await redis.withReadFrom('master').get('tls:k')).toBe('v');
      await redis.wait(1, 2000);
      await waitFor('a replica read', async () => (await redis.withReadFrom('replica').get('tls:k')) === 'v');
    } finally {
      await redis.quit();
    }
  });

  it('without TLS options the same nodes do not answer: no silent plain-TCP path', async () => {
    const redis = new FailoverRedis({ nodes: [`127.0.0.1:${masterPort}`], commandTimeoutMs: 500, redisOptions: { connectTimeout: 300 } });
    redis.on('error', () => undefined);
    await expect(redis.get('tls:k')).rejects.toThrow();
    await redis.quit();
  });
});
