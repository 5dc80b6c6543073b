// Worker thread of ThreadedText (text-threaded.ts): runs one TextParser on the
// chunks the checking thread reads and moves over, and sends the events back
// packed by event-wire.ts. Each chunk's buffer goes back once parsed, each
// event buffer comes back once read. The parser's facts travel before the
// first event and again before any event they changed for (a header line, the
// first map event naming the kernel's map events), so the engine sees them
// exactly when a parser in its own thread would have shown them. The last
// message says how the parse ended: counters, warnings, facts, and the
// InputError (or bug) that stopped it; after an error no more chunks are read.

import { parentPort } from 'node:worker_threads';
import { Names } from '../base/interner.js';
import { TextParser } from './text-parser.js';
import { type BatchBack, BatchSender, type ParseEnd, parseEndOf } from './worker-channel.js';
import { whenStarted } from './worker-standby.js';

export interface TextWorkerInput {
  file: string;
}

/** Reader -> worker messages. */
export type ToTextWorker =
  | { type: 'chunk'; buf: Uint8Array; len: number }
  | BatchBack
  /** No more chunks. `flush`: the input ended, so its last line counts even without a newline; false: it broke off. */
  | { type: 'end'; flush: boolean };

export interface TextEnd extends ParseEnd {
  type: 'end';
  eventLines: number;
  damagedLines: number;
  sawReportHeader: boolean;
}

/** Worker -> reader messages. */
export type FromTextWorker =
  | { type: 'batch'; buf: Int32Array; words: number }
  | { type: 'chunk-back'; buf: Uint8Array }
  | TextEnd;

function main(input: TextWorkerInput): void {
  const port = parentPort!;
  const names = new Names();
  // (the reader bounds the chunks in flight, and so the batches: nothing here waits)
  const out = new BatchSender(port, names);
  const wire = out.wire;
  const parser = new TextParser({
    names,
    file: input.file,
    sink: (ev) => {
      wire.factsIfChanged(parser.facts);
      wire.event(ev);
    },
  });
  let done = false;
  const finish = (e: unknown): void => {
    done = true;
    wire.send();
    port.postMessage({
      type: 'end',
      eventLines: parser.eventLines,
      damagedLines: parser.damagedLines,
      sawReportHeader: parser.sawReportHeader,
      ...parseEndOf(parser, e),
    } satisfies FromTextWorker);
  };
  port.on('message', (m: ToTextWorker) => {
    if (m.type === 'batch-back') {
      out.returned(m.buf);
      return;
    }
    if (done) return;
    try {
      if (m.type === 'chunk') {
        parser.push(m.buf.subarray(0, m.len));
        wire.send();
        port.postMessage({ type: 'chunk-back', buf: m.buf } satisfies FromTextWorker, [m.buf.buffer as ArrayBuffer]);
      } else {
        if (m.flush) parser.end();
        finish(null);
      }
    } catch (e) {
      finish(e);
    }
  });
}

whenStarted(main);
