// The kernel's dma_debug_entry pool: preallocated `dma_debug_entries` entries
// (rounded up to whole pages of 32), grown a page at a time when it runs dry,
// with the num_free / min_free / nr_total counters debugfs shows. The engine
// asks it for an entry on every new mapping so that `--entries N` can say
// whether, and when, a debug kernel would have grown (or, with a fixed pool,
// given up).

import { DYNAMIC_ENTRIES } from './model.js';

export const POOL_OK = 0;
export const POOL_GREW = 1;
export const POOL_EXHAUSTED = 2;

export class EntryPool {
  readonly prealloc: number;
  nrTotal: number;
  numFree: number;
  minFree: number;
  /** Most entries in use at once. */
  peakUsed = 0;

  constructor(
    prealloc: number,
    readonly grows: boolean,
  ) {
    this.prealloc = prealloc;
    this.nrTotal = Math.ceil(prealloc / DYNAMIC_ENTRIES) * DYNAMIC_ENTRIES;
    this.numFree = this.nrTotal;
    this.minFree = this.numFree;
  }

  /** Takes one entry. POOL_GREW means the kernel would print the growth line (see grewMessage). */
  take(): number {
    let rc = POOL_OK;
    if (this.numFree === 0) {
      if (!this.grows) return POOL_EXHAUSTED;
      this.numFree += DYNAMIC_ENTRIES;
      this.nrTotal += DYNAMIC_ENTRIES;
      if (this.nrTotal % this.prealloc < DYNAMIC_ENTRIES) rc = POOL_GREW;
    }
    this.numFree--;
    if (this.numFree < this.minFree) this.minFree = this.numFree;
    const used = this.nrTotal - this.numFree;
    if (used > this.peakUsed) this.peakUsed = used;
    return rc;
  }

  give(): void {
    this.numFree++;
  }

  grewMessage(): string {
    return `dma_debug_entry pool grown to ${this.nrTotal} (${Math.floor(this.nrTotal / this.prealloc)}00%)`;
  }
}
