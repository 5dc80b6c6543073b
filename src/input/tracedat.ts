// The trace.dat reader (trace-cmd file versions 6 and 7): the container
// (initial header, v7 sections and options, v6 fixed layout, compression,
// buffer instances), the per-CPU streams of ring-buffer sub-buffers, and their
// merge in timestamp order into the same DmaEvent stream the text parser makes.
//
// Why it looks the way it does:
// - Two ways in. `push()`/`end()` take the file as a stream of chunks (any
//   size; stdin, a gzipped file), like TextParser. `readFile()` reads a file
//   by position, the way trace-cmd does, with bounded memory.
// - A trace.dat stores each CPU's data one after the other, and v7 files keep
//   the table of buffers and CPUs (the BUFFER option) after the data. A
//   forward-only reader must therefore keep what it cannot decode yet: in
//   push mode the file's bytes from the first data section on are kept (as
//   they are on disk, i.e. still compressed in v7) until the merge has
//   consumed them; metadata is dropped once parsed. In v6 the CPU table comes
//   first, so the merge starts while data arrives and only the not yet merged
//   part of the earlier CPUs' data is held. readFile() holds the metadata, one
//   read window (256 KiB) and one decompressed chunk per CPU, plus, with
//   worker threads, at most 2 x threads + 1 read-ahead batches (512 KiB
//   compressed each) per CPU, or for a small zstd file one batch of its CPU's
//   data (under 4 MiB compressed).
// - zstd in JS (fzstd) runs at ~250 MB/s, slower than decoding the records,
//   so readFile() on a big compressed file decompresses the next chunks while
//   the merge runs: through the system's `zstd -dc`, kept fed by a worker
//   thread (zstd-process.ts), or else in worker threads (on 3+ cores;
//   tracedat-inflate.ts). fzstd is also slow to start, so a small zstd file's
//   CPU data and any big metadata section go through one `zstd -dc` run each
//   (zstd-sync.ts).
// - Not applied: the DATE, OFFSET and TIME_SHIFT options (wall-clock and
//   host/guest corrections) and TSC2NSEC (a note says so); times are the
//   ring buffer's own, as the kernel's text prints them.
// - The container parse is a generator that yields when it needs bytes that
//   have not arrived, so one piece of code serves both ways in. The hot path
//   (pages, records, merge) is plain code over DataViews: per-event-id decoder
//   plans are built once, and nothing is allocated per record.
// - Damage (truncation, bad magic, unknown version, corrupt compression, a
//   page whose commit runs past it, a record of an event with no format) is
//   an InputError naming the byte offset; every event the merge could order
//   before the damage has been delivered by then.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { Names } from '../base/interner.js';
import { type EventSink, type InputFacts, noInputFacts } from '../engine/events.js';
import { InputError, quoted } from './errors.js';
import { buildPlans, commonFields, MergeLead, RingRecords } from './ring-records.js';
import { onPath } from './source.js';
import { MAX_WARNINGS_KEPT, type ParseWarning } from './text-parser.js';
import { decodedEventCode, type Plan, RecordDecoder } from './tracedat-decode.js';
import {
  type EventFormat,
  Kallsyms,
  mapEventsOf,
  type PageHeader,
  parseCmdlines,
  parseEventFormat,
  parseHeaderPage,
  parsePrintkFormats,
  parseUname,
} from './tracedat-format.js';
import { type BatchResult, type ChunkDecompressor, InflatePool, inflateBlock, type Job } from './tracedat-inflate.js';
import { PageReader } from './tracedat-kbuffer.js';
import { ZstdSync } from './zstd-sync.js';

export interface TraceDatParserOptions {
  names: Names;
  sink: EventSink;
  /** The input's name, for messages. */
  file: string;
  /**
   * The buffer instance to read ('' = the top buffer). Default: the top
   * buffer, or the only instance with dma events when the top buffer has none.
   */
  instance?: string;
}

export interface ReadFileOptions {
  /** Called every 65536 events (may return a promise: backpressure). */
  onProgress?: (events: number) => void | Promise<void>;
  /**
   * Worker threads that decompress ring-buffer chunks ahead of the merge
   * (0 = none). Default: one per core beyond the first, up to 4, when the
   * chosen buffer holds at least 4 MiB of compressed data; none on 2 cores.
   */
  threads?: number;
  /**
   * Decompress zstd with the system's `zstd -dc` instead of in this process
   * (false: never; true: the chunks through one child process kept fed).
   * Default, when zstd is on PATH: a chosen buffer of at least 4 MiB of
   * compressed data through that child when `threads` is not set; a smaller
   * one through one zstd run per CPU's data, and metadata sections of 32 KiB
   * and more through one run each (zstd-sync.ts).
   */
  zstdTool?: boolean;
}

/** Read window per CPU in readFile() mode. */
const FILE_WINDOW = 256 * 1024;
/** Push-mode store segments are at least this big (chunks are copied into them). */
const SEGMENT = 256 * 1024;
/** Compressed blocks (metadata sections) at least this big go through the system zstd when it is used. */
const SYNC_TOOL_MIN_BYTES = 32 * 1024;
/** readFile() decompresses in worker threads when the chosen buffer has this much compressed data. */
const POOL_MIN_BYTES = 4 << 20;
/** Metadata larger than this is corruption, not a trace. */
const MAX_META = 1 << 30;
const TWO32 = 0x100000000;

const MAGIC = [0x17, 0x08, 0x44, 0x74, 0x72, 0x61, 0x63, 0x69, 0x6e, 0x67];

// v7 section and option ids (trace-cmd's enum tracecmd_option_id)
const OPT_DONE = 0;
const OPT_CPUSTAT = 2;
const OPT_BUFFER = 3;
const OPT_UNAME = 5;
const OPT_CPUCOUNT = 8;
const OPT_TSC2NSEC = 14;
const OPT_BUFFER_TEXT = 22;
const SEC_STRINGS = 15;
const SEC_HEADER_INFO = 16;
const SEC_FTRACE_EVENTS = 17;
const SEC_EVENT_FORMATS = 18;
const SEC_KALLSYMS = 19;
const SEC_PRINTK = 20;
const SEC_CMDLINES = 21;

type Compression = 'none' | 'zstd' | 'zlib';

/** The name given to a buffer whose name the file lost (it is in the strings section at the end). */
const UNNAMED = '(unnamed: the file ends before its name)';

// ---------------------------------------------------------------- byte access

/** Where the container parse reads from. */
interface Source {
  /** bytes [pos, pos + len): a view valid until the next call, or null when not (yet) there. */
  get(pos: number, len: number): Uint8Array | null;
  /** Bytes there are (push: received so far; file: its size). */
  readonly length: number;
  /** No more bytes will come. */
  readonly complete: boolean;
  fetcher(): Fetcher;
}

/** Per-stream access to file bytes; results in buf/dv/at, valid until the next fetch. */
interface Fetcher {
  buf: Uint8Array;
  dv: DataView;
  at: number;
  /** True when [pos, pos + len) is available. */
  fetch(pos: number, len: number): boolean;
}

interface Segment {
  start: number;
  len: number;
  bytes: Uint8Array;
  dv: DataView;
}

/** Push mode: the received bytes still needed, in segments (chunks are copied: sources reuse their buffers). */
class Store implements Source {
  segs: Segment[] = [];
  length = 0;
  complete = false;

  append(chunk: Uint8Array): void {
    let p = 0;
    const n = chunk.length;
    while (p < n) {
      let last = this.segs[this.segs.length - 1];
      if (!last || last.start + last.len !== this.length || last.len === last.bytes.length) {
        const bytes = new Uint8Array(Math.max(SEGMENT, n - p));
        last = { start: this.length, len: 0, bytes, dv: new DataView(bytes.buffer) };
        this.segs.push(last);
      }
      const k = Math.min(n - p, last.bytes.length - last.len);
      last.bytes.set(chunk.subarray(p, p + k), last.len);
      last.len += k;
      this.length += k;
      p += k;
    }
  }

  /** Index of the segment holding pos, or -1. */
  find(pos: number, hint: number): number {
    const segs = this.segs;
    const h = segs[hint];
    if (h && pos >= h.start && pos < h.start + h.len) return hint;
    let a = 0;
    let b = segs.length - 1;
    while (a <= b) {
      const m = (a + b) >> 1;
      const s = segs[m]!;
      if (pos < s.start) b = m - 1;
      else if (pos >= s.start + s.len) a = m + 1;
      else return m;
    }
    return -1;
  }

