// Worker thread of ThreadedTraceDat (tracedat-threaded.ts): reads one
// trace.dat file with TraceDatParser.readFile and sends its events, packed by
// event-wire.ts, to the thread that runs the checks. Buffers come back to be
// refilled; at a progress point it waits while more than a few are on their
// way (BatchSender), so a reader that falls behind holds the decoding back
// instead of memory growing.
// The last message says how the parse ended: its counters, warnings, notes,
// facts, and the InputError (or bug) that stopped it.

import { parentPort } from 'node:worker_threads';
import { Names } from '../base/interner.js';
import { TraceDatParser } from './tracedat.js';
import { zstdWasm } from './tracedat-inflate.js';
import { type BatchBack, BatchSender, type ParseEnd, parseEndOf } from './worker-channel.js';
import { whenStarted } from './worker-standby.js';

export interface WorkerInput {
  path: string;
  file: string;
  instance?: string;
  zstdTool?: boolean;
}

/** Worker -> reader messages. */
export type WorkerMessage =
  | { type: 'batch'; buf: Int32Array; words: number }
  | ({ type: 'end'; notes: string[] } & ParseEnd);

async function main(input: WorkerInput): Promise<void> {
  const port = parentPort!;
  const names = new Names();
  const out = new BatchSender(port, names);
  port.on('message', (m: BatchBack) => out.returned(m.buf));
  const wire = out.wire;
  let parser: TraceDatParser | null = null;
  let factsSent = false;
  let stopped: unknown = null;
  try {
    parser = new TraceDatParser({
      names,
      file: input.file,
      ...(input.instance !== undefined ? { instance: input.instance } : {}),
      sink: (ev) => {
        if (!factsSent) {
          factsSent = true;
          wire.facts(parser!.facts);
        }
        wire.event(ev);
      },
      quiet: (cpu, sec, ns) => wire.quiet(cpu, sec, ns),
    });
    await parser.readFile(input.path, {
      ...(input.zstdTool !== undefined ? { zstdTool: input.zstdTool } : {}),
      onProgress: () => out.sendAndWait(),
    });
  } catch (e) {
    stopped = e;
  }
  wire.send();
  port.postMessage({
    type: 'end',
    notes: parser ? [...parser.notes] : [],
    ...parseEndOf(parser, stopped),
  } satisfies WorkerMessage);
}

// (main adds its message listener before its first await, as whenStarted asks;
// on standby, the WebAssembly zstd decoder a v7 file waits for is made meanwhile)
whenStarted(
  (input: WorkerInput) => void main(input),
  () => void zstdWasm(),
);
