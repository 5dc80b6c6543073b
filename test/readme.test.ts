// The README's quick start cannot go stale: every ```console block is run
// ($ lines are commands, the lines below them what they print: stdout, then
// stderr) with `dmadebug` on PATH, in a folder holding a copy of examples/,
// and must print what the README says. Its relative links must name files
// that the package ships.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';

const README = readFileSync('README.md', 'utf8');
const tmp = mkdtempSync(join(tmpdir(), 'dmadebug-readme-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Step {
  command: string;
  expected: string;
}

/** The ```console blocks: `$ command` lines, each followed by its output. */
function consoleBlocks(markdown: string): Step[][] {
  const blocks: Step[][] = [];
  for (const m of markdown.matchAll(/^```console\n([\s\S]*?)^```$/gm)) {
    const steps: Step[] = [];
    for (const line of (m[1] ?? '').split('\n')) {
      if (line.startsWith('$ ')) steps.push({ command: line.slice(2), expected: '' });
      else if (steps.length > 0 && line !== '') steps[steps.length - 1]!.expected += `${line}\n`;
    }
    blocks.push(steps);
  }
  return blocks;
}

describe('README quick start', () => {
  it('every console block prints what the README shows', () => {
    const blocks = consoleBlocks(README);
    assert.ok(blocks.length >= 3 && blocks.every((b) => b.length > 0), 'the quick start has its console blocks');
    const bin = join(tmp, 'bin');
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'dmadebug'),
      `#!/bin/sh\nexec '${process.execPath}' '${resolve('bin/dmadebug.js')}' "$@"\n`,
    );
    chmodSync(join(bin, 'dmadebug'), 0o755);
    const cwd = join(tmp, 'clone');
    cpSync('examples', join(cwd, 'examples'), { recursive: true });
    for (const step of blocks.flat()) {
      const r = spawnSync('sh', ['-c', step.command], {
        cwd,
        encoding: 'utf8',
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, NO_COLOR: '1' },
      });
      assert.equal(r.stdout + r.stderr, step.expected, `$ ${step.command}`);
    }
  });

  it('its relative links name files the package ships', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { files: string[] };
    const shipped = (p: string) =>
      ['README.md', 'LICENSE', 'package.json'].includes(p) || pkg.files.some((f) => p === f || p.startsWith(`${f}/`));
    for (const doc of ['README.md', 'examples/README.md']) {
      const text = readFileSync(doc, 'utf8');
      for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue;
        const path = join(doc, '..', target).replace(/^\.\//, '');
        assert.ok(existsSync(path), `${doc}: ${target} exists`);
        assert.ok(shipped(path), `${doc}: ${target} is in package.json's files`);
      }
    }
  });

  it('the example is small and a real trace (header, dma events, the driver markers)', () => {
    const trace = readFileSync('examples/unmap-size.txt', 'utf8');
    assert.ok(trace.length < 100 * 1024);
    assert.match(trace, /^# tracer: nop\n/);
    assert.match(trace, /dmabug: BAD-BEGIN unmap-size\n/);
    assert.equal(trace.match(/: dma_[a-z_]+: /g)?.length, 44);
  });
});
