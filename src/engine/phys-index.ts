// The exact physical interval index behind page-freed-while-mapped (and the
// exact overlap count): every live entry the device may write to (direction
// not TO_DEVICE) whose physical address is known, registered by its exact
// range [phys, phys + size). A query asks whether a range (a freed page block)
// intersects any of them, and answers with one such entry, in a few hash
// probes: it never walks the live mappings.
//
// Tiers: an entry is registered in every aligned unit its range touches, in
// the finest tier t (unit 2^(12 + 2t) bytes: 4 KiB, 16 KiB, … 1 GiB) where it
// touches at most 2 units (the last tier takes whatever is bigger). So an
// entry costs one or two slots, and a unit of tier t holds only entries of at
// least about a unit / 4, so few share one. A query probes, in each tier that
// holds any entry, the units its range touches: one probe per tier for an
// order-0 free, 2^order in the page tier (buddy blocks are aligned).
//
// Storage: one open-addressing multimap in an Int32Array of [hash, entry]
// pairs (entry -1 = empty), linear probing, load at most 3/4, backward-shift
// deletion. The key (tier, unit) is not stored: a slot whose hash matches is
// confirmed by reading the entry's own phys and size from the entry pages
// (0x40000 / 0x50000 / 0x60000 + i, see entries.ts) and testing exact
// intersection with the query range, which is the only question ever asked.
// So a slot costs 8 bytes, and an entry spanning a page or two costs 1-2
// slots. Nothing is allocated per operation.

import type { EntryTable } from './entries.js';

const TIERS = 10;
const MAX_UNITS = 2;
const TWO32 = 4294967296;

function mix(uHi: number, uLo: number, tier: number): number {
  let h = Math.imul(uLo ^ (uLo >>> 16), 0x85ebca6b) ^ Math.imul(uHi ^ (tier << 28) ^ 0x9e3779b9, 0xc2b2ae35);
  h ^= h >>> 13;
  h = Math.imul(h, 0x27d4eb2f);
  h ^= h >>> 15;
  return h;
}

export class PhysIndex {
  /** Slot s: [2s] = hash, [2s + 1] = entry (-1 = empty). */
  private slots = new Int32Array(2048).fill(-1);
  /** Slot count - 1. */
  private mask = 1023;
  private used = 0;
  /** Registrations per tier (a query skips empty tiers). */
  private readonly perTier = new Float64Array(TIERS);
  /** Entries registered. */
  count = 0;
  private readonly pages: Int32Array[];
  private readonly t: EntryTable;

  constructor(t: EntryTable) {
    this.t = t;
    this.pages = t.pages;
  }

  get bytes(): number {
    return this.slots.length * 4;
  }

  /** Start address of entry e as a Number (exact below 2^53). */
  private start(e: number): number {
    const p = this.pages[e >>> 16]!;
    const i = e & 0xffff;
    return (p[0x50000 + i]! >>> 0) * TWO32 + (p[0x40000 + i]! >>> 0);
  }

  private len(e: number): number {
    const w = this.pages[e >>> 16]![0x60000 + (e & 0xffff)]!;
    return w === -1 ? this.t.size(e) : w >>> 0;
  }

  /** The tier an entry [s, s + n) lives in. */
  private static tierOf(s: number, n: number): number {
    const last = s + n - 1;
    let unit = 4096;
    for (let tier = 0; tier < TIERS - 1; tier++) {
      if (Math.floor(last / unit) - Math.floor(s / unit) < MAX_UNITS) return tier;
      unit *= 4;
    }
    return TIERS - 1;
  }

  /** Registers entry e (phys known, not TO_DEVICE). Size 0 ranges hold no byte: nothing to register. */
  insert(e: number): void {
    const n = this.len(e);
    if (n <= 0) return;
    const s = this.start(e);
    const tier = PhysIndex.tierOf(s, n);
    const unit = 4096 * 4 ** tier;
    const first = Math.floor(s / unit);
    const last = Math.floor((s + n - 1) / unit);
    for (let u = first; u <= last; u++) {
      if ((this.used + 1) * 4 > (this.mask + 1) * 3) this.resize((this.mask + 1) * 2);
      const h = mix(Math.floor(u / TWO32), u >>> 0, tier);
      const slots = this.slots;
      const mask = this.mask;
      let k = h & mask;
      while (slots[(k << 1) + 1] !== -1) k = (k + 1) & mask;
      slots[k << 1] = h;
      slots[(k << 1) + 1] = e;
      this.used++;
    }
    this.perTier[tier]! += last - first + 1;
    this.count++;
  }

