// The event record that flows from every parser into the engine.
//
// Parsers fill ONE reused DmaEvent per input (cursor style) and hand it to a sink
// synchronously; nothing is allocated per event. 64-bit quantities (DMA and
// physical addresses, pointers) are kept as two u32 halves so they stay exact.
// Sizes are plain numbers (exact below 2^53; parsers reject larger sizes).
// The engine copies what it needs and never keeps a reference to the record.

import { EventKind } from '../events/kinds.js';
import { ATTR_MMIO as ATTR_MMIO_BIT } from '../events/vocabulary.js';

/** What happened (defined beside the event vocabulary; re-exported here for the record's users). */
export { EventKind };

/** enum dma_data_direction, as the kernel numbers it. */
export const Dir = {
  Bidirectional: 0,
  ToDevice: 1,
  FromDevice: 2,
  None: 3,
} as const;
export type Dir = (typeof Dir)[keyof typeof Dir];

export {
  ATTR_CACHELINES_OVERLAP,
  ATTR_MMIO,
  ATTR_REQUIRE_COHERENT,
  ATTR_SKIP_CPU_SYNC,
} from '../events/vocabulary.js';

/**
 * Growable parallel arrays for sg lists. `count` items are valid.
 * hi/lo are the u32 halves of each 64-bit address.
 */
export class AddrList {
  count = 0;
  hi: Uint32Array;
  lo: Uint32Array;
  constructor(capacity = 16) {
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
  }
  clear(): void {
    this.count = 0;
  }
  push(hi: number, lo: number): void {
    if (this.count === this.hi.length) this.grow();
    this.hi[this.count] = hi;
    this.lo[this.count] = lo;
    this.count++;
  }
  private grow(): void {
    const n = this.hi.length * 2;
    const hi = new Uint32Array(n);
    const lo = new Uint32Array(n);
    hi.set(this.hi);
    lo.set(this.lo);
    this.hi = hi;
    this.lo = lo;
  }
  copyFrom(o: AddrList): void {
    this.count = 0;
    for (let i = 0; i < o.count; i++) this.push(o.hi[i]!, o.lo[i]!);
  }
}

/** Growable list of sizes (numbers, exact below 2^53). */
export class SizeList {
  count = 0;
  v: Float64Array;
  constructor(capacity = 16) {
    this.v = new Float64Array(capacity);
  }
  clear(): void {
    this.count = 0;
  }
  push(x: number): void {
    if (this.count === this.v.length) {
      const n = new Float64Array(this.v.length * 2);
      n.set(this.v);
      this.v = n;
    }
    this.v[this.count++] = x;
  }
  copyFrom(o: SizeList): void {
    this.count = 0;
    for (let i = 0; i < o.count; i++) this.push(o.v[i]!);
  }
}

/**
 * One event. Which fields are meaningful depends on `kind`; parsers reset the
 * ones they do not set with `resetPayload()`.
 */
export class DmaEvent {
  kind: EventKind = EventKind.Marker;

  // ---- where it came from ----
  /**
   * Where the event is in the input: its line (text), or its record's byte
   * offset (binary: in the file, or in its CPU's decompressed data; see
   * InputFacts.positions). 0 = unknown (library calls). A byte offset stays
   * exact in a double.
   */
  line = 0;
  /** Timestamp, seconds part. */
  tsSec = 0;
  /** Timestamp, fractional part in nanoseconds (0..999999999). */
  tsNs = 0;
  /**
   * How many fractional digits the source printed (6 for µs text, 9 for ns).
   * 0: a counter clock's count (text `count:`), no seconds: the count is
   * tsSec * 10^9 + tsNs, kept exactly up to 2^64 - 1 and printed as one integer.
   */
  tsDigits = 6;
  cpu = 0;
  /** The task's pid: a pid_t, an int (a text pid past 2^31 - 1 is no header). */
  pid = 0;
  /** Interned task name (see Interner `comms`), -1 = unknown. */
  comm = -1;

