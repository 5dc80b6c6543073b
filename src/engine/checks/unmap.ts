// Unmaps and frees: check_unmap() (size, function, CPU address, sg count,
// direction, map error, and 7.3's attrs), debug_dma_unmap_sg(), and what an
// unmap of an unknown address proves: the kernel's "not allocated" when the
// trace covers everything, our double-unmap when this trace itself saw the
// address unmapped with no map since, else unconfirmed (coverage.ts decides).
//
// 7.3's exact lookup ignores attrs, so the kernel can compare an unmap with the
// wrong one of two twin mappings and print its attrs warning on correct code.
// Those findings carry the kernel's text, flagged as its false positives.
// (dma_free_noncontiguous() unmaps with attrs 0, but dma_alloc_noncontiguous()
// refuses every attr the check compares, so that pair never differs.)

import { addr, CHECKS, type CheckId, pa } from '../catalogue.js';
import { metaDir, metaMapErr, metaType } from '../entries.js';
import { Dir, type DmaEvent, isMmio } from '../events.js';
import { positionText } from '../findings.js';
import { EntryType, MapErr } from '../model.js';
import { ATTRS_UNMAP_VALID, singleType } from '../profiles.js';
import { type EngineState, SG_KEY } from '../state.js';

const ALL_ONES = 0xffffffff;

/** The reference an unmap/free passes to check_unmap() (the kernel's `ref` entry). */
interface UnmapRef {
  dev: number;
  hi: number;
  lo: number;
  size: number;
  type: number;
  dir: number;
  /** sg_call_ents: nelems of an unmap_sg (0 otherwise). */
  sgCall: number;
  attrs: number;
  /** The free event of a coherent/noncoherent free (its CPU address is compared), else null. */
  freeEv: DmaEvent | null;
}

export class UnmapChecks {
  private readonly ref: UnmapRef = {
    dev: -1,
    hi: 0,
    lo: 0,
    size: 0,
    type: 0,
    dir: 0,
    sgCall: 0,
    attrs: 0,
    freeEv: null,
  };
  /**
   * Entries that stand, in the kernel's table, for a twin the kernel released
   * in their place: the attrs the driver really mapped them with.
   */
  private readonly trueAttrs = new Map<number, number>();
  // scratch for unmap_sg: a call's segments, collected before they are released
  private scratchHi = new Uint32Array(64);
  private scratchLo = new Uint32Array(64);
  private scratchSize = new Float64Array(64);

  constructor(private readonly s: EngineState) {}

  private fill(dev: number, hi: number, lo: number, size: number, type: number, dir: number): UnmapRef {
    const r = this.ref;
    r.dev = dev;
    r.hi = hi;
    r.lo = lo;
    r.size = size;
    r.type = type;
    r.dir = dir;
    r.sgCall = 0;
    r.attrs = 0;
    r.freeEv = null;
    return r;
  }

  /** debug_dma_unmap_phys() / unmap_page / unmap_resource. */
  single(ev: DmaEvent): void {
    const k = this.s.kernel(); // decided here at the latest: this event's name is kernel evidence
    const r = this.fill(ev.device, ev.addrHi, ev.addrLo, ev.size, singleType(k, isMmio(ev)), ev.dir);
    r.attrs = ev.attrs;
    this.check(r);
  }

  /** debug_dma_free_coherent() / debug_dma_free_pages(). */
  free(ev: DmaEvent, type: EntryType): void {
    const dir = type === EntryType.Coherent ? Dir.Bidirectional : ev.dir;
    const r = this.fill(ev.device, ev.addrHi, ev.addrLo, ev.size, type, dir);
    r.attrs = type === EntryType.Coherent ? ev.attrs : 0;
    r.freeEv = ev;
    this.check(r);
  }

  /** dma_free_noncontiguous(): debug_dma_unmap_sg() of its one entry, with attrs 0. */
  freeSgt(ev: DmaEvent): void {
    const r = this.fill(ev.device, ev.addrHi, ev.addrLo, ev.size, EntryType.Sg, ev.dir);
    r.sgCall = ev.sgPhys.count;
    this.check(r);
  }

