// Owns the benchmark's synthetic trace: a fast, streaming generator of ftrace text in exactly the
// fixtures' format (kernel 6.12.117: dma:* events with the 6.13 alloc layout, plus kmem:mm_page_free),
// doing only CORRECT DMA-API usage over a configurable number of live mappings, so that a correct
// checker reports nothing on it.
//
//   node dist/bench/gen-trace.js --size 1G --live 4096 -o /tmp/x.txt [--seed N]
//
// Correctness by construction: the physical address space is cut into 64 KiB slots. A live mapping
// (single, sg or coherent) owns one slot, so no two live mappings share a cacheline or a page, and
// page frees only ever name pages of free slots. Direct devices use dma == phys; IOVA devices get a
// per-slot IOVA range counted down from the top of their IOVA space, so DMA addresses are unique per
// device too. Unmaps and syncs repeat the map's device, address, size and direction.
//
// Speed: no strings per line. Everything is written byte by byte into one reused Buffer from
// precomputed byte arrays, and numbers are formatted by hand.

import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export interface GenOptions {
  /** Stop once at least this many bytes are written. */
  size: number;
  /** Steady-state number of live mappings (single + sg calls + coherent). */
  live: number;
  /** Output file (written to a temporary name, then renamed). */
  out: string;
  seed?: number;
}

export interface GenStats {
  bytes: number;
  /** Lines in the file (what `wc -l` prints). */
  lines: number;
  /** Event lines (the header's entries count). */
  events: number;
  /** Live mappings when the trace ends. */
  liveAtEnd: number;
  /** Live dma-debug entries when the trace ends (an sg call has one per segment). */
  liveEntriesAtEnd: number;
  seconds: number;
  counts: Record<string, number>;
}

const SLOT = 0x10000; // 64 KiB per slot
const SUB = 0x4000; // 16 KiB per sg segment region (4 per slot)
const PHYS_BASE = 0x40000000; // 1 GiB
const FLUSH_AT = 8 << 20;
const BUF_SIZE = FLUSH_AT + (64 << 10);

// Devices: [name, uses an IOMMU (dma != phys), weight]
const DEVICES: readonly (readonly [string, boolean, number])[] = [
  ['0000:01:00.0', false, 6], // nvme
  ['0000:02:00.0', false, 3], // nvme
  ['0000:00:1f.2', false, 2], // ahci
  ['0000:00:03.0', false, 3], // e1000e
  ['0000:00:04.0', true, 4], // virtio-net
  ['0000:00:05.0', true, 4], // virtio-blk
  ['0000:00:06.0', true, 2], // virtio-scsi
  ['0000:03:00.0', true, 3], // mlx5 behind an IOMMU
];

const DIRS = ['BIDIRECTIONAL', 'TO_DEVICE', 'FROM_DEVICE'] as const;
const BIDI = 0;
const TO_DEV = 1;
const FROM_DEV = 2;

