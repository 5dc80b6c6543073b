// Damaged trace.dat files: truncated at many offsets, wrong magic, unknown
// version, corrupt compressed data, a sub-buffer whose commit runs past it, a
// record of an event with no format, and seeded random byte flips. The reader
// must throw nothing but InputError (naming a byte offset), never hang, and
// deliver the undamaged file's events up to the damage: all of them before it,
// and after damage in one CPU's data, the other CPUs' (assertDamaged).

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Names } from '../../src/base/interner.js';
import { EventKind } from '../../src/engine/events.js';
import { InputError } from '../../src/input/errors.js';
import { TraceDatParser } from '../../src/input/tracedat.js';
import { fixturesOf } from '../helpers/fixtures.js';
import { prng } from '../helpers/prng.js';
import { type WRecord, type WriterOptions, writeTraceDat } from '../helpers/tracedat-writer.js';
import { type DatOutcome, FIXTURES, readDatFile, serialize } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'dmadebug-damage-'));
after(() => rmSync(dir, { recursive: true, force: true }));

type Outcome = DatOutcome;

function push(bytes: Uint8Array, chunk = 65536): Outcome {
  const names = new Names();
  const lines: string[] = [];
  const parser = new TraceDatParser({ names, file: 'x.dat', sink: (ev) => lines.push(serialize(ev, names)) });
  try {
    for (let i = 0; i < bytes.length; i += chunk) parser.push(bytes.subarray(i, i + chunk));
    parser.end();
    return { lines, error: null };
  } catch (e) {
    return { lines, error: e };
  }
}

function readFile(bytes: Uint8Array, name: string, threads?: number): Promise<Outcome> {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return readDatFile(path, threads === undefined ? {} : { threads });
}

/** An InputError that names a byte offset. */
function assertInputError(e: unknown, what: string): void {
  assert.ok(e instanceof InputError, `${what}: expected an InputError, got ${String(e)}`);
  assert.match((e as InputError).where, /^byte \d+$|^$/, what);
}

const CUT_SHORT = `k=${EventKind.CpuCutShort} `;
const cpuOf = (line: string) => / cpu=(\d+) /.exec(line)![1]!;
const unnumbered = (line: string) => line.replace(/ l=\d+ /, ' ');

/**
 * What a damaged file may deliver: the whole file's events in order, except
 * that a CPU whose data is damaged stops (a CpuCutShort event for it, after
 * which none of its events come) while the other CPUs go on; an error outside
 * the CPU data ends everything (a prefix).
 */
function assertDamaged(got: string[], full: string[], what: string): void {
  const cut = new Set<string>();
  let i = 0;
  for (const g of got) {
    if (g.startsWith(CUT_SHORT)) {
      cut.add(cpuOf(g));
      continue;
    }
    const want = unnumbered(g);
    while (i < full.length && unnumbered(full[i]!) !== want) {
      if (!cut.has(cpuOf(full[i]!))) {
        assert.fail(`${what}: event ${unnumbered(full[i]!)} of a CPU not cut short is missing before ${want}`);
      }
      i++;
    }
    if (i === full.length) assert.fail(`${what}: ${want} is not among the whole file's events (or out of order)`);
    assert.ok(!cut.has(cpuOf(g)), `${what}: an event of CPU ${cpuOf(g)} after it was cut short`);
    i++;
  }
}

const events = (lines: string[]) => lines.filter((l) => !l.startsWith(CUT_SHORT));
const full = (bytes: Uint8Array) => push(bytes).lines;

/** 200 offsets across the file, plus the first and last bytes. */
function offsets(len: number, r: () => number): number[] {
  const out = new Set<number>([0, 1, 9, 10, 11, len - 1, len - 2, len - 8]);
  for (let i = 0; i < 150; i++) out.add(Math.floor((i * len) / 150));
  while (out.size < 208) out.add(Math.floor(r() * len));
  return [...out].filter((o) => o >= 0 && o < len).sort((a, b) => a - b);
}

