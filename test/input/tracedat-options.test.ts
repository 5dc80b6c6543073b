// What a trace.dat says besides its events: options and sections this reader
// does not know are skipped (trace-cmd 3.4 added LAST_BOOT_INFO, BTF and
// modules; later ones will come), both ways of counting a CPU's compressed
// data size read alike (trace-cmd 3.2 started counting the chunk count), and
// the kernel evidence the checks choose their profile by (InputFacts: the
// UNAME option's release and machine, which map events the formats have) is
// there before the first event: read in this thread, in a worker thread, and
// live from tracefs.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { machine, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Names } from '../../src/base/interner.js';
import type { InputFacts } from '../../src/engine/events.js';
import { TraceDatParser } from '../../src/input/tracedat.js';
import { mapEventsOf, parseUname } from '../../src/input/tracedat-format.js';
import { ThreadedTraceDat } from '../../src/input/tracedat-threaded.js';
import { RawLiveSource } from '../../src/input/tracefs-raw.js';
import { replay } from '../../src/pipeline.js';
import { fakeTracefs } from '../helpers/fake-tracefs.js';
import { fixturesOf } from '../helpers/fixtures.js';
import { prng } from '../helpers/prng.js';
import { type WRecord, type WriterOptions, writeTraceDat } from '../helpers/tracedat-writer.js';
import { serialize } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'dmadebug-options-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function records(n: number, cpus: number, seed: number): WRecord[] {
  const r = prng(seed);
  const ts = Array.from({ length: cpus }, () => 5_000_000_000n);
  const out: WRecord[] = [];
  for (let i = 0; i < n; i++) {
    const cpu = Math.floor(r() * cpus);
    ts[cpu] = ts[cpu]! + BigInt(1 + Math.floor(r() * 50_000));
    out.push({
      cpu,
      ts: ts[cpu]!,
      pid: 7,
      event: i % 3 === 0 ? 'mm_page_free' : 'dma_map_page',
      values: {
        device: '0000:00:02.0',
        phys_addr: 0x1000n,
        dma_addr: BigInt(i) << 12n,
        size: 4096,
        dir: 1,
        attrs: 0,
        pfn: i,
        order: 0,
      },
    });
  }
  return out;
}

interface Read {
  lines: string[];
  parser: TraceDatParser;
  /** The facts as they were when the first event arrived. */
  atFirst: InputFacts | null;
}

function viaPush(bytes: Uint8Array, chunk = 777): Read {
  const names = new Names();
  const lines: string[] = [];
  let atFirst: InputFacts | null = null;
  const parser: TraceDatParser = new TraceDatParser({
    names,
    file: 'x.dat',
    sink: (ev) => {
      atFirst ??= { ...parser.facts };
      lines.push(serialize(ev, names));
    },
  });
  for (let i = 0; i < bytes.length; i += chunk) parser.push(bytes.subarray(i, i + chunk));
  parser.end();
  return { lines, parser, atFirst };
}

async function viaFile(path: string, threads?: number): Promise<Read> {
  const names = new Names();
  const lines: string[] = [];
  let atFirst: InputFacts | null = null;
  const parser: TraceDatParser = new TraceDatParser({
    names,
    file: path,
    sink: (ev) => {
      atFirst ??= { ...parser.facts };
      lines.push(serialize(ev, names));
    },
  });
  await parser.readFile(path, threads === undefined ? {} : { threads });
  return { lines, parser, atFirst };
}

function written(bytes: Uint8Array, name: string): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

const latin1 = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

