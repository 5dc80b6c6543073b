// Child-process helpers for the CLI tests: gather a spawned process's stdout
// and stderr until it closes; run the CLI to completion. A child still running
// after CHILD_LIMIT_MS is killed and the test fails saying so, instead of the
// whole suite waiting for it (a Node 20 process can freeze at exit, waiting in
// NodePlatform::DrainTasks: nodejs/node#54918).

import { type ChildProcess, spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** Longer than any CLI run of the tests takes on a loaded machine. */
export const CHILD_LIMIT_MS = 180_000;

/** Resolves when the child closes, with its exit code and everything it wrote (killed after `limitMs`). */
export function collect(
  child: ChildProcess,
  limitMs = CHILD_LIMIT_MS,
): Promise<{ code: number | null; out: string; err: string }> {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    err += d;
  });
  const timer = setTimeout(() => {
    err += `\n[test helper: killed after ${limitMs} ms]\n`;
    child.kill('SIGKILL');
  }, limitMs);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    }),
  );
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
    timeout: CHILD_LIMIT_MS,
    killSignal: 'SIGKILL',
  });
  const killed = r.signal === 'SIGKILL' ? `\n[test helper: killed after ${CHILD_LIMIT_MS} ms]\n` : '';
  return { code: r.status, out: r.stdout, err: r.stderr + killed };
}
