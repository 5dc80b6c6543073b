// Input sources: open a file or stdin ('-'), detect compression and trace.dat
// from the first bytes (never from the name), and hand out byte chunks. This
// module knows nothing of tracing beyond those magic numbers.
//
// Plain files are read with fs reads into ONE reused buffer (1 MiB by default),
// so a chunk is valid only until the next one is requested; the text parser
// copies what it keeps. Compressed inputs are read into fresh buffers (the
// decompressors keep references) and decompressed by the system tool when it
// is on PATH (zstd, xz: much faster than JS) or in process otherwise (node:zlib
// for gzip, fzstd, xz-decompress). Every failure becomes an InputError with one
// line naming the file.

import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Names } from '../base/interner.js';
import type { DmaEvent } from '../engine/events.js';
import { InputError } from './errors.js';
import { type Compression, detectCompression, detectKind, HEAD_BYTES, type InputKind } from './magic.js';
import { TextParser } from './text-parser.js';

export type { Compression, InputKind } from './magic.js';

export const DEFAULT_CHUNK_SIZE = 1 << 20;

export interface OpenOptions {
  /** Read size in bytes (default 1 MiB). Tests shrink it to a few bytes. */
  chunkSize?: number;
  /** 'auto' (default): system zstd/xz when on PATH, else the JS decoders. */
  decompressor?: 'auto' | 'system' | 'builtin';
  /** The stream behind '-' (default process.stdin). */
  stdin?: Readable;
}

export interface OpenedInput {
  kind: InputKind;
  compression: Compression;
  /** Decompressed bytes. A chunk is only valid until the next one is requested. */
  chunks: AsyncIterable<Uint8Array>;
  /** Bytes on disk (compressed), when known: the denominator for progress. */
  size?: number;
  /** Bytes read from the file or stdin so far (compressed). */
  bytesRead(): number;
  /**
   * Releases the file and any decompressor process. Iterating `chunks` to the
   * end (or breaking out of it) does this too; call it when you stop before
   * iterating at all (e.g. on kind 'tracedat'). Idempotent.
   */
  close(): Promise<void>;
}

/**
 * An async chunk iterator whose first bytes can be looked at before it is
 * consumed. Peeked chunks are copied (their source may reuse its buffer).
 */
class Peekable implements AsyncIterable<Uint8Array> {
  private readonly it: AsyncIterator<Uint8Array>;
  private readonly pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private done = false;

  constructor(src: AsyncIterable<Uint8Array>) {
    this.it = src[Symbol.asyncIterator]();
  }

  /** At least n bytes (fewer at end of input), without consuming them. */
  async peek(n: number): Promise<Uint8Array> {
    while (this.pendingBytes < n && !this.done) {
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        break;
      }
      if (r.value.length === 0) continue;
      this.pending.push(Uint8Array.prototype.slice.call(r.value) as Uint8Array);
      this.pendingBytes += r.value.length;
    }
    const out = new Uint8Array(Math.min(n, this.pendingBytes));
    let o = 0;
    for (const c of this.pending) {
      if (o >= out.length) break;
      const k = Math.min(c.length, out.length - o);
      out.set(c.subarray(0, k), o);
      o += k;
    }
    return out;
  }

  /** Stops the source (runs its cleanup when it has started). */
  async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.it.return?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    try {
      while (this.pending.length > 0) yield this.pending.shift()!;
      while (!this.done) {
        const r = await this.it.next();
        if (r.done) break;
        yield r.value;
      }
    } finally {
      this.done = true;
      await this.it.return?.();
    }
  }
}

interface RawSource {
  chunks: AsyncIterable<Uint8Array>;
  size?: number;
  bytesRead(): number;
  close(): Promise<void>;
}

/** Resolves when a writable wants more, or is gone; never leaves listeners behind. */
function writable(w: NodeJS.WritableStream & { destroyed?: boolean }): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      w.off('drain', done);
      w.off('close', done);
      w.off('error', done);
      resolve();
    };
    w.on('drain', done);
    w.on('close', done);
    w.on('error', done);
  });
}