  // ---- payload ----
  /** Interned device name (see Interner `devices`), -1 = none. */
  device = -1;
  dir: Dir = Dir.Bidirectional;
  /** True when the source gave a direction (alloc/free layouts of 6.12 merge have none). */
  hasDir = false;
  /** DMA_ATTR_* bit mask. */
  attrs = 0;
  /** dma_addr (single, resource, alloc, free, sync_single, alloc_sgt). */
  addrHi = 0;
  addrLo = 0;
  /** phys_addr of map_page/map_resource/6.12-merge alloc. Valid when hasPhys. */
  physHi = 0;
  physLo = 0;
  hasPhys = false;
  /** size in bytes. */
  size = 0;
  /** virt_addr of alloc/free: a hashed `%p` (text) or a raw pointer (binary). Valid when hasVirt. */
  virtHi = 0;
  virtLo = 0;
  hasVirt = false;
  /** True when virt is a raw kernel pointer (trace.dat), false when it is a hashed %p. */
  virtRaw = false;

  // ---- sg ----
  /** nents as called (full count, even when the arrays were truncated). */
  nents = 0;
  /** mapped ents (full count). */
  ents = 0;
  /** Arrays were capped by the kernel ([TRUNCATED]). */
  truncated = false;
  /** dma_addrs of map_sg / sync_sg. */
  sgDma = new AddrList();
  /** sizes of map_sg / sync_sg. */
  sgLen = new SizeList();
  /** phys_addrs of map_sg / unmap_sg / map_sg_err / alloc_sgt. */
  sgPhys = new AddrList();
  /** err of map_sg_err. */
  err = 0;

  // ---- kmem ----
  /** pfn of a freed page (hi/lo) and its order. */
  pfnHi = 0;
  pfnLo = 0;
  order = 0;

  // ---- lost / stack / marker ----
  /** Number of lost events (Lost), 0 when unknown. */
  lost = 0;
  /**
   * Lost only: the loss is a line (text) or record (trace.dat) the parser
   * could not read, in its place in the input, not a notice of the tracer's.
   * Its `cpu` may be ALL_CPUS when the damage hides which CPU it was on.
   */
  damaged = false;
  /** Interned stack (see Interner `stacks`), for kind Stack. */
  stack = -1;
  /** Marker text (kind Marker only; allocation is fine there, markers are rare). */
  text = '';

  resetPayload(): void {
    this.device = -1;
    this.dir = Dir.Bidirectional;
    this.hasDir = false;
    this.attrs = 0;
    this.addrHi = 0;
    this.addrLo = 0;
    this.physHi = 0;
    this.physLo = 0;
    this.hasPhys = false;
    this.size = 0;
    this.virtHi = 0;
    this.virtLo = 0;
    this.hasVirt = false;
    this.virtRaw = false;
    this.nents = 0;
    this.ents = 0;
    this.truncated = false;
    this.sgDma.clear();
    this.sgLen.clear();
    this.sgPhys.clear();
    this.err = 0;
    this.pfnHi = 0;
    this.pfnLo = 0;
    this.order = 0;
    this.lost = 0;
    this.damaged = false;
    this.stack = -1;
    this.text = '';
  }

  /** A deep copy, for library users who want to keep events (not used on hot paths). */
  clone(): DmaEvent {
    const e = new DmaEvent();
    Object.assign(e, this);
    e.sgDma = new AddrList(Math.max(1, this.sgDma.count));
    e.sgDma.copyFrom(this.sgDma);
    e.sgLen = new SizeList(Math.max(1, this.sgLen.count));
    e.sgLen.copyFrom(this.sgLen);
    e.sgPhys = new AddrList(Math.max(1, this.sgPhys.count));
    e.sgPhys.copyFrom(this.sgPhys);
    return e;
  }
}

/** A single map or unmap of MMIO: dma_map_resource, or (6.18+) dma_map_phys with DMA_ATTR_MMIO. */
export function isMmio(ev: DmaEvent): boolean {
  return ev.kind === EventKind.MapResource || ev.kind === EventKind.UnmapResource || (ev.attrs & ATTR_MMIO_BIT) !== 0;
}

/** A single map that returned DMA_MAPPING_ERROR (all ones): the kernel makes no entry. */
export function isMappingError(ev: DmaEvent): boolean {
  return ev.addrHi === 0xffffffff && ev.addrLo === 0xffffffff;
}

/**
 * A failed dma_alloc/dma_alloc_pages: a NULL CPU address, or (7.x, and text
 * traces that print no pointer) dma_addr 0 with nothing else to show for it.
 */
