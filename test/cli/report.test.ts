// `dmadebug report` as users run it: an HTML file from a fixture (text and
// trace.dat), -o - for stdout, exit 2 with one line for a missing -o, a bad
// input or an unwritable output, and an HTML size that does not grow with the
// trace (the timeline is down-sampled while reading).

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { generateTrace } from '../../bench/gen-trace.js';
import type { ReportData } from '../../src/report/report-data.js';
import { runDmadebug } from '../helpers/child.js';
import { fixture } from '../helpers/fixtures.js';

const TRACE = fixture('bug-sync-sg-nents');
const DAT = fixture('bug-sync-sg-nents', 'trace.dat');
const TMP = mkdtempSync(join(tmpdir(), 'dmadebug-report-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

const dmadebug = runDmadebug;

function payload(html: string): ReportData {
  const m = /<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(html);
  assert.ok(m, 'data element');
  return JSON.parse(m[1]!) as ReportData;
}

/** No stack trace, no internal error: what a user sees for a usage or input error. */
function assertOneLineError(err: string, want: RegExp): void {
  const lines = err.trimEnd().split('\n');
  assert.match(lines[0]!, want);
  assert.ok(lines.length <= 2, err);
  if (lines[1] !== undefined) assert.equal(lines[1], "Try 'dmadebug --help'.");
  assert.ok(!/internal error|\n\s+at /.test(err), err);
}

describe('dmadebug report', { skip: !existsSync(TRACE) && 'fixtures not found' }, () => {
  it('writes a self-contained HTML file and says so in one line', () => {
    const out = join(TMP, 'r.html');
    const r = dmadebug(['report', TRACE, '-o', out]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '');
    assert.match(
      r.err,
      /^dmadebug: wrote .*r\.html \(\d+\.\d KiB\): 6093 events, 3 findings, 2 devices, \d+ time buckets/,
    );
    assert.equal(r.err.trimEnd().split('\n').length, 1);
    const html = readFileSync(out, 'utf8');
    assert.ok(html.startsWith('<!DOCTYPE html>'));
    const d = payload(html);
    assert.equal(d.findings.total, 3);
    assert.match(d.tool, /^dmadebug \d+\.\d+\.\d+/);
    // The findings are the ones `check --json` prints.
    const check = dmadebug(['check', '--json', TRACE]);
    const want = check.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; message: string; ts: string })
      .filter((o) => o.type === 'finding');
    assert.deepEqual(
      d.findings.rows.map((f) => [f.message, f.at.ts]),
      want.map((f) => [f.message, f.ts]),
    );
  });

  it('-o - writes the HTML to stdout; -q says nothing', () => {
    const r = dmadebug(['report', '-q', TRACE, '-o', '-']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, '');
    assert.ok(r.out.startsWith('<!DOCTYPE html>'));
    assert.ok(r.out.trimEnd().endsWith('</html>'));
  });

  it('reads trace.dat to the same findings', { skip: !existsSync(DAT) && 'no trace.dat' }, () => {
    const out = join(TMP, 'dat.html');
    const r = dmadebug(['report', DAT, '-o', out]);
    assert.equal(r.code, 0, r.err);
    const d = payload(readFileSync(out, 'utf8'));
    assert.equal(d.input.kind, 'tracedat');
    assert.equal(d.findings.total, 3);
  });

  it('exit 2 with one line: no -o, two traces, no trace', () => {
    let r = dmadebug(['report', TRACE]);
    assert.equal(r.code, 2);
    assertOneLineError(r.err, /^dmadebug: report needs -o FILE/);
    r = dmadebug(['report', TRACE, TRACE, '-o', join(TMP, 'x.html')]);
    assert.equal(r.code, 2);
    assertOneLineError(r.err, /^dmadebug: report takes one trace/);
    r = dmadebug(['report', '-o', join(TMP, 'x.html')]);
    assert.equal(r.code, 2);
    assertOneLineError(r.err, /^dmadebug: report needs a trace file/);
    assert.ok(!existsSync(join(TMP, 'x.html')));
  });

  it('exit 2 with one line for input that is not a trace, and no file is left behind', () => {
    const bad = join(TMP, 'bad.txt');
    writeFileSync(bad, 'hello\nworld\n');
    const out = join(TMP, 'bad.html');
    const r = dmadebug(['report', bad, '-o', out]);
    assert.equal(r.code, 2);
    assertOneLineError(r.err, /^dmadebug: .*bad\.txt: not an ftrace text trace/);
    assert.ok(!existsSync(out));
    const missing = dmadebug(['report', join(TMP, 'nope.txt'), '-o', out]);
    assert.equal(missing.code, 2);
    assertOneLineError(missing.err, /nope\.txt/);
  });

  it('exit 2 with one line for an output that cannot be written', () => {
    const r = dmadebug(['report', TRACE, '-o', join(TMP, 'no', 'such', 'dir.html')]);
    assert.equal(r.code, 2);
    assertOneLineError(r.err, /^dmadebug: cannot write .*dir\.html: no such directory \(ENOENT\)$/);
  });

  it('keeps the HTML size bounded as the trace grows ten times', () => {
    const sizes: number[] = [];
    for (const mib of [2, 20]) {
      const trace = join(TMP, `gen-${mib}.txt`);
      const gen = generateTrace({ size: mib * 1048576, live: 2048, out: trace, seed: 1 });
      const out = join(TMP, `gen-${mib}.html`);
      const r = dmadebug(['report', '-q', trace, '-o', out]);
      assert.equal(r.code, 0, r.err);
      const d = payload(readFileSync(out, 'utf8'));
      assert.equal(d.summary.events, gen.events);
      assert.equal(d.findings.total, 0);
      assert.ok(d.timeline.buckets <= d.timeline.max_buckets);
      sizes.push(statSync(out).size);
      rmSync(trace);
    }
    // 8 devices: at most 4096 buckets of two numbers each, whatever the length.
    for (const s of sizes) assert.ok(s < 800_000, `${s} bytes`);
    assert.ok(sizes[1]! < sizes[0]! * 1.6, `${sizes}`);
  });
});