function openError(label: string, e: unknown): InputError {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return new InputError(label, '', 'no such file or directory');
    case 'EISDIR':
      return new InputError(label, '', 'is a directory, not a trace');
    case 'EACCES':
    case 'EPERM':
      return new InputError(label, '', 'permission denied');
    case 'ENOTDIR':
      return new InputError(label, '', 'a component of the path is not a directory');
    default:
      return new InputError(label, '', `cannot open: ${code ?? String(e)}`);
  }
}

async function openFile(path: string, label: string, chunkSize: number): Promise<RawSource & { fresh(): void }> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw openError(label, e);
  }
  let size: number | undefined;
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
    if (st.isFile()) size = st.size;
  } catch (e) {
    await fh.close();
    throw openError(label, e);
  }
  let read = 0;
  let reuse = true;
  const handle = fh;
  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closed ??= handle.close().catch(() => {});
    return closed;
  };
  // Two buffers: while the consumer parses one, the next read fills the other
  // (on libuv's thread pool), so disk copies overlap with parsing. A chunk
  // stays valid until the consumer asks for the next one, as promised.
  const bufs = [Buffer.allocUnsafe(chunkSize), Buffer.allocUnsafe(chunkSize)];
  let filling = 0;
  // Position null (the file's own offset): pipes and FIFOs cannot pread, and
  // only one read is ever in flight, so order is kept.
  const readInto = (buf: Buffer): Promise<number> =>
    handle.read(buf, 0, chunkSize, null).then(
      (r) => r.bytesRead,
      (e: NodeJS.ErrnoException) => {
        throw new InputError(label, `byte ${read}`, `read failed: ${e.code ?? e.message}`);
      },
    );
  async function* chunks(): AsyncGenerator<Uint8Array> {
    let pending: Promise<number> | null = null;
    try {
      pending = readInto(bufs[filling]!);
      for (;;) {
        const n: number = await pending;
        pending = null;
        if (n === 0) return;
        read += n;
        const cur = bufs[filling]!;
        filling ^= 1;
        if (!reuse) bufs[filling] = Buffer.allocUnsafe(chunkSize);
        pending = readInto(bufs[filling]!);
        yield cur.subarray(0, n);
      }
    } finally {
      if (pending) await pending.catch(() => 0);
      await close();
    }
  }
  const src: RawSource & { fresh(): void } = {
    chunks: chunks(),
    bytesRead: () => read,
    close,
    /** From now on every chunk gets its own buffer (for decompressors that keep them). */
    fresh: () => {
      reuse = false;
    },
  };
  if (size !== undefined) src.size = size;
  return src;
}

function openStdin(stream: Readable): RawSource {
  let read = 0;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for await (const c of stream) {
      const b = typeof c === 'string' ? Buffer.from(c) : (c as Uint8Array);
      read += b.length;
      yield b;
    }
  }
  return { chunks: chunks(), bytesRead: () => read, close: async () => {} };
}

// ---------------------------------------------------------------- decompressors

const toolCache = new Map<string, boolean>();

/** Is an executable with this name on PATH? (Checked once per name.) */
export function onPath(tool: string): boolean {
  const hit = toolCache.get(tool);
  if (hit !== undefined) return hit;
  let found = false;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, tool), fsConstants.X_OK);
      found = true;
      break;
    } catch {
      // not here
    }
  }
  toolCache.set(tool, found);
  return found;
}

/** A decompressor's complaint; placeErrors() gives it its place in the file. */
class CorruptData extends InputError {
  constructor(label: string, what: string, why: string) {
    super(label, '', `corrupt ${what} data (${why})`);
  }
}

function gunzip(raw: AsyncIterable<Uint8Array>, label: string): AsyncIterable<Uint8Array> {
  return (async function* () {
    const z = createGunzip();
    const feed = (async () => {
      try {
        for await (const c of raw) {
          if (z.destroyed) break;
          if (!z.write(c)) await writable(z);
        }
        z.end();
      } catch (e) {
        z.destroy(e as Error);
      }
    })();
    try {
      for await (const out of z) yield out as Buffer;
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new CorruptData(label, 'gzip', (e as Error).message);
    } finally {
      z.destroy();
      await feed;
    }
  })();
}

