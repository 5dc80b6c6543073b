// Owns the benchmarks' synthetic DMA-API workload, shared by the two trace generators, gen-trace.ts
// (ftrace text) and gen-tracedat.ts (trace.dat), so that both do the same correct mix by
// construction: the slot state (which 64 KiB slot holds which live mapping, the free list page frees
// pick from), the xorshift rng, the weighted device table, the task contexts, and the choice of each
// next call (map/unmap page and sg, syncs in the mapped direction, coherent alloc/free, mm_page_free
// of pages no live mapping owns). A generator keeps only its encoding: it calls step(), reads the
// decided call from `call` (one reused record: these generators write GBs, so nothing is allocated
// per event) and writes it out.
//
// Correctness by construction: a live mapping (single, sg or coherent) owns one slot, so no two live
// mappings share a cacheline or a page, and page frees only name pages of free slots. Direct devices
// use dma == phys; IOVA devices get a per-slot IOVA range counted down from `iovaTop`, so DMA
// addresses are unique per device too. Unmaps and syncs repeat the map's device, address, size and
// direction.
//
// Determinism: a generator draws what only it has (time stamps, the CPU) from the same rng, after
// step() returns, so a seed's output depends on both; the options below keep the small differences
// the two generators had when they carried their own copies, so that neither's output changed.

// Slot geometry.
export const SLOT = 0x10000; // 64 KiB per slot
export const SUB = 0x4000; // 16 KiB per sg segment region (4 per slot)
export const PHYS_BASE = 0x40000000; // 1 GiB

/** Devices: [name, behind an IOMMU (dma != phys), weight]. */
export const DEVICES: readonly (readonly [string, boolean, number])[] = [
  ['0000:01:00.0', false, 6], // nvme
  ['0000:02:00.0', false, 3], // nvme
  ['0000:00:1f.2', false, 2], // ahci
  ['0000:00:03.0', false, 3], // e1000e
  ['0000:00:04.0', true, 4], // virtio-net
  ['0000:00:05.0', true, 4], // virtio-blk
  ['0000:00:06.0', true, 2], // virtio-scsi
  ['0000:03:00.0', true, 3], // mlx5 behind an IOMMU
];

// enum dma_data_direction.
export const BIDI = 0;
export const TO_DEV = 1;
export const FROM_DEV = 2;

/** The calls, as indexes into EVENT_NAMES and Workload.counts. */
export const Op = {
  mapPage: 0,
  unmapPage: 1,
  mapSg: 2,
  unmapSg: 3,
  syncCpu: 4,
  syncDev: 5,
  syncSgCpu: 6,
  syncSgDev: 7,
  alloc: 8,
  free: 9,
  pageFree: 10,
  pageFreeBatched: 11,
} as const;
/** The tracepoint of each Op. */
export const EVENT_NAMES = [
  'dma_map_page',
  'dma_unmap_page',
  'dma_map_sg',
  'dma_unmap_sg',
  'dma_sync_single_for_cpu',
  'dma_sync_single_for_device',
  'dma_sync_sg_for_cpu',
  'dma_sync_sg_for_device',
  'dma_alloc',
  'dma_free',
  'mm_page_free',
  'mm_page_free_batched',
] as const;

/** A task context: [comm, pid, cpu, ftrace flags]. */
export type Ctx = readonly [string, number, number, string];
/**
 * The contexts calls are made from, indexed by Call.ctx: 0-7 process context (maps, allocs, syncs
 * for the device), 8-15 interrupts and softirqs (unmaps, frees, syncs for the CPU), 16-23 page freeing.
 */
export const CONTEXTS: readonly Ctx[] = [
  ['kworker/u8:2', 51, 1, 'd....'],
  ['fio', 2301, 0, 'd....'],
  ['fio', 2302, 2, 'd....'],
  ['dd', 177, 3, 'd....'],
  ['kworker/3:1H', 140, 3, 'd....'],
  ['NetworkManager', 612, 1, 'd....'],
  ['nginx', 1881, 2, 'd..1.'],
  ['jbd2/nvme0n1p2', 388, 0, 'd....'],

  ['<idle>', 0, 0, 'd.h..'],
  ['<idle>', 0, 1, 'd.h..'],
  ['<idle>', 0, 2, 'dNh..'],
  ['<idle>', 0, 3, 'd.h..'],
  ['ksoftirqd/1', 22, 1, '..s..'],
  ['fio', 2301, 0, 'd.h..'],
  ['irq/45-nvme0q1', 301, 2, 'd.h..'],
  ['nginx', 1881, 2, '..s1.'],

  ['kswapd0', 95, 2, '.....'],
  ['fio', 2301, 0, '.....'],
  ['fio', 2302, 2, '.....'],
  ['<idle>', 0, 1, '..s..'],
  ['kworker/u8:2', 51, 1, '.....'],
  ['nginx', 1881, 2, '.....'],
  ['dd', 177, 3, '.....'],
  ['sshd', 901, 0, '.....'],
];
const PROC = 0;
const IRQ = 8;
const MM = 16;

