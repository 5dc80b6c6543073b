// Decompression of a big zstd trace.dat's ring-buffer chunks by the system's
// `zstd -dc`: one long-lived child process fed the chunks' frames back to
// back. Native zstd runs several times faster than fzstd, and in another
// process, so on a 2-core machine it overlaps the merge instead of competing
// with it in the main thread.
//
// Exactness: zstd turns concatenated frames into concatenated output, and
// trace-cmd's frames do not declare their sizes, so the output has to be cut
// back into chunks. After each chunk's frame we send a small frame of our own
// (one raw block) holding a 16-byte random marker, and check that the marker
// comes out exactly where the chunk's announced size ends. A frame that yields
// more or fewer bytes than announced therefore never passes unnoticed: a batch
// is handed over only when every marker in it checked out. On any mismatch,
// or when the child cannot start or exits, that batch and every later one are
// decompressed in process (inflateBatch), which names the bad chunk precisely.
//
// No stalls: zstd reads its input in blocks of about 128 KiB and writes its
// output through a stdio buffer, so the end of a batch could sit inside the
// child while we wait for it, and we send nothing more until it arrives. So
// each batch ends with padding that pushes it through: a skippable frame of
// 256 KiB (input, no output) and a frame of one RLE block that decompresses
// to 64 KiB of zeros (output, which we check and drop; its own tail may wait
// in the child until the next batch's output pushes it out).
// It runs in an InflatePool worker (tracedat-inflate-worker.ts), whose free
// event loop keeps both pipes flowing while the main thread merges.

import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { type BatchResult, inflateBatch, type Job } from './tracedat-inflate.js';

/** Bytes of the random marker that follows each chunk's output. */
export const MARK = 16;

/** A zstd frame whose content is `marker` (MARK bytes): single segment, 1-byte size, one last raw block. */
export function markerFrame(marker: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x20, MARK, (MARK << 3) | 1, 0, 0]), marker]);
}
/** Bytes of zeros the output padding frame yields (more than a stdio buffer). */
const PAD_OUT = 65536;
/** Payload of the input padding frame (more than zstd's read block). */
const PAD_IN = 256 * 1024;

/** One frame, one RLE block: PAD_OUT zero bytes (single segment, 2-byte content size). */
const PAD_OUT_FRAME = Buffer.from([
  0x28,
  0xb5,
  0x2f,
  0xfd,
  0x60,
  (PAD_OUT - 256) & 0xff,
  (PAD_OUT - 256) >> 8,
  ((PAD_OUT << 3) | 3) & 0xff,
  ((PAD_OUT << 3) >> 8) & 0xff,
  (PAD_OUT << 3) >> 16,
  0,
]);

/** A skippable frame (magic 0x184D2A50) of PAD_IN zero bytes: zstd reads it and writes nothing. */
function padInFrame(): Buffer {
  const b = Buffer.alloc(8 + PAD_IN);
  b.writeUInt32LE(0x184d2a50, 0);
  b.writeUInt32LE(PAD_IN, 4);
  return b;
}

interface Pending {
  data: Uint8Array;
  jobs: Job[];
  /** The batch's decompressed chunks, back to back. */
  out: Uint8Array;
  /** Where the next output byte goes in `out`. */
  filled: number;
  /** The chunk being filled, and how many of its marker bytes were checked. */
  chunk: number;
  chunkEnd: number;
  marked: number;
  resolve: (r: BatchResult) => void;
}

export class ZstdProcess {
  /** `command`: the zstd binary (tests name one that does not exist). */
  constructor(private readonly command = 'zstd') {}

  private child: ChildProcessWithoutNullStreams | null = null;
  /** Batches sent to the child, oldest first; their output arrives in this order. */
  private readonly queue: Pending[] = [];
  /** Set once the child is given up on: every batch then decompresses in process. */
  private broken = false;
  private readonly marker = randomBytes(MARK);
  private readonly markerFrame = markerFrame(this.marker);
  private readonly padIn = padInFrame();
  /** Output padding still to drop (zstd may hold the end of it until more output follows). */
  private padLeft = 0;

