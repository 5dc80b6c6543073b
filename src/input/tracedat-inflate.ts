// Decompression of trace.dat blocks (v7 sections and ring-buffer chunks):
// zstd through fzstd, zlib through node:zlib, both in process. It owns the
// sanity checks that keep a corrupt header from making the decoder allocate
// what it claims, and the pool of worker threads that decompresses a large
// file's chunks in parallel with the merge (readFile mode only).
//
// Why workers: fzstd runs at ~250 MB/s, so on a big zstd trace.dat the
// decompression costs about twice the decoding. Chunks are independent, so
// a few threads decompress the next ones while the main thread decodes.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { inflateSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';

export type Algorithm = 'zstd' | 'zlib';

/** Largest block accepted (v7 blocks are sections and chunks of a few pages). */
export const MAX_BLOCK = 1 << 30;

/**
 * Why a zstd frame cannot hold `usize` bytes ('' when it may): its magic,
 * and the content size or window its header announces (RFC 8878 3.1.1.1).
 * trace-cmd writes one frame per block, so the first frame tells.
 */
export function zstdFrameProblem(d: Uint8Array, usize: number): string {
  if (d.length < 6 || d[0] !== 0x28 || d[1] !== 0xb5 || d[2] !== 0x2f || d[3] !== 0xfd) return 'no zstd frame magic';
  const fhd = d[4]!;
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  const dictBytes = [0, 1, 2, 4][fhd & 3]!;
  let p = 5;
  if (!single) {
    const wd = d[p++]!;
    const base = 2 ** (10 + (wd >> 3));
    const window = base + (base / 8) * (wd & 7);
    if (window > 1 << 27) return `a window of ${window} bytes`;
  }
  p += dictBytes;
  const fcsBytes = [single ? 1 : 0, 2, 4, 8][fcsFlag]!;
  if (fcsBytes === 0) return '';
  if (p + fcsBytes > d.length) return 'a cut frame header';
  let fcs = 0;
  for (let i = fcsBytes - 1; i >= 0; i--) fcs = fcs * 256 + d[p + i]!;
  if (fcsBytes === 2) fcs += 256;
  return fcs === usize ? '' : `the frame holds ${fcs} bytes`;
}

/** Decompresses one block of `usize` bytes; throws an Error saying what is wrong. */
export function inflateBlock(alg: Algorithm, data: Uint8Array, usize: number): Uint8Array {
  if (usize > MAX_BLOCK) throw new Error(`an uncompressed size of ${usize} bytes is not plausible`);
  let out: Uint8Array;
  if (alg === 'zstd') {
    const bad = zstdFrameProblem(data, usize);
    if (bad !== '') throw new Error(bad);
    out = zstdDecompress(data);
  } else {
    out = new Uint8Array(inflateSync(data, { maxOutputLength: Math.max(1, usize) }));
  }
  if (out.length !== usize) throw new Error(`${out.length} bytes, expected ${usize}`);
  return out;
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

/** Worker threads running tracedat-inflate-worker.js; batches go round-robin. */
export class InflatePool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private turn = 0;
  private failed: unknown = null;

  constructor(
    private readonly alg: Algorithm,
    threads = InflatePool.defaultThreads(),
  ) {
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

  get size(): number {
    return this.workers.length;
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
      w.postMessage({ id, alg: this.alg, data: buf, jobs }, [buf.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
