// A small trace.dat encoder for tests: records -> ring-buffer sub-buffers ->
// a version 6 or 7 file (v7 sections optionally zlib-compressed, since
// Debian's trace-cmd writes no zlib). It exists to reach what the fixtures do
// not: big-endian files, 4-byte longs, absolute time stamps, time extends,
// padding, missing-events bits with and without counts, sub-buffers larger
// than a page, instances, and chunks that split a sub-buffer; and to write a
// text trace's losses as trace.dat (test/property/tracedat-variants.ts): a
// sub-buffer that starts where a lost span ends, damaged records, and any
// kernel's layouts from its format files.
//
// It follows the layouts trace-cmd writes (Documentation/trace-cmd/
// trace-cmd.dat.v6.txt and .v7.txt) and the kernel's ring-buffer page format;
// it is written for clarity, not speed.

import { deflateSync } from 'node:zlib';

export type WValue = bigint | number | string | Array<bigint | number> | Uint8Array;

/** One field of a synthetic event format. */
export interface FieldDef {
  name: string;
  /** C type as the format file shows it, e.g. `u64`, `unsigned long`, `__data_loc char[]`, `__data_loc u64[]`. */
  type: string;
  signed?: boolean;
  /** Fixed array length (`caller[8]`), or 0 for a trailing `buf[]`. */
  arrayLen?: number;
}

export interface EventDef {
  system: string;
  name: string;
  id: number;
  fields: FieldDef[];
}

/** One record to write. */
export interface WRecord {
  cpu: number;
  /** Nanoseconds. */
  ts: bigint;
  pid: number;
  event: string;
  values: Record<string, WValue>;
  /**
   * Start a new sub-buffer with this record; `lost` sets that sub-buffer's
   * missing-events bit (a number: with the count stored, null: without).
   */
  pageBreak?: { lost?: number | null };
  /** Keep only the first N bytes of the encoded record: a damaged record (0: too short for an event id). */
  truncateTo?: number;
  /** The record already encoded (encodeRecordOf, same byte order and long size): `values` are not read. */
  payload?: Uint8Array;
}

export interface PageInfo {
  cpu: number;
  /** Index (into the records array) of the first data record on the page. */
  first: number;
  /** Lost events before the page: undefined none, null uncounted, else the count. */
  lost?: number | null;
}

export interface WriterOptions {
  version: 6 | 7;
  cpus: number;
  bigEndian?: boolean;
  /** Kernel long size (header_page commit field). Default 8. */
  longSize?: 4 | 8;
  /** Page size in the file header. Default 4096. */
  pageSize?: number;
  /** Sub-buffer size (header + data). Default pageSize. */
  subbufSize?: number;
  /** v7 only. Default 'zlib'. */
  compression?: 'none' | 'zlib';
  /** v7: pages (of pageSize) per compressed chunk. Default 4. */
  chunkPages?: number;
  /** Write the data into a buffer instance of this name (the top buffer stays empty). */
  instance?: string;
  /** Also write the same data again as this instance (v7), to test choosing. */
  extraInstance?: string;
  /** Random source for layout choices (default: none of them). */
  rng?: () => number;
  /** Per record: probability of an absolute time stamp before it. */
  absProb?: number;
  /** Per record: probability of a padding record before it. */
  padProb?: number;
  /** Per new page: probability of the missing-events bit (half of them with a count). */
  lostProb?: number;
  /** Per record: probability of using the type_len 0 (length word) form even when small. */
  longFormProb?: number;
  kallsyms?: string;
  printk?: string;
  cmdlines?: Map<number, string>;
  /** CPUSTAT text per CPU, for the buffer that holds the data. */
  stats?: string[];
  /** Leave these events' format files out (their records stay): a damaged file. */
  omitFormats?: string[];
  /** Dynamic fields as __rel_loc (offset from the end of the field) instead of __data_loc. */
  relLoc?: boolean;
  /**
   * v7 compressed: each CPU's recorded size counts the leading u32 chunk count,
   * as trace-cmd 3.2 and later write it (3.1 and earlier leave it out: the default).
   */
  sizeCountsChunkCount?: boolean;
  /** More options, written after the others of the first options block (v6: of the options). */
  extraOptions?: Array<{ id: number; data: Uint8Array }>;
  /** v7: more sections, written after the metadata (flags bit 0: marked compressed; the body is written as is). */
  extraSections?: Array<{ id: number; body: Uint8Array; flags?: number }>;
  /** The event formats to write (default: standardEvents() and ftraceEvents()): another kernel's layouts. */
  events?: EventDef[];
}

// ---------------------------------------------------------------- event formats

