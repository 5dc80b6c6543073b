// Command-line options shared by the commands: their declaration for
// parseArgs, the checks every command line gets (which options a command
// takes, numbers, --color=WHEN, -i FILE), and their translation into engine
// configuration (the output is output.ts's). No command logic lives here.
//
// Why node's util.parseArgs and not commander, cac or clipanion: the help is
// written by hand (help.ts) and is also the man page and the completions, so a
// library's generated help would be a second source to keep in step or to
// turn off; commander's and cac's parsers would still need our own checks of
// numbers and enumerations, and clipanion wants a class per command, a larger
// rewrite of the command modules for the same result. What parseArgs lacks is
// small and done here against help.ts's tables: which options a command
// accepts (each option is tagged there with its commands), an optional value
// (`--color` alone is `--color=always`, as in GNU tools a value must follow
// `=`), a negative number given as the next word (`--entries -1` is read as
// the option's value so that the message can name the option), and -i FILE in
// argument order (tokens). It ships with Node 20: no dependency to keep.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { EngineConfig } from '../engine/engine.js';
import { type ArchName, archForMachine, type KernelName, kernelForRelease } from '../engine/profiles.js';
import { InputError } from '../input/errors.js';
import { kernelImageFromIomem, type SideInfo, systemRamFromIomem } from '../input/sidecar.js';
import { type Command, optionSpecs } from './help.js';

export class UsageError extends Error {}

export const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
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
  color: { type: 'string' },
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
  input: { type: 'string', short: 'i', multiple: true },
  format: { type: 'string' },
  'fail-on': { type: 'string' },
  'min-severity': { type: 'string' },
  'full-stack': { type: 'boolean' },
} as const;

export type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

