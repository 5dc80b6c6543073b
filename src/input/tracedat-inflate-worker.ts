// Worker thread of InflatePool (tracedat-inflate.ts): decompresses a batch of
// trace.dat chunks and hands the results back without copying (transfer).

import { parentPort } from 'node:worker_threads';
import { type Algorithm, inflateBlock, type Job } from './tracedat-inflate.js';

interface Batch {
  id: number;
  alg: Algorithm;
  data: Uint8Array;
  jobs: Job[];
}

parentPort?.on('message', (m: Batch) => {
  const outs: Array<Uint8Array | null> = [];
  const errors: Array<string | null> = [];
  const transfer: ArrayBuffer[] = [];
  for (const j of m.jobs) {
    try {
      let out = inflateBlock(m.alg, m.data.subarray(j.off, j.off + j.csize), j.usize);
      if (out.byteOffset !== 0 || out.byteLength !== out.buffer.byteLength) out = out.slice();
      outs.push(out);
      errors.push(null);
      transfer.push(out.buffer as ArrayBuffer);
    } catch (e) {
      outs.push(null);
      errors.push((e as Error).message ?? String(e));
    }
  }
  parentPort!.postMessage({ id: m.id, outs, errors }, transfer);
});
