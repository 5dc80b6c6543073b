// The policy behind every format: which findings fail (--fail-on), which are
// printed (--min-severity) and counted as hidden, and the exit status.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fails, findingsStatus, SeverityFilter } from '../../src/report/format.js';
import { finding, render } from '../helpers/format-data.js';

test('what fails: errors; unconfirmed with --fail-on unconfirmed; never a kernel false positive', () => {
  const error = finding();
  const unconfirmed = finding({ severity: 'unconfirmed' });
  const info = finding({ severity: 'info' });
  const fp = finding({ severity: 'info', kernelFalsePositive: 'why' });
  for (const failOn of ['error', 'never'] as const) {
    assert.deepEqual(
      [error, unconfirmed, info, fp].map((f) => fails(f, failOn)),
      [true, false, false, false],
    );
  }
  assert.deepEqual(
    [error, unconfirmed, info, fp].map((f) => fails(f, 'unconfirmed')),
    [true, true, false, false],
  );
});

test('the exit status of findings', () => {
  assert.equal(findingsStatus({ errors: 1, unconfirmed: 0 }, 'error'), 1);
  assert.equal(findingsStatus({ errors: 0, unconfirmed: 5 }, 'error'), 0);
  assert.equal(findingsStatus({ errors: 0, unconfirmed: 5 }, 'unconfirmed'), 1);
  assert.equal(findingsStatus({ errors: 3, unconfirmed: 5 }, 'never'), 0);
});

test('--min-severity passes what is at least that severe and counts the rest per input', () => {
  const f = new SeverityFilter('unconfirmed');
  assert.equal(f.passes(finding()), true);
  assert.equal(f.passes(finding({ severity: 'unconfirmed' })), true);
  assert.equal(f.passes(finding({ severity: 'info' })), false);
  assert.equal(f.passes(finding({ severity: 'info', kernelFalsePositive: 'why' })), false);
  assert.deepEqual(f.take(), { unconfirmed: 0, info: 1, kernelFalsePositives: 1, below: 'unconfirmed' });
  assert.deepEqual(f.take(), { unconfirmed: 0, info: 0, kernelFalsePositives: 0, below: 'unconfirmed' });
  const e = new SeverityFilter('error');
  assert.equal(e.passes(finding({ severity: 'unconfirmed' })), false);
  assert.equal(e.take().unconfirmed, 1);
});

test('text and json print what passes; json ends each input with its summary', () => {
  const findings = [finding(), finding({ severity: 'info', check: 'map-failed' })];
  const text = render('text', [{ label: 'a.txt', findings }], { minSeverity: 'error' });
  assert.equal(text.split('\n').filter((l) => l.startsWith('DMA-API') || l.startsWith('[info]')).length, 1);
  const json = render('json', [{ label: 'a.txt', findings }, { label: 'b.txt' }])
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; inputs?: string[] });
  assert.deepEqual(
    json.map((o) => o.type),
    ['finding', 'finding', 'summary', 'summary'],
  );
  assert.deepEqual(json[3]!.inputs, ['b.txt']);
});