  get(pos: number, len: number): Uint8Array | null {
    if (pos + len > this.length) return null;
    if (len === 0) return new Uint8Array(0);
    const i = this.find(pos, 0);
    if (i < 0) return null;
    const s = this.segs[i]!;
    if (pos + len <= s.start + s.len) return s.bytes.subarray(pos - s.start, pos - s.start + len);
    const out = new Uint8Array(len);
    return this.copy(pos, out, i) ? out : null;
  }

  /** Copies [pos, pos + out.length) starting from segment i; false when a piece was dropped. */
  copy(pos: number, out: Uint8Array, i: number): boolean {
    let o = 0;
    while (o < out.length) {
      const s = this.segs[i];
      const at = pos + o;
      if (!s || at < s.start || at >= s.start + s.len) return false;
      const from = at - s.start;
      const k = Math.min(out.length - o, s.len - from);
      out.set(s.bytes.subarray(from, from + k), o);
      o += k;
      i++;
    }
    return true;
  }

  /** Drops segments that intersect none of the [start, end) pairs in live (flat). */
  retain(live: number[]): void {
    const keep: Segment[] = [];
    const last = this.segs[this.segs.length - 1];
    for (const s of this.segs) {
      let used = s === last && s.len < s.bytes.length;
      for (let i = 0; !used && i < live.length; i += 2) {
        if (live[i]! < s.start + s.len && live[i + 1]! > s.start) used = true;
      }
      if (used) keep.push(s);
    }
    this.segs = keep;
  }

  fetcher(): Fetcher {
    return new StoreFetcher(this);
  }
}

class StoreFetcher implements Fetcher {
  buf: Uint8Array = new Uint8Array(0);
  dv: DataView = new DataView(new ArrayBuffer(0));
  at = 0;
  private hint = 0;
  private own = new Uint8Array(0);
  private ownDv = new DataView(new ArrayBuffer(0));

  constructor(private readonly store: Store) {}

  fetch(pos: number, len: number): boolean {
    const st = this.store;
    if (pos + len > st.length) return false;
    const i = st.find(pos, this.hint);
    if (i < 0) return false;
    this.hint = i;
    const s = st.segs[i]!;
    if (pos + len <= s.start + s.len) {
      this.buf = s.bytes;
      this.dv = s.dv;
      this.at = pos - s.start;
      return true;
    }
    if (this.own.length < len) {
      this.own = new Uint8Array(Math.max(len, 8192));
      this.ownDv = new DataView(this.own.buffer);
    }
    if (!st.copy(pos, this.own.subarray(0, len), i)) return false;
    this.buf = this.own;
    this.dv = this.ownDv;
    this.at = 0;
    return true;
  }
}

/** readFile() mode: positional reads. */
class FileSource implements Source {
  readonly complete = true;
  readonly length: number;

  constructor(
    readonly fd: number,
    size: number,
  ) {
    this.length = size;
  }

  get(pos: number, len: number): Uint8Array | null {
    if (pos + len > this.length) return null;
    const out = new Uint8Array(len);
    let o = 0;
    while (o < len) {
      const n = readSync(this.fd, out, o, len - o, pos + o);
      if (n <= 0) return null;
      o += n;
    }
    return out;
  }

  fetcher(): Fetcher {
    return new FileFetcher(this);
  }
}

class FileFetcher implements Fetcher {
  buf: Uint8Array = new Uint8Array(FILE_WINDOW);
  dv: DataView = new DataView(this.buf.buffer);
  at = 0;
  private winStart = 0;
  private winLen = 0;

  constructor(private readonly src: FileSource) {}

  fetch(pos: number, len: number): boolean {
    if (pos >= this.winStart && pos + len <= this.winStart + this.winLen) {
      this.at = pos - this.winStart;
      return true;
    }
    if (pos + len > this.src.length) return false;
    if (this.buf.length < len) {
      this.buf = new Uint8Array(len);
      this.dv = new DataView(this.buf.buffer);
    }
    const want = Math.min(this.buf.length, this.src.length - pos);
    let o = 0;
    while (o < want) {
      const n = readSync(this.src.fd, this.buf, o, want - o, pos + o);
      if (n <= 0) break;
      o += n;
    }
    this.winStart = pos;
    this.winLen = o;
    this.at = 0;
    return o >= len;
  }
}

// ---------------------------------------------------------------- per-CPU streams

const HEAD = 0;
const STARVED = 1;
const DONE = 2;

/** One buffer's CPU as the file describes it. */
interface CpuData {
  cpu: number;
  offset: number;
  /** Bytes from offset (compressed data: its chunk count included, whichever way the file counts it). */
  size: number;
}

interface BufferInfo {
  name: string;
  cpus: CpuData[];
  compressed: boolean;
  latency: boolean;
  /** CPUSTAT text lines for this buffer. */
  stats: string[];
}

/**
 * The records of one CPU of one buffer, a sub-buffer at a time. `state` is
 * HEAD when reader.recOff/recLen/tsHi/tsLo describe the next record.
 */
class CpuStream {
  state = STARVED;
  readonly reader: PageReader;
  /** Lost-event counts of pages not yet followed by a record (-1 never: 0 = uncounted). */
  readonly pendingLost: number[] = [];
  /** Next file byte to read, and the end of this CPU's data. */
  pos: number;
  readonly start: number;
  readonly end: number;
  /** Where the current sub-buffer came from (file offset; the chunk's for compressed data). */
  pageAt = 0;
  private started = false;
  // compressed data
  private chunksLeft = -1;
  private chunk: Uint8Array = new Uint8Array(0);
  private chunkDv: DataView = new DataView(new ArrayBuffer(0));
  private cpos = 0;
  private chunkAt = 0;

  /** readFile mode with a worker pool: chunks come read ahead and decompressed. */
  private feed: ChunkFeed | null = null;

  constructor(
    readonly cpu: number,
    private readonly fetcher: Fetcher,
    private readonly owner: TraceDatParser,
    data: CpuData,
    private readonly compressed: boolean,
    private readonly subbuf: number,
    header: PageHeader,
    le: boolean,
    private readonly pool: ChunkDecompressor | null = null,
  ) {
    this.pos = data.offset;
    this.start = data.offset;
    this.end = data.offset + data.size;
    this.reader = new PageReader(le, header.longSize, header.dataOffset);
    this.reader.pos = 0;
    this.reader.end = 0;
  }

  /** Moves to the next record: state HEAD, STARVED (bytes not here yet) or DONE. */
  advance(): void {
    const r = this.reader;
    for (;;) {
      if (this.started) {
        if (r.next()) {
          this.state = HEAD;
          return;
        }
        if (r.error !== '') throw this.owner.corrupt(this.pageAt, `CPU ${this.cpu}: ${r.error}`);
      }
      const got = this.compressed ? this.loadCompressed() : this.loadPlain();
      if (got === 0) {
        this.state = STARVED;
        return;
      }
      if (got < 0) {
        this.state = DONE;
        return;
      }
      this.started = true;
      if (r.lost >= 0) this.pendingLost.push(r.lost);
    }
  }

  private starvedOrTruncated(pos: number, len: number, what: string): number {
    if (this.owner.sourceComplete()) {
      throw this.owner.truncated(pos, len, `${what} of CPU ${this.cpu}`);
    }
    return 0;
  }

  private loadPlain(): number {
    if (this.pos >= this.end) return -1;
    const n = Math.min(this.subbuf, this.end - this.pos);
    const f = this.fetcher;
    if (!f.fetch(this.pos, n)) return this.starvedOrTruncated(this.pos, n, 'a sub-buffer');
    if (!this.reader.load(f.buf, f.dv, f.at, n)) {
      throw this.owner.corrupt(this.pos, `CPU ${this.cpu}: ${this.reader.error}`);
    }
    this.pageAt = this.pos;
    this.pos += n;
    return 1;
  }

