// The entry table: every live mapping the kernel's dma-debug would hold, kept
// as a struct of typed arrays (no object per mapping) and threaded onto the
// kernel's own hash buckets, so lookups and the dump reproduce the kernel's
// answers and order exactly.
//
// Buckets: index (dev_addr >> 13) & 16383, each a singly linked list in
// insertion order (head/tail per bucket, `next` per entry). Exact lookups
// (unmap, free) and containing lookups (sync) both use the kernel's best-fit
// rule. Freed entry slots go on a free list that reuses `next`.

export const HASH_SIZE = 16384;
export const HASH_SHIFT = 13;

/** Flag bits in `flags`. */
export const F_PHYS_KNOWN = 1;
/** The sg call's arrays were truncated by the kernel (only the first segments are known). */
export const F_SG_TRUNCATED = 2;

/** Bucket of a DMA address: (addr >> 13) & 16383, from its halves. */
export function bucketOf(hi: number, lo: number): number {
  return ((lo >>> HASH_SHIFT) | (hi << (32 - HASH_SHIFT))) & (HASH_SIZE - 1);
}

type TypedArray = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;
type TypedArrayCtor<T extends TypedArray> = new (length: number) => T;

export class EntryTable {
  cap: number;
  live = 0;
  private freeHead = -1;
  private highWater = 0;

  dev: Uint16Array;
  dmaHi: Uint32Array;
  dmaLo: Uint32Array;
  size: Float64Array;
  physHi: Uint32Array;
  physLo: Uint32Array;
  type: Uint8Array;
  dir: Uint8Array;
  mapErr: Uint8Array;
  flags: Uint8Array;
  sgCall: Int32Array;
  sgMapped: Int32Array;
  next: Int32Array;
  /** Next segment of the same sg call (-1 = last). */
  sgNext: Int32Array;
  /** Next live sg call with the same (device, first physical address) key; heads only. */
  sgAlt: Int32Array;
  /** Which dma_map_sg call an sg segment belongs to (0 = none): guards the segment chains. */
  callId: Uint32Array;
  stack: Int32Array;
  tsSec: Uint32Array;
  tsNs: Uint32Array;
  line: Float64Array;
  cpu: Uint16Array;
  pid: Int32Array;
  comm: Int32Array;
  /** Coverage epoch (number of loss events seen) when the entry was made. */
  epoch: Uint32Array;

  readonly head = new Int32Array(HASH_SIZE).fill(-1);
  readonly tail = new Int32Array(HASH_SIZE).fill(-1);

  constructor(capacity = 1024) {
    this.cap = capacity;
    this.dev = this.field(Uint16Array);
    this.dmaHi = this.field(Uint32Array);
    this.dmaLo = this.field(Uint32Array);
    this.size = this.field(Float64Array);
    this.physHi = this.field(Uint32Array);
    this.physLo = this.field(Uint32Array);
    this.type = this.field(Uint8Array);
    this.dir = this.field(Uint8Array);
    this.mapErr = this.field(Uint8Array);
    this.flags = this.field(Uint8Array);
    this.sgCall = this.field(Int32Array);
    this.sgMapped = this.field(Int32Array);
    this.next = this.field(Int32Array);
    this.sgNext = this.field(Int32Array);
    this.sgAlt = this.field(Int32Array);
    this.callId = this.field(Uint32Array);
    this.stack = this.field(Int32Array);
    this.tsSec = this.field(Uint32Array);
    this.tsNs = this.field(Uint32Array);
    this.line = this.field(Float64Array);
    this.cpu = this.field(Uint16Array);
    this.pid = this.field(Int32Array);
    this.comm = this.field(Int32Array);
    this.epoch = this.field(Uint32Array);
  }

  private field<T extends TypedArray>(ctor: TypedArrayCtor<T>): T {
    return new ctor(this.cap);
  }

  /** Bytes held by the per-entry arrays and the bucket heads. */
  get bytes(): number {
    return this.cap * 88 + HASH_SIZE * 8;
  }

  /** Takes a free slot (growing the arrays when needed). The caller fills the fields, then calls link(). */
  alloc(): number {
    let id = this.freeHead;
    if (id >= 0) {
      this.freeHead = this.next[id]!;
    } else {
      if (this.highWater === this.cap) this.grow();
      id = this.highWater++;
    }
    this.live++;
    this.next[id] = -1;
    this.sgNext[id] = -1;
    this.sgAlt[id] = -1;
    this.stack[id] = -1;
    this.flags[id] = 0;
    this.sgCall[id] = 0;
    this.sgMapped[id] = 0;
    return id;
  }

  /** Appends the entry to the tail of its kernel bucket. */
  link(id: number): void {
    const b = bucketOf(this.dmaHi[id]!, this.dmaLo[id]!);
    const t = this.tail[b]!;
    if (t < 0) this.head[b] = id;
    else this.next[t] = id;
    this.tail[b] = id;
    this.next[id] = -1;
  }

