// Names and numbers of the kernel's dma-debug model: entry types, directions,
// map-error states, exactly as kernel/dma/debug.c prints them.

/** Entry types, as type2name[] prints them. */
export const EntryType = {
  Single: 0,
  Sg: 1,
  Coherent: 2,
  Resource: 3,
  Noncoherent: 4,
  /** 7.x: dma_map_phys (map_page, map_single and resource maps alike). */
  Phy: 5,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export const TYPE_NAMES: readonly string[] = ['single', 'scatter-gather', 'coherent', 'resource', 'noncoherent', 'phy'];

export const DIR_NAMES: readonly string[] = ['DMA_BIDIRECTIONAL', 'DMA_TO_DEVICE', 'DMA_FROM_DEVICE', 'DMA_NONE'];

/** Map-error states (dma_mapping_error() bookkeeping). */
export const MapErr = {
  NotApplicable: 0,
  NotChecked: 1,
  Checked: 2,
  /** Ours: a trace cannot say whether dma_mapping_error() was called. */
  Unknown: 3,
} as const;
export type MapErr = (typeof MapErr)[keyof typeof MapErr];

export const MAP_ERR_NAMES: readonly string[] = [
  'dma map error check not applicable',
  'dma map error not checked',
  'dma map error checked',
  'dma map error check unknown',
];

/** The kernel preallocates this many entries unless dma_debug_entries= says otherwise. */
export const DEFAULT_PREALLOC_ENTRIES = 65536;
/** PAGE_SIZE / sizeof(struct dma_debug_entry) on x86_64 (128-byte cacheline-aligned entries). */
export const DYNAMIC_ENTRIES = 32;
/** Overlap counter maximum: (1 << RADIX_TREE_MAX_TAGS) - 1. */
export const MAX_OVERLAP = 7;
