// Running one input, in process and as the real CLI, and judging the outcome.
//
// In process, an input goes through main(['check', ...]) — the CLI's own
// entry point, with its own catch that turns usage, input and output errors
// into one line and exit 2 — with stdout and stderr captured. A crash is what
// the CLI would not turn into that line: an exception out of main() (bin/
// prints it as "internal error"), an uncaught exception or rejection while it
// runs, a stack trace or "internal error" on stderr, or an exit status other
// than 0, 1 or 2. The CLI run (a child process, `timeout` and /usr/bin/time
// around it) confirms the exit status, that stderr has no stack trace, the
// time and the peak memory.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { main } from '../../src/cli/main.js';
import type { FuzzCase } from './target.js';

/** An input slower than this (and under 1 MiB) hangs. */
export const HANG_MS = 10_000;
export const HANG_MAX_INPUT = 1 << 20;
/**
 * Memory: an input fails when the peak memory it adds exceeds 4x its size plus
 * this. In process the peak is the harness's maxRSS, which also moves when V8
 * grows its heaps (a young generation of up to 32 MiB, old-space steps) and
 * by the engine's fixed tables (entry pool, 4 MiB recent-unmaps table, 1 MiB
 * read buffers): 64 MiB covers that. Suspects are rerun as the CLI.
 */
export const INPROC_SLACK = 64 << 20;
/**
 * In the CLI run the peak is compared with the CLI's peak on the smallest
 * valid input of the target (measured at start); 32 MiB covers the spread of
 * that peak from run to run and the same fixed tables.
 */
export const CLI_SLACK = 32 << 20;

const BIN = resolve('bin', 'dmadebug.js');
/** A JavaScript stack frame, or the CLI's last-resort message. */
const STACK = /^\s+at .+(:\d+:\d+\)?|\(native\)|\(<anonymous>\))$|internal error|^\w*Error: /m;

export type FailKind = 'crash' | 'hang' | 'memory';

export interface Outcome {
  code: number | null;
  stderr: string;
  /** Something thrown out of main(), or uncaught while it ran. */
  threw: unknown;
  ms: number;
  /** Peak memory added (bytes). */
  peak: number;
}

export interface CliOutcome {
  code: number | null;
  stderr: string;
  ms: number;
  timedOut: boolean;
  /** Peak RSS of the CLI (bytes), -1 when unknown. */
  maxRss: number;
}

/** Writes a case's files into `dir` (removing those of the previous case) and returns check's argv. */
export class CaseDir {
  private written = new Set<string>();
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  write(c: FuzzCase): string[] {
    const now = new Set(c.files.map((f) => f.name));
    for (const old of this.written) if (!now.has(old)) rmQuiet(join(this.dir, old));
    for (const f of c.files) writeFileSync(join(this.dir, f.name), f.bytes);
    this.written = now;
    return argvOf(this.dir, c);
  }
}

export function argvOf(dir: string, c: FuzzCase): string[] {
  const args = c.args.map((a) => (a.startsWith('@') ? join(dir, a.slice(1)) : a));
  return ['check', join(dir, c.files[0]!.name), ...args];
}

export function caseSize(c: FuzzCase): number {
  return c.files.reduce((n, f) => n + f.bytes.length, 0);
}

function rmQuiet(p: string): void {
  try {
    if (existsSync(p)) unlinkSync(p);
  } catch {
    // gone
  }
}

// ---------------------------------------------------------------- in process

type Write = typeof process.stdout.write;
let uncaught: ((e: unknown) => void) | null = null;
/** Uncaught while no input ran: work an input left behind, failing after main() returned. */
const late: unknown[] = [];
let hooked = false;

function hookUncaught(): void {
  if (hooked) return;
  hooked = true;
  const on = (e: unknown) => {
    if (uncaught) uncaught(e);
    else late.push(e);
  };
  process.on('uncaughtException', on);
  process.on('unhandledRejection', on);
}

/** A stand-in for a stream's write that keeps (some of) the text and reports success. */
function capture(keep: (s: string) => void): Write {
  return ((chunk: string | Uint8Array, a?: unknown, b?: unknown) => {
    keep(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('latin1'));
    const cb = typeof a === 'function' ? a : typeof b === 'function' ? b : null;
    if (cb) process.nextTick(cb as () => void);
    return true;
  }) as Write;
}

