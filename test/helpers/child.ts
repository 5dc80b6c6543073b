// Child-process helpers for the CLI tests: gather a spawned process's stdout
// and stderr until it closes.

import type { ChildProcess } from 'node:child_process';

/** Resolves when the child closes, with its exit code and everything it wrote. */
export function collect(child: ChildProcess): Promise<{ code: number | null; out: string; err: string }> {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    err += d;
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
}
