// A parsing worker thread seen from the thread that runs the checks: its
// messages queued in order, taken without waiting (poll) or waited for (next),
// and its failure (an uncaught error, an early exit) thrown where the consumer
// next asks; and how a worker's parse ended (WorkerOutcome), carried by its
// last message and thrown again on this side. Shared by the trace.dat decoder
// (tracedat-threaded.ts) and the text parser (text-threaded.ts), which differ
// only in what they send.

import { type TransferListItem, Worker } from 'node:worker_threads';
import { InputError } from './errors.js';

/** How a parsing worker's run ended, as its last message carries it: an InputError's parts, or a bug. */
export interface WorkerOutcome {
  error: { file: string; where: string; detail: string } | null;
  bug: string | null;
}

/** The worker side: what stopped the parse (null: nothing did) as a message can carry it. */
export function outcomeOf(e: unknown): WorkerOutcome {
  if (e === null) return { error: null, bug: null };
  if (e instanceof InputError) return { error: { file: e.file, where: e.where, detail: e.detail }, bug: null };
  return { error: null, bug: e instanceof Error ? (e.stack ?? e.message) : String(e) };
}

/** The reading side: throws what stopped the worker's parse (a bug as an Error, else the InputError). */
export function rethrowOutcome(o: WorkerOutcome, what: string): void {
  if (o.bug !== null) throw new Error(`the ${what} worker failed: ${o.bug}`);
  if (o.error) throw new InputError(o.error.file, o.error.where, o.error.detail);
}

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
