// The entry table: every live mapping the kernel's dma-debug would hold, with
// no object per mapping, threaded onto the kernel's own hash buckets so that
// lookups and the dump reproduce the kernel's answers and order exactly.
//
// Storage: fixed pages of 65536 entries, never copied or freed; growing adds a
// page. A page holds one kind: sg segments (type sg), which carry the sg
// record, or plain entries (single, coherent, ...), which do not. So memory is
// 44 bytes per plain entry and 56 per sg segment up to the high-water mark of
// each kind (plus at most one partly used page of each), whatever the trace
// length, and there is no copy-on-grow peak; 4 more in the pages where some
// entry has attrs (their own array per page, made at the first non-zero
// attrs: 6.12's profile keeps none, and most maps have none). Small fields
// are packed into one word (meta), the mapping task (pid, comm, cpu) is
// interned and shares a word with the stack id, and the rare values that do
// not fit their word (a size or line number >= 2^32 - 1 or not an integer, sg
// counts outside 0..65534, task ids from 65535 or stack ids from 65534 on) are
// kept exactly in side tables.
//
// A page is one Int32Array, field-major: a region of 65536 words per field,
// so a bucket walk reads only the compact `next`, address and meta regions.
// With i = entry & 0xffff (the page is pages[entry >>> 16]):
//
//   word i                next: bucket chain (live) or free list (free slot)
//   word 0x10000 + i      dma lo        word 0x20000 + i      dma hi
//   word 0x30000 + i      meta: dev (16 bits) | type (3) | dir (2) | mapErr (2)
//                         | flags (2) | epoch tag (7)
//   word 0x40000 + i      phys lo       word 0x50000 + i      phys hi
//   word 0x60000 + i      size (-1: in sizeEsc)
//   word 0x70000 + i      ts sec        word 0x80000 + i      ts ns (| TS_ESC: the
//                         seconds are past a u32, exactly in tsEsc)
//   word 0x90000 + i      line, or a binary record's byte offset (-1: in lineEsc,
//                         as for offsets past 4 GiB in a plain trace.dat)
//   word 0xa0000 + i      task | (stack + 1) << 16 (-1: in originEsc)
//   sg pages only (a plain entry reads as sg counts 0, call id 0, no next):
//   word 0xb0000 + i      sg counts: sgCall | sgMapped << 16 (-1: in sgEsc)
//   word 0xc0000 + i      sg call id    word 0xd0000 + i      next segment
//   attrPages[page][i]    attrs: the DMA_ATTR_* bits of the map (profiles that
//                         keep them); no array: 0 for every entry of the page
//
// The offsets are written as literals: V8 loads a module-level constant from
// its context on every use, which measured ~10% slower on these paths. The
// cacheline tracker and the sg index read the pages too (phys, meta).
//
// Buckets: index (dev_addr >> 13) & 16383, each a singly linked list in
// insertion order (head/tail per bucket). Exact lookups (unmap, free) and
// containing lookups (sync) both use the kernel's best-fit rule.
//
// Coverage epochs: an entry records a 7-bit tag of the loss epoch it was made
// in. When the tag wraps, every slot's tag is cleared to 0 (no live epoch has
// tag 0), so "made since the last loss" stays exact at one sweep per 127 losses.

import { IdPairTable, KeyTable } from '../base/key-table.js';
import type { DmaEvent } from './events.js';
import { EntryType } from './model.js';

export const HASH_SIZE = 16384;
/** In an ns word (ns < 10^9 < 2^30): the seconds are in tsEsc. */
const TS_ESC = 0x40000000;
const TWO32 = 4294967296;
export const HASH_SHIFT = 13;

/** Flag bits (flags()). */
export const F_PHYS_KNOWN = 1;
/** The sg call's arrays were truncated by the kernel (only the first segments are known). */
export const F_SG_TRUNCATED = 2;

/** Bucket of a DMA address: (addr >> 13) & 16383, from its halves. */
export function bucketOf(hi: number, lo: number): number {
  return ((lo >>> 13) | (hi << 19)) & 16383;
}

