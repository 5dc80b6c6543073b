// Maps and allocations: debug_dma_map_phys() (map_page, map_single and
// resource maps), debug_dma_map_sg(), debug_dma_alloc_coherent(),
// debug_dma_alloc_pages(), dma_alloc_noncontiguous(); dma_entry_alloc() with
// the entry pool; add_dma_entry(); and map-failed (ours) for calls that
// returned an error. The kernel profile decides each entry's type; every entry
// records its attrs (the profile decides whether the kernel keeps and shows them).

import { ATTR_MMIO } from '../../events/vocabulary.js';
import { addr, CHECKS, mapSgFailedMessage } from '../catalogue.js';
import { F_SG_TRUNCATED } from '../entries.js';
import { Dir, type DmaEvent, EventKind, isFailedAlloc, isMappingError, isMmio } from '../events.js';
import { EntryType, MapErr } from '../model.js';
import { POOL_EXHAUSTED, POOL_GREW } from '../pool.js';
import { singleType } from '../profiles.js';
import type { Stacks } from '../stacks.js';
import type { EngineState } from '../state.js';
import type { CachelineChecks } from './cacheline.js';
import type { SideChecks } from './side.js';

export class MapChecks {
  private poolUnproven = false;

  constructor(
    private readonly s: EngineState,
    private readonly cachelines: CachelineChecks,
    private readonly side: SideChecks,
    private readonly stacks: Stacks,
  ) {}

  /** debug_dma_map_phys() / debug_dma_map_page() / debug_dma_map_resource(). */
  single(ev: DmaEvent): void {
    const s = this.s;
    const k = s.kernel(); // decided here at the latest: this event's name is kernel evidence
    if (isMappingError(ev)) {
      this.failed(ev); // DMA_MAPPING_ERROR: the kernel makes no entry
      return;
    }
    const mmio = isMmio(ev);
    if (ev.hasPhys && s.noteIdentity(ev.device, ev.addrHi === ev.physHi && ev.addrLo === ev.physLo)) {
      this.resolvePendingPhys(ev.device);
    }
    const mapErr = s.config.tracksMappingErrors ? MapErr.NotChecked : MapErr.Unknown;
    const type = singleType(k, mmio);
    const e = this.newEntry(ev.device, ev.addrHi, ev.addrLo, ev.size, type, ev.dir, mapErr);
    if (e < 0) return;
    const t = s.entries;
    if (ev.hasPhys) t.setPhys(e, ev.physHi, ev.physLo);
    t.setAttrs(e, ev.attrs);
    if (mmio) {
      if (k.checksMmioOfRam) this.side.mmioOfRam(e);
    } else {
      this.side.kernelImage(e);
    }
    this.add(e, ev.attrs);
    this.stacks.mapped(e, false);
  }

  /** debug_dma_map_sg(): one entry per mapped segment. */
  sg(ev: DmaEvent): void {
    const s = this.s;
    const known = Math.min(ev.ents, ev.sgDma.count, ev.sgLen.count);
    const truncated = known < ev.ents || ev.truncated;
    if (truncated) s.cov.truncatedSgCalls++;
    const call = s.nextCall();
    const t = s.entries;
    let head = -1;
    let prev = -1;
    for (let i = 0; i < known; i++) {
      const dHi = ev.sgDma.hi[i]!;
      const dLo = ev.sgDma.lo[i]!;
      const hasPhys = i < ev.sgPhys.count;
      if (hasPhys && s.noteIdentity(ev.device, dHi === ev.sgPhys.hi[i] && dLo === ev.sgPhys.lo[i])) {
        this.resolvePendingPhys(ev.device);
      }
      const e = this.newEntry(ev.device, dHi, dLo, ev.sgLen.v[i]!, EntryType.Sg, ev.dir, MapErr.NotApplicable);
      if (e < 0) break;
      if (hasPhys) t.setPhys(e, ev.sgPhys.hi[i]!, ev.sgPhys.lo[i]!);
      if (truncated) t.setFlag(e, F_SG_TRUNCATED);
      t.setSg(e, ev.nents, ev.ents);
      t.setCallId(e, call);
      t.setAttrs(e, ev.attrs);
      if (prev >= 0) t.setSgNext(prev, e);
      else head = e;
      prev = e;
      this.side.kernelImage(e);
      this.side.sgSegment(e);
      this.add(e, ev.attrs);
    }
    if (head >= 0) {
      s.indexSgCall(head);
      this.stacks.mapped(head, true);
    }
  }

  /** dma_alloc_noncontiguous(): debug_dma_map_sg() of one entry for the whole buffer. */
  allocSgt(ev: DmaEvent): void {
    const s = this.s;
    const e = this.newEntry(ev.device, ev.addrHi, ev.addrLo, ev.size, EntryType.Sg, ev.dir, MapErr.NotApplicable);
    if (e < 0) return;
    const t = s.entries;
    if (ev.sgPhys.count > 0) t.setPhys(e, ev.sgPhys.hi[0]!, ev.sgPhys.lo[0]!);
    t.setSg(e, ev.sgPhys.count, 1);
    t.setCallId(e, s.nextCall());
    t.setAttrs(e, ev.attrs);
    this.add(e, ev.attrs);
    this.stacks.mapped(e, false);
  }

