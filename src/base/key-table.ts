// Open-addressing hash tables in typed arrays: no allocation per operation,
// no string keys, no garbage-collected object per member. KeyTable maps a
// (small int, u32, u32) key to an int32 (the entry table interns tasks with
// it); PairTable maps a u64 to a non-negative int32 (cachelines whose owner
// entry is gone); IdPairTable maps an id to a u64 (the CPU addresses of
// coherent allocations). Linear probing with backward-shift deletion keeps
// lookups short without tombstones.

import { movesIntoHole } from './hash-slots.js';

const EMPTY = -1;

export class KeyTable {
  private a: Int32Array;
  private hi: Uint32Array;
  private lo: Uint32Array;
  private val: Int32Array;
  private mask: number;
  private used = 0;

  constructor(capacityPow2 = 1024) {
    this.a = new Int32Array(capacityPow2).fill(EMPTY);
    this.hi = new Uint32Array(capacityPow2);
    this.lo = new Uint32Array(capacityPow2);
    this.val = new Int32Array(capacityPow2);
    this.mask = capacityPow2 - 1;
  }

  get size(): number {
    return this.used;
  }

  /** Bytes held by the table's arrays. */
  get bytes(): number {
    return this.a.length * 16;
  }

  private slotOf(k: number, hi: number, lo: number): number {
    let h = Math.imul(k ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(hi, 0xc2b2ae35) ^ Math.imul(lo ^ (lo >>> 15), 0x27d4eb2f);
    h ^= h >>> 13;
    h = Math.imul(h, 0x165667b1);
    h ^= h >>> 16;
    return h & this.mask;
  }

  /** The value for the key, or -1. */
  get(k: number, hi: number, lo: number): number {
    let s = this.slotOf(k, hi, lo);
    for (;;) {
      const ks = this.a[s]!;
      if (ks === EMPTY) return -1;
      if (ks === k && this.lo[s] === lo >>> 0 && this.hi[s] === hi >>> 0) return this.val[s]!;
      s = (s + 1) & this.mask;
    }
  }

  /** Sets the value (k must be >= 0). */
  set(k: number, hi: number, lo: number, v: number): void {
    let s = this.slotOf(k, hi, lo);
    for (;;) {
      const ks = this.a[s]!;
      if (ks === EMPTY) break;
      if (ks === k && this.lo[s] === lo >>> 0 && this.hi[s] === hi >>> 0) {
        this.val[s] = v;
        return;
      }
      s = (s + 1) & this.mask;
    }
    this.a[s] = k;
    this.hi[s] = hi;
    this.lo[s] = lo;
    this.val[s] = v;
    this.used++;
    if (this.used * 2 > this.a.length) this.resize(this.a.length * 2);
  }

  /** Removes the key; returns its value or -1. */
  delete(k: number, hi: number, lo: number): number {
    let s = this.slotOf(k, hi, lo);
    for (;;) {
      const ks = this.a[s]!;
      if (ks === EMPTY) return -1;
      if (ks === k && this.lo[s] === lo >>> 0 && this.hi[s] === hi >>> 0) break;
      s = (s + 1) & this.mask;
    }
    const v = this.val[s]!;
    this.used--;
    // Backward-shift deletion: move later members of the probe run into the hole.
    let hole = s;
    let j = s;
    for (;;) {
      j = (j + 1) & this.mask;
      const kj = this.a[j]!;
      if (kj === EMPTY) break;
      if (movesIntoHole(this.slotOf(kj, this.hi[j]!, this.lo[j]!), hole, j)) {
        this.a[hole] = kj;
        this.hi[hole] = this.hi[j]!;
        this.lo[hole] = this.lo[j]!;
        this.val[hole] = this.val[j]!;
        hole = j;
      }
    }
    this.a[hole] = EMPTY;
    return v;
  }

  clear(): void {
    this.a.fill(EMPTY);
    this.used = 0;
  }

  private resize(n: number): void {
    const oa = this.a;
    const ohi = this.hi;
    const olo = this.lo;
    const ov = this.val;
    this.a = new Int32Array(n).fill(EMPTY);
    this.hi = new Uint32Array(n);
    this.lo = new Uint32Array(n);
    this.val = new Int32Array(n);
    this.mask = n - 1;
    this.used = 0;
    for (let i = 0; i < oa.length; i++) {
      const k = oa[i]!;
      if (k !== EMPTY) this.set(k, ohi[i]!, olo[i]!, ov[i]!);
    }
  }
}

/**
 * A leaner table for u64 keys with non-negative int32 values (12 bytes a slot):
 * the value -1 marks an empty slot. The cacheline tracker keeps in it the
 * active cachelines whose first owner was released (its `spill`).
 */
export class PairTable {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private val: Int32Array;
  private mask: number;
  private used = 0;

  constructor(capacityPow2 = 1024) {
    this.hi = new Uint32Array(capacityPow2);
    this.lo = new Uint32Array(capacityPow2);
    this.val = new Int32Array(capacityPow2).fill(EMPTY);
    this.mask = capacityPow2 - 1;
  }

  get size(): number {
    return this.used;
  }

  get bytes(): number {
    return this.val.length * 12;
  }

