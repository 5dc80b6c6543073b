// Parsing workers started before they are asked for. A worker thread takes
// about 90 ms to boot and load its code, and the command line takes about
// 100 ms to load its own before the pipeline decides to start one; on a big
// trace the checking thread spent that whole time waiting for its first
// events. So the launcher (bin/dmadebug.js, through cli/standby.ts) looks at
// the command line's first big file before loading anything else, and starts
// the worker the pipeline will want for it (threadedWorker(), the same rule
// the pipeline applies). That worker loads its code while the command line
// loads, then waits for its input ("stands by"). WorkerChannel takes it in
// place of a new one (takeStandby); one nobody took is ended (dropStandbys).
//
// A standby is only ever a guess about which worker script runs: the input,
// the options and every decision stay the pipeline's, so a wrong guess costs
// a thread that loaded code for nothing, never a different result.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { type Compression, detectCompression, detectKind, HEAD_BYTES, type InputKind } from './magic.js';

/** trace.dat files at least this big are decoded in a worker by default. */
export const THREADED_MIN_BYTES = 16 << 20;
/** Text inputs at least this big (a quarter of it compressed) are parsed in a worker by default. */
export const THREADED_TEXT_MIN_BYTES = 16 << 20;

/** The parsing workers a standby can be (their scripts, next to this module's). */
export type WorkerScript = 'tracedat-worker.js' | 'text-worker.js';

/**
 * The worker the pipeline starts by default for a file of this kind,
 * compression and size on disk, or null (it is read in the checking thread).
 * A compressed trace.dat is decompressed as a stream and decoded in the
 * checking thread.
 */
export function threadedWorker(kind: InputKind, compression: Compression, size: number): WorkerScript | null {
  if (kind === 'tracedat') return compression === 'none' && size >= THREADED_MIN_BYTES ? 'tracedat-worker.js' : null;
  const min = compression === 'none' ? THREADED_TEXT_MIN_BYTES : THREADED_TEXT_MIN_BYTES / 4;
  return size >= min ? 'text-worker.js' : null;
}

/** What a standby worker gets as its workerData; its real input comes in a StandbyStart message. */
const STANDBY = { standby: true } as const;

/** The message that hands a standby worker its input. */
interface StandbyStart {
  type: 'standby-start';
  input: unknown;
}

interface Waiting {
  worker: Worker;
  script: WorkerScript;
  /** It failed to load or exited: not to be taken. */
  gone: boolean;
  /** The listener that notes that (removed when taken: the taker listens from then on). */
  onGone: () => void;
}

let waiting: Waiting | null = null;

/**
 * Starts, for the first of `paths` that is a regular file the pipeline would
 * read in a worker (by size and first bytes, compressed or not), that worker
 * on standby. Never throws: a path it cannot read is left to the pipeline,
 * which says what is wrong with it.
 */
export function standBy(paths: readonly string[]): WorkerScript | null {
  if (waiting) return null;
  for (const path of paths) {
    const script = guess(path);
    if (!script) continue;
    try {
      const worker = new Worker(scriptUrl(script), { workerData: STANDBY });
      const w: Waiting = {
        worker,
        script,
        gone: false,
        onGone: () => {
          w.gone = true;
        },
      };
      worker.on('error', w.onGone);
      worker.on('exit', w.onGone);
      worker.unref(); // until taken, it keeps nothing alive
      waiting = w;
      return script;
    } catch {
      return null;
    }
  }
  return null;
}

/** The worker script, next to this module (as the readers name it: new URL('./x-worker.js', import.meta.url)). */
function scriptUrl(script: WorkerScript): URL {
  return new URL(`./${script}`, import.meta.url);
}

/** The worker the pipeline would start for the file at `path`, from its size and first bytes; null for anything else. */
function guess(path: string): WorkerScript | null {
  let fd = -1;
  try {
    fd = openSync(path, 'r');
    const st = fstatSync(fd);
    if (!st.isFile()) return null;
    const head = new Uint8Array(HEAD_BYTES);
    const n = readSync(fd, head, 0, HEAD_BYTES, 0);
    return threadedWorker(detectKind(head.subarray(0, n)), detectCompression(head.subarray(0, n)), st.size);
  } catch {
    return null;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/**
 * The standby worker running the script at `url`, handed `input` (its
 * workerData had it started now), or null when there is none fit to take.
 */
export function takeStandby(url: URL, input: unknown): Worker | null {
  const w = waiting;
  if (!w || scriptUrl(w.script).href !== url.href) return null;
  waiting = null;
  if (w.gone) {
    void w.worker.terminate();
    return null;
  }
  w.worker.off('error', w.onGone);
  w.worker.off('exit', w.onGone);
  w.worker.ref();
  w.worker.postMessage({ type: 'standby-start', input } satisfies StandbyStart);
  return w.worker;
}

/** Ends a standby worker nobody took (the input went another way); resolves once it has exited. */
export async function dropStandbys(): Promise<void> {
  const w = waiting;
  waiting = null;
  if (w) await w.worker.terminate();
}

/** The standby worker waiting to be taken, and the script it runs (for tests). */
export function standbyWaiting(): { script: WorkerScript; worker: Worker } | null {
  return waiting ? { script: waiting.script, worker: waiting.worker } : null;
}

/**
 * The worker side: runs `start` with this worker's input, at once when it was
 * started with one, or when a standby's input arrives; a standby runs `warm`
 * meanwhile (what its start would otherwise wait for). `start` must add its
 * own message listener before it returns (the reader's next messages follow
 * the input at once).
 */
export function whenStarted<T>(start: (input: T) => void, warm?: () => void): void {
  const data = workerData as T | typeof STANDBY;
  if (!isStandby(data)) {
    start(data);
    return;
  }
  warm?.();
  const port = parentPort!;
  const first = (m: StandbyStart): void => {
    if (m?.type !== 'standby-start') return;
    // start's listener first, then this one off: the port never goes without one
    start(m.input as T);
    port.off('message', first);
  };
  port.on('message', first);
}

function isStandby(data: unknown): data is typeof STANDBY {
  return typeof data === 'object' && data !== null && (data as { standby?: unknown }).standby === true;
}
