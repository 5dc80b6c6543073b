// Checks that need side information the dma events lack (checks.md "Side
// information"): mapping the kernel image (ours: physical ranges from
// /proc/iomem), 7.3's MMIO map of RAM (System RAM ranges), check_sg_segment()
// (device segment limits) and the leak report at unbind (the unbind moment).
// Without their side information these checks stay silent.

import { addr, CHECKS, pa } from '../catalogue.js';
import type { EngineState } from '../state.js';

const U64 = 0xffffffffffffffffn;
const h16 = (v: bigint): string => `0x${v.toString(16).padStart(16, '0')}`;

export class SideChecks {
  constructor(private readonly s: EngineState) {}

  private physOf(e: number): bigint {
    const t = this.s.entries;
    return (BigInt(t.physHi(e)) << 32n) | BigInt(t.physLo(e));
  }

  /** map-kernel-image (ours): a mapping overlaps the kernel's text or rodata. */
  kernelImage(e: number): void {
    const ranges = this.s.config.kernelImage;
    if (!ranges || ranges.length === 0) return;
    const t = this.s.entries;
    if (!t.physKnown(e)) return;
    const start = this.physOf(e);
    const end = start + BigInt(t.size(e));
    for (const r of ranges) {
      if (start < r.end && end > r.start) {
        const text = CHECKS['map-kernel-image'].message(pa(t.physHi(e), t.physLo(e)), t.size(e));
        this.s.report.err('map-kernel-image', text, t.dev(e), -1, true, null, `overlaps ${r.name}`);
        return;
      }
    }
  }

  /**
   * 7.3 debug_dma_map_phys() with DMA_ATTR_MMIO: `pfn_valid(pfn) &&
   * !PageReserved(page)` of the first page means RAM the kernel manages.
   */
  mmioOfRam(e: number): void {
    const ram = this.s.config.systemRam;
    if (!ram || ram.length === 0) return;
    const t = this.s.entries;
    if (!t.physKnown(e)) return;
    const page = this.physOf(e) & ~0xfffn;
    for (const r of ram) {
      if (page >= r.start && page < r.end) {
        const text = CHECKS['map-resource-ram'].message(pa(t.physHi(e), t.physLo(e)));
        this.s.report.err('map-resource-ram', text, t.dev(e), e, true, null);
        return;
      }
    }
  }

  /** check_sg_segment(): one sg segment against the device's max segment size and boundary. */
  sgSegment(e: number): void {
    const limits = this.s.config.segmentLimits;
    if (!limits) return;
    const t = this.s.entries;
    const lim = limits.get(this.s.names.devices.name(t.dev(e)));
    if (!lim) return;
    const len = t.size(e);
    if (len > lim.maxSegmentSize) {
      const text = CHECKS['sg-segment-too-long'].message(len, lim.maxSegmentSize);
      this.s.report.err('sg-segment-too-long', text, t.dev(e), -1, true, null);
    }
    const start = (BigInt(t.dmaHi(e)) << 32n) | BigInt(t.dmaLo(e));
    const end = (start + BigInt(len) - 1n) & U64;
    const boundary = lim.segmentBoundary;
    if (((start ^ end) & ~boundary & U64) !== 0n) {
      const text = CHECKS['sg-segment-boundary'].message(h16(start), h16(end), h16(boundary));
      this.s.report.err('sg-segment-boundary', text, t.dev(e), -1, true, null);
    }
  }

  /** dma_debug_device_change(BUS_NOTIFY_UNBOUND_DRIVER): count the device's entries, report one. */
  unbind(dev: number, bus: string): void {
    const t = this.s.entries;
    let count = 0;
    let last = -1;
    let fresh = false;
    for (const e of t.inDumpOrder(dev)) {
      count++;
      last = e;
      if (t.fresh(e)) fresh = true;
    }
    if (count === 0) return;
    const text = CHECKS['leak-at-unbind'].message(
      count,
      addr(t.dmaHi(last), t.dmaLo(last)),
      t.size(last),
      t.dir(last),
      t.type(last),
    );
    // The driver is already detached when the kernel prints this: it names the bus.
    // One entry made since the latest loss is certainly still mapped; older ones
    // may have had their unmaps among the lost events.
    const why = 'events were lost after these mappings were made (their unmaps may be among them)';
    this.s.report.err('leak-at-unbind', text, dev, last, fresh, why, null, bus);
  }
}
