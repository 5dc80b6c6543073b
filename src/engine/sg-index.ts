// The index of live dma_map_sg calls by (device, first physical address), for
// matching a dma_unmap_sg to its call. It stores no keys: a slot is the head
// entry's id and the key's 32-bit hash (8 bytes), and a hash match is confirmed
// against the head entry, which stays live and unchanged while it is indexed.
// Linear probing, load at most 4/5, backward-shift deletion driven by the
// stored hashes. It reads the meta and phys words of the entry pages directly
// (0x30000 / 0x40000 / 0x50000 + i: see entries.ts).

import { HashSlots } from '../base/hash-slots.js';
import { type EntryTable, metaDev } from './entries.js';

function hashKey(dev: number, hi: number, lo: number): number {
  let h = Math.imul(dev ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(hi, 0xc2b2ae35) ^ Math.imul(lo ^ (lo >>> 15), 0x27d4eb2f);
  h ^= h >>> 13;
  h = Math.imul(h, 0x165667b1);
  h ^= h >>> 16;
  return h;
}

/** Slot values: the head entry of a live sg call; hashes of (device, first physical address). */
export class SgIndex extends HashSlots {
  constructor(private readonly t: EntryTable) {
    super();
  }

  get size(): number {
    return this.used;
  }

  get bytes(): number {
    return this.slots.length * 4;
  }

  /** The slot holding the key (hash h), or ~(the empty slot where it would go). */
  private find(dev: number, hi: number, lo: number, h: number): number {
    const slots = this.slots;
    const mask = this.mask;
    const pages = this.t.pages;
    let s = h & mask;
    for (;;) {
      const e = slots[s << 1]!;
      if (e === -1) return ~s;
      if (slots[(s << 1) + 1] === h) {
        const p = pages[e >>> 16]!;
        const i = e & 0xffff;
        if (p[0x40000 + i] === lo && p[0x50000 + i] === hi && metaDev(p[0x30000 + i]!) === dev) return s;
      }
      s = (s + 1) & mask;
    }
  }

  /** The slot of `head`'s own key, or ~(empty slot). */
  private findOf(head: number): number {
    const p = this.t.pages[head >>> 16]!;
    const i = head & 0xffff;
    const dev = metaDev(p[0x30000 + i]!);
    const hi = p[0x50000 + i]!;
    const lo = p[0x40000 + i]!;
    return this.find(dev, hi, lo, hashKey(dev, hi, lo));
  }

  /** The head indexed under the key, or -1. */
  get(dev: number, hi: number, lo: number): number {
    hi |= 0;
    lo |= 0;
    const s = this.find(dev, hi, lo, hashKey(dev, hi, lo));
    return s >= 0 ? this.slots[s << 1]! : -1;
  }

  /** Indexes `head` under its own key unless the key is taken; returns the head already there, or -1. */
  add(head: number): number {
    const s = this.findOf(head);
    if (s >= 0) return this.slots[s << 1]!;
    const p = this.t.pages[head >>> 16]!;
    const i = head & 0xffff;
    this.slots[~s << 1] = head;
    this.slots[(~s << 1) + 1] = hashKey(metaDev(p[0x30000 + i]!), p[0x50000 + i]!, p[0x40000 + i]!);
    this.used++;
    if (this.used * 5 > (this.mask + 1) * 4) this.resize((this.mask + 1) * 2);
    return -1;
  }

  /** The key of `head` now maps to `next`, a head with the same key. */
  replace(head: number, next: number): void {
    const s = this.findOf(head);
    if (s >= 0) this.slots[s << 1] = next;
  }

  /** Removes the key of `head`. */
  remove(head: number): void {
    const s = this.findOf(head);
    if (s >= 0) this.deleteSlot(s);
  }
}
