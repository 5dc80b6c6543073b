// trace.dat decoded in a worker thread gives exactly what decoding in the
// checking thread gives: the same findings, dump, counters, notes, warnings and
// facts for every fixture of both kernels, and the same error after the same findings when the
// file is damaged.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Finding } from '../../src/engine/findings.js';
import { replay, summarize } from '../../src/pipeline.js';
import { fixturesOf } from '../helpers/fixtures.js';
import { FIXTURES } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'dmadebug-threaded-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function run(path: string, decodeThread: boolean, instance?: string) {
  const findings: Finding[] = [];
  const r = await replay(path, {
    decodeThread,
    onFinding: (f) => findings.push(f),
    ...(instance !== undefined ? { instance } : {}),
  });
  const p = r.parser;
  return {
    findings,
    dump: [...r.engine.dump()],
    summary: summarize([path], r),
    parser: {
      lines: p.lines,
      events: p.events,
      skipped: p.skipped,
      warnings: p.warnings,
      warningList: p.warningList,
      notes: p.notes,
      facts: p.facts,
    },
    error: r.error?.message ?? null,
    kind: r.kind,
  };
}

/** Both kernels' fixture files (7.3's written by trace-cmd 3.4). */
const files = [FIXTURES, fixturesOf('kernel-7.3')].flatMap((root) =>
  existsSync(root)
    ? readdirSync(root)
        .flatMap((d) => ['trace.dat', 'trace-record.dat'].map((f) => join(root, d, f)))
        .filter((f) => existsSync(f))
        .sort()
    : [],
);

describe('trace.dat decoded in a worker thread', { skip: files.length === 0 && 'fixtures not found' }, () => {
  it(`equals decoding in this thread, for all ${files.length} fixture files`, { timeout: 300_000 }, async () => {
    for (const f of files) {
      const name = f.split('/').slice(-3).join('/');
      const threaded = await run(f, true);
      const direct = await run(f, false);
      assert.equal(threaded.kind, 'tracedat', name);
      assert.equal(threaded.error, null, name);
      assert.deepEqual(threaded.parser, direct.parser, `${name}: parser`);
      assert.deepEqual(threaded.findings, direct.findings, `${name}: findings`);
      assert.deepEqual(threaded.dump, direct.dump, `${name}: dump`);
      assert.deepEqual(threaded.summary, direct.summary, `${name}: summary`);
    }
  });

  const record = join(FIXTURES, 'real-devices-direct', 'trace-record.dat');
  it('a chosen instance, and a missing one', { skip: !existsSync(record) && 'no fixture' }, async () => {
    const f = record;
    const a = await run(f, true, 'oracle');
    assert.deepEqual(a.summary, (await run(f, false, 'oracle')).summary);
    const missing = await run(f, true, 'nope');
    assert.match(missing.error ?? '', /no buffer instance "nope"/);
    assert.equal(missing.error, (await run(f, false, 'nope')).error);
  });

  const storm = join(FIXTURES, 'storm', 'trace.dat');
  it('a damaged file: the same error after the same findings', {
    skip: !existsSync(storm) && 'no fixture',
    timeout: 120_000,
  }, async () => {
    const b = Buffer.from(readFileSync(storm));
    b[b.indexOf(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Math.floor(b.length * 0.5))] = 0x29;
    const path = join(tmp, 'storm-damaged.dat');
    writeFileSync(path, b);
    const threaded = await run(path, true);
    const direct = await run(path, false);
    assert.match(threaded.error ?? '', /corrupt zstd data in CPU \d+'s data/);
    assert.equal(threaded.error, direct.error);
    assert.ok(threaded.findings.length > 100, `${threaded.findings.length} findings before the damage`);
    assert.deepEqual(threaded.findings, direct.findings);
    assert.deepEqual(threaded.summary, direct.summary);
  });

  it('a big zstd file damaged in its metadata: the error, and the zstd worker started early is closed', {
    skip: !existsSync(storm) && 'no fixture',
    timeout: 120_000,
  }, () => {
    // the header names zstd (which starts the zstd child's worker), then points past the end for its options
    const b = Buffer.from(readFileSync(storm));
    const z = b.indexOf(Buffer.from('zstd\0', 'latin1'));
    const first = b.indexOf(0, z + 5) + 1;
    b.writeBigUInt64LE(BigInt(b.length + 4096), first);
    const path = join(tmp, 'storm-bad-options.dat');
    writeFileSync(path, b);
    // in this thread (a worker left running would keep the process from exiting)
    const pipeline = new URL('../../src/pipeline.js', import.meta.url).href;
    const script = `const { replay } = await import(${JSON.stringify(pipeline)});
      const r = await replay(${JSON.stringify(path)}, { decodeThread: false });
      process.stdout.write(r.error?.message ?? 'no error');`;
    const main = join(tmp, 'read-bad-options.mjs');
    writeFileSync(main, script); // a file: under -e, node 20 exited with the worker still running
    const r = spawnSync(process.execPath, [main], {
      encoding: 'utf8',
      timeout: 60_000,
      killSignal: 'SIGKILL',
    });
    assert.equal(r.signal, null, 'the process exits by itself');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /storm-bad-options\.dat: byte \d+: the options section at byte \d+ is missing/);
  });

  const clean = join(FIXTURES, 'bug-clean', 'trace.dat');
  it('a file that is not a trace.dat after all (cut in its header)', {
    skip: !existsSync(clean) && 'no fixture',
  }, async () => {
    const f = clean;
    const path = join(tmp, 'cut.dat');
    writeFileSync(path, readFileSync(f).subarray(0, 5000));
    const threaded = await run(path, true);
    assert.ok(threaded.error !== null);
    assert.equal(threaded.error, (await run(path, false)).error);
  });
});
