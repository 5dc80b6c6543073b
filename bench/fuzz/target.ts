// What a fuzz target is: seeds made once per run, then one case per input.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Rng } from './mutate.js';

export interface FuzzFile {
  name: string;
  bytes: Uint8Array;
}

/** One input: files written into the case directory, and `check`'s arguments. */
export interface FuzzCase {
  /** The first is the trace `check` reads; a sidecar is `<trace>.side.json`. */
  files: FuzzFile[];
  /** check's arguments after the trace; `@NAME` stands for the path of the file NAME of `files`. */
  args: string[];
}

export interface FuzzTarget {
  readonly name: string;
  /** Reads and makes the seeds; the same seed gives the same seeds. */
  prepare(seed: number): void;
  /** One mutated input. */
  make(rng: Rng): FuzzCase;
}

/** The folder with kernel-6.12/ and kernel-7.3/ (as the tests find it). */
export function fixtureRoot(): string {
  return resolve(process.env.DMADEBUG_FIXTURE_ROOT ?? resolve(process.cwd(), '../shared/fixtures'));
}

/** Every fixture folder holding `file`, both kernels, sorted, with files of at most `maxBytes`. */
export function fixtureFiles(file: string, maxBytes = Number.POSITIVE_INFINITY): string[] {
  const root = fixtureRoot();
  const out: string[] = [];
  for (const kernel of ['kernel-6.12', 'kernel-7.3']) {
    const dir = join(root, kernel);
    if (!existsSync(dir)) continue;
    for (const s of readdirSync(dir).sort()) {
      const p = join(dir, s, file);
      if (existsSync(p) && statSync(p).size <= maxBytes) out.push(p);
    }
  }
  return out;
}
