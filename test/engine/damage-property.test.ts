// Never crying wolf, as a property (issue 13): from every fixture of both
// kernels that saw everything from boot, and from the bench's correct
// workload, seeded variants lose events every way a trace can (an overwritten
// ring buffer per CPU with and without its header, a late start, spans behind
// LOST notices, damaged lines, a cut file, all at once); every error of a
// variant must be an error of the original, for the same check at the same
// event. The generator and the property are test/property/damage.ts; the run is
// test/property/run.ts (`npm run property -- --variants 100000` for long runs).
// DMADEBUG_DAMAGE_VARIANTS sets how many variants `npm test` runs.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KINDS } from '../property/damage.js';
import { describeViolation, runProperty, subjects } from '../property/run.js';

const VARIANTS = Number(process.env.DMADEBUG_DAMAGE_VARIANTS ?? 700);
const SEED = 1313;

describe('damage property: a variant never has an error its whole trace lacks', () => {
  it(`${VARIANTS} variants of every whole fixture of both kernels and the bench workload`, () => {
    const subs = subjects();
    // both kernels' whole fixtures (real-devices-pipe-lost and storm are no oracle) and the workload
    assert.ok(subs.filter((s) => s.name.startsWith('6.12/')).length >= 36, 'the 6.12 fixtures');
    assert.ok(subs.filter((s) => s.name.startsWith('7.3/')).length >= 41, 'the 7.3 fixtures');
    assert.ok(subs.some((s) => s.name === 'bench-workload'));
    const res = runProperty({ variants: VARIANTS, seed: SEED, subjects: subs });
    assert.deepEqual(
      res.violations.slice(0, 20).map(describeViolation),
      [],
      `${res.violations.length} errors only in variants`,
    );
    // the variants did reach the bugs: most originals' errors survive somewhere, and every kind ran
    assert.ok(res.originalErrors >= 40, `${res.originalErrors} errors in the originals`);
    assert.ok(res.keptErrors > res.originalErrors, `${res.keptErrors} errors kept by variants`);
    for (const kind of Object.keys(KINDS)) {
      const name = kind === 'overwriteBare' ? 'overwrite-bare' : kind;
      assert.ok((res.byKind[name] ?? 0) > 0, `no ${name} variant`);
    }
  });
});