export function intOption(v: string | undefined, name: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} takes a whole number, not '${v}'`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new UsageError(`--${name} takes a whole number below 2^53, not '${v}'`);
  if (n < min) throw new UsageError(`--${name} must be at least ${min}, not '${v}'`);
  return n;
}

/** `--duration SECONDS`: a positive decimal number of seconds (1, 0.5), not 1e3, Infinity or -1. */
export function secondsOption(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = /^\d+(\.\d+)?$/.test(v) ? Number(v) : Number.NaN;
  // setTimeout's limit (about 24.8 days) is far beyond any live session.
  if (!(n > 0) || n > 2147483) throw new UsageError(`--${name} takes seconds (e.g. 10 or 0.5), not '${v}'`);
  return n;
}

/** The numeric options, checked when the command line is read, whatever the command does with them. */
const NUMBERS: Record<string, (v: string) => unknown> = {
  'num-errors': (v) => intOption(v, 'num-errors', 0),
  entries: (v) => intOption(v, 'entries', 1),
  'chunk-size': (v) => intOption(v, 'chunk-size', 1),
  duration: (v) => secondsOption(v, 'duration'),
};

/** `--color=WHEN`'s values. */
const COLOR_WHEN = ['auto', 'always', 'never'] as const;

/** parseArgs's key of each option name as typed (`-o` and `--output`: output). */
function keyOf(name: string): string | undefined {
  if (name.startsWith('--')) return name.slice(2) in OPTIONS ? name.slice(2) : undefined;
  const short = name.slice(1);
  for (const [key, o] of Object.entries(OPTIONS)) if ('short' in o && o.short === short) return key;
  return undefined;
}

type Token = NonNullable<ReturnType<typeof parseArgs>['tokens']>[number];

let applies: Map<string, Command[]> | null = null;

/** The commands each option (parseArgs's key) applies to, from help.ts's tags. */
export function optionCommands(): Map<string, Command[]> {
  if (applies) return applies;
  applies = new Map();
  for (const o of optionSpecs()) {
    for (const f of o.names) {
      const key = keyOf(f.name);
      if (key === undefined) throw new Error(`help.ts names ${f.name}, which options.ts does not declare`);
      applies.set(key, [...new Set([...(applies.get(key) ?? []), ...o.commands])]);
    }
  }
  return applies;
}

/**
 * The words after the command, read for that command: its options (others are
 * refused, naming the option and the command), its inputs in order (-i FILE
 * and plain words), numbers and --color=WHEN checked.
 */
export function parseCommandLine(command: Command, args: string[]): { values: Values; positionals: string[] } {
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      words.push(...args.slice(i));
      break;
    }
    // `--color` alone is `--color=always` (a value must follow '=', as for GNU ls).
    if (a === '--color') {
      words.push('--color=always');
      continue;
    }
    // `--entries -1`: parseArgs would take -1 for an option; give it to the option so its check names it.
    const key = a.startsWith('-') && !a.includes('=') ? keyOf(a) : undefined;
    const next = args[i + 1];
    if (key !== undefined && OPTIONS[key as keyof typeof OPTIONS].type === 'string' && next && /^-[\d.]/.test(next)) {
      words.push(`--${key}=${next}`);
      i++;
      continue;
    }
    words.push(a);
  }
  let values: Values;
  let tokens: Token[];
  try {
    const r = parseArgs({ args: words, options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
    values = r.values as Values;
    tokens = r.tokens as Token[];
  } catch (e) {
    throw new UsageError(parseArgsMessage(e as Error & { code?: string }, command));
  }
  const positionals: string[] = [];
  const tags = optionCommands();
  let color: string | undefined;
  for (const t of tokens) {
    if (t.kind === 'positional') positionals.push(t.value);
    if (t.kind !== 'option') continue;
    const cs = tags.get(t.name) ?? [];
    if (!cs.includes(command)) {
      throw new UsageError(
        cs.length > 0
          ? `${t.rawName} does not apply to '${command}' (it is an option of ${cs.join(', ')})`
          : `${t.rawName} is not an option of '${command}'`,
      );
    }
    if (t.name === 'input') positionals.push(t.value ?? '');
    if (t.name === 'color') color = t.value;
    if (t.name === 'no-color') color = 'never';
    const check = NUMBERS[t.name];
    if (check && t.value !== undefined) check(t.value);
  }
  if (color !== undefined && !(COLOR_WHEN as readonly string[]).includes(color)) {
    throw new UsageError(`--color takes auto, always or never, not '${color}'`);
  }
  // The last of --color=WHEN and --no-color wins.
  const v = values;
  if (color !== undefined) v.color = color;
  delete v['no-color'];
  delete v.input;
  return { values: v, positionals };
}

/** parseArgs's errors, said for dmadebug: the option, and what it wanted. */
function parseArgsMessage(e: Error & { code?: string }, command: string): string {
  const first = e.message.split('\n')[0] ?? 'bad arguments';
  const named = /'(-[^' ]*)[ ,']/.exec(first)?.[1];
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && named) {
    return `unknown option '${named}' ('dmadebug help ${command}' lists the options of ${command})`;
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const long = /--[\w-]+/.exec(first)?.[0] ?? named ?? 'an option';
    if (/missing/.test(first)) return `${long} needs a value`;
    if (/ambiguous/.test(first)) return `${long} needs a value (one that starts with '-' is written ${long}=VALUE)`;
    if (/does not take an argument/.test(first)) return `${long} takes no value`;
  }
  return first;
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
      // The kernel's max_segment_size is an unsigned int.
      const n = /^(\d+|0x[0-9a-f]+)$/i.test(s) ? Number(s) : Number.NaN;
      if (!(n > 0 && n <= 0xffffffff)) {
        throw new UsageError(`--max-seg-size takes DEV=BYTES, 1 to 4294967295 (or 0x...), not '${d}=${s}'`);
      }
      get(d).maxSegmentSize = n;
    }
    for (const [d, s] of bound) {
      // The kernel's segment_boundary_mask is an unsigned long.
      const b = /^(\d+|0x[0-9a-f]+)$/i.test(s) ? BigInt(s) : -1n;
      if (b < 0n || b > 0xffffffffffffffffn) {
        throw new UsageError(`--seg-boundary takes DEV=MASK, e.g. 0xfff (at most 64 bits), not '${d}=${s}'`);
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
  if (v.color === 'always' || v.color === 'never' || v.color === 'auto') return v.color;
  if (v['no-color']) return 'never';
  return 'auto';
}
