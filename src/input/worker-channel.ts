// A parsing worker thread seen from the thread that runs the checks: its
// messages queued in order, taken without waiting (poll) or waited for (next),
// and its failure (an uncaught error, an early exit) thrown where the consumer
// next asks; and how a worker's parse ended (WorkerOutcome, ParseEnd), carried
// by its last message and thrown again on this side. Shared by the trace.dat
// decoder (tracedat-threaded.ts), the text parser (text-threaded.ts) and live
// trace_pipe_raw (tracefs-raw-threaded.ts), which differ only in what they
// send. Both ends of the event batches live here too: BatchSender in the
// worker (buffers out, back, and the wait when too many are on their way) and
// WorkerParserFace on this side (the counters and facts a parser shows, and
// the unpacking).

import { type MessagePort, type TransferListItem, Worker } from 'node:worker_threads';
import type { Names } from '../base/interner.js';
import { DmaEvent, type EventSink, type InputFacts, noInputFacts } from '../engine/events.js';
import { InputError } from './errors.js';
import { BATCH_WORDS, WireReader, WireWriter } from './event-wire.js';
import type { ParseWarning } from './text-parser.js';
import { takeStandby } from './worker-standby.js';

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
    this.worker = takeStandby(url, workerData) ?? new Worker(url, { workerData });
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

/** What a parsing worker's last message carries besides its outcome: counters, warnings, facts. */
export interface ParseEnd extends WorkerOutcome {
  lines: number;
  events: number;
  skipped: number;
  warnings: number;
  warningList: ParseWarning[];
  facts: InputFacts;
}

/** The worker side: a parser's end (null: it was never made) as its last message carries it. */
export function parseEndOf(
  p: (Omit<ParseEnd, keyof WorkerOutcome | 'warningList'> & { warningList: readonly ParseWarning[] }) | null,
  stopped: unknown,
): ParseEnd {
  return {
    lines: p?.lines ?? 0,
    events: p?.events ?? 0,
    skipped: p?.skipped ?? 0,
    warnings: p?.warnings ?? 0,
    warningList: p ? [...p.warningList] : [],
    facts: p ? { ...p.facts } : noInputFacts(),
    ...outcomeOf(stopped),
  };
}

/** Reader -> worker: a batch's buffer, back to be refilled (BatchSender.returned). */
export interface BatchBack {
  type: 'batch-back';
  buf: Int32Array;
}

/**
 * The worker side of the event batches: a WireWriter whose buffers go to the
 * parent as { type: 'batch', buf, words } and come back (returned()) to be
 * refilled. While more than `max` are on their way, sendAndWait() waits, so a
 * reader that falls behind holds the worker back instead of memory growing.
 */
export class BatchSender {
  readonly wire: WireWriter;
  private readonly spare: Int32Array[] = [];
  private inFlight = 0;
  private wake: (() => void) | null = null;
  private released = false;

  constructor(
    port: MessagePort,
    names: Names,
    private readonly max = 4,
  ) {
    this.wire = new WireWriter(
      names,
      (buf, words) => {
        this.inFlight++;
        port.postMessage({ type: 'batch', buf, words }, [buf.buffer as ArrayBuffer]);
      },
      () => this.spare.pop() ?? new Int32Array(BATCH_WORDS),
    );
  }

  /** A batch's buffer came back. */
  returned(buf: Int32Array): void {
    this.spare.push(buf);
    this.inFlight--;
    this.wake?.();
  }

  /** Sends what is buffered, then waits while more than `max` batches are on their way. */
  async sendAndWait(): Promise<void> {
    this.wire.send();
    while (this.inFlight > this.max && !this.released) await new Promise<void>((r) => (this.wake = r));
    this.wake = null;
  }

  /** Waits no more (the run is stopping: what is left goes out at once). */
  release(): void {
    this.released = true;
    this.wake?.();
  }
}

/**
 * This side of a parser that runs in a worker: the counters, warnings and
 * facts the pipeline and the summary read (final once the worker's last
 * message was taken, takeEnd()), and the unpacking of its batches into one
 * reused DmaEvent.
 */
export class WorkerParserFace {
  readonly facts: InputFacts = noInputFacts();
  lines = 0;
  events = 0;
  skipped = 0;
  warnings = 0;
  readonly warningList: ParseWarning[] = [];
  private readonly reader: WireReader;
  private readonly ev = new DmaEvent();

  constructor(names: Names, quiet?: (cpu: number, sec: number, ns: number) => void) {
    this.reader = new WireReader(names, this.facts, quiet);
  }

  /** Hands a batch's events to `sink` and its buffer back to the worker (BatchBack); returns how many. */
  protected deliver(to: WorkerChannel<unknown>, m: { buf: Int32Array; words: number }, sink: EventSink): number {
    const n = this.reader.read(m.buf, m.words, this.ev, sink);
    to.post({ type: 'batch-back', buf: m.buf } satisfies BatchBack, [m.buf.buffer as ArrayBuffer]);
    return n;
  }

  /** Takes the last message's counters, warnings and facts (rethrowOutcome then throws what stopped it). */
  protected takeEnd(m: ParseEnd): void {
    this.lines = m.lines;
    this.events = m.events;
    this.skipped = m.skipped;
    this.warnings = m.warnings;
    this.warningList.push(...m.warningList);
    Object.assign(this.facts, m.facts);
  }
}
