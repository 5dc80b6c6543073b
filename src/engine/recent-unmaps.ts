// Memory of recent unmaps, for proving double unmaps on traces that do not
// start at boot: "this address was unmapped earlier in this trace, and nothing
// mapped it since" is proof without knowing what happened before the trace.
//
// A direct-mapped cache: one slot per key hash, overwritten by newer unmaps. A
// collision only forgets a proof (the finding stays unconfirmed); it can never
// invent one, because a hit compares the whole key. Memory is fixed, whatever
// the trace length.
//
// Layout: every unmap writes a slot and every map reads one, at a random
// place, so a slot is one 64-byte cache line of one buffer (an Int32 view and
// a Float64 view of the same memory), not one word in each of eight arrays:
//   words 0-6  key device + 1 (0 = empty: a new buffer is empty as it is),
//              key hi, key lo, dma hi, dma lo, epoch, cpu
//   f64 4, 5   (words 8-11) size, line (the unmap's place in the input)

const EMPTY = 0;
/** Words per slot (64 bytes). */
const STRIDE = 16;

export class RecentUnmaps {
  /** Empty until the first unmap (find() then finds nothing): a run without unmaps allocates no 4 MiB. */
  private w = new Int32Array(0);
  private f = new Float64Array(0);
  /** Slots - 1 (a power of two). */
  private readonly mask: number;

  /** `slots`: a power of two (64 bytes each). */
  constructor(private readonly slots = 1 << 16) {
    this.mask = slots - 1;
  }

  private allocate(): void {
    const buf = new ArrayBuffer(this.slots * STRIDE * 4);
    this.w = new Int32Array(buf);
    this.f = new Float64Array(buf);
  }

  /** The word offset of the key's slot. */
  private slot(dev: number, hi: number, lo: number): number {
    let h =
      Math.imul(dev ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(hi, 0xc2b2ae35) ^ Math.imul(lo ^ (lo >>> 16), 0x27d4eb2f);
    h ^= h >>> 15;
    return (h & this.mask) * STRIDE;
  }

  /** Records an unmap under its key; the slot keeps the DMA address and size for the message. */
  record(
    dev: number,
    hi: number,
    lo: number,
    dmaHi: number,
    dmaLo: number,
    size: number,
    epoch: number,
    line: number,
    cpu: number,
  ): void {
    if (this.w.length === 0) this.allocate();
    const o = this.slot(dev, hi, lo);
    const w = this.w;
    w[o] = dev + 1;
    w[o + 1] = hi;
    w[o + 2] = lo;
    w[o + 3] = dmaHi;
    w[o + 4] = dmaLo;
    w[o + 5] = epoch;
    w[o + 6] = cpu;
    const f = this.f;
    f[(o >> 1) + 4] = size;
    f[(o >> 1) + 5] = line;
  }

  /** A map at this key ends the proof. */
  forget(dev: number, hi: number, lo: number): void {
    const o = this.find(dev, hi, lo);
    if (o >= 0) this.w[o] = EMPTY;
  }

  /** The slot holding this key (pass it to the accessors below), or -1. */
  find(dev: number, hi: number, lo: number): number {
    const o = this.slot(dev, hi, lo);
    const w = this.w;
    return w[o] === dev + 1 && w[o + 2] === (lo | 0) && w[o + 1] === (hi | 0) ? o : -1;
  }

  dmaHi(s: number): number {
    return this.w[s + 3]! >>> 0;
  }
  dmaLo(s: number): number {
    return this.w[s + 4]! >>> 0;
  }
  /** The loss epoch the unmap was made in. */
  epoch(s: number): number {
    return this.w[s + 5]! >>> 0;
  }
  size(s: number): number {
    return this.f[(s >> 1) + 4]!;
  }
  /** The unmap's place in the input: its line or record offset (0 = unknown). */
  line(s: number): number {
    return this.f[(s >> 1) + 5]!;
  }
  /** The CPU the unmap ran on. */
  cpu(s: number): number {
    return this.w[s + 6]!;
  }
}
