// The command line of the CI formats and the exit policy: --format per
// command (a usage error names the option and the formats it takes),
// --fail-on, --min-severity, and several inputs in one call (each summary
// names its file, the worst status wins, a bad input does not stop the rest).

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { collect, runDmadebug as dmadebug } from '../helpers/child.js';
import { fixture, fixturesOf } from '../helpers/fixtures.js';

const k612 = fixturesOf('kernel-6.12');
const k73 = fixturesOf('kernel-7.3');
const clean = fixture('bug-clean', 'trace.txt', k612);
const unmapSize = fixture('bug-unmap-size', 'trace.txt', k612);
const pipeLost = fixture('real-devices-pipe-lost', 'trace.txt', k612);
const eexist = fixture('bug-overlap-eexist', 'trace.txt', k612);
const tmp = mkdtempSync(join(tmpdir(), 'dmadebug-formats-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A one-line usage error naming the option, status 2. */
function usage(args: string[], message: RegExp): void {
  const r = dmadebug(args);
  assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
  assert.match(r.err.split('\n')[0]!, message);
  assert.doesNotMatch(r.err, /\n\s+at /);
  assert.equal(r.out, '');
}

describe('--format', () => {
  it('a usage error names the option and the formats of the command', () => {
    usage(
      ['check', '--format', 'xml', clean],
      /^dmadebug: --format takes text, json, ktap, junit or github for check, not 'xml'$/,
    );
    usage(
      ['live', '--format', 'ktap'],
      /^dmadebug: --format takes text, json or github for live, not 'ktap' \(ktap describes a whole run: record a trace and check it\)$/,
    );
    usage(['live', '--format', 'junit', '--tracefs', '/nonexistent'], /--format takes text, json or github for live/);
    usage(['dump', '--format', 'ktap', clean], /^dmadebug: --format takes text or json for dump, not 'ktap'$/);
    usage(['stats', '--format', 'github', clean], /^dmadebug: --format takes text or json for stats, not 'github'$/);
    usage(
      ['report', '--format', 'json', '-o', join(tmp, 'r.html'), clean],
      /^dmadebug: --format does not apply to 'report' \(it is an option of check, dump, stats, live\)$/,
    );
    usage(
      ['record', '--format', 'text', '-o', join(tmp, 'r.txt'), '--', 'true'],
      /^dmadebug: --format does not apply to 'record'/,
    );
    usage(
      ['check', '--json', '--format', 'ktap', clean],
      /^dmadebug: --json is --format json; it contradicts --format ktap$/,
    );
  });

  it('--format json is --json, for check, dump and stats', () => {
    for (const cmd of ['check', 'dump', 'stats']) {
      const a = dmadebug([cmd, '--json', unmapSize]);
      const b = dmadebug([cmd, '--format', 'json', unmapSize]);
      assert.equal(b.code, a.code, cmd);
      assert.equal(b.out, a.out, cmd);
      assert.ok(b.out.startsWith('{'), cmd);
    }
    const t = dmadebug(['check', '--format', 'text', unmapSize]);
    assert.equal(t.out, dmadebug(['check', unmapSize]).out);
  });

  it('every check format writes its findings on stdout and its summary on stderr', () => {
    for (const [format, head] of [
      ['ktap', /^KTAP version 1\n1\.\.10\n/],
      ['junit', /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites /],
      [
        'github',
        /^::error file=.*bug-unmap-size\/trace\.txt,line=5754,title=dmadebug%3A unmap-size-mismatch::DMA-API: /,
      ],
    ] as const) {
      const r = dmadebug(['check', '--format', format, unmapSize]);
      assert.equal(r.code, 1, format);
      assert.match(r.out, head, format);
      assert.match(r.err, /^dmadebug: 1 error, 0 unconfirmed/, format);
    }
  });
});

describe('--fail-on', () => {
  it('error (the default): unconfirmed findings never fail; unconfirmed: they do; never: nothing does', () => {
    assert.equal(dmadebug(['check', '-q', pipeLost]).code, 0);
    assert.equal(dmadebug(['check', '-q', '--fail-on', 'error', pipeLost]).code, 0);
    assert.equal(dmadebug(['check', '-q', '--fail-on', 'unconfirmed', pipeLost]).code, 1);
    assert.equal(dmadebug(['check', '-q', '--fail-on', 'unconfirmed', clean]).code, 0);
    assert.equal(dmadebug(['check', '-q', '--fail-on', 'never', unmapSize]).code, 0);
    assert.equal(dmadebug(['check', '-q', '--fail-on', 'unconfirmed', unmapSize]).code, 1);
  });

  it('never does not hide input or usage errors (2)', () => {
    assert.equal(dmadebug(['check', '-q', '--fail-on', 'never', unmapSize, join(tmp, 'missing.txt')]).code, 2);
    usage(
      ['check', '--fail-on', 'warning', clean],
      /^dmadebug: --fail-on takes error, unconfirmed or never, not 'warning'$/,
    );
  });

  it('the reports follow it: --fail-on unconfirmed fails the family in KTAP', () => {
    const r = dmadebug(['check', '--format', 'ktap', '--fail-on', 'unconfirmed', pipeLost]);
    assert.equal(r.code, 1);
    assert.match(r.out, /^not ok 7 memory$/m);
    assert.match(dmadebug(['check', '--format', 'ktap', pipeLost]).out, /^ok 7 memory$/m);
  });
});

describe('--min-severity', () => {
  it('hides findings below it in every format; the counts stay and the text summary says how many were hidden', () => {
    const all = dmadebug(['check', eexist]);
    assert.match(all.out, /^\[info\] DMA-API: /m);
    const r = dmadebug(['check', '--min-severity', 'error', eexist]);
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.out, /\[info\]/);
    assert.match(r.out, /^DMA-API: pci 0000:00:02\.0: cacheline tracking EEXIST/m);
    assert.match(r.err, /^dmadebug: 1 error, 0 unconfirmed, 1 info;/);
    assert.match(r.err, /^ {2}hidden by --min-severity error: 1 info \(counted above, not printed\)$/m);
    const lost = dmadebug(['check', '--min-severity', 'error', pipeLost]);
    assert.equal(lost.out, '');
    assert.match(lost.err, /^ {2}hidden by --min-severity error: 59 unconfirmed \(counted above, not printed\)$/m);
    const json = dmadebug(['check', '--format', 'json', '--min-severity', 'unconfirmed', eexist])
      .out.trimEnd()
      .split('\n');
    assert.deepEqual(
      json.map((l) => (JSON.parse(l) as { type: string; severity?: string }).severity ?? 'summary'),
      ['error', 'summary'],
    );
    assert.match(json[1]!, /"severities":\{"error":1,"unconfirmed":0,"info":1\}/);
    assert.deepEqual((JSON.parse(json[1]!) as { hidden: unknown }).hidden, {
      below: 'unconfirmed',
      unconfirmed: 0,
      info: 1,
      kernel_false_positives: 0,
    });
    const unfiltered = dmadebug(['check', '--json', eexist]).out.trimEnd().split('\n').at(-1)!;
    assert.equal((JSON.parse(unfiltered) as { hidden: unknown }).hidden, null);
    for (const format of ['ktap', 'junit', 'github']) {
      const out = dmadebug(['check', '--format', format, '--min-severity', 'error', eexist]).out;
      assert.doesNotMatch(out, /\[info\]/, format);
      assert.match(out, /cacheline tracking EEXIST/, format);
    }
  });

  it('a usage error for another value', () => {
    usage(
      ['check', '--min-severity', 'warning', clean],
      /^dmadebug: --min-severity takes error, unconfirmed or info, not 'warning'$/,
    );
  });
});

describe('several inputs in one call', () => {
  it('each summary names its file; the status is the worst; a bad input does not stop the others', () => {
    const missing = join(tmp, 'missing.txt');
    const r = dmadebug(['check', unmapSize, missing, clean]);
    assert.equal(r.code, 2);
    assert.ok(r.err.includes(`dmadebug: ${unmapSize}: 1 error, 0 unconfirmed`), r.err);
    assert.ok(r.err.includes(`dmadebug: ${missing}: no such file or directory`), r.err);
    assert.ok(r.err.includes(`dmadebug: ${clean}: no errors, 0 unconfirmed`), r.err);
    assert.equal(dmadebug(['check', '-q', clean, unmapSize]).code, 1);
    assert.equal(dmadebug(['check', '-q', clean, fixture('bug-clean', 'trace.dat', k73)]).code, 0);
    // one input: the summary names no file, as before
    assert.match(dmadebug(['check', clean]).err, /^dmadebug: no errors, /);
  });

  it('an input whose sidecar cannot be read is an input error; the next input is still checked', () => {
    const trace = join(tmp, 'trace.txt');
    copyFileSync(clean, trace);
    writeFileSync(`${trace}.side.json`, '{ not json');
    const r = dmadebug(['check', trace, unmapSize]);
    assert.equal(r.code, 2);
    assert.match(r.err, /^dmadebug: .*trace\.txt\.side\.json: /m);
    assert.ok(r.err.includes(`dmadebug: ${unmapSize}: 1 error`), r.err);
    assert.match(r.out, /^DMA-API: pci 0000:00:02\.0: device driver frees DMA memory with different size/m);
  });
});

describe('live', () => {
  it('--format github streams annotations and ends with the summary notice; --fail-on never exits 0', async () => {
    // a fake tracefs with a text trace_pipe (a FIFO), as test/cli/live.test.ts makes it
    const dir = mkdtempSync(join(tmp, 'tracefs-'));
    for (const f of ['events/dma/dma_map_page/enable', 'events/kmem/mm_page_free/enable', 'tracing_on']) {
      mkdirSync(join(dir, f, '..'), { recursive: true });
      writeFileSync(join(dir, f), '0\n');
    }
    assert.equal(spawnSync('mkfifo', [join(dir, 'trace_pipe')]).status, 0, 'mkfifo');
    const child = spawn(
      process.execPath,
      [join(process.cwd(), 'bin', 'dmadebug.js'), 'live', '--format', 'github', '--fail-on', 'never', dir],
      { env: { ...process.env, NO_COLOR: '1' } },
    );
    const done = collect(child);
    const w = await open(join(dir, 'trace_pipe'), 'w');
    await w.write(readFileSync(unmapSize));
    await w.close();
    const r = await done;
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split('\n');
    assert.match(
      lines[0]!,
      /^::error file=.*trace_pipe,line=\d+,title=dmadebug%3A unmap-size-mismatch::DMA-API: pci 0000:00:02\.0: /,
    );
    assert.match(lines.at(-1)!, /^::notice title=dmadebug%3A .*trace_pipe::dmadebug: 1 error, 0 unconfirmed/);
    assert.match(r.err, /^dmadebug: 1 error, /m);
  });
});
