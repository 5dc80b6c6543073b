// Where the commands' output goes, and every way it can fail.
//
// Output is -o FILE or stdout. Writes are joined into ~64 KiB chunks and the
// stream's backpressure is respected. -o FILE is opened when the command
// starts, so a path that cannot be written fails before a long trace is read.
// The outcomes are two, the same for every command and every stream (-o
// FILE, stdout, stderr):
//   - the output cannot be opened or written (missing directory, a directory,
//     permission, full disk, EIO, ...): OutputError, one line on stderr naming
//     the path (`<stdout>` for stdout), exit 2;
//   - the reader went away (`| head`, EPIPE): OutputClosed, no message, and the
//     command stops reading at once, like `grep -q` stops at its first match:
//     the exit status is what was found by then (check/live: 1 if an error
//     finding was found, else 0; the others: 0). Never 141 (killed by SIGPIPE,
//     as grep is): under `set -o pipefail` that fails a pipeline for nothing.
// main() watches process.stdout and process.stderr for the whole run
// (watchStdio) and settles them before it exits (settleStdio), so help text,
// summaries and diagnostics on a broken stream end the same way.

import { closeSync, constants, existsSync, fstatSync, ftruncateSync, openSync, unlinkSync, writeSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { getSystemErrorMap } from 'node:util';
import { positionText } from '../engine/findings.js';
import type { ReplayResult } from '../pipeline.js';
import { UsageError, type Values } from './options.js';

/** Errors that mean the reader is gone: end quietly. */
const CLOSED = new Set(['EPIPE', 'ECONNRESET', 'ERR_STREAM_DESTROYED']);

/** Short reasons for the usual errno values; the system's text for the rest. */
const REASONS: Record<string, string> = {
  // opening with O_CREAT: the file itself need not exist, a directory on the way is missing
  ENOENT: 'no such directory',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'is a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  EIO: 'input/output error',
};

/** The output cannot be opened or written: one line, exit 2. */
export class OutputError extends Error {
  /** Set once its line is on stderr, so it is never printed twice. */
  reported = false;

  constructor(
    readonly path: string,
    readonly code: string,
    reason: string,
  ) {
    super(`cannot write ${path}: ${reason} (${code})`);
    this.name = 'OutputError';
  }
}

/** The reader of the output went away (EPIPE): stop quietly with `status`. */
export class OutputClosed extends Error {
  constructor(
    readonly path: string,
    readonly status: number,
  ) {
    super(`${path}: the reader closed it`);
    this.name = 'OutputClosed';
  }
}

function isClosed(e: NodeJS.ErrnoException): boolean {
  return e.code !== undefined && CLOSED.has(e.code);
}

/** The OutputError for an errno exception on `path`. */
export function outputError(path: string, e: NodeJS.ErrnoException): OutputError {
  const code = e.code ?? 'EIO';
  const system = typeof e.errno === 'number' ? getSystemErrorMap().get(e.errno)?.[1] : undefined;
  return new OutputError(path, code, REASONS[code] ?? system ?? e.message.split('\n')[0] ?? 'write failed');
}

/**
 * The exit status of a failed output, after its one line on stderr (none for
 * a closed reader); null when `e` is no output failure.
 */
export function outputFailureStatus(e: unknown): number | null {
  if (e instanceof OutputClosed) return e.status;
  if (!(e instanceof OutputError)) return null;
  if (!e.reported) {
    e.reported = true;
    process.stderr.write(`dmadebug: ${e.message}\n`);
  }
  return 2;
}

// ------------------------------------------------------------ stdout, stderr

/** The first write error of each standard stream. */
const stdioFailures = new Map<Writable, NodeJS.ErrnoException>();
let watching = false;

/** Keeps write errors on stdout and stderr from becoming uncaught exceptions: they are kept for settleStdio. */
export function watchStdio(): void {
  if (watching) return;
  watching = true;
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (!stdioFailures.has(s)) stdioFailures.set(s, e);
    });
  }
}

