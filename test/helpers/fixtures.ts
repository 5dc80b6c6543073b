// Where the shared fixtures live: ../shared/fixtures beside the repository
// (tests run from the repository root, locally and in CI). Never edited.
// One folder per kernel line: kernel-6.12 (FIXTURES, the default of the
// helpers below) and kernel-7.3.

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
  return kernel === '6.12' ? FIXTURES : join(FIXTURE_ROOT, `kernel-${kernel}`);
}

export function fixtureDirs(root: string = FIXTURES): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((d) => statSync(join(root, d)).isDirectory())
    .sort();
}

export function fixture(name: string, file = 'trace.txt', root: string = FIXTURES): string {
  return join(root, name, file);
}
