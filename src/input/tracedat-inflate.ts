// Decompression of trace.dat blocks (v7 sections and ring-buffer chunks):
// zstd through the reference decoder built for WebAssembly (zstddec) once
// this thread has made it (zstdWasm()), else through fzstd; zlib through
// node:zlib; all in process. It owns the sanity checks that keep a corrupt
// header from making the decoder allocate what it claims, and the pool of
// worker threads that decompresses a large file's chunks in parallel with the
// merge (readFile mode only).
//
// Why WebAssembly: on the storm trace.dat (17.5 MB of zstd chunks, 95 MB
// decompressed) fzstd took about 1 s of the decoding thread, zstddec 0.33 s
// (0.19 s of it its JavaScript side, a fresh buffer a chunk). On 2 cores it
// also beats keeping a system `zstd -dc` fed from a third thread
// (zstd-process.ts): the run took 1.70-2.03 s against 2.24-2.28 s, and 3.0
// s of CPU against 3.7, since the child, its pipes and that thread competed
// with the decoding and the checks for the two cores. With more cores the
// pool's workers (or the zstd child) decompress ahead while the decoding
// thread decodes. A sound frame gives the same bytes either way, and a frame
// the WebAssembly decoder rejects goes through fzstd, so which one a block
// went through never shows.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { inflateSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { ZSTDDecoder } from 'zstddec';

export type Algorithm = 'zstd' | 'zlib';

/** Largest block accepted (v7 blocks are sections and chunks of a few pages). */
export const MAX_BLOCK = 1 << 30;

/**
 * What a zstd frame's header says (RFC 8878 3.1.1.1): `problem` when it is
 * not a frame we accept (no magic, a cut header, a window over 128 MiB),
 * else the content size it declares (-1: none declared).
 */
function zstdHeader(d: Uint8Array): { problem: string; size: number } {
  if (d.length < 6 || d[0] !== 0x28 || d[1] !== 0xb5 || d[2] !== 0x2f || d[3] !== 0xfd) {
    return { problem: 'no zstd frame magic', size: -1 };
  }
  const fhd = d[4]!;
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  const dictBytes = [0, 1, 2, 4][fhd & 3]!;
  let p = 5;
  if (!single) {
    const wd = d[p++]!;
    const base = 2 ** (10 + (wd >> 3));
    const window = base + (base / 8) * (wd & 7);
    if (window > 1 << 27) return { problem: `a window of ${window} bytes`, size: -1 };
  }
  p += dictBytes;
  const fcsBytes = [single ? 1 : 0, 2, 4, 8][fcsFlag]!;
  if (fcsBytes === 0) return { problem: '', size: -1 };
  if (p + fcsBytes > d.length) return { problem: 'a cut frame header', size: -1 };
  let fcs = 0;
  for (let i = fcsBytes - 1; i >= 0; i--) fcs = fcs * 256 + d[p + i]!;
  if (fcsBytes === 2) fcs += 256;
  return { problem: '', size: fcs };
}

/**
 * Why a zstd frame cannot hold `usize` bytes ('' when it may): its magic,
 * and the content size or window its header announces. trace-cmd writes one
 * frame per block, so the first frame tells.
 */
export function zstdFrameProblem(d: Uint8Array, usize: number): string {
  const h = zstdHeader(d);
  if (h.problem !== '' || h.size < 0 || h.size === usize) return h.problem;
  return `the frame holds ${h.size} bytes`;
}

/**
 * Blocks the WebAssembly decoder takes: at most this size (it allocates the
 * size announced up front, in memory that never shrinks, so a damaged size
 * must not make it big; trace-cmd's frames do not declare theirs). Chunks
 * are a few pages, and kallsyms, the biggest section, is a few MB.
 */
const WASM_MAX_BLOCK = 16 << 20;
/** This thread's WebAssembly zstd decoder, once made. */
let wasm: ZSTDDecoder | null = null;
let wasmMaking: Promise<void> | null = null;

/**
 * Makes this thread's WebAssembly zstd decoder; resolves once it is in use,
 * or could not be made (fzstd then decompresses everything). Until then,
 * blocks go through fzstd.
 */
export function zstdWasm(): Promise<void> {
  if (wasmMaking) return wasmMaking;
  const d = new ZSTDDecoder();
  // zstddec loads its module through fetch() when there is one: Node's takes 70-80 ms
  // to start, WebAssembly.instantiate 5. It decides when init() is called.
  const fetch = Object.getOwnPropertyDescriptor(globalThis, 'fetch');
  let made: Promise<void>;
  try {
    if (fetch) Object.defineProperty(globalThis, 'fetch', { ...fetch, value: undefined });
    made = d.init();
  } catch (e) {
    made = Promise.reject(e);
  } finally {
    if (fetch) Object.defineProperty(globalThis, 'fetch', fetch);
  }
  wasmMaking = made.then(
    () => {
      wasm = d;
    },
    () => {},
  );
  return wasmMaking;
}

/** The block through WebAssembly; null when that does not give exactly `usize` bytes. */
function wasmDecode(d: ZSTDDecoder, data: Uint8Array, usize: number): Uint8Array | null {
  try {
    const out = d.decode(data, usize);
    return out.length === usize ? out : null;
  } catch {
    return null; // a trap: the block goes to fzstd
  }
}

