// The trace.dat reader's per-CPU streams: the records of one CPU of one
// buffer, a sub-buffer (ring-buffer page) at a time, walked by PageReader.
// Plain data is fetched sub-buffer by sub-buffer through a Fetcher;
// compressed data (v7) is a chunk count, then chunks of u32 compressed size,
// u32 uncompressed size and the data, each inflated in turn (a sub-buffer may
// straddle two chunks). In readFile() mode with a decompressor pool, a
// ChunkFeed reads one CPU's chunks ahead in batches and has them inflated
// while the merge decodes earlier ones.
//
// Why its own file: this is the hot path's supply (pages, chunks); it knows
// nothing of the container's layout beyond one CPU's offset and size, nor of
// the merge, which only sees state HEAD/STARVED/DONE and the reader's head
// record. Damage is reported through the owning reader (StreamHost), which
// places it at a byte offset.

import type { InputError } from './errors.js';
import type { Fetcher, FileSource } from './tracedat-bytes.js';
import type { PageHeader } from './tracedat-format.js';
import type { BatchResult, ChunkDecompressor, Job } from './tracedat-inflate.js';
import { PageReader } from './tracedat-kbuffer.js';

/** What a stream needs from the reader that owns it. */
export interface StreamHost {
  /** The file's byte order. */
  readonly le: boolean;
  corrupt(pos: number, what: string): InputError;
  truncated(pos: number, len: number, what: string): InputError;
  /** No more bytes will come (push: end() was called; readFile: always). */
  sourceComplete(): boolean;
  /** The file in readFile mode (null in push mode). */
  fileSource(): FileSource | null;
  inflate(data: Uint8Array, usize: number, at: number, what: string): Uint8Array;
  compressionName(): string;
}

/** Stream states: the reader is on the next record; bytes not here yet; no more records. */
export const HEAD = 0;
export const STARVED = 1;
export const DONE = 2;

/** One buffer's CPU as the file describes it. */
export interface CpuData {
  cpu: number;
  offset: number;
  /** Bytes from offset (compressed data: its chunk count included, whichever way the file counts it). */
  size: number;
}

export interface BufferInfo {
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
export class CpuStream {
  state = STARVED;
  readonly reader: PageReader;
  /** Lost-event counts of pages not yet followed by a record (-1 never: 0 = uncounted). */
  readonly pendingLost: number[] = [];
  /** The merge's count of records emitted when this head came (its quiet promises: tracedat.ts). */
  headSince = 0;
  /** This head was promised quiet, or none may be (cut short). */
  promised = false;
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
  /** Where chunk[0] lies in this CPU's decompressed data (records' positions count from its start). */
  private chunkBase = 0;

  /** readFile mode with a worker pool: chunks come read ahead and decompressed. */
  private feed: ChunkFeed | null = null;

  constructor(
    readonly cpu: number,
    private readonly fetcher: Fetcher,
    private readonly owner: StreamHost,
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
    this.reader.pagePos = this.pos;
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
        this.reader.pagePos = this.chunkBase + this.cpos;
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
    // what the old chunk held before its unread tail (all of it when rem is 0)
    this.chunkBase += this.cpos;
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
    private readonly owner: StreamHost,
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