  private loadCompressed(): number {
    const f = this.fetcher;
    for (;;) {
      const rem = this.chunk.length - this.cpos;
      if (rem >= this.subbuf || (rem > 0 && this.chunksLeft === 0)) {
        const n = Math.min(rem, this.subbuf);
        if (!this.reader.load(this.chunk, this.chunkDv, this.cpos, n)) {
          throw this.owner.corrupt(
            this.chunkAt,
            `CPU ${this.cpu}: ${this.reader.error} (in the chunk at byte ${this.chunkAt})`,
          );
        }
        this.pageAt = this.chunkAt;
        this.cpos += n;
        return 1;
      }
      if (this.chunksLeft < 0) {
        if (this.pos >= this.end) return -1;
        if (this.pos + 4 > this.end) throw this.owner.corrupt(this.pos, `CPU ${this.cpu}: no room for the chunk count`);
        if (!f.fetch(this.pos, 4)) return this.starvedOrTruncated(this.pos, 4, 'the chunk count');
        this.chunksLeft = f.dv.getUint32(f.at, this.owner.le);
        this.pos += 4;
        const file = this.owner.fileSource();
        if (this.pool && file) {
          this.feed = new ChunkFeed(this.owner, file, this.pool, this.cpu, this.pos, this.end, this.chunksLeft);
        }
        continue;
      }
      if (this.chunksLeft === 0) return -1;
      if (this.feed) {
        const c = this.feed.take();
        if (c === WAIT) return 0;
        if (c === null) {
          this.chunksLeft = 0;
          continue;
        }
        this.takeChunk(c.out, c.at, rem);
        continue;
      }
      // the next chunk: u32 compressed size, u32 uncompressed size, data
      if (this.pos + 8 > this.end) {
        throw this.owner.corrupt(
          this.pos,
          `CPU ${this.cpu}: ${this.chunksLeft} more chunks announced, but its data ends`,
        );
      }
      if (!f.fetch(this.pos, 8)) return this.starvedOrTruncated(this.pos, 8, 'a chunk header');
      const csize = f.dv.getUint32(f.at, this.owner.le);
      const usize = f.dv.getUint32(f.at + 4, this.owner.le);
      if (this.pos + 8 + csize > this.end) {
        throw this.owner.corrupt(this.pos, `CPU ${this.cpu}: a chunk of ${csize} bytes runs past the CPU's data`);
      }
      if (!f.fetch(this.pos + 8, csize)) return this.starvedOrTruncated(this.pos + 8, csize, 'a compressed chunk');
      const out = this.owner.inflate(f.buf.subarray(f.at, f.at + csize), usize, this.pos, `CPU ${this.cpu}'s data`);
      this.takeChunk(out, this.pos, rem);
      this.pos += 8 + csize;
      this.chunksLeft--;
    }
  }

  private takeChunk(out: Uint8Array, at: number, rem: number): void {
    this.chunkAt = at;
    let next = out;
    if (rem > 0) {
      // a sub-buffer split across chunks (chunks are page-aligned, sub-buffers may be larger)
      next = new Uint8Array(rem + out.length);
      next.set(this.chunk.subarray(this.cpos), 0);
      next.set(out, rem);
    }
    this.chunk = next;
    this.chunkDv = new DataView(next.buffer, next.byteOffset, next.byteLength);
    this.cpos = 0;
  }

  /** What a STARVED stream waits for in readFile mode (null: more pushed bytes). */
  waiting(): Promise<void> | null {
    return this.feed?.waiting() ?? null;
  }
}

const WAIT = 1;

interface FeedBatch {
  /** File offset of each chunk (its header). */
  ats: number[];
  done: boolean;
  result: BatchResult | null;
  /** Damage found while reading ahead, thrown when the merge gets here. */
  fail: InputError | null;
  promise: Promise<void>;
}

/**
 * readFile mode: one CPU's compressed chunks, read ahead in batches and
 * decompressed by the worker pool while the merge decodes earlier ones.
 * At most `depth` batches per CPU are in flight or waiting.
 */
class ChunkFeed {
  private readonly batches: FeedBatch[] = [];
  private idx = 0;
  private broken = false;
  private readonly depth: number;

  constructor(
    private readonly owner: TraceDatParser,
    private readonly src: FileSource,
    private readonly pool: ChunkDecompressor,
    private readonly cpu: number,
    private pos: number,
    private readonly end: number,
    private left: number,
  ) {
    this.depth = pool.depth;
    this.refill();
  }

  private failBatch(e: InputError): void {
    this.broken = true;
    this.batches.push({ ats: [0], done: true, result: null, fail: e, promise: Promise.resolve() });
  }

  private refill(): void {
    while (!this.broken && this.left > 0 && this.batches.length < this.depth) {
      if (this.pos + 8 > this.end) {
        this.failBatch(
          this.owner.corrupt(this.pos, `CPU ${this.cpu}: ${this.left} more chunks announced, but its data ends`),
        );
        return;
      }
      // up to the end of the file: a cut file still gives the chunks before the cut
      const avail = Math.min(this.pool.batchBytes, this.end - this.pos, this.src.length - this.pos);
      let buf = avail >= 8 ? this.src.get(this.pos, avail) : null;
      if (!buf) {
        this.failBatch(this.owner.truncated(this.pos, 8, `a chunk header of CPU ${this.cpu}`));
        return;
      }
      const jobs: Job[] = [];
      const ats: number[] = [];
      let q = 0;
      let fail: InputError | null = null;
      for (;;) {
        if (this.left === 0 || q + 8 > buf.length) break;
        const dv = new DataView(buf.buffer, buf.byteOffset + q, 8);
        const csize = dv.getUint32(0, this.owner.le);
        const usize = dv.getUint32(4, this.owner.le);
        const at = this.pos + q;
        if (at + 8 + csize > this.end) {
          fail = this.owner.corrupt(at, `CPU ${this.cpu}: a chunk of ${csize} bytes runs past the CPU's data`);
          break;
        }
        if (q + 8 + csize > buf.length) {
          if (jobs.length > 0) break;
          // one chunk bigger than a batch: read it whole
          const whole = this.src.get(at, 8 + csize);
          if (!whole) {
            fail = this.owner.truncated(at + 8, csize, `a compressed chunk of CPU ${this.cpu}`);
            break;
          }
          buf = whole;
        }
        jobs.push({ off: q + 8, csize, usize });
        ats.push(at);
        q += 8 + csize;
        this.left--;
      }
      this.pos += q;
      if (jobs.length > 0) {
        const batch: FeedBatch = { ats, done: false, result: null, fail: null, promise: Promise.resolve() };
        batch.promise = this.pool.run(buf.subarray(0, q), jobs).then(
          (r) => {
            batch.result = r;
            batch.done = true;
          },
          (e: unknown) => {
            batch.fail = this.owner.corrupt(ats[0]!, `decompressing CPU ${this.cpu}'s data failed: ${String(e)}`);
            batch.done = true;
          },
        );
        this.batches.push(batch);
      }
      if (fail) {
        this.failBatch(fail);
        return;
      }
    }
  }

  /** The next chunk and its file offset; null after the last; WAIT while it is being decompressed. */
  take(): { out: Uint8Array; at: number } | null | typeof WAIT {
    for (;;) {
      const b = this.batches[0];
      if (!b) return null;
      if (!b.done) return WAIT;
      if (b.fail) throw b.fail;
      if (this.idx >= b.ats.length) {
        this.batches.shift();
        this.idx = 0;
        this.refill();
        continue;
      }
      const i = this.idx++;
      const out = b.result!.outs[i];
      if (!out) {
        throw this.owner.corrupt(
          b.ats[i]!,
          `corrupt ${this.owner.compressionName()} data in CPU ${this.cpu}'s data (${b.result!.errors[i] ?? '?'})`,
        );
      }
      b.result!.outs[i] = null;
      return { out, at: b.ats[i]! };
    }
  }

  waiting(): Promise<void> | null {
    const b = this.batches[0];
    return b && !b.done ? b.promise : null;
  }
}

// ---------------------------------------------------------------- metadata reading

class MetaError extends Error {}

/** A cursor over an in-memory metadata block. */
class Cur {
  p = 0;
  readonly dv: DataView;
  constructor(
    readonly b: Uint8Array,
    readonly le: boolean,
  ) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  need(n: number): void {
    if (n < 0 || this.p + n > this.b.length) throw new MetaError(`ends at byte ${this.b.length} of ${this.b.length}`);
  }
  u16(): number {
    this.need(2);
    const v = this.dv.getUint16(this.p, this.le);
    this.p += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.dv.getUint32(this.p, this.le);
    this.p += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const lo = this.dv.getUint32(this.le ? this.p : this.p + 4, this.le);
    const hi = this.dv.getUint32(this.le ? this.p + 4 : this.p, this.le);
    this.p += 8;
    if (hi >= 0x200000)
      throw new MetaError(
        `a 64-bit size or offset of ${hi.toString(16)}${lo.toString(16).padStart(8, '0')} is not plausible`,
      );
    return hi * TWO32 + lo;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.b.subarray(this.p, this.p + n);
    this.p += n;
    return v;
  }
  text(n: number): string {
    return latin1(this.bytes(n));
  }
  cstr(): string {
    let e = this.p;
    while (e < this.b.length && this.b[e] !== 0) e++;
    if (e >= this.b.length) throw new MetaError('a string is not NUL-terminated');
    const s = latin1(this.b.subarray(this.p, e));
    this.p = e + 1;
    return s;
  }
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

function utf8(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
}

// ---------------------------------------------------------------- the parser

export class TraceDatParser {
  readonly facts: InputFacts = noInputFacts();
  /** Records read from the ring buffer (every event type), for summaries. */
  get lines(): number {
    return this.out.lines;
  }
  /** Events handed to the sink. */
  get events(): number {
    return this.out.events;
  }
  /** Records of events dmadebug does not read. */
  get skipped(): number {
    return this.out.skipped;
  }
  /** Malformed records (not emitted), and notes about the file. */
  warnings = 0;
  readonly warningList: ParseWarning[] = [];
  /** Notes about the file that are not damage: which buffer instance was read, clock caveats. */
  readonly notes: string[] = [];
  /** File version (6 or 7), once the header is read. */
  version = 0;
  /** The buffer being read ('' = top), once chosen. */
  bufferName = '';