  /** check_unmap(): find the entry by exact best fit and compare, then release it. */
  private check(r: UnmapRef): void {
    const s = this.s;
    if (s.poolDisabled) return;
    const t = s.entries;
    const e = t.findExact(r.dev, r.hi, r.lo, r.size, r.type, r.dir, r.sgCall);
    if (e < 0) {
      if (r.hi === ALL_ONES && r.lo === ALL_ONES) {
        s.report.err('unmap-invalid-address', CHECKS['unmap-invalid-address'].message(), r.dev, -1, true, null);
      } else {
        this.unknownAddress(r.dev, r.hi, r.lo, r.size, false);
      }
      return;
    }
    const m = t.meta(e);
    const proven = t.freshMeta(m);
    const esize = t.size(e);
    const etype = metaType(m);
    const edir = metaDir(m);
    if (r.size !== esize) {
      this.err(
        'unmap-size-mismatch',
        CHECKS['unmap-size-mismatch'].message(addr(r.hi, r.lo), esize, r.size),
        r,
        e,
        proven,
      );
    }
    if (r.type !== etype) {
      const text = CHECKS['unmap-wrong-function'].message(addr(r.hi, r.lo), r.size, etype, r.type);
      this.err('unmap-wrong-function', text, r, e, proven);
    } else if ((r.type === EntryType.Coherent || r.type === EntryType.Noncoherent) && r.freeEv?.hasVirt) {
      const fe = r.freeEv;
      const v = s.virt.find(e);
      if (v >= 0 && (s.virt.hiAt(v) !== fe.virtHi || s.virt.loAt(v) !== fe.virtLo)) {
        const allocPa = pa(t.physHi(e), t.physLo(e), t.physKnown(e));
        const freePa = s.cpuPhys(fe) ? pa(s.cpHi, s.cpLo) : pa(0, 0, false);
        const text = CHECKS['free-cpu-address-mismatch'].message(addr(r.hi, r.lo), r.size, allocPa, freePa);
        this.err('free-cpu-address-mismatch', text, r, e, proven);
      }
    }
    if (r.sgCall !== 0 && r.type === EntryType.Sg && r.sgCall !== t.sgCall(e)) {
      const text = CHECKS['unmap-sg-count-mismatch'].message(t.sgCall(e), r.sgCall);
      this.err('unmap-sg-count-mismatch', text, r, e, proven);
    }
    if (r.dir !== edir) {
      this.err(
        'unmap-direction-mismatch',
        CHECKS['unmap-direction-mismatch'].message(addr(r.hi, r.lo), r.size, edir, r.dir),
        r,
        e,
        proven,
      );
    }
    if (metaMapErr(m) === MapErr.NotChecked) {
      this.err(
        'map-error-not-checked',
        CHECKS['map-error-not-checked'].message(addr(r.hi, r.lo), r.size, etype),
        r,
        e,
        proven,
      );
    }
    // attrs that differ where any kernel compares them: only then ask the profile,
    // so a free before the first map event does not decide the kernel line
    if (((t.attrs(e) ^ r.attrs) & ATTRS_UNMAP_VALID) !== 0) {
      const mask = s.kernel().unmapAttrsMustMatch;
      if (mask !== 0) this.checkAttrs(r, e, mask, proven);
    }
    s.recent.record(r.dev, r.hi, r.lo, r.hi, r.lo, r.size, s.cov.epoch, s.cur ? s.cur.line : 0, s.cur ? s.cur.cpu : 0);
    if (this.trueAttrs.size !== 0) this.trueAttrs.delete(e);
    // Released an entry made before a loss: had its unmap been lost, this unmap
    // was a twin's (same address), and the twin left live may be gone.
    if (!proven) t.unfreshTwins(r.dev, r.hi, r.lo, e);
    s.releaseEntry(e);
  }

  private err(check: CheckId, text: string, r: UnmapRef, e: number, proven: boolean): void {
    this.s.report.err(check, text, r.dev, e, proven, 'events were lost after this mapping was made');
  }

