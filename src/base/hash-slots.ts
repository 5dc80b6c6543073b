// Keyless open-addressing slots shared by the engine's indexes: slot s is two
// int32 words, [2s] = a non-negative value (-1 = free) and [2s + 1] = the
// 32-bit hash of its key. The keys themselves live elsewhere (in the entry
// table) and subclasses confirm a hash match against them. This class owns
// what does not depend on the key: growth and backward-shift deletion, both
// driven by the stored hashes, so no tombstones are needed.

/**
 * Backward-shift deletion's test, shared by every open-addressing table here:
 * may the member at slot j, whose home slot is `home`, move back into the hole
 * at `hole`? Not when its home lies cyclically in (hole, j]: it would then sit
 * before its home, where lookups never look.
 */
export function movesIntoHole(home: number, hole: number, j: number): boolean {
  return hole <= j ? home <= hole || home > j : home <= hole && home > j;
}

export class HashSlots {
  /** Slot s: [2s] = value (-1 = free), [2s + 1] = hash of its key. */
  protected slots = new Int32Array(2048).fill(-1);
  /** Slot count - 1. */
  protected mask = 1023;
  protected used = 0;

  /** Frees slot s, moving later members of its probe run back into the hole. */
  protected deleteSlot(s: number): void {
    this.used--;
    const slots = this.slots;
    const mask = this.mask;
    let hole = s;
    let j = s;
    for (;;) {
      j = (j + 1) & mask;
      const vj = slots[j << 1]!;
      if (vj === -1) break;
      if (movesIntoHole(slots[(j << 1) + 1]! & mask, hole, j)) {
        slots[hole << 1] = vj;
        slots[(hole << 1) + 1] = slots[(j << 1) + 1]!;
        hole = j;
      }
    }
    slots[hole << 1] = -1;
  }

  /** Rehashes into n slots (a power of two). */
  protected resize(n: number): void {
    const old = this.slots;
    const slots = new Int32Array(n * 2).fill(-1);
    const mask = n - 1;
    for (let k = 0; k < old.length; k += 2) {
      const v = old[k]!;
      if (v === -1) continue;
      const h = old[k + 1]!;
      let s = h & mask;
      while (slots[s << 1] !== -1) s = (s + 1) & mask;
      slots[s << 1] = v;
      slots[(s << 1) + 1] = h;
    }
    this.slots = slots;
    this.mask = mask;
  }
}