  /** Unregisters entry e (its phys and size are unchanged since insert()). */
  remove(e: number): void {
    const n = this.len(e);
    if (n <= 0) return;
    const s = this.start(e);
    const tier = PhysIndex.tierOf(s, n);
    const unit = 4096 * 4 ** tier;
    const first = Math.floor(s / unit);
    const last = Math.floor((s + n - 1) / unit);
    let removed = 0;
    for (let u = first; u <= last; u++) {
      const h = mix(Math.floor(u / TWO32), u >>> 0, tier);
      const slots = this.slots;
      const mask = this.mask;
      let k = h & mask;
      for (;;) {
        const v = slots[(k << 1) + 1]!;
        if (v === -1) break;
        if (v === e && slots[k << 1] === h) {
          this.deleteSlot(k);
          removed++;
          break;
        }
        k = (k + 1) & mask;
      }
    }
    this.perTier[tier]! -= removed;
    if (removed > 0) this.count--;
  }

  /**
   * A live registered entry intersecting [a, b) (byte addresses, b > a), or -1.
   * When several do, the one met first (deterministic for a given history).
   */
  find(a: number, b: number): number {
    let unit = 4096;
    for (let tier = 0; tier < TIERS; tier++, unit *= 4) {
      if (this.perTier[tier] === 0) continue;
      const first = Math.floor(a / unit);
      const last = Math.floor((b - 1) / unit);
      for (let u = first; u <= last; u++) {
        const e = this.probe(mix(Math.floor(u / TWO32), u >>> 0, tier), a, b);
        if (e >= 0) return e;
      }
    }
    return -1;
  }

  /**
   * Calls fn for every registered entry intersecting [a, b). An entry is met
   * once per unit of [a, b) it is registered in, so callers pass a range inside
   * one page (the overlap count passes one cacheline): then each entry comes
   * once. Rare paths only (fn is a closure).
   */
  forEach(a: number, b: number, fn: (e: number) => void): void {
    let unit = 4096;
    for (let tier = 0; tier < TIERS; tier++, unit *= 4) {
      if (this.perTier[tier] === 0) continue;
      const first = Math.floor(a / unit);
      const last = Math.floor((b - 1) / unit);
      for (let u = first; u <= last; u++) {
        const h = mix(Math.floor(u / TWO32), u >>> 0, tier);
        const slots = this.slots;
        const mask = this.mask;
        for (let k = h & mask; ; k = (k + 1) & mask) {
          const v = slots[(k << 1) + 1]!;
          if (v === -1) break;
          if (slots[k << 1] === h && this.intersects(v, a, b)) fn(v);
        }
      }
    }
  }

  private intersects(e: number, a: number, b: number): boolean {
    const s = this.start(e);
    return s < b && s + this.len(e) > a;
  }

  /** First entry in hash h's probe run intersecting [a, b), or -1. */
  private probe(h: number, a: number, b: number): number {
    const slots = this.slots;
    const mask = this.mask;
    for (let k = h & mask; ; k = (k + 1) & mask) {
      const v = slots[(k << 1) + 1]!;
      if (v === -1) return -1;
      if (slots[k << 1] === h && this.intersects(v, a, b)) return v;
    }
  }

  private deleteSlot(s: number): void {
    this.used--;
    const slots = this.slots;
    const mask = this.mask;
    let hole = s;
    let j = s;
    for (;;) {
      j = (j + 1) & mask;
      const vj = slots[(j << 1) + 1]!;
      if (vj === -1) break;
      const home = slots[j << 1]! & mask;
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!inRange) {
        slots[hole << 1] = slots[j << 1]!;
        slots[(hole << 1) + 1] = vj;
        hole = j;
      }
    }
    slots[(hole << 1) + 1] = -1;
  }

  private resize(n: number): void {
    const old = this.slots;
    const slots = new Int32Array(n * 2).fill(-1);
    const mask = n - 1;
    for (let k = 0; k < old.length; k += 2) {
      const v = old[k + 1]!;
      if (v === -1) continue;
      const h = old[k]!;
      let s = h & mask;
      while (slots[(s << 1) + 1] !== -1) s = (s + 1) & mask;
      slots[s << 1] = h;
      slots[(s << 1) + 1] = v;
    }
    this.slots = slots;
    this.mask = mask;
  }
}