  private readonly names: Names;
  private readonly sink: EventSink;
  private readonly file: string;
  private readonly instance: string | undefined;

  private src: Source | null = null;
  private store: Store | null = null;
  private ended = false;
  private failed: unknown = null;

  // the container
  le = true;
  private pageSize = 4096;
  private compression: Compression = 'none';
  private header: PageHeader | null = null;
  private readonly formats: EventFormat[] = [];
  /** Format files still to parse: index in formats -> text. */
  private readonly formatText = new Map<number, string>();
  private kallsymsText = '';
  private kallsyms: Kallsyms | null = null;
  private readonly printk = new Map<string, string>();
  private readonly cmdlines = new Map<number, string>();
  private readonly buffers: BufferInfo[] = [];
  /** v7: BUFFER options by the offset of their section. */
  private readonly bufferOpts: Array<{ at: number; info: BufferInfo }> = [];
  /** v7 data sections walked: start offset -> flags, body range. */
  private readonly dataSections = new Map<number, { flags: number; body: number; end: number }>();
  private readonly optionsAt = new Set<number>();
  private readonly optionsWanted = new Set<number>();
  private stringsSize = 0;
  private maxDesc = -1;
  /** CPUSTAT lines go to this buffer name ('' = top) until a `Buffer: name` marker. */
  private statsFor = '';
  private readonly statsByName = new Map<string, string[]>();
  private v6Cpus = 0;
  /** v7: the CPUCOUNT option (0: not seen). */
  private cpuCount = 0;
  /** v6 instance buffers: name -> offset of their `flyrecord` table. */
  private readonly v6Instances: Array<{ name: string; at: number }> = [];

  // progress of the container parse (push mode keeps bytes from min(planPos, keepFrom))
  private plan: Generator<void, void, unknown> | null = null;
  private planPos = 0;
  private keepFrom = Number.POSITIVE_INFINITY;

  // the merge
  private streams: CpuStream[] = [];
  private kinds = new Int16Array(0);
  private plans: Array<Plan | undefined> = [];
  private readonly out: RingRecords;
  private readonly lead = new MergeLead();
  private merging = false;
  private done = false;
  /** The stream the merge waits for (readFile mode: its chunks are being decompressed). */
  private blocked: CpuStream | null = null;
  /** The error of the latest truncation found (recoverV7 tells it from other damage). */
  private lastTruncation: InputError | null = null;
  /** The first damage that cut a CPU's stream short (thrown when the merge ends). */
  private damage: InputError | null = null;
  /** Time stamp of the record the merge emitted last. */
  private nowHi = 0;
  private nowLo = 0;
  private pool: ChunkDecompressor | null = null;
  private threads: number | undefined;
  private zstdTool: boolean | undefined;
  private tscNoted = false;

  constructor(opts: TraceDatParserOptions) {
    this.names = opts.names;
    this.sink = opts.sink;
    this.out = new RingRecords({
      names: this.names,
      sink: this.sink,
      commName: (pid) => this.cmdlines.get(pid) ?? '<...>',
      warn: (message) => this.warn(this.lines, message),
    });
    this.file = opts.file;
    this.instance = opts.instance;
  }

  // ------------------------------------------------------------ the two ways in

  /** Feeds the next bytes of the file (any chunk size; the chunk is not kept). */
  push(chunk: Uint8Array): void {
    if (this.ended) throw new Error('TraceDatParser: push() after end()');
    if (this.failed) throw this.failed;
    if (this.src && !this.store) throw new Error('TraceDatParser: push() after readFile()');
    if (!this.store) {
      this.store = new Store();
      this.src = this.store;
    }
    // bytes after everything was decoded (v6 trailers) are not kept
    if (chunk.length === 0 || this.done) return;
    this.store.append(chunk);
    this.drive(Number.POSITIVE_INFINITY);
  }

  /** The input is complete: decodes what is left; throws InputError when the file was cut short. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.failed) throw this.failed;
    if (!this.store) {
      this.store = new Store();
      this.src = this.store;
    }
    this.store.complete = true;
    this.drive(Number.POSITIVE_INFINITY);
    if (!this.done) throw new InputError(this.file, `byte ${this.store.length}`, 'the trace.dat ends early');
  }

  /**
   * Reads a trace.dat file by position (bounded memory: metadata, one read
   * window and one decompressed chunk per CPU). Use instead of push()/end().
   */
  async readFile(path: string, opts: ReadFileOptions = {}): Promise<void> {
    if (this.src) throw new Error('TraceDatParser: readFile() after push()');
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new InputError(this.file, '', code === 'ENOENT' ? 'no such file or directory' : `cannot open: ${code}`);
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new InputError(this.file, '', 'not a regular file (use push() for pipes)');
      this.src = new FileSource(fd, st.size);
      this.ended = true;
      if (opts.threads !== undefined) this.threads = Math.max(0, Math.min(16, Math.floor(opts.threads)));
      this.zstdTool = opts.zstdTool;
      let next = 65536;
      for (;;) {
        this.blocked = null;
        const before = this.lines;
        this.drive(65536);
        if (this.done) break;
        const wait = (this.blocked as CpuStream | null)?.waiting();
        if (wait) await wait;
        else if (this.lines === before) throw new Error('TraceDatParser: readFile made no progress (a bug)');
        if (opts.onProgress && this.events >= next) {
          next = this.events + 65536;
          await opts.onProgress(this.events);
        }
      }
    } finally {
      closeSync(fd);
      await this.pool?.close();
      this.pool = null;
    }
  }

  // ------------------------------------------------------------ driving

  /** Runs the container parse, then the merge, as far as the bytes allow. */
  private drive(budget: number): void {
    try {
      if (!this.plan) this.plan = this.planGen();
      if (!this.merging) {
        const r = this.plan.next();
        if (!r.done) {
          this.gc();
          return;
        }
        this.merging = true;
        this.gc();
      }
      if (!this.done) {
        const r = this.pump(budget);
        if (r === DONE) this.done = true;
        this.gc();
      }
    } catch (e) {
      // a metadata field that made no sense outside a section parser: still damage at a place
      const err = e instanceof MetaError ? this.corrupt(this.planPos, `corrupt header: ${e.message}`) : e;
      this.failed = err;
      throw err;
    }
  }

  /** Push mode: forget the bytes nothing will read again. */
  private gc(): void {
    const st = this.store;
    if (!st || st.segs.length === 0) return;
    const live: number[] = [];
    if (!this.merging) {
      live.push(Math.min(this.planPos, this.keepFrom), Number.POSITIVE_INFINITY);
    } else {
      for (const s of this.streams) if (s.state !== DONE) live.push(s.pos, s.end);
    }
    st.retain(live);
  }

  /** The file in readFile mode (null in push mode). */
  fileSource(): FileSource | null {
    return this.src instanceof FileSource ? this.src : null;
  }

  compressionName(): string {
    return this.compression;
  }

  sourceComplete(): boolean {
    return this.src?.complete ?? false;
  }

  truncated(pos: number, len: number, what: string): InputError {
    this.lastTruncation = this.truncation(pos, len, what);
    return this.lastTruncation;
  }

  private truncation(pos: number, len: number, what: string): InputError {
    const have = this.src?.length ?? 0;
    const bytes = `${len} byte${len === 1 ? '' : 's'} at byte ${pos}`;
    if (pos >= have && this.merging) {
      // the wanted bytes start past the end: say whose data the end cuts, too
      const cut = this.streams.find((s) => s.start < have && have < s.end);
      const inside = cut ? `, inside CPU ${cut.cpu}'s data (${cut.end - cut.start} bytes at byte ${cut.start})` : '';
      return new InputError(this.file, `byte ${have}`, `the file ends before ${what} (${bytes})${inside}`);
    }
    return new InputError(
      this.file,
      `byte ${Math.min(have, pos + len)}`,
      `the file ends inside ${what} (${bytes}; the file has ${have})`,
    );
  }