/** Byte size of a C type (long depends on the kernel). */
function sizeOf(type: string, longSize: number): number {
  const t = type.replace(/__data_loc|__rel_loc|\[.*\]/g, '').trim();
  if (t.endsWith('*')) return longSize;
  switch (t) {
    case 'u8':
    case 'char':
    case 'bool':
    case 'unsigned char':
      return 1;
    case 'u16':
    case 'unsigned short':
      return 2;
    case 'int':
    case 'u32':
    case 'unsigned int':
    case 'gfp_t':
    case 'enum dma_data_direction':
      return 4;
    case 'u64':
    case 's64':
      return 8;
    case 'unsigned long':
    case 'size_t':
    case 'long':
      return longSize;
    default:
      throw new Error(`writer: unknown type ${type}`);
  }
}

interface Laid {
  def: FieldDef;
  offset: number;
  size: number;
  dyn: boolean;
  elem: number;
}

const laidOut = new WeakMap<EventDef, Map<number, { fields: Laid[]; fixed: number }>>();

function layout(def: EventDef, longSize: number): { fields: Laid[]; fixed: number } {
  let bySize = laidOut.get(def);
  if (!bySize) {
    bySize = new Map();
    laidOut.set(def, bySize);
  }
  let l = bySize.get(longSize);
  if (!l) {
    l = layOut(def, longSize);
    bySize.set(longSize, l);
  }
  return l;
}

function layOut(def: EventDef, longSize: number): { fields: Laid[]; fixed: number } {
  let off = 8;
  const out: Laid[] = [];
  for (const f of def.fields) {
    const dyn = f.type.startsWith('__data_loc') || f.type.startsWith('__rel_loc');
    const elem = dyn ? sizeOf(f.type, longSize) : f.arrayLen !== undefined ? sizeOf(f.type, longSize) : 0;
    let size: number;
    if (dyn) size = 4;
    else if (f.arrayLen !== undefined) size = elem * f.arrayLen;
    else size = sizeOf(f.type, longSize);
    const align = dyn ? 4 : Math.min(f.arrayLen !== undefined ? elem : size, longSize);
    off = Math.ceil(off / align) * align;
    out.push({ def: f, offset: off, size, dyn, elem });
    off += size;
  }
  return { fields: out, fixed: off };
}

export function formatText(def: EventDef, longSize: number): string {
  const { fields } = layout(def, longSize);
  const lines = [
    `name: ${def.name}`,
    `ID: ${def.id}`,
    'format:',
    '\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;',
    '\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;',
    '\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;',
    '\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;',
    '',
  ];
  for (const l of fields) {
    const f = l.def;
    let decl: string;
    if (l.dyn) decl = `${f.type} ${f.name}`;
    else if (f.arrayLen !== undefined) decl = `${f.type} ${f.name}[${f.arrayLen === 0 ? '' : f.arrayLen}]`;
    else decl = `${f.type} ${f.name}`;
    lines.push(`\tfield:${decl};\toffset:${l.offset};\tsize:${l.size};\tsigned:${f.signed ? 1 : 0};`);
  }
  lines.push('', 'print fmt: "synthetic"', '');
  return lines.join('\n');
}

const D = (name: string, type: string, signed = false): FieldDef => ({ name, type, signed });

/**
 * A kernel's event format file (tracefs events/<system>/<name>/format) as an
 * EventDef with its ID and fields (the common_* fields are the writer's own;
 * offsets are laid out again, as the kernel aligns them).
 */
export function eventDefOf(system: string, format: string): EventDef {
  const name = /^name: (\S+)/m.exec(format)?.[1];
  const id = /^ID: (\d+)/m.exec(format)?.[1];
  if (name === undefined || id === undefined) throw new Error('writer: a format file without name or ID');
  const fields: FieldDef[] = [];
  for (const m of format.matchAll(/^\s*field:(.+?);\s*offset:\d+;\s*size:\d+;\s*signed:(\d);/gm)) {
    const decl = /^(.*?)\s*\b(\w+)(?:\[(\d*)\])?$/.exec(m[1]!.trim());
    if (!decl || decl[2]!.startsWith('common_')) continue;
    const f: FieldDef = { name: decl[2]!, type: decl[1]!, signed: m[2] === '1' };
    if (decl[3] !== undefined) f.arrayLen = decl[3] === '' ? 0 : Number(decl[3]);
    fields.push(f);
  }
  return { system, name, id: Number(id), fields };
}