/** Pipes raw bytes through `tool -dc` and yields its output. */
function viaTool(raw: AsyncIterable<Uint8Array>, label: string, tool: string, what: string): AsyncIterable<Uint8Array> {
  return (async function* () {
    const child = spawn(tool, ['-dc', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      if (stderr.length < 4096) stderr += s;
    });
    child.stdin.on('error', () => {
      // EPIPE when the tool stops early (corrupt data): its exit status says why.
    });
    const exited = new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
    let feedError: unknown = null;
    const feed = (async () => {
      try {
        for await (const c of raw) {
          if (child.stdin.destroyed) break;
          if (!child.stdin.write(c)) await writable(child.stdin);
        }
      } catch (e) {
        feedError = e;
      } finally {
        child.stdin.end();
      }
    })();
    let finished = false;
    try {
      for await (const out of child.stdout) yield out as Buffer;
      await feed;
      if (feedError) throw feedError;
      let code: number;
      try {
        code = await exited;
      } catch (e) {
        throw new InputError(label, '', `cannot run ${tool}: ${(e as NodeJS.ErrnoException).code ?? e}`);
      }
      if (code !== 0) {
        const why = stderr.split('\n').find((l) => l.trim() !== '') ?? `exit status ${code}`;
        throw new CorruptData(label, what, `${tool}: ${why.replace(/^[^:]*: /, '').trim()}`);
      }
      finished = true;
    } finally {
      if (!finished) {
        child.kill();
        child.stdin.destroy();
      }
      await feed;
    }
  })();
}

function zstdBuiltin(raw: AsyncIterable<Uint8Array>, label: string): AsyncIterable<Uint8Array> {
  return (async function* () {
    const { Decompress } = await import('fzstd');
    const out: Uint8Array[] = [];
    const d = new Decompress((chunk) => {
      if (chunk.length > 0) out.push(chunk);
    });
    const fail = (e: unknown): InputError => new CorruptData(label, 'zstd', (e as Error).message ?? String(e));
    for await (const c of raw) {
      try {
        d.push(c);
      } catch (e) {
        throw fail(e);
      }
      while (out.length > 0) yield out.shift()!;
    }
    try {
      d.push(new Uint8Array(0), true);
    } catch (e) {
      throw fail(e);
    }
    while (out.length > 0) yield out.shift()!;
  })();
}

function xzBuiltin(raw: AsyncIterable<Uint8Array>, label: string): AsyncIterable<Uint8Array> {
  return (async function* () {
    const mod = (await import('xz-decompress')) as unknown as {
      XzReadableStream?: typeof import('xz-decompress').XzReadableStream;
      default?: { XzReadableStream: typeof import('xz-decompress').XzReadableStream };
    };
    const Xz = mod.XzReadableStream ?? mod.default?.XzReadableStream;
    if (!Xz) throw new InputError(label, '', 'no xz decoder available (install xz or xz-decompress)');
    const it = raw[Symbol.asyncIterator]();
    const input = new ReadableStream<Uint8Array>({
      async pull(ctrl) {
        const r = await it.next();
        if (r.done) ctrl.close();
        else ctrl.enqueue(r.value);
      },
      async cancel() {
        await it.return?.();
      },
    });
    const reader = new Xz(input).getReader();
    try {
      for (;;) {
        let r: Awaited<ReturnType<typeof reader.read>>;
        try {
          r = await reader.read();
        } catch (e) {
          if (e instanceof InputError) throw e;
          throw new CorruptData(label, 'xz', (e as Error).message ?? String(e));
        }
        if (r.done) return;
        yield r.value;
      }
    } finally {
      reader.releaseLock();
    }
  })();
}