/** Entries per page (entry >>> 16 is the page, entry & 0xffff the index in it). */
export const PAGE_ENTRIES = 65536;
/** Words of a page of plain entries (11 fields) and of sg segments (14). */
const PLAIN_WORDS = 0xb0000;
const SG_WORDS = 0xe0000;
/** Bytes per entry of each kind (attrs not counted: see attrPages). */
export const PLAIN_ENTRY_BYTES = (PLAIN_WORDS / PAGE_ENTRIES) * 4;
export const SG_ENTRY_BYTES = (SG_WORDS / PAGE_ENTRIES) * 4;

/** Decoders of the meta word (meta()), for code that reads several fields of an entry. */
export function metaDev(m: number): number {
  return m & 0xffff;
}
export function metaType(m: number): number {
  return (m >>> 16) & 7;
}
export function metaDir(m: number): number {
  return (m >>> 19) & 3;
}
export function metaMapErr(m: number): number {
  return (m >>> 21) & 3;
}
export function metaPhysKnown(m: number): boolean {
  return (m & (F_PHYS_KNOWN << 23)) !== 0;
}

// An escaped word (its value is in a side table) holds -1 (all ones): the
// values kept in words stop short of it (sizes and lines to 0xfffffffe, the
// 16-bit halves to 0xfffe).

/** Does v fit a u32 word exactly (and not collide with the escape value)? */
function fitsWord(v: number): boolean {
  return v >>> 0 === v && v !== 0xffffffff;
}

/**
 * entry.start <= ref.start && entry.start + entry.size >= ref.start + ref.size,
 * in BigInt (only for DMA addresses past 2^53, where Numbers are not exact).
 */
function containsWide(ehi: number, elo: number, esize: number, hi: number, lo: number, size: number): boolean {
  const es = (BigInt(ehi) << 32n) | BigInt(elo);
  const rs = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  return es <= rs && es + BigInt(esize) >= rs + BigInt(size);
}

export class EntryTable {
  live = 0;
  /** Free slots of each kind (plain, sg): a list through `next`. */
  private freePlain = -1;
  private freeSg = -1;
  /** The next never-used slot of each kind, in its newest page (-1: none, add a page). */
  private growPlain = -1;
  private growSg = -1;
  /** The pages (never replaced: the cacheline tracker and the sg index hold it). */
  readonly pages: Int32Array[] = [];
  /** Per page, its entries' attrs; null until one of them has any. */
  private readonly attrPages: Array<Int32Array | null> = [];
  /** The current loss epoch's tag (1..127). */
  private tag = 1;
  /** Some CPU's later events are all missing: nothing can be fresh again. */
  private lossOngoing = false;

  /** Sizes that do not fit a u32 word. */
  private readonly sizeEsc = new Map<number, number>();
  /** sgCall/sgMapped pairs that do not fit 16 bits each. */
  private readonly sgEsc = new Map<number, [number, number]>();
  /** Lines (record offsets) that do not fit a u32 word. */
  private readonly lineEsc = new Map<number, number>();
  /** Timestamp seconds that do not fit a u32 word (the ns word has TS_ESC set). */
  private readonly tsEsc = new Map<number, number>();
  /** (task, stack) of entries where either id is past 65534. */
  private readonly originEsc = new IdPairTable();
  /** Next live sg call with the same (device, first physical address) key; heads only, rare. */
  private readonly alt = new Map<number, number>();

  // Tasks: (pid, comm, cpu) triples, interned.
  private readonly taskIds = new KeyTable(64);
  private taskPid = new Int32Array(64);
  private taskComm = new Int32Array(64);
  private taskCpu = new Uint16Array(64);
  private tasks = 0;
  /** The last task seen on each cpu (cpu & 255): cpu, pid, comm, task id. */
  private readonly taskCache = new Int32Array(256 * 4).fill(-1);

  readonly head = new Int32Array(HASH_SIZE).fill(-1);
  readonly tail = new Int32Array(HASH_SIZE).fill(-1);

  /** Slots that exist (allocated pages). */
  get cap(): number {
    return this.pages.length * PAGE_ENTRIES;
  }