/** Does this thread decompress zstd through WebAssembly (zstdWasm() resolved, and it worked)? */
export function zstdWasmReady(): boolean {
  return wasm !== null;
}

/**
 * Decompresses one block of `usize` bytes; throws an Error saying what is
 * wrong. `wasmOk`: zstd may go through this thread's WebAssembly decoder
 * (once made); a frame it cannot make `usize` bytes of goes through fzstd
 * after all, so that a damaged block is judged, and named, as it always was.
 */
export function inflateBlock(alg: Algorithm, data: Uint8Array, usize: number, wasmOk = true): Uint8Array {
  if (usize > MAX_BLOCK) throw new Error(`an uncompressed size of ${usize} bytes is not plausible`);
  let out: Uint8Array;
  if (alg === 'zstd') {
    const bad = zstdFrameProblem(data, usize);
    if (bad !== '') throw new Error(bad);
    out = (wasmOk && wasm !== null && usize <= WASM_MAX_BLOCK && wasmDecode(wasm, data, usize)) || zstdDecompress(data);
  } else {
    out = new Uint8Array(inflateSync(data, { maxOutputLength: Math.max(1, usize) }));
  }
  if (out.length !== usize) throw new Error(`${out.length} bytes, expected ${usize}`);
  return out;
}

/** Decompresses each block of a batch in this thread: its bytes, or why it failed. */
export function inflateBatch(alg: Algorithm, data: Uint8Array, jobs: readonly Job[]): BatchResult {
  const outs: Array<Uint8Array | null> = [];
  const errors: Array<string | null> = [];
  for (const j of jobs) {
    try {
      outs.push(inflateBlock(alg, data.subarray(j.off, j.off + j.csize), j.usize));
      errors.push(null);
    } catch (e) {
      outs.push(null);
      errors.push((e as Error).message ?? String(e));
    }
  }
  return { outs, errors };
}

// ---------------------------------------------------------------- the pool

/** One block to decompress: data[off, off + csize) of a batch buffer. */
export interface Job {
  off: number;
  csize: number;
  usize: number;
}

/** What a worker sends back for a batch: each block, or why it failed. */
export interface BatchResult {
  outs: Array<Uint8Array | null>;
  errors: Array<string | null>;
}

interface Pending {
  resolve: (r: BatchResult) => void;
  reject: (e: unknown) => void;
}

/** What the trace.dat chunk feed needs of a decompressor: InflatePool, or ZstdSync (zstd-sync.ts). */
export interface ChunkDecompressor {
  /** Compressed bytes to send per batch. */
  readonly batchBytes: number;
  /** Batches per CPU to keep in flight or waiting. */
  readonly depth: number;
  run(data: Uint8Array, jobs: Job[]): Promise<BatchResult>;
  close(): Promise<void>;
}

/** Worker threads running tracedat-inflate-worker.js; batches go round-robin. */
export class InflatePool implements ChunkDecompressor {
  readonly batchBytes = 512 * 1024;
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private turn = 0;
  private failed: unknown = null;

  /**
   * `tool`: one worker that keeps a system `zstd -dc` fed (zstd-process.ts)
   * instead of decompressing itself (measured: a deeper read-ahead for it
   * only costs memory).
   */
  constructor(
    private readonly alg: Algorithm,
    threads = InflatePool.defaultThreads(),
    private readonly tool = false,
  ) {
    if (tool) threads = 1;
    for (let i = 0; i < threads; i++) {
      const w = new Worker(new URL('./tracedat-inflate-worker.js', import.meta.url));
      w.on('message', (m: { id: number; outs: Array<Uint8Array | null>; errors: Array<string | null> }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        p.resolve({ outs: m.outs, errors: m.errors });
      });
      w.on('error', (e) => this.fail(e));
      this.workers.push(w);
    }
  }

  /** Two batches per worker and one more, so that every worker always has the next one. */
  get depth(): number {
    return 2 * this.workers.length + 1;
  }

  /**
   * Worker threads for a big file: one per core beyond the main thread's, up
   * to 4. On two cores none: a lone worker decompresses slower than the main
   * thread (measured), and two compete with the merge for the same cores.
   */
  static defaultThreads(): number {
    const cores = availableParallelism();
    return cores >= 3 ? Math.min(4, cores - 1) : 0;
  }

  private fail(e: unknown): void {
    this.failed = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Decompresses the blocks of `data` (whose buffer is handed over to the worker). */
  run(data: Uint8Array, jobs: Job[]): Promise<BatchResult> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    const w = this.workers[this.turn++ % this.workers.length]!;
    return new Promise<BatchResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const buf = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
      w.postMessage({ id, alg: this.alg, tool: this.tool, data: buf, jobs }, [buf.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    if (this.tool) {
      // the worker's zstd child must exit and be reaped while the worker lives (else it stays a zombie)
      await Promise.all(
        this.workers.map(
          (w) =>
            new Promise<void>((resolve) => {
              const done = (m: { closed?: boolean }) => {
                if (m.closed !== true) return; // a batch still answering
                clearTimeout(timer);
                w.off('message', done);
                resolve();
              };
              const timer = setTimeout(() => {
                w.off('message', done);
                resolve();
              }, 2000);
              w.on('message', done);
              w.postMessage({ close: true });
            }),
        ),
      );
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
