// The trace.dat reader's byte stores: where its bytes come from and how
// they are looked at. Push mode keeps the received chunks still needed in a
// Store (segments, dropped once nothing will read them again); readFile()
// reads by position from a FileSource. Each per-CPU stream gets a Fetcher
// over either: a view of [pos, pos + len) valid until its next fetch (a
// store's segment in place, a window of the file), so the record decoding
// never copies. Cur is a cursor over an in-memory metadata block.
//
// Why its own file: the container parse and the per-CPU streams both read
// through these, and neither needs to know which way the file came in.

import { readSync } from 'node:fs';

/** Read window per CPU in readFile() mode. */
const FILE_WINDOW = 256 * 1024;
/** Push-mode store segments are at least this big (chunks are copied into them). */
const SEGMENT = 256 * 1024;
const TWO32 = 0x100000000;

/** Where the container parse reads from. */
export interface Source {
  /** bytes [pos, pos + len): a view valid until the next call, or null when not (yet) there. */
  get(pos: number, len: number): Uint8Array | null;
  /** Bytes there are (push: received so far; file: its size). */
  readonly length: number;
  /** No more bytes will come. */
  readonly complete: boolean;
  fetcher(): Fetcher;
}

/** Per-stream access to file bytes; results in buf/dv/at, valid until the next fetch. */
export interface Fetcher {
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
export class Store implements Source {
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
export class FileSource implements Source {
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

// ---------------------------------------------------------------- metadata blocks

/** A metadata field that makes no sense (the parse turns it into an InputError at a byte offset). */
export class MetaError extends Error {}

/** A cursor over an in-memory metadata block. */
export class Cur {
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
  /** A u32 size, then that many bytes. */
  sized32(): Uint8Array {
    return this.bytes(this.u32());
  }
  /** A u64 size, then that many bytes. */
  sized64(): Uint8Array {
    return this.bytes(this.u64());
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

export function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

export function utf8(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
}
