// Where the shared fixtures live: ../shared/fixtures beside the repository
// (tests run from the repository root, locally and in CI), one folder per
// kernel line (kernel-6.12, kernel-7.3). Never edited. FIXTURES is the one
// kernel most tests use (DMADEBUG_FIXTURES picks another); kernelFixtures() /
// fixturesOf() name a kernel's folder whatever FIXTURES is.

import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const FIXTURES = resolve(
  process.env.DMADEBUG_FIXTURES ?? resolve(process.cwd(), '../shared/fixtures/kernel-6.12'),
);

/** The folder that holds kernel-6.12/, kernel-7.3/, ... */
export const FIXTURE_ROOT = resolve(process.env.DMADEBUG_FIXTURE_ROOT ?? dirname(FIXTURES));

/** The kernel lines with fixtures. */
export const FIXTURE_KERNELS = ['6.12', '7.3'] as const;
export type FixtureKernel = (typeof FIXTURE_KERNELS)[number];

/** The fixtures of one kernel line. */
export function kernelFixtures(kernel: FixtureKernel): string {
  return join(FIXTURE_ROOT, `kernel-${kernel}`);
}

/** One kernel's fixture folder by its folder name, e.g. fixturesOf('kernel-7.3'). */
export function fixturesOf(folder: string): string {
  return join(FIXTURE_ROOT, folder);
}

/** The scenarios (folder names) under root: FIXTURES unless told. */
export function fixtureDirs(root: string = FIXTURES): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((d) => statSync(join(root, d)).isDirectory())
    .sort();
}

/** The scenarios of one kernel's fixtures by folder name. */
export function fixtureDirsOf(folder: string): string[] {
  return fixtureDirs(fixturesOf(folder));
}

export function fixture(name: string, file = 'trace.txt', root: string = FIXTURES): string {
  return join(root, name, file);
}

/**
 * A text fixture as a counter clock (`trace_clock=x86-tsc`) prints it, written to `out`: each
 * `sec.usec:` becomes one u64 count past 2^64 - 2^60 (3 GHz from 18 * 10^18), so every time
 * needs all 20 digits and its seconds part (count div 10^9) more than 32 bits.
 */
export function counterClockTrace(text: string, out: string): string {
  const counts = readFileSync(text, 'latin1').replace(
    / (\d+)\.(\d{6}): /g,
    (_m, sec: string, us: string) =>
      ` ${18_000_000_000_000_000_000n + BigInt(sec) * 3_000_000_000n + BigInt(us) * 3001n}: `,
  );
  writeFileSync(out, counts);
  return out;
}