  /** debug_dma_alloc_coherent() / debug_dma_alloc_pages(). */
  alloc(ev: DmaEvent, type: EntryType): void {
    const s = this.s;
    if (isFailedAlloc(ev)) {
      this.failed(ev); // a failed allocation: the kernel makes no entry
      return;
    }
    // coherent memory is bidirectional by definition, whatever a 6.13-era trace says
    const dir = type === EntryType.Coherent ? Dir.Bidirectional : ev.dir;
    const e = this.newEntry(ev.device, ev.addrHi, ev.addrLo, ev.size, type, dir, MapErr.NotApplicable);
    if (e < 0) return;
    const t = s.entries;
    if (ev.hasVirt) s.virt.set(e, ev.virtHi, ev.virtLo);
    if (s.cpuPhys(ev)) t.setPhys(e, s.cpHi, s.cpLo);
    else if (s.hasIdentity(ev.device)) t.setPhys(e, ev.addrHi, ev.addrLo);
    // debug_dma_alloc_pages() keeps no attrs
    const attrs = type === EntryType.Coherent ? ev.attrs : 0;
    t.setAttrs(e, attrs);
    this.add(e, attrs);
    this.stacks.mapped(e, false);
  }

  /** dma_entry_alloc(): an entry from the pool, its common fields filled; -1 once dma-debug gave up. */
  private newEntry(dev: number, hi: number, lo: number, size: number, type: number, dir: number, mapErr: number) {
    const s = this.s;
    if (s.poolDisabled) return -1;
    if (s.cov.poolModelled) {
      const rc = s.pool.take();
      if (rc === POOL_EXHAUSTED && s.cov.poolExhaustionProven) {
        s.poolDisabled = true;
        s.report.fire('pool-exhausted', 'error', CHECKS['pool-exhausted'].message(), -1, -1, null);
        return -1;
      }
      if (rc === POOL_EXHAUSTED && !this.poolUnproven) {
        // after a loss the pool may hold entries whose unmaps were lost: say so once, check on
        this.poolUnproven = true;
        const why = 'events were lost, so the pool may hold entries whose unmaps are missing; checking goes on';
        s.report.fire(
          'pool-exhausted',
          'unconfirmed',
          CHECKS['pool-exhausted'].message(),
          -1,
          -1,
          s.cov.unprovenNote(why),
        );
      }
      if (rc === POOL_GREW) s.report.fire('pool-grown', 'info', s.pool.grewMessage(), -1, -1, null);
    }
    const e = s.entries.create(dev, hi, lo, size, type, dir, mapErr, s.cur);
    if (size > s.maxSize) s.maxSize = size;
    s.stats.created(dev, size);
    return e;
  }

  /** add_dma_entry(): hash it, then track its first cacheline (and its exact range). */
  private add(e: number, attrs: number): void {
    const s = this.s;
    const t = s.entries;
    t.link(e);
    if (t.dir(e) === Dir.ToDevice || !t.physKnown(e)) return;
    s.physIndex.insert(e);
    this.cachelines.insert(e, attrs);
  }

  /** Coherent entries made before a device showed dma == phys: P = D now, and they join cacheline tracking. */
  private resolvePendingPhys(dev: number): void {
    const s = this.s;
    const t = s.entries;
    for (const e of t.inDumpOrder(dev)) {
      if (t.physKnown(e)) continue;
      if (t.type(e) !== EntryType.Coherent && t.type(e) !== EntryType.Noncoherent) continue;
      t.setPhys(e, t.dmaHi(e), t.dmaLo(e));
      if (t.dir(e) !== Dir.ToDevice) {
        s.physIndex.insert(e);
        this.cachelines.insert(e, t.attrs(e));
      }
    }
  }

  /** map-failed (ours, info): a map or alloc that returned an error; the driver may handle it. */
  failed(ev: DmaEvent): void {
    const a = addr(ev.addrHi, ev.addrLo);
    const m = CHECKS['map-failed'].message;
    let text: string;
    switch (ev.kind) {
      case EventKind.MapSgErr:
        text = mapSgFailedMessage('dma_map_sg', ev.nents, ev.err, ev.dir);
        break;
      case EventKind.AllocSgtErr:
        text = m('dma_alloc_noncontiguous', a, ev.size, ev.dir);
        break;
      case EventKind.Alloc:
        text = m('dma_alloc_coherent', a, ev.size, Dir.Bidirectional);
        break;
      case EventKind.AllocPages:
        text = m('dma_alloc_pages', a, ev.size, ev.dir);
        break;
      case EventKind.MapResource:
        text = m('dma_map_resource', a, ev.size, ev.dir);
        break;
      default:
        text = m((ev.attrs & ATTR_MMIO) !== 0 ? 'dma_map_resource' : 'dma_map_page', a, ev.size, ev.dir);
    }
    this.s.report.fire('map-failed', 'info', text, ev.device, -1, null);
  }
}