  corrupt(pos: number, what: string): InputError {
    return new InputError(this.file, `byte ${pos}`, what);
  }

  inflate(data: Uint8Array, usize: number, at: number, what: string): Uint8Array {
    if (data.length >= SYNC_TOOL_MIN_BYTES) {
      const out = this.syncTool()?.block(data, usize);
      if (out) return out;
    }
    try {
      return inflateBlock(this.compression as 'zstd' | 'zlib', data, usize);
    } catch (e) {
      throw this.corrupt(at, `corrupt ${this.compression} data in ${what} (${(e as Error).message ?? String(e)})`);
    }
  }

  /** The system zstd, run per block or batch, when this file is zstd and it is allowed and on PATH; else null. */
  private syncTool(): ZstdSync | null {
    if (this.zstdSync === undefined) {
      this.zstdSync = this.compression === 'zstd' && (this.zstdTool ?? onPath('zstd')) ? new ZstdSync() : null;
    }
    return this.zstdSync;
  }
  private zstdSync: ZstdSync | null | undefined;

  /** Something worth saying about the file that is not damage (which instance was read, clocks). */
  private note(message: string): void {
    if (this.notes.length < MAX_WARNINGS_KEPT) this.notes.push(message);
  }

  private warn(line: number, message: string): void {
    this.warnings++;
    if (this.warningList.length < MAX_WARNINGS_KEPT) this.warningList.push({ line, message });
  }

  // ------------------------------------------------------------ container parse

  /** bytes [pos, pos + len), waiting for them in push mode. */
  private *need(pos: number, len: number, what: string): Generator<void, Uint8Array, unknown> {
    if (len > MAX_META && len > (this.src?.length ?? 0))
      throw this.corrupt(pos, `${what}: a size of ${len} bytes is not plausible`);
    for (;;) {
      const src = this.src!;
      if (pos + len <= src.length) {
        const v = src.get(pos, len);
        if (v) return v;
      }
      if (src.complete) throw this.truncated(pos, len, what);
      yield;
    }
  }

  private *cstring(pos: number, max: number, what: string): Generator<void, [string, number], unknown> {
    for (;;) {
      const src = this.src!;
      const avail = Math.min(max, src.length - pos);
      if (avail > 0) {
        const v = src.get(pos, avail)!;
        const z = v.indexOf(0);
        if (z >= 0) return [latin1(v.subarray(0, z)), pos + z + 1];
        if (avail === max) throw this.corrupt(pos, `${what} is not a NUL-terminated string`);
      }
      if (src.complete) throw this.truncated(pos, avail + 1, what);
      yield;
    }
  }

  private *planGen(): Generator<void, void, unknown> {
    const head = yield* this.need(0, 10, 'the trace.dat magic');
    for (let i = 0; i < MAGIC.length; i++) {
      if (head[i] !== MAGIC[i]) {
        throw this.corrupt(i, 'not a trace.dat file (expected the magic \\x17\\x08D followed by "tracing")');
      }
    }
    const [ver, p1] = yield* this.cstring(10, 16, 'the file version');
    if (ver !== '6' && ver !== '7') {
      throw this.corrupt(10, `unsupported trace.dat version ${quoted(ver)} (this reader knows versions 6 and 7)`);
    }
    this.version = Number(ver);
    const fixed = yield* this.need(p1, 6, 'the file header');
    if (fixed[0]! > 1) throw this.corrupt(p1, `bad endianness flag ${fixed[0]} (expected 0 or 1)`);
    this.le = fixed[0] === 0;
    const dv = new DataView(fixed.buffer, fixed.byteOffset, 6);
    this.pageSize = dv.getUint32(2, this.le);
    if (this.pageSize < 256 || this.pageSize > 1 << 24 || (this.pageSize & (this.pageSize - 1)) !== 0) {
      throw this.corrupt(p1 + 2, `implausible page size ${this.pageSize}`);
    }
    let pos = p1 + 6;
    if (this.version === 7) {
      const [zname, p2] = yield* this.cstring(pos, 64, 'the compression name');
      const [, p3] = yield* this.cstring(p2, 64, 'the compression version');
      if (zname !== 'none' && zname !== 'zstd' && zname !== 'zlib') {
        throw this.corrupt(pos, `unsupported compression ${quoted(zname)} (this reader knows zstd and zlib)`);
      }
      this.compression = zname;
      const off = yield* this.need(p3, 8, 'the offset of the first options section');
      const first = new Cur(off, this.le).u64();
      this.optionsWanted.add(first);
      pos = p3 + 8;
      this.planPos = pos;
      try {
        yield* this.walkSections(pos);
        this.finishV7(false);
      } catch (e) {
        // a file cut short after its ring-buffer data began: read what the data still holds
        if (e !== this.lastTruncation || !this.recoverV7(e as InputError)) throw e;
      }
    } else {
      yield* this.readV6(pos);
    }
    if (!this.header) throw this.corrupt(0, 'the file has no header_page (ring buffer layout)');
    this.parseFormats();
    yield* this.choose();
  }

  // ---- v7

  private *walkSections(pos: number): Generator<void, void, unknown> {
    for (;;) {
      this.planPos = pos;
      const src = this.src!;
      if (pos === src.length) {
        if (src.complete) return;
        yield;
        continue;
      }
      const h = yield* this.need(pos, 16, 'a section header');
      const c = new Cur(h, this.le);
      const id = c.u16();
      const flags = c.u16();
      const desc = c.u32();
      let size: number;
      try {
        size = c.u64();
      } catch (e) {
        throw this.corrupt(pos + 8, `section ${id}: ${(e as Error).message}`);
      }
      if (desc > this.maxDesc) this.maxDesc = desc;
      const body = pos + 16;
      const compressed = (flags & 1) !== 0;
      const known = id === OPT_DONE || (id >= SEC_STRINGS && id <= SEC_CMDLINES);
      if (compressed && this.compression === 'none' && known) {
        throw this.corrupt(pos, `section ${id} is marked compressed in a file without compression`);
      }
      switch (id) {
        case OPT_BUFFER:
        case OPT_BUFFER_TEXT:
          // ring-buffer data: read later, per CPU, once the options say whose it is
          this.dataSections.set(pos, { flags, body, end: body + size });
          if (pos < this.keepFrom) this.keepFrom = pos;
          break;
        case OPT_DONE: {
          this.optionsAt.add(pos);
          const b = yield* this.sectionBody(body, size, compressed, 'options');
          this.meta(body, 'options', () => this.options7(b));
          break;
        }
        case SEC_HEADER_INFO: {
          const b = yield* this.sectionBody(body, size, compressed, 'header info');
          this.meta(body, 'header info', () => this.headerInfo(new Cur(b, this.le)));
          break;
        }
        case SEC_FTRACE_EVENTS: {
          const b = yield* this.sectionBody(body, size, compressed, 'ftrace events');
          this.meta(body, 'ftrace events', () => this.ftraceFormats(new Cur(b, this.le)));
          break;
        }
        case SEC_EVENT_FORMATS: {
          const b = yield* this.sectionBody(body, size, compressed, 'event formats');
          this.meta(body, 'event formats', () => this.eventFormats(new Cur(b, this.le)));
          break;
        }
        case SEC_KALLSYMS: {
          const b = yield* this.sectionBody(body, size, compressed, 'kallsyms');
          this.meta(body, 'kallsyms', () => {
            const cur = new Cur(b, this.le);
            this.kallsymsText = cur.text(cur.u32());
          });
          break;
        }
        case SEC_PRINTK: {
          const b = yield* this.sectionBody(body, size, compressed, 'printk formats');
          this.meta(body, 'printk formats', () => {
            const cur = new Cur(b, this.le);
            parsePrintkFormats(utf8(cur.bytes(cur.u32())), this.printk);
          });
          break;
        }
        case SEC_CMDLINES: {
          const b = yield* this.sectionBody(body, size, compressed, 'command lines');
          this.meta(body, 'command lines', () => {
            const cur = new Cur(b, this.le);
            parseCmdlines(utf8(cur.bytes(cur.u64())), this.cmdlines);
          });
          break;
        }
        case SEC_STRINGS: {
          const b = yield* this.sectionBody(body, size, compressed, 'strings');
          this.stringsSize += b.length;
          break;
        }
        default:
          // a section this reader does not need (trace-cmd 3.4's BTF and modules files, anything
          // newer): skip it unread, whatever its flags (its bytes are not kept)
          break;
      }
      pos = body + size;
    }
  }