describe('options and sections this reader does not know are skipped', () => {
  const recs = records(1500, 2, 1);
  // trace-cmd 3.4's LAST_BOOT_INFO (24, text), an id nobody has used yet, the largest id, an empty one
  const unknown = [
    { id: 24, data: latin1('oracle:# last boot\nffffffff81000000 _text\n\0') },
    { id: 97, data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) },
    { id: 0xffff, data: new Uint8Array(40).fill(0xee) },
    { id: 26, data: new Uint8Array(0) },
  ];
  const layouts: Array<[string, Partial<WriterOptions>]> = [
    ['v6', { version: 6 }],
    ['v7 zlib', { version: 7, compression: 'zlib' }],
    ['v7 uncompressed, big-endian', { version: 7, compression: 'none', bigEndian: true }],
  ];
  for (const [name, layout] of layouts) {
    test(`unknown option ids (${name})`, async () => {
      const base: WriterOptions = { cpus: 2, version: 6, ...layout };
      const plain = writeTraceDat(recs, base);
      const extra = writeTraceDat(recs, { ...base, extraOptions: unknown });
      assert.ok(Buffer.from(extra.bytes).includes('oracle:# last boot'), 'the options were written');
      const want = viaPush(plain.bytes);
      const got = viaPush(extra.bytes);
      assert.equal(want.lines.length, 1500);
      assert.deepEqual(got.lines, want.lines);
      assert.equal(got.parser.warnings, 0);
      assert.deepEqual(got.parser.notes, []);
      const file = await viaFile(written(extra.bytes, `unknown-${layout.version}.dat`));
      assert.deepEqual(file.lines, want.lines);
    });
  }

  test('unknown sections, even marked compressed in a file without compression (v7)', () => {
    // 23 and 25: trace-cmd 3.4's BTF and modules files; 200: an id nobody has used yet
    const sections = [
      { id: 23, body: new Uint8Array(64).fill(0xbf), flags: 1 },
      { id: 25, body: latin1('virtio_blk 20480 0 - Live 0xffffffffc0000000\n'), flags: 1 },
      { id: 200, body: new Uint8Array(3), flags: 0xffff },
    ];
    for (const compression of ['none', 'zlib'] as const) {
      const base: WriterOptions = { cpus: 2, version: 7, compression };
      const want = viaPush(writeTraceDat(recs, base).bytes);
      const got = viaPush(writeTraceDat(recs, { ...base, extraSections: sections }).bytes);
      assert.deepEqual(got.lines, want.lines, compression);
    }
  });
});

describe('the size of compressed CPU data, counted both ways', () => {
  // three CPUs, the last without data: the last CPU with data ends the section
  const recs = records(4000, 2, 2);
  const base: WriterOptions = { version: 7, compression: 'zlib', cpus: 3, chunkPages: 3 };
  const old = writeTraceDat(recs, base);
  const now = writeTraceDat(recs, { ...base, sizeCountsChunkCount: true });

  test('trace-cmd 3.2+ sizes (counting the chunk count) read like 3.1 ones', async () => {
    const want = viaPush(old.bytes);
    assert.equal(want.lines.length, 4000);
    for (const chunk of [1, 4096, 1 << 20]) assert.deepEqual(viaPush(now.bytes, chunk).lines, want.lines);
    const path = written(now.bytes, 'sizes-3.2.dat');
    assert.deepEqual((await viaFile(path)).lines, want.lines);
    assert.deepEqual((await viaFile(path, 2)).lines, want.lines, 'worker-thread decompression');
  });

  test('a 3.2+ file cut in its data still delivers the events before the cut', () => {
    const at = now.dataAt[1]! + 3000;
    const names = new Names();
    const lines: string[] = [];
    const p = new TraceDatParser({ names, file: 'x.dat', sink: (ev) => lines.push(serialize(ev, names)) });
    assert.throws(() => {
      p.push(now.bytes.subarray(0, at));
      p.end();
    }, /the file ends inside the ring-buffer data/);
    assert.ok(lines.length > 0);
  });
});

