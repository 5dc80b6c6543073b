// A trace.dat read in a worker thread: decoding there (tracedat-worker.ts)
// while this thread runs the checks, so the two overlap on two cores. The
// events arrive packed in moved buffers (event-wire.ts), are unpacked into one
// reused DmaEvent, and each buffer goes back to be refilled. It presents the
// same face as TraceDatParser (counters, warnings, notes, facts) once done,
// and an InputError from the worker becomes this thread's, after every event
// before the damage was delivered.
//
// Worth it for big files only (threadedWorker() in worker-standby.ts): starting the worker costs tens of ms.

import type { Names } from '../base/interner.js';
import type { EventSink } from '../engine/events.js';
import type { WorkerInput, WorkerMessage } from './tracedat-worker.js';
import { rethrowOutcome, WorkerChannel, WorkerParserFace } from './worker-channel.js';

export interface ThreadedOptions {
  names: Names;
  sink: EventSink;
  file: string;
  instance?: string;
  zstdTool?: boolean;
  /** The merge's promises about quiet CPUs (TraceDatParserOptions.quiet), among the events. */
  quiet?: (cpu: number, sec: number, ns: number) => void;
  /** After each buffer of events (events so far); may return a promise (backpressure). */
  onProgress?: (events: number) => void | Promise<void>;
}

type EndMessage = Extract<WorkerMessage, { type: 'end' }>;

export class ThreadedTraceDat extends WorkerParserFace {
  readonly notes: string[] = [];

  constructor(private readonly opts: ThreadedOptions) {
    super(opts.names, opts.quiet);
  }

  /** Reads the whole file; throws the worker's InputError after delivering every event before it. */
  async readFile(path: string): Promise<void> {
    const o = this.opts;
    const data: WorkerInput = {
      path,
      file: o.file,
      ...(o.instance !== undefined ? { instance: o.instance } : {}),
      ...(o.zstdTool !== undefined ? { zstdTool: o.zstdTool } : {}),
    };
    const channel = new WorkerChannel<WorkerMessage>(
      new URL('./tracedat-worker.js', import.meta.url),
      data,
      'trace.dat',
    );
    let delivered = 0;
    try {
      for (;;) {
        const m = await channel.next();
        if (m.type === 'batch') {
          delivered += this.deliver(channel, m, o.sink);
          if (o.onProgress) await o.onProgress(delivered);
          continue;
        }
        this.finish(m);
        return;
      }
    } finally {
      await channel.close();
    }
  }

  private finish(m: EndMessage): void {
    this.takeEnd(m);
    this.notes.push(...m.notes);
    rethrowOutcome(m, 'trace.dat');
  }

  push(): void {
    throw new Error('ThreadedTraceDat reads files only (readFile)');
  }

  end(): void {}
}
