// The command line: parses arguments, wires one pipeline per input, renders,
// and maps the outcome to an exit code (0 clean, 1 errors found, 2 usage or
// input error). Everything else lives in the engine, parsers and renderers.

import { createWriteStream, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { EngineConfig } from '../engine/engine.js';
import type { Finding } from '../engine/findings.js';
import { InputError } from '../input/errors.js';
import { replay, summarize } from '../pipeline.js';
import { dumpLine } from '../report/dump.js';
import { findingJson, summaryJson } from '../report/json.js';
import { colorFor, makePaint } from '../report/paint.js';
import { summaryText } from '../report/summary.js';
import { formatFinding } from '../report/text.js';
import { helpText } from './help.js';
import { BatchedWriter } from './output.js';
import { Progress } from './progress.js';

export class UsageError extends Error {}

const OPTIONS = {
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
  color: { type: 'boolean' },
  'no-color': { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean', short: 'v' },
  'chunk-size': { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

export async function main(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`dmadebug: ${e.message}\nTry 'dmadebug --help'.\n`);
      return 2;
    }
    if (e instanceof InputError) {
      process.stderr.write(`dmadebug: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(helpText());
    return command === undefined ? 2 : 0;
  }
  if (command === '--version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, options: OPTIONS, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0] ?? 'bad arguments');
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(helpText(command));
    return 0;
  }
  switch (command) {
    case 'check':
      return runCheck(values, positionals);
    case 'dump':
      return runDump(values, positionals);
    default:
      throw new UsageError(`unknown command '${command}' (commands: check, dump)`);
  }
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    return `dmadebug ${pkg.version}`;
  } catch {
    return 'dmadebug';
  }
}

function intOption(v: string | undefined, name: string, min: number): number | undefined {
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

/** Kernel text/rodata ranges from a /proc/iomem copy ("Kernel code", "Kernel rodata"). */
export function kernelImageFromIomem(text: string): Array<{ start: bigint; end: bigint; name: string }> {
  const out: Array<{ start: bigint; end: bigint; name: string }> = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([0-9a-fA-F]+)-([0-9a-fA-F]+)\s*:\s*(Kernel code|Kernel rodata)\s*$/.exec(line);
    if (m) out.push({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`) + 1n, name: m[3]! });
  }
  return out;
}

function engineConfig(v: Values): Partial<EngineConfig> {
  const cfg: Partial<EngineConfig> = {};
  if (v.driver !== undefined) cfg.driverFilter = v.driver;
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
    const ranges = kernelImageFromIomem(text);
    if (ranges.length === 0) {
      throw new InputError(v.iomem, '', 'no "Kernel code" or "Kernel rodata" lines (read /proc/iomem as root)');
    }
    cfg.kernelImage = ranges;
  }
  return cfg;
}

function inputsOf(positionals: string[], command: string): string[] {
  if (positionals.length === 0) throw new UsageError(`${command} needs a trace file (or - for stdin)`);
  return positionals;
}

function openOutput(v: Values): { writer: BatchedWriter; tty: boolean } {
  if (v.output !== undefined && v.output !== '-') {
    const s = createWriteStream(v.output);
    return { writer: new BatchedWriter(s), tty: false };
  }
  return { writer: new BatchedWriter(process.stdout), tty: process.stdout.isTTY === true };
}

function colorMode(v: Values): 'auto' | 'always' | 'never' {
  if (v['no-color']) return 'never';
  if (v.color) return 'always';
  return 'auto';
}

async function runCheck(v: Values, positionals: string[]): Promise<number> {
  const inputs = inputsOf(positionals, 'check');
  const cfg = engineConfig(v);
  const chunkSize = intOption(v['chunk-size'], 'chunk-size', 1);
  const { writer, tty } = openOutput(v);
  const outPaint = makePaint(colorFor({ isTTY: tty }, colorMode(v)));
  const errPaint = makePaint(colorFor(process.stderr, colorMode(v)));
  let anyErrors = false;
  let inputError = false;
  for (const input of inputs) {
    const label = input === '-' ? '<stdin>' : input;
    const onFinding = (f: Finding) => {
      if (!f.shown) return;
      writer.write(v.json ? `${findingJson(f, label)}\n` : formatFinding(f, label, outPaint));
    };
    let progress: Progress | null = null;
    const r = await replay(input, {
      engine: cfg,
      onFinding,
      ...(chunkSize !== undefined ? { chunkSize } : {}),
      onChunk: async (bytes, events, total) => {
        // Progress only for long inputs, and only where a person watches stderr.
        if (bytes > 32 * 1048576 && process.stderr.isTTY && !v.quiet) {
          progress ??= new Progress(process.stderr, `dmadebug ${label}`, total);
          progress.update(bytes, events);
        }
        await writer.ready();
      },
    });
    (progress as Progress | null)?.done();
    const summary = summarize([label], r);
    if (v.json) writer.write(`${summaryJson(summary)}\n`);
    await writer.flush();
    if (v.verbose)
      for (const w of r.parser.warningList) process.stderr.write(`dmadebug: ${label}: line ${w.line}: ${w.message}\n`);
    // An input that is not a trace at all gets its one-line error, not a summary of nothing.
    if (!v.quiet && !(r.error && summary.events === 0)) process.stderr.write(summaryText(summary, errPaint));
    if (r.error) {
      process.stderr.write(`dmadebug: ${r.error.message}\n`);
      inputError = true;
    }
    if (r.engine.severityCounts.error > 0) anyErrors = true;
  }
  await writer.end();
  return inputError ? 2 : anyErrors ? 1 : 0;
}

async function runDump(v: Values, positionals: string[]): Promise<number> {
  const inputs = inputsOf(positionals, 'dump');
  if (inputs.length > 1) throw new UsageError('dump takes one trace');
  const input = inputs[0]!;
  const label = input === '-' ? '<stdin>' : input;
  const { writer } = openOutput(v);
  const r = await replay(input, {
    engine: engineConfig(v),
    ...(v['chunk-size'] !== undefined ? { chunkSize: intOption(v['chunk-size'], 'chunk-size', 1)! } : {}),
  });
  if (r.error) {
    process.stderr.write(`dmadebug: ${r.error.message}\n`);
    return 2;
  }
  for (const e of r.engine.dump()) {
    if (v.json) {
      const { type: entryType, ...rest } = e;
      writer.write(`${JSON.stringify({ type: 'entry', entry_type: entryType, ...rest })}\n`);
    } else {
      writer.write(dumpLine(e));
    }
  }
  await writer.end();
  if (!v.quiet) {
    const c = r.engine.coverage();
    process.stderr.write(
      `dmadebug: ${r.engine.live} live entries at the end of ${label}; coverage ${c.fromBoot ? 'from boot' : 'partial: entries mapped before the trace are missing'}\n`,
    );
  }
  return 0;
}
