// Memory of recent unmaps, for proving double unmaps on traces that do not
// start at boot: "this address was unmapped earlier in this trace, and nothing
// mapped it since" is proof without knowing what happened before the trace.
//
// A direct-mapped cache in typed arrays: one slot per key hash, overwritten by
// newer unmaps. A collision only forgets a proof (the finding stays
// unconfirmed); it can never invent one, because a hit compares the whole key.
// Memory is fixed, whatever the trace length.

const SLOTS = 1 << 16;
const EMPTY = -1;

export class RecentUnmaps {
  private readonly keyDev = new Int32Array(SLOTS).fill(EMPTY);
  private readonly keyHi = new Uint32Array(SLOTS);
  private readonly keyLo = new Uint32Array(SLOTS);
  readonly dmaHi = new Uint32Array(SLOTS);
  readonly dmaLo = new Uint32Array(SLOTS);
  readonly size = new Float64Array(SLOTS);
  readonly epoch = new Uint32Array(SLOTS);
  readonly line = new Float64Array(SLOTS);

  private slot(dev: number, hi: number, lo: number): number {
    let h =
      Math.imul(dev ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(hi, 0xc2b2ae35) ^ Math.imul(lo ^ (lo >>> 16), 0x27d4eb2f);
    h ^= h >>> 15;
    return h & (SLOTS - 1);
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
  ): void {
    const s = this.slot(dev, hi, lo);
    this.keyDev[s] = dev;
    this.keyHi[s] = hi;
    this.keyLo[s] = lo;
    this.dmaHi[s] = dmaHi;
    this.dmaLo[s] = dmaLo;
    this.size[s] = size;
    this.epoch[s] = epoch;
    this.line[s] = line;
  }

  /** A map at this key ends the proof. */
  forget(dev: number, hi: number, lo: number): void {
    const s = this.slot(dev, hi, lo);
    if (this.keyDev[s] === dev && this.keyLo[s] === lo >>> 0 && this.keyHi[s] === hi >>> 0) this.keyDev[s] = EMPTY;
  }

  /** The slot holding this key, or -1. */
  find(dev: number, hi: number, lo: number): number {
    const s = this.slot(dev, hi, lo);
    return this.keyDev[s] === dev && this.keyLo[s] === lo >>> 0 && this.keyHi[s] === hi >>> 0 ? s : -1;
  }
}
