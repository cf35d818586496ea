import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * The `redis-server` to run: `REDISMS_SYSTEM_BINARY` if set, else the first on `PATH`, else —
 * where the network allows — the one redis-memory-server downloads and builds (its default).
 * Passing a found binary as `systemBinary` is what keeps redis-memory-server from downloading.
 */
export async function resolveRedisServer(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const found = findRedisServer(env);
  if (found !== null) return found;
  try {
    const { RedisBinary } = await import('redis-memory-server');
    return await RedisBinary.getPath();
  } catch (error) {
    throw new Error(
      'redis-failover/testing: no redis-server on PATH, and redis-memory-server could not build one ' +
        `(${(error as Error).message}); install Redis (e.g. \`apt-get install redis-server\`) or set REDISMS_SYSTEM_BINARY to its path`,
      { cause: error },
    );
  }
}

/** `REDISMS_SYSTEM_BINARY` if set (it must exist), else the first `redis-server` on `PATH`, else null. */
export function findRedisServer(env: NodeJS.ProcessEnv = process.env): string | null {
  const fromEnv = env['REDISMS_SYSTEM_BINARY'];
  if (fromEnv) {
    if (!isExecutable(fromEnv)) {
      throw new Error(`redis-failover/testing: REDISMS_SYSTEM_BINARY=${fromEnv} is not an executable file`);
    }
    return fromEnv;
  }
  return findExecutable('redis-server', env);
}

/** The first executable `name` on `PATH`, then in `extraDirs`; null if none. */
export function findExecutable(name: string, env: NodeJS.ProcessEnv = process.env, extraDirs: string[] = []): string | null {
  for (const dir of [...(env['PATH'] ?? '').split(delimiter), ...extraDirs]) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