  /** A section's data, decompressed when the section is. */
  private *sectionBody(
    body: number,
    size: number,
    compressed: boolean,
    what: string,
  ): Generator<void, Uint8Array, unknown> {
    if (!compressed) {
      const v = yield* this.need(body, size, `the ${what} section`);
      return v.slice();
    }
    if (size < 8) throw this.corrupt(body, `the compressed ${what} section has no room for its sizes`);
    const h = yield* this.need(body, 8, `the ${what} section`);
    const dv = new DataView(h.buffer, h.byteOffset, 8);
    const csize = dv.getUint32(0, this.le);
    const usize = dv.getUint32(4, this.le);
    if (8 + csize > size)
      throw this.corrupt(body, `the ${what} section holds ${csize} compressed bytes in ${size - 8}`);
    const data = yield* this.need(body + 8, csize, `the ${what} section`);
    return this.inflate(data, usize, body, `the ${what} section`);
  }

  /** Runs a metadata parser, turning its complaints into an InputError at `at`. */
  private meta(at: number, what: string, f: () => void): void {
    try {
      f();
    } catch (e) {
      if (e instanceof MetaError) throw this.corrupt(at, `corrupt ${what}: ${e.message}`);
      throw e;
    }
  }

  private options7(b: Uint8Array): void {
    const c = new Cur(b, this.le);
    for (;;) {
      const id = c.u16();
      const size = c.u32();
      const data = c.bytes(size);
      if (id === OPT_DONE) {
        const next = new Cur(data, this.le).u64();
        if (next !== 0) this.optionsWanted.add(next);
        return;
      }
      this.option(id, data);
    }
  }

  /** Options common to v6 and v7. */
  private option(id: number, data: Uint8Array): void {
    const c = new Cur(data, this.le);
    switch (id) {
      case OPT_CPUSTAT: {
        const text = latin1(data).replace(/\0+$/, '');
        const m = /^\s*Buffer:\s*(.*?)\s*$/m.exec(text);
        if (m && !/\bCPU:/.test(text)) {
          this.statsFor = m[1]!;
          return;
        }
        const list = this.statsByName.get(this.statsFor) ?? [];
        this.statsByName.set(this.statsFor, list);
        list.push(text);
        return;
      }
      case OPT_BUFFER:
      case OPT_BUFFER_TEXT: {
        const at = c.u64();
        const name = c.cstr();
        if (this.version === 6) {
          this.v6Instances.push({ name, at });
          if (at < this.keepFrom) this.keepFrom = at;
          return;
        }
        c.cstr(); // clock
        const info: BufferInfo = { name, cpus: [], compressed: false, latency: id === OPT_BUFFER_TEXT, stats: [] };
        if (id === OPT_BUFFER) {
          // trace-cmd >= 3.1 stores the sub-buffer size before the CPU count
          const rem = data.length - c.p;
          const n0 = rem >= 4 ? c.dv.getUint32(c.p, this.le) : -1;
          const n1 = rem >= 8 ? c.dv.getUint32(c.p + 4, this.le) : -1;
          if (rem >= 8 && (rem - 8) % 20 === 0 && n1 * 20 === rem - 8) c.u32();
          else if (!((rem - 4) % 20 === 0 && n0 * 20 === rem - 4))
            throw new MetaError('a BUFFER option of an unknown layout');
          const n = c.u32();
          for (let i = 0; i < n; i++) {
            const cpu = c.u32();
            const offset = c.u64();
            const size = c.u64();
            info.cpus.push({ cpu, offset, size });
          }
        }
        this.bufferOpts.push({ at, info });
        return;
      }
      case OPT_CPUCOUNT:
        if (data.length >= 4) this.cpuCount = c.u32();
        return;
      case OPT_UNAME: {
        // the recording machine's uname: kernel evidence for the checks (engine/profiles.ts)
        const u = parseUname(latin1(data));
        if (u && this.facts.kernelRelease === null) {
          this.facts.kernelRelease = u.release;
          this.facts.machine = u.machine;
          this.facts.kernelSource = 'trace.dat uname option';
        }
        return;
      }
      case OPT_TSC2NSEC:
        if (!this.tscNoted) {
          this.tscNoted = true;
          this.note('time stamps are x86-tsc counts: the TSC2NSEC conversion is not applied (times are not seconds)');
        }
        return;
      default:
        // anything else (trace-cmd 3.4's LAST_BOOT_INFO, pointers to sections, ids not yet
        // invented) says nothing this reader needs: skipped by its size
        return;
    }
  }

  private headerInfo(c: Cur): void {
    const tag = c.text(12);
    if (tag !== 'header_page\0') throw new MetaError('expected "header_page"');
    const hp = c.text(c.u64());
    const h = parseHeaderPage(hp);
    if (!h) throw new MetaError('header_page has no 8-byte timestamp and 4- or 8-byte commit field');
    this.header = h;
    const tag2 = c.text(13);
    if (tag2 !== 'header_event\0') throw new MetaError('expected "header_event"');
    c.bytes(c.u64());
  }

  private ftraceFormats(c: Cur): void {
    const n = c.u32();
    for (let i = 0; i < n; i++) this.addFormat(c.text(c.u64()), 'ftrace');
  }

  private eventFormats(c: Cur): void {
    const systems = c.u32();
    for (let s = 0; s < systems; s++) {
      const sys = c.cstr();
      const n = c.u32();
      for (let i = 0; i < n; i++) this.addFormat(c.text(c.u64()), sys);
    }
  }

  private addFormat(text: string, system: string): void {
    // only the events dmadebug decodes need their fields (parsed once header_page,
    // which may come later in v7, gives the long size); the rest need an id
    const name = /^name:\s*(\S+)/m.exec(text)?.[1] ?? '';
    const id = /^ID:\s*(\d+)/m.exec(text)?.[1];
    if (id === undefined) return;
    const keep = decodedEventCode(system, name) !== 0 || this.formatText.size === 0;
    if (keep) this.formatText.set(this.formats.length, text);
    this.formats.push({ id: Number(id), system, name, fields: [] });
  }

  /** Fields of the formats kept as text (decoded events, and one for the common fields); which map events the kernel has. */
  private parseFormats(): void {
    const map = mapEventsOf(this.formats);
    if (map !== null) {
      this.facts.mapEvents = map;
      this.facts.mapEventsSource = 'trace.dat formats';
    }
    const longSize = this.header!.longSize;
    for (const [i, text] of this.formatText) {
      const f = this.formats[i]!;
      const parsed = parseEventFormat(text, f.system, longSize);
      if (parsed) this.formats[i] = parsed;
    }
    this.formatText.clear();
  }

  /** Checks the v7 layout and makes the buffers; `recovering`: the file ends early, skip what is missing. */
  private finishV7(recovering: boolean): void {
    if (!recovering) this.checkV7Complete();
    for (const { at, info } of this.bufferOpts) {
      const sec = this.dataSections.get(at);
      if (!sec)
        throw this.corrupt(
          at,
          `the BUFFER option of ${quoted(info.name)} points to byte ${at}, where no buffer section is`,
        );
      info.compressed = (sec.flags & 1) !== 0;
      if (info.compressed && this.compression === 'none') {
        throw this.corrupt(at, `buffer ${quoted(info.name)} is marked compressed in a file without compression`);
      }
      const counted = info.compressed && this.chunkCountInSize(info.cpus, sec.end);
      for (const c of info.cpus) {
        const extent = c.size + (info.compressed && !counted ? 4 : 0);
        if (c.size > 0 && (c.offset < sec.body || c.offset + extent > sec.end)) {
          throw this.corrupt(
            at,
            `buffer ${quoted(info.name)}: CPU ${c.cpu}'s data (${c.size} bytes at byte ${c.offset}) lies outside its section`,
          );
        }
        if (c.size > 0) c.size = extent;
      }
      this.buffers.push(info);
    }
  }

  /**
   * Does the file's size of each CPU's compressed data count the leading u32
   * chunk count? trace-cmd up to 3.1 left it out, 3.2 and later (commit
   * "libtracecmd: Fix tracecmd_compress_copy_from() write size return") count
   * it; trace-cmd's own reader goes by the chunk count and never looks. The
   * section ends where the last CPU's data does, which tells the two apart;
   * when it does not (not trace-cmd's layout), the old count if every CPU fits.
   */
  private chunkCountInSize(cpus: CpuData[], secEnd: number): boolean {
    let last: CpuData | null = null;
    for (const c of cpus) if (c.size > 0 && (!last || c.offset > last.offset)) last = c;
    if (!last) return false;
    const end = last.offset + last.size;
    if (end === secEnd) return true;
    if (end + 4 === secEnd) return false;
    return cpus.some((c) => c.size > 0 && c.offset + c.size + 4 > secEnd);
  }