/** The dma/kmem/ftrace events of a 6.12 kernel (fixture layout), by name. */
export function standardEvents(): EventDef[] {
  let id = 100;
  const ev = (system: string, name: string, fields: FieldDef[]): EventDef => ({ system, name, id: id++, fields });
  const dev = D('device', '__data_loc char[]');
  return [
    ev('dma', 'dma_map_page', [
      dev,
      D('phys_addr', 'u64'),
      D('dma_addr', 'u64'),
      D('size', 'size_t'),
      D('dir', 'enum dma_data_direction'),
      D('attrs', 'unsigned long'),
    ]),
    ev('dma', 'dma_unmap_page', [
      dev,
      D('addr', 'u64'),
      D('size', 'size_t'),
      D('dir', 'enum dma_data_direction'),
      D('attrs', 'unsigned long'),
    ]),
    ev('dma', 'dma_map_phys', [
      dev,
      D('phys_addr', 'u64'),
      D('dma_addr', 'u64'),
      D('size', 'size_t'),
      D('dir', 'enum dma_data_direction'),
      D('attrs', 'unsigned long'),
    ]),
    ev('dma', 'dma_map_sg', [
      dev,
      D('full_nents', 'int', true),
      D('full_ents', 'int', true),
      D('truncated', 'bool'),
      D('phys_addrs', '__data_loc u64[]'),
      D('dma_addrs', '__data_loc u64[]'),
      D('lengths', '__data_loc unsigned int[]'),
      D('dir', 'enum dma_data_direction'),
      D('attrs', 'unsigned long'),
    ]),
    ev('dma', 'dma_unmap_sg', [
      dev,
      D('addrs', '__data_loc u64[]'),
      D('dir', 'enum dma_data_direction'),
      D('attrs', 'unsigned long'),
    ]),
    ev('dma', 'dma_alloc', [
      dev,
      D('virt_addr', 'void *'),
      D('dma_addr', 'u64'),
      D('size', 'size_t'),
      D('flags', 'gfp_t'),
      D('dir', 'enum dma_data_direction'),
      D('attrs', 'unsigned long'),
    ]),
    ev('dma', 'dma_free', [
      dev,
      D('virt_addr', 'void *'),
      D('dma_addr', 'u64'),
      D('size', 'size_t'),
      D('dir', 'enum dma_data_direction'),
      D('attrs', 'unsigned long'),
    ]),
    ev('dma', 'dma_sync_single_for_cpu', [
      dev,
      D('dma_addr', 'u64'),
      D('size', 'size_t'),
      D('dir', 'enum dma_data_direction'),
    ]),
    ev('dma', 'dma_sync_sg_for_device', [
      dev,
      D('dma_addrs', '__data_loc u64[]'),
      D('lengths', '__data_loc unsigned int[]'),
      D('dir', 'enum dma_data_direction'),
    ]),
    ev('dma', 'dma_map_sg_err', [
      dev,
      D('phys_addrs', '__data_loc u64[]'),
      D('err', 'int', true),
      D('dir', 'enum dma_data_direction'),
      D('attrs', 'unsigned long'),
    ]),
    ev('kmem', 'mm_page_free', [D('pfn', 'unsigned long'), D('order', 'unsigned int')]),
    ev('kmem', 'mm_page_free_batched', [D('pfn', 'unsigned long')]),
    ev('sched', 'sched_switch', [D('prev_pid', 'int', true), D('next_pid', 'int', true)]),
  ];
}

/** ftrace's own events (system "ftrace"). */
export function ftraceEvents(): EventDef[] {
  return [
    {
      system: 'ftrace',
      name: 'kernel_stack',
      id: 4,
      fields: [D('size', 'int', true), { name: 'caller', type: 'unsigned long', arrayLen: 8 }],
    },
    {
      system: 'ftrace',
      name: 'print',
      id: 5,
      fields: [D('ip', 'unsigned long'), { name: 'buf', type: 'char', arrayLen: 0 }],
    },
    {
      system: 'ftrace',
      name: 'bprint',
      id: 6,
      fields: [D('ip', 'unsigned long'), D('fmt', 'char *'), { name: 'buf', type: 'u32', arrayLen: 0 }],
    },
    { system: 'ftrace', name: 'bputs', id: 14, fields: [D('ip', 'unsigned long'), D('str', 'char *')] },
  ];
}

// ---------------------------------------------------------------- bytes

