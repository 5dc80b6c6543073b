// Golden files of every `check --format` (text, json, ktap, junit, github) on
// fixtures of both kernels: a clean trace, errors (text and trace.dat), a
// trace with unconfirmed findings (a slow trace_pipe reader lost events),
// the kernel's false positives, two inputs in one call, and an input that
// cannot be read beside one that can. The CLI runs from the fixture root with
// relative paths, so the files name no machine's directories; JUnit's times
// (wall clock) are the one thing normalised. Exit statuses are checked too.
//
// After a deliberate change of output: UPDATE_GOLDEN=1 node scripts/run-tests.js
// dist/test/report/golden (then review the diff of test/golden/).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FIXTURE_ROOT } from '../helpers/fixtures.js';

const GOLDEN = join(process.cwd(), 'test', 'golden');
const BIN = join(process.cwd(), 'bin', 'dmadebug.js');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

interface Case {
  name: string;
  inputs: string[];
  /** Exit status with the default --fail-on error. */
  status: number;
}

const GOLDEN_CASES: Case[] = [
  { name: 'clean-6.12', inputs: ['kernel-6.12/bug-clean/trace.txt'], status: 0 },
  { name: 'clean-7.3', inputs: ['kernel-7.3/bug-clean/trace.dat'], status: 0 },
  { name: 'errors-6.12-stack', inputs: ['kernel-6.12/bug-unmap-size-stack/trace.txt'], status: 1 },
  { name: 'errors-7.3', inputs: ['kernel-7.3/bug-unmap-size/trace.dat'], status: 1 },
  { name: 'unconfirmed-6.12', inputs: ['kernel-6.12/real-devices-pipe-lost/trace.txt'], status: 0 },
  { name: 'unconfirmed-7.3', inputs: ['kernel-7.3/real-devices-pipe-lost/trace.txt'], status: 0 },
  { name: 'false-positives-7.3', inputs: ['kernel-7.3/bug-unmap-attrs-twin/trace.dat'], status: 0 },
  {
    name: 'two-inputs',
    inputs: ['kernel-6.12/bug-unmap-size/trace.txt', 'kernel-7.3/bug-clean/trace.dat'],
    status: 1,
  },
  {
    name: 'bad-input',
    inputs: ['kernel-7.3/bug-unmap-size/trace.dat', 'kernel-6.12/no-such-scenario/trace.txt'],
    status: 2,
  },
];

const FORMATS: Array<[format: string, ext: string]> = [
  ['text', 'txt'],
  ['json', 'jsonl'],
  ['ktap', 'ktap'],
  ['junit', 'xml'],
  ['github', 'github'],
];

/** Runs the CLI from the fixture root, as a user in that folder would. */
function runIn(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: FIXTURE_ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** What may differ between two runs of the same input: JUnit's wall-clock times. */
function normalise(format: string, s: string): string {
  return format === 'junit' ? s.replace(/ time="\d+\.\d{3}"/g, ' time="0.000"') : s;
}

function compare(file: string, actual: string): void {
  if (UPDATE || !existsSync(file)) {
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, actual);
    if (!UPDATE) assert.fail(`${file} was missing: written; review it and run again`);
    return;
  }
  assert.equal(actual, readFileSync(file, 'utf8'), `${file} differs (UPDATE_GOLDEN=1 rewrites it)`);
}

const haveFixtures = existsSync(join(FIXTURE_ROOT, 'kernel-6.12')) && existsSync(join(FIXTURE_ROOT, 'kernel-7.3'));

describe('golden files of every format', { skip: haveFixtures ? false : 'no fixtures' }, () => {
  for (const [format, ext] of FORMATS) {
    for (const c of GOLDEN_CASES) {
      it(`${format}: ${c.name}`, () => {
        const r = runIn(['check', '--format', format, ...c.inputs]);
        assert.equal(r.code, c.status, r.err);
        assert.doesNotMatch(r.out + r.err, /\/work\/|\/home\/|\/tmp\//, 'no machine paths');
        compare(join(GOLDEN, format, `${c.name}.${ext}`), normalise(format, r.out));
        // The summaries are on stderr in every format; the text one is a golden file too.
        if (format === 'text') compare(join(GOLDEN, format, `${c.name}.stderr`), r.err);
      });
    }
  }
});