/**
 * Resolves when everything written to `s` so far is written (or failed).
 * stdio files, pipes and TTYs are written synchronously on Linux and report
 * a failure on the next tick; only what is still queued needs waiting for.
 * (No empty write when nothing is queued: on /dev/full even that fails.)
 */
async function written(s: Writable): Promise<void> {
  if (s.writableLength > 0 && !s.destroyed && !stdioFailures.has(s)) {
    await new Promise<void>((resolve) => {
      s.write('', (e) => {
        if (e && !stdioFailures.has(s)) stdioFailures.set(s, e);
        resolve();
      });
    });
  }
  await new Promise((resolve) => setImmediate(resolve));
}

/**
 * The exit status once stdout and stderr took everything: `code`, or 2 when
 * one could not be written (stdout: with its line on stderr; stderr: there is
 * nowhere to say it). A closed reader changes nothing: the command finished.
 */
export async function settleStdio(code: number): Promise<number> {
  await Promise.all([written(process.stdout), written(process.stderr)]);
  const out = stdioFailures.get(process.stdout);
  if (out && !isClosed(out)) {
    outputFailureStatus(stdoutError(out));
    code = 2;
  }
  const err = stdioFailures.get(process.stderr);
  if (err && !isClosed(err)) code = 2;
  return code;
}

/** One OutputError per stdout failure, however often it is met. */
let stdoutFailure: OutputError | null = null;
function stdoutError(e: NodeJS.ErrnoException): OutputError {
  stdoutFailure ??= outputError('<stdout>', e);
  return stdoutFailure;
}

// ------------------------------------------------------------ the command's output

/** -o FILE (opened now) or stdout (no -o, or -o -). */
export function openOutput(v: Values): Output {
  if (v.output === '') throw new UsageError('-o takes a file name (or - for stdout)');
  return v.output !== undefined && v.output !== '-' ? Output.file(v.output) : Output.stdout();
}

export class Output {
  /** The exit status if the reader goes away; check and live say what they found by then. */
  closedStatus: () => number = () => 0;
  private buf: Array<string | Uint8Array> = [];
  private size = 0;
  private failure: NodeJS.ErrnoException | null = null;
  private waiting: Promise<void> | null = null;
  private lastWrite: Promise<void> | null = null;
  /** A regular file not truncated yet: it is at the first write, so a run that fails early leaves it as it was. */
  private untruncated: boolean;
  private ended = false;

  private constructor(
    /** The path as the user gave it, or `<stdout>`. */
    readonly name: string,
    private readonly fd: number | null,
    private readonly stream: Writable | null,
    /** This run made the file: discard() removes it. */
    private readonly created: boolean,
    regular: boolean,
    /** Output goes to a terminal (colour on by default). */
    readonly tty: boolean,
  ) {
    this.untruncated = regular;
  }

