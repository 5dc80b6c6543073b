// Side information: what the dma events lack and a recorder can capture next
// to the trace (checks.md "Side information"): device -> driver names, kernel
// text/rodata physical ranges, PCI DMA masks, and the moments drivers were
// unbound. `dmadebug record` writes it as `<trace>.side.json`; `check` finds
// it there by itself. This module owns the file format and the sysfs/procfs
// reading; it makes no decisions about checks.

import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { InputError } from './errors.js';

export const SIDECAR_VERSION = 1;

export interface KernelRange {
  name: string;
  /** Inclusive start and exclusive end, as 0x-hex strings (64-bit exact). */
  start: string;
  end: string;
}

export interface UnbindRecord {
  device: string;
  driver: string;
  bus: string;
  /** Seconds since the recording started (wall clock), for people. */
  atSeconds: number;
  /** A trace_marker line was written at that moment, so the trace carries it in order. */
  marker: boolean;
}

export interface SideInfo {
  version: number;
  /** device name -> driver name */
  drivers: Record<string, string>;
  /** device name -> bus name (pci, platform, ...) */
  buses: Record<string, string>;
  kernelImage: KernelRange[];
  /** PCI device -> dma_mask_bits */
  dmaMaskBits: Record<string, number>;
  unbinds: UnbindRecord[];
  /** Where it came from, for the summary. */
  source?: string;
}

export function emptySideInfo(): SideInfo {
  return { version: SIDECAR_VERSION, drivers: {}, buses: {}, kernelImage: [], dmaMaskBits: {}, unbinds: [] };
}

/** The sidecar path for a trace file. */
export function sidecarPath(trace: string): string {
  return `${trace}.side.json`;
}

/** Reads a sidecar; null when there is none. A broken one is an InputError. */
export function readSidecar(path: string): SideInfo | null {
  if (!existsSync(path)) return null;
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new InputError(path, '', `not a dmadebug side-information file (${(e as Error).message})`);
  }
  const s = data as Partial<SideInfo>;
  if (typeof s !== 'object' || s === null || s.version !== SIDECAR_VERSION || typeof s.drivers !== 'object') {
    throw new InputError(path, '', `not a dmadebug side-information file of version ${SIDECAR_VERSION}`);
  }
  return {
    ...emptySideInfo(),
    ...s,
    source: path,
  } as SideInfo;
}

/** "Kernel code" / "Kernel rodata" lines of /proc/iomem (all zero when read without root). */
export function kernelImageFromIomem(text: string): KernelRange[] {
  const out: KernelRange[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([0-9a-fA-F]+)-([0-9a-fA-F]+)\s*:\s*(Kernel code|Kernel rodata)\s*$/.exec(line);
    if (!m) continue;
    const start = BigInt(`0x${m[1]}`);
    const end = BigInt(`0x${m[2]}`) + 1n;
    if (start === 0n && end === 1n) continue; // unprivileged read: addresses hidden
    out.push({ name: m[3]!, start: `0x${start.toString(16)}`, end: `0x${end.toString(16)}` });
  }
  return out;
}

/** Device -> driver and device -> bus, from /sys/bus/<bus>/devices/<dev>/driver links. */
export function driverBindings(sysfs: string): { drivers: Record<string, string>; buses: Record<string, string> } {
  const drivers: Record<string, string> = {};
  const buses: Record<string, string> = {};
  const busDir = join(sysfs, 'bus');
  if (!existsSync(busDir)) return { drivers, buses };
  for (const bus of readdirSync(busDir).sort()) {
    const devDir = join(busDir, bus, 'devices');
    if (!existsSync(devDir)) continue;
    for (const dev of readdirSync(devDir).sort()) {
      buses[dev] = bus;
      try {
        drivers[dev] = basename(readlinkSync(join(devDir, dev, 'driver')));
      } catch {
        // no driver bound
      }
    }
  }
  return { drivers, buses };
}

/** PCI dma_mask_bits per device. */
export function pciDmaMasks(sysfs: string): Record<string, number> {
  const out: Record<string, number> = {};
  const dir = join(sysfs, 'bus', 'pci', 'devices');
  if (!existsSync(dir)) return out;
  for (const dev of readdirSync(dir).sort()) {
    try {
      const n = Number(readFileSync(join(dir, dev, 'dma_mask_bits'), 'utf8').trim());
      if (Number.isInteger(n)) out[dev] = n;
    } catch {
      // not readable
    }
  }
  return out;
}

/** Everything that can be read now (before a run). */
export function collectSideInfo(sysfs: string, iomemPath: string): SideInfo {
  const side = emptySideInfo();
  const { drivers, buses } = driverBindings(sysfs);
  side.drivers = drivers;
  side.buses = buses;
  side.dmaMaskBits = pciDmaMasks(sysfs);
  try {
    side.kernelImage = kernelImageFromIomem(readFileSync(iomemPath, 'utf8'));
  } catch {
    // no /proc/iomem access
  }
  return side;
}
