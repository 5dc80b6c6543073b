// The kernel's warning texts (kernel/dma/debug.c), byte for byte: they are an
// interface that people grep for. `0x%016llx` is addr(), `%pa` is pa() (the
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

export const msg = {
  unmapNotMapped: (a: string, size: string | number) =>
    `device driver tries to free DMA memory it has not allocated [device address=${a}] [size=${size} bytes]`,
  unmapInvalid: () => 'device driver tries to free an invalid DMA memory address',
  unmapSize: (a: string, mapSize: number, unmapSize: number) =>
    `device driver frees DMA memory with different size [device address=${a}] [map size=${mapSize} bytes] [unmap size=${unmapSize} bytes]`,
  unmapWrongFunction: (a: string, size: number, mapped: number, unmapped: number) =>
    `device driver frees DMA memory with wrong function [device address=${a}] [size=${size} bytes] [mapped as ${typeName(mapped)}] [unmapped as ${typeName(unmapped)}]`,
  freeCpuAddress: (a: string, size: number, allocPa: string, freePa: string) =>
    `device driver frees DMA memory with different CPU address [device address=${a}] [size=${size} bytes] [cpu alloc address=0x${allocPa}] [cpu free address=0x${freePa}]`,
  unmapSgCount: (mapCount: number, unmapCount: number) =>
    `device driver frees DMA sg list with different entry count [map count=${mapCount}] [unmap count=${unmapCount}]`,
  unmapDirection: (a: string, size: number, mapped: number, unmapped: number) =>
    `device driver frees DMA memory with different direction [device address=${a}] [size=${size} bytes] [mapped with ${dirName(mapped)}] [unmapped with ${dirName(unmapped)}]`,
  mapErrorNotChecked: (a: string, size: number, type: number) =>
    `device driver failed to check map error[device address=${a}] [size=${size} bytes] [mapped as ${typeName(type)}]`,
  syncNotMapped: (a: string, size: number) =>
    `device driver tries to sync DMA memory it has not allocated [device address=${a}] [size=${size} bytes]`,
  syncOutOfRange: (a: string, allocSize: number, syncSize: number) =>
    `device driver syncs DMA memory outside allocated range [device address=${a}] [allocation size=${allocSize} bytes] [sync offset+size=${syncSize}]`,
  syncDirection: (a: string, size: number, mapped: number, synced: number) =>
    `device driver syncs DMA memory with different direction [device address=${a}] [size=${size} bytes] [mapped with ${dirName(mapped)}] [synced with ${dirName(synced)}]`,
  syncReadOnlyForCpu: (a: string, size: number, mapped: number, synced: number) =>
    `device driver syncs device read-only DMA memory for cpu [device address=${a}] [size=${size} bytes] [mapped with ${dirName(mapped)}] [synced with ${dirName(synced)}]`,
  syncWriteOnlyForDevice: (a: string, size: number, mapped: number, synced: number) =>
    `device driver syncs device write-only DMA memory to device [device address=${a}] [size=${size} bytes] [mapped with ${dirName(mapped)}] [synced with ${dirName(synced)}]`,
  syncSgCount: (mapCount: number, syncCount: number) =>
    `device driver syncs DMA sg list with different entry count [map count=${mapCount}] [sync count=${syncCount}]`,
  eexist: () => "cacheline tracking EEXIST, overlapping mappings aren't supported",
  overlapLimit: (cln: string) => `exceeded 7 overlapping mappings of cacheline ${cln}`,
  leakAtUnbind: (count: number, a: string, size: number, dir: number, type: number) =>
    `device driver has pending DMA allocations while released from device [count=${count}]\nOne of leaked entries details: [device address=${a}] [size=${size} bytes] [mapped with ${dirName(dir)}] [mapped as ${typeName(type)}]`,
  mapKernelImage: (p: string, len: number) =>
    `device driver maps memory from kernel text or rodata [addr=${p}] [len=${len}]`,
  sgTooLong: (len: number, max: number) =>
    `mapping sg segment longer than device claims to support [len=${len}] [max=${max}]`,
  sgBoundary: (start: string, end: string, boundary: string) =>
    `mapping sg segment across boundary [start=${start}] [end=${end}] [boundary=${boundary}]`,
  outOfMemory: () => 'debugging out of memory - disabling',
  cpuTouching: (cln: string) => `cpu touching an active dma mapped cacheline [cln=${cln}]`,
  // Ours (beyond the kernel), in the kernel's style.
  pageFreedWhileMapped: (pfn: string, order: number, a: string, size: number, dir: number) =>
    `page freed while mapped for DMA [pfn=${pfn}] [order=${order}] [device address=${a}] [size=${size} bytes] [mapped with ${dirName(dir)}]`,
  overlapExact: (cln: string, count: number, kernelCount: number) =>
    `cacheline ${cln} is mapped by ${count} live mappings [exact overlap count=${count - 1}] [kernel overlap count=${kernelCount}]`,
  mapFailed: (fn: string, a: string, size: number | string, dir: number) =>
    `device driver's ${fn} failed [device address=${a}] [size=${size} bytes] [mapped with ${dirName(dir)}]`,
  mapSgFailed: (fn: string, nents: number, err: number, dir: number) =>
    `device driver's ${fn} failed [nents=${nents}] [err=${err}] [mapped with ${dirName(dir)}]`,
};
