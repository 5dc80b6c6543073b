// Shared by the system-zstd tests (zstd-process, zstd-sync): page-like chunk
// data, and batches of zstd frames laid out as the trace.dat chunk feed
// reads them.

import { execFileSync } from 'node:child_process';
import type { Job } from '../../src/input/tracedat-inflate.js';
import { prng } from '../helpers/prng.js';

/** A batch as a ChunkFeed makes it: [csize u32][usize u32][frame] per chunk, and its jobs. */
export function batch(chunks: Uint8Array[]): { data: Uint8Array; jobs: Job[] } {
  const parts: Buffer[] = [];
  const jobs: Job[] = [];
  let off = 0;
  for (const c of chunks) {
    const frame = execFileSync('zstd', ['-c', '-q'], { input: c });
    const head = Buffer.alloc(8);
    head.writeUInt32LE(frame.length, 0);
    head.writeUInt32LE(c.length, 4);
    parts.push(head, frame);
    jobs.push({ off: off + 8, csize: frame.length, usize: c.length });
    off += 8 + frame.length;
  }
  return { data: new Uint8Array(Buffer.concat(parts)), jobs };
}

/** Page-like data: some structure, some noise, any size. */
export function chunkData(seed: number, size: number): Uint8Array {
  const r = prng(seed);
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = i % 16 < 8 ? (i >> 4) & 0xff : Math.floor(r() * 256);
  return b;
}