  /** Opens `path` for writing now (creating it, not truncating it yet); OutputError when it cannot be. */
  static file(path: string): Output {
    const existed = existsSync(path);
    let fd: number;
    let regular: boolean;
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_CREAT, 0o666);
      regular = fstatSync(fd).isFile();
    } catch (e) {
      throw outputError(path, e as NodeJS.ErrnoException);
    }
    return new Output(path, fd, null, !existed, regular, false);
  }

  static stdout(): Output {
    return new Output('<stdout>', null, process.stdout, false, false, process.stdout.isTTY === true);
  }

  /**
   * Buffers `s`; a no-op once the output failed (the next ready/flush/end says
   * so) and for nothing at all: a format with nothing to say (KTAP between
   * inputs) never writes, so stdout on /dev/full with nothing to say is no error.
   */
  write(s: string | Uint8Array): void {
    if (this.failure || s.length === 0) return;
    this.buf.push(s);
    this.size += s.length;
    if (this.size >= 65536) this.flushSync();
  }

  /** Resolves when the output can take more (call between input chunks); throws if it failed. */
  async ready(): Promise<void> {
    if (this.waiting) await this.waiting;
    this.check();
  }

  /** Writes what is buffered and waits until it is written; throws if it failed. */
  async flush(): Promise<void> {
    this.flushSync();
    if (this.waiting) await this.waiting;
    if (this.lastWrite) await this.lastWrite;
    this.check();
  }

  /** Flushes and closes (stdout stays open); throws if the output failed. */
  async end(): Promise<void> {
    await this.flush();
    if (this.ended) return;
    this.ended = true;
    if (this.fd !== null) {
      try {
        this.truncate();
        closeSync(this.fd);
      } catch (e) {
        this.failure ??= e as NodeJS.ErrnoException;
      }
      this.check();
    }
  }

  /** Gives up without writing: closes, and removes the file if this run made it (else leaves it as it was). */
  discard(): void {
    if (this.ended || this.fd === null) return;
    this.ended = true;
    try {
      closeSync(this.fd);
      if (this.created) unlinkSync(this.name);
    } catch {
      // nothing was written: nothing to lose
    }
  }

  private fail(e: NodeJS.ErrnoException): void {
    this.failure ??= e;
    this.buf = [];
    this.size = 0;
  }

  private check(): void {
    const e = this.failure ?? (this.stream ? (stdioFailures.get(this.stream) ?? null) : null);
    if (!e) return;
    if (isClosed(e)) throw new OutputClosed(this.name, this.closedStatus());
    throw this.stream ? stdoutError(e) : outputError(this.name, e);
  }

  private truncate(): void {
    if (!this.untruncated || this.fd === null) return;
    this.untruncated = false;
    ftruncateSync(this.fd, 0);
  }

  private flushSync(): void {
    if (this.buf.length === 0 || this.failure) return;
    const parts = this.buf;
    this.buf = [];
    this.size = 0;
    const chunk = parts.every((p) => typeof p === 'string')
      ? parts.join('')
      : Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
    if (this.fd !== null) {
      this.writeFile(chunk);
      return;
    }
    const out = this.stream!;
    if (stdioFailures.has(out) || out.destroyed) return;
    this.lastWrite = new Promise((resolve) => {
      out.write(chunk, (e) => {
        if (e) this.fail(e);
        resolve();
      });
    });
    if (!out.writableNeedDrain || this.waiting) return;
    this.waiting = new Promise((resolve) => {
      const done = () => {
        out.off('drain', done);
        out.off('close', done);
        out.off('error', done);
        this.waiting = null;
        resolve();
      };
      out.on('drain', done);
      out.on('close', done);
      out.on('error', done);
    });
  }

  /** Synchronous: a failure (ENOSPC, EIO) is known when this returns. */
  private writeFile(chunk: string | Uint8Array): void {
    const fd = this.fd!;
    try {
      this.truncate();
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    } catch (e) {
      this.fail(e as NodeJS.ErrnoException);
    }
  }
}

/**
 * -v: every line (trace.dat: record) the parser could not use, with its
 * number and why; past the first MAX_WARNINGS_KEPT, only how many more.
 */
export function writeSkippedLines(label: string, r: Pick<ReplayResult, 'kind' | 'parser'>): void {
  const unit = r.kind === 'text' ? 'line' : 'record';
  const positions = r.parser.facts.positions;
  const list = r.parser.warningList;
  for (const w of list) {
    // text: `line 12`; binary: `cpu 1 offset 0x1a2b3c` (or `record`, when the damage has no place)
    const place = w.cpu === undefined ? `${unit} ${w.line}` : positionText(positions, w.line, w.cpu) || unit;
    process.stderr.write(`dmadebug: ${label}: ${place}: ${w.message}\n`);
  }
  const more = r.parser.warnings - list.length;
  if (more > 0) {
    process.stderr.write(
      `dmadebug: ${label}: and ${more} more ${unit}s skipped (only the first ${list.length} are listed)\n`,
    );
  }
}
