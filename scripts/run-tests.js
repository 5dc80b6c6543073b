// Runs every compiled test file with node's built-in runner. Node 20 has no glob
// expansion for --test, so the list is built here.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) collect(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const files = collect('dist/test', []).sort();
const filter = process.argv[2];
const selected = filter ? files.filter((f) => f.includes(filter)) : files;
if (selected.length === 0) {
  // node --test with no files would go looking for tests itself, everywhere under this folder
  console.error(`run-tests: no compiled test file matches '${filter}' (in dist/test)`);
  process.exit(2);
}
const r = spawnSync(process.execPath, ['--enable-source-maps', '--test', '--test-concurrency=2', ...selected], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
