// The real-trace bench section's pure helpers (bench/bench-real.ts): the median it reports, the
// parser of dmadebug's summary line it takes events and findings from, the ratios and their
// targets, and which fixtures it picks (the largest real-device trace.dat of a kernel).

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  findings,
  fixtureRoot,
  largestRealDevices,
  median,
  meets,
  parseSummary,
  ratio,
  stat,
} from '../../bench/bench-real.js';

describe('bench-real: median and stat', () => {
  it('takes the middle of an odd count and the mean of the middle two of an even one, unsorted input', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([7]), 7);
    assert.ok(Number.isNaN(median([])));
  });
  it('does not reorder its argument', () => {
    const xs = [3, 1, 2];
    median(xs);
    assert.deepEqual(xs, [3, 1, 2]);
  });
  it('stat gives median and min, null for no runs', () => {
    assert.deepEqual(stat([5, 1, 9, 2, 3]), { median: 3, min: 1 });
    assert.equal(stat([]), null);
  });
});

describe('bench-real: parseSummary', () => {
  it('reads a clean run', () => {
    const s = parseSummary(
      'dmadebug: no errors, 0 unconfirmed, 0 info; 85366 dma/kmem events; 274 mappings live at the end\n' +
        '  kernel: 6.12 profile, x86_64\n',
    );
    assert.deepEqual(s, { errors: 0, unconfirmed: 0, info: 0, kernelFalsePositives: 0, events: 85366, live: 274 });
  });
  it('reads errors, singular and plural, and kernel false positives; findings sums them', () => {
    const s = parseSummary(
      'dmadebug: 6728 errors, 0 unconfirmed, 6728 info; 1432736 dma/kmem events; 6 mappings live at the end',
    )!;
    assert.equal(s.errors, 6728);
    assert.equal(s.events, 1432736);
    assert.equal(findings(s), 13456);
    const k = parseSummary(
      'dmadebug: 1 error, 2 unconfirmed, 3 info, 1 kernel false positive; 10 dma/kmem events; 0 mappings live at the end',
    )!;
    assert.deepEqual(k, { errors: 1, unconfirmed: 2, info: 3, kernelFalsePositives: 1, events: 10, live: 0 });
    assert.equal(findings(k), 7);
    assert.equal(
      parseSummary(
        'dmadebug: 0 errors, 0 unconfirmed, 0 info, 4 kernel false positives; 9 dma/kmem events; 1 mappings live at the end',
      )?.kernelFalsePositives,
      4,
    );
  });
  it('takes the line after progress or warnings, with an input name (several inputs) and colours', () => {
    const s = parseSummary(
      'dmadebug: warning: something\n' +
        '\x1b[1mdmadebug: a: b.txt: \x1b[31m2 errors\x1b[0m, 0 unconfirmed, 1 info; 5 dma/kmem events; 3 mappings live at the end\n',
    );
    assert.deepEqual(s, { errors: 2, unconfirmed: 0, info: 1, kernelFalsePositives: 0, events: 5, live: 3 });
  });
  it('is null with no summary (-q, or a crash)', () => {
    assert.equal(parseSummary(''), null);
    assert.equal(parseSummary('dmadebug: cannot open x: ENOENT\n'), null);
  });
});

describe('bench-real: ratios and targets', () => {
  it('trace.dat: peer / dmadebug, met at ≥ 10×', () => {
    assert.equal(ratio('dat', 0.5, 5), 10);
    assert.ok(meets('dat', 10));
    assert.ok(!meets('dat', 9.99));
  });
  it('text: dmadebug / wc, met at ≤ 12×', () => {
    assert.equal(ratio('text', 3, 0.25), 12);
    assert.ok(meets('text', 12));
    assert.ok(!meets('text', 12.01));
  });
  it('no ratio when a time is missing or zero', () => {
    assert.equal(ratio('dat', null, 1), null);
    assert.equal(ratio('dat', 1, null), null);
    assert.equal(ratio('text', 0, 1), null);
  });
});

describe('bench-real: fixtures', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-real-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const scenario = (name: string, datBytes: number | null, txt: boolean) => {
    mkdirSync(join(dir, name));
    if (datBytes !== null) writeFileSync(join(dir, name, 'trace.dat'), Buffer.alloc(datBytes));
    if (txt) writeFileSync(join(dir, name, 'trace.txt'), 'x\n');
  };
  scenario('real-devices-direct', 300, true);
  scenario('real-devices-stack', 500, true);
  scenario('real-devices-nodat', null, true);
  scenario('real-devices-notxt', 900, false);
  scenario('storm', 5000, true);

  it('picks the largest trace.dat among real-devices* folders that have both files', () => {
    const best = largestRealDevices(dir);
    assert.equal(best?.name, 'real-devices-stack');
    assert.equal(best?.datBytes, 500);
  });
  it('is null without such a folder or without the kernel folder', () => {
    assert.equal(largestRealDevices(join(dir, 'storm')), null);
    assert.equal(largestRealDevices(join(dir, 'missing')), null);
  });
  it('finds the fixture root beside the repository, or where the tests’ variables say', () => {
    assert.equal(fixtureRoot('/r/repo', {}), '/r/shared/fixtures');
    assert.equal(fixtureRoot('/r/repo', { DMADEBUG_FIXTURE_ROOT: '/x/fx' }), '/x/fx');
    assert.equal(fixtureRoot('/r/repo', { DMADEBUG_FIXTURES: '/y/fx/kernel-7.3' }), '/y/fx');
  });
});