  /** Bytes held by the pages (and attrs arrays), the bucket heads and the task table. */
  get bytes(): number {
    let n = 0;
    for (const p of this.pages) n += p.byteLength;
    for (const a of this.attrPages) if (a) n += a.byteLength;
    return n + HASH_SIZE * 8 + this.taskPid.length * 10;
  }

  /**
   * Takes a free slot and fills every field; `ev` (null for library calls) is
   * where it was mapped. The optional fields (phys, flags, sg fields, call id,
   * stack) start empty: the caller sets those, then calls link().
   */
  create(
    dev: number,
    hi: number,
    lo: number,
    size: number,
    type: number,
    dir: number,
    mapErr: number,
    ev: DmaEvent | null,
  ): number {
    const sg = type === EntryType.Sg;
    let id = sg ? this.freeSg : this.freePlain;
    if (id >= 0) {
      const nx = this.pages[id >>> 16]![id & 0xffff]!;
      if (sg) this.freeSg = nx;
      else this.freePlain = nx;
    } else {
      id = sg ? this.growSg : this.growPlain;
      if (id < 0) {
        id = this.pages.length << 16;
        this.pages.push(new Int32Array(sg ? SG_WORDS : PLAIN_WORDS));
        this.attrPages.push(null);
      }
      const nx = (id & 0xffff) === 0xffff ? -1 : id + 1;
      if (sg) this.growSg = nx;
      else this.growPlain = nx;
    }
    this.live++;
    if (this.sizeEsc.size + this.lineEsc.size + this.tsEsc.size + this.sgEsc.size + this.originEsc.size !== 0) {
      this.forgetEscapes(id);
    }
    const p = this.pages[id >>> 16]!;
    const i = id & 0xffff;
    p[i] = -1;
    p[0x10000 + i] = lo;
    p[0x20000 + i] = hi;
    p[0x30000 + i] = (dev & 0xffff) | ((type & 7) << 16) | ((dir & 3) << 19) | ((mapErr & 3) << 21) | (this.tag << 25);
    p[0x40000 + i] = 0;
    p[0x50000 + i] = 0;
    if (fitsWord(size)) {
      p[0x60000 + i] = size;
    } else {
      p[0x60000 + i] = -1;
      this.sizeEsc.set(id, size);
    }
    let line = 0;
    let task: number;
    if (ev) {
      p[0x70000 + i] = ev.tsSec;
      if (ev.tsSec < TWO32) {
        p[0x80000 + i] = ev.tsNs;
      } else {
        p[0x80000 + i] = ev.tsNs | TS_ESC;
        this.tsEsc.set(id, ev.tsSec);
      }
      task = this.taskOf(ev.pid, ev.comm, ev.cpu);
      line = ev.line;
    } else {
      p[0x70000 + i] = 0;
      p[0x80000 + i] = 0;
      task = this.taskOf(0, -1, 0);
    }
    if (fitsWord(line)) {
      p[0x90000 + i] = line;
    } else {
      p[0x90000 + i] = -1;
      this.lineEsc.set(id, line);
    }
    if (task < 0xffff) {
      p[0xa0000 + i] = task; // no stack yet
    } else {
      p[0xa0000 + i] = -1;
      this.originEsc.set(id, task, -1);
    }
    if (sg) {
      p[0xb0000 + i] = 0;
      p[0xc0000 + i] = 0;
      p[0xd0000 + i] = -1;
    }
    const a = this.attrPages[id >>> 16];
    if (a) a[i] = 0;
    if (this.alt.size !== 0) this.alt.delete(id);
    return id;
  }

  /** Drops the escaped values a slot's previous entry left. */
  private forgetEscapes(id: number): void {
    this.sizeEsc.delete(id);
    this.lineEsc.delete(id);
    this.tsEsc.delete(id);
    this.sgEsc.delete(id);
    this.originEsc.delete(id);
  }

