// Command-line options shared by the commands: their declaration for
// parseArgs, and their translation into engine configuration (the output
// is output.ts's). No command logic lives here.

import { readFileSync } from 'node:fs';
import type { parseArgs } from 'node:util';
import type { EngineConfig } from '../engine/engine.js';
import { type ArchName, archForMachine, type KernelName, kernelForRelease } from '../engine/profiles.js';
import { InputError } from '../input/errors.js';
import { kernelImageFromIomem, type SideInfo, systemRamFromIomem } from '../input/sidecar.js';

export class UsageError extends Error {}

export const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  json: { type: 'boolean' },
  output: { type: 'string', short: 'o' },
  driver: { type: 'string' },
  'num-errors': { type: 'string' },
  entries: { type: 'string' },
  'fixed-pool': { type: 'boolean' },
  'from-boot': { type: 'boolean' },
  'not-from-boot': { type: 'boolean' },
  'device-driver': { type: 'string', multiple: true },
  'max-seg-size': { type: 'string', multiple: true },
  'seg-boundary': { type: 'string', multiple: true },
  iomem: { type: 'string' },
  kernel: { type: 'string' },
  arch: { type: 'string' },
  color: { type: 'boolean' },
  'no-color': { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean', short: 'v' },
  'chunk-size': { type: 'string' },
  tracefs: { type: 'string' },
  sysfs: { type: 'string' },
  instance: { type: 'string' },
  'no-side': { type: 'boolean' },
  stacktrace: { type: 'boolean' },
  duration: { type: 'string' },
  text: { type: 'boolean' },
  'full-stack': { type: 'boolean' },
} as const;

export type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

export function intOption(v: string | undefined, name: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} takes a whole number, not '${v}'`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be at least ${min}`);
  return n;
}

function pairs(list: string[] | undefined, name: string): Array<[string, string]> {
  return (list ?? []).map((s) => {
    const i = s.indexOf('=');
    if (i <= 0 || i === s.length - 1) throw new UsageError(`--${name} takes DEVICE=VALUE, not '${s}'`);
    return [s.slice(0, i), s.slice(i + 1)];
  });
}

/** `--kernel VER`: 6.12, 7.3, or any release (`6.6`, `6.19.2-amd64`), mapped to the nearest modelled profile. */
export function kernelOption(v: string | undefined): KernelName | undefined {
  if (v === undefined) return undefined;
  const k = kernelForRelease(v);
  if (k === null) {
    throw new UsageError(
      `--kernel takes 6.12, 7.3 or a kernel release such as 6.6 or 6.19.2-amd64 (mapped to the nearest of those), not '${v}'`,
    );
  }
  return k;
}

/** `--arch ARCH`: x86_64 (amd64) or arm64 (aarch64). */
export function archOption(v: string | undefined): ArchName | undefined {
  if (v === undefined) return undefined;
  const a = archForMachine(v);
  if (a === null) throw new UsageError(`--arch takes x86_64 (or amd64) or arm64 (or aarch64), not '${v}'`);
  return a;
}

/** Engine configuration from side information (a sidecar or a /proc/iomem copy). */
export function sideConfig(
  side: Pick<SideInfo, 'drivers' | 'kernelImage'> & Partial<Pick<SideInfo, 'systemRam' | 'kernel' | 'source'>>,
): Partial<EngineConfig> {
  const cfg: Partial<EngineConfig> = {};
  if (Object.keys(side.drivers).length > 0) cfg.drivers = new Map(Object.entries(side.drivers));
  if (side.kernelImage.length > 0) {
    cfg.kernelImage = side.kernelImage.map((r) => ({ name: r.name, start: BigInt(r.start), end: BigInt(r.end) }));
  }
  if (side.systemRam && side.systemRam.length > 0) {
    cfg.systemRam = side.systemRam.map((r) => ({ start: BigInt(r.start), end: BigInt(r.end) }));
  }
  if (side.kernel) {
    cfg.sideKernel = {
      release: side.kernel.release,
      machine: side.kernel.machine,
      source: side.source ?? 'side information',
    };
  }
  return cfg;
}

/**
 * Engine configuration from a copy of /proc/iomem read as root: kernel
 * text/rodata ranges (map-kernel-image) and the RAM that is not reserved (7.x's
 * `dma_map_resource called for RAM address`). Empty when it has neither.
 */
export function iomemConfig(text: string): Partial<EngineConfig> {
  return sideConfig({ drivers: {}, kernelImage: kernelImageFromIomem(text), systemRam: systemRamFromIomem(text) });
}

export function engineConfig(v: Values): Partial<EngineConfig> {
  const cfg: Partial<EngineConfig> = {};
  if (v.driver !== undefined) cfg.driverFilter = v.driver;
  const kernel = kernelOption(v.kernel);
  if (kernel !== undefined) cfg.kernel = kernel;
  const arch = archOption(v.arch);
  if (arch !== undefined) cfg.arch = arch;
  const ne = intOption(v['num-errors'], 'num-errors', 0);
  if (ne !== undefined) cfg.numErrors = ne;
  const en = intOption(v.entries, 'entries', 1);
  if (en !== undefined) cfg.entries = en;
  if (v['fixed-pool']) cfg.poolGrows = false;
  if (v['from-boot'] && v['not-from-boot'])
    throw new UsageError('--from-boot and --not-from-boot contradict each other');
  if (v['from-boot']) cfg.fromBoot = true;
  if (v['not-from-boot']) cfg.fromBoot = false;
  const drivers = pairs(v['device-driver'], 'device-driver');
  if (drivers.length > 0) cfg.drivers = new Map(drivers);
  const maxSeg = pairs(v['max-seg-size'], 'max-seg-size');
  const bound = pairs(v['seg-boundary'], 'seg-boundary');
  if (maxSeg.length > 0 || bound.length > 0) {
    const limits = new Map<string, { maxSegmentSize: number; segmentBoundary: bigint }>();
    const get = (d: string) => {
      let l = limits.get(d);
      if (!l) {
        // The kernel's defaults: 64 KiB segments, 4 GiB boundary.
        l = { maxSegmentSize: 65536, segmentBoundary: 0xffffffffn };
        limits.set(d, l);
      }
      return l;
    };
    for (const [d, s] of maxSeg) {
      const n = Number(s);
      if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`--max-seg-size: bad size '${s}'`);
      get(d).maxSegmentSize = n;
    }
    for (const [d, s] of bound) {
      let b: bigint;
      try {
        b = BigInt(s);
      } catch {
        throw new UsageError(`--seg-boundary: bad mask '${s}' (use e.g. 0xfff)`);
      }
      get(d).segmentBoundary = b;
    }
    cfg.segmentLimits = limits;
  }
  if (v.iomem !== undefined) {
    let text: string;
    try {
      text = readFileSync(v.iomem, 'utf8');
    } catch (e) {
      throw new InputError(v.iomem, '', `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    const side = iomemConfig(text);
    if (side.kernelImage === undefined && side.systemRam === undefined) {
      throw new InputError(
        v.iomem,
        '',
        'no "Kernel code", "Kernel rodata" or "System RAM" lines with addresses (read /proc/iomem as root)',
      );
    }
    Object.assign(cfg, side);
  }
  return cfg;
}

export function inputsOf(positionals: string[], command: string): string[] {
  if (positionals.length === 0) throw new UsageError(`${command} needs a trace file (or - for stdin)`);
  return positionals;
}

export function colorMode(v: Values): 'auto' | 'always' | 'never' {
  if (v['no-color']) return 'never';
  if (v.color) return 'always';
  return 'auto';
}
