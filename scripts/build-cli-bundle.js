// Bundles the command line (src/cli/main.ts) and the worker threads it starts
// into dist/bundle/cli/, which bin/dmadebug.js runs. One file per entry plus
// shared chunks loads ~50 ms faster than the ~100 ESM modules of dist/src, at
// every start of the CLI and of each worker (measured on this project's
// machines). dist/src stays the library (package.json "exports").
//
// The folder is as deep under dist/ as dist/src/cli/ is, so the URLs the code
// builds from import.meta.url still land where they do from dist/src: the
// report assets (dist/report-assets), package.json, and the workers, which
// are entries of the same folder under their own names.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

// chunk names change with their contents: no stale ones
rmSync('dist/bundle', { recursive: true, force: true });
await build({
  entryPoints: [
    'src/cli/main.ts',
    'src/cli/standby.ts',
    'src/input/text-worker.ts',
    'src/input/tracedat-worker.ts',
    'src/input/tracedat-inflate-worker.ts',
    'src/input/tracefs-raw-worker.ts',
  ],
  outdir: 'dist/bundle/cli',
  entryNames: '[name]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
});