  private taskOf(pid: number, comm: number, cpu: number): number {
    pid |= 0;
    comm |= 0;
    cpu &= 0xffff;
    const c = this.taskCache;
    const k = (cpu & 255) << 2;
    if (c[k] === cpu && c[k + 1] === pid && c[k + 2] === comm) return c[k + 3]!;
    let t = this.taskIds.get(cpu, pid, comm);
    if (t < 0) {
      t = this.tasks++;
      if (t === this.taskPid.length) {
        const n = t * 2;
        const a = new Int32Array(n);
        a.set(this.taskPid);
        this.taskPid = a;
        const b = new Int32Array(n);
        b.set(this.taskComm);
        this.taskComm = b;
        const u = new Uint16Array(n);
        u.set(this.taskCpu);
        this.taskCpu = u;
      }
      this.taskPid[t] = pid;
      this.taskComm[t] = comm;
      this.taskCpu[t] = cpu;
      this.taskIds.set(cpu, pid, comm, t);
    }
    c[k] = cpu;
    c[k + 1] = pid;
    c[k + 2] = comm;
    c[k + 3] = t;
    return t;
  }

  /** Appends the entry to the tail of its kernel bucket. */
  link(id: number): void {
    const p = this.pages[id >>> 16]!;
    const i = id & 0xffff;
    const b = bucketOf(p[0x20000 + i]!, p[0x10000 + i]!);
    const t = this.tail[b]!;
    if (t < 0) this.head[b] = id;
    else if (t >>> 16 === id >>> 16) p[t & 0xffff] = id;
    else this.pages[t >>> 16]![t & 0xffff] = id;
    this.tail[b] = id;
    p[i] = -1;
  }

  /** The entry before the one findExact() last returned, in its bucket (-1 = it was first). */
  private foundPrev = -1;

  /**
   * Unlinks the entry from its bucket and returns the slot to the free list
   * (its call id becomes 0). When the entry is the one findExact() last
   * returned and the bucket is unchanged since, no walk is needed.
   */
  release(id: number): void {
    const pages = this.pages;
    const p = pages[id >>> 16]!;
    const i = id & 0xffff;
    const b = bucketOf(p[0x20000 + i]!, p[0x10000 + i]!);
    let prev = this.foundPrev;
    // The predecessor's page: usually the entry's own.
    let q = prev >= 0 && prev >>> 16 !== id >>> 16 ? pages[prev >>> 16]! : p;
    if (prev < 0 ? this.head[b] !== id : q[prev & 0xffff] !== id) {
      prev = -1;
      let e = this.head[b]!;
      while (e >= 0 && e !== id) {
        prev = e;
        q = e >>> 16 === id >>> 16 ? p : pages[e >>> 16]!;
        e = q[e & 0xffff]!;
      }
      if (e !== id) prev = -2; // not linked
    }
    if (prev >= -1) {
      const nx = p[i]!;
      if (prev < 0) this.head[b] = nx;
      else q[prev & 0xffff] = nx;
      if (this.tail[b] === id) this.tail[b] = prev;
    }
    this.foundPrev = -1;
    if (p.length === SG_WORDS) {
      p[i] = this.freeSg;
      p[0xc0000 + i] = 0;
      this.freeSg = id;
    } else {
      p[i] = this.freePlain;
      this.freePlain = id;
    }
    this.live--;
  }

  // ------------------------------------------------------------------
  // Fields
  // ------------------------------------------------------------------

  /** The DMA_ATTR_* bits the entry keeps (0 unless set). */
  attrs(e: number): number {
    const a = this.attrPages[e >>> 16];
    return a ? a[e & 0xffff]! : 0;
  }
  setAttrs(e: number, attrs: number): void {
    let a = this.attrPages[e >>> 16];
    if (!a) {
      if (attrs === 0) return;
      a = this.attrPages[e >>> 16] = new Int32Array(PAGE_ENTRIES);
    }
    a[e & 0xffff] = attrs;
  }

