// Runs the damage property (damage.ts) over every from-boot fixture of both
// kernels and the bench's correct workload: `npm test` runs a few hundred
// variants (test/engine/damage-property.test.ts, and as trace.dat
// damage-property-tracedat.test.ts); `npm run property -- --variants 100000`
// runs as many as asked and prints the figures. Options: --seed S, --fixture
// NAME (a part of it), --kind K (damage.ts's KINDS, or cutShort for trace.dat),
// --format text|dat|both (trace.dat: tracedat-variants.ts's, after checking
// that the whole traces as trace.dat agree with their text; both: each variant
// number as text and as trace.dat), --show N violations, --save DIR (writes
// each one's variant there, to replay with the CLI).

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTrace } from '../../bench/gen-trace.js';
import type { EngineConfig } from '../../src/engine/engine.js';
import type { Finding } from '../../src/engine/findings.js';
import { EDU, sideFor, UNBOUND_AT_END } from '../helpers/fixture-side.js';
import { FIXTURE_KERNELS, fixtureDirs, kernelFixtures } from '../helpers/fixtures.js';
import { prng } from '../helpers/prng.js';
import { errorKey, type Kind, makeVariant, newErrors, type ParsedTrace, parseTrace, replayText } from './damage.js';
import { type DatKind, type DatTrace, datTrace, makeDatVariant, replayDat, wholeDat } from './tracedat-variants.js';

export interface Subject {
  name: string;
  text: string;
  trace: ParsedTrace;
  config: Partial<EngineConfig>;
  unbindAtEnd: string[];
  /** The original's errors, by errorKey. */
  errors: Set<string>;
  /** How often a variant is drawn from it (big traces less often: they cost more). */
  weight: number;
  /** Its records as trace.dat (made when first needed: datOf). */
  dat?: DatTrace;
}

/** The subject's records as trace.dat, in its kernel line's layouts (the workload's are 6.12's). */
export function datOf(s: Subject): DatTrace {
  s.dat ??= datTrace(s.text, s.trace, s.config.kernel === '7.3' ? '7.3' : '6.12');
  return s.dat;
}

/**
 * The whole trace written as trace.dat (versions 6 and 7, or one of them per
 * subject in turn) must give the same errors as its text: the same check at
 * the same original line. Returns what differs, per subject and version.
 */
export function datOriginalsDiffer(subs: Subject[], versions: 'both' | 'alternate' = 'both'): string[] {
  const out: string[] = [];
  for (const [i, s] of subs.entries()) {
    const these: Array<6 | 7> = versions === 'both' ? [6, 7] : [i % 2 === 0 ? 6 : 7];
    for (const version of these) {
      const v = wholeDat(s.trace, datOf(s), version);
      const res = replayDat(v, s.config, s.unbindAtEnd);
      const keys = new Set(res.findings.filter((f) => f.severity === 'error').map((f) => errorKey(f, res.orig)));
      const only = (a: Set<string>, b: Set<string>) => [...a].filter((x) => !b.has(x));
      const problems = [
        ...(res.error ? [`input error: ${res.error.message}`] : []),
        ...(res.coverage.fromBoot && res.coverage.complete ? [] : ['not whole']),
        ...only(keys, s.errors).map((k) => `only as trace.dat: ${k}`),
        ...only(s.errors, keys).map((k) => `only as text: ${k}`),
      ];
      if (problems.length > 0) out.push(`${s.name} v${version}: ${problems.join('; ')}`);
    }
  }
  return out;
}

