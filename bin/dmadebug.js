#!/usr/bin/env node
// Thin launcher: the CLI, bundled in dist/bundle/cli/ by scripts/build-cli-bundle.js (in a clone,
// `npm ci` builds it through the prepare script; the packed package ships it built).
import { main } from '../dist/bundle/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`dmadebug: internal error: ${err?.message ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
