#!/usr/bin/env node
// Thin launcher: the CLI, bundled in dist/bundle/cli/ by scripts/build-cli-bundle.js (in a clone,
// `npm ci` builds it through the prepare script; the packed package ships it built).
// First, before the CLI's code loads, the parsing worker a big trace will want starts loading its
// own (src/cli/standby.ts): the two loads overlap.
import { standByFor } from '../dist/bundle/cli/standby.js';

standByFor(process.argv.slice(2));
const { main } = await import('../dist/bundle/cli/main.js');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`dmadebug: internal error: ${err?.message ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
