// The exact physical interval index behind page-freed-while-mapped (and the
// exact overlap count): every live entry the device may write to (direction
// not TO_DEVICE) whose physical address is known, registered by its exact
// range [phys, phys + size). A query asks whether a range (a freed page block)
// intersects any of them, and answers with one such entry, in a few hash
// probes: it never walks the live mappings.
//
// Tiers: an entry is registered in every aligned unit its range touches, in
// the finest tier t (unit 4^t pages: 4 KiB, 16 KiB, … 1 GiB) where it
// touches at most 2 units (the last tier takes whatever is bigger). So an
// entry costs one or two slots, and a unit of tier t holds only entries of at
// least about a unit / 4, so few share one. A query probes, in each tier that
// holds any entry, the units its range touches: one probe per tier for an
// order-0 free, 2^order in the page tier (buddy blocks are aligned).
//
// Storage: one open-addressing multimap of [entry, hash] pairs (HashSlots,
// shared with the cacheline and sg indexes: entry -1 = empty, growth and
// backward-shift deletion), linear probing, load at most 1/2. The key (tier, unit) is not stored: a slot whose hash matches is
// confirmed by reading the entry's own phys and size from the entry pages
// (0x40000 / 0x50000 / 0x60000 + i, see entries.ts) and testing exact
// intersection with the query range, which is the only question ever asked.
// So a slot costs 8 bytes, and an entry spanning a page or two costs 1-2
// slots. Nothing is allocated per operation.
//
// Units are computed in 32-bit integers from the page number modulo 2^32
// (physical addresses past 16 TiB alias lower ones): aliasing only costs a
// probe, since every candidate is confirmed by its exact range in Numbers.
//
// Quick reject: most freed pages belong to no live mapping, so before probing
// the fine tiers (0..4, entries up to 2 MiB) a query reads a counting filter:
// 2^17 counters, indexed by a hash of the page number (see pageHash),
// counting the pages of fine-tier entries with that hash. All counters of the
// freed block zero: no fine-tier entry intersects it. Coarse tiers are always
// probed.

import { HashSlots } from '../base/hash-slots.js';
import type { EntryTable } from './entries.js';

const TIERS = 10;
const TWO32 = 4294967296;
const FILTER_MASK = 0x1ffff;
/** Tiers below this one are counted in the filter. */
const FILTERED_TIERS = 5;