  /**
   * 7.3: the attrs in DMA_ATTR_UNMAP_VALID must match the map's. The kernel's
   * own false positives are told apart from drivers' bugs here.
   */
  private checkAttrs(r: UnmapRef, e: number, mask: number, proven: boolean): void {
    const t = this.s.entries;
    const mapped = t.attrs(e);
    if (((mapped ^ r.attrs) & mask) === 0) return;
    const text = CHECKS['unmap-attrs-mismatch'].message(addr(r.hi, r.lo), r.size, mapped, r.attrs);
    let why: string | null = null;
    const truth = this.trueAttrs.get(e) ?? mapped;
    const twin = t.findTwin(e, r.attrs, mask);
    if (twin >= 0) {
      // the kernel releases e, the older twin; the one left stands for e's mapping
      this.trueAttrs.set(twin, truth);
      why =
        "another live mapping of this address, size and direction has these attrs; the kernel's exact lookup ignores attrs and took the older one";
    } else if (((truth ^ r.attrs) & mask) === 0) {
      why =
        "the kernel released this mapping's twin (same address, size and direction, other attrs) in its place earlier, so it compares with the twin's attrs";
    }
    if (why !== null) this.s.report.kernelFalsePositive('unmap-attrs-mismatch', text, r.dev, e, why);
    else this.err('unmap-attrs-mismatch', text, r, e, proven);
  }

  /** An unmap, free or sync found no entry: decide error vs unconfirmed (coverage). */
  unknownAddress(dev: number, hi: number, lo: number, size: number, sync: boolean): void {
    const s = this.s;
    const cov = s.cov;
    if (sync) cov.unknownSyncs++;
    else cov.unknownUnmaps++;
    const a = addr(hi, lo);
    const text = sync ? CHECKS['sync-not-mapped'].message(a, size) : CHECKS['unmap-not-mapped'].message(a, size);
    const rec = s.recent;
    const slot = rec.find(dev, hi, lo);
    // The latest unmap at this address names what happened, unless a live
    // entry starts here: a map at it that was released since would have
    // recorded a later unmap, as every release is an unmap (maps do not forget
    // the record: this, the rare path, checks instead).
    if (slot >= 0 && !s.entries.anyAt(dev, hi, lo)) {
      const place = positionText(s.report.positions, rec.line(slot), rec.cpu(slot));
      const where = place !== '' ? ` at ${place}` : '';
      const proof = `unmapped earlier in this trace${where}, with no map since`;
      const check: CheckId = sync ? 'sync-not-mapped' : 'double-unmap';
      s.report.err(check, text, dev, -1, cov.absenceProven, cov.twinNote(rec.epoch(slot)), proof);
      return;
    }
    const check: CheckId = sync ? 'sync-not-mapped' : 'unmap-not-mapped';
    s.report.err(check, text, dev, -1, cov.absenceProven, cov.absenceNote('mapping'));
  }

  /** debug_dma_unmap_sg(): the live call with this physical list, segment by segment. */
  sg(ev: DmaEvent): void {
    const s = this.s;
    const nelems = ev.sgPhys.count > 0 ? Math.max(ev.nents, ev.sgPhys.count) : ev.nents;
    const head = this.findSgCall(ev);
    if (head < 0) {
      this.unknownSg(ev, nelems);
      return;
    }
    const t = s.entries;
    // a call made before a loss may be a ghost whose unmap was lost: then this unmap may be
    // another live call's with the same physical list (an IOMMU gives it other DMA addresses),
    // and what that call leaves proves nothing
    if (!t.fresh(head)) this.unfreshSameList(head, ev);
    // collect the call's segments first: check_unmap releases them as it goes
    const call = t.callId(head);
    const mapped = t.sgMapped(head);
    let n = 0;
    for (let e = head; e >= 0 && t.callId(e) === call; e = t.sgNext(e)) {
      if (n === this.scratchHi.length) this.growScratch();
      this.scratchHi[n] = t.dmaHi(e);
      this.scratchLo[n] = t.dmaLo(e);
      this.scratchSize[n] = t.size(e);
      n++;
    }
    s.stats.sgCallReleased(head, ev.device);
    s.stats.batchRelease = true;
    for (let i = 0; i < nelems; i++) {
      if (mapped && i >= mapped) break;
      if (i >= n) break; // segments beyond a truncated list are unknown
      const r = this.fill(
        ev.device,
        this.scratchHi[i]!,
        this.scratchLo[i]!,
        this.scratchSize[i]!,
        EntryType.Sg,
        ev.dir,
      );
      r.sgCall = nelems;
      r.attrs = ev.attrs;
      this.check(r);
    }
    s.stats.batchRelease = false;
  }

