// Checks beyond the kernel that need the whole trace (checks.md "Beyond the
// kernel"): a page freed while a mapping the device may write to still covers
// it (the seed thread's idle assertion, placed where it is cheap and exact),
// and the mappings still live when the trace ends, by device and call site.
// double-unmap and overlap-exact live beside the kernel checks they extend
// (unmap.ts, cacheline.ts); map-failed beside the maps (map.ts).

import { addr, CHECKS } from '../catalogue.js';
import { metaDev, metaDir } from '../entries.js';
import type { DmaEvent } from '../events.js';
import type { EngineState } from '../state.js';

/** One leak-at-end group: live mappings of one device from one call site. */
export interface LeakGroup {
  device: string;
  /** The mapping stack (frames), or null when the trace had none. */
  stack: string[] | null;
  count: number;
  bytes: number;
  /** How many were mapped since the last loss of events (the rest may have been unmapped unseen). */
  fresh: number;
}

export class BeyondChecks {
  constructor(private readonly s: EngineState) {}

  /**
   * page-freed-while-mapped: a freed page block [pfn << 12, (pfn + 2^order) << 12)
   * intersects a live mapping the device may write to. Each mapping is reported
   * once: it then leaves the range index (not the cacheline tracker), so a
   * later overlap-exact list leaves it out.
   */
  pageFree(ev: DmaEvent): void {
    const s = this.s;
    const order = Math.min(Math.max(ev.order, 0), 20); // a 1 GiB page is order 18
    const e = s.physIndex.findPages(ev.pfnHi, ev.pfnLo, order);
    if (e < 0) return;
    const t = s.entries;
    const m = t.meta(e);
    const pfn = `0x${hexNoPad(ev.pfnHi, ev.pfnLo)}`;
    const text = CHECKS['page-freed-while-mapped'].message(
      pfn,
      order,
      addr(t.dmaHi(e), t.dmaLo(e)),
      t.size(e),
      metaDir(m),
    );
    const proven = t.freshMeta(m);
    const note = proven
      ? 'the page was freed while this mapping, which the device may write to, was live'
      : s.cov.unprovenNote('events were lost after this mapping was made (its unmap may be among them)');
    s.report.fire('page-freed-while-mapped', proven ? 'error' : 'unconfirmed', text, metaDev(m), e, note);
    // once per mapping: its later page frees (the page recycled and freed again) would repeat it
    s.physIndex.remove(e);
  }

  /**
   * leak-at-end (info): the mappings still live, grouped by device and by the
   * call site (the mapping's stack, when the trace had one): count and bytes.
   * Sorted by device name, then by count (largest first).
   */
  leaksAtEnd(): LeakGroup[] {
    const { entries: t, names } = this.s;
    const groups = new Map<string, LeakGroup>();
    for (const e of t.inDumpOrder()) {
      const dev = t.dev(e);
      const st = t.stack(e);
      const key = `${dev}:${st}`;
      let g = groups.get(key);
      if (!g) {
        g = {
          device: names.devices.name(dev),
          stack: st >= 0 ? names.stacks.name(st).split('\n') : null,
          count: 0,
          bytes: 0,
          fresh: 0,
        };
        groups.set(key, g);
      }
      g.count++;
      g.bytes += t.size(e);
      if (t.fresh(e)) g.fresh++;
    }
    return [...groups.values()].sort((x, y) =>
      x.device < y.device ? -1 : x.device > y.device ? 1 : y.count - x.count || y.bytes - x.bytes,
    );
  }
}

export function hexNoPad(hi: number, lo: number): string {
  if (hi === 0) return (lo >>> 0).toString(16);
  return (hi >>> 0).toString(16) + (lo >>> 0).toString(16).padStart(8, '0');
}
