// Where the shared fixtures live: ../shared/fixtures beside the repository
// (tests run from the repository root, locally and in CI). Never edited.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const FIXTURES = resolve(
  process.env.DMADEBUG_FIXTURES ?? resolve(process.cwd(), '../shared/fixtures/kernel-6.12'),
);

export function fixtureDirs(): string[] {
  if (!existsSync(FIXTURES)) return [];
  return readdirSync(FIXTURES)
    .filter((d) => statSync(join(FIXTURES, d)).isDirectory())
    .sort();
}

export function fixture(name: string, file = 'trace.txt'): string {
  return join(FIXTURES, name, file);
}
