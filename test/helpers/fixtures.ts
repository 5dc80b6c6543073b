// Where the shared fixtures live: ../shared/fixtures beside the repository
// (tests run from the repository root, locally and in CI), one folder per
// kernel (kernel-6.12, kernel-7.3). Never edited. FIXTURES is the one kernel
// most tests use (DMADEBUG_FIXTURES picks another); fixturesOf()/
// fixtureDirsOf() name a kernel's folder whatever FIXTURES is.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const FIXTURES = resolve(
  process.env.DMADEBUG_FIXTURES ?? resolve(process.cwd(), '../shared/fixtures/kernel-6.12'),
);

/** The folder holding every kernel's fixture folder. */
export const FIXTURE_ROOT = resolve(process.cwd(), '../shared/fixtures');

/** The kernels with fixtures: their folder names under FIXTURE_ROOT. */
export const FIXTURE_KERNELS = ['kernel-6.12', 'kernel-7.3'] as const;

/** One kernel's fixture folder, e.g. fixturesOf('kernel-7.3'). */
export function fixturesOf(kernel: string): string {
  return join(FIXTURE_ROOT, kernel);
}

function dirsIn(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((d) => statSync(join(root, d)).isDirectory())
    .sort();
}

/** The scenarios of FIXTURES. */
export function fixtureDirs(): string[] {
  return dirsIn(FIXTURES);
}

/** The scenarios of one kernel's fixtures (names; join them to fixturesOf(kernel)). */
export function fixtureDirsOf(kernel: string): string[] {
  return dirsIn(fixturesOf(kernel));
}

export function fixture(name: string, file = 'trace.txt'): string {
  return join(FIXTURES, name, file);
}
