// JUnit XML (src/report/junit.ts) through two readers that are not ours:
// - xmllint (libxml2) validating against test/report/junit.xsd, the structure
//   CI report readers take (skips with a message when xmllint is missing;
//   Debian: libxml2-utils, which .ci/run installs);
// - junit2json (an npm JUnit XML reader, on xml2js/sax): the counts it reads
//   at every level add up to the test cases it reads, failures carry the check
//   as their type, and text with XML's special and control characters comes
//   back as written.
// Both on every golden file, on one `check --format junit` of every fixture of
// both kernels, and on made-up findings.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse, type TestCase, type TestSuite, type TestSuites } from 'junit2json';
import { InputError } from '../../src/input/errors.js';
import { attr, xmlText } from '../../src/report/junit.js';
import { FIXTURE_ROOT, fixtureDirs, kernelFixtures } from '../helpers/fixtures.js';
import { finding, render, summaryData } from '../helpers/format-data.js';

const XSD = join(process.cwd(), 'test', 'report', 'junit.xsd');
const GOLDEN = join(process.cwd(), 'test', 'golden', 'junit');
const goldens = existsSync(GOLDEN) ? readdirSync(GOLDEN).filter((f) => f.endsWith('.xml')) : [];
const tmp = mkdtempSync(join(tmpdir(), 'dmadebug-junit-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const haveXmllint = spawnSync('xmllint', ['--version']).status === 0;

/** xmllint's verdict on a document: '' when it validates, else its messages. */
function xmllint(xml: string, name = 'doc.xml'): string {
  const file = join(tmp, name);
  writeFileSync(file, xml);
  const r = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
  return r.status === 0 ? '' : r.stderr || `exit ${r.status}`;
}

/** Reads a document with junit2json and checks that its counts add up; the suites. */
async function readJunit(xml: string, what: string): Promise<TestSuite[]> {
  const doc = (await parse(xml)) as TestSuites & { skipped?: number };
  assert.ok(doc && Array.isArray(doc.testsuite), `${what}: a <testsuites> root`);
  const suites = doc.testsuite;
  const sum = { tests: 0, failures: 0, errors: 0, skipped: 0, time: 0 };
  for (const s of suites) {
    const cases: TestCase[] = s.testcase ?? [];
    const failed = cases.filter((c) => (c.failure?.length ?? 0) > 0).length;
    const errored = cases.filter((c) => (c.error?.length ?? 0) > 0).length;
    const skipped = cases.filter((c) => (c.skipped?.length ?? 0) > 0).length;
    assert.equal(s.tests, cases.length, `${what}: ${s.name}: tests`);
    assert.equal(s.failures, failed, `${what}: ${s.name}: failures`);
    assert.equal(s.errors, errored, `${what}: ${s.name}: errors`);
    assert.equal(s.skipped, skipped, `${what}: ${s.name}: skipped`);
    const caseTime = cases.reduce((t, c) => t + (c.time ?? 0), 0);
    assert.ok(Math.abs(caseTime - (s.time ?? -1)) < 0.0005, `${what}: ${s.name}: time is the cases' sum`);
    for (const c of cases) {
      assert.match(c.classname ?? '', /^dmadebug\.[a-z]+$/);
      for (const f of c.failure ?? []) {
        assert.ok(f.type && f.message && f.inner, `${what}: a failure has a type, a message and the finding`);
        assert.ok(f.inner.startsWith(f.message), `${what}: the message is the finding's first line`);
      }
    }
    sum.tests += s.tests ?? 0;
    sum.failures += s.failures ?? 0;
    sum.errors += s.errors ?? 0;
    sum.skipped += s.skipped ?? 0;
    sum.time += s.time ?? 0;
  }
  assert.equal(doc.tests, sum.tests, `${what}: total tests`);
  assert.equal(doc.failures, sum.failures, `${what}: total failures`);
  assert.equal(doc.errors, sum.errors, `${what}: total errors`);
  assert.equal(doc.skipped, sum.skipped, `${what}: total skipped`);
  assert.ok(Math.abs(sum.time - (doc.time ?? -1)) < 0.0005, `${what}: total time`);
  return suites;
}

describe('JUnit XML', () => {
  it('the golden files: valid against the schema, counts that add up', {
    skip: !haveXmllint && 'xmllint is not installed (Debian: apt-get install libxml2-utils)',
  }, async () => {
    assert.ok(goldens.length >= 9);
    for (const g of goldens) {
      const xml = readFileSync(join(GOLDEN, g), 'utf8');
      assert.equal(xmllint(xml, g), '', g);
    }
  });

  it('the golden files read by junit2json', async () => {
    for (const g of goldens) await readJunit(readFileSync(join(GOLDEN, g), 'utf8'), g);
    const two = await readJunit(readFileSync(join(GOLDEN, 'two-inputs.xml'), 'utf8'), 'two-inputs');
    assert.deepEqual(
      two.map((s) => s.name),
      ['kernel-6.12/bug-unmap-size/trace.txt', 'kernel-7.3/bug-clean/trace.dat'],
    );
    const unmap = two[0]!.testcase!.find((c) => c.name === 'unmap')!;
    assert.equal(unmap.classname, 'dmadebug.unmap');
    assert.equal(unmap.failure![0]!.type, 'unmap-size-mismatch');
    assert.match(
      unmap.failure![0]!.message!,
      /^DMA-API: pci 0000:00:02\.0: device driver frees DMA memory with different size/,
    );
    const lost = await readJunit(readFileSync(join(GOLDEN, 'unconfirmed-6.12.xml'), 'utf8'), 'unconfirmed');
    assert.equal(lost[0]!.failures, 0, 'unconfirmed findings are not failures');
    assert.match(lost[0]!.testcase!.find((c) => c.name === 'memory')!['system-out']![0]!, /^\[unconfirmed\] DMA-API: /);
    const bad = await readJunit(readFileSync(join(GOLDEN, 'bad-input.xml'), 'utf8'), 'bad-input');
    assert.equal(bad[1]!.errors, 1);
    assert.equal(bad[1]!.skipped, 9);
  });

  // 6.12's text traces and 7.3's trace.dat files (both readers, both kernels, in one run)
  const inputs = [
    ...fixtureDirs(kernelFixtures('6.12')).map((d) => join('kernel-6.12', d, 'trace.txt')),
    ...fixtureDirs(kernelFixtures('7.3')).map((d) => join('kernel-7.3', d, 'trace.dat')),
  ].filter((f) => !f.includes('/storm/') && existsSync(join(FIXTURE_ROOT, f)));

  it('one call on every fixture of both kernels (storm aside): valid, counts add up', {
    skip: inputs.length === 0 && 'no fixtures',
  }, async () => {
    const r = spawnSync(
      process.execPath,
      [join(process.cwd(), 'bin', 'dmadebug.js'), 'check', '-q', '--format', 'junit', ...inputs],
      {
        cwd: FIXTURE_ROOT,
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      },
    );
    assert.ok(r.status === 0 || r.status === 1 || r.status === 2, r.stderr);
    const suites = await readJunit(r.stdout, 'all fixtures');
    assert.equal(suites.length, inputs.length);
    if (haveXmllint) assert.equal(xmllint(r.stdout, 'all.xml'), '');
    // the bug fixtures fail, the clean ones do not
    const byName = new Map(suites.map((s) => [s.name, s]));
    assert.equal(byName.get('kernel-6.12/bug-clean/trace.txt')!.failures, 0);
    assert.ok(byName.get('kernel-7.3/bug-unmap-size/trace.dat')!.failures! > 0);
  });

  it("XML's special characters and control characters (a comm may hold any byte) come back readable", async () => {
    const comm = 'a<b>&"c\'\x01\x1b\x7f\ud800z\t';
    const label = 'we<i>rd&"name\x02.txt';
    const xml = render(
      'junit',
      [
        { label, findings: [finding({ at: { line: 3, positions: 'line', ts: '1.0', cpu: 0, pid: 7, comm } })] },
        { label: 'b.txt', findings: [finding({ severity: 'unconfirmed', check: 'sync-not-mapped' })] },
      ],
      {},
    );
    if (haveXmllint) assert.equal(xmllint(xml), '');
    const suites = await readJunit(xml, 'escaping');
    assert.equal(suites[0]!.name, 'we<i>rd&"name\\x02.txt');
    const failure = suites[0]!.testcase!.find((c) => c.name === 'unmap')!.failure![0]!;
    assert.match(failure.inner!, /cpu 0 a<b>&"c'\\x01\\x1b\x7f\ufffdz\t-7/);
    assert.equal(suites[1]!.failures, 0);
    assert.equal(attr('a\nb\t"'), 'a&#10;b&#9;&quot;');
    assert.equal(xmlText('a\nb\r<'), 'a\nb&#13;&lt;');
  });

  it('--fail-on unconfirmed makes unconfirmed findings failures; an unreadable input is an error with its families skipped', async () => {
    const err = new InputError('b.dat', 'byte 0', 'the input is empty');
    const xml = render(
      'junit',
      [
        { label: 'a.txt', findings: [finding({ severity: 'unconfirmed', check: 'sync-not-mapped' })] },
        { label: 'b.dat', summary: summaryData({ events: 0 }), error: err },
      ],
      { failOn: 'unconfirmed' },
    );
    if (haveXmllint) assert.equal(xmllint(xml), '');
    const [a, b] = await readJunit(xml, 'fail-on');
    assert.equal(a!.failures, 1);
    assert.equal(a!.testcase!.find((c) => c.name === 'sync')!.failure![0]!.type, 'sync-not-mapped');
    assert.equal(b!.errors, 1);
    assert.equal(b!.skipped, 9);
    assert.equal(b!.testcase!.at(-1)!.error![0]!.message, 'b.dat: byte 0: the input is empty');
  });

  it('the schema rejects what readers would not take', { skip: !haveXmllint && 'xmllint is not installed' }, () => {
    const head =
      '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites tests="1" failures="1" errors="0" skipped="0" time="0">';
    const suite = (cases: string) =>
      `${head}<testsuite name="a" tests="1" failures="1" errors="0" skipped="0" time="0">${cases}</testsuite></testsuites>`;
    assert.equal(
      xmllint(suite('<testcase name="x" classname="c" time="0"><failure message="m" type="t">b</failure></testcase>')),
      '',
    );
    // skipped beside a failure, a failure without its type, a negative count, a bare control character
    assert.notEqual(
      xmllint(suite('<testcase name="x" classname="c" time="0"><skipped/><failure message="m" type="t"/></testcase>')),
      '',
    );
    assert.notEqual(
      xmllint(suite('<testcase name="x" classname="c" time="0"><failure message="m">b</failure></testcase>')),
      '',
    );
    assert.notEqual(xmllint(suite('<testcase name="x" classname="c" time="-1"/>')), '');
    assert.notEqual(xmllint(suite('<testcase name="x\x01" classname="c" time="0"/>')), '');
  });
});
