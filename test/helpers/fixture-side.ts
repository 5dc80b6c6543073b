// What a recorder (or the user) gives for each kernel fixture beside its trace:
// segment limits and pool sizes the scenario set, the RAM in its /proc/iomem,
// the driver unbound at the end, and which captures started late. The
// conformance test and the damage property test replay fixtures with it.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { iomemConfig } from '../../src/cli/options.js';
import type { EngineConfig } from '../../src/engine/engine.js';
import type { FixtureKernel } from './fixtures.js';

/** The edu device every dmabug scenario drives. */
export const EDU = '0000:00:02.0';

/**
 * Side information per scenario, as `dmadebug record` or the user would give it
 * (each README.txt says what the run set: dma_set_max_seg_size,
 * dma_set_seg_boundary, dma_debug_entries=). The same scenarios on both kernels.
 */
export const SIDE: Record<FixtureKernel, Record<string, Partial<EngineConfig>>> = {
  '6.12': {
    'bug-sg-seg-too-long': {
      segmentLimits: new Map([[EDU, { maxSegmentSize: 4096, segmentBoundary: 0xffffffffn }]]),
    },
    'bug-sg-seg-boundary': {
      segmentLimits: new Map([[EDU, { maxSegmentSize: 65536, segmentBoundary: 0xfffn }]]),
    },
    'bug-leak-many-smallpool': { entries: 256 },
  },
  '7.3': {
    'bug-sg-seg-too-long': {
      segmentLimits: new Map([[EDU, { maxSegmentSize: 4096, segmentBoundary: 0xffffffffn }]]),
    },
    'bug-sg-seg-boundary': {
      segmentLimits: new Map([[EDU, { maxSegmentSize: 65536, segmentBoundary: 0xfffn }]]),
    },
    'bug-leak-many-smallpool': { entries: 256 },
  },
};

/** Scenarios whose driver is unbound at the end (rmmod): the unbind moment is side information. */
export const UNBOUND_AT_END: Record<FixtureKernel, ReadonlySet<string>> = {
  '6.12': new Set(['bug-leak-unbind', 'bug-leak-many-smallpool']),
  '7.3': new Set(['bug-leak-unbind', 'bug-leak-many-smallpool']),
};

/** The trace_pipe capture that started late and lost events: it proves nothing about unknown addresses. */
export const LATE: Record<FixtureKernel, ReadonlySet<string>> = {
  '6.12': new Set(['real-devices-pipe-lost']),
  '7.3': new Set(['real-devices-pipe-lost']),
};

/** How many of the kernel's warnings are its own false positives (correct code), per scenario. */
export const KERNEL_FALSE_POSITIVES: Record<FixtureKernel, Readonly<Record<string, number>>> = {
  '6.12': {},
  // Two identical mappings that differ only in attrs, each unmapped with its own:
  // 7.3's lookup ignores attrs and takes the oldest, so both unmaps "differ".
  '7.3': { 'bug-unmap-attrs-twin': 2 },
};

/**
 * Everything a recorder gives for one fixture: the table above, plus the RAM
 * that is not reserved from its /proc/iomem copy (7.x reports an MMIO map of
 * it; bug-map-resource-ram needs it), computed as `record` and `--iomem` do.
 */
export function sideFor(kernel: FixtureKernel, dir: string, name: string): Partial<EngineConfig> {
  const side: Partial<EngineConfig> = { ...SIDE[kernel][name] };
  const iomem = join(dir, 'proc-iomem.txt');
  if (existsSync(iomem)) {
    const { systemRam } = iomemConfig(readFileSync(iomem, 'utf8'));
    if (systemRam) side.systemRam = systemRam;
  }
  return side;
}
