// A small cache in front of an Interner, for the few names a trace repeats
// millions of times (device names). A trace interleaves several devices, so
// remembering only the last name misses most of the time. Here a hit costs a
// slot hash of the name's length and last four bytes, and a compare four bytes
// at a time: no full hash, nothing allocated. Misses fall through to the
// interner. Slots are probed four at a time, so a few names that hash alike
// do not evict each other.

import type { Interner } from './interner.js';

const SLOTS = 256;
const PROBES = 4;
/** Longest key the cache holds; longer names always go to the interner. */
const WIDTH = 64;

export class NameCache {
  private readonly bytes = new Uint8Array(SLOTS * WIDTH);
  private readonly view = new DataView(this.bytes.buffer);
  private readonly lens = new Int32Array(SLOTS).fill(-1);
  private readonly ids = new Int32Array(SLOTS);
  private evict = 0;

  constructor(private readonly interner: Interner) {}

  /** The id cached for the bytes buf[start, end) (`dv` views the same bytes as `buf`), or -1. */
  get(buf: Uint8Array, dv: DataView, start: number, end: number): number {
    const n = end - start;
    if (n < 4 || n > WIDTH) return -1;
    const first = slotOf(dv, end, n);
    const bytes = this.bytes;
    const view = this.view;
    for (let k = 0; k < PROBES; k++) {
      const slot = (first + k) & (SLOTS - 1);
      const len = this.lens[slot]!;
      if (len < 0) return -1;
      if (len !== n) continue;
      const base = slot * WIDTH;
      let i = 0;
      while (i + 4 <= n && view.getUint32(base + i, true) === dv.getUint32(start + i, true)) i += 4;
      if (i + 4 <= n) continue;
      while (i < n && bytes[base + i] === buf[start + i]) i++;
      if (i === n) return this.ids[slot]!;
    }
    return -1;
  }

  /** Remembers that buf[start, end) has `id`: a free probe slot, else one of them in turn. */
  set(buf: Uint8Array, dv: DataView, start: number, end: number, id: number): void {
    const n = end - start;
    if (n < 4 || n > WIDTH) return;
    const first = slotOf(dv, end, n);
    let slot = (first + (this.evict++ & (PROBES - 1))) & (SLOTS - 1);
    for (let k = 0; k < PROBES; k++) {
      const s = (first + k) & (SLOTS - 1);
      if (this.lens[s]! < 0) {
        slot = s;
        break;
      }
    }
    const bytes = this.bytes;
    const base = slot * WIDTH;
    for (let i = 0; i < n; i++) bytes[base + i] = buf[start + i]!;
    this.lens[slot] = n;
    this.ids[slot] = id;
  }

  /** The id of the name buf[start, end): cached, or interned and cached. */
  id(buf: Uint8Array, dv: DataView, start: number, end: number): number {
    const hit = this.get(buf, dv, start, end);
    if (hit >= 0) return hit;
    const id = this.interner.internBytes(buf, start, end);
    this.set(buf, dv, start, end, id);
    return id;
  }
}

/** Device names share long prefixes ("0000:00:"), so the slot comes from the length and the last bytes (n >= 4). */
function slotOf(dv: DataView, end: number, n: number): number {
  return Math.imul(dv.getUint32(end - 4, true) ^ n, 0x9e3779b1) >>> 24;
}