/** Returns how many cuts delivered some but not all events. */
async function truncations(bytes: Uint8Array, name: string, seed: number): Promise<number> {
  const full = push(bytes);
  assert.equal(full.error, null);
  assert.ok(full.lines.length > 0);
  const r = prng(seed);
  let partial = 0;
  let k = 0;
  for (const off of offsets(bytes.length, r)) {
    const cut = bytes.subarray(0, off);
    const out = push(cut, 1 + Math.floor(r() * 100_000));
    const what = `${name} cut at ${off} of ${bytes.length}`;
    if (out.error === null) {
      // nothing the reader needs was cut (only trailing padding): all events
      assert.deepEqual(out.lines, full.lines, what);
    } else {
      assertInputError(out.error, what);
      assertDamaged(out.lines, full.lines, what);
      const n = events(out.lines).length;
      if (n > 0 && n < full.lines.length) partial++;
    }
    if (k++ % 5 === 0) {
      // every other one with worker-thread decompression
      const f = await readFile(cut, 'cut.dat', k % 2 === 0 ? 2 : undefined);
      if (f.error !== null) {
        assertInputError(f.error, `readFile: ${what}`);
        assertDamaged(f.lines, full.lines, `readFile: ${what}`);
      } else {
        assert.deepEqual(f.lines, full.lines, `readFile: ${what}`);
      }
    }
  }
  return partial;
}

function records(n: number, cpus: number, seed: number): WRecord[] {
  const r = prng(seed);
  const ts = Array.from({ length: cpus }, () => 5_000_000_000n);
  const out: WRecord[] = [];
  for (let i = 0; i < n; i++) {
    const cpu = Math.floor(r() * cpus);
    ts[cpu] = ts[cpu]! + BigInt(1 + Math.floor(r() * 50_000));
    if (r() < 0.5) {
      out.push({ cpu, ts: ts[cpu]!, pid: 1, event: 'mm_page_free', values: { pfn: Math.floor(r() * 1e6), order: 0 } });
    } else {
      out.push({
        cpu,
        ts: ts[cpu]!,
        pid: 7,
        event: 'dma_map_page',
        values: {
          device: '0000:00:02.0',
          phys_addr: 0x1000n,
          dma_addr: BigInt(i) << 12n,
          size: 4096,
          dir: 1,
          attrs: 0,
        },
      });
    }
  }
  return out;
}

const BASE: WriterOptions = { version: 6, cpus: 3, cmdlines: new Map([[7, 'insmod']]) };

describe('truncated trace.dat files', () => {
  const small = join(FIXTURES, 'bug-clean', 'trace.dat');
  test('a fixture (v7, zstd) cut at 200+ offsets', { skip: !existsSync(small), timeout: 600_000 }, async () => {
    await truncations(readFileSync(small), 'bug-clean/trace.dat', 1);
  });

  test('a v6 file cut at 200+ offsets: events before the cut are delivered', { timeout: 600_000 }, async () => {
    const w = writeTraceDat(records(4000, 3, 2), BASE);
    const partial = await truncations(w.bytes, 'v6', 2);
    assert.ok(partial > 20, `only ${partial} cuts delivered a proper prefix`);
    // a cut in the middle of the last CPU's data still delivers the events the merge could order
    const cut = push(w.bytes.subarray(0, w.dataAt[2]! + 4096 * 3 + 100));
    assertInputError(cut.error, 'mid-data cut');
    assert.ok(cut.lines.length > 0, 'some events before the cut');
    assert.match((cut.error as Error).message, /ends inside a sub-buffer of CPU 2/);
    // a cut in CPU 0's data, before CPUs 1 and 2 begin: CPU 0's events up to it still come,
    // and the error says whose data the end of the file cuts
    const early = w.dataAt[0]! + 4096 * 3 + 100;
    const first = push(w.bytes.subarray(0, early));
    assertInputError(first.error, 'cut in CPU 0');
    assert.equal(
      (first.error as Error).message,
      `x.dat: byte ${early}: the file ends before a sub-buffer of CPU 1 (4096 bytes at byte ${w.dataAt[1]}), inside CPU 0's data (${w.dataAt[1]! - w.dataAt[0]!} bytes at byte ${w.dataAt[0]})`,
    );
    const got = events(first.lines);
    assert.ok(got.length > 0 && got.every((l) => cpuOf(l) === '0'), 'CPU 0 events only');
    assert.deepEqual(first.lines.filter((l) => l.startsWith(CUT_SHORT)).map(cpuOf), ['1', '2', '0']);
    assertDamaged(first.lines, full(w.bytes), 'cut in CPU 0');
  });

  test('a v7 zlib file cut at 200+ offsets', { timeout: 600_000 }, async () => {
    const w = writeTraceDat(records(3000, 2, 3), { ...BASE, version: 7, compression: 'zlib', cpus: 2 });
    await truncations(w.bytes, 'v7 zlib', 3);
  });

  test('a v7 zlib file with trace-cmd 3.2+ sizes (counting the chunk count) cut at 200+ offsets', {
    timeout: 600_000,
  }, async () => {
    const opts: WriterOptions = { ...BASE, version: 7, compression: 'zlib', cpus: 2, sizeCountsChunkCount: true };
    await truncations(writeTraceDat(records(3000, 2, 14), opts).bytes, 'v7 zlib 3.2+', 14);
  });
});

