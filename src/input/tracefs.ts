// tracefs control for `live` and `record`: find the tracefs mount, turn on the
// dma:* events (and kmem:mm_page_free, optionally the stacktrace option), and
// put every file back the way it was found. It knows the tracefs layout and
// nothing about parsing or checks.

import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from './errors.js';

const CANDIDATES = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

/** The tracefs directory to use: the one given, or the first mounted default. */
export function findTracefs(explicit?: string): string {
  const dirs = explicit ? [explicit] : CANDIDATES;
  for (const d of dirs) {
    if (existsSync(join(d, 'events')) && existsSync(join(d, 'trace_pipe'))) return d;
  }
  const where = explicit ?? CANDIDATES[0]!;
  throw new InputError(
    where,
    '',
    explicit
      ? 'not a tracefs directory (no events/ and trace_pipe)'
      : 'no tracefs here: mount it (mount -t tracefs nodev /sys/kernel/tracing) and run as root',
  );
}

export interface TracefsOptions {
  /** Also enable kmem:mm_page_free(_batched) (default true). */
  kmem?: boolean;
  /** Turn on options/stacktrace so "Mapped at" has stacks. */
  stacktrace?: boolean;
  /** Then empty the ring buffer (see clearBuffer). */
  clear?: boolean;
}

/** Files we changed and what they held before. */
export interface TracefsState {
  dir: string;
  saved: Array<{ path: string; value: string }>;
  /** The dma events that were enabled. */
  events: string[];
}

function readValue(path: string): string {
  return readFileSync(path, 'utf8').trim();
}

function writeValue(dir: string, path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new InputError(dir, '', `cannot write ${path} (${code}): tracing needs root; run with sudo`);
    }
    throw new InputError(dir, '', `cannot write ${path}: ${code ?? String(e)}`);
  }
}

/** Enables the events (and empties the buffer with `clear`); returns what to restore. On failure, restores what it already changed. */
export function enableTracing(dir: string, opts: TracefsOptions = {}): TracefsState {
  const dmaDir = join(dir, 'events', 'dma');
  if (!existsSync(dmaDir)) {
    throw new InputError(dir, '', 'this kernel has no dma:* trace events (they arrived in Linux 6.12)');
  }
  const state: TracefsState = { dir, saved: [], events: [] };
  const set = (path: string, value: string) => {
    if (!existsSync(path)) return false;
    const old = readValue(path);
    if (old !== value) {
      writeValue(dir, path, value);
      state.saved.push({ path, value: old });
    }
    return true;
  };
  try {
    for (const name of readdirSync(dmaDir).sort()) {
      const p = join(dmaDir, name);
      if (!statSync(p).isDirectory()) continue;
      if (set(join(p, 'enable'), '1')) state.events.push(`dma:${name}`);
    }
    if (opts.kmem !== false) {
      for (const name of ['mm_page_free', 'mm_page_free_batched']) {
        if (set(join(dir, 'events', 'kmem', name, 'enable'), '1')) state.events.push(`kmem:${name}`);
      }
    }
    if (opts.stacktrace) set(join(dir, 'options', 'stacktrace'), '1');
    set(join(dir, 'tracing_on'), '1');
    if (opts.clear) clearBuffer(dir);
  } catch (e) {
    restoreTracing(state);
    throw e;
  }
  return state;
}

/**
 * Empties the ring buffer (truncating `trace`), so what is read next starts
 * now. Events left from an earlier session come with a gap while the events
 * were off, which no lost-events mark shows: checked with the new ones, they
 * could make findings the kernel never had. A directory without `trace` (a
 * test's fake tracefs) is left alone.
 */
function clearBuffer(dir: string): void {
  const path = join(dir, 'trace');
  if (!existsSync(path)) return;
  try {
    writeFileSync(path, '');
  } catch (e) {
    throw new InputError(dir, '', `cannot clear the trace buffer: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
}

/** Puts every changed file back, newest change first. Never throws. */
export function restoreTracing(state: TracefsState): string[] {
  const problems: string[] = [];
  for (let i = state.saved.length - 1; i >= 0; i--) {
    const { path, value } = state.saved[i]!;
    try {
      writeFileSync(path, value);
    } catch (e) {
      problems.push(`${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }
  state.saved = [];
  return problems;
}

/** CPUs that have a per_cpu/cpuN directory. */
export function tracefsCpus(dir: string): number[] {
  const p = join(dir, 'per_cpu');
  if (!existsSync(p)) return [];
  return readdirSync(p)
    .filter((n) => /^cpu\d+$/.test(n))
    .map((n) => Number(n.slice(3)))
    .sort((a, b) => a - b);
}
