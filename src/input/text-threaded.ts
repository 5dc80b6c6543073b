// A text trace parsed in a worker thread (text-worker.ts) while this thread
// runs the checks, so the two share two cores the way a trace.dat's decoding
// and checking do. This thread still reads the input (file, stdin or a
// decompressor: source.ts; a pipe of unknown size once it read as big),
// copies the chunks into buffers it moves to the worker (small reads share
// one), and unpacks the events that come back (event-wire.ts) into one reused
// DmaEvent for the sink. At most MAX_CHUNKS chunks are on their way, so a
// checker that falls behind holds the reading back instead of memory growing.
// Once done it presents TextParser's counters, warnings and facts, and an
// InputError from the worker becomes this thread's, after every event before
// it was delivered.
//
// Worth it for big inputs only (threadedWorker() in worker-standby.ts): starting the worker costs tens of ms.

import type { Names } from '../base/interner.js';
import type { EventSink } from '../engine/events.js';
import { InputError } from './errors.js';
import type { FromTextWorker, TextEnd, TextWorkerInput, ToTextWorker } from './text-worker.js';
import { rethrowOutcome, WorkerChannel, WorkerParserFace } from './worker-channel.js';

const MAX_CHUNKS = 4;
/** The buffers that carry the input to the worker; one goes out once it holds half this. */
const CHUNK_BYTES = 1 << 20;

export interface ThreadedTextOptions {
  names: Names;
  sink: EventSink;
  file: string;
}

export class ThreadedText extends WorkerParserFace {
  eventLines = 0;
  damagedLines = 0;
  sawReportHeader = false;

  constructor(private readonly opts: ThreadedTextOptions) {
    super(opts.names);
  }

  /**
   * Reads `chunks` (an OpenedInput's, maybe read ahead) to its end (or to the
   * worker's InputError, which it throws after delivering every event before
   * it). `onChunk` runs after each chunk read, with the events delivered so
   * far. Returns the bytes read.
   */
  async read(chunks: AsyncIterable<Uint8Array>, onChunk?: (events: number) => void | Promise<void>): Promise<number> {
    const channel = new WorkerChannel<FromTextWorker>(
      new URL('./text-worker.js', import.meta.url),
      { file: this.opts.file } satisfies TextWorkerInput,
      'text parsing',
    );
    const spare: Uint8Array[] = [];
    let inFlight = 0;
    let delivered = 0;
    let bytes = 0;
    let end = null as TextEnd | null; // (set in take: no narrowing to null)
    const take = (m: FromTextWorker): void => {
      if (m.type === 'batch') {
        delivered += this.deliver(channel, m, this.opts.sink);
      } else if (m.type === 'chunk-back') {
        spare.push(m.buf);
        inFlight--;
      } else {
        end = m;
      }
    };
    let broke: unknown = null;
    // The buffer being filled: small reads (a pipe gives 64 KiB at a time) share one message.
    let buf: Uint8Array | null = null;
    let len = 0;
    const send = async (): Promise<void> => {
      channel.post({ type: 'chunk', buf: buf!, len } satisfies ToTextWorker, [buf!.buffer as ArrayBuffer]);
      buf = null;
      len = 0;
      inFlight++;
      for (let m = channel.poll(); m !== undefined; m = channel.poll()) take(m);
      while (inFlight >= MAX_CHUNKS && end === null) take(await channel.next());
    };
    try {
      try {
        for await (const chunk of chunks) {
          bytes += chunk.length;
          if (buf !== null && len + chunk.length > buf.length) await send();
          if (end !== null) break; // the worker stopped at an error: read no further
          if (buf === null) {
            buf = spare.pop() ?? null;
            if (buf === null || buf.length < chunk.length) buf = new Uint8Array(Math.max(chunk.length, CHUNK_BYTES));
          }
          buf.set(chunk, len);
          len += chunk.length;
          if (len >= CHUNK_BYTES / 2) await send();
          if (end !== null) break;
          if (onChunk) await onChunk(delivered);
        }
      } catch (e) {
        // the input broke off (a read error, a decompressor's): what was read still counts, as
        // when parsing in this thread, where the lines before the break were parsed and the cut
        // last line was not
        if (!(e instanceof InputError)) throw e;
        broke = e;
      }
      if (buf !== null && end === null) await send();
      if (end === null) channel.post({ type: 'end', flush: broke === null } satisfies ToTextWorker);
      while (end === null) take(await channel.next());
      this.counters(end);
      if (broke !== null) throw broke;
      rethrowOutcome(end, 'text parsing');
      return bytes;
    } finally {
      await channel.close();
    }
  }

  private counters(m: TextEnd): void {
    this.takeEnd(m);
    this.eventLines = m.eventLines;
    this.damagedLines = m.damagedLines;
    this.sawReportHeader = m.sawReportHeader;
  }

  push(): void {
    throw new Error('ThreadedText reads whole inputs only (read)');
  }

  end(): void {}
}
