// Child-process helpers for the CLI tests: gather a spawned process's stdout
// and stderr until it closes; run the CLI to completion.

import { type ChildProcess, spawnSync } from 'node:child_process';
import { join } from 'node:path';

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

/** Runs the built CLI (bin/dmadebug.js) to completion, colour off; its exit code and output. */
export function runDmadebug(
  args: string[],
  input?: string | Buffer,
): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(process.cwd(), 'bin', 'dmadebug.js'), ...args], {
    input,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
