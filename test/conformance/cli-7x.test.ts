// The 7.x checks end to end, as a user runs them on the kernel-7.3 fixtures:
// the kernel's own false positive (bug-unmap-attrs-twin) is printed as dmesg
// has it, flagged, counted apart and exits 0; an MMIO map of RAM
// (bug-map-resource-ram) is found with --iomem (side information) and not
// without it.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runDmadebug } from '../helpers/child.js';
import { kernelFixtures } from '../helpers/fixtures.js';

const ROOT = kernelFixtures('7.3');
const TWIN = join(ROOT, 'bug-unmap-attrs-twin');
const RAM = join(ROOT, 'bug-map-resource-ram');

/** The `DMA-API: ...` warning lines of a fixture's dmesg, without timestamps. */
function dmesgWarnings(dir: string, pattern: RegExp): string[] {
  return readFileSync(join(dir, 'dmesg.txt'), 'utf8')
    .split('\n')
    .map((l) => l.replace(/^\[\s*[\d.]+\]\s?/, ''))
    .filter((l) => pattern.test(l));
}

describe('7.x on the command line', { skip: !existsSync(TWIN) && 'kernel-7.3 fixtures not found' }, () => {
  for (const file of ['trace.txt', 'trace.dat']) {
    it(`a kernel false positive: the kernel's lines, each with its note, exit 0 (${file})`, () => {
      const trace = join(TWIN, file);
      const r = runDmadebug(['check', '--device-driver', '0000:00:02.0=dmabug', trace]);
      assert.equal(r.code, 0, r.err);
      const want = dmesgWarnings(TWIN, /^DMA-API: dmabug .*different attributes/);
      assert.equal(want.length, 2);
      const lines = r.out.split('\n');
      const got = lines.filter((l) => l.startsWith('DMA-API: '));
      assert.deepEqual(got, want);
      for (const w of want) {
        const i = lines.indexOf(w);
        assert.match(lines[i + 1]!, /^ {2}kernel false positive: the kernel prints this on correct code: \S/);
      }
      assert.match(r.err, /^dmadebug: no errors, \d+ unconfirmed, \d+ info, 2 kernel false positives; /);
      assert.match(r.err, /^ {2}kernel: 7\.3 profile, x86_64 /m);

      const j = runDmadebug(['check', '--json', trace]);
      assert.equal(j.code, 0, j.err);
      const objs = j.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const flagged = objs.filter((o) => o.type === 'finding' && o.kernel_false_positive !== null);
      assert.equal(flagged.length, 2);
      for (const f of flagged) {
        assert.equal(f.severity, 'info');
        assert.equal(typeof f.kernel_false_positive, 'string');
      }
      const s = objs.at(-1);
      assert.equal(s.kernel_false_positives, 2);
      assert.equal(s.profile.kernel, '7.3');
    });
  }

  it('an MMIO map of RAM: found with --iomem, not without it', () => {
    const trace = join(RAM, 'trace.txt');
    const want = dmesgWarnings(RAM, /dma_map_resource called for RAM address/);
    assert.deepEqual(want, [
      'DMA-API: dmabug 0000:00:02.0: dma_map_resource called for RAM address 0x0000000009f11000',
    ]);
    const r = runDmadebug([
      'check',
      '--device-driver',
      '0000:00:02.0=dmabug',
      '--iomem',
      join(RAM, 'proc-iomem.txt'),
      trace,
    ]);
    assert.equal(r.code, 1, r.err);
    assert.deepEqual(
      r.out.split('\n').filter((l) => l.startsWith('DMA-API: ')),
      want,
    );
    const without = runDmadebug(['check', trace]);
    assert.equal(without.code, 0, without.err);
    assert.doesNotMatch(without.out, /called for RAM address/);
  });
});
