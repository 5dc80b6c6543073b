// Worker thread of ThreadedTraceDat (tracedat-threaded.ts): reads one
// trace.dat file with TraceDatParser.readFile and sends its events, packed by
// event-wire.ts, to the thread that runs the checks. Buffers come back to be
// refilled; at most MAX_IN_FLIGHT are on their way at a progress point, so a
// reader that falls behind holds the decoding back instead of memory growing.
// The last message says how the parse ended: its counters, warnings, notes,
// facts, and the InputError (or bug) that stopped it.

import { parentPort, workerData } from 'node:worker_threads';
import { Names } from '../base/interner.js';
import { noInputFacts } from '../engine/events.js';
import { WireWriter } from './event-wire.js';
import { TraceDatParser } from './tracedat.js';
import { outcomeOf, type WorkerOutcome } from './worker-channel.js';

export interface WorkerInput {
  path: string;
  file: string;
  instance?: string;
  zstdTool?: boolean;
}

/** Worker -> reader messages. */
export type WorkerMessage =
  | { type: 'batch'; buf: Int32Array; words: number }
  | ({
      type: 'end';
      lines: number;
      events: number;
      skipped: number;
      warnings: number;
      warningList: Array<{ line: number; message: string; cpu?: number }>;
      notes: string[];
      facts: TraceDatParser['facts'];
    } & WorkerOutcome);

const MAX_IN_FLIGHT = 4;

async function main(): Promise<void> {
  const input = workerData as WorkerInput;
  const port = parentPort!;
  const spare: Int32Array[] = [];
  let inFlight = 0;
  let wake: (() => void) | null = null;
  port.on('message', (m: { buf: Int32Array }) => {
    spare.push(m.buf);
    inFlight--;
    wake?.();
  });
  const names = new Names();
  let parser: TraceDatParser | null = null;
  let factsSent = false;
  const wire = new WireWriter(
    names,
    (buf, words) => {
      inFlight++;
      port.postMessage({ type: 'batch', buf, words } satisfies WorkerMessage, [buf.buffer as ArrayBuffer]);
    },
    () => spare.pop() ?? new Int32Array(1 << 18),
  );
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
      onProgress: async () => {
        wire.send();
        while (inFlight > MAX_IN_FLIGHT) await new Promise<void>((r) => (wake = r));
        wake = null;
      },
    });
  } catch (e) {
    stopped = e;
  }
  wire.send();
  const p = parser;
  port.postMessage({
    type: 'end',
    lines: p?.lines ?? 0,
    events: p?.events ?? 0,
    skipped: p?.skipped ?? 0,
    warnings: p?.warnings ?? 0,
    warningList: p ? [...p.warningList] : [],
    notes: p ? [...p.notes] : [],
    facts: p ? { ...p.facts } : noInputFacts(),
    ...outcomeOf(stopped),
  } satisfies WorkerMessage);
}

void main();