/** A growable byte buffer with u8..u64 appends in a chosen byte order (also bench/gen-tracedat.ts's, little endian). */
export class Bytes {
  private b: Uint8Array;
  private dv: DataView;
  len = 0;
  /** `capacity`: bytes to start with (it grows as needed). */
  constructor(
    private readonly le: boolean,
    capacity = 1 << 16,
  ) {
    this.b = new Uint8Array(Math.max(16, capacity));
    this.dv = new DataView(this.b.buffer);
  }
  private room(n: number): void {
    if (this.len + n <= this.b.length) return;
    let cap = this.b.length * 2;
    while (cap < this.len + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.b.subarray(0, this.len));
    this.b = nb;
    this.dv = new DataView(nb.buffer);
  }
  u8(v: number): this {
    this.room(1);
    this.b[this.len++] = v;
    return this;
  }
  u16(v: number): this {
    this.room(2);
    this.dv.setUint16(this.len, v, this.le);
    this.len += 2;
    return this;
  }
  u32(v: number): this {
    this.room(4);
    this.dv.setUint32(this.len, v >>> 0, this.le);
    this.len += 4;
    return this;
  }
  u64(v: bigint | number): this {
    this.room(8);
    this.dv.setBigUint64(this.len, BigInt.asUintN(64, BigInt(v)), this.le);
    this.len += 8;
    return this;
  }
  bytes(v: Uint8Array): this {
    this.room(v.length);
    this.b.set(v, this.len);
    this.len += v.length;
    return this;
  }
  str(s: string): this {
    return this.bytes(Buffer.from(s, 'latin1'));
  }
  cstr(s: string): this {
    return this.str(s).u8(0);
  }
  pad(to: number): this {
    while (this.len % to !== 0) this.u8(0);
    return this;
  }
  setU64(at: number, v: bigint | number): void {
    this.dv.setBigUint64(at, BigInt(v), this.le);
  }
  setU32(at: number, v: number): void {
    this.dv.setUint32(at, v >>> 0, this.le);
  }
  out(): Uint8Array {
    return this.b.slice(0, this.len);
  }
}

// ---------------------------------------------------------------- container parts
// (bench/gen-tracedat.ts writes its files with these too)

/** The metadata every trace.dat carries before its data, in the order v6 writes it. */
export interface TraceMeta {
  headerPage: string;
  headerEvent: string;
  /** Format files of ftrace's own events. */
  ftrace: readonly string[];
  /** Format files of the other events, by system. */
  systems: ReadonlyMap<string, readonly string[]>;
  kallsyms: string;
  printk: string;
  cmdlines: string;
}

/** The metadata's parts: v7 section id, section description, writer. */
function metaParts(m: TraceMeta): Array<[number, string, (w: Bytes) => void]> {
  return [
    [
      16,
      'headers',
      (w) => {
        w.cstr('header_page').u64(m.headerPage.length).str(m.headerPage);
        w.cstr('header_event').u64(m.headerEvent.length).str(m.headerEvent);
      },
    ],
    [
      17,
      'ftrace events',
      (w) => {
        w.u32(m.ftrace.length);
        for (const f of m.ftrace) w.u64(f.length).str(f);
      },
    ],
    [
      18,
      'events format',
      (w) => {
        w.u32(m.systems.size);
        for (const [sys, fmts] of m.systems) {
          w.cstr(sys).u32(fmts.length);
          for (const f of fmts) w.u64(f.length).str(f);
        }
      },
    ],
    [19, 'kallsyms', (w) => w.u32(m.kallsyms.length).str(m.kallsyms)],
    [20, 'printk', (w) => w.u32(m.printk.length).str(m.printk)],
    [21, 'command lines', (w) => w.u64(m.cmdlines.length).str(m.cmdlines)],
  ];
}

/** The file header: magic, version, byte order, long size, page size; v7: then the compression. */
export function writeFileHeader(
  b: Bytes,
  o: { version: 6 | 7; le: boolean; longSize: number; pageSize: number; zlib: boolean },
): void {
  b.bytes(new Uint8Array([0x17, 0x08, 0x44]))
    .str('tracing')
    .cstr(String(o.version));
  b.u8(o.le ? 0 : 1)
    .u8(o.longSize)
    .u32(o.pageSize);
  if (o.version === 7) b.cstr(o.zlib ? 'zlib' : 'none').cstr(o.zlib ? '1.2.13' : '');
}

/** v6: the metadata, part after part. */
export function writeMetaV6(b: Bytes, m: TraceMeta): void {
  for (const [, , write] of metaParts(m)) write(b);
}

/** v7: the strings section's table (section descriptions, option block names). */
export class StringTable {
  private readonly strings: string[] = [];
  private len = 0;
  /** Adds `s`; returns its offset. */
  add(s: string): number {
    const at = this.len;
    this.strings.push(s);
    this.len += s.length + 1;
    return at;
  }
  bytes(le: boolean): Uint8Array {
    const w = new Bytes(le);
    for (const s of this.strings) w.cstr(s);
    return w.out();
  }
}

/** v7: a section (an options block is one with id 0): header, then the body, zlib-compressed or not. */
export function writeSection(w: Bytes, id: number, desc: number, body: Uint8Array, zlib: boolean): void {
  w.u16(id)
    .u16(zlib ? 1 : 0)
    .u32(desc);
  if (zlib) {
    const z = deflateSync(body);
    w.u64(8 + z.length)
      .u32(z.length)
      .u32(body.length)
      .bytes(z);
  } else {
    w.u64(body.length).bytes(body);
  }
}