/** Every fixture of both kernels whose trace saw everything from boot, and the generated workload. */
export function subjects(opts: { workloadBytes?: number; filter?: string } = {}): Subject[] {
  const out: Subject[] = [];
  const add = (name: string, text: string, config: Partial<EngineConfig>, unbindAtEnd: string[]) => {
    if (opts.filter && !name.includes(opts.filter)) return;
    const { findings, whole } = replayText(text, config, unbindAtEnd);
    // only whole traces are an oracle: a late or lossy one has unconfirmed findings by design
    if (!whole) return;
    const trace = parseTrace(text);
    const errors = new Set(findings.filter((f) => f.severity === 'error').map((f) => errorKey(f, (l) => l)));
    out.push({ name, text, trace, config, unbindAtEnd, errors, weight: Math.min(1, 12_000 / trace.lines.length) });
  };
  for (const kernel of FIXTURE_KERNELS) {
    const root = kernelFixtures(kernel);
    for (const name of fixtureDirs(root)) {
      const dir = join(root, name);
      const path = join(dir, 'trace.txt');
      if (!existsSync(path)) continue;
      const config: Partial<EngineConfig> = { ...sideFor(kernel, dir, name), kernel };
      const text = readFileSync(path, 'latin1');
      add(`${kernel}/${name}`, text, config, UNBOUND_AT_END[kernel].has(name) ? [EDU] : []);
    }
  }
  // the generated workload: correct by construction, many devices, sg lists and page frees
  const tmp = mkdtempSync(join(tmpdir(), 'dmadebug-property-'));
  try {
    const out = join(tmp, 'workload.txt');
    generateTrace({ size: opts.workloadBytes ?? 1_500_000, live: 300, out, seed: 7 });
    add('bench-workload', readFileSync(out, 'latin1'), {}, []);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

/** Which variants to run: damage.ts's text, tracedat-variants.ts's trace.dat, or both of each number. */
export type Format = 'text' | 'dat' | 'both';

export interface Violation {
  subject: string;
  variant: number;
  format: 'text' | 'dat';
  kind: string;
  what: string;
  error: Finding;
}

export interface PropertyResult {
  variants: number;
  /** Variants by kind; trace.dat ones as `dat:<kind>`. */
  byKind: Record<string, number>;
  subjects: number;
  /** Errors of the originals (each subject once). */
  originalErrors: number;
  /** Errors of variants that the original has too. */
  keptErrors: number;
  /** Errors that only a variant has: must be none. */
  violations: Violation[];
  seconds: number;
}

export function runProperty(opts: {
  variants: number;
  seed: number;
  subjects: Subject[];
  /** A kind for every variant (cutShort: trace.dat only). */
  kind?: DatKind;
  /** Default text. */
  format?: Format;
  onProgress?: (done: number, violations: number) => void;
}): PropertyResult {
  const t0 = performance.now();
  const subs = opts.subjects;
  const format = opts.format ?? 'text';
  if (opts.kind === 'cutShort' && format !== 'dat') throw new Error('a CPU cut short is a trace.dat variant only');
  const textKind = opts.kind as Kind | undefined;
  const total = subs.reduce((a, s) => a + s.weight, 0);
  const r = prng(opts.seed);
  const byKind: Record<string, number> = {};
  const violations: Violation[] = [];
  let keptErrors = 0;
  const tally = (
    s: Subject,
    v: number,
    fmt: 'text' | 'dat',
    variant: { kind: string; what: string; orig: number[] },
    findings: Finding[],
    origOf?: (pos: number, cpu: number) => number,
  ) => {
    const kind = fmt === 'dat' ? `dat:${variant.kind}` : variant.kind;
    byKind[kind] = (byKind[kind] ?? 0) + 1;
    const extra = newErrors(variant, findings, s.errors, origOf);
    keptErrors += findings.filter((f) => f.severity === 'error').length - extra.length;
    for (const error of extra) {
      violations.push({ subject: s.name, variant: v, format: fmt, kind: variant.kind, what: variant.what, error });
    }
  };
  for (let v = 0; v < opts.variants; v++) {
    // each subject at least once, then by weight
    let s = subs[v % subs.length]!;
    if (v >= subs.length) {
      let x = r() * total;
      for (const c of subs) {
        x -= c.weight;
        if (x < 0) {
          s = c;
          break;
        }
      }
    }
    if (format !== 'dat') {
      const variant = makeVariant(s.trace, opts.seed, v, textKind);
      const { findings } = replayText(`${variant.lines.join('\n')}\n`, s.config, s.unbindAtEnd);
      tally(s, v, 'text', variant, findings);
    }
    if (format !== 'text') {
      const variant = makeDatVariant(s.trace, datOf(s), opts.seed, v, opts.kind);
      const { findings, orig } = replayDat(variant, s.config, s.unbindAtEnd);
      tally(s, v, 'dat', { ...variant, orig: [] }, findings, orig);
    }
    if (opts.onProgress && (v + 1) % 1000 === 0) opts.onProgress(v + 1, violations.length);
  }
  return {
    variants: opts.variants,
    byKind,
    subjects: subs.length,
    originalErrors: subs.reduce((a, s) => a + s.errors.size, 0),
    keptErrors,
    violations,
    seconds: (performance.now() - t0) / 1000,
  };
}

export function describeViolation(x: Violation): string {
  const f = x.error;
  const at = x.format === 'dat' ? `cpu ${f.at.cpu} offset 0x${f.at.line.toString(16)}` : `line ${f.at.line}`;
  return `${x.subject} ${x.format} variant ${x.variant} (${x.what}): ${f.check} at ${at}: ${f.device} ${f.message}${f.note ? ` (${f.note})` : ''}`;
}

/** Writes the variant of a violation to dir (trace.txt or trace.dat, named after it), to reproduce it with the CLI. */
function saveViolation(x: Violation, subs: Subject[], seed: number, kind: DatKind | undefined, dir: string): string {
  const s = subs.find((c) => c.name === x.subject)!;
  const base = join(dir, `${x.subject.replaceAll('/', '_')}-${x.format}-${x.variant}`);
  if (x.format === 'dat') {
    const v = makeDatVariant(s.trace, datOf(s), seed, x.variant, kind);
    writeFileSync(`${base}.dat`, v.bytes);
    return `${base}.dat`;
  }
  const v = makeVariant(s.trace, seed, x.variant, kind as Kind | undefined);
  writeFileSync(`${base}.txt`, `${v.lines.join('\n')}\n`);
  return `${base}.txt`;
}

function main(argv: string[]): void {
  const arg = (name: string, dflt: string) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : dflt;
  };
  const variants = Number(arg('--variants', '1000'));
  const seed = Number(arg('--seed', '13'));
  const filter = arg('--fixture', '');
  const kind = arg('--kind', '') as DatKind | '';
  const format = arg('--format', 'text') as Format;
  if (!['text', 'dat', 'both'].includes(format)) throw new Error(`--format text|dat|both, not ${format}`);
  const save = arg('--save', '');
  const subs = subjects(filter ? { filter } : {});
  if (format !== 'text') {
    // the comparison means something only if the whole traces agree
    const differ = datOriginalsDiffer(subs);
    for (const d of differ) process.stdout.write(`whole trace as trace.dat differs: ${d}\n`);
    if (differ.length > 0) {
      process.exitCode = 1;
      return;
    }
  }
  process.stderr.write(`damage property: ${subs.length} whole traces, ${variants} ${format} variants, seed ${seed}\n`);
  const res = runProperty({
    variants,
    seed,
    subjects: subs,
    format,
    ...(kind ? { kind } : {}),
    onProgress: (done, bad) =>
      process.stderr.write(
        `\r${done} variants, ${bad} errors only in variants, ${process.memoryUsage().rss >> 20} MiB`,
      ),
  });
  process.stderr.write('\n');
  for (const x of res.violations.slice(0, Number(arg('--show', '50')))) {
    process.stdout.write(`${describeViolation(x)}\n`);
    if (save) process.stdout.write(`  saved as ${saveViolation(x, subs, seed, kind || undefined, save)}\n`);
  }
  process.stdout.write(
    `${res.variants} ${format} variants (${Object.entries(res.byKind)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}) of ${res.subjects} whole traces, seed ${seed}: errors in the originals ${res.originalErrors}; ` +
      `errors in variants also in the original ${res.keptErrors}; errors only in variants ${res.violations.length}; ` +
      `${res.seconds.toFixed(1)} s\n`,
  );
  process.exitCode = res.violations.length === 0 ? 0 : 1;
}

if (process.argv[1]?.endsWith('property/run.js')) main(process.argv.slice(2));