function decompress(
  raw: AsyncIterable<Uint8Array>,
  compression: Compression,
  label: string,
  mode: 'auto' | 'system' | 'builtin',
): AsyncIterable<Uint8Array> {
  switch (compression) {
    case 'none':
      return raw;
    case 'gzip':
      return gunzip(raw, label);
    case 'zstd':
      if (mode !== 'builtin' && (mode === 'system' || onPath('zstd'))) return viaTool(raw, label, 'zstd', 'zstd');
      return zstdBuiltin(raw, label);
    case 'xz':
      if (mode !== 'builtin' && (mode === 'system' || onPath('xz'))) return viaTool(raw, label, 'xz', 'xz');
      return xzBuiltin(raw, label);
  }
}

/**
 * A decompressor's CorruptData error gets a place: the compressed bytes read
 * when it was found (the damage is at or before it), and how much came out
 * before it (the findings up to there were delivered).
 */
function placeErrors(out: AsyncIterable<Uint8Array>, fed: () => number): AsyncIterable<Uint8Array> {
  return (async function* () {
    let produced = 0;
    try {
      for await (const chunk of out) {
        produced += chunk.length;
        yield chunk;
      }
    } catch (e) {
      if (e instanceof CorruptData) {
        throw new InputError(
          e.file,
          `compressed byte ${fed()}`,
          `${e.detail}, found by this byte; ${produced} bytes decompressed before it`,
        );
      }
      throw e;
    }
  })();
}

/**
 * Opens a trace: a path, or '-' for stdin. Detects gzip/zstd/xz and trace.dat
 * by their magic bytes. Throws InputError when the input cannot be opened.
 */
export async function openInput(path: string, opts: OpenOptions = {}): Promise<OpenedInput> {
  const label = path === '-' ? '<stdin>' : path;
  const chunkSize = Math.max(1, Math.floor(opts.chunkSize ?? DEFAULT_CHUNK_SIZE));
  const mode = opts.decompressor ?? 'auto';
  let raw: RawSource;
  let fresh: (() => void) | null = null;
  if (path === '-') {
    raw = openStdin(opts.stdin ?? process.stdin);
  } else {
    const f = await openFile(path, label, chunkSize);
    raw = f;
    fresh = f.fresh;
  }
  const rawPeek = new Peekable(raw.chunks);
  let compression: Compression;
  try {
    compression = detectCompression(await rawPeek.peek(HEAD_BYTES));
  } catch (e) {
    await raw.close();
    throw e;
  }
  let data: Peekable = rawPeek;
  if (compression !== 'none') {
    fresh?.();
    data = new Peekable(placeErrors(decompress(rawPeek, compression, label, mode), raw.bytesRead));
  }
  let kind: InputKind;
  try {
    kind = detectKind(await data.peek(HEAD_BYTES));
  } catch (e) {
    await data.close().catch(() => {});
    await raw.close();
    throw e;
  }
  const close = async (): Promise<void> => {
    await data.close();
    if (data !== rawPeek) await rawPeek.close();
    await raw.close();
  };
  const out: OpenedInput = { kind, compression, chunks: data, bytesRead: raw.bytesRead, close };
  if (raw.size !== undefined) out.size = raw.size;
  return out;
}

/**
 * Reads up to `limit` bytes of `chunks` ahead, to learn whether an input of
 * unknown size (a pipe) is big, copying them (a chunk is only valid until the
 * next one is asked for). The returned `chunks` yields those bytes and then
 * the rest of the input, in order; a read error met while reading ahead is
 * thrown after the bytes before it, as it would have been.
 */
export async function readAhead(
  chunks: AsyncIterable<Uint8Array>,
  limit: number,
): Promise<{ big: boolean; chunks: AsyncIterable<Uint8Array> }> {
  const it = chunks[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let bytes = 0;
  let done = false;
  let broke: unknown = null;
  try {
    while (bytes < limit) {
      const r = await it.next();
      if (r.done) {
        done = true;
        break;
      }
      // a copy (a Buffer's slice() would be a view of the reused read buffer)
      const copy = new Uint8Array(r.value.length);
      copy.set(r.value);
      head.push(copy);
      bytes += r.value.length;
    }
  } catch (e) {
    broke = e;
    done = true;
  }
  async function* all(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < head.length; i++) {
      const c = head[i]!;
      head[i] = EMPTY_CHUNK; // yielded: not held any longer
      yield c;
    }
    if (broke !== null) throw broke;
    if (done) return;
    try {
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      // a consumer that stops early releases the input, as breaking out of `chunks` does
      await it.return?.();
    }
  }
  return { big: bytes >= limit, chunks: all() };
}

