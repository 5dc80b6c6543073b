// The stderr summary: the lost line says only what the trace reported (no
// empty per-CPU brackets when only overruns are known), and coverage is named.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Coverage } from '../../src/engine/engine.js';
import type { SummaryData } from '../../src/report/json.js';
import { makePaint } from '../../src/report/paint.js';
import { summaryText } from '../../src/report/summary.js';

function summary(coverage: Partial<Coverage>): SummaryData {
  return {
    inputs: ['t'],
    events: 10,
    lines: 10,
    skippedLines: 0,
    badLines: 0,
    findings: {},
    severities: { error: 0, unconfirmed: 0, info: 0 },
    errorCount: 0,
    live: 0,
    coverage: {
      fromBoot: false,
      decidedBy: 'test',
      firstTs: '1.000000',
      lastTs: '2.000000',
      lossNotices: 0,
      lostEvents: 0,
      lostByCpu: {},
      overwritten: 0,
      unknownUnmaps: 0,
      unknownSyncs: 0,
      truncatedSgCalls: 0,
      unknownPhysEntries: 0,
      cutShort: [],
      ...coverage,
    },
    pool: {
      modelled: false,
      preallocated: 0,
      nrTotalEntries: 0,
      numFreeEntries: 0,
      minFreeEntries: 0,
      peakUsed: 0,
      disabled: false,
    },
    devices: {},
    leaks: [],
    driverNames: 'side-information',
  };
}

const lostLine = (c: Partial<Coverage>) =>
  summaryText(summary(c), makePaint(false))
    .split('\n')
    .find((l) => l.startsWith('  lost:'));

test('no loss: no lost line', () => {
  assert.equal(lostLine({}), undefined);
});

test('overruns only: no empty notice count or brackets', () => {
  assert.equal(lostLine({ overwritten: 140988 }), '  lost: 140988 overwritten before reading');
});

test('notices with per-CPU counts, and overruns', () => {
  assert.equal(
    lostLine({ lossNotices: 3, lostEvents: 12, lostByCpu: { 0: 5, 1: 7 }, overwritten: 4 }),
    '  lost: 12 events in 3 notices (cpu0:5 cpu1:7); 4 overwritten before reading',
  );
  assert.equal(lostLine({ lossNotices: 1, lostEvents: 0 }), '  lost: 0 events in 1 notice');
});
