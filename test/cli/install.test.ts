// The package as a user gets it: `npm pack` in a copy of the repository (its
// prepack builds), the tarball installed with `npm install -g --prefix` into a
// temporary prefix, and the installed dmadebug run from another folder; its man
// page read with `man -l`. One test, slow (a whole build): it is what a fresh
// machine does. The tarball's dependencies come from npm's cache when there
// (`npm ci` filled it), else from the registry.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { kernelFixtures } from '../helpers/fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'dmadebug-install-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const TRACE = join(kernelFixtures('7.3'), 'bug-unmap-size', 'trace.txt');
const haveMan = spawnSync('man', ['--version']).status === 0;

/** The environment without what `npm test` sets for its own run (npm_config_*, npm_lifecycle_*, ...). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return {
    ...env,
    NO_COLOR: '1',
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
}

function npm(args: string[], cwd: string): { code: number | null; out: string; err: string } {
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8', env: cleanEnv(), maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The files in a .tgz (ustar: 512-byte headers, names at 0 and the prefix at 345). */
function tarFiles(tgz: string): Map<string, Buffer> {
  const tar = gunzipSync(readFileSync(tgz));
  const files = new Map<string, Buffer>();
  for (let at = 0; at + 512 <= tar.length; ) {
    const name = tar.toString('latin1', at, at + 100).replace(/\0.*$/s, '');
    if (name === '') break;
    const prefix = tar.toString('latin1', at + 345, at + 500).replace(/\0.*$/s, '');
    const size = Number.parseInt(
      tar
        .toString('latin1', at + 124, at + 136)
        .replace(/\0.*$/s, '')
        .trim() || '0',
      8,
    );
    const path = prefix ? `${prefix}/${name}` : name;
    files.set(path.replace(/^package\//, ''), tar.subarray(at + 512, at + 512 + size));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

describe('npm pack, npm install -g', () => {
  it('packs, installs into a prefix without warnings, and runs from anywhere with its man page', () => {
    // A copy of the repository as a clone has it: no dist/, node_modules linked to ours.
    const repo = join(tmp, 'repo');
    const skip = new Set(['node_modules', 'dist', '.git', 'fuzz-out', '.dev', '.devdist', 'tmp']);
    cpSync('.', repo, {
      recursive: true,
      filter: (src) => {
        const top = src.split('/').filter((p) => p !== '.' && p !== '')[0] ?? '';
        return !skip.has(top) && !src.endsWith('.tgz') && !src.startsWith('bench/out');
      },
    });
    symlinkSync(resolve('node_modules'), join(repo, 'node_modules'));
    const packageJson = readFileSync(join(repo, 'package.json'), 'utf8');

    const packed = npm(['pack', '--pack-destination', tmp], repo);
    assert.equal(packed.code, 0, packed.err);
    const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    assert.ok(tgz, packed.out);
    // postpack put package.json back as it was, prepare and all.
    assert.equal(readFileSync(join(repo, 'package.json'), 'utf8'), packageJson);
    assert.ok(!existsSync(join(repo, '.package.json.prepack')));

    // What is in it: built code, the man page, completions, the example; no prepare; maps carry their sources.
    const files = tarFiles(join(tmp, tgz));
    for (const f of [
      'package.json',
      'README.md',
      'LICENSE',
      'bin/dmadebug.js',
      'dist/src/cli/main.js',
      'dist/bundle/cli/main.js',
      'dist/bundle/cli/tracedat-worker.js',
      'dist/src/index.d.ts',
      'dist/report-assets/report.js',
      'dist/man/dmadebug.1',
      'dist/completions/dmadebug.bash',
      'dist/completions/_dmadebug',
      'examples/unmap-size.txt',
      'examples/README.md',
    ]) {
      assert.ok(files.has(f), `the package has ${f}`);
    }
    for (const f of files.keys()) assert.doesNotMatch(f, /^(src|test|bench|scripts|dist\/test|dist\/bench)\//, f);
    const pkg = JSON.parse(files.get('package.json')!.toString('utf8'));
    assert.equal(pkg.scripts.prepare, undefined, 'no prepare script in the package');
    for (const s of ['preinstall', 'install', 'postinstall']) assert.equal(pkg.scripts[s], undefined, s);
    assert.deepEqual(pkg.man, ['dist/man/dmadebug.1']);
    assert.match(pkg.repository.url, /github\.com\/dmadebug\/dmadebug/);
    assert.ok(pkg.homepage && pkg.bugs.url);
    for (const [f, body] of files) {
      if (!f.endsWith('.map')) continue;
      const map = JSON.parse(body.toString('utf8')) as { sources: string[]; sourcesContent?: string[] };
      assert.equal(map.sourcesContent?.length, map.sources.length, `${f} carries the sources it names`);
    }

    // A global install into a prefix of its own: no warnings.
    const prefix = join(tmp, 'prefix');
    const installed = npm(['install', '-g', '--prefix', prefix, '--prefer-offline', join(tmp, tgz)], tmp);
    assert.equal(installed.code, 0, installed.err);
    assert.doesNotMatch(installed.err, /warn|error/i, installed.err);
    assert.match(installed.out, /added \d+ packages?/);

    // From another folder: the finding on stdout, the summary on stderr, status 1.
    const elsewhere = join(tmp, 'elsewhere');
    mkdirSync(elsewhere);
    const bin = join(prefix, 'bin', 'dmadebug');
    const run = spawnSync(bin, ['check', TRACE], { cwd: elsewhere, encoding: 'utf8', env: cleanEnv() });
    assert.equal(run.status, 1, run.stderr);
    assert.equal(
      run.stdout.split('\n')[0],
      'DMA-API: pci 0000:00:02.0: device driver frees DMA memory with different size [device address=0x000000000b7cc000] [map size=1024 bytes] [unmap size=512 bytes]',
    );
    assert.match(run.stderr, /^dmadebug: 1 error, 0 unconfirmed, 0 info; 5956 dma\/kmem events/);
    assert.doesNotMatch(run.stderr, /warn|experimental|deprecat/i);
    const version = spawnSync(bin, ['--version'], { cwd: elsewhere, encoding: 'utf8' });
    assert.equal(version.stdout, `dmadebug ${pkg.version}\n`);
    const example = spawnSync(bin, ['check', '-q', join(prefix, 'lib/node_modules/dmadebug/examples/unmap-size.txt')], {
      cwd: elsewhere,
      encoding: 'utf8',
    });
    assert.equal(example.status, 1, example.stderr);

    // The man page where man(1) finds it for that prefix's bin/.
    const page = join(prefix, 'share', 'man', 'man1', 'dmadebug.1');
    assert.ok(existsSync(page), 'npm linked the man page into <prefix>/share/man/man1');
    if (!haveMan) {
      console.log('# man(1) is not installed (Debian: apt install man-db): the page is not rendered');
      return;
    }
    const man = spawnSync('man', ['--warnings', '-l', page], {
      encoding: 'utf8',
      env: { ...cleanEnv(), MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '100' },
    });
    assert.equal(man.status, 0, man.stderr);
    assert.equal(man.stderr, '');
    assert.match(man.stdout, /^DMADEBUG\(1\)/);
    assert.match(man.stdout, /\n {7}-i, --input FILE\n/);
    assert.match(man.stdout, new RegExp(`dmadebug ${pkg.version.replace(/\./g, '\\.')}`));
    const found = spawnSync('man', ['-w', 'dmadebug'], {
      encoding: 'utf8',
      env: { ...cleanEnv(), PATH: `${join(prefix, 'bin')}:${process.env.PATH}`, MANPATH: '' },
    });
    assert.equal(realpathSync(found.stdout.trim()), realpathSync(page), found.stderr);
  });
});