  /**
   * Another live entry that check_unmap()'s exact lookup could equally have
   * taken for e (same device, address, size, type, direction and sg count) whose
   * attrs agree with `attrs` on `mask`; -1 when there is none.
   */
  findTwin(e: number, attrs: number, mask: number): number {
    const hi = this.dmaHi(e);
    const lo = this.dmaLo(e);
    const m = this.meta(e) & 0x1fffff; // dev, type, dir
    const size = this.size(e);
    const call = this.sgCall(e);
    for (let x = this.head[bucketOf(hi, lo)]!; x >= 0; x = this.next(x)) {
      if (x === e || this.dmaHi(x) !== hi || this.dmaLo(x) !== lo || (this.meta(x) & 0x1fffff) !== m) continue;
      if (this.size(x) !== size || this.sgCall(x) !== call) continue;
      if (((this.attrs(x) ^ attrs) & mask) === 0) return x;
    }
    return -1;
  }

  /** Next entry in the same bucket (-1 = last). */
  next(e: number): number {
    return this.pages[e >>> 16]![e & 0xffff]!;
  }
  /** The packed device, type, direction, map-error state and flags (decode with meta*()). */
  meta(e: number): number {
    return this.pages[e >>> 16]![0x30000 + (e & 0xffff)]!;
  }
  /** Device id as stored (16 bits). */
  dev(e: number): number {
    return this.meta(e) & 0xffff;
  }
  dmaLo(e: number): number {
    return this.pages[e >>> 16]![0x10000 + (e & 0xffff)]! >>> 0;
  }
  dmaHi(e: number): number {
    return this.pages[e >>> 16]![0x20000 + (e & 0xffff)]! >>> 0;
  }
  physLo(e: number): number {
    return this.pages[e >>> 16]![0x40000 + (e & 0xffff)]! >>> 0;
  }
  physHi(e: number): number {
    return this.pages[e >>> 16]![0x50000 + (e & 0xffff)]! >>> 0;
  }
  size(e: number): number {
    const w = this.pages[e >>> 16]![0x60000 + (e & 0xffff)]!;
    return w === -1 ? this.sizeEsc.get(e)! : w >>> 0;
  }
  type(e: number): number {
    return metaType(this.meta(e));
  }
  dir(e: number): number {
    return metaDir(this.meta(e));
  }
  mapErr(e: number): number {
    return metaMapErr(this.meta(e));
  }
  flags(e: number): number {
    return (this.meta(e) >>> 23) & 3;
  }
  /** The physical address is known (F_PHYS_KNOWN). */
  physKnown(e: number): boolean {
    return metaPhysKnown(this.meta(e));
  }
  /** Made since the latest loss notice (or no loss at all), and no loss is ongoing? */
  fresh(e: number): boolean {
    return this.meta(e) >>> 25 === this.tag && !this.lossOngoing && !this.windowsPending;
  }
  /** fresh(), from the entry's meta(). */
  freshMeta(m: number): boolean {
    return m >>> 25 === this.tag && !this.lossOngoing && !this.windowsPending;
  }

  /**
   * Some CPU of an overwritten ring buffer has shown no event yet: its window
   * (what its buffer kept) has not begun, so nothing made now can be fresh.
   * Coverage clears it, with a new loss epoch, once every such CPU has begun.
   */
  windowsPending = false;