/** v7: the metadata as sections 16-21; returns where each starts. */
export function writeMetaV7(
  b: Bytes,
  m: TraceMeta,
  strings: StringTable,
  le: boolean,
  zlib: boolean,
): Map<number, number> {
  const at = new Map<number, number>();
  for (const [id, desc, write] of metaParts(m)) {
    const w = new Bytes(le);
    write(w);
    at.set(id, b.len);
    writeSection(b, id, strings.add(desc), w.out(), zlib);
  }
  return at;
}

// ---------------------------------------------------------------- records and pages

function encodeRecord(def: EventDef, rec: WRecord, le: boolean, longSize: number): Uint8Array {
  const { fields, fixed } = layout(def, longSize);
  const dyn: Uint8Array[] = [];
  let dynLen = 0;
  const buf = new Uint8Array(fixed);
  const dv = new DataView(buf.buffer);
  dv.setUint16(0, def.id, le);
  dv.setInt32(4, rec.pid, le);
  const put = (at: number, size: number, v: bigint | number) => {
    const x = BigInt.asUintN(64, BigInt(v));
    if (size === 8) dv.setBigUint64(at, x, le);
    else if (size === 4) dv.setUint32(at, Number(x & 0xffffffffn), le);
    else if (size === 2) dv.setUint16(at, Number(x & 0xffffn), le);
    else dv.setUint8(at, Number(x & 0xffn));
  };
  for (const l of fields) {
    const v = rec.values[l.def.name];
    if (l.dyn) {
      let data: Uint8Array;
      if (typeof v === 'string') data = Buffer.from(`${v}\0`, 'latin1');
      else {
        const arr = (v as Array<bigint | number> | undefined) ?? [];
        data = new Uint8Array(arr.length * l.elem);
        const ddv = new DataView(data.buffer);
        arr.forEach((x, i) => {
          const y = BigInt.asUintN(64, BigInt(x));
          if (l.elem === 8) ddv.setBigUint64(i * 8, y, le);
          else ddv.setUint32(i * 4, Number(y & 0xffffffffn), le);
        });
      }
      // __data_loc: offset from the record start; __rel_loc: from the end of the field
      const where = l.def.type.startsWith('__rel_loc') ? fixed + dynLen - (l.offset + 4) : fixed + dynLen;
      dv.setUint32(l.offset, ((data.length << 16) | where) >>> 0, le);
      dyn.push(data);
      dynLen += data.length;
    } else if (l.def.arrayLen !== undefined) {
      if (l.def.arrayLen === 0) {
        // trailing data: bytes (a string or u32 words) after the fixed part
        const data =
          typeof v === 'string' ? Buffer.from(`${v}\0`, 'latin1') : v instanceof Uint8Array ? v : new Uint8Array(0);
        dyn.push(data);
        dynLen += data.length;
      } else {
        const arr = (v as Array<bigint | number> | undefined) ?? [];
        arr.forEach((x, i) => {
          put(l.offset + i * l.elem, l.elem, x);
        });
      }
    } else if (v !== undefined) {
      put(l.offset, l.size, v as bigint | number);
    }
  }
  const total = fixed + dynLen;
  const out = new Uint8Array(total);
  out.set(buf.subarray(0, fixed));
  let p = fixed;
  for (const d of dyn) {
    out.set(d, p);
    p += d.length;
  }
  return out;
}

/** A record's bytes as the writer would encode them, to write it many times (WRecord.payload). */
export function encodeRecordOf(
  rec: WRecord,
  events: EventDef[],
  opts: { longSize?: 4 | 8; bigEndian?: boolean } = {},
): Uint8Array {
  const def = events.find((e) => e.name === rec.event);
  if (!def) throw new Error(`writer: no format for ${rec.event}`);
  return encodeRecord(def, rec, !opts.bigEndian, opts.longSize ?? 8);
}

const TWO27 = 1n << 27n;

/** Builds one CPU's sub-buffers. */
/** CPU `cpu`'s records, in input order, each with its index and its encoded payload. */
function cpuRecords(records: WRecord[], byName: Map<string, EventDef>, cpu: number, le: boolean, longSize: 4 | 8) {
  return records
    .map((rec, index) => ({ index, rec }))
    .filter((r) => r.rec.cpu === cpu)
    .map(({ index, rec }) => {
      const def = byName.get(rec.event);
      if (!def) throw new Error(`writer: no format for ${rec.event}`);
      const data = rec.payload ?? encodeRecord(def, rec, le, longSize);
      return { index, rec, data: rec.truncateTo === undefined ? data : data.subarray(0, rec.truncateTo) };
    });
}

