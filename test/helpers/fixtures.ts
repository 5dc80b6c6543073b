// Where the shared fixtures live: ../shared/fixtures beside the repository
// (tests run from the repository root, locally and in CI), one folder per
// kernel line (kernel-6.12, kernel-7.3). Never edited. FIXTURES is the one
// kernel most tests use (DMADEBUG_FIXTURES picks another); kernelFixtures() /
// fixturesOf() name a kernel's folder whatever FIXTURES is.

import { existsSync, readdirSync, statSync } from 'node:fs';
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
