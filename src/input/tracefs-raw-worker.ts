// Worker thread of ThreadedRawLive (tracefs-raw-threaded.ts): follows
// per_cpu/cpuN/trace_pipe_raw with a RawLiveSource (reading, decoding and the
// live merge across CPUs all happen here) and sends the merged events, packed
// by event-wire.ts, to the thread that runs the checks. A batch goes out once
// it holds half a buffer or SEND_MS after the last one (a message per read
// round cost more than its events), and at the source's idle tick, which goes
// out as its own message after the events before it: findings stay prompt.
// Buffers come back to be refilled; while more than a few are on their way
// (BatchSender), the source is not read (the kernel then drops events and
// says so, as it does when one thread falls behind).
// A 'stop' message drains the source (what the kernel holds and every queued
// event); the last message says how the run ended.

import { parentPort, workerData } from 'node:worker_threads';
import { Names } from '../base/interner.js';
import { BATCH_WORDS } from './event-wire.js';
import { type RawLiveOptions, RawLiveSource } from './tracefs-raw.js';
import { type BatchBack, BatchSender, type ParseEnd, parseEndOf } from './worker-channel.js';

export interface RawWorkerInput {
  dir: string;
  file: string;
  /** The ring buffer was emptied before reading (InputFacts.overwriteKnown). */
  startsEmpty: boolean;
  pollMs?: number;
  idleMs?: number;
  queuePages?: number;
}

/** Reader -> worker messages. */
export type ToRawWorker = BatchBack | { type: 'stop' };

/** Worker -> reader messages. */
export type FromRawWorker =
  | { type: 'batch'; buf: Int32Array; words: number }
  | { type: 'idle' }
  | ({ type: 'end' } & ParseEnd);

/** A batch waits at most this long (ms) after the last one went out (a timer sends it then). */
const SEND_MS = 4;

async function main(): Promise<void> {
  const input = workerData as RawWorkerInput;
  const port = parentPort!;
  const names = new Names();
  const out = new BatchSender(port, names);
  const wire = out.wire;
  let src: RawLiveSource | null = null;
  let stopAsked = false;
  let sentAt = 0;
  port.on('message', (m: ToRawWorker) => {
    if (m.type === 'batch-back') {
      out.returned(m.buf);
      return;
    }
    stopAsked = true;
    out.release();
    src?.stop();
  });
  let timer: ReturnType<typeof setTimeout> | null = null;
  const send = (): void => {
    if (timer) clearTimeout(timer);
    timer = null;
    sentAt = performance.now();
    wire.send();
  };
  let stopped: unknown = null;
  try {
    const opts: RawLiveOptions = {
      names,
      file: input.file,
      sink: (ev) => {
        wire.factsIfChanged(src!.facts);
        wire.event(ev);
      },
      onBatch: async () => {
        // a message per round costs more than its events when rounds are small: send every few ms
        if (performance.now() - sentAt < SEND_MS && wire.words < BATCH_WORDS / 2) {
          timer ??= setTimeout(send, SEND_MS);
          return;
        }
        send();
        await out.sendAndWait(); // sent: waits while too many batches are on their way
      },
      onIdle: () => {
        send();
        port.postMessage({ type: 'idle' } satisfies FromRawWorker);
      },
      ...(input.pollMs !== undefined ? { pollMs: input.pollMs } : {}),
      ...(input.idleMs !== undefined ? { idleMs: input.idleMs } : {}),
      ...(input.queuePages !== undefined ? { queuePages: input.queuePages } : {}),
    };
    src = new RawLiveSource(input.dir, opts);
    if (input.startsEmpty) src.facts.overwriteKnown = true;
    wire.facts(src.facts);
    if (stopAsked) src.stop();
    await src.run();
  } catch (e) {
    stopped = e;
  }
  send();
  port.postMessage({ type: 'end', ...parseEndOf(src, stopped) } satisfies FromRawWorker);
}

void main();
