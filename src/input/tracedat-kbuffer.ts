// The ring-buffer sub-buffer ("page") decoder: the kernel's ring_buffer.c
// layout as libtraceevent's kbuffer reads it. It owns walking the records of
// one sub-buffer and keeping the timestamp exact; it knows nothing of events.
//
// Sub-buffer: u64 timestamp, long commit (4 or 8 bytes), then `commit & (2^27-1)`
// bytes of records. Commit bit 31: events were lost before this page; bit 30:
// their count is stored as a long right after the records.
// Record header: u32 with a 5-bit type_len and a 27-bit time delta
// (little-endian: type_len in the low bits; big-endian: in the high bits):
//   0      data; the next u32 is the length + 4
//   1..28  data of type_len * 4 bytes
//   29     padding; the next u32 is the length after the header
//   30     time extend: delta += next u32 << 27
//   31     absolute time stamp: (next u32 << 27 | delta), top 5 bits from the current time
//
// Why it looks the way it does: this is the innermost loop of the trace.dat
// path (millions of records). Timestamps are 64-bit nanoseconds that pass 2^53
// after ~104 days of uptime, so they live in two u32 halves; nothing allocates.

export const COMMIT_MASK = (1 << 27) - 1;
export const MISSING_EVENTS = 0x80000000;
export const MISSING_STORED = 0x40000000;
const TWO32 = 0x100000000;

export const TYPE_PADDING = 29;
export const TYPE_TIME_EXTEND = 30;
export const TYPE_TIME_STAMP = 31;

/** Walks the records of one sub-buffer at a time. */
export class PageReader {
  /** The loaded sub-buffer's bytes live in buf[base, base + length). */
  buf: Uint8Array = new Uint8Array(0);
  dv: DataView = new DataView(new ArrayBuffer(0));
  base = 0;
  /** Absolute positions in buf: next header to read, end of committed data. */
  pos = 0;
  end = 0;
  /** Current time (ns) as u32 halves: the page time, advanced by each record's delta. */
  tsHi = 0;
  tsLo = 0;
  /** Events lost before this page: -1 none, 0 lost but not counted, > 0 the count. */
  lost = -1;
  /** The current data record: payload at buf[recOff, recOff + recLen). */
  recOff = 0;
  recLen = 0;
  /** The current data record's header (its type_len/time_delta word) in buf. */
  recHdr = 0;
  /**
   * Where the loaded sub-buffer starts in its source, set by the owner when it
   * loads one: a byte offset in the file, or in the CPU's (decompressed) data.
   * A record is then at pagePos + (recHdr - base), the offset libtracecmd
   * gives a record of an uncompressed file (tep_record.offset).
   */
  pagePos = 0;
  /** Why the page or a record is bad ('' = fine). Set by load()/next() when they return false. */
  error = '';

  constructor(
    readonly littleEndian: boolean,
    /** Kernel long size: 4 or 8 (the header_page `commit` field). */
    readonly longSize: number,
    /** Offset of the records in a sub-buffer (8 + longSize unless header_page says otherwise). */
    readonly dataOffset: number,
  ) {}

  /**
   * Loads the sub-buffer at buf[base, base + length). False (with `error`)
   * when its header is impossible: commit running past the sub-buffer.
   */
  load(buf: Uint8Array, dv: DataView, base: number, length: number): boolean {
    const le = this.littleEndian;
    this.buf = buf;
    this.dv = dv;
    this.base = base;
    this.error = '';
    if (length < this.dataOffset) {
      this.error = `a sub-buffer of ${length} bytes is shorter than its header (${this.dataOffset} bytes)`;
      return false;
    }
    if (le) {
      this.tsLo = dv.getUint32(base, true);
      this.tsHi = dv.getUint32(base + 4, true);
    } else {
      this.tsHi = dv.getUint32(base, false);
      this.tsLo = dv.getUint32(base + 4, false);
    }
    // commit is a long; its flag bits are in the low 32 bits
    const lowAt = le || this.longSize === 4 ? base + 8 : base + 12;
    const commit = dv.getUint32(lowAt, le);
    const size = commit & COMMIT_MASK;
    const start = base + this.dataOffset;
    const room = length - this.dataOffset;
    if (size > room) {
      this.error = `the sub-buffer commits ${size} bytes of records but holds only ${room}`;
      return false;
    }
    this.pos = start;
    this.end = start + size;
    this.lost = -1;
    if ((commit & MISSING_EVENTS) !== 0) {
      this.lost = 0;
      if ((commit & MISSING_STORED) !== 0 && size + this.longSize <= room) {
        const at = this.end;
        if (this.longSize === 4) this.lost = dv.getUint32(at, le);
        else if (le) this.lost = dv.getUint32(at + 4, true) * TWO32 + dv.getUint32(at, true);
        else this.lost = dv.getUint32(at, false) * TWO32 + dv.getUint32(at + 4, false);
      }
    }
    return true;
  }

