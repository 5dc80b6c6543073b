// Worker thread of InflatePool (tracedat-inflate.ts): decompresses batches of
// trace.dat chunks, in this thread or (tool mode) through a `zstd -dc` child
// process that this thread keeps fed, and hands the results back without
// copying (transfer). A worker owns the child because its event loop is
// free: the pipes keep flowing while the main thread runs the merge.

import { parentPort } from 'node:worker_threads';
import { type Algorithm, type BatchResult, inflateBatch, type Job, zstdWasm } from './tracedat-inflate.js';
import { ZstdProcess } from './zstd-process.js';

interface Batch {
  /** Set on the pool's last message: stop the zstd child, then answer. */
  close?: true;
  id: number;
  alg: Algorithm;
  tool: boolean;
  data: Uint8Array;
  jobs: Job[];
}

let zstd: ZstdProcess | null = null;
void zstdWasm(); // in-process batches decompress through it once made (fzstd until then)

/**
 * Sends a batch back, moving its buffers. `own`: the outs are views of
 * buffers made for this batch (the zstd child's), moved as they are; else a
 * view of a shared buffer (node:zlib's pool) is copied out first.
 */
function reply(id: number, r: BatchResult, own: boolean): void {
  const transfer = new Set<ArrayBuffer>();
  const { outs, errors } = r;
  for (let i = 0; i < outs.length; i++) {
    let out = outs[i];
    if (!out) continue;
    if (!own && (out.byteOffset !== 0 || out.byteLength !== out.buffer.byteLength)) outs[i] = out = out.slice();
    transfer.add(out.buffer as ArrayBuffer);
  }
  parentPort!.postMessage({ id, outs, errors }, [...transfer]);
}

parentPort?.on('message', (m: Batch) => {
  if (m.close) {
    const z = zstd;
    zstd = null;
    void (z ? z.close() : Promise.resolve()).then(() => parentPort!.postMessage({ closed: true }));
    return;
  }
  if (m.tool && m.alg === 'zstd') {
    zstd ??= new ZstdProcess();
    void zstd.run(m.data, m.jobs).then((r) =>
      reply(
        m.id,
        r,
        r.errors.every((e) => e === null),
      ),
    );
    return;
  }
  reply(m.id, inflateBatch(m.alg, m.data, m.jobs), false);
});
