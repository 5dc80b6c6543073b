// A parsing worker thread seen from the thread that runs the checks: its
// messages queued in order, taken without waiting (poll) or waited for (next),
// and its failure (an uncaught error, an early exit) thrown where the consumer
// next asks. Shared by the trace.dat decoder (tracedat-threaded.ts) and the
// text parser (text-threaded.ts), which differ only in what they send.

import { type TransferListItem, Worker } from 'node:worker_threads';

export class WorkerChannel<M> {
  private readonly worker: Worker;
  private readonly queue: M[] = [];
  private head = 0;
  private wake: (() => void) | null = null;
  private failure: unknown = null;

  constructor(url: URL, workerData: unknown, what: string) {
    this.worker = new Worker(url, { workerData });
    this.worker.on('message', (m: M) => {
      this.queue.push(m);
      this.wake?.();
    });
    this.worker.on('error', (e) => {
      this.failure = e;
      this.wake?.();
    });
    this.worker.on('exit', () => {
      this.failure ??= new Error(`the ${what} worker exited early`);
      this.wake?.();
    });
  }

  /** The next queued message, or undefined; throws the worker's failure once nothing is queued. */
  poll(): M | undefined {
    if (this.head < this.queue.length) {
      const m = this.queue[this.head++]!;
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
      }
      return m;
    }
    if (this.failure) throw this.failure;
    return undefined;
  }

  /** The next message, waiting for it. */
  async next(): Promise<M> {
    for (;;) {
      const m = this.poll();
      if (m !== undefined) return m;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
  }

  post(m: unknown, transfer: readonly TransferListItem[] = []): void {
    this.worker.postMessage(m, transfer);
  }

  /** Stops the worker (its exit is no failure then). */
  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}