  /** An unmap_sg whose physical list matches no live dma_map_sg. */
  private unknownSg(ev: DmaEvent, nelems: number): void {
    if (ev.sgPhys.count === 0) return;
    const s = this.s;
    const cov = s.cov;
    const dev = ev.device;
    const pHi = ev.sgPhys.hi[0]!;
    const pLo = ev.sgPhys.lo[0]!;
    const rec = s.recentSg;
    const slot = rec.find(dev | SG_KEY, pHi, pLo);
    if (slot >= 0) {
      const place = positionText(s.report.positions, rec.line(slot), rec.cpu(slot));
      const where = place !== '' ? ` at ${place}` : '';
      cov.unknownUnmaps++;
      s.report.err(
        'double-unmap',
        CHECKS['double-unmap'].message(addr(rec.dmaHi(slot), rec.dmaLo(slot)), rec.size(slot)),
        dev,
        -1,
        cov.absenceProven,
        cov.twinNote(rec.epoch(slot)),
        `this sg list was unmapped earlier in this trace${where}, with no map since (${nelems} entries)`,
      );
      return;
    }
    cov.unknownUnmaps++;
    // a direct-mapped device's DMA address is the physical address
    const a = s.hasIdentity(dev) ? addr(pHi, pLo) : '0x<unknown>';
    const text = CHECKS['unmap-not-mapped'].message(a, '<unknown>');
    const proof = `no live dma_map_sg has this physical address list (${nelems} entries)`;
    s.report.err('unmap-not-mapped', text, dev, -1, cov.absenceProven, cov.absenceNote('sg mapping'), proof);
  }

  /** The live sg call an unmap_sg refers to: same device, same physical list. */
  private findSgCall(ev: DmaEvent): number {
    if (ev.sgPhys.count === 0) return -1;
    const t = this.s.entries;
    const first = this.s.sgIndex.get(ev.device, ev.sgPhys.hi[0]!, ev.sgPhys.lo[0]!);
    if (first < 0) return -1;
    let fallback = -1;
    for (let h = first; h >= 0; h = t.sgAlt(h)) {
      if (this.samePhysList(h, ev)) {
        if (t.sgCall(h) === ev.nents || ev.nents === 0) return h;
        if (fallback < 0) fallback = h;
      }
    }
    return fallback >= 0 ? fallback : first;
  }

  /** Every other live sg call with ev's physical list: not fresh. */
  private unfreshSameList(head: number, ev: DmaEvent): void {
    const t = this.s.entries;
    for (let h = this.s.sgIndex.get(ev.device, ev.sgPhys.hi[0]!, ev.sgPhys.lo[0]!); h >= 0; h = t.sgAlt(h)) {
      if (h === head || !this.samePhysList(h, ev)) continue;
      const call = t.callId(h);
      for (let e = h; e >= 0 && t.callId(e) === call; e = t.sgNext(e)) t.unfresh(e);
    }
  }

  private samePhysList(head: number, ev: DmaEvent): boolean {
    const t = this.s.entries;
    const call = t.callId(head);
    let i = 0;
    for (let e = head; e >= 0 && t.callId(e) === call && i < ev.sgPhys.count; e = t.sgNext(e), i++) {
      if (t.physHi(e) !== ev.sgPhys.hi[i] || t.physLo(e) !== ev.sgPhys.lo[i]) return false;
    }
    return true;
  }

  private growScratch(): void {
    const n = this.scratchHi.length * 2;
    const h = new Uint32Array(n);
    h.set(this.scratchHi);
    const l = new Uint32Array(n);
    l.set(this.scratchLo);
    const z = new Float64Array(n);
    z.set(this.scratchSize);
    this.scratchHi = h;
    this.scratchLo = l;
    this.scratchSize = z;
  }
}
