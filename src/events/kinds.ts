// What happened, as a small stable code per event: the kinds of DmaEvent.
// Its own module so that the vocabulary (event names -> kinds) and the event
// record (engine/events.ts, which re-exports it) can both use it without an
// import cycle.

/** What happened. Values are stable: they index tables in the engine. */
export const EventKind = {
  /** dma_map_page / dma_map_single / dma_map_phys (6.18+) without MMIO: one entry, `single` on 6.12, `phy` on 7.x. */
  MapPage: 1,
  /** dma_unmap_page / dma_unmap_phys. */
  UnmapPage: 2,
  /** dma_map_resource, or dma_map_phys with DMA_ATTR_MMIO: one entry, `resource` on 6.12, `phy` on 7.x. */
  MapResource: 3,
  UnmapResource: 4,
  /** dma_map_sg: one `scatter-gather` entry per mapped segment. */
  MapSg: 5,
  /** dma_unmap_sg: only the physical addresses of the list are known. */
  UnmapSg: 6,
  /** dma_map_sg_err: a failed sg mapping (sgPhys holds the physical addresses). */
  MapSgErr: 7,
  /** dma_alloc (coherent). */
  Alloc: 8,
  Free: 9,
  /** dma_alloc_pages (noncoherent). */
  AllocPages: 10,
  FreePages: 11,
  /** dma_alloc_sgt: dma address + size + physical list. */
  AllocSgt: 12,
  FreeSgt: 13,
  AllocSgtErr: 14,
  SyncSingleForCpu: 15,
  SyncSingleForDevice: 16,
  SyncSgForCpu: 17,
  SyncSgForDevice: 18,
  /** kmem:mm_page_free / mm_page_free_batched: pfn + order. */
  PageFree: 19,
  /**
   * Events were lost on `cpu` (count in `lost`, 0 when unknown): a notice of
   * the tracer's, or (`damaged`) a line or record the parser could not read.
   */
  Lost: 20,
  /** A `<stack trace>` block for the previous event of `cpu`; frames in `stack`. */
  Stack: 21,
  /** trace_printk / trace_marker text, for humans. `text` holds it. */
  Marker: 22,
  /** The driver of `device` was unbound (side information: a recorder's marker); `text` holds the bus. */
  Unbind: 23,
  /**
   * The input is damaged in `cpu`'s events: none of that CPU's later events
   * can be read (an ongoing loss, unlike Lost's gap), while other CPUs go on.
   */
  CpuCutShort: 24,
} as const;
export type EventKind = (typeof EventKind)[keyof typeof EventKind];