describe('v7 files cut before their closing options (where trace-cmd writes the CPU layout)', () => {
  const w = writeTraceDat(records(3000, 2, 12), { ...BASE, version: 7, compression: 'zlib', cpus: 2, chunkPages: 2 });
  const whole = full(w.bytes);
  const noted = (bytes: Uint8Array) => {
    const names = new Names();
    const lines: string[] = [];
    const p = new TraceDatParser({ names, file: 'x.dat', sink: (ev) => lines.push(serialize(ev, names)) });
    let error: unknown = null;
    try {
      p.push(bytes);
      p.end();
    } catch (e) {
      error = e;
    }
    return { lines, error, notes: p.notes };
  };

  test("a cut in CPU 1's data: CPU 0's events and CPU 1's up to the cut, found by walking the data", async () => {
    const at = w.dataAt[1]! + Math.floor((w.bytes.length - w.dataAt[1]!) / 2);
    const out = noted(w.bytes.subarray(0, at));
    assertInputError(out.error, 'cut in CPU 1');
    assert.match(
      (out.error as Error).message,
      new RegExp(
        `byte ${at}: the file ends inside the ring-buffer data \\(\\d+ bytes at byte \\d+\\), before the options`,
      ),
    );
    assert.deepEqual(out.notes, [
      "the file ends before the options that place each CPU's data; found the data of 2 CPUs by walking it (numbered in file order)",
    ]);
    assertDamaged(out.lines, whole, 'cut in CPU 1');
    const got = events(out.lines);
    const cpu0 = whole.filter((l) => cpuOf(l) === '0').length;
    assert.equal(got.filter((l) => cpuOf(l) === '0').length, cpu0, "all of CPU 0's events");
    assert.ok(
      got.some((l) => cpuOf(l) === '1'),
      "some of CPU 1's",
    );
    // through readFile and its worker pool too
    const f = await readFile(w.bytes.subarray(0, at), 'v7-cut.dat', 2);
    assertInputError(f.error, 'readFile');
    assert.deepEqual(f.lines, out.lines);
  });

  test("a cut in CPU 0's data: CPU 1 (known from CPUCOUNT) is cut short from the start", () => {
    const at = w.dataAt[0]! + Math.floor((w.dataAt[1]! - w.dataAt[0]!) / 2);
    const out = noted(w.bytes.subarray(0, at));
    assertInputError(out.error, 'cut in CPU 0');
    assertDamaged(out.lines, whole, 'cut in CPU 0');
    assert.ok(out.lines[0]!.startsWith(`${CUT_SHORT}`) && cpuOf(out.lines[0]!) === '1', out.lines[0]);
    assert.ok(events(out.lines).length > 0);
  });

  test('an uncompressed v7 file cut in its data: no events (nothing places the CPUs), a note and the error', () => {
    const u = writeTraceDat(records(2000, 2, 13), { ...BASE, version: 7, compression: 'none', cpus: 2 });
    const out = noted(u.bytes.subarray(0, u.dataAt[1]! + 100));
    assertInputError(out.error, 'uncompressed');
    assert.deepEqual(events(out.lines), []);
    assert.match(out.notes.join('\n'), /uncompressed data: none can be read/);
  });

  const rec = join(FIXTURES, 'real-devices-pipe-lost', 'trace-record.dat');
  test('trace-cmd record -B (an empty top buffer, then an instance) cut in the instance data', {
    skip: !existsSync(rec),
  }, async () => {
    const b = readFileSync(rec);
    const cut = b.subarray(0, b.length - 40_000);
    const out = noted(cut);
    assertInputError(out.error, 'record cut');
    assert.match((out.error as Error).message, /the file ends inside the ring-buffer data/);
    assert.match(out.notes.join('\n'), /reading buffer instance "\(unnamed: the file ends before its name\)"/);
    const whole = await readDatFile(rec, {});
    assertDamaged(out.lines, whole.lines, 'record cut');
    assert.ok(events(out.lines).length > 0.8 * whole.lines.length);
    // named by --instance, the same events
    const names = new Names();
    const lines: string[] = [];
    const p = new TraceDatParser({
      names,
      file: 'x.dat',
      instance: 'oracle',
      sink: (ev) => lines.push(serialize(ev, names)),
    });
    assert.throws(() => {
      p.push(cut);
      p.end();
    }, InputError);
    assert.deepEqual(lines, out.lines);
    assert.match(p.notes.join('\n'), /taken to be buffer "oracle"/);
  });

  for (const fx of [
    join(FIXTURES, 'bug-unmap-size', 'trace.dat'),
    join(fixturesOf('kernel-7.3'), 'bug-unmap-size', 'trace.dat'),
  ]) {
    const kernel = fx.includes('kernel-7.3') ? '7.3, trace-cmd 3.4' : '6.12, trace-cmd 3.1';
    test(`a fixture (v7 zstd, ${kernel}) cut in CPU 1: the findings of CPU 0 and of CPU 1 up to the cut`, {
      skip: !existsSync(fx),
    }, () => {
      const b = readFileSync(fx);
      const out = noted(b.subarray(0, b.length - 700));
      assertInputError(out.error, 'fixture');
      assertDamaged(out.lines, full(b), 'fixture');
      const got = events(out.lines);
      const all = full(b);
      assert.equal(got.filter((l) => cpuOf(l) === '0').length, all.filter((l) => cpuOf(l) === '0').length);
      assert.ok(got.some((l) => cpuOf(l) === '1'));
    });
  }
});

