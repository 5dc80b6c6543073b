// Syncs: check_sync() for dma_sync_single_* and dma_sync_sg_* (direction,
// read-only/write-only for the side that syncs, sg entry count, range). The
// containing lookup only finds mappings that fully contain the synced range, so
// an over-long sync is "not allocated", as in the kernel (checks.md).

import { addr, CHECKS, type CheckId } from '../catalogue.js';
import { metaDir } from '../entries.js';
import { Dir, type DmaEvent } from '../events.js';
import { EntryType } from '../model.js';
import type { EngineState } from '../state.js';
import type { UnmapChecks } from './unmap.js';

const WHY = 'events were lost after this mapping was made';

export class SyncChecks {
  constructor(
    private readonly s: EngineState,
    private readonly unmap: UnmapChecks,
  ) {}

  /** debug_dma_sync_single_for_cpu/device(): the kernel's ref type is `single` on both kernels. */
  single(ev: DmaEvent, toCpu: boolean): void {
    this.check(ev.device, ev.addrHi, ev.addrLo, ev.size, EntryType.Single, ev.dir, 0, toCpu);
  }

  /** debug_dma_sync_sg_for_cpu/device(). */
  sg(ev: DmaEvent, toCpu: boolean): void {
    const n = Math.min(ev.sgDma.count, ev.sgLen.count);
    if (n === 0) return;
    const nelems = Math.max(ev.nents, n);
    const t = this.s.entries;
    // get_nr_mapped_entries(): the exact entry of the first segment says how many were mapped
    const first = t.findExact(
      ev.device,
      ev.sgDma.hi[0]!,
      ev.sgDma.lo[0]!,
      ev.sgLen.v[0]!,
      EntryType.Sg,
      ev.dir,
      nelems,
    );
    // no such entry: mapped_ents is 0 and the kernel checks nothing, so neither do we
    if (first < 0) return;
    const mapped = Math.min(n, t.sgMapped(first));
    for (let i = 0; i < mapped; i++) {
      this.check(ev.device, ev.sgDma.hi[i]!, ev.sgDma.lo[i]!, ev.sgLen.v[i]!, EntryType.Sg, ev.dir, nelems, toCpu);
    }
  }

  private err(check: CheckId, dev: number, e: number, proven: boolean, text: string): void {
    this.s.report.err(check, text, dev, e, proven, WHY);
  }

  /** check_sync(). */
  private check(
    dev: number,
    hi: number,
    lo: number,
    size: number,
    type: number,
    dir: number,
    sgCall: number,
    toCpu: boolean,
  ): void {
    const s = this.s;
    if (s.poolDisabled) return;
    const t = s.entries;
    const e = t.findContaining(dev, hi, lo, size, type, dir, sgCall, s.maxSize);
    if (e < 0) {
      this.unmap.unknownAddress(dev, hi, lo, size, true);
      return;
    }
    const m = t.meta(e);
    const proven = t.freshMeta(m);
    const esize = t.size(e);
    const edir = metaDir(m);
    if (size > esize) {
      this.err(
        'sync-out-of-range',
        dev,
        e,
        proven,
        CHECKS['sync-out-of-range'].message(addr(t.dmaHi(e), t.dmaLo(e)), esize, size),
      );
    }
    if (edir === Dir.Bidirectional) return;
    if (dir !== edir)
      this.err(
        'sync-direction-mismatch',
        dev,
        e,
        proven,
        CHECKS['sync-direction-mismatch'].message(addr(hi, lo), esize, edir, dir),
      );
    if (toCpu && edir !== Dir.FromDevice && dir !== Dir.ToDevice) {
      this.err(
        'sync-read-only-for-cpu',
        dev,
        e,
        proven,
        CHECKS['sync-read-only-for-cpu'].message(addr(hi, lo), esize, edir, dir),
      );
    }
    if (!toCpu && edir !== Dir.ToDevice && dir !== Dir.FromDevice) {
      this.err(
        'sync-write-only-for-device',
        dev,
        e,
        proven,
        CHECKS['sync-write-only-for-device'].message(addr(hi, lo), esize, edir, dir),
      );
    }
    if (sgCall !== 0 && type === EntryType.Sg && sgCall !== t.sgCall(e)) {
      this.err('sync-sg-count-mismatch', dev, e, proven, CHECKS['sync-sg-count-mismatch'].message(t.sgCall(e), sgCall));
    }
  }
}
