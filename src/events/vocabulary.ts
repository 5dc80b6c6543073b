// The dma:* event vocabulary shared by every parser and the engine: the events
// dmadebug reads and the EventKind each becomes, the rule that makes a
// dma_map_phys a resource mapping, the ftrace records read beside them, and
// the DMA_ATTR_* bits with the names trace events print for them
// (include/trace/events/dma.h, include/linux/dma-mapping.h of 6.12 and 7.3).
// One table each, so the text parser, the trace.dat decoder and the checks
// cannot disagree on a name or a bit.

import { EventKind } from './kinds.js';

export const ATTR_WEAK_ORDERING = 1 << 1;
export const ATTR_WRITE_COMBINE = 1 << 2;
export const ATTR_NO_KERNEL_MAPPING = 1 << 4;
export const ATTR_SKIP_CPU_SYNC = 1 << 5;
export const ATTR_FORCE_CONTIGUOUS = 1 << 6;
export const ATTR_ALLOC_SINGLE_PAGES = 1 << 7;
export const ATTR_NO_WARN = 1 << 8;
export const ATTR_PRIVILEGED = 1 << 9;
/** 6.18+: the physical address is MMIO (dma_map_resource is dma_map_phys with this attr). */
export const ATTR_MMIO = 1 << 10;
/** 7.x: DMA_ATTR_DEBUGGING_IGNORE_CACHELINES, printed CACHELINES_OVERLAP. */
export const ATTR_CACHELINES_OVERLAP = 1 << 11;
/** 7.x: the mapping must be coherent (no cache maintenance). */
export const ATTR_REQUIRE_COHERENT = 1 << 12;
/** 7.x: memory shared with the host in a confidential guest. */
export const ATTR_CC_SHARED = 1 << 13;
/** 7.x: __DMA_ATTR_ALLOC_CC_SHARED, set inside dma_alloc_attrs(). */
export const ATTR_ALLOC_CC_SHARED = 1 << 14;

/** The names decode_dma_attrs() prints, with their bits (both kernels; 7.3 adds the last five). */
export const ATTR_NAMES: ReadonlyArray<readonly [string, number]> = [
  ['WEAK_ORDERING', ATTR_WEAK_ORDERING],
  ['WRITE_COMBINE', ATTR_WRITE_COMBINE],
  ['NO_KERNEL_MAPPING', ATTR_NO_KERNEL_MAPPING],
  ['SKIP_CPU_SYNC', ATTR_SKIP_CPU_SYNC],
  ['FORCE_CONTIGUOUS', ATTR_FORCE_CONTIGUOUS],
  ['ALLOC_SINGLE_PAGES', ATTR_ALLOC_SINGLE_PAGES],
  ['NO_WARN', ATTR_NO_WARN],
  ['PRIVILEGED', ATTR_PRIVILEGED],
  ['MMIO', ATTR_MMIO],
  ['CACHELINES_OVERLAP', ATTR_CACHELINES_OVERLAP],
  ['REQUIRE_COHERENT', ATTR_REQUIRE_COHERENT],
  ['CC_SHARED', ATTR_CC_SHARED],
  ['ALLOC_CC_SHARED', ATTR_ALLOC_CC_SHARED],
];

// ---------------------------------------------------------------- events

/**
 * Which single-mapping events a kernel has: 'phys' (dma_map_phys and
 * dma_unmap_phys, 6.18 and later) or 'page' (dma_map_page, dma_map_resource
 * and their unmaps, up to 6.17). Evidence for the kernel profile.
 */
export type MapEvents = 'phys' | 'page';

/** One dma:* or kmem:* event dmadebug reads. */
export interface TracedEvent {
  /** The trace system (dma, kmem): formats are filed under it. */
  readonly system: 'dma' | 'kmem';
  readonly name: string;
  /** What it becomes; for a *_phys event, unless kindOf() makes it a resource map/unmap. */
  readonly kind: EventKind;
  /** dma_map_phys / dma_unmap_phys: the kind depends on DMA_ATTR_MMIO (see kindOf). */
  readonly phys: boolean;
  /** The single-mapping family it proves the kernel has, or null. */
  readonly mapEvents: MapEvents | null;
}

const K = EventKind;
const dma = (name: string, kind: EventKind, mapEvents: MapEvents | null = null): TracedEvent => ({
  system: 'dma',
  name,
  kind,
  phys: mapEvents === 'phys',
  mapEvents,
});

/**
 * Every event dmadebug reads: the dma:* events of 6.12 and 7.3 (dma.h), and the
 * kmem page frees. Its index is the code both parsers keep per event name.
 */