  /**
   * Word `region + i` of an sg segment's sg record; `none` for a plain entry,
   * whose page has no such region.
   */
  private sgWord(e: number, region: number, none: number): number {
    const p = this.pages[e >>> 16]!;
    return p.length === SG_WORDS ? p[region + (e & 0xffff)]! : none;
  }
  /** Sets word `region + i` of an sg segment's sg record (only sg segments have one). */
  private setSgWord(e: number, region: number, v: number): void {
    const p = this.pages[e >>> 16]!;
    if (p.length !== SG_WORDS) throw new Error(`entry ${e} is not an sg segment: it has no sg record`);
    p[region + (e & 0xffff)] = v;
  }
  /** The origin word: task | (stack + 1) << 16, or -1 (in originEsc). */
  private originWord(e: number): number {
    return this.pages[e >>> 16]![0xa0000 + (e & 0xffff)]!;
  }
  /** The interned task of entry e. */
  private task(e: number): number {
    const w = this.originWord(e);
    return w === -1 ? this.originEsc.hiAt(this.originEsc.find(e)) : w & 0xffff;
  }
  sgCall(e: number): number {
    const w = this.sgWord(e, 0xb0000, 0);
    return w === -1 ? this.sgEsc.get(e)![0] : w & 0xffff;
  }
  sgMapped(e: number): number {
    const w = this.sgWord(e, 0xb0000, 0);
    return w === -1 ? this.sgEsc.get(e)![1] : w >>> 16;
  }
  /** Which dma_map_sg call an sg segment belongs to (0 = none): guards the segment chains. */
  callId(e: number): number {
    return this.sgWord(e, 0xc0000, 0) >>> 0;
  }
  /** Next segment of the same sg call (-1 = last). */
  sgNext(e: number): number {
    return this.sgWord(e, 0xd0000, -1);
  }
  sgAlt(e: number): number {
    return this.alt.size === 0 ? -1 : (this.alt.get(e) ?? -1);
  }
  stack(e: number): number {
    const w = this.originWord(e);
    return w === -1 ? this.originEsc.loAt(this.originEsc.find(e)) | 0 : (w >>> 16) - 1;
  }
  tsSec(e: number): number {
    const p = this.pages[e >>> 16]!;
    const i = e & 0xffff;
    return (p[0x80000 + i]! & TS_ESC) !== 0 ? this.tsEsc.get(e)! : p[0x70000 + i]! >>> 0;
  }
  tsNs(e: number): number {
    return this.pages[e >>> 16]![0x80000 + (e & 0xffff)]! & ~TS_ESC;
  }
  cpu(e: number): number {
    return this.taskCpu[this.task(e)]!;
  }
  pid(e: number): number {
    return this.taskPid[this.task(e)]!;
  }
  comm(e: number): number {
    return this.taskComm[this.task(e)]!;
  }
  line(e: number): number {
    const w = this.pages[e >>> 16]![0x90000 + (e & 0xffff)]!;
    return w === -1 ? (this.lineEsc.get(e) ?? 0) : w >>> 0;
  }

  /** Sets the physical address and marks it known. */
  setPhys(e: number, hi: number, lo: number): void {
    const p = this.pages[e >>> 16]!;
    const i = e & 0xffff;
    p[0x40000 + i] = lo;
    p[0x50000 + i] = hi;
    p[0x30000 + i] = p[0x30000 + i]! | (F_PHYS_KNOWN << 23);
  }
  setFlag(e: number, f: number): void {
    const p = this.pages[e >>> 16]!;
    const i = 0x30000 + (e & 0xffff);
    p[i] = p[i]! | ((f & 3) << 23);
  }
  setMapErr(e: number, v: number): void {
    const p = this.pages[e >>> 16]!;
    const i = 0x30000 + (e & 0xffff);
    p[i] = (p[i]! & ~(3 << 21)) | ((v & 3) << 21);
  }
  /** The sg call's nents and mapped ents (int32, as the kernel keeps them). */
  setSg(e: number, call: number, mapped: number): void {
    call |= 0;
    mapped |= 0;
    if (call >= 0 && call <= 0xfffe && mapped >= 0 && mapped <= 0xfffe) {
      this.setSgWord(e, 0xb0000, call | (mapped << 16));
    } else {
      this.setSgWord(e, 0xb0000, -1);
      this.sgEsc.set(e, [call, mapped]);
    }
  }
  setCallId(e: number, v: number): void {
    this.setSgWord(e, 0xc0000, v);
  }
  setSgNext(e: number, v: number): void {
    this.setSgWord(e, 0xd0000, v);
  }
  setSgAlt(e: number, v: number): void {
    if (v < 0) this.alt.delete(e);
    else this.alt.set(e, v);
  }
  /** The interned stack of the mapping (-1 = none). */
  setStack(e: number, v: number): void {
    const p = this.pages[e >>> 16]!;
    const o = 0xa0000 + (e & 0xffff);
    const w = p[o]!;
    if (w !== -1 && v >= -1 && v < 0xfffe) {
      p[o] = (w & 0xffff) | ((v + 1) << 16);
    } else {
      const task = this.task(e);
      p[o] = -1;
      this.originEsc.set(e, task, v);
    }
  }