/** murmur3's fmix32 over the unit number and tier. */
function mix(u: number, tier: number): number {
  let h = u ^ Math.imul(tier + 1, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * The filter counter of page p: 16 consecutive pages (an aligned 64 KiB) share
 * one 64-byte line of counters, so a mapping or a freed block of up to 16
 * pages touches one or two lines, not a random line per page.
 */
function pageHash(p: number): number {
  return groupBase(p >>> 4) | (p & 15);
}

/** The first filter counter of the 16-page group g (pages g * 16 .. g * 16 + 15). */
function groupBase(g: number): number {
  const h = Math.imul(g ^ (g >>> 15), 0x2c1b3c6d);
  return ((h ^ (h >>> 12)) << 4) & FILTER_MASK;
}

export class PhysIndex extends HashSlots {
  /** Registrations per tier (a query skips empty tiers). */
  private readonly perTier = new Int32Array(TIERS);
  /** Entries registered. */
  count = 0;
  /** The quick-reject filter (see the header). */
  private readonly filter = new Int32Array(FILTER_MASK + 1);
  private readonly pages: Int32Array[];
  private readonly t: EntryTable;
  /**
   * The range [qa, qb) scan() confirms candidates against. Fields, not
   * arguments: byte addresses are doubles, and a double passed to a call V8
   * does not inline is boxed, which was an allocation per freed page.
   */
  private qa = Number.NaN;
  private qb = Number.NaN;

  constructor(t: EntryTable) {
    super();
    this.t = t;
    this.pages = t.pages;
  }

  get bytes(): number {
    return this.slots.length * 4 + this.filter.length * 4;
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

  /** Registers (d = 1) or unregisters (d = -1) entry e: phys known, not TO_DEVICE, phys and size unchanged between. */
  private update(e: number, d: number): void {
    const pg = this.pages[e >>> 16]!;
    const i = e & 0xffff;
    const w = pg[0x60000 + i]!;
    const n = w === -1 ? this.t.size(e) : w >>> 0;
    if (n <= 0) return; // no byte: nothing to register
    const lo = pg[0x40000 + i]!;
    const p0 = ((pg[0x50000 + i]! << 20) | (lo >>> 12)) >>> 0;
    const x = (lo & 4095) + n - 1;
    const span = x < TWO32 ? x >>> 12 : Math.floor(x / 4096); // pages after the first
    let tier = 0;
    let units = span + 1;
    while (units > 2 && tier < TIERS - 1) {
      tier++;
      const k = tier << 1;
      const last = (p0 & ((1 << k) - 1)) + span; // the last page, from the first unit's start
      units = (last < 0x80000000 ? last >>> k : Math.floor(last / (1 << k))) + 1;
    }
    const u0 = p0 >>> (tier << 1);
    // Queries only probe units of a page number modulo 2^32 (below 2^(32 - 2 tier)):
    // a range over more units than that (a size near 2^64 from a damaged event)
    // needs no more slots, and registering them all took minutes and gigabytes.
    // (Only the last tier can exceed 2 units: testing that first keeps Math.pow off the common path.)
    if (units > 2) units = Math.min(units, 2 ** (32 - (tier << 1)));
    let done = 0;
    if (d > 0) {
      for (let j = 0; j < units; j++) {
        if ((this.used + 1) * 2 > this.mask + 1) this.resize((this.mask + 1) * 2);
        const h = mix((u0 + j) >>> 0, tier);
        const slots = this.slots;
        const mask = this.mask;
        let k = h & mask;
        while (slots[k << 1] !== -1) k = (k + 1) & mask;
        slots[k << 1] = e;
        slots[(k << 1) + 1] = h;
        this.used++;
      }
      done = units;
    } else {
      for (let j = 0; j < units; j++) {
        const h = mix((u0 + j) >>> 0, tier);
        const slots = this.slots;
        const mask = this.mask;
        for (let k = h & mask; ; k = (k + 1) & mask) {
          const v = slots[k << 1]!;
          if (v === -1) break;
          if (v === e && slots[(k << 1) + 1] === h) {
            this.deleteSlot(k);
            done++;
            break;
          }
        }
      }
      if (done === 0) return; // not registered (already reported and dropped)
    }
    this.perTier[tier] = this.perTier[tier]! + d * done;
    this.count += d;
    if (tier < FILTERED_TIERS) {
      // The pages' counters, a 16-page group (one hash, one line of counters) at a time.
      const f = this.filter;
      let p = p0;
      for (let left = span + 1; left > 0; ) {
        const base = groupBase(p >>> 4);
        const from = p & 15;
        const to = Math.min(16, from + left);
        for (let s = base + from; s < base + to; s++) f[s] = f[s]! + d;
        left -= to - from;
        p = (p + (to - from)) >>> 0;
      }
    }
  }

  insert(e: number): void {
    this.update(e, 1);
  }

  /** Unregisters entry e (a no-op when it is not registered). */
  remove(e: number): void {
    this.update(e, -1);
  }

  /**
   * A live registered entry intersecting the 2^order pages at pfn, or -1.
   * When several do, the one met first (deterministic for a given history).
   */
  findPages(pfnHi: number, pfnLo: number, order: number): number {
    const a = ((pfnHi >>> 0) * TWO32 + (pfnLo >>> 0)) * 4096;
    this.qa = a;
    this.qb = a + 4096 * (1 << order); // order <= 20 (beyond.ts); a shift, not Math.pow, per freed page
    return this.scan(pfnLo >>> 0, (1 << order) - 1, null);
  }

  /**
   * Collects into `out` every registered entry intersecting [a, b). An entry is
   * met once per unit of [a, b) it is registered in, so callers pass a range
   * inside one page (the overlap count passes one cacheline): then each entry
   * comes once. Rare paths only.
   */
  collect(a: number, b: number, out: number[]): void {
    const p0 = Math.floor(a / 4096);
    this.qa = a;
    this.qb = b;
    this.scan(p0 >>> 0, Math.floor((b - 1) / 4096) - p0, out);
  }

  /**
   * Probes the units of pages [p0, p0 + span] (p0 modulo 2^32) in each
   * non-empty tier, confirming candidates against [qa, qb): returns the first,
   * or with `out`, collects them all.
   */
  private scan(p0: number, span: number, out: number[] | null): number {
    let tier = 0;
    if (out === null) {
      // The filter: all pages' counters zero means no fine-tier entry is there.
      const f = this.filter;
      let j = 0;
      while (j <= span && f[pageHash((p0 + j) >>> 0)] === 0) j++;
      if (j > span) tier = FILTERED_TIERS;
    }
    for (; tier < TIERS; tier++) {
      if (this.perTier[tier] === 0) continue;
      const k = tier << 1;
      const units = Math.floor(((p0 & ((1 << k) - 1)) + span) / (1 << k)) + 1;
      const u0 = p0 >>> k;
      for (let j = 0; j < units; j++) {
        const h = mix((u0 + j) >>> 0, tier);
        const slots = this.slots;
        const mask = this.mask;
        for (let s = h & mask; ; s = (s + 1) & mask) {
          const v = slots[s << 1]!;
          if (v === -1) break;
          if (slots[(s << 1) + 1] === h && this.intersects(v)) {
            if (out === null) return v;
            out.push(v);
          }
        }
      }
    }
    return -1;
  }

  private intersects(e: number): boolean {
    const s = this.start(e);
    return s < this.qb && s + this.len(e) > this.qa;
  }
}
