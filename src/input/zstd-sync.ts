// Decompression of small zstd trace.dat files by the system's `zstd -dc`, run
// once per batch and waited for (spawnSync). fzstd is slow to start: on a
// typical recorded trace (a few MB decompressed, with a big kallsyms section)
// it spent 40-75 ms of a 0.18-0.25 s run warming up and decompressing, where
// one zstd run per section or per CPU's data takes a few ms. Big files keep
// the long-lived child of zstd-process.ts, whose worker overlaps it with the
// merge; here nothing needs to overlap.
//
// Batches asked for together (each CPU's first batch, when the merge starts
// every CPU's reading at once) share one zstd run, and so do the big metadata
// sections (blocks, called by the reader before it reads any): a run costs
// 15-50 ms of process start from a Node process, whatever it decompresses,
// so a trace of many CPUs would otherwise pay that once per CPU and section.
//
// Exactness is zstd-process.ts's: each chunk's frame is followed by a frame
// holding a 16-byte random marker, and the output is used only when it is
// exactly each chunk's announced size followed by the marker, zstd exited 0
// and said nothing. Otherwise the batch decompresses in process
// (inflateBatch), which names a bad chunk precisely; when zstd cannot be
// started, it is not tried again.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { type BatchResult, type ChunkDecompressor, inflateBatch, type Job } from './tracedat-inflate.js';
import { MARK, markerFrame } from './zstd-process.js';

export class ZstdSync implements ChunkDecompressor {
  /** A small file's CPU data in one run (small files are under 4 MiB compressed). */
  readonly batchBytes = 4 << 20;
  /** Batches decompress when asked for: there is nothing to read ahead for. */
  readonly depth = 1;
  private broken = false;
  private readonly marker = randomBytes(MARK);
  private readonly markerFrame = markerFrame(this.marker);

  /** `command`: the zstd binary (tests name one that does not exist). */
  constructor(private readonly command = 'zstd') {}

  /** Batches asked for since the last zstd run: run together once the code that asked returns (a microtask). */
  private queue: Array<{ data: Uint8Array; jobs: Job[]; resolve: (r: BatchResult) => void }> = [];

  run(data: Uint8Array, jobs: Job[]): Promise<BatchResult> {
    return new Promise<BatchResult>((resolve) => {
      if (this.queue.push({ data, jobs, resolve }) === 1) queueMicrotask(() => this.flush());
    });
  }

  private flush(): void {
    const q = this.queue;
    this.queue = [];
    const all = this.viaTool(q);
    // when the run cannot be trusted, each batch decompresses in process (which names a bad chunk)
    for (const [i, b] of q.entries()) b.resolve(all?.[i] ?? inflateBatch('zstd', b.data, b.jobs));
  }

  /**
   * Several blocks (metadata sections) in one run: each one's bytes, or null
   * for all when the run cannot be trusted.
   */
  blocks(list: ReadonlyArray<{ data: Uint8Array; usize: number }>): Uint8Array[] | null {
    const r = this.viaTool(list.map(({ data, usize }) => ({ data, jobs: [{ off: 0, csize: data.length, usize }] })));
    return r ? r.map((b) => b.outs[0]!) : null;
  }

  /** One block (a metadata section) of `usize` bytes, or null when zstd did not give exactly that. */
  block(data: Uint8Array, usize: number): Uint8Array | null {
    return this.blocks([{ data, usize }])?.[0] ?? null;
  }

  async close(): Promise<void> {}

  /** Every batch's bytes from one zstd run, or null when that run cannot be trusted. */
  private viaTool(batches: ReadonlyArray<{ data: Uint8Array; jobs: readonly Job[] }>): BatchResult[] | null {
    if (this.broken) return null;
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const { data, jobs } of batches) {
      for (const j of jobs) {
        parts.push(data.subarray(j.off, j.off + j.csize), this.markerFrame);
        total += j.usize + MARK;
      }
    }
    if (parts.length === 0) return null;
    const r = spawnSync(this.command, ['-dc', '-q'], {
      input: Buffer.concat(parts),
      maxBuffer: total, // more output than announced stops zstd (ENOBUFS)
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') this.broken = true;
    const out = r.stdout;
    if (r.error || r.status !== 0 || (r.stderr && r.stderr.length > 0) || !out || out.length !== total) return null;
    const results: BatchResult[] = [];
    let at = 0;
    for (const { jobs } of batches) {
      const outs: Array<Uint8Array | null> = [];
      for (const j of jobs) {
        outs.push(new Uint8Array(out.buffer, out.byteOffset + at, j.usize));
        at += j.usize;
        for (let k = 0; k < MARK; k++) if (out[at + k] !== this.marker[k]) return null;
        at += MARK;
      }
      results.push({ outs, errors: jobs.map(() => null) });
    }
    return results;
  }
}
