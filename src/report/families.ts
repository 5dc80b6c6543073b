// The check families of the CI formats (KTAP, JUnit): one test per family, so a
// kernel CI dashboard shows "sync failed" rather than 30 rows of checks. The
// grouping is by what a kernel developer looks for (the mapping calls, the
// syncs, scatter-gather, coherent memory, cachelines, what memory is mapped,
// leaks, the entry pool), not by the engine module that raises a check
// (catalogue.ts's `family`). Every check is in exactly one family: the table
// below is typed over every CheckId, and a test asserts it as well.

import type { CheckId } from '../engine/catalogue.js';

export type FamilyId = 'map' | 'unmap' | 'sync' | 'sg' | 'coherent' | 'cacheline' | 'memory' | 'leak' | 'pool';

export interface FamilyDef {
  readonly id: FamilyId;
  /** What the family's test covers, in a kernel developer's words. */
  readonly title: string;
}

/** The families in the order their tests are printed. */
export const FAMILIES: readonly FamilyDef[] = [
  { id: 'map', title: 'dma_map_*() calls: failed maps, dma_mapping_error() not checked' },
  { id: 'unmap', title: 'dma_unmap_*() and frees: unknown addresses, size, type, direction, attrs, double unmaps' },
  { id: 'sync', title: 'dma_sync_*() calls: unknown memory, range, direction' },
  { id: 'sg', title: 'scatter-gather lists: entry counts, segment length and boundary' },
  { id: 'coherent', title: 'dma_alloc_*()/dma_free_*(): the CPU address of a free' },
  { id: 'cacheline', title: 'cacheline tracking: overlapping mappings, the CPU touching an active mapping' },
  { id: 'memory', title: 'what is mapped: kernel text/rodata, RAM through map_resource, pages freed while mapped' },
  { id: 'leak', title: 'mappings left behind: at driver unbind, at the end of the trace' },
  { id: 'pool', title: "dma-debug's entry pool: growth and exhaustion" },
];

/** The family of every check (TypeScript refuses a check left out). */
export const FAMILY_OF = {
  'map-error-not-checked': 'map',
  'map-failed': 'map',
  'unmap-not-mapped': 'unmap',
  'unmap-invalid-address': 'unmap',
  'unmap-size-mismatch': 'unmap',
  'unmap-wrong-function': 'unmap',
  'unmap-direction-mismatch': 'unmap',
  'unmap-attrs-mismatch': 'unmap',
  'double-unmap': 'unmap',
  'sync-not-mapped': 'sync',
  'sync-out-of-range': 'sync',
  'sync-direction-mismatch': 'sync',
  'sync-read-only-for-cpu': 'sync',
  'sync-write-only-for-device': 'sync',
  'unmap-sg-count-mismatch': 'sg',
  'sync-sg-count-mismatch': 'sg',
  'sg-segment-too-long': 'sg',
  'sg-segment-boundary': 'sg',
  'free-cpu-address-mismatch': 'coherent',
  'cacheline-overlap': 'cacheline',
  'cacheline-overlap-limit': 'cacheline',
  'overlap-exact': 'cacheline',
  'cpu-touching-active-mapping': 'cacheline',
  'map-kernel-image': 'memory',
  'map-resource-ram': 'memory',
  'page-freed-while-mapped': 'memory',
  'leak-at-unbind': 'leak',
  'pool-grown': 'pool',
  'pool-exhausted': 'pool',
} as const satisfies Record<CheckId, FamilyId>;

export function familyOf(check: CheckId): FamilyId {
  return FAMILY_OF[check];
}
