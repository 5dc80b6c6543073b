// Where a trace.dat event points (PageReader.recPos, RingRecords, the
// streams): each event's `line` is its record's byte offset — of the record's
// header word, as libtracecmd's tep_record.offset — in the file when the CPU
// data is stored plain, and in the CPU's decompressed data when it is
// compressed (InputFacts.positions says which). Checked byte by byte: the
// bytes at that offset are that record (its event id and pid), for the test
// writer's v6, v7 and v7 zlib files with every record layout (time extends,
// absolute stamps, padding, the long length form, big-endian), read pushed
// and by position; and for a real fixture against `trace-cmd convert
// --compression none` of it.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { inflateSync } from 'node:zlib';
import { Names } from '../../src/base/interner.js';
import { EventKind as K } from '../../src/engine/events.js';
import { onPath } from '../../src/input/source.js';
import { TraceDatParser } from '../../src/input/tracedat.js';
import { scenario } from '../helpers/fake-tracefs.js';
import { fixture } from '../helpers/fixtures.js';
import { prng } from '../helpers/prng.js';
import { type WriterOptions, writeTraceDat } from '../helpers/tracedat-writer.js';

interface Seen {
  kind: number;
  cpu: number;
  pos: number;
  pid: number;
  ts: string;
}

const tmp = mkdtempSync(join(tmpdir(), 'dmadebug-offsets-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The events a trace.dat gives (not the reader's loss marks), and what its positions count. */
async function read(bytes: Uint8Array | null, path?: string): Promise<{ seen: Seen[]; positions: string }> {
  const seen: Seen[] = [];
  const p = new TraceDatParser({
    names: new Names(),
    file: 'x.dat',
    sink: (ev) => {
      if (ev.kind === K.Lost || ev.kind === K.CpuCutShort) return;
      seen.push({ kind: ev.kind, cpu: ev.cpu, pos: ev.line, pid: ev.pid, ts: `${ev.tsSec}.${ev.tsNs}` });
    },
  });
  if (path) await p.readFile(path);
  else {
    // pushed in odd-sized pieces, as a pipe delivers them
    for (let i = 0; i < bytes!.length; i += 7777) p.push(bytes!.subarray(i, i + 7777));
    p.end();
  }
  return { seen, positions: p.facts.positions };
}

/** The record whose header is at `at` in `data`: its event id and pid. */
function recordAt(data: Uint8Array, at: number, le: boolean): { id: number; pid: number } {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const w = dv.getUint32(at, le);
  const typeLen = le ? w & 31 : w >>> 27;
  assert.ok(typeLen <= 28, `a data record at ${at} (type_len ${typeLen})`);
  const payload = at + (typeLen === 0 ? 8 : 4);
  return { id: dv.getUint16(payload, le), pid: dv.getInt32(payload + 4, le) };
}

/** One CPU's ring-buffer data of a compressed v7 file: its chunks at `at`, inflated and joined. */
function inflateCpu(file: Uint8Array, at: number, le: boolean): Uint8Array {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const n = dv.getUint32(at, le);
  const parts: Uint8Array[] = [];
  let p = at + 4;
  for (let i = 0; i < n; i++) {
    const csize = dv.getUint32(p, le);
    parts.push(inflateSync(file.subarray(p + 8, p + 8 + csize)));
    p += 8 + csize;
  }
  return Buffer.concat(parts);
}

describe('record offsets of trace.dat events', () => {
  const records = scenario(400, 2);
  const cases: Array<[string, Partial<WriterOptions>]> = [
    ['v6', { version: 6 }],
    ['v7 plain', { version: 7, compression: 'none' }],
    ['v7 zlib', { version: 7, compression: 'zlib' }],
    ['v7 zlib, 1-page chunks', { version: 7, compression: 'zlib', chunkPages: 1 }],
    [
      'v6, every record layout',
      { version: 6, rng: prng(7), absProb: 0.2, padProb: 0.2, longFormProb: 0.3, lostProb: 0.1 },
    ],
    [
      'v7 zlib, every record layout, 8 KiB sub-buffers',
      { version: 7, rng: prng(8), absProb: 0.2, padProb: 0.2, longFormProb: 0.3, subbufSize: 8192, pageSize: 8192 },
    ],
    ['v6 big-endian, 4-byte longs', { version: 6, bigEndian: true, longSize: 4 }],
  ];
  for (const [name, opts] of cases) {
    it(`${name}: the bytes at each event's offset are its record`, async () => {
      const w = writeTraceDat(records, { cpus: 2, ...opts } as WriterOptions);
      const le = !opts.bigEndian;
      const compressed = opts.version === 7 && opts.compression !== 'none';
      const file = join(tmp, `${name.replace(/\W+/g, '-')}.dat`);
      writeFileSync(file, w.bytes);
      const pushed = await read(w.bytes);
      const byPos = await read(null, file);
      assert.deepEqual(byPos, pushed, 'read by position as pushed');
      assert.equal(pushed.positions, compressed ? 'cpu-data' : 'file');
      const ids = new Map(w.events.map((e) => [e.name, e.id]));
      for (const cpu of [0, 1]) {
        const mine = records.filter((r) => r.cpu === cpu);
        const got = pushed.seen.filter((s) => s.cpu === cpu);
        assert.equal(got.length, mine.length, `cpu ${cpu}: every record an event`);
        const data = compressed ? inflateCpu(w.bytes, w.dataAt[cpu]!, le) : w.bytes;
        let last = 0;
        got.forEach((s, k) => {
          assert.ok(s.pos > last, `cpu ${cpu}: offsets grow (${s.pos} after ${last})`);
          last = s.pos;
          const r = recordAt(data, s.pos, le);
          assert.equal(r.id, ids.get(mine[k]!.event), `cpu ${cpu} record ${k} at ${s.pos}: event id`);
          assert.equal(r.pid, mine[k]!.pid, `cpu ${cpu} record ${k}: pid`);
          assert.equal(r.pid, s.pid);
        });
        // a plain file's CPU data starts where the writer put it; the first record follows the page header
        if (!compressed) assert.ok(got[0]!.pos > w.dataAt[cpu]!, `cpu ${cpu}`);
      }
    });
  }
});

const REAL = fixture('bug-unmap-size-stack', 'trace.dat');

describe('record offsets of a real trace-cmd file', {
  skip: (!existsSync(REAL) && 'no fixture') || (!onPath('trace-cmd') && 'trace-cmd is not installed'),
}, () => {
  it("zstd v7: offsets in each CPU's data are the plain copy's file offsets, less where that CPU's data starts", async () => {
    const plain = join(tmp, 'plain.dat');
    const r = spawnSync('trace-cmd', ['convert', '-i', REAL, '-o', plain, '--compression', 'none'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const z = await read(null, REAL);
    const p = await read(null, plain);
    assert.equal(z.positions, 'cpu-data');
    assert.equal(p.positions, 'file');
    assert.equal(p.seen.length, z.seen.length);
    // event ids of this kernel's dma and kmem formats (the fixture keeps them)
    const ids = new Set<number>();
    const formats = join(REAL, '..', 'formats');
    for (const sys of ['dma', 'kmem']) {
      for (const f of readdirSync(join(formats, sys))) {
        const m = /^ID: (\d+)$/m.exec(readFileSync(join(formats, sys, f), 'latin1'));
        if (m) ids.add(Number(m[1]));
      }
    }
    const bytes = readFileSync(plain);
    const start = new Map<number, number>();
    p.seen.forEach((e, i) => {
      const c = z.seen[i]!;
      assert.deepEqual([c.kind, c.cpu, c.pid, c.ts], [e.kind, e.cpu, e.pid, e.ts], `event ${i}`);
      const base = e.pos - c.pos;
      if (!start.has(e.cpu)) start.set(e.cpu, base);
      assert.equal(base, start.get(e.cpu), `event ${i}: one CPU data start per CPU`);
      const rec = recordAt(bytes, e.pos, true);
      // (stacks and trace_marker lines are ftrace's events, whose formats the fixture does not keep)
      if (e.kind <= K.PageFree) assert.ok(ids.has(rec.id), `event ${i} at ${e.pos}: id ${rec.id} is a dma/kmem event`);
      assert.equal(rec.pid, e.pid, `event ${i}: pid`);
    });
    // trace-cmd puts each CPU's data on a page boundary
    for (const [cpu, base] of start) assert.equal(base % 4096, 0, `cpu ${cpu} data at ${base}`);
  });
});
