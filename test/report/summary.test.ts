// The stderr summary: the lost line says only what the trace reported (no
// empty per-CPU brackets when only overruns are known), and coverage is named.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Coverage } from '../../src/engine/engine.js';
import { type SummaryData, summaryJson } from '../../src/report/json.js';
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
    kernelFalsePositives: 0,
    errorCount: 0,
    profile: {
      kernel: '7.3',
      arch: 'x86_64',
      kernelEvidence: 'assumed: the input names no kernel (use --kernel)',
      archEvidence: 'assumed: the input names no architecture (use --arch)',
      kernelAssumed: true,
      archAssumed: true,
      conflict: null,
    },
    live: 0,
    coverage: {
      fromBoot: false,
      decidedBy: 'test',
      firstTs: '1.000000',
      lastTs: '2.000000',
      lossNotices: 0,
      lostEvents: 0,
      lostByCpu: {},
      damagedLines: 0,
      damagedByCpu: {},
      complete: false,
      overwritten: 0,
      unknownUnmaps: 0,
      unknownSyncs: 0,
      truncatedSgCalls: 0,
      unknownPhysEntries: 0,
      cutShort: [],
      windows: null,
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
    devices: [],
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

// The kernel profile and kernel false positives (checks.md "Kernel versions").

const lines = (s: SummaryData) => summaryText(s, makePaint(false)).split('\n');

test('the profile line names the profile and its evidence, a source once', () => {
  const s = summary({});
  s.profile = {
    kernel: '7.3',
    arch: 'x86_64',
    kernelEvidence: 'trace.dat uname option: kernel 7.3.4-amd64',
    archEvidence: 'trace.dat uname option: machine x86_64',
    kernelAssumed: false,
    archAssumed: false,
    conflict: null,
  };
  assert.equal(
    lines(s)[1],
    '  kernel: 7.3 profile, x86_64 (trace.dat uname option: kernel 7.3.4-amd64; machine x86_64)',
  );
});

test('an assumed profile says so after a dash, with the options that decide it', () => {
  assert.equal(
    lines(summary({}))[1],
    '  kernel: 7.3 profile, x86_64 \u2014 assumed: the input names no kernel (use --kernel); the input names no architecture (use --arch)',
  );
  const s = summary({});
  s.profile = {
    ...s.profile,
    kernel: '6.12',
    kernelEvidence: 'line 40: dma_map_page/dma_map_resource events (6.17 and earlier)',
    kernelAssumed: false,
  };
  assert.equal(
    lines(s)[1],
    '  kernel: 6.12 profile, x86_64 (line 40: dma_map_page/dma_map_resource events (6.17 and earlier)) \u2014 assumed: the input names no architecture (use --arch)',
  );
});

test('--kernel/--arch, and a conflict on its own line', () => {
  const s = summary({});
  s.profile = {
    kernel: '6.12',
    arch: 'arm64',
    kernelEvidence: 'set by the user (--kernel)',
    archEvidence: 'set by the user (--arch)',
    kernelAssumed: false,
    archAssumed: false,
    conflict: 'trace.dat uname option: kernel 7.3.4-amd64',
  };
  const l = lines(s);
  assert.equal(l[1], '  kernel: 6.12 profile, arm64 (set by the user (--kernel); set by the user (--arch))');
  assert.equal(l[2], '  profile conflict: trace.dat uname option: kernel 7.3.4-amd64');
});

test('kernel false positives are counted apart from info and errors', () => {
  const s = summary({});
  s.severities = { error: 0, unconfirmed: 1, info: 3 };
  s.kernelFalsePositives = 2;
  const l = lines(s);
  assert.match(l[0]!, /^dmadebug: no errors, 1 unconfirmed, 1 info, 2 kernel false positives; /);
  assert.ok(l.some((x) => /^ {2}kernel false positives: 2 lines the kernel prints on correct code/.test(x)));
  s.kernelFalsePositives = 0;
  assert.match(lines(s)[0]!, /^dmadebug: no errors, 1 unconfirmed, 3 info; /);
  assert.ok(!lines(s).some((x) => x.includes('false positive')));
});

test('the JSON summary carries the profile and the false-positive count', () => {
  const s = summary({});
  s.kernelFalsePositives = 2;
  const j = JSON.parse(summaryJson(s));
  assert.equal(j.kernel_false_positives, 2);
  assert.deepEqual(j.profile, {
    kernel: '7.3',
    arch: 'x86_64',
    kernel_evidence: 'assumed: the input names no kernel (use --kernel)',
    arch_evidence: 'assumed: the input names no architecture (use --arch)',
    assumed: ['kernel', 'arch'],
    conflict: null,
  });
  s.profile = { ...s.profile, kernelAssumed: false, archAssumed: false, kernelEvidence: 'set by the user (--kernel)' };
  assert.deepEqual(JSON.parse(summaryJson(s)).profile.assumed, []);
});
