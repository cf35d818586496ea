import { defineConfig } from 'tsup';

// No source maps in the package: they were three quarters of it (4.5 MB unpacked), and the
// bundles are plain, unminified JavaScript that reads well in a stack trace as it is.
const common = { target: 'node20', sourcemap: false, splitting: false, shims: true } as const;

export default defineConfig([
  {
    ...common,
    entry: { index: 'src/index.ts', 'testing/index': 'src/testing/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    // The two builds run at once: each cleans only what it writes.
    clean: ['!cli/**'],
  },
  {
    ...common,
    // The `redis-failover` bin, run by node only: ESM (package.json `bin`), no types.
    entry: { 'cli/main': 'src/cli/main.ts' },
    format: ['esm'],
    dts: false,
    clean: ['!index.*', '!testing/**'],
  },
]);