  /** Unlinks the entry from its bucket and returns the slot to the free list. */
  release(id: number): void {
    const b = bucketOf(this.dmaHi[id]!, this.dmaLo[id]!);
    let prev = -1;
    let e = this.head[b]!;
    while (e >= 0 && e !== id) {
      prev = e;
      e = this.next[e]!;
    }
    if (e === id) {
      const nx = this.next[id]!;
      if (prev < 0) this.head[b] = nx;
      else this.next[prev] = nx;
      if (this.tail[b] === id) this.tail[b] = prev;
    }
    this.next[id] = this.freeHead;
    this.freeHead = id;
    this.live--;
  }

  /**
   * The kernel's exact lookup: same device and DMA address; best fit on
   * (size, type, direction, sg call count). A perfect fit wins; otherwise the
   * single match; with several imperfect matches, nothing (-1).
   */
  findExact(dev: number, hi: number, lo: number, size: number, type: number, dir: number, sgCall: number): number {
    const b = bucketOf(hi, lo);
    let best = -1;
    let bestLvl = -1;
    let matches = 0;
    for (let e = this.head[b]!; e >= 0; e = this.next[e]!) {
      if (this.dmaLo[e] !== lo >>> 0 || this.dmaHi[e] !== hi >>> 0 || this.dev[e] !== dev) continue;
      matches++;
      const lvl =
        (this.size[e] === size ? 1 : 0) +
        (this.type[e] === type ? 1 : 0) +
        (this.dir[e] === dir ? 1 : 0) +
        (this.sgCall[e] === sgCall ? 1 : 0);
      if (lvl === 4) return e;
      if (lvl > bestLvl) {
        bestLvl = lvl;
        best = e;
      }
    }
    return matches === 1 ? best : -1;
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
    let limit = Math.min(HASH_SIZE, Math.floor(start / 8192) + 1);
    const reach = Math.floor(maxSize / 8192) + 2;
    if (reach < limit) limit = reach;
    let b = bucketOf(hi, lo);
    for (let i = 0; i < limit; i++) {
      let best = -1;
      let bestLvl = -1;
      let matches = 0;
      for (let e = this.head[b]!; e >= 0; e = this.next[e]!) {
        if (this.dev[e] !== dev) continue;
        if (!this.contains(e, hi, lo, start, size, exactNum)) continue;
        matches++;
        const lvl =
          (this.size[e] === size ? 1 : 0) +
          (this.type[e] === type ? 1 : 0) +
          (this.dir[e] === dir ? 1 : 0) +
          (this.sgCall[e] === sgCall ? 1 : 0);
        if (lvl === 4) return e;
        if (lvl > bestLvl) {
          bestLvl = lvl;
          best = e;
        }
      }
      if (matches === 1) return best;
      b = (b - 1) & (HASH_SIZE - 1);
    }
    return -1;
  }

  /** entry.start <= ref.start && entry.start + entry.size >= ref.start + ref.size */
  private contains(e: number, hi: number, lo: number, start: number, size: number, exactNum: boolean): boolean {
    const ehi = this.dmaHi[e]!;
    const elo = this.dmaLo[e]!;
    if (exactNum && ehi < 0x200000) {
      const es = ehi * 4294967296 + elo;
      return es <= start && es + this.size[e]! >= start + size;
    }
    // Wide addresses: compare in BigInt (rare: only for > 2^53 DMA addresses).
    const es = (BigInt(ehi) << 32n) | BigInt(elo);
    const rs = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
    return es <= rs && es + BigInt(this.size[e]!) >= rs + BigInt(size);
  }

  /** Entries of one device, in dump order (bucket by bucket, insertion order within a bucket). */
  *inDumpOrder(dev = -1): Generator<number> {
    for (let b = 0; b < HASH_SIZE; b++) {
      for (let e = this.head[b]!; e >= 0; e = this.next[e]!) {
        if (dev < 0 || this.dev[e] === dev) yield e;
      }
    }
  }

  /**
   * Grows every field by half (less slack than doubling at a million entries).
   * Resizable ArrayBuffers would avoid the copy, but element access through
   * them measured 40% slower in the engine on Node 20.
   */
  private grow(): void {
    const n = this.cap + (this.cap >>> 1);
    const g = <T extends TypedArray>(a: T): T => {
      const b = new (a.constructor as TypedArrayCtor<T>)(n);
      b.set(a);
      return b;
    };
    this.dev = g(this.dev);
    this.dmaHi = g(this.dmaHi);
    this.dmaLo = g(this.dmaLo);
    this.size = g(this.size);
    this.physHi = g(this.physHi);
    this.physLo = g(this.physLo);
    this.type = g(this.type);
    this.dir = g(this.dir);
    this.mapErr = g(this.mapErr);
    this.flags = g(this.flags);
    this.sgCall = g(this.sgCall);
    this.sgMapped = g(this.sgMapped);
    this.next = g(this.next);
    this.sgNext = g(this.sgNext);
    this.sgAlt = g(this.sgAlt);
    this.callId = g(this.callId);
    this.stack = g(this.stack);
    this.tsSec = g(this.tsSec);
    this.tsNs = g(this.tsNs);
    this.line = g(this.line);
    this.cpu = g(this.cpu);
    this.pid = g(this.pid);
    this.comm = g(this.comm);
    this.epoch = g(this.epoch);
    this.cap = n;
  }
}