// Event kinds (index into EVENT_NAMES and the counts).
const E = {
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
const EVENT_NAMES = [
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
];

// Slot kinds.
const FREE = 0;
const SINGLE = 1;
const SG = 2;
const COHERENT = 3;

// Task contexts: [comm, pid, cpu, flags]. 8 each, picked with `& 7`.
type Ctx = readonly [string, number, number, string];
const PROC_CTX: readonly Ctx[] = [
  ['kworker/u8:2', 51, 1, 'd....'],
  ['fio', 2301, 0, 'd....'],
  ['fio', 2302, 2, 'd....'],
  ['dd', 177, 3, 'd....'],
  ['kworker/3:1H', 140, 3, 'd....'],
  ['NetworkManager', 612, 1, 'd....'],
  ['nginx', 1881, 2, 'd..1.'],
  ['jbd2/nvme0n1p2', 388, 0, 'd....'],
];
const IRQ_CTX: readonly Ctx[] = [
  ['<idle>', 0, 0, 'd.h..'],
  ['<idle>', 0, 1, 'd.h..'],
  ['<idle>', 0, 2, 'dNh..'],
  ['<idle>', 0, 3, 'd.h..'],
  ['ksoftirqd/1', 22, 1, '..s..'],
  ['fio', 2301, 0, 'd.h..'],
  ['irq/45-nvme0q1', 301, 2, 'd.h..'],
  ['nginx', 1881, 2, '..s1.'],
];
const MM_CTX: readonly Ctx[] = [
  ['kswapd0', 95, 2, '.....'],
  ['fio', 2301, 0, '.....'],
  ['fio', 2302, 2, '.....'],
  ['<idle>', 0, 1, '..s..'],
  ['kworker/u8:2', 51, 1, '.....'],
  ['nginx', 1881, 2, '.....'],
  ['dd', 177, 3, '.....'],
  ['sshd', 901, 0, '.....'],
];

const SINGLE_SIZES = [64, 66, 128, 256, 512, 512, 1514, 1536, 2048, 3584, 4096, 4096, 4096, 8192, 16384, 65536];
const ALLOC_SIZES = [4096, 6726, 8192, 16384, 32768, 65536, 2048, 4096];

const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

function ctxPrefix(c: Ctx): Uint8Array {
  const [comm, pid, cpu, flags] = c;
  return enc(`${comm.padStart(16)}-${String(pid).padEnd(7)} [${String(cpu).padStart(3, '0')}] ${flags} `);
}

function headerText(events: number, pad: number): string {
  return (
    '# tracer: nop\n' +
    `#${' '.repeat(pad)}\n` +
    `# entries-in-buffer/entries-written: ${events}/${events}   #P:4\n` +
    '#\n' +
    '#                                _-----=> irqs-off/BH-disabled\n' +
    '#                               / _----=> need-resched\n' +
    '#                              | / _---=> hardirq/softirq\n' +
    '#                              || / _--=> preempt-depth\n' +
    '#                              ||| / _-=> migrate-disable\n' +
    '#                              |||| /     delay\n' +
    '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n' +
    '#              | |         |   |||||     |         |\n'
  );
}
const HEADER_LINES = 12;
/** Room for two 20-digit counts; the spare is spent as trailing spaces on the second `#` line. */
const HEADER_RESERVED = headerText(0, 0).length - 2 + 40;

const HEXC = enc('0123456789abcdef');

/** The byte sink: one reused Buffer, flushed with positional writes. */
class Out {
  readonly buf = Buffer.allocUnsafe(BUF_SIZE);
  pos = 0;
  filePos: number;
  constructor(
    readonly fd: number,
    start: number,
  ) {
    this.filePos = start;
  }

  flush(): void {
    let off = 0;
    while (off < this.pos) off += writeSync(this.fd, this.buf, off, this.pos - off, this.filePos + off);
    this.filePos += this.pos;
    this.pos = 0;
  }

  put(src: Uint8Array): void {
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < src.length; i++) b[p++] = src[i]!;
    this.pos = p;
  }

  byte(c: number): void {
    this.buf[this.pos++] = c;
  }

  /** Unsigned decimal, n < 2^53. */
  dec(n: number): void {
    const b = this.buf;
    if (n < 10) {
      b[this.pos++] = 48 + n;
      return;
    }
    let len = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) len++;
    let p = this.pos + len;
    this.pos = p;
    while (n >= 10) {
      const q = Math.floor(n / 10);
      b[--p] = 48 + (n - q * 10);
      n = q;
    }
    b[--p] = 48 + n;
  }

  /** Decimal, left-padded with `fill` to `width`. */
  decPad(n: number, width: number, fill: number): void {
    const b = this.buf;
    let p = this.pos + width;
    this.pos = p;
    do {
      const q = Math.floor(n / 10);
      b[--p] = 48 + (n - q * 10);
      n = q;
      width--;
    } while (n > 0 && width > 0);
    while (width-- > 0) b[--p] = fill;
  }

  /** %x of a u32, no leading zeros. */
  hex32(v: number): void {
    v >>>= 0;
    let len = 1;
    while (len < 8 && v >>> (len * 4) !== 0) len++;
    const b = this.buf;
    let p = this.pos + len;
    this.pos = p;
    for (let i = 0; i < len; i++) {
      b[--p] = HEXC[v & 15]!;
      v >>>= 4;
    }
  }

  /** Exactly 8 hex digits of a u32. */
  hex8(v: number): void {
    const b = this.buf;
    let p = this.pos + 8;
    this.pos = p;
    for (let i = 0; i < 8; i++) {
      b[--p] = HEXC[v & 15]!;
      v >>>= 4;
    }
  }

  /** %llx of a Number < 2^53. */
  hex(n: number): void {
    if (n < 0x100000000) {
      this.hex32(n);
      return;
    }
    this.hex32(Math.floor(n / 0x100000000));
    this.hex8(n >>> 0);
  }
}

