// Active-cacheline tracking, as the kernel's dma_active_cacheline radix tree
// does it: the first cacheline (phys >> 6) of every mapping the device may
// write to, with an overlap counter that saturates at 7. Mapping an active
// cacheline again is the EEXIST overlap; passing 7 is the overlap-limit warning.
//
// A record packs the overlap count (3 bits) with the id of the entry that first
// made the cacheline active (the kernel's radix tree stores that entry). While
// that owner entry is live, its physical address is the record's key, so the
// main table stores no key: a slot is the record and the key's 32-bit hash (8
// bytes), and a hash match is confirmed against the owner entry. When an owner
// is released while its line stays active (other mappings overlap it), the
// record moves to a small keyed table (`spill`), where the stale owner id is
// kept exactly as the kernel keeps its pointer. Linear probing, load at most
// 3/4 (a miss probes a few more slots, mostly in the same 64-byte line, and
// the table is half the size it is at 1/2: at a million live mappings, 8 MiB
// less), backward-shift deletion driven by the stored hashes. It reads the
// phys words of the entry pages directly (0x40000 / 0x50000 + i: see
// entries.ts).

import { HashSlots } from '../base/hash-slots.js';
import { PairTable } from '../base/key-table.js';
import type { EntryTable } from './entries.js';

export const INSERTED = 0;
export const EEXIST = 1;
export const OVERFLOW = 2;

function hashCln(hi: number, lo: number): number {
  let h = Math.imul(hi ^ 0x9e3779b9, 0xc2b2ae35) ^ Math.imul(lo ^ (lo >>> 15), 0x27d4eb2f);
  h ^= h >>> 13;
  h = Math.imul(h, 0x165667b1);
  h ^= h >>> 16;
  return h;
}

/** Slot values: owner << 3 | overlap; hashes of the cacheline number. */
export class CachelineTracker extends HashSlots {
  /** Records whose owner was released: cacheline -> owner << 3 | overlap. */
  private readonly spill = new PairTable(64);
  /** Set when the last insert returned EEXIST: the entry that first made the line active. */
  lastOwner = -1;
  /**
   * ...and that entry was released since (the kernel's radix tree still points
   * at it, and the entry's memory may hold another mapping by now).
   */
  lastOwnerStale = false;
  /** The entry table's pages (the same array for the table's life). */
  private readonly pages: Int32Array[];

  constructor(t: EntryTable) {
    super();
    this.pages = t.pages;
  }

  get size(): number {
    return this.used + this.spill.size;
  }

  get bytes(): number {
    return this.slots.length * 4 + this.spill.bytes;
  }

  /**
   * Slot of the cacheline (hi, lo) with hash h in the main table, or ~(the
   * empty slot where it would go). `self` is an entry whose own line this is
   * (or -1): a record owned by it needs no check, as the main table's owners
   * are live and keyed by their own line.
   */
  private find(hi: number, lo: number, h: number, self: number): number {
    const slots = this.slots;
    const mask = this.mask;
    let s = h & mask;
    for (;;) {
      const v = slots[s << 1]!;
      if (v === -1) return ~s;
      if (slots[(s << 1) + 1] === h) {
        const e = v >>> 3;
        if (e === self) return s;
        const p = this.pages[e >>> 16]!;
        const i = e & 0xffff;
        const ph = p[0x50000 + i]!;
        if (ph >>> 6 === hi && ((ph << 26) | (p[0x40000 + i]! >>> 6)) === lo) return s;
      }
      s = (s + 1) & mask;
    }
  }

  /** The record of an active cacheline, or -1. */
  private record(hi: number, lo: number): number {
    hi >>>= 0;
    lo |= 0;
    const s = this.find(hi, lo, hashCln(hi, lo), -1);
    if (s >= 0) return this.slots[s << 1]!;
    return this.spill.size === 0 ? -1 : this.spill.get(hi, lo);
  }

  /** Inserts the cacheline of `entry`; returns INSERTED, EEXIST, or OVERFLOW (EEXIST past the limit). */
  insert(entry: number): number {
    const p = this.pages[entry >>> 16]!;
    const i = entry & 0xffff;
    const ph = p[0x50000 + i]!;
    const hi = ph >>> 6;
    const lo = (ph << 26) | (p[0x40000 + i]! >>> 6);
    const h = hashCln(hi, lo);
    const s = this.find(hi, lo, h, -1);
    let v: number;
    if (s >= 0) {
      v = this.slots[s << 1]!;
    } else {
      v = this.spill.size === 0 ? -1 : this.spill.get(hi, lo);
      if (v < 0) {
        this.slots[~s << 1] = entry << 3;
        this.slots[(~s << 1) + 1] = h;
        this.used++;
        if (this.used * 4 > (this.mask + 1) * 3) this.resize((this.mask + 1) * 2);
        return INSERTED;
      }
    }
    this.lastOwner = v >>> 3;
    this.lastOwnerStale = s < 0;
    const overlap = (v & 7) + 1;
    if (overlap > 7) return OVERFLOW; // MAX_OVERLAP
    if (s >= 0) this.slots[s << 1] = (v & ~7) | overlap;
    else this.spill.set(hi, lo, (v & ~7) | overlap);
    return EEXIST;
  }

  /** Removes the cacheline of `entry`, a mapping being released. */
  remove(entry: number): void {
    const p = this.pages[entry >>> 16]!;
    const i = entry & 0xffff;
    const ph = p[0x50000 + i]!;
    const hi = ph >>> 6;
    const lo = (ph << 26) | (p[0x40000 + i]! >>> 6);
    const s = this.find(hi, lo, hashCln(hi, lo), entry);
    if (s < 0) {
      if (this.spill.size === 0) return;
      const v = this.spill.get(hi, lo);
      if (v < 0) return;
      const overlap = (v & 7) - 1;
      if (overlap < 0) this.spill.delete(hi, lo);
      else this.spill.set(hi, lo, (v & ~7) | overlap);
      return;
    }
    const v = this.slots[s << 1]!;
    const overlap = (v & 7) - 1;
    if (overlap < 0) {
      this.deleteSlot(s);
    } else if (v >>> 3 === entry) {
      // The owner goes while the line stays active: its key must outlive it.
      this.deleteSlot(s);
      this.spill.set(hi, lo, (v & ~7) | overlap);
    } else {
      this.slots[s << 1] = (v & ~7) | overlap;
    }
  }

  /** Overlap count of an active cacheline, or -1 when it is idle. */
  overlap(clnHi: number, clnLo: number): number {
    const v = this.record(clnHi, clnLo);
    return v < 0 ? -1 : v & 7;
  }

  /** The entry that first made the cacheline active, or -1. */
  owner(clnHi: number, clnLo: number): number {
    const v = this.record(clnHi, clnLo);
    return v < 0 ? -1 : v >>> 3;
  }
}

/** cacheline number (phys >> 6) as halves. */
export function clnHiOf(physHi: number): number {
  return physHi >>> 6;
}
export function clnLoOf(physHi: number, physLo: number): number {
  return ((physHi << 26) | (physLo >>> 6)) >>> 0;
}