describe('damaged trace.dat files', () => {
  const good = writeTraceDat(records(500, 2, 4), { ...BASE, cpus: 2 }).bytes;

  test('wrong magic', () => {
    const b = good.slice();
    b[3] = 0x54;
    const out = push(b);
    assertInputError(out.error, 'magic');
    assert.match((out.error as Error).message, /byte 3: not a trace\.dat file/);
    assertInputError(push(new Uint8Array([1, 2, 3])).error, 'three bytes');
    assertInputError(push(new Uint8Array(0)).error, 'empty');
  });

  test('unknown version', () => {
    const b = good.slice();
    b[10] = 0x38; // "8"
    const out = push(b);
    assertInputError(out.error, 'version');
    assert.match((out.error as Error).message, /unsupported trace\.dat version "8"/);
    // bytes from the file are shown escaped, never raw
    const ctl = good.slice();
    ctl[11] = 0x01;
    ctl[12] = 0x08;
    const bad = push(ctl);
    assertInputError(bad.error, 'control bytes');
    assert.match((bad.error as Error).message, /unsupported trace\.dat version "6\\x01\\x08[^"]*"/);
    assert.doesNotMatch((bad.error as Error).message, /[\x00-\x1f]/);
  });

  test('corrupt compressed section (fixture, zstd)', {
    skip: !existsSync(join(FIXTURES, 'bug-clean', 'trace.dat')),
  }, () => {
    const b = new Uint8Array(readFileSync(join(FIXTURES, 'bug-clean', 'trace.dat')));
    // zstd frames carry no checksum here, so flipped literals may go unnoticed; a broken frame
    // header cannot: spoil the magic of the third compressed section (the event formats)
    const magic = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
    let at = -1;
    for (let k = 0; k < 3; k++) at = Buffer.from(b.buffer).indexOf(magic, at + 1);
    b[at] = 0x29;
    const out = push(b);
    assertInputError(out.error, 'zstd');
    assert.equal((out.error as InputError).where, `byte ${at - 8}`);
    assert.match((out.error as Error).message, /corrupt zstd data in the event formats section/);
  });

  test('corrupt compressed ring-buffer data (zlib): events before it are delivered', async () => {
    const w = writeTraceDat(records(3000, 1, 5), { ...BASE, version: 7, compression: 'zlib', cpus: 1, chunkPages: 2 });
    const full = push(w.bytes);
    assert.equal(full.error, null);
    // find the data section's second chunk: flip bytes in the middle of the file's data
    const b = w.bytes.slice();
    const mid = Math.floor(b.length * 0.6);
    for (let i = mid; i < mid + 16; i++) b[i] = b[i]! ^ 0xff;
    const out = push(b);
    assertInputError(out.error, 'zlib data');
    assertDamaged(out.lines, full.lines, 'zlib data');
    // the same through worker threads
    const viaPool = await readFile(b, 'zlib-bad.dat', 2);
    assertInputError(viaPool.error, 'zlib data (threads)');
    assert.deepEqual(viaPool.lines, out.lines);
  });

  test('a sub-buffer whose commit runs past it', () => {
    const w = writeTraceDat(records(2000, 2, 6), { ...BASE, cpus: 2 });
    const full = push(w.bytes);
    const b = w.bytes.slice();
    // CPU 1's third sub-buffer: commit (little-endian long at +8) = 2^27 - 1
    const at = w.dataAt[1]! + 4096 * 2 + 8;
    new DataView(b.buffer).setUint32(at, (1 << 27) - 1, true);
    const out = push(b);
    assertInputError(out.error, 'commit');
    assert.match((out.error as Error).message, new RegExp(`byte ${at - 8}: CPU 1: the sub-buffer commits \\d+ bytes`));
    assertDamaged(out.lines, full.lines, 'commit');
    assert.ok(out.lines.length > 0);
  });

  test('a record of an event whose format is missing', () => {
    const w = writeTraceDat(records(300, 1, 7), { ...BASE, cpus: 1, omitFormats: ['dma_map_page'] });
    const out = push(w.bytes);
    assertInputError(out.error, 'format');
    assert.match((out.error as Error).message, /event id \d+, which has no format/);
    // the mm_page_free events before the first dma_map_page were delivered
    assert.ok(events(out.lines).every((l) => l.startsWith('k=19 ')));
  });

  test('seeded random byte flips: only InputErrors, never a hang', { timeout: 600_000 }, async () => {
    const files = [
      writeTraceDat(records(400, 2, 8), { ...BASE, cpus: 2 }).bytes,
      writeTraceDat(records(400, 2, 9), { ...BASE, version: 7, compression: 'zlib', cpus: 2 }).bytes,
      writeTraceDat(records(400, 2, 10), { ...BASE, version: 7, compression: 'none', cpus: 2, bigEndian: true }).bytes,
    ];
    const r = prng(11);
    for (let round = 0; round < 300; round++) {
      const src = files[round % files.length]!;
      const b = src.slice();
      const flips = 1 + Math.floor(r() * 8);
      for (let i = 0; i < flips; i++) {
        const at = Math.floor(r() * b.length);
        b[at] = Math.floor(r() * 256);
      }
      const out = push(b, 1 + Math.floor(r() * 9000));
      if (out.error !== null) assertInputError(out.error, `round ${round}`);
    }
  });
});

