// Which kernel profile a fixture resolves to, from what the input shows:
// trace.dat's uname (the kernel's release and machine), a text trace's map
// events (dma_map_phys: 6.18 and later; dma_map_page: up to 6.17); a text trace
// that names no kernel states an assumption; --kernel/--arch (EngineConfig
// kernel/arch) override all of it, and the CLI's summary says so.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { replay } from '../../src/pipeline.js';
import { runDmadebug } from '../helpers/child.js';
import { FIXTURE_KERNELS, kernelFixtures } from '../helpers/fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'dmadebug-profiles-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The release each fixture kernel was (README.txt: Debian's 6.12.117, 7.3.4). */
const RELEASE = { '6.12': /^6\.12\./, '7.3': /^7\.3\./ } as const;

const trace = (kernel: (typeof FIXTURE_KERNELS)[number], file: string) =>
  join(kernelFixtures(kernel), 'bug-clean', file);

describe('kernel profile from the input', () => {
  for (const kernel of FIXTURE_KERNELS) {
    it(`${kernel} trace.dat: its uname option names the kernel and the machine`, async () => {
      const r = await replay(trace(kernel, 'trace.dat'));
      assert.equal(r.error, null, r.error?.message);
      const p = r.engine.profile();
      assert.equal(p.kernel, kernel, p.kernelEvidence);
      assert.equal(p.kernelAssumed, false, p.kernelEvidence);
      assert.equal(p.arch, 'x86_64', p.archEvidence);
      assert.equal(p.archAssumed, false, p.archEvidence);
      // The evidence names the release as the trace has it, and the machine.
      const release = /kernel (\S+)/.exec(p.kernelEvidence)?.[1] ?? '';
      assert.match(release, RELEASE[kernel], p.kernelEvidence);
      assert.match(p.archEvidence, /x86_64/);
      assert.equal(p.conflict, null);
    });

    it(`${kernel} trace.txt: its map events tell the kernel line; the arch is assumed`, async () => {
      const r = await replay(trace(kernel, 'trace.txt'));
      assert.equal(r.error, null, r.error?.message);
      const p = r.engine.profile();
      assert.equal(p.kernel, kernel, p.kernelEvidence);
      assert.equal(p.kernelAssumed, false, p.kernelEvidence);
      assert.match(p.kernelEvidence, kernel === '7.3' ? /dma_map_phys/ : /dma_map_page/);
      // A text trace names no machine.
      assert.equal(p.arch, 'x86_64');
      assert.equal(p.archAssumed, true);
    });
  }

  it('a text trace that names no kernel (no map events) states an assumption', async () => {
    // Coherent allocations only: nothing in it tells one kernel line from the other.
    const lines = readFileSync(trace('7.3', 'trace.txt'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('#') || / dma_(alloc|free): /.test(l));
    assert.ok(lines.some((l) => / dma_alloc: /.test(l)));
    const bare = join(tmp, 'bare.txt');
    writeFileSync(bare, `${lines.join('\n')}\n`);
    const r = await replay(bare);
    assert.equal(r.error, null, r.error?.message);
    const p = r.engine.profile();
    assert.deepEqual(
      { kernel: p.kernel, arch: p.arch, kernelAssumed: p.kernelAssumed, archAssumed: p.archAssumed },
      { kernel: '7.3', arch: 'x86_64', kernelAssumed: true, archAssumed: true },
    );
    assert.match(p.kernelEvidence, /^assumed: .*--kernel/);
    assert.match(p.archEvidence, /^assumed: .*--arch/);
    // The summary says it, with the options that decide it.
    const cli = runDmadebug(['check', bare]);
    assert.equal(cli.code, 0, cli.err);
    assert.match(
      cli.err,
      /^ {2}kernel: 7\.3 profile, x86_64 \u2014 assumed: the input names no kernel \(use --kernel\)/m,
    );
  });

  for (const kernel of FIXTURE_KERNELS) {
    const other = kernel === '6.12' ? '7.3' : '6.12';
    for (const file of ['trace.txt', 'trace.dat']) {
      it(`--kernel ${other} and --arch arm64 override what ${kernel} ${file} shows`, async () => {
        const r = await replay(trace(kernel, file), { engine: { kernel: other, arch: 'arm64' } });
        assert.equal(r.error, null, r.error?.message);
        const p = r.engine.profile();
        assert.equal(p.kernel, other);
        assert.equal(p.arch, 'arm64');
        assert.equal(p.kernelAssumed, false);
        assert.equal(p.archAssumed, false);
        assert.match(p.kernelEvidence, /--kernel/);
        assert.match(p.archEvidence, /--arch/);
        // The CLI: a release string maps to its profile, and the summary names the option.
        const release = other === '6.12' ? '6.6.30' : '6.19.2-amd64';
        const cli = runDmadebug(['check', '--kernel', release, '--arch', 'aarch64', trace(kernel, file)]);
        assert.match(
          cli.err,
          new RegExp(`^ {2}kernel: ${other.replace('.', '\\.')} profile, arm64 \\(set by the user \\(--kernel`, 'm'),
        );
      });
    }
  }

  it('--kernel changes the findings as each kernel would: EEXIST (6.12 only on x86_64), wrong function vs attrs', async () => {
    const errors = async (path: string, engine: { kernel?: '6.12' | '7.3' } = {}) => {
      const out: string[] = [];
      const r = await replay(path, {
        engine,
        onFinding: (f) => {
          if (f.severity === 'error') out.push(`${f.check}: ${f.message}`);
        },
      });
      assert.equal(r.error, null, r.error?.message);
      return out;
    };
    const eexist = join(kernelFixtures('6.12'), 'bug-overlap-eexist', 'trace.txt');
    assert.ok((await errors(eexist)).some((m) => m.startsWith('cacheline-overlap: ')));
    assert.deepEqual(
      (await errors(eexist, { kernel: '7.3' })).filter((m) => m.startsWith('cacheline-overlap: ')),
      [],
    );
    const wrong = join(kernelFixtures('7.3'), 'bug-unmap-wrong-func', 'trace.txt');
    assert.deepEqual(await errors(wrong), [
      'unmap-attrs-mismatch: device driver frees DMA memory with different attributes [device address=0x000000000bc32800] [size=2048 bytes] [mapped with 0x0] [unmapped with 0x400]',
    ]);
    assert.deepEqual(await errors(wrong, { kernel: '6.12' }), [
      'unmap-wrong-function: device driver frees DMA memory with wrong function [device address=0x000000000bc32800] [size=2048 bytes] [mapped as single] [unmapped as resource]',
    ]);
  });
});
