// Owns the benchmark's synthetic trace.dat: a streaming generator of trace-cmd files (version 6, or
// version 7 uncompressed or zlib-compressed) holding millions of dma:* and kmem:mm_page_free records,
// with the real 6.12 format files of the fixtures (formats/dma, formats/kmem, header_page,
// header_event), so that Debian's `trace-cmd report` decodes and prints them.
//
//   node dist/bench/gen-tracedat.js --events 5M [--live 4096] [--v 6|7] [--zlib] [--cpus 2] -o FILE
//
// It is the test writer (test/helpers/tracedat-writer.ts) rebuilt for size: that writer keeps every
// record as an object and encodes with BigInts, which is fine for tests and hopeless for 5M events;
// its container layout (v6 fixed layout; v7 sections, options, BUFFER option after the data, chunked
// zlib) is followed here, with its file header, metadata and v7 section writers, while its synthetic
// event formats are replaced by the fixtures' real ones.
// Records are encoded straight into per-CPU ring-buffer pages (4 KiB, 8-byte commit), which go to
// one temporary file per CPU (compressed chunk by chunk for --zlib); the final file is the metadata
// followed by those files.
//
// The DMA-API usage is workload.ts's, shared with gen-trace.ts (map/unmap page and sg, syncs in the
// mapped direction, coherent alloc/free, 30% mm_page_free of pages no live mapping owns, 8 devices,
// direct and behind an IOMMU), so a correct checker reports nothing; this file owns its encoding as
// ring-buffer records. Time stamps rise globally (200–1200 ns apart), each record goes to a random
// CPU, so per-CPU order and the merge agree.
//
// Debian's trace-cmd 3.1 reads zstd but not zlib, so the --zlib file is for dmadebug only; a
// trace-cmd-readable compressed file is made with `trace-cmd convert --compression zstd` (bench.ts).