describe('a loss at the very end of a CPU', () => {
  test("a CPU's data ending in a sub-buffer with only the missing-events bit: its notice still comes", () => {
    const rec = (cpu: number, ts: number): WRecord => ({
      cpu,
      ts: BigInt(ts),
      pid: 7,
      event: 'dma_map_page',
      values: { device: '0000:00:02.0', phys_addr: BigInt(ts), dma_addr: BigInt(ts), size: 64, dir: 1, attrs: 0 },
    });
    const w = writeTraceDat([rec(0, 1000), rec(1, 2000), rec(0, 3000)], { version: 6, cpus: 2 });
    // CPU 1's data is the file's last: one more sub-buffer there, empty but for the bit
    const b = Buffer.from(w.bytes);
    const sizeAt = b.indexOf(Buffer.from('flyrecord\0')) + 10 + 16 + 8; // CPU 1's size in the table
    assert.equal(w.dataAt[1]! + Number(b.readBigUInt64LE(sizeAt)), b.length);
    b.writeBigUInt64LE(b.readBigUInt64LE(sizeAt) + 4096n, sizeAt);
    const page = Buffer.alloc(4096);
    page.writeBigUInt64LE(2500n, 0);
    page.writeBigUInt64LE(0x80000000n, 8); // commit 0, missing events (uncounted)
    for (const { lines, error } of [push(Buffer.concat([b, page])), push(Buffer.concat([b, page]), 4096)]) {
      assert.equal(error, null);
      // CPU 0's map, CPU 1's map, CPU 1's notice (before CPU 0's later map), CPU 0's map
      assert.deepEqual(
        lines.map((l) => l.split(' ')[0]),
        [`k=${EventKind.MapPage}`, `k=${EventKind.MapPage}`, `k=${EventKind.Lost}`, `k=${EventKind.MapPage}`],
        lines.join('\n'),
      );
      assert.match(lines[2]!, / cpu=1 /);
    }
  });
});
