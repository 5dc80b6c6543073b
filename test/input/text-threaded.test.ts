// A text trace parsed in a worker thread gives exactly what parsing in the
// checking thread gives: the same findings, dump, counters, warnings and facts
// for every text fixture of both kernels (and the compressed storm trace, which
// takes the worker by default), and the same error after the same findings when
// the input turns out damaged, breaks off, or is no trace at all.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Finding } from '../../src/engine/findings.js';
import { TextParser } from '../../src/input/text-parser.js';
import { ThreadedText } from '../../src/input/text-threaded.js';
import { THREADED_TEXT_MIN_BYTES } from '../../src/input/worker-standby.js';
import { Pipeline, replay, summarize } from '../../src/pipeline.js';
import { mkfifo } from '../helpers/fake-tracefs.js';
import { fixturesOf } from '../helpers/fixtures.js';
import { FIXTURES } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'dmadebug-text-threaded-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function run(path: string, parseThread: boolean) {
  const findings: Finding[] = [];
  const r = await replay(path, { parseThread, onFinding: (f) => findings.push(f) });
  const p = r.parser as ThreadedText;
  return {
    threaded: p instanceof ThreadedText,
    findings,
    dump: [...r.engine.dump()],
    summary: summarize([path], r),
    parser: {
      lines: p.lines,
      eventLines: p.eventLines,
      events: p.events,
      skipped: p.skipped,
      warnings: p.warnings,
      warningList: p.warningList,
      damagedLines: p.damagedLines,
      sawReportHeader: p.sawReportHeader,
      facts: p.facts,
    },
    error: r.error?.message ?? null,
    kind: r.kind,
  };
}

const k73 = fixturesOf('kernel-7.3');
const files = [FIXTURES, k73].flatMap((root) =>
  existsSync(root)
    ? readdirSync(root)
        .map((d) => join(root, d, 'trace.txt'))
        .filter((f) => existsSync(f))
        .sort()
    : [],
);

describe('text parsed in a worker thread', { skip: files.length === 0 && 'fixtures not found' }, () => {
  it(`equals parsing in this thread, for all ${files.length} text fixtures`, { timeout: 600_000 }, async () => {
    for (const f of files) {
      const name = f.split('/').slice(-3).join('/');
      const threaded = await run(f, true);
      const direct = await run(f, false);
      assert.ok(threaded.threaded && !direct.threaded, name);
      assert.equal(threaded.kind, 'text', name);
      assert.equal(threaded.error, direct.error, name);
      assert.deepEqual(threaded.parser, direct.parser, `${name}: parser`);
      assert.deepEqual(threaded.findings, direct.findings, `${name}: findings`);
      assert.deepEqual(threaded.dump, direct.dump, `${name}: dump`);
      assert.deepEqual(threaded.summary, direct.summary, `${name}: summary`);
    }
  });

  const storm = join(FIXTURES, 'storm', 'trace.txt.zst');
  it('the compressed storm trace goes to the worker by default, with the same result', {
    skip: !existsSync(storm) && 'no fixture',
    timeout: 300_000,
  }, async () => {
    const findings: Finding[] = [];
    const p = await new Pipeline(storm, { onFinding: (f) => findings.push(f) }).run();
    assert.ok(p.parser instanceof ThreadedText);
    const direct = await run(storm, false);
    assert.equal(p.error, null);
    assert.equal(p.parser.lines, direct.parser.lines);
    assert.deepEqual(findings, direct.findings);
    assert.deepEqual(summarize([storm], p.result()), direct.summary);
  });

  const big = join(k73, 'real-devices-stack', 'trace.txt');
  it('binary data in the middle: the same error after the same findings', {
    skip: !existsSync(big) && 'no fixture',
    timeout: 120_000,
  }, async () => {
    const b = Buffer.from(readFileSync(big));
    const at = b.indexOf(0x0a, Math.floor(b.length * 0.6)) + 1;
    b[at + 3] = 0;
    const path = join(tmp, 'damaged.txt');
    writeFileSync(path, b);
    const threaded = await run(path, true);
    const direct = await run(path, false);
    assert.match(threaded.error ?? '', /binary data \(byte 0x00 at offset \d+\); expected ftrace text/);
    assert.equal(threaded.error, direct.error);
    assert.ok(threaded.parser.events > 10000, `${threaded.parser.events} events before the damage`);
    assert.deepEqual(threaded.parser, direct.parser);
    assert.deepEqual(threaded.findings, direct.findings);
    assert.deepEqual(threaded.summary, direct.summary);
  });

  it('a compressed trace cut short: every event read before the break is checked, then the same error', {
    skip: !existsSync(storm) && 'no fixture',
    timeout: 300_000,
  }, async () => {
    const path = join(tmp, 'cut.txt.zst');
    writeFileSync(path, readFileSync(storm).subarray(0, 6_000_000));
    const threaded = await run(path, true);
    const direct = await run(path, false);
    assert.match(threaded.error ?? '', /corrupt zstd data/);
    assert.equal(threaded.error, direct.error);
    assert.ok(threaded.findings.length > 1000, `${threaded.findings.length} findings before the break`);
    assert.deepEqual(threaded.parser, direct.parser);
    assert.deepEqual(threaded.findings, direct.findings);
    assert.deepEqual(threaded.summary, direct.summary);
  });

  it('a pipe of unknown size (a FIFO, as stdin) goes to the worker once it reads as big; a small one stays', {
    skip: !existsSync(big) && 'no fixture',
    timeout: 120_000,
  }, async () => {
    const small = join(k73, 'bug-clean', 'trace.txt');
    assert.ok(statSync(big).size >= THREADED_TEXT_MIN_BYTES, 'the big fixture is big');
    assert.ok(statSync(small).size < THREADED_TEXT_MIN_BYTES);
    for (const [file, inWorker] of [
      [big, true],
      [small, false],
    ] as const) {
      const fifo = join(tmp, inWorker ? 'big.fifo' : 'small.fifo');
      mkfifo(fifo);
      const bytes = readFileSync(file);
      const writing = (async () => {
        const w = await open(fifo, 'w');
        for (let off = 0; off < bytes.length; off += 1 << 16) await w.write(bytes.subarray(off, off + (1 << 16)));
        await w.close();
      })();
      const findings: Finding[] = [];
      const r = await replay(fifo, { onFinding: (f) => findings.push(f) });
      await writing;
      const direct = await run(file, false);
      assert.equal(r.parser instanceof ThreadedText, inWorker, file);
      assert.equal(r.parser instanceof TextParser, !inWorker, file);
      assert.equal(r.error, null);
      assert.equal(r.parser.lines, direct.parser.lines);
      assert.equal(r.parser.events, direct.parser.events);
      assert.deepEqual(findings, direct.findings);
      assert.deepEqual([...r.engine.dump()], direct.dump);
    }
  });

  it('text that is no trace, and an empty file: the same errors', async () => {
    const prose = join(tmp, 'prose.txt');
    writeFileSync(prose, 'hello\nthis is not a trace\n'.repeat(1000));
    const empty = join(tmp, 'empty.txt');
    writeFileSync(empty, '');
    for (const f of [prose, empty]) {
      const threaded = await run(f, true);
      assert.ok(threaded.error !== null, f);
      assert.equal(threaded.error, (await run(f, false)).error, f);
    }
  });
});
