// The dma:* event vocabulary shared by every parser and the engine: DMA_ATTR_*
// bits and the names trace events print for them (include/trace/events/dma.h,
// include/linux/dma-mapping.h of 6.12 and 7.3). One table, so the text parser,
// the trace.dat decoder and the checks cannot disagree on a bit.

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