function buildPages(
  recs: Array<{ index: number; rec: WRecord; data: Uint8Array }>,
  cpu: number,
  o: Required<Pick<WriterOptions, 'longSize' | 'subbufSize'>> & WriterOptions,
  le: boolean,
  pages: PageInfo[],
): Uint8Array {
  const hdr = 8 + o.longSize;
  const room = o.subbufSize - hdr;
  const rnd = o.rng ?? (() => 1);
  const out: Uint8Array[] = [];
  let page: Bytes | null = null;
  let cur = 0n;
  let lost: number | null | undefined;
  let pageTs = 0n;
  const headerWord = (typeLen: number, delta: number): number =>
    le ? ((delta << 5) | typeLen) >>> 0 : ((typeLen << 27) | delta) >>> 0;
  const finish = () => {
    if (!page) return;
    const body = page.out();
    const sb = new Bytes(le, o.subbufSize);
    sb.u64(pageTs);
    let commit = body.length;
    if (lost !== undefined) commit |= 0x80000000;
    if (lost !== undefined && lost !== null) commit |= 0x40000000;
    if (o.longSize === 8) sb.u64(BigInt(commit >>> 0));
    else sb.u32(commit);
    sb.bytes(body);
    if (lost !== undefined && lost !== null) {
      if (o.longSize === 8) sb.u64(lost);
      else sb.u32(lost);
    }
    while (sb.len < o.subbufSize) sb.u8(0);
    out.push(sb.out());
    page = null;
  };
  for (const { index, rec, data } of recs) {
    const len = Math.ceil(data.length / 4) * 4;
    const small = len <= 28 * 4 && data.length % 4 === 0 && len > 0 && rnd() >= (o.longFormProb ?? 0);
    const recBytes = (small ? 4 : 8) + len;
    const abs = rnd() < (o.absProb ?? 0);
    const pad = rnd() < (o.padProb ?? 0) ? 8 + 4 * Math.floor(rnd() * 6) : 0;
    const lostRoom = o.longSize;
    let need = recBytes + (abs ? 8 : 0) + 8 + pad + lostRoom;
    if (!page || page.len + need > room || rec.pageBreak) {
      finish();
      page = new Bytes(le, o.subbufSize);
      // the page time is at or a little before its first record
      pageTs = rec.ts - BigInt(Math.floor(rnd() * 1000)) < 0n ? rec.ts : rec.ts - BigInt(Math.floor(rnd() * 1000));
      cur = pageTs;
      lost = undefined;
      if (rnd() < (o.lostProb ?? 0)) lost = rnd() < 0.5 ? null : 1 + Math.floor(rnd() * 100000);
      if (rec.pageBreak) lost = rec.pageBreak.lost;
      pages.push(lost === undefined ? { cpu, first: index } : { cpu, first: index, lost });
      need = 0;
    }
    if (pad > 0) {
      page.u32(headerWord(29, 0)).u32(pad - 4);
      for (let i = 8; i < pad; i++) page.u8(0);
    }
    let delta = rec.ts - cur;
    if (delta < 0n) throw new Error('writer: records of a CPU must be in time order');
    if (abs) {
      const v = BigInt.asUintN(59, rec.ts);
      page.u32(headerWord(31, Number(v & (TWO27 - 1n)))).u32(Number(v >> 27n));
      delta = 0n;
    } else if (delta >= TWO27) {
      page.u32(headerWord(30, Number(delta & (TWO27 - 1n)))).u32(Number(delta >> 27n));
      delta = 0n;
    }
    cur = rec.ts;
    if (small) page.u32(headerWord(len / 4, Number(delta)));
    else page.u32(headerWord(0, Number(delta))).u32(data.length + 4);
    page.bytes(data);
    for (let i = data.length; i < len; i++) page.u8(0);
  }
  finish();
  const all = new Uint8Array(out.length * o.subbufSize);
  out.forEach((p, i) => {
    all.set(p, i * o.subbufSize);
  });
  return all;
}

// ---------------------------------------------------------------- files

export interface Written {
  bytes: Uint8Array;
  /** File offset of each CPU's data (of the buffer holding the data; compressed v7: of its chunk count). */
  dataAt: number[];
  /** Sub-buffers in file order per CPU, with their first record and lost flags. */
  pages: PageInfo[];
  events: EventDef[];
}

const HEADER_EVENT = `# compressed entry header
\ttype_len    :    5 bits
\ttime_delta  :   27 bits
\tarray       :   32 bits

\tpadding     : type == 29
\ttime_extend : type == 30
\ttime_stamp : type == 31
\tdata max type_len  == 28
`;

