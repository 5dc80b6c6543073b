// Kernel profiles: what dma-debug did in each kernel line dmadebug models,
// written as named features instead of version comparisons in the checks.
// A check asks `profile.keepsAttrs`, never "is this 7.x". One object per kernel
// line (6.12 LTS, mainline 7.3), one per architecture where a rule depends on
// it, and the choice of both from what the trace shows (resolveProfile).
//
// Sources: ../shared/reference/linux-6.12.118 and linux-7.3.4, kernel/dma/debug.c
// (`diff -u` of the two is the list of features below).

import {
  ATTR_CACHELINES_OVERLAP,
  ATTR_CC_SHARED,
  ATTR_FORCE_CONTIGUOUS,
  ATTR_MMIO,
  ATTR_NO_KERNEL_MAPPING,
  ATTR_PRIVILEGED,
  ATTR_REQUIRE_COHERENT,
} from '../events/vocabulary.js';
import { EntryType } from './model.js';

export type KernelName = '6.12' | '7.3';
export type ArchName = 'x86_64' | 'arm64';

export const KERNEL_NAMES: readonly KernelName[] = ['6.12', '7.3'];
export const ARCH_NAMES: readonly ArchName[] = ['x86_64', 'arm64'];

/** DMA_ATTR_UNMAP_VALID of 7.3's check_unmap(): the attrs a map and its unmap must agree on. */
export const ATTRS_UNMAP_VALID =
  ATTR_NO_KERNEL_MAPPING | ATTR_FORCE_CONTIGUOUS | ATTR_MMIO | ATTR_REQUIRE_COHERENT | ATTR_PRIVILEGED | ATTR_CC_SHARED;

/** One kernel line's dma-debug behaviour. */
export interface KernelProfile {
  readonly name: KernelName;
  /** Entry type of dma_map_page/map_single (6.12: single; 7.3: phy). */
  readonly singleType: EntryType;
  /** Entry type of dma_map_resource / an MMIO dma_map_phys (6.12: resource; 7.3: phy). */
  readonly resourceType: EntryType;
  /** Entries keep the map's attrs: the dump prints ` attrs=0x..` and unmaps compare them. */
  readonly keepsAttrs: boolean;
  /** Attrs an unmap/free must repeat (check_unmap's DMA_ATTR_UNMAP_VALID); 0: no such check. */
  readonly unmapAttrsMustMatch: number;
  /** Attrs that make a mapping cache-clean for cacheline tracking (0: none exist). */
  readonly cacheCleanAttrs: number;
  /** EEXIST needs dma_get_cache_alignment() >= L1_CACHE_BYTES (7.3); 6.12 reports it anyway. */
  readonly eexistNeedsCacheAlignment: boolean;
  /** An MMIO map of a RAM page is reported (`dma_map_resource called for RAM address`). */
  readonly checksMmioOfRam: boolean;
}

/** The entry type of a single map or unmap on this kernel: MMIO (resource) or not. */
export function singleType(k: KernelProfile, mmio: boolean): EntryType {
  return mmio ? k.resourceType : k.singleType;
}

/** One architecture's facts that change a rule. */
export interface ArchProfile {
  readonly name: ArchName;
  /** dma_get_cache_alignment() >= L1_CACHE_BYTES: ARCH_DMA_MINALIGN is defined (arm64), not on x86_64. */
  readonly cacheAlignmentCoversL1: boolean;
  /**
   * CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC (arm64 selects it): both kernels skip
   * EEXIST for a device whose swiotlb is active, which arm64 sets up for it
   * at boot; a trace cannot show whether it is, so EEXIST stays unconfirmed.
   */
  readonly bouncesUnalignedKmalloc: boolean;
  /**
   * Linear-map windows [startHi, endHi) of raw kernel pointers as u32 upper
   * halves, with the base subtracted to get a physical address (x86_64 4- and
   * 5-level paging without KASLR). Empty: a pointer tells no physical address.
   */
  readonly directMaps: ReadonlyArray<{ readonly startHi: number; readonly endHi: number }>;
}

export const KERNEL_PROFILES: Readonly<Record<KernelName, KernelProfile>> = {
  '6.12': {
    name: '6.12',
    singleType: EntryType.Single,
    resourceType: EntryType.Resource,
    keepsAttrs: false,
    unmapAttrsMustMatch: 0,
    cacheCleanAttrs: 0,
    eexistNeedsCacheAlignment: false,
    checksMmioOfRam: false,
  },
  '7.3': {
    name: '7.3',
    singleType: EntryType.Phy,
    resourceType: EntryType.Phy,
    keepsAttrs: true,
    unmapAttrsMustMatch: ATTRS_UNMAP_VALID,
    cacheCleanAttrs: ATTR_CACHELINES_OVERLAP | ATTR_REQUIRE_COHERENT,
    eexistNeedsCacheAlignment: true,
    checksMmioOfRam: true,
  },
};