export function isFailedAlloc(ev: DmaEvent): boolean {
  const virtNull = ev.hasVirt && ev.virtHi === 0 && ev.virtLo === 0;
  const noAddr = !ev.hasVirt && ev.addrHi === 0 && ev.addrLo === 0 && !(ev.hasPhys && ev.physLo !== 0);
  return virtNull || noAddr;
}

/**
 * Lost.cpu of a damaged line whose CPU could not be read: the event may have
 * been on any CPU. (Coverage's loss epochs are trace-wide, so one such Lost
 * weighs as much as one per CPU.)
 */
export const ALL_CPUS = -1;

/** Where parsers deliver events. Called synchronously with a reused record. */
export type EventSink = (ev: DmaEvent) => void;

/**
 * What DmaEvent.line counts in an input: 'line', a text line number; 'file',
 * a record's byte offset in the (uncompressed) trace.dat; 'cpu-data', a
 * record's byte offset in its CPU's data, decompressed (a compressed trace.dat,
 * whose records have no offset of their own in the file) or as read from that
 * CPU's trace_pipe_raw (live).
 */
export type InputPositions = 'line' | 'file' | 'cpu-data';

/** Coverage facts a parser learns from headers (not events). */
/**
 * The most CPUs a kernel can have (x86_64 MAXSMP's NR_CPUS). A bigger CPU count
 * in an input (`#P:`, `cpus=`, trace.dat's CPUCOUNT option) is damage, not
 * believed: coverage would wait for that many CPUs, recovery would walk them.
 */
export const MAX_CPUS = 8192;

export interface InputFacts {
  /** What events' `line` counts (text lines unless a binary reader says otherwise). */
  positions: InputPositions;
  /** `# entries-in-buffer/entries-written: A/B` seen with A < B: the ring buffer overwrote events. */
  overwritten: boolean;
  /** The header was seen at all (a `trace` file, not trace_pipe). */
  sawBufferHeader: boolean;
  /**
   * The input says whether its ring buffer overwrote events before it was read
   * (a `trace` file's entries header, trace.dat's per-CPU stats, a live session
   * that emptied the buffer first). When it does not, a trace that starts late
   * may hold a different window of events per CPU.
   */
  overwriteKnown: boolean;
  /** Events written minus entries in buffer, when known. */
  overwrittenCount: number;
  /** How many CPUs the ring buffer has (`#P:N`, trace.dat's CPU count); 0 when unknown. */
  cpus: number;
  /**
   * The CPUs whose buffers overwrote their oldest events (trace.dat's per-CPU
   * overruns), or null when the input does not say which (then, if
   * `overwritten`, every CPU may have).
   */
  overwrittenCpus: number[] | null;
  /**
   * Kernel evidence for choosing a kernel profile (engine/profiles.ts).
   * `uname -r` of the traced kernel (trace.dat's uname option, a record sidecar), or null.
   */
  kernelRelease: string | null;
  /** `uname -m` of the traced machine (x86_64, aarch64, ...), or null. */
  machine: string | null;
  /** Where kernelRelease/machine came from, for the summary ("trace.dat uname option", ...). */
  kernelSource: string | null;
  /**
   * Which single-mapping events the kernel has: 'phys' (dma_map_phys, 6.18+),
   * 'page' (dma_map_page/dma_map_resource, up to 6.17), or null while unknown.
   * trace.dat sets it from its formats before any event; a text parser (and
   * RingRecords, for a reader that did not) sets it when it reads the first
   * such event, before handing that event on. Once set it is not changed.
   * See MapEvents and TRACED_EVENTS in events/vocabulary.ts.
   */
  mapEvents: 'phys' | 'page' | null;
  /** Where mapEvents was learned ("formats of trace.dat", "line 1234: dma_map_phys", "event 17: dma_map_phys"). */
  mapEventsSource: string | null;
}

/** Facts before the input said anything. */
export function noInputFacts(): InputFacts {
  return {
    positions: 'line',
    overwritten: false,
    sawBufferHeader: false,
    overwriteKnown: false,
    overwrittenCount: 0,
    cpus: 0,
    overwrittenCpus: null,
    kernelRelease: null,
    machine: null,
    kernelSource: null,
    mapEvents: null,
    mapEventsSource: null,
  };
}
