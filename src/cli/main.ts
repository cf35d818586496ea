#!/usr/bin/env node
import { run } from './run.js';

// `redis-failover status … | head`: a closed pipe ends the output, not with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

// No top-level await: tsup also builds this entry as CommonJS.
run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`redis-failover: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
