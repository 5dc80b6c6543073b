// tracefs per_cpu/cpuN/trace_pipe_raw followed in a worker thread: reading,
// decoding and the live merge there (tracefs-raw-worker.ts), the checks here,
// so the two overlap on two cores (on this project's machine: 1.3-1.4 times
// the events a second of one thread, README Performance). The events arrive
// packed in moved buffers (event-wire.ts), are unpacked into one reused
// DmaEvent, and each buffer goes back to be refilled. It presents RawLiveSource's face
// (counters, warnings, facts, run/stop/drain); the counters and warnings are
// final once run() has returned, and an InputError from the worker is thrown
// by run() after every event before it was delivered.

import type { RawLiveOptions } from './tracefs-raw.js';
import type { FromRawWorker, RawWorkerInput, ToRawWorker } from './tracefs-raw-worker.js';
import { rethrowOutcome, WorkerChannel, WorkerParserFace } from './worker-channel.js';

/**
 * RawLiveOptions, the timings and queue passed to the worker's source; onBatch
 * runs after each batch that crosses, and onIdle after every event before the
 * source's idle tick.
 */
export interface ThreadedRawOptions extends Omit<RawLiveOptions, 'littleEndian'> {
  /** The ring buffer was emptied before reading (InputFacts.overwriteKnown). */
  startsEmpty?: boolean;
}

export class ThreadedRawLive extends WorkerParserFace {
  private channel: WorkerChannel<FromRawWorker> | null = null;
  private stopAsked = false;

  constructor(
    readonly dir: string,
    private readonly opts: ThreadedRawOptions,
  ) {
    super(opts.names);
    if (opts.startsEmpty) this.facts.overwriteKnown = true;
  }

  /** Follows tracefs until stop() (or every CPU's stream ended); throws the worker's InputError. */
  async run(): Promise<void> {
    const o = this.opts;
    const data: RawWorkerInput = {
      dir: this.dir,
      file: o.file ?? this.dir,
      startsEmpty: o.startsEmpty === true,
      ...(o.pollMs !== undefined ? { pollMs: o.pollMs } : {}),
      ...(o.idleMs !== undefined ? { idleMs: o.idleMs } : {}),
      ...(o.queuePages !== undefined ? { queuePages: o.queuePages } : {}),
    };
    const channel = new WorkerChannel<FromRawWorker>(
      new URL('./tracefs-raw-worker.js', import.meta.url),
      data,
      'trace_pipe_raw',
    );
    this.channel = channel;
    if (this.stopAsked) this.post({ type: 'stop' });
    let delivered = 0;
    try {
      for (;;) {
        const m = await channel.next();
        if (m.type === 'batch') {
          delivered += this.deliver(channel, m, o.sink);
          if (o.onBatch) await o.onBatch(delivered);
        } else if (m.type === 'idle') {
          if (o.onIdle) await o.onIdle();
        } else {
          this.takeEnd(m);
          rethrowOutcome(m, 'trace_pipe_raw');
          return;
        }
      }
    } finally {
      this.channel = null;
      await channel.close();
    }
  }

  private post(m: ToRawWorker): void {
    this.channel?.post(m);
  }

  /**
   * Asks the worker to drain (what the kernel holds and every queued event
   * come in first) and stop; run() returns once they have been delivered.
   */
  stop(): void {
    if (this.stopAsked) return;
    this.stopAsked = true;
    this.post({ type: 'stop' });
  }

  /** As stop(): the events still held arrive through run(), which the caller awaits. */
  drain(): void {
    this.stop();
  }

  /** Parser shape for the pipeline: pages come from run(), not from pushes. */
  push(_chunk: Uint8Array): void {
    throw new Error(`${this.opts.file ?? this.dir}: ThreadedRawLive reads tracefs itself; call run()`);
  }

  end(): void {
    this.stop();
  }
}