export const TRACED_EVENTS: readonly TracedEvent[] = [
  dma('dma_map_page', K.MapPage, 'page'),
  dma('dma_unmap_page', K.UnmapPage, 'page'),
  dma('dma_map_resource', K.MapResource, 'page'),
  dma('dma_unmap_resource', K.UnmapResource, 'page'),
  dma('dma_map_phys', K.MapPage, 'phys'),
  dma('dma_unmap_phys', K.UnmapPage, 'phys'),
  dma('dma_map_sg', K.MapSg),
  dma('dma_unmap_sg', K.UnmapSg),
  dma('dma_map_sg_err', K.MapSgErr),
  dma('dma_alloc', K.Alloc),
  dma('dma_free', K.Free),
  dma('dma_alloc_pages', K.AllocPages),
  dma('dma_free_pages', K.FreePages),
  dma('dma_alloc_sgt', K.AllocSgt),
  dma('dma_free_sgt', K.FreeSgt),
  dma('dma_alloc_sgt_err', K.AllocSgtErr),
  dma('dma_sync_single_for_cpu', K.SyncSingleForCpu),
  dma('dma_sync_single_for_device', K.SyncSingleForDevice),
  dma('dma_sync_sg_for_cpu', K.SyncSgForCpu),
  dma('dma_sync_sg_for_device', K.SyncSgForDevice),
  { system: 'kmem', name: 'mm_page_free', kind: K.PageFree, phys: false, mapEvents: null },
  // its format prints a literal order=0: it has no order field
  { system: 'kmem', name: 'mm_page_free_batched', kind: K.PageFree, phys: false, mapEvents: null },
];

const EVENT_INDEX = new Map<string, number>(TRACED_EVENTS.map((e, i) => [e.name, i]));

/** The index in TRACED_EVENTS of the event called `name`, or -1. */
export function tracedEventIndex(name: string): number {
  return EVENT_INDEX.get(name) ?? -1;
}

/**
 * The kind of one traced event given its attrs: the table's, except that a
 * dma_map_phys / dma_unmap_phys with DMA_ATTR_MMIO is a resource map / unmap
 * (6.18+: dma_map_resource() is dma_map_phys(..., attrs | DMA_ATTR_MMIO)).
 */
export function kindOf(ev: TracedEvent, attrs: number): EventKind {
  if (!ev.phys || (attrs & ATTR_MMIO) === 0) return ev.kind;
  return ev.kind === K.MapPage ? K.MapResource : K.UnmapResource;
}

/**
 * Which single-mapping events a kernel has, from the names of the events it
 * describes (trace.dat or tracefs formats): 'phys' when it has dma_map_phys or
 * dma_unmap_phys, 'page' when it has a page or resource event, else null.
 */
export function mapEventsOf(names: Iterable<string>): MapEvents | null {
  let found: MapEvents | null = null;
  for (const n of names) {
    const i = EVENT_INDEX.get(n);
    const m = i === undefined ? null : TRACED_EVENTS[i]!.mapEvents;
    if (m === 'phys') return m;
    if (m === 'page') found = m;
  }
  return found;
}

/**
 * Allocation events: coherent memory is bidirectional, so a garbage dir there
 * is no error (some 6.13-era kernels never fill it in).
 */
export const ALLOC_FAMILY: ReadonlySet<EventKind> = new Set<EventKind>([
  K.Alloc,
  K.Free,
  K.AllocPages,
  K.FreePages,
  K.AllocSgt,
  K.FreeSgt,
  K.AllocSgtErr,
]);

/** ftrace's own records read beside the dma events: stacks and trace_printk / trace_marker text. */
export const FtraceRecord = {
  KernelStack: 1,
  UserStack: 2,
  /** trace_marker writes and trace_printk with a string (text `print`, `tracing_mark_write`). */
  Print: 3,
  /** trace_printk with a binary format (arguments stored, formatted when read). */
  BPrint: 4,
  /** trace_puts of a constant string. */
  BPuts: 5,
} as const;
export type FtraceRecord = (typeof FtraceRecord)[keyof typeof FtraceRecord];

/** The records of the ftrace system dmadebug reads, by event name. */
export const FTRACE_RECORDS: ReadonlyArray<readonly [string, FtraceRecord]> = [
  ['kernel_stack', FtraceRecord.KernelStack],
  ['user_stack', FtraceRecord.UserStack],
  ['print', FtraceRecord.Print],
  ['bprint', FtraceRecord.BPrint],
  ['bputs', FtraceRecord.BPuts],
];