export async function runInProcess(argv: string[]): Promise<Outcome> {
  hookUncaught();
  let stderr = '';
  const out = process.stdout.write;
  const err = process.stderr.write;
  process.stdout.write = capture(() => {});
  process.stderr.write = capture((s) => {
    if (stderr.length < 65536) stderr += s;
  });
  let code: number | null = null;
  let threw: unknown = null;
  const rss0 = process.resourceUsage().maxRSS;
  const t0 = performance.now();
  try {
    const escaped = new Promise<never>((_, reject) => {
      uncaught = reject;
    });
    code = await Promise.race([main(argv), escaped]);
  } catch (e) {
    threw = e ?? new Error(String(e));
  } finally {
    uncaught = null;
    process.stdout.write = out;
    process.stderr.write = err;
  }
  const ms = performance.now() - t0;
  // what the run left behind (timers, streams) gets a turn: its failure is this input's
  await new Promise((resolve) => setImmediate(resolve));
  if (threw === null && late.length > 0) threw = late[0];
  late.length = 0;
  return { code, stderr, threw, ms, peak: (process.resourceUsage().maxRSS - rss0) * 1024 };
}

/** What is wrong with an in-process outcome (null: nothing). */
export function judge(o: Outcome, size: number): { kind: FailKind; why: string } | null {
  if (o.threw !== null) return { kind: 'crash', why: `main() threw: ${describe(o.threw)}` };
  if (o.code !== 0 && o.code !== 1 && o.code !== 2) return { kind: 'crash', why: `exit status ${o.code}` };
  if (STACK.test(o.stderr)) return { kind: 'crash', why: `stack trace on stderr: ${firstStackLine(o.stderr)}` };
  if (o.ms > HANG_MS && size < HANG_MAX_INPUT) return { kind: 'hang', why: `${Math.round(o.ms)} ms in process` };
  if (o.peak > 4 * size + INPROC_SLACK) {
    return { kind: 'memory', why: `peak memory +${mib(o.peak)} MiB in process for ${size} bytes` };
  }
  return null;
}

// ---------------------------------------------------------------- the CLI

/** Runs the built CLI on argv; killed after HANG_MS. */
export function runCli(argv: string[]): CliOutcome {
  const t0 = performance.now();
  const r = spawnSync(
    'timeout',
    ['-s', 'KILL', String(HANG_MS / 1000), '/usr/bin/time', '-f', 'FUZZ-MAXRSS %M', process.execPath, BIN, ...argv],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'latin1',
      maxBuffer: 64 << 20,
      env: { ...process.env, NO_COLOR: '1' },
    },
  );
  const ms = performance.now() - t0;
  let maxRss = -1;
  const lines: string[] = [];
  for (const l of (r.stderr ?? '').split('\n')) {
    const m = /^FUZZ-MAXRSS (\d+)$/.exec(l);
    if (m) maxRss = Number(m[1]) * 1024;
    else if (!/^Command (exited with non-zero status|terminated by signal) /.test(l)) lines.push(l);
  }
  // timeout kills its process group with SIGKILL, itself included
  const timedOut = (r.status === 137 || r.signal === 'SIGKILL') && maxRss < 0;
  return { code: r.status, stderr: lines.join('\n'), ms, timedOut, maxRss };
}

/** What is wrong with a CLI outcome (null: nothing). `baseline`: the CLI's peak on a small valid input. */
export function judgeCli(o: CliOutcome, size: number, baseline: number): { kind: FailKind; why: string } | null {
  if (o.timedOut) {
    return size < HANG_MAX_INPUT ? { kind: 'hang', why: `CLI killed after ${HANG_MS} ms` } : null;
  }
  if (o.code !== 0 && o.code !== 1 && o.code !== 2) return { kind: 'crash', why: `CLI exit status ${o.code}` };
  if (STACK.test(o.stderr))
    return { kind: 'crash', why: `stack trace on the CLI's stderr: ${firstStackLine(o.stderr)}` };
  if (o.maxRss >= 0 && o.maxRss - baseline > 4 * size + CLI_SLACK) {
    return { kind: 'memory', why: `CLI peak RSS ${mib(o.maxRss)} MiB (baseline ${mib(baseline)}) for ${size} bytes` };
  }
  return null;
}

export function describe(e: unknown): string {
  if (e instanceof Error) return (e.stack ?? `${e.name}: ${e.message}`).split('\n').slice(0, 6).join(' | ');
  return String(e);
}

function firstStackLine(s: string): string {
  const lines = s.split('\n');
  const i = lines.findIndex((l) => STACK.test(l));
  return lines
    .slice(Math.max(0, i - 1), i + 2)
    .join(' | ')
    .slice(0, 400);
}

export function mib(n: number): string {
  return (n / 1048576).toFixed(1);
}