const SINGLE_SIZES = [64, 66, 128, 256, 512, 512, 1514, 1536, 2048, 3584, 4096, 4096, 4096, 8192, 16384, 65536];
const ALLOC_SIZES = [4096, 6726, 8192, 16384, 32768, 65536, 2048, 4096];

// Slot kinds.
const FREE = 0;
const SINGLE = 1;
const SG = 2;
const COHERENT = 3;

/**
 * The call step() decided. Which fields mean something depends on op:
 * - every dma_* call: slot, dev, dir, ctx, dma, phys;
 * - page calls (map/unmap page, single syncs): dma and phys include the offset in the slot, size is
 *   the mapping's (for a sync, the synced length, often a prefix);
 * - sg calls: dma and phys are the slot's bases and n the segment count; the segments are segAddr()
 *   and segSize();
 * - alloc/free: dma and phys are the slot's bases, size the allocation's, dir BIDI;
 * - page frees: slot (a free one), ctx, pfn, order.
 */
export class Call {
  op = 0;
  slot = 0;
  dev = 0;
  dir = 0;
  /** Index into CONTEXTS. */
  ctx = 0;
  dma = 0;
  phys = 0;
  size = 0;
  n = 0;
  pfn = 0;
  order = 0;
}

export interface WorkloadOptions {
  /** Steady-state number of live mappings (single + sg calls + coherent): map while fewer are live. */
  live: number;
  /** Slots in the physical address space (more than `live`: page frees need free ones). */
  slots: number;
  /** IOVA devices' addresses are counted down from here. */
  iovaTop: number;
  seed?: number;
  /**
   * A sync draws its context right after its direction, before the synced length and even when the
   * picked slot turns out to be coherent and no sync is made (gen-tracedat.ts's order); otherwise
   * after the length, and only when a sync is made (gen-trace.ts's).
   */
  syncCtxFirst?: boolean;
}

export class Workload {
  /** The call the last step() decided; reused. */
  readonly call = new Call();
  /** Calls made so far, indexed by Op. */
  readonly counts = new Float64Array(EVENT_NAMES.length);
  /** Live mappings. */
  nLive = 0;
  /** Live dma-debug entries (an sg call has one per segment). */
  liveEntries = 0;

  private readonly target: number;
  private readonly iovaTop: number;
  private readonly syncCtxFirst: boolean;
  private rs: number;
  // Slot state, struct of arrays.
  private readonly kind: Uint8Array;
  private readonly sdev: Uint8Array;
  private readonly sdir: Uint8Array;
  private readonly soff: Uint32Array; // single: offset in slot
  private readonly ssize: Uint32Array; // single/coherent size; sg: nents
  private readonly segOff: Uint16Array; // sg: offset within its 16 KiB region
  private readonly segLen: Uint16Array; // sg: length - 1 (so 16384 fits)
  // Live slots (unmaps and syncs pick from them; livePos[slot] is where a slot is in liveList) and
  // free ones (maps and page frees pick them by index, so they need no positions).
  private readonly liveList: Int32Array;
  private readonly livePos: Int32Array;
  private readonly freeList: Int32Array;
  private nFree: number;
  /** Weighted device table (64 entries). */
  private readonly devTable: number[] = [];
  private readonly devIommu = DEVICES.map((d) => d[1]);

