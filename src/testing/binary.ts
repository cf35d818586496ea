import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { RedisServerNotFoundError } from './errors.js';

/** What builds a `redis-server` where none is installed: redis-memory-server's `RedisBinary`. */
export interface RedisBuilder {
  getPath(): Promise<string>;
}

const INSTALL_REDIS = 'install Redis (`apt-get install redis-server`, `brew install redis`), or set REDISMS_SYSTEM_BINARY to the path of a redis-server';

/**
 * The `redis-server` to run: `REDISMS_SYSTEM_BINARY` if set, else the first on `PATH`. Only when
 * there is neither is redis-memory-server (an optional peer dependency) loaded, if the user
 * installed it, to download and build one; without it, a `RedisServerNotFoundError` says how to
 * get one.
 */
export async function resolveRedisServer(
  env: NodeJS.ProcessEnv = process.env,
  loadBuilder: () => Promise<RedisBuilder> = loadRedisMemoryServer,
): Promise<string> {
  const found = findRedisServer(env);
  if (found !== null) return found;
  const missing = 'redis-failover/testing: no redis-server on PATH and REDISMS_SYSTEM_BINARY is not set';
  let builder: RedisBuilder;
  try {
    builder = await loadBuilder();
  } catch (error) {
    if (!isNotInstalled(error, 'redis-memory-server')) {
      throw new RedisServerNotFoundError(`${missing}, and redis-memory-server did not load (${messageOf(error)}): ${INSTALL_REDIS}`, { cause: error });
    }
    throw new RedisServerNotFoundError(
      `${missing}: ${INSTALL_REDIS}, or install redis-memory-server (\`npm install -D redis-memory-server\`) to build one`,
      { cause: error },
    );
  }
  try {
    return await builder.getPath();
  } catch (error) {
    throw new RedisServerNotFoundError(`${missing}, and redis-memory-server could not build one (${messageOf(error)}): ${INSTALL_REDIS}`, {
      cause: error,
    });
  }
}

async function loadRedisMemoryServer(): Promise<RedisBuilder> {
  return (await import('redis-memory-server')).RedisBinary;
}

/** Whether `error` says that `name` itself is not installed (not that something it needs is missing). */
function isNotInstalled(error: unknown, name: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  // ERR_MODULE_NOT_FOUND from import(), MODULE_NOT_FOUND from require() (the CommonJS build).
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  return typeof message === 'string' && (message.includes(`'${name}'`) || message.includes(`"${name}"`));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `REDISMS_SYSTEM_BINARY` if set (it must exist), else the first `redis-server` on `PATH`, else null. */
export function findRedisServer(env: NodeJS.ProcessEnv = process.env): string | null {
  const fromEnv = env['REDISMS_SYSTEM_BINARY'];
  if (fromEnv) {
    if (!isExecutable(fromEnv)) {
      throw new RedisServerNotFoundError(
        `redis-failover/testing: REDISMS_SYSTEM_BINARY=${fromEnv} is not an executable file: point it at a redis-server, or unset it to use the one on PATH`,
      );
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
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
