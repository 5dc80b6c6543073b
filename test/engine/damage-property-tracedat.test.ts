// The damage property (issue 13) on trace.dat: the same variants as the text
// ones of damage-property.test.ts, written as trace.dat in its own terms
// (per-CPU overruns in CPUSTAT, missing-events bits, unreadable records, a
// cut file, a CPU cut short; test/property/tracedat-variants.ts) and read by
// the real TraceDatParser: every error of a variant must be an error of the
// original, for the same check at the same event. First, the whole traces as
// trace.dat must give exactly their text's errors, or the comparison means
// nothing. DMADEBUG_DAT_VARIANTS sets how many variants `npm test` runs;
// `npm run property -- --format dat --variants 20000` runs more.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { datOf, datOriginalsDiffer, describeViolation, runProperty, type Subject, subjects } from '../property/run.js';
import { DAT_KINDS, makeDatVariant, replayDat } from '../property/tracedat-variants.js';

const VARIANTS = Number(process.env.DMADEBUG_DAT_VARIANTS ?? 200);
const SEED = 1313;

describe('damage property on trace.dat: a variant never has an error its whole trace lacks', () => {
  let subs: Subject[] = [];
  before(() => {
    subs = subjects();
  });

  it('every whole trace written as trace.dat (v6 or v7) has the errors of its text, at the same lines', () => {
    assert.ok(subs.length >= 78, `${subs.length} whole traces`);
    assert.deepEqual(datOriginalsDiffer(subs, 'alternate'), []);
  });

  it('each kind of loss is one the reader sees', () => {
    const s = subs.find((x) => x.name === '7.3/bug-unmap-size')!;
    const seen = (kind: (typeof DAT_KINDS)[number], n: number) => {
      const v = makeDatVariant(s.trace, datOf(s), SEED, n, kind);
      return replayDat(v, s.config, s.unbindAtEnd);
    };
    for (let n = 0; n < 4; n++) {
      const o = seen('overwrite', n).coverage;
      assert.ok(o.windows?.known && o.overwritten > 0, 'overwrite: the overruns say which CPUs overwrote');
      const b = seen('overwriteBare', n).coverage;
      assert.ok(b.windows && !b.windows.known && !b.fromBoot, 'overwrite without stats: it may have overwritten');
      const l = seen('lost', n).coverage;
      assert.ok(l.lossNotices > 0, 'lost: missing-events bits');
      const d = seen('damage', n).coverage;
      assert.ok(d.damagedLines > 0, 'damage: unreadable records');
      const c = seen('cutShort', n);
      assert.ok(c.coverage.cutShort.length === 1 && c.error !== null, 'a CPU cut short');
      const t = seen('truncate', n);
      assert.ok(t.error !== null, 'truncated: an input error');
    }
  });

  it(`${VARIANTS} trace.dat variants of every whole fixture of both kernels and the bench workload`, () => {
    const res = runProperty({ variants: VARIANTS, seed: SEED, subjects: subs, format: 'dat' });
    assert.deepEqual(
      res.violations.slice(0, 20).map(describeViolation),
      [],
      `${res.violations.length} errors only in variants`,
    );
    assert.ok(res.keptErrors > 0, `${res.keptErrors} errors kept by variants`);
    for (const kind of DAT_KINDS) {
      const name = `dat:${kind === 'overwriteBare' ? 'overwrite-bare' : kind === 'cutShort' ? 'cut-short' : kind}`;
      assert.ok((res.byKind[name] ?? 0) > 0, `no ${name} variant`);
    }
  });
});