export function writeTraceDat(records: WRecord[], opts: WriterOptions): Written {
  const le = !opts.bigEndian;
  const longSize = opts.longSize ?? 8;
  const pageSize = opts.pageSize ?? 4096;
  const subbufSize = opts.subbufSize ?? pageSize;
  const o = { ...opts, longSize, subbufSize };
  const compress = opts.version === 7 && (opts.compression ?? 'zlib') === 'zlib';
  let events = opts.events ?? [...standardEvents(), ...ftraceEvents()];
  if (opts.relLoc) {
    events = events.map((e) => ({
      ...e,
      fields: e.fields.map((f) => ({ ...f, type: f.type.replace('__data_loc', '__rel_loc') })),
    }));
  }
  const byName = new Map(events.map((e) => [e.name, e]));
  const headerPage =
    `\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n` +
    `\tfield: local_t commit;\toffset:8;\tsize:${longSize};\tsigned:1;\n` +
    `\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n` +
    `\tfield: char data;\toffset:${8 + longSize};\tsize:${subbufSize - 8 - longSize};\tsigned:0;\n`;
  const kallsyms = opts.kallsyms ?? 'ffffffff81000000 T _text\n';
  const printk = opts.printk ?? '';
  const cmdlines = [...(opts.cmdlines ?? new Map<number, string>())].map(([p, c]) => `${p} ${c}\n`).join('');

  // per-CPU data
  const pages: PageInfo[] = [];
  const perCpu: Uint8Array[] = [];
  for (let cpu = 0; cpu < opts.cpus; cpu++) {
    perCpu.push(buildPages(cpuRecords(records, byName, cpu, le, longSize), cpu, o, le, pages));
  }

  const kept = events.filter((e) => !(opts.omitFormats ?? []).includes(e.name));
  const ftraceFmts = kept.filter((e) => e.system === 'ftrace').map((e) => formatText(e, longSize));
  const systems = new Map<string, string[]>();
  for (const e of kept.filter((x) => x.system !== 'ftrace')) {
    const l = systems.get(e.system) ?? [];
    l.push(formatText(e, longSize));
    systems.set(e.system, l);
  }
  const meta: TraceMeta = {
    headerPage,
    headerEvent: HEADER_EVENT,
    ftrace: ftraceFmts,
    systems,
    kallsyms,
    printk,
    cmdlines,
  };
  const b = new Bytes(le);
  writeFileHeader(b, { version: opts.version, le, longSize, pageSize, zlib: compress });

  const cpustat = (w: Bytes, id: number) => {
    for (const s of opts.stats ?? []) {
      const t = `${s}\0`;
      w.u16(id).u32(t.length).str(t);
    }
  };

  if (opts.version === 6) {
    writeMetaV6(b, meta);
    b.u32(opts.cpus);
    b.str('options  ').u8(0);
    b.u16(8).u32(4).u32(opts.cpus); // CPUCOUNT
    let instAt = -1;
    if (opts.instance !== undefined) {
      const t = `Buffer: ${opts.instance}\0`;
      b.u16(2).u32(t.length).str(t);
    }
    cpustat(b, 2);
    for (const x of opts.extraOptions ?? []) b.u16(x.id).u32(x.data.length).bytes(x.data);
    if (opts.instance !== undefined) {
      b.u16(3).u32(8 + opts.instance.length + 1);
      instAt = b.len;
      b.u64(0).cstr(opts.instance);
    }
    b.u16(0);
    const table = (w: Bytes, withData: boolean): number[] => {
      w.str('flyrecord').u8(0);
      const at: number[] = [];
      for (let c = 0; c < opts.cpus; c++) {
        at.push(w.len);
        w.u64(0).u64(withData ? perCpu[c]!.length : 0);
      }
      return at;
    };
    const where: number[] = [];
    const dataAt = (w: Bytes, at: number[]) => {
      for (let c = 0; c < opts.cpus; c++) {
        w.pad(pageSize);
        w.setU64(at[c]!, w.len);
        where.push(w.len);
        w.bytes(perCpu[c]!);
      }
    };
    if (opts.instance === undefined) {
      dataAt(b, table(b, true));
    } else {
      table(b, false); // the top buffer: empty
      b.setU64(instAt, b.len);
      dataAt(b, table(b, true));
    }
    return { bytes: b.out(), dataAt: where, pages, events };
  }

  // ---- version 7
  const strings = new StringTable();
  const firstOptAt = b.len;
  b.u64(0);
  const sectionOffsets = writeMetaV7(b, meta, strings, le, compress);
  for (const x of opts.extraSections ?? []) {
    b.u16(x.id)
      .u16(x.flags ?? 0)
      .u32(strings.add(`section ${x.id}`))
      .u64(x.body.length)
      .bytes(x.body);
  }

  // options #1: pointers to the sections, CPU count, stats; DONE -> options #2 (after the data)
  b.setU64(firstOptAt, b.len);
  const opt1 = new Bytes(le);
  for (const [id, at] of sectionOffsets) opt1.u16(id).u32(8).u64(at);
  opt1.u16(8).u32(4).u32(opts.cpus);
  if (opts.instance !== undefined) {
    const t = `Buffer: ${opts.instance}\0`;
    opt1.u16(2).u32(t.length).str(t);
  }
  cpustat(opt1, 2);
  for (const x of opts.extraOptions ?? []) opt1.u16(x.id).u32(x.data.length).bytes(x.data);
  opt1.u16(0).u32(8);
  const doneAt = opt1.len;
  opt1.u64(0);
  const opt1Bytes = opt1.out();
  writeSection(b, 0, strings.add('options'), opt1Bytes, false);
  const opt1Body = b.len - opt1Bytes.length;

  // buffer sections: one per buffer holding data
  const buffers: Array<{ name: string; at: number; cpus: Array<{ off: number; size: number }> }> = [];
  const where: number[] = [];
  const writeBuffer = (name: string, empty = false) => {
    const at = b.len;
    b.u16(3)
      .u16(compress ? 1 : 0)
      .u32(strings.add(`buffer flyrecord ${name}`));
    const sizeAt = b.len;
    b.u64(0);
    const bodyStart = b.len;
    const cpus: Array<{ off: number; size: number }> = [];
    for (let c = 0; c < (empty ? 0 : opts.cpus); c++) {
      b.pad(pageSize);
      const off = b.len;
      const data = perCpu[c]!;
      if (data.length === 0) {
        cpus.push({ off, size: 0 });
        continue;
      }
      if (!compress) {
        if (!empty) where.push(off);
        b.bytes(data);
        cpus.push({ off, size: data.length });
        continue;
      }
      const chunk = (o.chunkPages ?? 4) * pageSize;
      const n = Math.ceil(data.length / chunk);
      if (!empty) where.push(off);
      b.u32(n);
      for (let i = 0; i < n; i++) {
        const part = data.subarray(i * chunk, Math.min(data.length, (i + 1) * chunk));
        const z = deflateSync(part);
        b.u32(z.length).u32(part.length).bytes(z);
      }
      // trace-cmd up to 3.1 recorded the size without the chunk count, 3.2 and later with it
      cpus.push({ off, size: b.len - off - (opts.sizeCountsChunkCount ? 0 : 4) });
    }
    b.setU64(sizeAt, b.len - bodyStart);
    buffers.push({ name, at, cpus });
  };
  if (opts.instance !== undefined) writeBuffer('', true); // trace-cmd writes an empty top buffer section
  writeBuffer(opts.instance ?? '');
  if (opts.extraInstance !== undefined) writeBuffer(opts.extraInstance);

  // options #2: the BUFFER options (after the data, as trace-cmd writes them)
  const opt2 = new Bytes(le);
  const bufOpt = (name: string, at: number, cpus: Array<{ off: number; size: number }>) => {
    const w = new Bytes(le);
    w.u64(at).cstr(name).cstr('local').u32(subbufSize);
    const used = cpus.map((c, i) => ({ ...c, i })).filter((c) => c.size > 0);
    w.u32(used.length);
    for (const c of used) w.u32(c.i).u64(c.off).u64(c.size);
    const body = w.out();
    opt2.u16(3).u32(body.length).bytes(body);
  };
  for (const buf of buffers) bufOpt(buf.name, buf.at, buf.cpus);
  opt2.u16(0).u32(8).u64(0);
  const opt2Start = b.len;
  writeSection(b, 0, strings.add('options'), opt2.out(), false);
  // options #1's DONE points here
  b.setU64(opt1Body + doneAt, opt2Start);
  // strings (its own description is not in the table it writes)
  const table = strings.bytes(le);
  writeSection(b, 15, strings.add('strings'), table, compress);
  return { bytes: b.out(), dataAt: where, pages, events };
}

/**
 * One CPU's ring-buffer sub-buffers, as per_cpu/cpuN/trace_pipe_raw returns
 * them (whole sub-buffers, back to back), for the given event layouts.
 */
export function encodeCpuPages(
  records: WRecord[],
  events: EventDef[],
  cpu: number,
  opts: { longSize?: 4 | 8; subbufSize?: number; bigEndian?: boolean } = {},
): { bytes: Uint8Array; pages: PageInfo[] } {
  const le = !opts.bigEndian;
  const longSize = opts.longSize ?? 8;
  const o = { version: 6 as const, cpus: 1, longSize, subbufSize: opts.subbufSize ?? 4096 };
  const byName = new Map(events.map((e) => [e.name, e]));
  const pages: PageInfo[] = [];
  const bytes = buildPages(cpuRecords(records, byName, cpu, le, longSize), cpu, o, le, pages);
  return { bytes, pages };
}
