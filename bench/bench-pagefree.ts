// The page-free section of `npm run bench`: the cost of the page-freed-while-mapped check must not
// grow with the number of live mappings. For each live count (10k and 1M by default) one engine is
// filled with that many live device-writable mappings (map_page, FROM_DEVICE or BIDIRECTIONAL,
// 512 B .. 64 KiB, at scattered physical addresses over 1 TiB; every 16th an sg call of 2-4
// segments), then it checks the same stream of `mm_page_free` events (orders 0-3, pfns drawn from
// the same 1 TiB) and we time that stream alone (best of 3 passes). The pfns are chosen to miss
// every live mapping: the check's work is the lookup, and a hit would also time the making of a
// finding. This drives the engine directly (no parsing), so the figures are the check's own.

import { Names } from '../src/base/interner.js';
import { DmaDebugEngine } from '../src/engine/engine.js';
import { Dir, DmaEvent, EventKind } from '../src/engine/events.js';

export interface PageFreeRow {
  live: number;
  /** dma-debug entries (an sg call has one per segment). */
  entries: number;
  frees: number;
  seconds: number;
  /** Page-free events checked per second. */
  rate: number;
  findings: number;
}

export interface PageFreeArgs {
  lives: number[];
  frees: number;
  log: (s: string) => void;
}

const PAGE = 4096;
/** Physical range of the mappings and the frees: 2^28 pages (1 TiB). */
const PAGES = 1 << 28;
/** Mappings sit in even 1 MiB slabs, frees in odd ones, so no free hits a mapping. */
const SLAB_PAGES = 256;

/** xorshift32: a reproducible stream, the same for every live count. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

function stamp(ev: DmaEvent, i: number): void {
  ev.tsSec = 1 + Math.floor(i / 1e6);
  ev.tsNs = (i % 1e6) * 1000;
  ev.line = i + 1;
  ev.cpu = i & 1;
  ev.pid = 100;
  ev.comm = -1;
}

/** A page number in an even (mapping) or odd (free) slab. */
function pageIn(r: () => number, odd: boolean, span: number): number {
  const slabs = PAGES / SLAB_PAGES / 2;
  const slab = Math.floor(r() * slabs) * 2 + (odd ? 1 : 0);
  return slab * SLAB_PAGES + Math.floor(r() * (SLAB_PAGES - span));
}

function fill(engine: DmaDebugEngine, ev: DmaEvent, devices: number[], live: number): number {
  const r = rng(12345);
  let n = 0;
  let dma = 0x100000;
  for (let m = 0; m < live; m++) {
    ev.resetPayload();
    stamp(ev, n++);
    ev.device = devices[m % devices.length]!;
    ev.dir = m % 3 === 0 ? Dir.Bidirectional : Dir.FromDevice;
    ev.hasDir = true;
    if (m % 16 === 15) {
      ev.kind = EventKind.MapSg;
      const segs = 2 + (m % 3);
      for (let s = 0; s < segs; s++) {
        const len = 512 + Math.floor(r() * 15) * 512;
        const phys = pageIn(r, false, 2) * PAGE;
        ev.sgPhys.push(Math.floor(phys / 2 ** 32), phys >>> 0);
        ev.sgDma.push(0, dma >>> 0);
        ev.sgLen.push(len);
        dma += 0x10000;
      }
      ev.nents = segs;
      ev.ents = segs;
    } else {
      ev.kind = EventKind.MapPage;
      const size = 512 + Math.floor(r() * 128) * 512; // up to 64 KiB
      const phys = pageIn(r, false, 17) * PAGE + (m % 8) * 64;
      ev.physHi = Math.floor(phys / 2 ** 32);
      ev.physLo = phys >>> 0;
      ev.hasPhys = true;
      ev.addrHi = 0;
      ev.addrLo = dma >>> 0;
      ev.size = size;
      dma += 0x10000;
    }
    engine.handle(ev);
  }
  return n;
}

function freeStream(frees: number): Float64Array {
  const r = rng(777);
  const out = new Float64Array(frees * 2);
  for (let i = 0; i < frees; i++) {
    const order = r() < 0.85 ? 0 : 1 + Math.floor(r() * 3);
    const pfn = pageIn(r, true, 8) & ~((1 << order) - 1); // buddy blocks are aligned
    out[2 * i] = pfn;
    out[2 * i + 1] = order;
  }
  return out;
}

export function runPageFree(a: PageFreeArgs): PageFreeRow[] {
  const rows: PageFreeRow[] = [];
  const stream = freeStream(a.frees);
  for (const live of a.lives) {
    a.log(`page-free: filling ${live.toLocaleString('en-US')} live mappings ...`);
    const names = new Names();
    let findings = 0;
    const engine = new DmaDebugEngine(names, () => findings++, { fromBoot: true });
    const devices = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => names.devices.intern(`0000:00:0${i}.0`));
    const ev = new DmaEvent();
    let n = fill(engine, ev, devices, live);
    const entries = engine.live;
    if (entries < live) throw new Error(`page-free bench: ${entries} live entries after filling ${live} mappings`);
    // only the frees' findings count: random mappings may overlap each other while filling
    findings = 0;
    let best = Number.POSITIVE_INFINITY;
    for (let pass = 0; pass < 3; pass++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < a.frees; i++) {
        ev.resetPayload();
        ev.kind = EventKind.PageFree;
        stamp(ev, n++);
        ev.pfnHi = 0;
        ev.pfnLo = stream[2 * i]!;
        ev.order = stream[2 * i + 1]!;
        engine.handle(ev);
      }
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    rows.push({ live, entries, frees: a.frees, seconds: best, rate: a.frees / best, findings });
  }
  return rows;
}