  constructor(o: WorkloadOptions) {
    const nSlots = o.slots;
    this.target = o.live;
    this.iovaTop = o.iovaTop;
    this.syncCtxFirst = o.syncCtxFirst === true;
    this.rs = (o.seed ?? 0x9e3779b9) >>> 0 || 1;
    this.kind = new Uint8Array(nSlots);
    this.sdev = new Uint8Array(nSlots);
    this.sdir = new Uint8Array(nSlots);
    this.soff = new Uint32Array(nSlots);
    this.ssize = new Uint32Array(nSlots);
    this.segOff = new Uint16Array(nSlots * 4);
    this.segLen = new Uint16Array(nSlots * 4);
    this.liveList = new Int32Array(nSlots);
    this.livePos = new Int32Array(nSlots);
    this.freeList = new Int32Array(nSlots);
    this.nFree = nSlots;
    for (let i = 0; i < nSlots; i++) this.freeList[i] = i;
    const wsum = DEVICES.reduce((a, d) => a + d[2], 0);
    DEVICES.forEach((d, i) => {
      const n = Math.round((d[2] / wsum) * 64);
      for (let k = 0; k < n; k++) this.devTable.push(i);
    });
    while (this.devTable.length < 64) this.devTable.push(0);
  }

  /** xorshift32: the one random stream of a generator (its own draws come from here too). */
  rnd(): number {
    let rs = this.rs;
    rs ^= rs << 13;
    rs ^= rs >>> 17;
    rs ^= rs << 5;
    this.rs = rs;
    return rs >>> 0;
  }

  below(n: number): number {
    return this.rnd() % n;
  }

  /** The address of segment j of the call's sg mapping, from `base` (call.dma or call.phys). */
  segAddr(base: number, j: number): number {
    return base + j * SUB + this.segOff[this.call.slot * 4 + j]!;
  }

  /** The length of segment j of the call's sg mapping. */
  segSize(j: number): number {
    return this.segLen[this.call.slot * 4 + j]! + 1;
  }

  /** Counts by event name, in EVENT_NAMES order. */
  countsByName(): Record<string, number> {
    const named: Record<string, number> = {};
    EVENT_NAMES.forEach((n, i) => {
      named[n] = this.counts[i]!;
    });
    return named;
  }

  /**
   * Decides the next call into `call`: 30% page frees, 14% syncs of a random live streaming mapping,
   * the rest (and syncs that picked a coherent one) maps while fewer than `live` are live, unmaps
   * otherwise. Segments of an sg call stay readable until the next step().
   */
  step(): void {
    const r = this.rnd() % 1000;
    if (r < 300) this.pageFree();
    else if (r < 440 && this.nLive > 0) {
      if (!this.sync(this.liveList[this.below(this.nLive)]!)) this.lifecycle();
    } else this.lifecycle();
    this.counts[this.call.op]!++;
  }

  private phys(slot: number): number {
    return PHYS_BASE + slot * SLOT;
  }

  private dmaBase(slot: number, dev: number): number {
    return this.devIommu[dev] ? this.iovaTop - (slot + 1) * SLOT : PHYS_BASE + slot * SLOT;
  }

  /** A random free slot, now live. */
  private takeFree(): number {
    const i = this.below(this.nFree);
    const slot = this.freeList[i]!;
    this.freeList[i] = this.freeList[--this.nFree]!;
    this.liveList[this.nLive] = slot;
    this.livePos[slot] = this.nLive++;
    return slot;
  }

  private release(slot: number): void {
    const i = this.livePos[slot]!;
    const last = this.liveList[--this.nLive]!;
    this.liveList[i] = last;
    this.livePos[last] = i;
    this.freeList[this.nFree++] = slot;
    this.kind[slot] = FREE;
  }

  private pickDir(): number {
    const r = this.below(20);
    return r < 9 ? TO_DEV : r < 18 ? FROM_DEV : BIDI;
  }

  private lifecycle(): void {
    if (this.nLive < this.target) {
      const r = this.rnd() % 100;
      if (r < 75) this.mapSingle();
      else if (r < 95) this.mapSg();
      else this.alloc();
    } else {
      this.unmap(this.liveList[this.below(this.nLive)]!);
    }
  }

  private mapSingle(): void {
    const slot = this.takeFree();
    const dev = this.devTable[this.rnd() & 63]!;
    const dir = this.pickDir();
    let size = SINGLE_SIZES[this.rnd() & 15]!;
    if ((this.rnd() & 7) === 0) size = 64 + this.below(4033);
    let off = this.below(((SLOT - size) >>> 6) + 1) << 6;
    if ((this.rnd() & 7) === 0 && off + size + 2 <= SLOT) off += 2;
    this.soff[slot] = off;
    this.mapped(Op.mapPage, slot, SINGLE, dev, dir, size);
  }