  /**
   * Advances to the next data record (skipping time and padding records):
   * true with recOff/recLen and tsHi/tsLo set, false at the end of the page
   * (error '' ) or on a record that runs past the committed data (error set).
   */
  next(): boolean {
    const dv = this.dv;
    const le = this.littleEndian;
    const end = this.end;
    let p = this.pos;
    while (p < end) {
      if (p + 4 > end) return this.bad(p, 'a record header runs past the committed data');
      const w = dv.getUint32(p, le);
      let typeLen: number;
      let delta: number;
      if (le) {
        typeLen = w & 31;
        delta = w >>> 5;
      } else {
        typeLen = w >>> 27;
        delta = w & COMMIT_MASK;
      }
      if (typeLen >= 1 && typeLen <= 28) {
        const len = typeLen << 2;
        if (p + 4 + len > end) return this.bad(p, 'a record runs past the committed data');
        this.addDelta(delta);
        this.recHdr = p;
        this.recOff = p + 4;
        this.recLen = len;
        this.pos = p + 4 + len;
        return true;
      }
      if (p + 8 > end) return this.bad(p, 'a record header runs past the committed data');
      const arg = dv.getUint32(p + 4, le);
      if (typeLen === 0) {
        if (arg < 4) return this.bad(p, `a record claims a length of ${arg}`);
        // arg is a u32: no bitwise rounding (it would wrap past 2^31)
        const size = arg - 4;
        const len = size + ((4 - (size % 4)) % 4);
        if (p + 8 + len > end) return this.bad(p, 'a record runs past the committed data');
        this.addDelta(delta);
        this.recHdr = p;
        this.recOff = p + 8;
        this.recLen = arg - 4;
        this.pos = p + 8 + len;
        return true;
      }
      if (typeLen === TYPE_TIME_EXTEND) {
        // delta + (arg << 27): up to 59 bits
        const addHi = arg >>> 5;
        const addLo = (((arg & 31) << 27) | delta) >>> 0;
        const lo = this.tsLo + addLo;
        if (lo >= TWO32) {
          this.tsLo = lo - TWO32;
          this.tsHi = (this.tsHi + addHi + 1) >>> 0;
        } else {
          this.tsLo = lo;
          this.tsHi = (this.tsHi + addHi) >>> 0;
        }
        p += 8;
        continue;
      }
      if (typeLen === TYPE_TIME_STAMP) {
        this.tsHi = ((this.tsHi & 0xf8000000) | (arg >>> 5)) >>> 0;
        this.tsLo = (((arg & 31) << 27) | delta) >>> 0;
        p += 8;
        continue;
      }
      // padding: `arg` bytes follow the header (libtraceevent adds its delta, so do we)
      this.addDelta(delta);
      const next = p + 4 + arg;
      if (next > end || next <= p) {
        // a padding record to the end of the page
        break;
      }
      p = next;
    }
    this.pos = end;
    return false;
  }

  /** The current record's position in the source (see pagePos). */
  get recPos(): number {
    return this.pagePos + (this.recHdr - this.base);
  }

  private addDelta(delta: number): void {
    const lo = this.tsLo + delta;
    if (lo >= TWO32) {
      this.tsLo = lo - TWO32;
      this.tsHi = (this.tsHi + 1) >>> 0;
    } else {
      this.tsLo = lo;
    }
  }

  private bad(p: number, what: string): false {
    this.error = `${what} (record at offset ${p - this.base} of the sub-buffer)`;
    this.pos = this.end;
    return false;
  }
}
