// Side information: what the dma events lack and a recorder can capture next
// to the trace (checks.md "Side information"): device -> driver names, kernel
// text/rodata physical ranges, the RAM that is not reserved, PCI DMA masks,
// the traced kernel's `uname -r`/`uname -m`, and the moments drivers were
// unbound. `dmadebug record` writes it as `<trace>.side.json`; `check` finds
// it there by itself. This module owns the file format and the sysfs/procfs
// reading; it makes no decisions about checks.

import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { machine, release } from 'node:os';
import { basename, join } from 'node:path';
import { InputError } from './errors.js';

export const SIDECAR_VERSION = 1;

export interface KernelRange {
  name: string;
  /** Inclusive start and exclusive end, as 0x-hex strings (64-bit exact). */
  start: string;
  end: string;
}

/** A physical range [start, end) as 0x-hex strings (64-bit exact). */
export interface PhysRange {
  start: string;
  end: string;
}

/** The traced kernel as the recorder saw it. */
export interface KernelId {
  /** `uname -r`, e.g. 7.3.4-amd64. */
  release: string;
  /** `uname -m`, e.g. x86_64, aarch64. */
  machine: string;
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
  /**
   * RAM pages that are not PageReserved (/proc/iomem "System RAM" minus the
   * kernel image and reserved ranges in it), for 7.x's check of MMIO maps of
   * RAM. Empty in sidecars written before it was kept.
   */
  systemRam: PhysRange[];
  /** The traced kernel; null in sidecars written before it was kept. */
  kernel: KernelId | null;
  /** PCI device -> dma_mask_bits */
  dmaMaskBits: Record<string, number>;
  unbinds: UnbindRecord[];
  /** Where it came from, for the summary. */
  source?: string;
}

export function emptySideInfo(): SideInfo {
  return {
    version: SIDECAR_VERSION,
    drivers: {},
    buses: {},
    kernelImage: [],
    systemRam: [],
    kernel: null,
    dmaMaskBits: {},
    unbinds: [],
  };
}

/** The sidecar path for a trace file. */
export function sidecarPath(trace: string): string {
  return `${trace}.side.json`;
}

/**
 * Reads a sidecar; null when there is none. A broken one is an InputError
 * naming the file and the key that is not what `record` writes: every field
 * the commands use is checked here, so none of them meets a wrong type.
 */
export function readSidecar(path: string): SideInfo | null {
  if (!existsSync(path)) return null;
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new InputError(path, '', `not a dmadebug side-information file (${(e as Error).message})`);
  }
  const s = data as { [K in keyof SideInfo]?: unknown };
  if (!isRecord(s) || s.version !== SIDECAR_VERSION || !isRecord(s.drivers)) {
    throw new InputError(path, '', `not a dmadebug side-information file of version ${SIDECAR_VERSION}`);
  }
  const bad = (key: string, shape: string) => new InputError(path, '', `its "${key}" is not ${shape}`);
  const side = emptySideInfo();
  side.drivers = stringMap(s.drivers, () => bad('drivers', '{"device": "driver", ...}'));
  if (s.buses !== undefined) side.buses = stringMap(s.buses, () => bad('buses', '{"device": "bus", ...}'));
  // Fields added later (kernel, systemRam) are optional: older sidecars lack them.
  const k = s.kernel;
  if (k !== undefined && k !== null) {
    if (!isRecord(k) || typeof k.release !== 'string' || typeof k.machine !== 'string') {
      throw bad('kernel', '{"release": "...", "machine": "..."}');
    }
    side.kernel = { release: k.release, machine: k.machine };
  }
  if (s.kernelImage !== undefined) {
    const ranges = s.kernelImage;
    if (!Array.isArray(ranges) || !ranges.every(isKernelRange)) {
      throw bad('kernelImage', 'a list of {"name": "...", "start": "0x...", "end": "0x..."}');
    }
    side.kernelImage = ranges.map((r: KernelRange) => ({ name: r.name, start: r.start, end: r.end }));
  }
  if (s.systemRam !== undefined) {
    const ranges = s.systemRam;
    if (!Array.isArray(ranges) || !ranges.every(isRange)) {
      throw bad('systemRam', 'a list of {"start": "0x...", "end": "0x..."}');
    }
    side.systemRam = ranges.map((r: PhysRange) => ({ start: r.start, end: r.end }));
  }
  if (s.dmaMaskBits !== undefined) {
    const m = s.dmaMaskBits;
    if (!isRecord(m) || !Object.values(m).every((v) => Number.isInteger(v))) {
      throw bad('dmaMaskBits', '{"device": bits, ...}');
    }
    side.dmaMaskBits = { ...(m as Record<string, number>) };
  }
  if (s.unbinds !== undefined) {
    const list = s.unbinds;
    if (!Array.isArray(list) || !list.every(isUnbind)) {
      throw bad('unbinds', 'a list of {"device", "driver", "bus": "...", "atSeconds": number, "marker": true|false}');
    }
    side.unbinds = list.map((u: UnbindRecord) => ({ ...u }));
  }
  side.source = path;
  return side;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A JSON object of strings, copied (no prototype keys from the file); `bad()` when it is not one. */
