// Cacheline tracking: active_cacheline_insert() and the EEXIST error of
// add_dma_entry(), the overlap-limit warning, the exact overlap list (ours),
// and the old debug_dma_assert_idle() for library callers. The kernel profile
// decides which attrs make a mapping cache-clean and whether EEXIST needs the
// architecture's DMA cache alignment to cover an L1 line (7.3: never on x86_64).

import { ATTR_SKIP_CPU_SYNC } from '../../events/vocabulary.js';
import { clnHiOf, clnLoOf, INSERTED, OVERFLOW } from '../cachelines.js';
import { addr, CHECKS, pa } from '../catalogue.js';
import type { EngineState } from '../state.js';

/**
 * 7.3 add_dma_entry() reads the attrs of the entry its radix tree holds for the
 * cacheline: the mapping that first made it active. When that mapping was
 * unmapped while others still overlapped, the tree keeps pointing at its freed
 * entry, which the next map anywhere may reuse; the kernel then compares with a
 * stranger's attrs.
 */
const STALE_OWNER =
  'every live mapping on this cacheline is cache-clean; the kernel compared with the attrs of a released entry its radix tree still points to (reused by another mapping since)';

/** Why EEXIST is unconfirmed where the arch bounces unaligned kmalloc buffers (arm64). */
const SWIOTLB_MAYBE =
  'the kernel skips this warning when swiotlb is active for the device (CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC, which arm64 selects), and a trace cannot show whether it is';

export class CachelineChecks {
  /** WARN_ONCE: the overlap-limit warning was given (proven), or given unconfirmed. */
  private limitWarned = false;
  private limitUnproven = false;
  private readonly list: number[] = [];

  constructor(private readonly s: EngineState) {}

  /**
   * active_cacheline_insert() for entry e mapped with `attrs`, then add_dma_entry()'s
   * EEXIST rule. Called for entries the device may write to, with a known phys.
   */
  insert(e: number, attrs: number): void {
    const s = this.s;
    const t = s.entries;
    const rc = s.cachelines.insert(e);
    if (rc === INSERTED) return;
    const k = s.kernel();
    const isClean = (attrs & k.cacheCleanAttrs) !== 0;
    let warned = false;
    // the overlap counter saturated: WARN_ONCE, unless this mapping is cache-clean (7.3)
    if (rc === OVERFLOW && !this.limitWarned && !isClean) {
      const cln = pa(clnHiOf(t.physHi(e)), clnLoOf(t.physHi(e), t.physLo(e)));
      const text = CHECKS['cacheline-overlap-limit'].message(cln);
      if (s.cov.overlapLimitProven(() => this.freshOnLine(e))) {
        this.limitWarned = true;
        warned = true;
        s.report.fire('cacheline-overlap-limit', 'error', text, t.dev(e), e, null);
      } else if (!this.limitUnproven) {
        this.limitUnproven = true;
        warned = true;
        const why = 'events were lost since some of these mappings were made (their unmaps may be among them)';
        s.report.fire('cacheline-overlap-limit', 'unconfirmed', text, t.dev(e), e, s.cov.unprovenNote(why));
      }
    }
    // EEXIST: the radix tree already holds an entry for this cacheline
    const owner = s.cachelines.lastOwner;
    const ownerClean = isClean && owner >= 0 && owner < t.cap && (t.attrs(owner) & k.cacheCleanAttrs) !== 0;
    const reported =
      (attrs & ATTR_SKIP_CPU_SYNC) === 0 &&
      !ownerClean &&
      (!k.eexistNeedsCacheAlignment || s.arch().cacheAlignmentCoversL1);
    if (reported) {
      const text = CHECKS['cacheline-overlap'].message();
      if (isClean && s.cachelines.lastOwnerStale && this.othersClean(e, k.cacheCleanAttrs)) {
        s.report.kernelFalsePositive('cacheline-overlap', text, t.dev(e), e, STALE_OWNER);
      } else if (s.arch().bouncesUnalignedKmalloc) {
        s.report.err('cacheline-overlap', text, t.dev(e), e, false, SWIOTLB_MAYBE);
      } else {
        // a live mapping made since the latest loss overlaps: the radix owner may be a released slot
        // or a ghost whose unmap was lost, so count the live ones, this one aside
        const proven = this.freshOnLine(e) - (t.fresh(e) ? 1 : 0) > 0;
        const why = 'events were lost since the overlapping mapping was made';
        s.report.err('cacheline-overlap', text, t.dev(e), e, proven, why);
      }
    }
    if (reported || warned) this.overlapExact(e);
  }

