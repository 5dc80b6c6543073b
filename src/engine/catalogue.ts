// The catalogue of checks: for every check id, its family (the module whose
// code raises it), whether the kernel has it or it is ours, its message
// template and how its severity is decided. One row per check, so a check's
// text, origin and rules are read in one place; the code that raises it lives
// in checks/<family>.ts.
//
// Messages are the kernel's texts (kernel/dma/debug.c of 6.12 and 7.3), byte
// for byte: people grep for them. `0x%016llx` is addr(), `%pa` is pa() (the
// kernel's %pa already prints 0x, so `0x%pa` really gives `0x0x…`).

import { hex16 } from '../base/u64.js';
import { DIR_NAMES, TYPE_NAMES } from './model.js';

export function addr(hi: number, lo: number): string {
  return `0x${hex16(hi, lo)}`;
}

/** %pa of a physical address; `null` (unknown) prints as 0x<unknown>. */
export function pa(hi: number, lo: number, known = true): string {
  return known ? `0x${hex16(hi, lo)}` : '0x<unknown>';
}

const dirName = (d: number): string => DIR_NAMES[d] ?? `DMA_DIR_${d}`;
const typeName = (t: number): string => TYPE_NAMES[t] ?? `type${t}`;
const hexAttrs = (a: number): string => `0x${(a >>> 0).toString(16)}`;

/** Which module raises a check (src/engine/checks/<family>.ts). */
export type Family = 'map' | 'unmap' | 'sync' | 'cacheline' | 'side' | 'pool' | 'beyond';

/**
 * How a check's severity is decided:
 * - 'coverage': error when the trace proves it, else unconfirmed (coverage.ts decides);
 * - 'proven': always an error (side information, or nothing a lost event could change);
 * - 'info': never an error.
 */
export type SeverityRule = 'coverage' | 'proven' | 'info';

export interface CheckDef {
  readonly family: Family;
  /** 'kernel': debug.c prints this; 'ours': beyond the kernel (its text may still be the kernel's). */
  readonly origin: 'kernel' | 'ours';
  readonly severity: SeverityRule;
  /** The kernel prints it without the `<driver> <device>: ` prefix (WARN, pr_err). */
  readonly bare?: boolean;
  /** Ours, but printed with a kernel text (so it greps like the kernel's). */
  readonly kernelText?: boolean;
  // biome-ignore lint/suspicious/noExplicitAny: each row has its own arguments, typed at its use
  readonly message: (...args: any[]) => string;
}