/** A 32-bit mixer standing in for the kernel's siphash of %p pointers: stable, so equal pointers hash equal. */
function hash32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([kmgt]?)i?b?$/i.exec(s.trim());
  if (!m) throw new Error(`bad size '${s}' (expected e.g. 300M, 1G, 65536)`);
  const mult: Record<string, number> = { '': 1, k: 1 << 10, m: 1 << 20, g: 1 << 30, t: 2 ** 40 };
  return Math.round(Number(m[1]) * (mult[(m[2] ?? '').toLowerCase()] ?? 1));
}

export function generateTrace(opts: GenOptions): GenStats {
  const t0 = process.hrtime.bigint();
  const target = opts.size;
  const T = Math.max(1, Math.floor(opts.live));
  const nSlots = T + Math.max(1024, Math.ceil(T / 8));
  // IOVA space: 4 GiB when the slots fit below it, otherwise the next power of two above them.
  let iovaTop = 0x100000000;
  while (nSlots * SLOT > iovaTop / 2) iovaTop *= 2;

  // Slot state, struct of arrays.
  const kind = new Uint8Array(nSlots);
  const sdev = new Uint8Array(nSlots);
  const sdir = new Uint8Array(nSlots);
  const soff = new Uint32Array(nSlots); // single: offset in slot
  const ssize = new Uint32Array(nSlots); // single/coherent size; sg: nents
  const segOff = new Uint16Array(nSlots * 4); // sg: offset within its 16 KiB region
  const segLen = new Uint16Array(nSlots * 4); // sg: length - 1 (so 16384 fits)
  const liveList = new Int32Array(nSlots);
  const livePos = new Int32Array(nSlots);
  const freeList = new Int32Array(nSlots);
  const freePos = new Int32Array(nSlots);
  let nLive = 0;
  let nFree = nSlots;
  let liveEntries = 0;
  for (let i = 0; i < nSlots; i++) {
    freeList[i] = i;
    freePos[i] = i;
  }

  let rs = (opts.seed ?? 0x9e3779b9) >>> 0 || 1;
  const rnd = (): number => {
    rs ^= rs << 13;
    rs ^= rs >>> 17;
    rs ^= rs << 5;
    return rs >>> 0;
  };
  const below = (n: number): number => rnd() % n;

  // Weighted device table (64 entries).
  const devTable: number[] = [];
  const wsum = DEVICES.reduce((a, d) => a + d[2], 0);
  DEVICES.forEach((d, i) => {
    const n = Math.round((d[2] / wsum) * 64);
    for (let k = 0; k < n; k++) devTable.push(i);
  });
  while (devTable.length < 64) devTable.push(0);
  const devIommu = DEVICES.map((d) => d[1]);

  // Precomputed "event: device dir=DIR " heads, [event][device][dir].
  const heads: Uint8Array[][][] = EVENT_NAMES.map((ev) =>
    DEVICES.map(([name]) => DIRS.map((dir) => enc(`${ev}: ${name} dir=${dir} `))),
  );
  const head = (ev: number, dev: number, dir: number): Uint8Array => heads[ev]![dev]![dir]!;
  const procCtx = PROC_CTX.map(ctxPrefix);
  const irqCtx = IRQ_CTX.map(ctxPrefix);
  const mmCtx = MM_CTX.map(ctxPrefix);
  const K_DMA_ADDR = enc('dma_addr=');
  const K_SIZE = enc(' size=');
  const K_PHYS = enc(' phys_addr=');
  const K_ATTRS_NL = enc(' attrs=\n');
  const K_VIRT = enc(' virt_addr=00000000');
  const K_FLAGS = enc(' flags=GFP_KERNEL');
  const K_NENTS = enc('nents=');
  const K_ENTS = enc(' ents=');
  const K_DMA_ADDRS = enc(' dma_addrs={');
  const K_DMA_ADDRS0 = enc('dma_addrs={');
  const K_SIZES = enc('} sizes={');
  const K_PHYS_ADDRS = enc('} phys_addrs={');
  const K_PHYS_ADDRS0 = enc('phys_addrs={');
  const K_CLOSE_ATTRS_NL = enc('} attrs=\n');
  const K_CLOSE_NL = enc('}\n');
  const K_0X = enc('0x');
  const K_MM_FREE = enc('mm_page_free: page=00000000');
  const K_MM_FREE_B = enc('mm_page_free_batched: page=00000000');
  const K_PFN = enc(' pfn=0x');
  const K_ORDER = enc(' order=');
  const NL = 10;
  const COMMA = 0x2c;
  const SLASH = 0x2f;

  const tmp = `${opts.out}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  const out = new Out(fd, HEADER_RESERVED);
  const counts = new Float64Array(EVENT_NAMES.length);
  let events = 0;
  // Timestamp in µs; starts in early boot so the trace counts as "from boot".
  let tsSec = 0;
  let tsUs = 500000 + below(100000);

  const phys = (slot: number): number => PHYS_BASE + slot * SLOT;
  const iova = (slot: number): number => iovaTop - (slot + 1) * SLOT;
  const dmaBase = (slot: number, dev: number): number => (devIommu[dev] ? iova(slot) : phys(slot));

  const stamp = (ctx: Uint8Array): void => {
    tsUs += below(4);
    if (tsUs >= 1000000) {
      tsUs -= 1000000;
      tsSec++;
    }
    out.put(ctx);
    out.decPad(tsSec, 5, 32);
    out.byte(0x2e);
    out.decPad(tsUs, 6, 48);
    out.byte(0x3a);
    out.byte(32);
  };

  const takeFree = (): number => {
    const i = below(nFree);
    const slot = freeList[i]!;
    const last = freeList[--nFree]!;
    freeList[i] = last;
    freePos[last] = i;
    liveList[nLive] = slot;
    livePos[slot] = nLive++;
    return slot;
  };
  const release = (slot: number): void => {
    const i = livePos[slot]!;
    const last = liveList[--nLive]!;
    liveList[i] = last;
    livePos[last] = i;
    freeList[nFree] = slot;
    freePos[slot] = nFree++;
    kind[slot] = FREE;
  };
  const pickDir = (): number => {
    const r = below(20);
    return r < 9 ? TO_DEV : r < 18 ? FROM_DEV : BIDI;
  };

  const sgAddrs = (slot: number, n: number, base: number): void => {
    for (let j = 0; j < n; j++) {
      if (j > 0) out.byte(COMMA);
      out.put(K_0X);
      out.hex(base + j * SUB + segOff[slot * 4 + j]!);
    }
  };
  const sgSizes = (slot: number, n: number): void => {
    for (let j = 0; j < n; j++) {
      if (j > 0) out.byte(COMMA);
      out.put(K_0X);
      out.hex32(segLen[slot * 4 + j]! + 1);
    }
  };

  const mapSingle = (): void => {
    const slot = takeFree();
    const dev = devTable[rnd() & 63]!;
    const dir = pickDir();
    let size = SINGLE_SIZES[rnd() & 15]!;
    if ((rnd() & 7) === 0) size = 64 + below(4033);
    let off = below(((SLOT - size) >>> 6) + 1) << 6;
    if ((rnd() & 7) === 0 && off + size + 2 <= SLOT) off += 2;
    kind[slot] = SINGLE;
    sdev[slot] = dev;
    sdir[slot] = dir;
    soff[slot] = off;
    ssize[slot] = size;
    liveEntries++;
    stamp(procCtx[rnd() & 7]!);
    out.put(head(E.mapPage, dev, dir));
    out.put(K_DMA_ADDR);
    out.hex(dmaBase(slot, dev) + off);
    out.put(K_SIZE);
    out.dec(size);
    out.put(K_PHYS);
    out.hex(phys(slot) + off);
    out.put(K_ATTRS_NL);
    counts[E.mapPage]!++;
  };

  const mapSg = (): void => {
    const slot = takeFree();
    const dev = devTable[rnd() & 63]!;
    const dir = pickDir();
    const n = 1 + (rnd() & 3);
    for (let j = 0; j < n; j++) {
      const r = rnd();
      let len: number;
      if ((r & 3) === 0) len = 512;
      else if ((r & 3) === 1) len = 4096;
      else len = 64 + ((r >>> 4) % (SUB - 64 + 1));
      const off = len === SUB ? 0 : ((r >>> 20) % (((SUB - len) >>> 6) + 1)) << 6;
      segOff[slot * 4 + j] = off;
      segLen[slot * 4 + j] = len - 1;
    }
    kind[slot] = SG;
    sdev[slot] = dev;
    sdir[slot] = dir;
    ssize[slot] = n;
    liveEntries += n;
    stamp(procCtx[rnd() & 7]!);
    out.put(head(E.mapSg, dev, dir));
    out.put(K_NENTS);
    out.byte(48 + n);
    out.byte(SLASH);
    out.byte(48 + n);
    out.put(K_ENTS);
    out.byte(48 + n);
    out.byte(SLASH);
    out.byte(48 + n);
    out.put(K_DMA_ADDRS);
    sgAddrs(slot, n, dmaBase(slot, dev));
    out.put(K_SIZES);
    sgSizes(slot, n);
    out.put(K_PHYS_ADDRS);
    sgAddrs(slot, n, phys(slot));
    out.put(K_CLOSE_ATTRS_NL);
    counts[E.mapSg]!++;
  };

  const alloc = (): void => {
    const slot = takeFree();
    const dev = devTable[rnd() & 63]!;
    const size = ALLOC_SIZES[rnd() & 7]!;
    kind[slot] = COHERENT;
    sdev[slot] = dev;
    sdir[slot] = BIDI;
    ssize[slot] = size;
    liveEntries++;
    stamp(procCtx[rnd() & 7]!);
    out.put(head(E.alloc, dev, BIDI));
    out.put(K_DMA_ADDR);
    out.hex(dmaBase(slot, dev));
    out.put(K_SIZE);
    out.dec(size);
    out.put(K_VIRT);
    out.hex8(hash32(slot ^ 0x5bd1e995));
    out.put(K_FLAGS);
    out.put(K_ATTRS_NL);
    counts[E.alloc]!++;
  };

  const unmap = (slot: number): void => {
    const dev = sdev[slot]!;
    const dir = sdir[slot]!;
    const k = kind[slot]!;
    stamp(irqCtx[rnd() & 7]!);
    if (k === SINGLE) {
      out.put(head(E.unmapPage, dev, dir));
      out.put(K_DMA_ADDR);
      out.hex(dmaBase(slot, dev) + soff[slot]!);
      out.put(K_SIZE);
      out.dec(ssize[slot]!);
      out.put(K_ATTRS_NL);
      counts[E.unmapPage]!++;
      liveEntries--;
    } else if (k === SG) {
      const n = ssize[slot]!;
      out.put(head(E.unmapSg, dev, dir));
      out.put(K_PHYS_ADDRS0);
      sgAddrs(slot, n, phys(slot));
      out.put(K_CLOSE_ATTRS_NL);
      counts[E.unmapSg]!++;
      liveEntries -= n;
    } else {
      out.put(head(E.free, dev, BIDI));
      out.put(K_DMA_ADDR);
      out.hex(dmaBase(slot, dev));
      out.put(K_SIZE);
      out.dec(ssize[slot]!);
      out.put(K_VIRT);
      out.hex8(hash32(slot ^ 0x5bd1e995));
      out.put(K_ATTRS_NL);
      counts[E.free]!++;
      liveEntries--;
    }
    release(slot);
  };

  /** Sync a live streaming mapping in the direction it was mapped with. False if it cannot be synced. */
  const sync = (slot: number): boolean => {
    const k = kind[slot]!;
    const dev = sdev[slot]!;
    const dir = sdir[slot]!;
    const forCpu = dir === FROM_DEV || (dir === BIDI && (rnd() & 1) === 0);
    if (k === SINGLE) {
      const size = ssize[slot]!;
      // Often only what the device wrote / the CPU filled: a prefix of the mapping.
      const len = (rnd() & 3) === 0 && size > 64 ? 64 + below(size - 63) : size;
      stamp((forCpu ? irqCtx : procCtx)[rnd() & 7]!);
      const ev = forCpu ? E.syncCpu : E.syncDev;
      out.put(head(ev, dev, dir));
      out.put(K_DMA_ADDR);
      out.hex(dmaBase(slot, dev) + soff[slot]!);
      out.put(K_SIZE);
      out.dec(len);
      out.byte(NL);
      counts[ev]!++;
      return true;
    }
    if (k === SG) {
      const n = ssize[slot]!;
      stamp((forCpu ? irqCtx : procCtx)[rnd() & 7]!);
      const ev = forCpu ? E.syncSgCpu : E.syncSgDev;
      out.put(head(ev, dev, dir));
      out.put(K_DMA_ADDRS0);
      sgAddrs(slot, n, dmaBase(slot, dev));
      out.put(K_SIZES);
      sgSizes(slot, n);
      out.put(K_CLOSE_NL);
      counts[ev]!++;
      return true;
    }
    return false;
  };

  const pageFree = (): void => {
    // A page of a slot no live mapping owns.
    const slot = freeList[below(nFree)]!;
    const r = rnd();
    const order = (r & 7) === 0 ? 1 + ((r >>> 3) & 1) : 0;
    const batched = order === 0 && (r >>> 8) % 6 === 0;
    const pfn = phys(slot) / 4096 + ((((r >>> 12) & 15) >>> order) << order);
    stamp(mmCtx[(r >>> 20) & 7]!);
    out.put(batched ? K_MM_FREE_B : K_MM_FREE);
    out.hex8(hash32(pfn));
    out.put(K_PFN);
    out.hex(pfn);
    out.put(K_ORDER);
    out.byte(48 + order);
    out.byte(NL);
    counts[batched ? E.pageFreeBatched : E.pageFree]!++;
  };

  const lifecycle = (): void => {
    if (nLive < T) {
      const r = rnd() % 100;
      if (r < 75) mapSingle();
      else if (r < 95) mapSg();
      else alloc();
    } else {
      unmap(liveList[below(nLive)]!);
    }
  };

  try {
    while (out.filePos + out.pos < target) {
      if (out.pos >= FLUSH_AT) out.flush();
      const r = rnd() % 1000;
      if (r < 300) pageFree();
      else if (r < 440 && nLive > 0) {
        if (!sync(liveList[below(nLive)]!)) lifecycle();
      } else lifecycle();
      events++;
    }
    out.flush();
    const bytes = out.filePos;
    // The header, now that the count is known: padded to the reserved size on its blank second line.
    const hdr0 = headerText(events, 0);
    const hdr = Buffer.from(headerText(events, HEADER_RESERVED - hdr0.length), 'latin1');
    if (hdr.length !== HEADER_RESERVED) throw new Error('header size mismatch');
    writeSync(fd, hdr, 0, hdr.length, 0);
    closeSync(fd);
    renameSync(tmp, opts.out);
    const named: Record<string, number> = {};
    EVENT_NAMES.forEach((n, i) => {
      named[n] = counts[i]!;
    });
    return {
      bytes,
      lines: events + HEADER_LINES,
      events,
      liveAtEnd: nLive,
      liveEntriesAtEnd: liveEntries,
      seconds: Number(process.hrtime.bigint() - t0) / 1e9,
      counts: named,
    };
  } catch (err) {
    try {
      closeSync(fd);
    } catch {}
    rmSync(tmp, { force: true });
    throw err;
  }
}

const USAGE = 'usage: node dist/bench/gen-trace.js --size 1G [--live 4096] [--seed N] -o FILE';

function main(argv: string[]): number {
  let size = 1 << 30;
  let live = 4096;
  let out = '';
  let seed: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    if (a === '-h' || a === '--help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (v === undefined) {
      process.stderr.write(`gen-trace: ${a} needs a value\n${USAGE}\n`);
      return 2;
    }
    i++;
    if (a === '--size') size = parseSize(v);
    else if (a === '--live') live = parseSize(v);
    else if (a === '--seed') seed = Number(v);
    else if (a === '-o' || a === '--output') out = v;
    else {
      process.stderr.write(`gen-trace: unknown option ${a}\n${USAGE}\n`);
      return 2;
    }
  }
  if (!out) {
    process.stderr.write(`gen-trace: -o FILE is required\n${USAGE}\n`);
    return 2;
  }
  const s = generateTrace({ size, live, out, ...(seed === undefined ? {} : { seed }) });
  process.stderr.write(
    `gen-trace: ${out}: ${s.bytes} bytes, ${s.lines} lines, ${s.liveAtEnd} live mappings ` +
      `(${s.liveEntriesAtEnd} entries) at the end, ${s.seconds.toFixed(2)} s, ` +
      `${(s.bytes / 1e6 / s.seconds).toFixed(0)} MB/s\n`,
  );
  for (const [n, c] of Object.entries(s.counts)) {
    process.stderr.write(`  ${n.padEnd(28)} ${String(c).padStart(10)}  ${((100 * c) / s.events).toFixed(1)}%\n`);
  }
  return 0;
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) {
  process.exitCode = main(process.argv.slice(2));
}
