// The system-zstd decompressor of big v7 trace.dat files: chunks come back
// exactly as announced or not at all (markers), a bad chunk gets the same
// error as in process, a missing zstd binary falls back, and whole fixtures
// read through it give the same events and the same errors as fzstd.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { InputError } from '../../src/input/errors.js';
import { onPath } from '../../src/input/source.js';
import type { Job } from '../../src/input/tracedat-inflate.js';
import { ZstdProcess } from '../../src/input/zstd-process.js';
import { type DatOutcome, FIXTURES, readDatFile } from './helpers.js';
import { batch, chunkData } from './zstd-helpers.js';

const HAVE_ZSTD = onPath('zstd');
const dir = mkdtempSync(join(tmpdir(), 'dmadebug-zstdproc-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('ZstdProcess', { skip: !HAVE_ZSTD && 'zstd is not on PATH' }, () => {
  test('many batches in flight come back whole, in order, byte for byte', async () => {
    const z = new ZstdProcess();
    try {
      const batches: Array<{ chunks: Uint8Array[]; data: Uint8Array; jobs: Job[] }> = [];
      for (let k = 0; k < 6; k++) {
        const chunks = [0, 1, 2, 3].map((i) => chunkData(k * 10 + i, 1 + ((k * 7919 + i * 4099) % 70000)));
        batches.push({ chunks, ...batch(chunks) });
      }
      const results = await Promise.all(batches.map((b) => z.run(b.data, b.jobs)));
      for (const [k, r] of results.entries()) {
        assert.deepEqual(r.errors, [null, null, null, null]);
        assert.deepEqual(r.outs, batches[k]!.chunks, `batch ${k}`);
      }
    } finally {
      await z.close();
    }
  });

  test('a chunk whose frame yields other than its announced size: that chunk fails, as in process', async () => {
    const z = new ZstdProcess();
    try {
      const chunks = [chunkData(1, 5000), chunkData(2, 6000), chunkData(3, 7000)];
      const b = batch(chunks);
      b.jobs[1]!.usize += 4096; // the header promises more than the frame holds
      const r = await z.run(b.data, b.jobs);
      assert.deepEqual(r.outs[0], chunks[0]);
      assert.equal(r.outs[1], null);
      assert.match(r.errors[1]!, /6000 bytes, expected 10096/);
      assert.deepEqual(r.outs[2], chunks[2]);
      // later batches still decompress (in process now)
      const c = batch([chunkData(4, 3000)]);
      const r2 = await z.run(c.data, c.jobs);
      assert.deepEqual(r2.errors, [null]);
    } finally {
      await z.close();
    }
  });

  test('a broken frame fails only its chunk; the batches before it are intact', async () => {
    const z = new ZstdProcess();
    try {
      const first = [chunkData(5, 40000), chunkData(6, 40000)];
      const a = batch(first);
      const bad = batch([chunkData(7, 9000), chunkData(8, 9000)]);
      bad.data[bad.jobs[1]!.off] = 0x29; // spoil the second frame's magic
      const [ra, rb] = await Promise.all([z.run(a.data, a.jobs), z.run(bad.data, bad.jobs)]);
      assert.deepEqual(ra.outs, first);
      assert.equal(rb.errors[0], null);
      assert.match(rb.errors[1]!, /no zstd frame magic/);
    } finally {
      await z.close();
    }
  });

  test('no zstd binary: every batch decompresses in process', async () => {
    const z = new ZstdProcess('dmadebug-no-such-zstd');
    try {
      const chunks = [chunkData(9, 1234), chunkData(10, 4321)];
      const b = batch(chunks);
      const r = await z.run(b.data, b.jobs);
      assert.deepEqual(r.outs, chunks);
    } finally {
      await z.close();
    }
  });
});

function read(path: string, zstdTool: boolean): Promise<DatOutcome> {
  return readDatFile(path, { zstdTool });
}

describe('trace.dat through system zstd', { skip: !HAVE_ZSTD && 'zstd is not on PATH' }, () => {
  const files = [
    join(FIXTURES, 'real-devices-direct', 'trace-record.dat'),
    join(FIXTURES, 'real-devices-stack', 'trace.dat'),
    join(FIXTURES, 'storm', 'trace.dat'),
  ].filter((f) => existsSync(f));

  for (const f of files) {
    test(`${f.slice(FIXTURES.length + 1)}: the same events as fzstd`, { timeout: 120_000 }, async () => {
      const viaTool = await read(f, true);
      const inProcess = await read(f, false);
      assert.equal(viaTool.error, null);
      assert.equal(inProcess.error, null);
      assert.ok(viaTool.lines.length > 1000, `${viaTool.lines.length} events`);
      assert.equal(viaTool.lines.length, inProcess.lines.length);
      assert.deepEqual(viaTool.lines, inProcess.lines);
    });
  }

  test('leaves no zstd process behind, not even a zombie (after good and damaged files)', async () => {
    const f = join(FIXTURES, 'real-devices-direct', 'trace-record.dat');
    if (existsSync(f)) {
      await read(f, true);
      const b = Buffer.from(readFileSync(f));
      b[b.indexOf(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Math.floor(b.length * 0.4))] = 0x29;
      const path = join(dir, 'direct-damaged.dat');
      writeFileSync(path, b);
      assert.ok((await read(path, true)).error instanceof InputError);
    }
    const ps = execFileSync('ps', ['-o', 'stat=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
    assert.deepEqual(
      ps.split('\n').filter((l) => /\bzstd\b/.test(l)),
      [],
    );
  });

  const storm = join(FIXTURES, 'storm', 'trace.dat');
  test('damaged ring-buffer chunks: the same error and the same events before it', {
    skip: !existsSync(storm),
    timeout: 120_000,
  }, async () => {
    const bytes = readFileSync(storm);
    const magic = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
    const at = bytes.indexOf(magic, Math.floor(bytes.length * 0.4));
    assert.ok(at > 0);
    const cases: Array<[string, (b: Buffer) => void, RegExp]> = [
      ['a broken frame', (b) => (b[at] = 0x29), /corrupt zstd data in CPU \d+'s data/],
      [
        'a chunk announcing more than its frame holds',
        (b) => b.writeUInt32LE(b.readUInt32LE(at - 4) + 4096, at - 4),
        /expected/,
      ],
    ];
    for (const [what, spoil, message] of cases) {
      const b = Buffer.from(bytes);
      spoil(b);
      const path = join(dir, 'storm-damaged.dat');
      writeFileSync(path, b);
      const viaTool = await read(path, true);
      const inProcess = await read(path, false);
      assert.ok(viaTool.error instanceof InputError, `${what}: ${String(viaTool.error)}`);
      assert.match((viaTool.error as Error).message, message, what);
      assert.equal((viaTool.error as Error).message, (inProcess.error as Error).message, what);
      assert.ok(viaTool.lines.length > 1000, `${what}: events before the damage`);
      assert.deepEqual(viaTool.lines, inProcess.lines, what);
    }
  });
});