  run(data: Uint8Array, jobs: Job[]): Promise<BatchResult> {
    if (this.broken || jobs.length === 0) return Promise.resolve(inflateBatch('zstd', data, jobs));
    const child = this.child ?? this.start();
    if (!child) return Promise.resolve(inflateBatch('zstd', data, jobs));
    let total = 0;
    for (const j of jobs) total += j.usize;
    return new Promise<BatchResult>((resolve) => {
      // `data` is this batch's own read buffer: it stays valid (and unchanged) until the batch resolves
      const p: Pending = {
        data,
        jobs,
        out: new Uint8Array(total),
        filled: 0,
        chunk: 0,
        chunkEnd: 0,
        marked: 0,
        resolve,
      };
      p.chunkEnd = jobs[0]!.usize;
      this.queue.push(p);
      for (const j of jobs) {
        child.stdin.write(data.subarray(j.off, j.off + j.csize));
        child.stdin.write(this.markerFrame);
      }
      child.stdin.write(PAD_OUT_FRAME);
      child.stdin.write(this.padIn);
    });
  }

  private start(): ChildProcessWithoutNullStreams | null {
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn(this.command, ['-dc', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch {
      this.broken = true;
      return null;
    }
    this.child = child;
    child.on('error', () => this.giveUp()); // cannot start (ENOENT) or died
    child.on('close', () => this.giveUp());
    child.stdin.on('error', () => this.giveUp()); // EPIPE after a corrupt frame
    // with -q zstd writes only errors, and after one it may wait for more input instead of exiting
    child.stderr.on('data', () => this.giveUp());
    child.stdout.on('data', (b: Buffer) => this.take(b));
    return child;
  }

  /** The child's output: chunk bytes into the oldest batch, each chunk followed by the marker. */
  private take(b: Buffer): void {
    const marker = this.marker;
    let p = 0;
    while (p < b.length) {
      if (this.padLeft > 0) {
        // an earlier batch's padding: zeros, dropped
        const stop = Math.min(b.length, p + this.padLeft);
        for (let i = p; i < stop; i++) {
          if (b[i] !== 0) {
            this.giveUp(); // not our padding
            return;
          }
        }
        this.padLeft -= stop - p;
        p = stop;
        continue;
      }
      const head = this.queue[0];
      if (!head) {
        this.giveUp(); // output nobody asked for
        return;
      }
      if (head.filled < head.chunkEnd) {
        const n = Math.min(b.length - p, head.chunkEnd - head.filled);
        head.out.set(b.subarray(p, p + n), head.filled);
        head.filled += n;
        p += n;
        continue;
      }
      while (p < b.length && head.marked < MARK) {
        if (b[p] !== marker[head.marked]) {
          this.giveUp(); // the frame's output was not the size its chunk announced
          return;
        }
        p++;
        head.marked++;
      }
      if (head.marked < MARK) return;
      head.marked = 0;
      if (++head.chunk < head.jobs.length) {
        head.chunkEnd += head.jobs[head.chunk]!.usize;
        continue;
      }
      // every chunk is in and checked; the padding that follows may still be on its way
      this.queue.shift();
      this.padLeft += PAD_OUT;
      const outs: Array<Uint8Array | null> = [];
      let at = 0;
      for (const j of head.jobs) {
        outs.push(head.out.subarray(at, at + j.usize));
        at += j.usize;
      }
      head.resolve({ outs, errors: head.jobs.map(() => null) });
    }
  }

  /** Stops using the child; what it has not finished decompresses in process. */
  private giveUp(): void {
    this.broken = true;
    const child = this.child;
    this.child = null;
    if (child) {
      child.stdout.removeAllListeners('data');
      child.kill();
    }
    for (const p of this.queue.splice(0)) p.resolve(inflateBatch('zstd', p.data, p.jobs));
  }

  async close(): Promise<void> {
    const child = this.child;
    this.broken = true;
    if (!child) return;
    this.child = null;
    child.removeAllListeners('close');
    child.stdout.removeAllListeners('data');
    const gone = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.stdin.end();
    child.kill();
    await gone;
  }
}