  /** A CPU's events stopped for good (damaged input): from now on no entry is fresh. */
  noteOngoingLoss(): void {
    this.lossOngoing = true;
  }

  /** A loss notice: every entry made so far stops being fresh. */
  noteLoss(): void {
    if (++this.tag <= 127) return;
    // Tags wrapped: clear every slot's tag (0 is never current), then restart at 1.
    for (const p of this.pages) {
      for (let i = 0x30000; i < 0x40000; i++) p[i] = p[i]! & 0x1ffffff;
    }
    this.tag = 1;
  }

  // ------------------------------------------------------------------
  // Lookups
  // ------------------------------------------------------------------

  /**
   * The kernel's exact lookup: same device and DMA address; best fit on
   * (size, type, direction, sg call count). A perfect fit wins; otherwise the
   * single match; with several imperfect matches, nothing (-1).
   */
  findExact(dev: number, hi: number, lo: number, size: number, type: number, dir: number, sgCall: number): number {
    const b = bucketOf(hi, lo);
    const lo32 = lo | 0;
    const hi32 = hi | 0;
    const pages = this.pages;
    if (pages.length === 0) return -1;
    let best = -1;
    let bestPrev = -1;
    let bestLvl = -1;
    let matches = 0;
    let prev = -1;
    // Entries of a bucket mostly share a page: reload it only when it changes.
    let pg = 0;
    let p = pages[0]!;
    for (let e = this.head[b]!; e >= 0; ) {
      if (e >>> 16 !== pg) {
        pg = e >>> 16;
        p = pages[pg]!;
      }
      const i = e & 0xffff;
      if (p[0x10000 + i] === lo32 && p[0x20000 + i] === hi32 && (p[0x30000 + i]! & 0xffff) === dev) {
        matches++;
        const lvl = this.fitLevel(e, p, i, size, type, dir, sgCall);
        if (lvl === 4) {
          this.foundPrev = prev;
          return e;
        }
        if (lvl > bestLvl) {
          bestLvl = lvl;
          best = e;
          bestPrev = prev;
        }
      }
      prev = e;
      e = p[i]!;
    }
    if (matches !== 1) return -1;
    this.foundPrev = bestPrev;
    return best;
  }

  /**
   * Every other live entry of the device at this DMA address stops being fresh
   * (its epoch tag cleared: 0 is never current). For an unmap that released an
   * entry made before a loss: if that entry's own unmap was lost, the unmap was
   * really the twin's, and the twin left live may be gone.
   */
  unfreshTwins(dev: number, hi: number, lo: number, except: number): void {
    const lo32 = lo | 0;
    const hi32 = hi | 0;
    for (let e = this.head[bucketOf(hi, lo)]!; e >= 0; ) {
      const p = this.pages[e >>> 16]!;
      const i = e & 0xffff;
      const m = 0x30000 + i;
      if (e !== except && p[0x10000 + i] === lo32 && p[0x20000 + i] === hi32 && (p[m]! & 0xffff) === dev) {
        p[m] = p[m]! & 0x1ffffff;
      }
      e = p[i]!;
    }
  }

  /** Entry e is no longer fresh: it may stand for a mapping already gone (see unfreshTwins). */
  unfresh(e: number): void {
    const p = this.pages[e >>> 16]!;
    const m = 0x30000 + (e & 0xffff);
    p[m] = p[m]! & 0x1ffffff;
  }

  /** Is any entry of the device live at this DMA address? */
  anyAt(dev: number, hi: number, lo: number): boolean {
    const lo32 = lo | 0;
    const hi32 = hi | 0;
    for (let e = this.head[bucketOf(hi, lo)]!; e >= 0; ) {
      const p = this.pages[e >>> 16]!;
      const i = e & 0xffff;
      if (p[0x10000 + i] === lo32 && p[0x20000 + i] === hi32 && (p[0x30000 + i]! & 0xffff) === dev) return true;
      e = p[i]!;
    }
    return false;
  }