  /** Every other live mapping whose first cacheline is e's is cache-clean. */
  private othersClean(e: number, clean: number): boolean {
    const t = this.s.entries;
    for (const x of this.onFirstCacheline(e)) if (x !== e && (t.attrs(x) & clean) === 0) return false;
    return true;
  }

  /** How many live mappings on e's first cacheline were made since the latest loss. */
  private freshOnLine(e: number): number {
    const t = this.s.entries;
    let fresh = 0;
    for (const x of this.onFirstCacheline(e)) if (t.fresh(x)) fresh++;
    return fresh;
  }

  /**
   * overlap-exact (ours, info): where the kernel printed EEXIST or the overlap
   * limit, the exact number of live mappings whose first cacheline this is.
   */
  private overlapExact(e: number): void {
    const s = this.s;
    const t = s.entries;
    const list = this.onFirstCacheline(e);
    const cHi = clnHiOf(t.physHi(e));
    const cLo = clnLoOf(t.physHi(e), t.physLo(e));
    // in the order they were mapped: a text trace's line order; a binary input's
    // record offsets count per CPU, so there by time, then CPU (the merge's order)
    if (s.report.positions === 'line') list.sort((x, y) => t.line(x) - t.line(y) || x - y);
    else {
      list.sort(
        (x, y) =>
          t.tsSec(x) - t.tsSec(y) || t.tsNs(x) - t.tsNs(y) || t.cpu(x) - t.cpu(y) || t.line(x) - t.line(y) || x - y,
      );
    }
    const own = t.dev(e);
    const shown = list.slice(0, 32).map((x) => {
      const d = addr(t.dmaHi(x), t.dmaLo(x));
      return t.dev(x) === own ? d : `${s.names.devices.name(t.dev(x))} ${d}`;
    });
    const more = list.length > 32 ? ` and ${list.length - 32} more` : '';
    const k = s.cachelines.overlap(cHi, cLo);
    s.report.fire(
      'overlap-exact',
      'info',
      CHECKS['overlap-exact'].message(pa(cHi, cLo), list.length, Math.max(k, 0)),
      own,
      e,
      `overlapping mappings (device address): ${shown.join(', ')}${more}`,
    );
  }

  /** The live mappings whose first cacheline is e's, e included (a reused list). */
  private onFirstCacheline(e: number): number[] {
    const s = this.s;
    const t = s.entries;
    const pHi = t.physHi(e);
    const pLo = t.physLo(e);
    const cHi = clnHiOf(pHi);
    const cLo = clnLoOf(pHi, pLo);
    const start = (cHi * 4294967296 + cLo) * 64;
    const list = this.list;
    list.length = 0;
    s.physIndex.collect(start, start + 64, list);
    let n = 0;
    for (const x of list) {
      if (x === e || (clnHiOf(t.physHi(x)) === cHi && clnLoOf(t.physHi(x), t.physLo(x)) === cLo)) list[n++] = x;
    }
    list.length = n;
    if (list.indexOf(e) < 0) list.push(e); // a size-0 mapping is not in the range index
    return list;
  }

  /**
   * The CPU is about to touch [phys, phys+len): the old debug_dma_assert_idle().
   * Reports the first active cacheline in the range, as the kernel did per page.
   */
  assertIdle(phys: bigint, len: bigint): boolean {
    const s = this.s;
    const first = phys >> 6n;
    const last = (phys + (len > 0n ? len : 1n) - 1n) >> 6n;
    for (let c = first; c <= last; c++) {
      const cHi = Number((c >> 32n) & 0xffffffffn) >>> 0;
      const cLo = Number(c & 0xffffffffn) >>> 0;
      const owner = s.cachelines.owner(cHi, cLo);
      if (owner < 0) continue;
      const known = owner < s.entries.cap;
      const dev = known ? s.entries.dev(owner) : -1;
      const proven = known ? s.entries.fresh(owner) : s.cov.epoch === 0;
      const why = 'events were lost since the mapping was made (its unmap may be among them)';
      s.report.err(
        'cpu-touching-active-mapping',
        CHECKS['cpu-touching-active-mapping'].message(pa(cHi, cLo)),
        dev,
        owner,
        proven,
        why,
      );
      return false;
    }
    return true;
  }
}