export const ARCH_PROFILES: Readonly<Record<ArchName, ArchProfile>> = {
  x86_64: {
    name: 'x86_64',
    cacheAlignmentCoversL1: false,
    bouncesUnalignedKmalloc: false,
    // 0xffff888000000000 (4-level, 64 TiB) and 0xff11000000000000 (5-level, 32 PiB)
    directMaps: [
      { startHi: 0xffff8880, endHi: 0xffffc880 },
      { startHi: 0xff110000, endHi: 0xff910000 },
    ],
  },
  arm64: {
    name: 'arm64',
    cacheAlignmentCoversL1: true,
    bouncesUnalignedKmalloc: true,
    directMaps: [],
  },
};

/** The profile in force and why it was chosen (the summary prints this). */
export interface ProfileChoice {
  kernel: KernelName;
  arch: ArchName;
  /** What decided the kernel: "set by the user (--kernel)", "trace.dat uname: 7.3.4-amd64", ... */
  kernelEvidence: string;
  archEvidence: string;
  /** Nothing in the input told: the kernel (or the arch) is an assumption. */
  kernelAssumed: boolean;
  archAssumed: boolean;
  /** Evidence that arrived after the choice and disagrees with it, if any. */
  conflict: string | null;
}

/** The profile a kernel release maps to: dma_map_phys (6.18) is where dma-debug's model changed. */
export function kernelForRelease(release: string): KernelName | null {
  const m = /^(\d+)\.(\d+)/.exec(release.trim());
  if (!m) return null;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  if (major < 6 || (major === 6 && minor < 18)) return '6.12';
  return '7.3';
}

/** `uname -m` (or a --arch spelling) to the architecture profile, or null when not modelled. */
export function archForMachine(machine: string): ArchName | null {
  const m = machine.trim().toLowerCase();
  if (m === 'x86_64' || m === 'amd64' || m === 'x86-64') return 'x86_64';
  if (m === 'aarch64' || m === 'arm64') return 'arm64';
  return null;
}

/** What resolveProfile() reads: user overrides first, then the input's evidence. */
export interface ProfileEvidence {
  kernel: KernelName | null;
  arch: ArchName | null;
  kernelRelease: string | null;
  machine: string | null;
  kernelSource: string | null;
  mapEvents: 'phys' | 'page' | null;
  mapEventsSource: string | null;
}

/** With no evidence: mainline on x86_64, the choice that reports no EEXIST a 7.x kernel would not. */
export const ASSUMED_KERNEL: KernelName = '7.3';
export const ASSUMED_ARCH: ArchName = 'x86_64';

export function resolveProfile(ev: ProfileEvidence): ProfileChoice {
  let kernel: KernelName | null = null;
  let kernelEvidence = '';
  if (ev.kernel !== null) {
    kernel = ev.kernel;
    kernelEvidence = 'set by the user (--kernel)';
  } else if (ev.kernelRelease !== null && kernelForRelease(ev.kernelRelease) !== null) {
    kernel = kernelForRelease(ev.kernelRelease);
    kernelEvidence = `${ev.kernelSource ?? 'the input'}: kernel ${ev.kernelRelease}`;
  } else if (ev.mapEvents !== null) {
    kernel = ev.mapEvents === 'phys' ? '7.3' : '6.12';
    const what =
      ev.mapEvents === 'phys' ? 'dma_map_phys events: 6.18 or later' : 'dma_map_page events: 6.17 or earlier';
    kernelEvidence = ev.mapEventsSource !== null ? `${what}, from ${ev.mapEventsSource}` : what;
  }
  let arch: ArchName | null = null;
  let archEvidence = '';
  if (ev.arch !== null) {
    arch = ev.arch;
    archEvidence = 'set by the user (--arch)';
  } else if (ev.machine !== null && archForMachine(ev.machine) !== null) {
    arch = archForMachine(ev.machine);
    archEvidence = `${ev.kernelSource ?? 'the input'}: machine ${ev.machine}`;
  }
  return {
    kernel: kernel ?? ASSUMED_KERNEL,
    arch: arch ?? ASSUMED_ARCH,
    kernelEvidence: kernel !== null ? kernelEvidence : 'assumed: the input names no kernel (use --kernel)',
    archEvidence: arch !== null ? archEvidence : 'assumed: the input names no architecture (use --arch)',
    kernelAssumed: kernel === null,
    archAssumed: arch === null,
    conflict: null,
  };
}