export const CHECKS = {
  // ---- unmap (check_unmap) ----
  'unmap-not-mapped': {
    family: 'unmap',
    origin: 'kernel',
    severity: 'coverage',
    message: (a: string, size: string | number) =>
      `device driver tries to free DMA memory it has not allocated [device address=${a}] [size=${size} bytes]`,
  },
  'unmap-invalid-address': {
    family: 'unmap',
    origin: 'kernel',
    severity: 'proven',
    message: () => 'device driver tries to free an invalid DMA memory address',
  },
  'unmap-size-mismatch': {
    family: 'unmap',
    origin: 'kernel',
    severity: 'coverage',
    message: (a: string, mapSize: number, unmapSize: number) =>
      `device driver frees DMA memory with different size [device address=${a}] [map size=${mapSize} bytes] [unmap size=${unmapSize} bytes]`,
  },
  'unmap-wrong-function': {
    family: 'unmap',
    origin: 'kernel',
    severity: 'coverage',
    message: (a: string, size: number, mapped: number, unmapped: number) =>
      `device driver frees DMA memory with wrong function [device address=${a}] [size=${size} bytes] [mapped as ${typeName(mapped)}] [unmapped as ${typeName(unmapped)}]`,
  },
  'free-cpu-address-mismatch': {
    family: 'unmap',
    origin: 'kernel',
    severity: 'coverage',
    message: (a: string, size: number, allocPa: string, freePa: string) =>
      `device driver frees DMA memory with different CPU address [device address=${a}] [size=${size} bytes] [cpu alloc address=0x${allocPa}] [cpu free address=0x${freePa}]`,
  },
  'unmap-sg-count-mismatch': {
    family: 'unmap',
    origin: 'kernel',
    severity: 'coverage',
    message: (mapCount: number, unmapCount: number) =>
      `device driver frees DMA sg list with different entry count [map count=${mapCount}] [unmap count=${unmapCount}]`,
  },
  'unmap-direction-mismatch': {
    family: 'unmap',
    origin: 'kernel',
    severity: 'coverage',
    message: (a: string, size: number, mapped: number, unmapped: number) =>
      `device driver frees DMA memory with different direction [device address=${a}] [size=${size} bytes] [mapped with ${dirName(mapped)}] [unmapped with ${dirName(unmapped)}]`,
  },
  /** 7.3: the attrs in DMA_ATTR_UNMAP_VALID differ (profile.unmapAttrsMustMatch). */
  'unmap-attrs-mismatch': {
    family: 'unmap',
    origin: 'kernel',
    severity: 'coverage',
    message: (a: string, size: number, mapped: number, unmapped: number) =>
      `device driver frees DMA memory with different attributes [device address=${a}] [size=${size} bytes] [mapped with ${hexAttrs(mapped)}] [unmapped with ${hexAttrs(unmapped)}]`,
  },
  'map-error-not-checked': {
    family: 'unmap',
    origin: 'kernel',
    severity: 'coverage',
    message: (a: string, size: number, type: number) =>
      `device driver failed to check map error[device address=${a}] [size=${size} bytes] [mapped as ${typeName(type)}]`,
  },
  // ---- sync (check_sync) ----
  'sync-not-mapped': {
    family: 'sync',
    origin: 'kernel',
    severity: 'coverage',
    message: (a: string, size: number) =>
      `device driver tries to sync DMA memory it has not allocated [device address=${a}] [size=${size} bytes]`,
  },
  'sync-out-of-range': {
    family: 'sync',
    origin: 'kernel',
    severity: 'coverage',
    message: (a: string, allocSize: number, syncSize: number) =>
      `device driver syncs DMA memory outside allocated range [device address=${a}] [allocation size=${allocSize} bytes] [sync offset+size=${syncSize}]`,
  },
  'sync-direction-mismatch': {
    family: 'sync',
    origin: 'kernel',
    severity: 'coverage',
    message: (a: string, size: number, mapped: number, synced: number) =>
      `device driver syncs DMA memory with different direction [device address=${a}] [size=${size} bytes] [mapped with ${dirName(mapped)}] [synced with ${dirName(synced)}]`,
  },
  'sync-read-only-for-cpu': {
    family: 'sync',
    origin: 'kernel',
    severity: 'coverage',
    message: (a: string, size: number, mapped: number, synced: number) =>
      `device driver syncs device read-only DMA memory for cpu [device address=${a}] [size=${size} bytes] [mapped with ${dirName(mapped)}] [synced with ${dirName(synced)}]`,
  },
  'sync-write-only-for-device': {
    family: 'sync',
    origin: 'kernel',
    severity: 'coverage',
    message: (a: string, size: number, mapped: number, synced: number) =>
      `device driver syncs device write-only DMA memory to device [device address=${a}] [size=${size} bytes] [mapped with ${dirName(mapped)}] [synced with ${dirName(synced)}]`,
  },
  'sync-sg-count-mismatch': {
    family: 'sync',
    origin: 'kernel',
    severity: 'coverage',
    message: (mapCount: number, syncCount: number) =>
      `device driver syncs DMA sg list with different entry count [map count=${mapCount}] [sync count=${syncCount}]`,
  },
  // ---- cacheline tracking (add_dma_entry, active_cacheline_*) ----
  'cacheline-overlap': {
    family: 'cacheline',
    origin: 'kernel',
    severity: 'coverage',
    message: () => "cacheline tracking EEXIST, overlapping mappings aren't supported",
  },
  'cacheline-overlap-limit': {
    family: 'cacheline',
    origin: 'kernel',
    severity: 'coverage',
    bare: true,
    message: (cln: string) => `exceeded 7 overlapping mappings of cacheline ${cln}`,
  },
  'cpu-touching-active-mapping': {
    family: 'cacheline',
    origin: 'kernel',
    severity: 'coverage',
    message: (cln: string) => `cpu touching an active dma mapped cacheline [cln=${cln}]`,
  },
  // ---- side information ----
  'leak-at-unbind': {
    family: 'side',
    origin: 'kernel',
    severity: 'coverage',
    message: (count: number, a: string, size: number, dir: number, type: number) =>
      `device driver has pending DMA allocations while released from device [count=${count}]\nOne of leaked entries details: [device address=${a}] [size=${size} bytes] [mapped with ${dirName(dir)}] [mapped as ${typeName(type)}]`,
  },
  'map-kernel-image': {
    family: 'side',
    origin: 'ours',
    kernelText: true,
    severity: 'proven',
    message: (p: string, len: number) =>
      `device driver maps memory from kernel text or rodata [addr=${p}] [len=${len}]`,
  },
  /** 7.3: an MMIO map (dma_map_resource) of a RAM page (profile.checksMmioOfRam, side info systemRam). */
  'map-resource-ram': {
    family: 'side',
    origin: 'kernel',
    severity: 'proven',
    message: (p: string) => `dma_map_resource called for RAM address ${p}`,
  },
  'sg-segment-too-long': {
    family: 'side',
    origin: 'kernel',
    severity: 'proven',
    message: (len: number, max: number) =>
      `mapping sg segment longer than device claims to support [len=${len}] [max=${max}]`,
  },
  'sg-segment-boundary': {
    family: 'side',
    origin: 'kernel',
    severity: 'proven',
    message: (start: string, end: string, boundary: string) =>
      `mapping sg segment across boundary [start=${start}] [end=${end}] [boundary=${boundary}]`,
  },
  // ---- the entry pool (dma_entry_alloc) ----
  'pool-grown': {
    family: 'pool',
    origin: 'kernel',
    severity: 'info',
    bare: true,
    message: (text: string) => text,
  },
  'pool-exhausted': {
    family: 'pool',
    origin: 'kernel',
    severity: 'coverage',
    bare: true,
    message: () => 'debugging out of memory - disabling',
  },
  // ---- beyond the kernel (checks.md), in the kernel's style ----
  'double-unmap': {
    family: 'unmap',
    origin: 'ours',
    kernelText: true,
    severity: 'coverage',
    // the kernel's unmap-not-mapped text, so it reads and greps like the kernel's warning
    message: (a: string, size: string | number) =>
      `device driver tries to free DMA memory it has not allocated [device address=${a}] [size=${size} bytes]`,
  },
  'page-freed-while-mapped': {
    family: 'beyond',
    origin: 'ours',
    severity: 'coverage',
    message: (pfn: string, order: number, a: string, size: number, dir: number) =>
      `page freed while mapped for DMA [pfn=${pfn}] [order=${order}] [device address=${a}] [size=${size} bytes] [mapped with ${dirName(dir)}]`,
  },
  'overlap-exact': {
    family: 'cacheline',
    origin: 'ours',
    severity: 'info',
    message: (cln: string, count: number, kernelCount: number) =>
      `cacheline ${cln} is mapped by ${count} live mappings [exact overlap count=${count - 1}] [kernel overlap count=${kernelCount}]`,
  },
  'map-failed': {
    family: 'map',
    origin: 'ours',
    severity: 'info',
    message: (fn: string, a: string, size: number | string, dir: number) =>
      `device driver's ${fn} failed [device address=${a}] [size=${size} bytes] [mapped with ${dirName(dir)}]`,
  },
} as const satisfies Record<string, CheckDef>;

export type CheckId = keyof typeof CHECKS;

/** map-failed's text for a failed dma_map_sg (nents and err instead of an address). */
export function mapSgFailedMessage(fn: string, nents: number, err: number, dir: number): string {
  return `device driver's ${fn} failed [nents=${nents}] [err=${err}] [mapped with ${dirName(dir)}]`;
}

/** Our checks whose text the kernel never prints. */
export const NOT_IN_KERNEL: ReadonlySet<CheckId> = new Set(
  (Object.keys(CHECKS) as CheckId[]).filter((id) => {
    const c: CheckDef = CHECKS[id];
    return c.origin === 'ours' && c.kernelText !== true;
  }),
);