  /** How many of (size, type, dir, sg call count) entry e (page p, index i) matches. */
  private fitLevel(
    e: number,
    p: Int32Array,
    i: number,
    size: number,
    type: number,
    dir: number,
    sgCall: number,
  ): number {
    const m = p[0x30000 + i]!;
    const sw = p[0x60000 + i]!;
    const esize = sw === -1 ? this.sizeEsc.get(e)! : sw >>> 0;
    const cw = p.length === SG_WORDS ? p[0xb0000 + i]! : 0;
    const call = cw === -1 ? this.sgEsc.get(e)![0] : cw & 0xffff;
    return (
      (esize === size ? 1 : 0) +
      (((m >>> 16) & 7) === type ? 1 : 0) +
      (((m >>> 19) & 3) === dir ? 1 : 0) +
      (call === sgCall ? 1 : 0)
    );
  }

  /**
   * The kernel's containing lookup for syncs: walk buckets backwards from the
   * synced address; in each bucket, best fit over entries of the device whose
   * range contains [addr, addr+size). `maxSize` (largest live size ever) bounds
   * how far back a containing entry can start, so the walk stops early when
   * nothing further back could match.
   */
  findContaining(
    dev: number,
    hi: number,
    lo: number,
    size: number,
    type: number,
    dir: number,
    sgCall: number,
    maxSize: number,
  ): number {
    const start = (hi >>> 0) * 4294967296 + (lo >>> 0);
    const exactNum = hi >>> 0 < 0x200000; // below 2^53: arithmetic on Numbers is exact
    let limit = Math.min(16384, Math.floor(start / 8192) + 1);
    const reach = Math.floor(maxSize / 8192) + 2;
    if (reach < limit) limit = reach;
    const pages = this.pages;
    if (pages.length === 0) return -1;
    let pg = 0;
    let p = pages[0]!;
    let b = bucketOf(hi, lo);
    for (let n = 0; n < limit; n++) {
      let best = -1;
      let bestLvl = -1;
      let matches = 0;
      for (let e = this.head[b]!; e >= 0; ) {
        if (e >>> 16 !== pg) {
          pg = e >>> 16;
          p = pages[pg]!;
        }
        const i = e & 0xffff;
        if ((p[0x30000 + i]! & 0xffff) === dev) {
          const ehi = p[0x20000 + i]! >>> 0;
          const elo = p[0x10000 + i]! >>> 0;
          const sw = p[0x60000 + i]!;
          const esize = sw === -1 ? this.sizeEsc.get(e)! : sw >>> 0;
          let inside: boolean;
          if (exactNum && ehi < 0x200000) {
            const es = ehi * 4294967296 + elo;
            inside = es <= start && es + esize >= start + size;
          } else {
            inside = containsWide(ehi, elo, esize, hi, lo, size);
          }
          if (inside) {
            matches++;
            const m = p[0x30000 + i]!;
            const cw = p.length === SG_WORDS ? p[0xb0000 + i]! : 0;
            const lvl =
              (esize === size ? 1 : 0) +
              (((m >>> 16) & 7) === type ? 1 : 0) +
              (((m >>> 19) & 3) === dir ? 1 : 0) +
              ((cw === -1 ? this.sgEsc.get(e)![0] : cw & 0xffff) === sgCall ? 1 : 0);
            if (lvl === 4) return e;
            if (lvl > bestLvl) {
              bestLvl = lvl;
              best = e;
            }
          }
        }
        e = p[i]!;
      }
      if (matches === 1) return best;
      b = (b - 1) & 16383;
    }
    return -1;
  }

  /** Entries of one device, in dump order (bucket by bucket, insertion order within a bucket). */
  *inDumpOrder(dev = -1): Generator<number> {
    for (let b = 0; b < HASH_SIZE; b++) {
      for (let e = this.head[b]!; e >= 0; e = this.next(e)) {
        if (dev < 0 || this.dev(e) === dev) yield e;
      }
    }
  }
}