function stringMap(v: unknown, bad: () => InputError): Record<string, string> {
  if (!isRecord(v)) throw bad();
  const out: Record<string, string> = Object.create(null);
  for (const [key, value] of Object.entries(v)) {
    if (typeof value !== 'string') throw bad();
    out[key] = value;
  }
  return out;
}

function isRange(r: unknown): r is PhysRange {
  return isRecord(r) && typeof r.start === 'string' && typeof r.end === 'string' && isHex(r.start, r.end);
}

function isKernelRange(r: unknown): r is KernelRange {
  return isRange(r) && typeof (r as PhysRange & { name?: unknown }).name === 'string';
}

function isUnbind(u: unknown): u is UnbindRecord {
  return (
    isRecord(u) &&
    typeof u.device === 'string' &&
    typeof u.driver === 'string' &&
    typeof u.bus === 'string' &&
    typeof u.atSeconds === 'number' &&
    typeof u.marker === 'boolean'
  );
}

function isHex(...v: string[]): boolean {
  return v.every((x) => /^0x[0-9a-fA-F]+$/.test(x));
}

/** One line of /proc/iomem: its nesting depth (two spaces a level), [start, end) and name. */
export interface IomemEntry {
  depth: number;
  start: bigint;
  end: bigint;
  name: string;
}

/** The lines of /proc/iomem. Unprivileged reads show every address as 0: those lines are left out. */
export function parseIomem(text: string): IomemEntry[] {
  const out: IomemEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^( *)([0-9a-fA-F]+)-([0-9a-fA-F]+) : (.*?)\s*$/.exec(line);
    if (!m) continue;
    const start = BigInt(`0x${m[2]}`);
    const end = BigInt(`0x${m[3]}`) + 1n;
    if (start === 0n && end === 1n) continue; // unprivileged read: addresses hidden
    out.push({ depth: m[1]!.length >> 1, start, end, name: m[4]! });
  }
  return out;
}

/** PageReserved is per page; x86_64 and most arm64 kernels use 4 KiB pages. */
const PAGE = 4096n;

/**
 * Ranges inside "System RAM" whose pages the kernel marks PageReserved: the
 * kernel image (memblock-reserved, never given to the page allocator), the
 * firmware's reserved holes ("Reserved"), and the crash kernel's memory. The
 * gaps between the image's parts (init sections, the text/rodata gap) are
 * freed at boot and are plain RAM.
 */
const RESERVED_IN_RAM = /^(Kernel (code|rodata|data|bss)|Reserved|Crash kernel)$/;

/**
 * The RAM that debug.c's check for MMIO maps of RAM sees as RAM
 * (`pfn_valid(pfn) && !PageReserved(pfn_to_page(pfn))`): top-level "System RAM"
 * ranges, shrunk to whole pages (a page only partly RAM is never handed out),
 * minus the reserved ranges nested in them, grown to whole pages. Sorted,
 * disjoint, [start, end) as 0x-hex strings; empty without root (addresses 0).
 */
export function systemRamFromIomem(text: string): PhysRange[] {
  const entries = parseIomem(text);
  let ram: Array<[bigint, bigint]> = [];
  for (const e of entries) {
    if (e.depth !== 0 || e.name !== 'System RAM') continue;
    const start = ((e.start + PAGE - 1n) / PAGE) * PAGE;
    const end = (e.end / PAGE) * PAGE;
    if (start < end) ram.push([start, end]);
  }
  for (const e of entries) {
    if (e.depth === 0 || !RESERVED_IN_RAM.test(e.name)) continue;
    const cutStart = (e.start / PAGE) * PAGE;
    const cutEnd = ((e.end + PAGE - 1n) / PAGE) * PAGE;
    const next: Array<[bigint, bigint]> = [];
    for (const [s, t] of ram) {
      if (cutEnd <= s || cutStart >= t) {
        next.push([s, t]);
        continue;
      }
      if (s < cutStart) next.push([s, cutStart]);
      if (cutEnd < t) next.push([cutEnd, t]);
    }
    ram = next;
  }
  ram.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return ram.map(([s, t]) => ({ start: `0x${s.toString(16)}`, end: `0x${t.toString(16)}` }));
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
    const iomem = readFileSync(iomemPath, 'utf8');
    side.kernelImage = kernelImageFromIomem(iomem);
    side.systemRam = systemRamFromIomem(iomem);
  } catch {
    // no /proc/iomem access
  }
  side.kernel = runningKernel();
  return side;
}

/** `uname -r` and `uname -m` of the kernel this process runs on. */
export function runningKernel(): KernelId {
  return { release: release(), machine: machine() };
}