describe('kernel evidence (InputFacts) from a trace.dat', () => {
  test('parseUname: trace-cmd writes "sysname nodename release machine"', () => {
    assert.deepEqual(parseUname('Linux (none) 7.3.4 x86_64\0'), { release: '7.3.4', machine: 'x86_64' });
    assert.deepEqual(parseUname('Linux build-host 7.3.4-amd64 x86_64'), {
      release: '7.3.4-amd64',
      machine: 'x86_64',
    });
    // an empty nodename (two spaces), a nodename with a space, bytes after the NUL
    assert.deepEqual(parseUname('Linux  6.12.117 aarch64\0junk'), { release: '6.12.117', machine: 'aarch64' });
    assert.deepEqual(parseUname('Linux my box 6.1.0-rc3+ riscv64'), { release: '6.1.0-rc3+', machine: 'riscv64' });
    assert.deepEqual(parseUname('Linux host 6.12.117'), { release: '6.12.117', machine: null });
    assert.equal(parseUname('no release here at all'), null);
    assert.equal(parseUname(''), null);
  });

  test('mapEventsOf: dma_map_phys (6.18+) over dma_map_page/dma_map_resource', () => {
    const f = (...names: string[]) => names.map((name) => ({ system: 'dma', name }));
    assert.equal(mapEventsOf(f('dma_map_sg', 'dma_map_phys', 'dma_unmap_phys')), 'phys');
    assert.equal(mapEventsOf(f('dma_map_page', 'dma_unmap_page')), 'page');
    assert.equal(mapEventsOf(f('dma_map_resource')), 'page');
    assert.equal(mapEventsOf(f('dma_alloc', 'dma_map_sg')), null);
    assert.equal(mapEventsOf([{ system: 'other', name: 'dma_map_phys' }]), null);
  });

  test('the UNAME option and the formats, set before the first event (v6 and v7)', async () => {
    const recs = records(300, 2, 3);
    const uname = { id: 5, data: latin1('Linux (none) 6.12.117 aarch64\0') };
    for (const version of [6, 7] as const) {
      // the writer's formats have dma_map_phys as well; without it they are a 6.12 kernel's
      const w = writeTraceDat(recs, { version, cpus: 2, extraOptions: [uname], omitFormats: ['dma_map_phys'] });
      const want = {
        kernelRelease: '6.12.117',
        machine: 'aarch64',
        kernelSource: 'trace.dat uname option',
        mapEvents: 'page',
        mapEventsSource: 'trace.dat formats',
      };
      const pushed = viaPush(w.bytes);
      assert.deepEqual(pick(pushed.atFirst), want, `v${version} push`);
      const file = await viaFile(written(w.bytes, `uname-v${version}.dat`));
      assert.deepEqual(pick(file.atFirst), want, `v${version} readFile`);
      // with dma_map_phys among the formats, and no uname
      const phys = viaPush(writeTraceDat(recs, { version, cpus: 2 }).bytes);
      assert.deepEqual(pick(phys.atFirst), {
        kernelRelease: null,
        machine: null,
        kernelSource: null,
        mapEvents: 'phys',
        mapEventsSource: 'trace.dat formats',
      });
    }
  });

  const KERNELS = [
    ['kernel-6.12', '6.12.117', 'page'],
    ['kernel-7.3', '7.3.4', 'phys'],
  ] as const;
  for (const [kernel, rel, map] of KERNELS) {
    const path = join(fixturesOf(kernel), 'bug-clean', 'trace.dat');
    const want = {
      kernelRelease: rel,
      machine: 'x86_64',
      kernelSource: 'trace.dat uname option',
      mapEvents: map,
      mapEventsSource: 'trace.dat formats',
    };
    test(`${kernel}/bug-clean: this thread, a worker thread, and the engine's profile`, async () => {
      const direct = await viaFile(path);
      assert.deepEqual(pick(direct.atFirst), want, 'readFile');
      // the worker thread's facts reach this thread before its first event
      let atFirst: InputFacts | null = null;
      const threaded: ThreadedTraceDat = new ThreadedTraceDat({
        names: new Names(),
        file: path,
        sink: () => {
          atFirst ??= { ...threaded.facts };
        },
      });
      await threaded.readFile(path);
      assert.deepEqual(pick(atFirst), want, 'worker thread');
      assert.equal(threaded.events, direct.parser.events);
      for (const decodeThread of [false, true]) {
        const r = await replay(path, { decodeThread });
        assert.equal(r.error, null);
        const p = r.engine.profile();
        assert.equal(p.kernel, kernel === 'kernel-7.3' ? '7.3' : '6.12');
        assert.equal(p.kernelEvidence, `trace.dat uname option: kernel ${rel}`, `decodeThread ${decodeThread}`);
        assert.equal(p.arch, 'x86_64');
      }
    });
  }
});

describe('kernel evidence from live tracefs (trace_pipe_raw)', () => {
  for (const [kernel, map] of [
    ['kernel-6.12', 'page'],
    ['kernel-7.3', 'phys'],
  ] as const) {
    test(`${kernel} formats: the map events they have, and this machine's kernel`, () => {
      const tracefs = fakeTracefs({ cpus: 1, formatsDir: join(fixturesOf(kernel), 'bug-clean', 'formats') });
      try {
        const src = new RawLiveSource(tracefs, { names: new Names(), sink: () => {} });
        src.stop();
        assert.deepEqual(pick(src.facts), {
          kernelRelease: release(),
          machine: machine(),
          kernelSource: 'this machine (live)',
          mapEvents: map,
          mapEventsSource: 'tracefs formats',
        });
      } finally {
        rmSync(tracefs, { recursive: true, force: true });
      }
    });
  }
});

function pick(f: InputFacts | null): Partial<InputFacts> | null {
  if (!f) return null;
  const { kernelRelease, machine, kernelSource, mapEvents, mapEventsSource } = f;
  return { kernelRelease, machine, kernelSource, mapEvents, mapEventsSource };
}