  private slotOf(hi: number, lo: number): number {
    let h = Math.imul(hi ^ 0x9e3779b9, 0xc2b2ae35) ^ Math.imul(lo ^ (lo >>> 15), 0x27d4eb2f);
    h ^= h >>> 13;
    h = Math.imul(h, 0x165667b1);
    h ^= h >>> 16;
    return h & this.mask;
  }

  get(hi: number, lo: number): number {
    let s = this.slotOf(hi, lo);
    for (;;) {
      const v = this.val[s]!;
      if (v === EMPTY) return -1;
      if (this.lo[s] === lo >>> 0 && this.hi[s] === hi >>> 0) return v;
      s = (s + 1) & this.mask;
    }
  }

  /** Sets a value (v >= 0). */
  set(hi: number, lo: number, v: number): void {
    let s = this.slotOf(hi, lo);
    for (;;) {
      if (this.val[s] === EMPTY) break;
      if (this.lo[s] === lo >>> 0 && this.hi[s] === hi >>> 0) {
        this.val[s] = v;
        return;
      }
      s = (s + 1) & this.mask;
    }
    this.hi[s] = hi;
    this.lo[s] = lo;
    this.val[s] = v;
    this.used++;
    if (this.used * 4 > this.val.length * 3) this.resize(this.val.length * 2);
  }

  delete(hi: number, lo: number): void {
    let s = this.slotOf(hi, lo);
    for (;;) {
      if (this.val[s] === EMPTY) return;
      if (this.lo[s] === lo >>> 0 && this.hi[s] === hi >>> 0) break;
      s = (s + 1) & this.mask;
    }
    this.used--;
    let hole = s;
    let j = s;
    for (;;) {
      j = (j + 1) & this.mask;
      if (this.val[j] === EMPTY) break;
      if (movesIntoHole(this.slotOf(this.hi[j]!, this.lo[j]!), hole, j)) {
        this.hi[hole] = this.hi[j]!;
        this.lo[hole] = this.lo[j]!;
        this.val[hole] = this.val[j]!;
        hole = j;
      }
    }
    this.val[hole] = EMPTY;
  }

  private resize(n: number): void {
    const ohi = this.hi;
    const olo = this.lo;
    const ov = this.val;
    this.hi = new Uint32Array(n);
    this.lo = new Uint32Array(n);
    this.val = new Int32Array(n).fill(EMPTY);
    this.mask = n - 1;
    this.used = 0;
    for (let i = 0; i < ov.length; i++) if (ov[i] !== EMPTY) this.set(ohi[i]!, olo[i]!, ov[i]!);
  }
}

/**
 * Non-negative int keys (ids) to a pair of u32 words, in one Int32Array of
 * [key, hi, lo] slots (12 bytes a slot, load at most 1/2): a map of a million
 * entries makes no garbage-collected objects. The key -1 marks an empty slot.
 * Linear probing with backward-shift deletion.
 */
export class IdPairTable {
  private slots = new Int32Array(3 * 64).fill(-1);
  private mask = 63;
  private used = 0;

  get size(): number {
    return this.used;
  }

  get bytes(): number {
    return this.slots.length * 4;
  }

  private home(id: number): number {
    let h = Math.imul(id, 0x9e3779b1);
    h ^= h >>> 15;
    return h & this.mask;
  }

  /** The slot holding the id, or -1. */
  find(id: number): number {
    const slots = this.slots;
    for (let s = this.home(id); ; s = (s + 1) & this.mask) {
      const k = slots[s * 3]!;
      if (k === id) return s;
      if (k === -1) return -1;
    }
  }

  /** The pair's words in slot s (from find()), as u32. */
  hiAt(s: number): number {
    return this.slots[s * 3 + 1]! >>> 0;
  }
  loAt(s: number): number {
    return this.slots[s * 3 + 2]! >>> 0;
  }

  /** Sets the pair of `id` (id >= 0). */
  set(id: number, hi: number, lo: number): void {
    let s = this.home(id);
    for (;;) {
      const k = this.slots[s * 3]!;
      if (k === id) break;
      if (k === -1) {
        this.slots[s * 3] = id;
        this.used++;
        break;
      }
      s = (s + 1) & this.mask;
    }
    this.slots[s * 3 + 1] = hi;
    this.slots[s * 3 + 2] = lo;
    if (this.used * 2 > this.mask + 1) this.resize((this.mask + 1) * 2);
  }

  delete(id: number): void {
    const s = this.find(id);
    if (s < 0) return;
    this.used--;
    const slots = this.slots;
    const mask = this.mask;
    let hole = s;
    let j = s;
    for (;;) {
      j = (j + 1) & mask;
      const k = slots[j * 3]!;
      if (k === -1) break;
      if (movesIntoHole(this.home(k), hole, j)) {
        slots[hole * 3] = k;
        slots[hole * 3 + 1] = slots[j * 3 + 1]!;
        slots[hole * 3 + 2] = slots[j * 3 + 2]!;
        hole = j;
      }
    }
    slots[hole * 3] = -1;
  }

  private resize(n: number): void {
    const old = this.slots;
    this.slots = new Int32Array(3 * n).fill(-1);
    this.mask = n - 1;
    this.used = 0;
    for (let i = 0; i < old.length; i += 3) {
      const k = old[i]!;
      if (k !== -1) this.set(k, old[i + 1]!, old[i + 2]!);
    }
  }
}