const EMPTY_CHUNK = new Uint8Array(0);

export interface ParseTextOptions extends OpenOptions {
  /** Name tables for the ids in the events (default: a fresh one, so pass yours to read names back). */
  names?: Names;
}

/**
 * Library convenience: the events of a text trace, each one a copy the caller
 * may keep. (The CLI uses TextParser with a sink instead: no copies.)
 */
export async function* parseTextEvents(path: string, opts: ParseTextOptions = {}): AsyncGenerator<DmaEvent> {
  const names = opts.names ?? new Names();
  const label = path === '-' ? '<stdin>' : path;
  const queue: DmaEvent[] = [];
  const parser = new TextParser({ names, sink: (ev) => queue.push(ev.clone()), file: label });
  const src = await openInput(path, opts);
  if (src.kind === 'tracedat') {
    await src.close();
    throw new InputError(label, 'byte 0', 'this is a trace.dat, not text: read it with TraceDatParser or replay()');
  }
  for await (const chunk of src.chunks) {
    parser.push(chunk);
    yield* queue;
    queue.length = 0;
  }
  parser.end();
  yield* queue;
  queue.length = 0;
}

// ---------------------------------------------------------------- following

export interface FollowOptions {
  /** Read size (default 64 KiB: trace_pipe hands out what it has). */
  chunkSize?: number;
  /** How long to wait when nothing is there (default 20 ms). */
  pollMs?: number;
  /**
   * Called once when the stream has nothing to read after having delivered
   * data (the idle tick): what was read is all there is for now. Called
   * between chunks, while the consumer waits for the next one; awaited.
   */
  onIdle?: () => void | Promise<void>;
}

/**
 * Follows a stream that may have nothing to say for a while: tracefs
 * trace_pipe, or a FIFO. The file is opened non-blocking and polled, so no
 * thread ever sits in a read the kernel will not end (which would keep the
 * process from exiting on Ctrl-C). A FIFO ends when its writer closes after
 * having written; trace_pipe never ends by itself.
 */
export async function openFollow(path: string, opts: FollowOptions = {}): Promise<OpenedInput> {
  const chunkSize = opts.chunkSize ?? 64 * 1024;
  const pollMs = opts.pollMs ?? 20;
  let fh: FileHandle;
  try {
    fh = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (e) {
    throw openError(path, e);
  }
  const handle = fh;
  let read = 0;
  let stopped = false;
  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => {
    stopped = true;
    closed ??= handle.close().catch(() => {});
    return closed;
  };
  const buf = Buffer.allocUnsafe(chunkSize);
  const onIdle = opts.onIdle;
  // data came since the last idle tick
  let fresh = false;
  const idle = async () => {
    if (!fresh || !onIdle) return;
    fresh = false;
    await onIdle();
  };
  // Adaptive back-off: right after data, look again almost at once (a busy
  // stream refills quickly); the longer it stays empty, the longer the naps, up to pollMs.
  let nap = 0;
  const sleep = () => {
    nap = nap === 0 ? 1 : Math.min(pollMs, nap * 2);
    return new Promise<void>((resolve) => setTimeout(resolve, nap));
  };
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      while (!stopped) {
        let n: number;
        try {
          n = (await handle.read(buf, 0, chunkSize, null)).bytesRead;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
            await idle();
            await sleep();
            continue;
          }
          if (stopped) return;
          throw new InputError(path, `byte ${read}`, `read failed: ${code ?? String(e)}`);
        }
        if (n === 0) {
          // A FIFO with no writer reads as EOF: the end once something was written.
          if (read > 0) return;
          await idle();
          await sleep();
          continue;
        }
        nap = 0;
        fresh = true;
        read += n;
        yield buf.subarray(0, n);
      }
    } finally {
      await close();
    }
  }
  return { kind: 'text', compression: 'none', chunks: chunks(), bytesRead: () => read, close };
}