import {
  closeSync,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { deflateSync } from 'node:zlib';
import {
  Bytes,
  StringTable,
  type TraceMeta,
  writeFileHeader,
  writeMetaV6,
  writeMetaV7,
  writeSection,
} from '../test/helpers/tracedat-writer.js';
import { cliArgs, countsTable, parseSize } from './gen-trace.js';
import { CONTEXTS, DEVICES, EVENT_NAMES, Op, PHYS_BASE, SLOT, Workload } from './workload.js';

export const FORMATS_DIR = '/work/shared/fixtures/kernel-6.12/bug-clean/formats';

export interface DatGenOptions {
  /** Records to write. */
  events: number;
  /** Steady-state number of live mappings. */
  live: number;
  out: string;
  version: 6 | 7;
  /** v7 only: zlib-compress the data in chunks of CHUNK_PAGES pages, and the metadata sections. */
  zlib?: boolean;
  cpus?: number;
  seed?: number;
  formatsDir?: string;
}

export interface DatGenStats {
  bytes: number;
  events: number;
  liveAtEnd: number;
  liveEntriesAtEnd: number;
  /** Ring-buffer pages written (all CPUs). */
  pages: number;
  /**
   * Where each CPU's data lies in the file (offset and size, as the file's own tables say): without
   * zlib, the CPU's ring-buffer pages back to back, as trace_pipe_raw delivers them (bench-live.ts
   * feeds them so).
   */
  cpuData: Array<{ offset: number; size: number }>;
  seconds: number;
  counts: Record<string, number>;
}

const PAGE = 4096;
const PAGE_HDR = 16; // u64 timestamp + 8-byte commit
const CHUNK_PAGES = 8;
const VIRT_BASE = 0xffff_8880_0000_0000n;
const GFP_KERNEL = 0xcc0;
const FLUSH_AT = 8 << 20;

/** The pids' comms as saved_cmdlines lists them (and the trace.dat's command lines section). */
export const CMDLINES = (() => {
  const comms: Record<number, string> = {};
  for (const [comm, pid] of CONTEXTS) if (pid !== 0) comms[pid] = comm;
  // (integer keys: in ascending order)
  return Object.keys(comms)
    .map((p) => `${p} ${comms[Number(p)]}\n`)
    .join('');
})();

type EventName = (typeof EVENT_NAMES)[number];
/** Per Op: dynamic bytes per sg segment (u64 addresses and u32 lengths), 0 for the others. */
const SG_BYTES = EVENT_NAMES.map((_, op) =>
  op === Op.mapSg ? 20 : op === Op.unmapSg ? 8 : op === Op.syncSgCpu || op === Op.syncSgDev ? 12 : 0,
);

// ---------------------------------------------------------------- format files

interface Fmt {
  system: string;
  name: string;
  id: number;
  text: string;
  /** Size of the fixed part (end of the last field). */
  fixed: number;
  off: Record<string, number>;
}

function readFormats(dir: string): {
  fmts: Map<string, Fmt>;
  systems: Map<string, Fmt[]>;
  headerPage: string;
  headerEvent: string;
} {
  const fmts = new Map<string, Fmt>();
  const systems = new Map<string, Fmt[]>();
  for (const system of ['dma', 'kmem']) {
    const list: Fmt[] = [];
    for (const f of readdirSync(path.join(dir, system)).sort()) {
      if (!f.endsWith('.format')) continue;
      const text = readFileSync(path.join(dir, system, f), 'latin1');
      const name = /^name: (\S+)/m.exec(text)?.[1];
      const id = Number(/^ID: (\d+)/m.exec(text)?.[1]);
      if (!name || !Number.isInteger(id)) throw new Error(`gen-tracedat: bad format file ${f}`);
      const off: Record<string, number> = {};
      let fixed = 0;
      for (const m of text.matchAll(/field:(.*?);\toffset:(\d+);\tsize:(\d+);/g)) {
        const decl = m[1]!.replace(/\[\d*\]$/, '');
        const fname = decl.slice(decl.lastIndexOf(' ') + 1);
        off[fname] = Number(m[2]);
        fixed = Math.max(fixed, Number(m[2]) + Number(m[3]));
      }
      const fmt = { system, name, id, text, fixed, off };
      fmts.set(name, fmt);
      list.push(fmt);
    }
    systems.set(system, list);
  }
  for (const n of EVENT_NAMES) if (!fmts.has(n)) throw new Error(`gen-tracedat: no format for ${n} in ${dir}`);
  return {
    fmts,
    systems,
    headerPage: readFileSync(path.join(dir, 'header_page'), 'latin1'),
    headerEvent: readFileSync(path.join(dir, 'header_event'), 'latin1'),
  };
}

// ---------------------------------------------------------------- per-CPU page streams

/** One CPU's ring-buffer pages, appended to a temporary file (raw, or as zlib chunks). */
class CpuStream {
  readonly page = new Uint8Array(PAGE);
  readonly dv = new DataView(this.page.buffer);
  used = PAGE_HDR;
  cur = 0; // time of the last record on this page (ns)
  pages = 0;
  chunks = 0;
  private readonly buf = Buffer.allocUnsafe(FLUSH_AT + PAGE * CHUNK_PAGES);
  private pos = 0;
  private readonly fd: number;
  private readonly chunk: Buffer | null;
  private chunkPos = 0;

  constructor(
    readonly file: string,
    zlib: boolean,
  ) {
    this.fd = openSync(file, 'w');
    this.chunk = zlib ? Buffer.allocUnsafe(PAGE * CHUNK_PAGES) : null;
  }

  /** Room for a record of `bytes` on the current page; starts a new page (at time ts) if needed. */
  reserve(bytes: number, ts: number): void {
    if (this.used + bytes > PAGE) this.finishPage();
    if (this.used === PAGE_HDR) {
      this.dv.setUint32(0, ts % 0x100000000, true);
      this.dv.setUint32(4, Math.floor(ts / 0x100000000), true);
      this.cur = ts;
    }
  }

  finishPage(): void {
    if (this.used === PAGE_HDR) return;
    this.dv.setUint32(8, this.used - PAGE_HDR, true);
    this.dv.setUint32(12, 0, true);
    this.page.fill(0, this.used);
    this.pages++;
    if (this.chunk) {
      this.chunk.set(this.page, this.chunkPos);
      this.chunkPos += PAGE;
      if (this.chunkPos === this.chunk.length) this.flushChunk();
    } else {
      this.buf.set(this.page, this.pos);
      this.pos += PAGE;
      if (this.pos >= FLUSH_AT) this.flush();
    }
    this.used = PAGE_HDR;
  }

  private flushChunk(): void {
    if (!this.chunk || this.chunkPos === 0) return;
    const z = deflateSync(this.chunk.subarray(0, this.chunkPos));
    this.buf.writeUInt32LE(z.length, this.pos);
    this.buf.writeUInt32LE(this.chunkPos, this.pos + 4);
    this.pos += 8;
    if (this.pos + z.length > this.buf.length) this.flush();
    if (z.length > this.buf.length) throw new Error('gen-tracedat: chunk larger than the buffer');
    this.buf.set(z, this.pos);
    this.pos += z.length;
    this.chunks++;
    this.chunkPos = 0;
    if (this.pos >= FLUSH_AT) this.flush();
  }

  private flush(): void {
    let off = 0;
    while (off < this.pos) off += writeSync(this.fd, this.buf, off, this.pos - off);
    this.pos = 0;
  }

  close(): number {
    this.finishPage();
    this.flushChunk();
    this.flush();
    const size = fstatSync(this.fd).size;
    closeSync(this.fd);
    return size;
  }
}

// ---------------------------------------------------------------- the generator

export function generateTraceDat(opts: DatGenOptions): DatGenStats {
  const t0 = process.hrtime.bigint();
  const cpus = opts.cpus ?? 2;
  const zlib = opts.version === 7 && opts.zlib === true;
  const { fmts, systems, headerPage, headerEvent } = readFormats(opts.formatsDir ?? FORMATS_DIR);
  /** Each Op's format. */
  const fmtOf = EVENT_NAMES.map((n: EventName): Fmt => fmts.get(n)!);

  const T = Math.max(1, opts.live);
  const nSlots = Math.max(T * 2 + 64, 1024);
  const iovaTop = 2 ** 44;
  if (PHYS_BASE + nSlots * SLOT > iovaTop / 2) throw new Error('gen-tracedat: too many live mappings');
  const wl = new Workload({
    live: T,
    slots: nSlots,
    iovaTop,
    syncCtxFirst: true,
    ...(opts.seed === undefined ? {} : { seed: opts.seed }),
  });
  const c = wl.call;
  const devNames = DEVICES.map(([n]) => Buffer.from(`${n}\0`, 'latin1'));

  const tmpBase = `${opts.out}.tmp-${process.pid}`;
  const streams: CpuStream[] = [];
  for (let i = 0; i < cpus; i++) streams.push(new CpuStream(`${tmpBase}.cpu${i}`, zlib));

  // The record being built: its CPU stream and where its payload starts on the page.
  let ts = 500_000_000 + wl.below(100_000_000);
  let st: CpuStream = streams[0]!;
  let rec = 0; // payload start on st.page
  let dyn = 0; // bytes of the payload written so far (fixed part + dynamic data)

  /** Start a record of event f with `dynBytes` of dynamic data; returns nothing, sets st/rec/dyn. */
  const begin = (f: Fmt, dynBytes: number, pid: number): void => {
    ts += 200 + wl.below(1000);
    st = streams[cpus === 1 ? 0 : wl.below(cpus)]!;
    const payload = (f.fixed + dynBytes + 3) & ~3;
    const small = payload <= 28 * 4;
    const recBytes = (small ? 4 : 8) + payload;
    st.reserve(recBytes + 8, ts); // + room for a time extend
    let delta = ts - st.cur;
    const dv = st.dv;
    let p = st.used;
    if (delta >= 2 ** 27) {
      dv.setUint32(p, ((delta % 2 ** 27) * 32 + 30) >>> 0, true);
      dv.setUint32(p + 4, Math.floor(delta / 2 ** 27), true);
      p += 8;
      delta = 0;
    }
    st.cur = ts;
    if (small) {
      dv.setUint32(p, (delta * 32 + payload / 4) >>> 0, true);
      p += 4;
    } else {
      dv.setUint32(p, (delta * 32) >>> 0, true);
      dv.setUint32(p + 4, payload + 4, true);
      p += 8;
    }
    st.page.fill(0, p, p + payload);
    dv.setUint16(p, f.id, true);
    dv.setInt32(p + 4, pid, true);
    rec = p;
    dyn = f.fixed;
    st.used = p + payload;
  };
  const u32 = (off: number, v: number): void => st.dv.setUint32(rec + off, v >>> 0, true);
  const u64 = (off: number, v: number): void => {
    st.dv.setUint32(rec + off, v % 0x100000000, true);
    st.dv.setUint32(rec + off + 4, Math.floor(v / 0x100000000), true);
  };
  const u64big = (off: number, v: bigint): void => st.dv.setBigUint64(rec + off, v, true);
  /** A __data_loc field: `len` bytes at the next dynamic position; returns their page offset. */
  const loc = (off: number, len: number): number => {
    st.dv.setUint32(rec + off, ((len << 16) | dyn) >>> 0, true);
    const at = rec + dyn;
    dyn += len;
    return at;
  };
  const device = (f: Fmt): void => {
    const name = devNames[c.dev]!;
    st.page.set(name, loc(f.off.device!, name.length));
  };
  /** The call's sg segment addresses from `base`, as a u64 array. */
  const segAddrs = (off: number, base: number): void => {
    let at = loc(off, c.n * 8);
    for (let j = 0; j < c.n; j++, at += 8) {
      const v = wl.segAddr(base, j);
      st.dv.setUint32(at, v % 0x100000000, true);
      st.dv.setUint32(at + 4, Math.floor(v / 0x100000000), true);
    }
  };
  /** The call's sg segment lengths, as a u32 array. */
  const segSizes = (off: number): void => {
    let at = loc(off, c.n * 4);
    for (let j = 0; j < c.n; j++, at += 4) st.dv.setUint32(at, wl.segSize(j), true);
  };

  /** The record of the call the workload just decided. */
  const record = (): void => {
    const op = c.op;
    const f = fmtOf[op]!;
    const pid = CONTEXTS[c.ctx]![1];
    if (op === Op.pageFree || op === Op.pageFreeBatched) {
      begin(f, 0, pid);
      u64(f.off.pfn!, c.pfn);
      if (op === Op.pageFree) u32(f.off.order!, c.order);
      return;
    }
    begin(f, devNames[c.dev]!.length + c.n * SG_BYTES[op]!, pid);
    device(f);
    if (op === Op.unmapSg) segAddrs(f.off.addrs!, c.phys);
    else if (SG_BYTES[op] !== 0) {
      if (op === Op.mapSg) {
        u32(f.off.full_nents!, c.n);
        u32(f.off.full_ents!, c.n);
        segAddrs(f.off.phys_addrs!, c.phys);
      }
      segAddrs(f.off.dma_addrs!, c.dma);
      segSizes(f.off.lengths!);
    } else {
      // map/unmap page, single syncs, alloc/free
      u64(op === Op.unmapPage ? f.off.addr! : f.off.dma_addr!, c.dma);
      u64(f.off.size!, c.size);
      if (op === Op.mapPage) u64(f.off.phys_addr!, c.phys);
      else if (op === Op.alloc || op === Op.free) {
        u64big(f.off.virt_addr!, VIRT_BASE + BigInt(c.phys));
        if (op === Op.alloc) u32(f.off.flags!, GFP_KERNEL);
      }
    }
    u32(f.off.dir!, c.dir);
  };

  const out = opts.out;
  const tmp = `${tmpBase}.dat`;
  try {
    for (let i = 0; i < opts.events; i++) {
      wl.step();
      record();
    }
    const pages = streams.reduce((a, s) => a + s.pages + (s.used > PAGE_HDR ? 1 : 0), 0);
    const sizes = streams.map((s) => s.close());
    const chunks = streams.map((s) => s.chunks);
    const { bytes, dataOff } = assemble(tmp, {
      version: opts.version,
      zlib,
      cpus,
      sizes,
      chunks,
      files: streams.map((s) => s.file),
      systems,
      headerPage,
      headerEvent,
    });
    renameSync(tmp, out);
    return {
      bytes,
      events: opts.events,
      liveAtEnd: wl.nLive,
      liveEntriesAtEnd: wl.liveEntries,
      pages,
      cpuData: dataOff.map((offset, c) => ({ offset, size: sizes[c]! })),
      seconds: Number(process.hrtime.bigint() - t0) / 1e9,
      counts: wl.countsByName(),
    };
  } finally {
    for (const s of streams) rmSync(s.file, { force: true });
    rmSync(tmp, { force: true });
  }
}

// ---------------------------------------------------------------- the container

interface Layout {
  version: 6 | 7;
  zlib: boolean;
  cpus: number;
  /** Per CPU: bytes in its temporary file (raw pages, or the zlib chunks without their count). */
  sizes: number[];
  chunks: number[];
  files: string[];
  systems: Map<string, Fmt[]>;
  headerPage: string;
  headerEvent: string;
}

const padTo = (n: number, to: number): number => Math.ceil(n / to) * to;

/**
 * Writes metadata + per-CPU data to `file` (layouts as in test/helpers/tracedat-writer.ts); returns its
 * size and where each CPU's data starts.
 */
function assemble(file: string, l: Layout): { bytes: number; dataOff: number[] } {
  const meta: TraceMeta = {
    headerPage: l.headerPage,
    headerEvent: l.headerEvent,
    ftrace: [],
    systems: new Map([...l.systems].map(([sys, fmts]) => [sys, fmts.map((f) => f.text)])),
    kallsyms: 'ffffffff81000000 T _text\n',
    printk: '',
    cmdlines: CMDLINES,
  };
  const b = new Bytes(true);
  writeFileHeader(b, { version: l.version, le: true, longSize: 8, pageSize: PAGE, zlib: l.zlib });

  // Per CPU data placement, filled in once the metadata before the data is known.
  const dataOff: number[] = [];
  const place = (start: number): number => {
    let p = start;
    for (let c = 0; c < l.cpus; c++) {
      p = padTo(p, PAGE);
      dataOff.push(p);
      p += (l.zlib ? 4 : 0) + l.sizes[c]!;
    }
    return p;
  };
  let tail: Uint8Array = new Uint8Array(0);

  if (l.version === 6) {
    writeMetaV6(b, meta);
    b.u32(l.cpus);
    b.str('options  ').u8(0);
    b.u16(8).u32(4).u32(l.cpus); // CPUCOUNT
    b.u16(0);
    b.str('flyrecord').u8(0);
    const table = b.len;
    for (let c = 0; c < l.cpus; c++) b.u64(0).u64(l.sizes[c]!);
    place(b.len);
    for (let c = 0; c < l.cpus; c++) b.setU64(table + 16 * c, dataOff[c]!);
  } else {
    const strings = new StringTable();
    const firstOptAt = b.len;
    b.u64(0);
    const sectionOffsets = writeMetaV7(b, meta, strings, true, l.zlib);
    // options #1: section pointers, CPUCOUNT; DONE -> options #2 (after the data)
    b.setU64(firstOptAt, b.len);
    const opt1 = new Bytes(true);
    for (const [id, at] of sectionOffsets) opt1.u16(id).u32(8).u64(at);
    opt1.u16(8).u32(4).u32(l.cpus);
    opt1.u16(0).u32(8);
    const doneAt = opt1.len;
    opt1.u64(0);
    writeSection(b, 0, strings.add('options'), opt1.out(), false);
    const opt1Body = b.len - opt1.len;
    // the buffer section: header, then the CPUs' data
    const bufAt = b.len;
    b.u16(3)
      .u16(l.zlib ? 1 : 0)
      .u32(strings.add('buffer flyrecord '));
    const sizeAt = b.len;
    b.u64(0);
    const bodyStart = b.len;
    const end = place(b.len);
    b.setU64(sizeAt, end - bodyStart);
    // options #2: the BUFFER option
    const opt2 = new Bytes(true);
    const w = new Bytes(true);
    w.u64(bufAt).cstr('').cstr('local').u32(PAGE);
    w.u32(l.cpus);
    for (let c = 0; c < l.cpus; c++) w.u32(c).u64(dataOff[c]!).u64(l.sizes[c]!);
    const body = w.out();
    opt2.u16(3).u32(body.length).bytes(body);
    opt2.u16(0).u32(8).u64(0);
    // options #1's DONE points at options #2, which starts right after the data
    b.setU64(opt1Body + doneAt, end);
    const t = new Bytes(true);
    writeSection(t, 0, strings.add('options'), opt2.out(), false);
    // strings section (15), appended to the tail; its own description is in the table it writes
    const desc = strings.add('strings');
    writeSection(t, 15, desc, strings.bytes(true), l.zlib);
    tail = t.out();
  }
  return { bytes: writeOut(file, b.out(), l, dataOff, tail), dataOff };
}

function writeOut(file: string, head: Uint8Array, l: Layout, dataOff: number[], tail: Uint8Array): number {
  const fd = openSync(file, 'w');
  const buf = Buffer.allocUnsafe(8 << 20);
  try {
    let pos = 0;
    const put = (b: Uint8Array): void => {
      let o = 0;
      while (o < b.length) o += writeSync(fd, b, o, b.length - o, pos + o);
      pos += b.length;
    };
    put(head);
    for (let c = 0; c < l.cpus; c++) {
      if (pos < dataOff[c]!) put(new Uint8Array(dataOff[c]! - pos));
      if (l.zlib) {
        const n = Buffer.alloc(4);
        n.writeUInt32LE(l.chunks[c]!);
        put(n);
      }
      const src = openSync(l.files[c]!, 'r');
      try {
        for (;;) {
          const n = readSync(src, buf, 0, buf.length, null);
          if (n === 0) break;
          put(buf.subarray(0, n));
        }
      } finally {
        closeSync(src);
      }
    }
    put(tail);
    return pos;
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------- CLI

const USAGE =
  'usage: node dist/bench/gen-tracedat.js --events 5M [--live 4096] [--v 6|7] [--zlib] [--cpus 2] [--seed N] -o FILE';

function main(argv: string[]): number {
  let events = 5_000_000;
  let live = 4096;
  let version: 6 | 7 = 6;
  let zlib = false;
  let cpus = 2;
  let seed: number | undefined;
  const out = cliArgs(
    'gen-tracedat',
    USAGE,
    argv,
    (a, v) => {
      if (a === '--events') events = parseSize(v);
      else if (a === '--live') live = parseSize(v);
      else if (a === '--v') version = v === '7' ? 7 : 6;
      else if (a === '--cpus') cpus = Number(v);
      else if (a === '--seed') seed = Number(v);
      else return false;
      return true;
    },
    (a) => {
      if (a !== '--zlib') return false;
      zlib = true;
      version = 7;
      return true;
    },
  );
  if (typeof out === 'number') return out;
  const s = generateTraceDat({ events, live, out, version, zlib, cpus, ...(seed === undefined ? {} : { seed }) });
  process.stderr.write(
    `gen-tracedat: ${out}: v${version}${zlib ? ' zlib' : ''}, ${s.bytes} bytes, ${s.events} events, ${s.pages} pages, ` +
      `${s.liveAtEnd} live mappings at the end, ${s.seconds.toFixed(2)} s\n${countsTable(s.counts, s.events)}`,
  );
  return 0;
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) {
  process.exitCode = main(process.argv.slice(2));
}
