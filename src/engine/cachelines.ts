// Active-cacheline tracking, as the kernel's dma_active_cacheline radix tree
// does it: the first cacheline (phys >> 6) of every mapping the device may
// write to, with an overlap counter that saturates at 7. Mapping an active
// cacheline again is the EEXIST overlap; passing 7 is the overlap-limit warning.
//
// The value packs the overlap count (3 bits) with the id of the entry that
// first made the cacheline active (the kernel's radix tree stores that entry).

import { PairTable } from '../base/key-table.js';
import { MAX_OVERLAP } from './model.js';

export const INSERTED = 0;
export const EEXIST = 1;
export const OVERFLOW = 2;

export class CachelineTracker {
  private table = new PairTable(1024);
  /** Set when the last insert returned EEXIST: the entry that first made the line active. */
  lastOwner = -1;

  get size(): number {
    return this.table.size;
  }

  get bytes(): number {
    return this.table.bytes;
  }

  /** Inserts the cacheline of `entry`; returns INSERTED, EEXIST, or OVERFLOW (EEXIST past the limit). */
  insert(clnHi: number, clnLo: number, entry: number): number {
    const v = this.table.get(clnHi, clnLo);
    if (v < 0) {
      this.table.set(clnHi, clnLo, entry << 3);
      return INSERTED;
    }
    this.lastOwner = v >>> 3;
    const overlap = (v & 7) + 1;
    if (overlap > MAX_OVERLAP) return OVERFLOW;
    this.table.set(clnHi, clnLo, (v & ~7) | overlap);
    return EEXIST;
  }

  remove(clnHi: number, clnLo: number): void {
    const v = this.table.get(clnHi, clnLo);
    if (v < 0) return;
    const overlap = (v & 7) - 1;
    if (overlap < 0) this.table.delete(clnHi, clnLo);
    else this.table.set(clnHi, clnLo, (v & ~7) | overlap);
  }

  /** Overlap count of an active cacheline, or -1 when it is idle. */
  overlap(clnHi: number, clnLo: number): number {
    const v = this.table.get(clnHi, clnLo);
    return v < 0 ? -1 : v & 7;
  }

  /** The entry that first made the cacheline active, or -1. */
  owner(clnHi: number, clnLo: number): number {
    const v = this.table.get(clnHi, clnLo);
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
