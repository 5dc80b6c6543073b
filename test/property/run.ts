// Runs the damage property (damage.ts) over every from-boot fixture of both
// kernels and the bench's correct workload: `npm test` runs a few hundred
// variants (test/engine/damage-property.test.ts); `npm run property --
// --variants 100000` runs as many as asked and prints the figures.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTrace } from '../../bench/gen-trace.js';
import type { EngineConfig } from '../../src/engine/engine.js';
import type { Finding } from '../../src/engine/findings.js';
import { EDU, sideFor, UNBOUND_AT_END } from '../helpers/fixture-side.js';
import { FIXTURE_KERNELS, fixtureDirs, kernelFixtures } from '../helpers/fixtures.js';
import { prng } from '../helpers/prng.js';
import { errorKey, type Kind, makeVariant, newErrors, type ParsedTrace, parseTrace, replayText } from './damage.js';

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

export interface Violation {
  subject: string;
  variant: number;
  kind: string;
  what: string;
  error: Finding;
}

export interface PropertyResult {
  variants: number;
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
  kind?: Kind;
  onProgress?: (done: number, violations: number) => void;
}): PropertyResult {
  const t0 = performance.now();
  const subs = opts.subjects;
  const total = subs.reduce((a, s) => a + s.weight, 0);
  const r = prng(opts.seed);
  const byKind: Record<string, number> = {};
  const violations: Violation[] = [];
  let keptErrors = 0;
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
    const variant = makeVariant(s.trace, opts.seed, v, opts.kind);
    byKind[variant.kind] = (byKind[variant.kind] ?? 0) + 1;
    const { findings } = replayText(`${variant.lines.join('\n')}\n`, s.config, s.unbindAtEnd);
    const extra = newErrors(variant, findings, s.errors);
    keptErrors += findings.filter((f) => f.severity === 'error').length - extra.length;
    for (const error of extra) {
      violations.push({ subject: s.name, variant: v, kind: variant.kind, what: variant.what, error });
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
  return `${x.subject} variant ${x.variant} (${x.what}): ${f.check} at line ${f.at.line}: ${f.device} ${f.message}${f.note ? ` (${f.note})` : ''}`;
}

function main(argv: string[]): void {
  const arg = (name: string, dflt: string) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : dflt;
  };
  const variants = Number(arg('--variants', '1000'));
  const seed = Number(arg('--seed', '13'));
  const filter = arg('--fixture', '');
  const kind = arg('--kind', '') as Kind | '';
  const subs = subjects(filter ? { filter } : {});
  process.stderr.write(`damage property: ${subs.length} whole traces, ${variants} variants, seed ${seed}\n`);
  const res = runProperty({
    variants,
    seed,
    subjects: subs,
    ...(kind ? { kind } : {}),
    onProgress: (done, bad) =>
      process.stderr.write(
        `\r${done} variants, ${bad} errors only in variants, ${process.memoryUsage().rss >> 20} MiB`,
      ),
  });
  process.stderr.write('\n');
  for (const x of res.violations.slice(0, Number(arg('--show', '50'))))
    process.stdout.write(`${describeViolation(x)}\n`);
  process.stdout.write(
    `${res.variants} variants (${Object.entries(res.byKind)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}) of ${res.subjects} whole traces, seed ${seed}: errors in the originals ${res.originalErrors}; ` +
      `errors in variants also in the original ${res.keptErrors}; errors only in variants ${res.violations.length}; ` +
      `${res.seconds.toFixed(1)} s\n`,
  );
  process.exitCode = res.violations.length === 0 ? 0 : 1;
}

if (process.argv[1]?.endsWith('property/run.js')) main(process.argv.slice(2));