  private checkV7Complete(): void {
    for (const want of this.optionsWanted) {
      if (!this.optionsAt.has(want)) {
        throw this.corrupt(
          this.src!.length,
          `the options section at byte ${want} is missing${want >= this.src!.length ? ' (the file ends early)' : ''}`,
        );
      }
    }
    if (this.maxDesc >= 0 && this.stringsSize === 0) {
      throw this.corrupt(this.src!.length, 'the strings section is missing (the file ends early)');
    }
  }

  /**
   * A v7 file cut short after its ring-buffer data began. trace-cmd writes a
   * buffer's BUFFER option (which says where each CPU's data lies) after its
   * data, so the buffer whose data the cut falls in has none: its layout is
   * rebuilt from its compressed data (each CPU's data starts page-aligned with
   * a chunk count, then its chunks; CPUs are numbered in file order). Its name
   * is in the strings section at the very end, so it is taken as --instance
   * when given. The truncation is thrown once everything readable was
   * delivered. False: nothing can be recovered.
   */
  private recoverV7(damage: InputError): boolean {
    if (!this.header || this.formats.length === 0) return false;
    this.finishV7(true);
    const src = this.src!;
    const described = new Set(this.bufferOpts.map((b) => b.at));
    const orphans = [...this.dataSections].filter(
      ([at, d]) => !described.has(at) && d.end > d.body && d.body < src.length,
    );
    this.damage = damage;
    if (orphans.length > 1) {
      this.note(`the file ends before the options that place ${orphans.length} buffers' data: they cannot be read`);
    }
    if (orphans.length !== 1) return true;
    const sec = orphans[0]![1];
    if ((sec.flags & 1) === 0) {
      this.note('the file ends before the options that place each CPU in its uncompressed data: none can be read');
      return true;
    }
    const name = this.instance ?? (this.buffers.some((b) => b.name === '') ? UNNAMED : '');
    const info: BufferInfo = { name, cpus: [], compressed: true, latency: false, stats: [] };
    const align = (x: number) => Math.ceil(x / this.pageSize) * this.pageSize;
    const u32 = (at: number) => {
      const b = src.get(at, 4);
      return b ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0, this.le) : -1;
    };
    let p = align(sec.body);
    let whole = true;
    while (p + 4 <= Math.min(sec.end, src.length)) {
      const count = u32(p);
      if (count < 0 || count > sec.end - p) break; // not a chunk count: the data ends here
      let q = p + 4;
      for (let i = 0; i < count && q + 8 <= src.length; i++) q += 8 + u32(q);
      whole = q <= src.length && q <= sec.end;
      info.cpus.push({ cpu: info.cpus.length, offset: p, size: (whole ? q : sec.end) - p });
      if (!whole) break;
      p = align(q);
    }
    const found = info.cpus.length;
    // CPUs whose data lies past the end: CPUCOUNT says how many; without it, at least one
    // more when the data section goes on past the end (each is cut short from the start)
    const more = whole && sec.end > src.length ? 1 : 0;
    for (let cpu = found; cpu < Math.max(this.cpuCount, found + more); cpu++) {
      info.cpus.push({ cpu, offset: src.length, size: 5 }); // a chunk count and more, all past the end
    }
    const which = this.instance !== undefined ? ` (taken to be buffer ${quoted(name)})` : '';
    this.note(
      `the file ends before the options that place each CPU's data${which}; found the data of ${found} CPU${found === 1 ? '' : 's'} by walking it (numbered in file order)`,
    );
    this.buffers.push(info);
    this.damage = new InputError(
      this.file,
      `byte ${src.length}`,
      `the file ends inside the ring-buffer data (${sec.end - sec.body} bytes at byte ${sec.body}), before the options that place each CPU's data`,
    );
    return true;
  }

  // ---- v6

  private *readV6(pos: number): Generator<void, void, unknown> {
    const meta = function* (this: TraceDatParser, at: number, sizeBytes: number, what: string) {
      const h = yield* this.need(at, sizeBytes, what);
      const c = new Cur(h, this.le);
      let n: number;
      try {
        n = sizeBytes === 8 ? c.u64() : c.u32();
      } catch (e) {
        throw this.corrupt(at, `${what}: ${(e as Error).message}`);
      }
      const b = yield* this.need(at + sizeBytes, n, what);
      return [b, at + sizeBytes + n] as const;
    }.bind(this);
    let t = yield* this.need(pos, 12, 'header_page');
    if (latin1(t) !== 'header_page\0') throw this.corrupt(pos, 'expected "header_page"');
    let [b, p] = yield* meta(pos + 12, 8, 'header_page');
    const h = parseHeaderPage(latin1(b));
    if (!h) throw this.corrupt(pos, 'header_page has no 8-byte timestamp and 4- or 8-byte commit field');
    this.header = h;
    t = yield* this.need(p, 13, 'header_event');
    if (latin1(t) !== 'header_event\0') throw this.corrupt(p, 'expected "header_event"');
    [b, p] = yield* meta(p + 13, 8, 'header_event');
    this.planPos = p;
    let c = yield* this.need(p, 4, 'the ftrace format count');
    let n = new DataView(c.buffer, c.byteOffset, 4).getUint32(0, this.le);
    p += 4;
    for (let i = 0; i < n; i++) {
      [b, p] = yield* meta(p, 8, 'an ftrace event format');
      this.addFormat(latin1(b), 'ftrace');
      this.planPos = p;
    }
    c = yield* this.need(p, 4, 'the event system count');
    const systems = new DataView(c.buffer, c.byteOffset, 4).getUint32(0, this.le);
    p += 4;
    for (let s = 0; s < systems; s++) {
      const [sys, p2] = yield* this.cstring(p, 256, 'an event system name');
      c = yield* this.need(p2, 4, 'an event count');
      n = new DataView(c.buffer, c.byteOffset, 4).getUint32(0, this.le);
      p = p2 + 4;
      for (let i = 0; i < n; i++) {
        [b, p] = yield* meta(p, 8, `an event format of ${sys}`);
        this.addFormat(latin1(b), sys);
        this.planPos = p;
      }
    }
    [b, p] = yield* meta(p, 4, 'kallsyms');
    this.kallsymsText = latin1(b);
    this.planPos = p;
    [b, p] = yield* meta(p, 4, 'printk formats');
    parsePrintkFormats(utf8(b), this.printk);
    [b, p] = yield* meta(p, 8, 'command lines');
    parseCmdlines(utf8(b), this.cmdlines);
    this.planPos = p;
    c = yield* this.need(p, 4, 'the CPU count');
    this.v6Cpus = new DataView(c.buffer, c.byteOffset, 4).getUint32(0, this.le);
    if (this.v6Cpus > 4096) throw this.corrupt(p, `implausible CPU count ${this.v6Cpus}`);
    p += 4;
    p = yield* this.v6Flyrecord(p, '', true);
  }

  /** `options  \0` (options) then `flyrecord\0` and the CPU table; returns the position after it. */
  private *v6Flyrecord(p: number, name: string, top: boolean): Generator<void, number, unknown> {
    let t = latin1(yield* this.need(p, 10, 'the data kind'));
    p += 10;
    if (t === 'options  \0') {
      for (;;) {
        const h = yield* this.need(p, 2, 'an option');
        const id = new DataView(h.buffer, h.byteOffset, 2).getUint16(0, this.le);
        p += 2;
        if (id === 0) break;
        const s = yield* this.need(p, 4, 'an option');
        const size = new DataView(s.buffer, s.byteOffset, 4).getUint32(0, this.le);
        const data = (yield* this.need(p + 4, size, 'an option')).slice();
        const at = p - 2;
        if (top) this.meta(at, 'option', () => this.option(id, data));
        p += 4 + size;
        this.planPos = p;
      }
      t = latin1(yield* this.need(p, 10, 'the data kind'));
      p += 10;
    }
    const info: BufferInfo = { name, cpus: [], compressed: false, latency: false, stats: [] };
    if (t === 'latency  \0') {
      info.latency = true;
      this.buffers.push(info);
      return p;
    }
    if (t !== 'flyrecord\0') throw this.corrupt(p - 10, 'expected "flyrecord" or "latency"');
    const table = yield* this.need(p, 16 * this.v6Cpus, 'the CPU data table');
    const c = new Cur(table, this.le);
    for (let i = 0; i < this.v6Cpus; i++) {
      let offset: number;
      let size: number;
      try {
        offset = c.u64();
        size = c.u64();
      } catch (e) {
        throw this.corrupt(p + i * 16, (e as Error).message);
      }
      info.cpus.push({ cpu: i, offset, size });
      if (size > 0 && offset < this.keepFrom) this.keepFrom = offset;
    }
    p += 16 * this.v6Cpus;
    this.planPos = p;
    this.buffers.push(info);
    return p;
  }

  // ---- choosing the buffer

  private *choose(): Generator<void, void, unknown> {
    if (this.version === 6) {
      for (const inst of this.v6Instances) {
        if (this.instance !== undefined && this.instance !== inst.name) continue;
        this.planPos = inst.at;
        yield* this.v6Flyrecord(inst.at, inst.name, false);
      }
    }
    for (const b of this.buffers) b.stats = this.statsByName.get(b.name) ?? [];
    const names = this.buffers.map((b) => (b.name === '' ? '(top)' : b.name));
    let chosen: BufferInfo | undefined;
    if (this.instance !== undefined) {
      chosen = this.buffers.find((b) => b.name === this.instance);
      if (!chosen) {
        throw new InputError(
          this.file,
          '',
          `no buffer instance "${this.instance}" in this trace.dat (it has: ${names.join(', ') || 'none'})`,
        );
      }
    } else {
      const top = this.buffers.find((b) => b.name === '');
      const others = this.buffers.filter((b) => b.name !== '' && !b.latency);
      if (others.length === 0 || (top && (yield* this.hasDma(top)))) {
        chosen = top;
      } else {
        const withDma: BufferInfo[] = [];
        for (const b of others) if (yield* this.hasDma(b)) withDma.push(b);
        if (withDma.length === 1) {
          chosen = withDma[0]!;
          this.note(`the top buffer has no dma events; reading buffer instance "${chosen.name}"`);
        } else {
          chosen = top;
          if (withDma.length > 1) {
            this.note(
              `the top buffer has no dma events but ${withDma.length} instances do (${withDma.map((b) => b.name).join(', ')}); choose one with --instance`,
            );
          }
        }
      }
    }
    this.bufferName = chosen?.name ?? '';
    if (chosen?.latency) {
      throw new InputError(
        this.file,
        '',
        'a latency-format trace.dat (text inside) is not supported; run `trace-cmd report` on it',
      );
    }
    this.prepareDecoding();
    // a file with no ring-buffer data (trace-cmd convert drops the BUFFER option of an
    // empty buffer) still keeps the top buffer's stats, whose overruns are the coverage
    const stats = chosen?.stats ?? (this.instance === undefined ? (this.statsByName.get('') ?? []) : []);
    this.facts.sawBufferHeader = stats.length > 0;
    for (const s of stats) {
      const m = /^overrun:\s*(\d+)/m.exec(s);
      if (m && Number(m[1]) > 0) {
        this.facts.overwritten = true;
        this.facts.overwrittenCount += Number(m[1]);
      }
    }
    if (chosen && this.src instanceof FileSource && chosen.compressed && this.compression !== 'none') {
      let bytes = 0;
      for (const c of chosen.cpus) bytes += c.size;
      const big = bytes >= POOL_MIN_BYTES;
      const tool = this.zstdTool ?? (big && this.threads === undefined && onPath('zstd'));
      if (this.compression === 'zstd' && tool) {
        this.pool = new InflatePool('zstd', 1, true);
      } else {
        const threads = this.threads ?? (big ? InflatePool.defaultThreads() : 0);
        if (threads > 0) this.pool = new InflatePool(this.compression, threads);
        else if (!big && this.threads === undefined) this.pool = this.syncTool(); // a small zstd file
      }
    }
    this.streams = chosen ? this.makeStreams(chosen, this.pool) : [];
    this.keepFrom = Number.POSITIVE_INFINITY;
  }

  private subbufSize(): number {
    const h = this.header!;
    return h.dataSize > 0 ? h.dataOffset + h.dataSize : this.pageSize;
  }

  private makeStreams(b: BufferInfo, pool: ChunkDecompressor | null = null): CpuStream[] {
    const cpus = b.cpus.filter((c) => c.size > 0).sort((x, y) => x.cpu - y.cpu);
    const src = this.src!;
    return cpus.map(
      (c) => new CpuStream(c.cpu, src.fetcher(), this, c, b.compressed, this.subbufSize(), this.header!, this.le, pool),
    );
  }

  /** Does the buffer hold any dma:* record? (Reads until the first one.) */
  private *hasDma(b: BufferInfo): Generator<void, boolean, unknown> {
    const dma = new Uint8Array(65536);
    for (const f of this.formats) if (f.system === 'dma' || f.name.startsWith('dma_')) dma[f.id & 0xffff] = 1;
    const { typeOff: off, typeSize: size } = commonFields(this.formats);
    for (const s of this.makeStreams(b)) {
      for (;;) {
        try {
          s.advance();
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          break; // damaged data: the merge will meet it again and cut this CPU short
        }
        if (s.state === STARVED) {
          yield;
          continue;
        }
        if (s.state === DONE) break;
        const r = s.reader;
        const id = size === 1 ? r.buf[r.recOff + off]! : r.dv.getUint16(r.recOff + off, this.le);
        if (dma[id] === 1) return true;
      }
    }
    return false;
  }

  private prepareDecoding(): void {
    const h = this.header!;
    this.kinds = new Int16Array(65536).fill(-1);
    for (const f of this.formats) this.kinds[f.id & 0xffff] = decodedEventCode(f.system, f.name) === 0 ? 0 : 1;
    this.plans = buildPlans(this.formats, h.longSize);
    const decoder = new RecordDecoder(
      this.names,
      this.le,
      h.longSize,
      () => {
        if (!this.kallsyms && this.kallsymsText !== '') {
          this.kallsyms = new Kallsyms(this.kallsymsText);
          this.kallsymsText = '';
        }
        return this.kallsyms;
      },
      this.printk,
    );
    this.out.configure(this.le, decoder, this.formats);
  }

  // ------------------------------------------------------------ the merge

  /** Emits records in time order until done, starved, or `budget` records were emitted. */
  private pump(budget: number): number {
    const streams = this.streams;
    const n = streams.length;
    const lead = this.lead;
    let emitted = 0;
    for (;;) {
      lead.reset();
      for (let i = 0; i < n; i++) {
        const st = streams[i]!;
        if (st.state !== HEAD) {
          if (st.state === DONE) continue;
          this.advance(st);
          if (st.state === STARVED) {
            this.blocked = st;
            return STARVED;
          }
          if (st.state === DONE) {
            this.flushLost(st);
            continue;
          }
        }
        lead.offer(i, st.reader.tsHi, st.reader.tsLo);
      }
      if (lead.best < 0) {
        // every stream ended; one cut short by damage makes the file's error the result
        if (this.damage) throw this.damage;
        return DONE;
      }
      const st = streams[lead.best]!;
      const r = st.reader;
      for (;;) {
        if (st.pendingLost.length > 0) this.flushLost(st);
        this.nowHi = r.tsHi;
        this.nowLo = r.tsLo;
        try {
          this.record(st);
        } catch (e) {
          this.cutShort(st, e);
          break;
        }
        emitted++;
        this.advance(st);
        if (st.state !== HEAD) break;
        if (!lead.stillFirst(r.tsHi, r.tsLo)) break;
        if (emitted >= budget) return HEAD;
      }
      if (emitted >= budget) return HEAD;
    }
  }

  /** st.advance(), except that damage in the stream ends that stream only (cutShort). */
  private advance(st: CpuStream): void {
    try {
      st.advance();
    } catch (e) {
      this.cutShort(st, e);
    }
  }

  /**
   * Damage in one CPU's data: the other CPUs are read on, with a CpuCutShort
   * event telling the checks that this CPU's later events are missing, and the
   * first such error is thrown once every stream has ended.
   */
  private cutShort(st: CpuStream, e: unknown): void {
    if (!(e instanceof InputError)) throw e;
    this.damage ??= e;
    if (st.pendingLost.length > 0) this.flushLost(st);
    st.state = DONE;
    this.out.emitCutShort(st.cpu, this.nowHi, this.nowLo);
  }

  /** Lost events of a stream, stamped with its current time. */
  private flushLost(st: CpuStream): void {
    for (const lost of st.pendingLost) this.out.emitLost(st.cpu, st.reader.tsHi, st.reader.tsLo, lost);
    st.pendingLost.length = 0;
  }

  /** Decodes and emits the head record of a stream. */
  private record(st: CpuStream): void {
    const r = st.reader;
    const id = this.out.recordId(r);
    if (id < 0) return;
    const k = this.kinds[id]!;
    if (k <= 0) {
      if (k < 0) {
        throw this.corrupt(
          st.pageAt,
          `CPU ${st.cpu}: a record of event id ${id}, which has no format in the file (corrupt data, or a format section is missing)`,
        );
      }
      this.out.skipped++;
      return;
    }
    this.out.emitRecord(r, st.cpu, this.plans[id]!);
  }
}