  private mapSg(): void {
    const slot = this.takeFree();
    const dev = this.devTable[this.rnd() & 63]!;
    const dir = this.pickDir();
    const n = 1 + (this.rnd() & 3);
    for (let j = 0; j < n; j++) {
      const r = this.rnd();
      let len: number;
      if ((r & 3) === 0) len = 512;
      else if ((r & 3) === 1) len = 4096;
      else len = 64 + ((r >>> 4) % (SUB - 64 + 1));
      const off = len === SUB ? 0 : ((r >>> 20) % (((SUB - len) >>> 6) + 1)) << 6;
      this.segOff[slot * 4 + j] = off;
      this.segLen[slot * 4 + j] = len - 1;
    }
    this.mapped(Op.mapSg, slot, SG, dev, dir, n);
  }

  private alloc(): void {
    const slot = this.takeFree();
    const dev = this.devTable[this.rnd() & 63]!;
    const size = ALLOC_SIZES[this.rnd() & 7]!;
    this.mapped(Op.alloc, slot, COHERENT, dev, BIDI, size);
  }

  /** Records the new mapping in `slot` (size: an sg's nents) and makes it the call, from process context. */
  private mapped(op: number, slot: number, k: number, dev: number, dir: number, size: number): void {
    this.kind[slot] = k;
    this.sdev[slot] = dev;
    this.sdir[slot] = dir;
    this.ssize[slot] = size;
    this.liveEntries += k === SG ? size : 1;
    this.ofSlot(op, slot, PROC + (this.rnd() & 7));
  }

  /** Makes `op` on the live mapping in `slot` the call: its addresses (a single's with its offset) and size or nents. */
  private ofSlot(op: number, slot: number, ctx: number): void {
    const c = this.call;
    const k = this.kind[slot]!;
    const dev = this.sdev[slot]!;
    const off = k === SINGLE ? this.soff[slot]! : 0;
    c.op = op;
    c.slot = slot;
    c.dev = dev;
    c.dir = this.sdir[slot]!;
    c.ctx = ctx;
    c.dma = this.dmaBase(slot, dev) + off;
    c.phys = this.phys(slot) + off;
    if (k === SG) c.n = this.ssize[slot]!;
    else c.size = this.ssize[slot]!;
  }

  private unmap(slot: number): void {
    const k = this.kind[slot]!;
    this.ofSlot(k === SINGLE ? Op.unmapPage : k === SG ? Op.unmapSg : Op.free, slot, IRQ + (this.rnd() & 7));
    this.liveEntries -= k === SG ? this.ssize[slot]! : 1;
    this.release(slot);
  }

  /** Sync a live streaming mapping in the direction it was mapped with. False if it cannot be synced. */
  private sync(slot: number): boolean {
    const k = this.kind[slot]!;
    const dir = this.sdir[slot]!;
    const forCpu = dir === FROM_DEV || (dir === BIDI && (this.rnd() & 1) === 0);
    const ctxBase = forCpu ? IRQ : PROC;
    let ctx = this.syncCtxFirst ? ctxBase + (this.rnd() & 7) : 0;
    if (k === COHERENT) return false;
    let len = 0;
    if (k === SINGLE) {
      // Often only what the device wrote / the CPU filled: a prefix of the mapping.
      const size = this.ssize[slot]!;
      len = (this.rnd() & 3) === 0 && size > 64 ? 64 + this.below(size - 63) : size;
    }
    if (!this.syncCtxFirst) ctx = ctxBase + (this.rnd() & 7);
    if (k === SINGLE) {
      this.ofSlot(forCpu ? Op.syncCpu : Op.syncDev, slot, ctx);
      this.call.size = len;
    } else this.ofSlot(forCpu ? Op.syncSgCpu : Op.syncSgDev, slot, ctx);
    return true;
  }

  /** A page (or 2-4 pages) of a slot no live mapping owns. */
  private pageFree(): void {
    const slot = this.freeList[this.below(this.nFree)]!;
    const r = this.rnd();
    const order = (r & 7) === 0 ? 1 + ((r >>> 3) & 1) : 0;
    const batched = order === 0 && (r >>> 8) % 6 === 0;
    const c = this.call;
    c.op = batched ? Op.pageFreeBatched : Op.pageFree;
    c.slot = slot;
    c.ctx = MM + ((r >>> 20) & 7);
    c.pfn = this.phys(slot) / 4096 + ((((r >>> 12) & 15) >>> order) << order);
    c.order = order;
  }
}
