// npm's prepack and postpack: `npm pack` / `npm publish` build the package
// and ship a package.json without the "prepare" script.
//
// Why: in a clone, `npm ci` builds dist/ through "prepare" (npm runs it after a
// plain install of the project itself, never for a registry install). But npm
// counts "prepare" among the install scripts of a package installed from a
// tarball or a folder, and npm 11 warns about those at `npm install -g
// ./dmadebug-X.tgz` ("install scripts not yet covered by allowScripts"), though
// it does not run it. So prepack builds and writes package.json without it
// (npm reads the manifest again after prepack: the tarball has none, and npm
// does not run it for the pack either); postpack puts the file back as it was.
// A copy is kept in .package.json.prepack until then; a pack that died midway
// is undone by the next prepack.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const saved = '.package.json.prepack';
const step = process.argv[2];

/** Writes through a temporary file, so that a reader never sees half a package.json. */
function write(path, text) {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

if (step === 'prepack') {
  if (existsSync(saved)) renameSync(saved, 'package.json');
  execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], { stdio: 'inherit' });
  const text = readFileSync('package.json', 'utf8');
  const pkg = JSON.parse(text);
  delete pkg.scripts.prepare;
  writeFileSync(saved, text);
  write('package.json', `${JSON.stringify(pkg, null, 2)}\n`);
} else if (step === 'postpack') {
  if (existsSync(saved)) renameSync(saved, 'package.json');
} else {
  process.stderr.write('usage: node scripts/pack.js prepack|postpack\n');
  process.exit(2);
}
