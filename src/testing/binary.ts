import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * The `redis-server` to run: `REDISMS_SYSTEM_BINARY` if set, else the first on `PATH`. Passing
 * it to redis-memory-server as `systemBinary` is what keeps it from downloading and building
 * Redis, so a missing binary is an error here rather than a silent download there.
 */
export function resolveRedisServer(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['REDISMS_SYSTEM_BINARY'];
  if (fromEnv) {
    if (!isExecutable(fromEnv)) {
      throw new Error(`redis-failover/testing: REDISMS_SYSTEM_BINARY=${fromEnv} is not an executable file`);
    }
    return fromEnv;
  }
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'redis-server');
    if (isExecutable(candidate)) return candidate;
  }
  throw new Error(
    'redis-failover/testing: no redis-server on PATH; install Redis (e.g. `apt-get install redis-server`) ' +
      'or set REDISMS_SYSTEM_BINARY to its path',
  );
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
