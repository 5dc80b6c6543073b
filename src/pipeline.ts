// One pipeline: source -> parser -> engine, with findings streamed to a
// callback. The CLI (check, dump, live) and library users share it; it does no
// rendering and no argument parsing. For `live` on trace_pipe_raw the source
// and parser are one RawLiveSource (per-CPU binary pages, merged by time),
// run in a worker thread (ThreadedRawLive) unless decodeThread is false.

import { Names } from './base/interner.js';
import { DmaDebugEngine, type EngineConfig } from './engine/engine.js';
import type { DmaEvent } from './engine/events.js';
import type { Finding } from './engine/findings.js';
import { InputError } from './input/errors.js';
import { type OpenedInput, openFollow, openInput, readAhead } from './input/source.js';
import { TextParser } from './input/text-parser.js';
import { ThreadedText } from './input/text-threaded.js';
import { TraceDatParser } from './input/tracedat.js';
import { ThreadedTraceDat } from './input/tracedat-threaded.js';
import { RawLiveSource } from './input/tracefs-raw.js';
import { ThreadedRawLive } from './input/tracefs-raw-threaded.js';
import { dropStandbys, THREADED_TEXT_MIN_BYTES, threadedWorker } from './input/worker-standby.js';
import type { SummaryData } from './report/json.js';

/** Findings let out at a time when many are (ReplayOptions.onDrain runs between). */
const DRAIN_SLICE = 4096;

export interface ReplayOptions {
  engine?: Partial<EngineConfig>;
  onFinding?: (f: Finding) => void;
  /** Called between input chunks (bytes read so far, events so far). May return a promise (backpressure). */
  onChunk?: (bytesRead: number, events: number, totalBytes: number | undefined) => void | Promise<void>;
  /** Read buffer size (tests shrink it to exercise every boundary). */
  chunkSize?: number;
  /** Follow a stream that can be idle (trace_pipe, a FIFO) without blocking a thread. */
  follow?: boolean;
  /** trace.dat: the buffer instance to read (default: the top buffer, or the one instance with dma events). */
  instance?: string;
  /**
   * live: read this tracefs directory's per_cpu/cpuN/trace_pipe_raw (binary
   * sub-buffers) instead of `path`; `path` is then only the label.
   */
  rawTracefs?: string;
  /**
   * trace.dat files read by position: decode in a worker thread (true), in
   * this one (false). Default: in a worker for files of 16 MiB and more.
   * live on trace_pipe_raw (rawTracefs): read, decode and merge in a worker
   * thread unless false.
   */
  decodeThread?: boolean;
  /**
   * Text read to its end (not followed): parse in a worker thread (true), in
   * this one (false). Default: in a worker for inputs of 16 MiB and more on
   * disk (4 MiB compressed).
   */
  parseThread?: boolean;
  /**
   * The ring buffer was emptied just before reading began (live does), so
   * nothing of it was overwritten before: every CPU's events begin together.
   */
  startsEmpty?: boolean;
  /** Called with each event after the engine has handled it (the report's timeline); the record is reused. */
  tap?: (ev: DmaEvent) => void;
  /**
   * live: called after the source's idle tick sent out the findings that
   * waited (see Pipeline.idle); flush the output here. Awaited.
   */
  onIdle?: () => void | Promise<void>;
  /**
   * Called between the slices of findings let out at once: those held for a
   * late loss notice, when the input ends (a text trace with a CPU that shows
   * no event holds every proven error to its end) or when that CPU shows up
   * after a long silence. May return a promise (backpressure). With it, at
   * most DRAIN_SLICE findings go out per input chunk, the rest between slices.
   */
  onDrain?: () => void | Promise<void>;
}

/** What the pipeline needs of a parser; TextParser and TraceDatParser both are one. */
export interface EventParser {
  readonly facts: TextParser['facts'];
  /** Lines (text) or ring-buffer records (trace.dat) read. */
  lines: number;
  events: number;
  skipped: number;
  warnings: number;
  readonly warningList: ReadonlyArray<{ line: number; message: string; cpu?: number }>;
  /** Notes that are not damage (trace.dat: which instance was read). */
  readonly notes?: ReadonlyArray<string>;
  push(chunk: Uint8Array): void;
  end(): void;
}

export interface ReplayResult {
  engine: DmaDebugEngine;
  names: Names;
  parser: EventParser;
  /** 'text', 'tracedat' or 'tracefs-raw', once known. */
  kind: 'text' | 'tracedat' | 'tracefs-raw';
  /** Total size on disk, when known. */
  size: number | undefined;
  /** The input error that stopped reading early, if any (findings before it were delivered). */
  error: InputError | null;
  /** Counts of findings as they were delivered (live: later findings, such as unbinds, count too). */
  tally: FindingTally;
}

/** What the exit status and the summary need beyond the engine's counters. */
export interface FindingTally {
  /** Errors that decide the exit status: severity error, and not a kernel false positive. */
  errors: number;
  /** Lines the kernel prints on correct code (Finding.kernelFalsePositive): never errors. */
  kernelFalsePositives: number;
  /** Unconfirmed findings (--fail-on unconfirmed). */
  unconfirmed: number;
}

/** The parts of one run, wired together; `run()` drives them from an input. */
export class Pipeline {
  readonly names = new Names();
  readonly engine: DmaDebugEngine;
  parser: EventParser;
  kind: 'text' | 'tracedat' | 'tracefs-raw' = 'text';
  readonly label: string;
  size: number | undefined;
  error: InputError | null = null;
  readonly tally: FindingTally = { errors: 0, kernelFalsePositives: 0, unconfirmed: 0 };
  private input: OpenedInput | null = null;
  private raw: RawLiveSource | ThreadedRawLive | null = null;
  private stopped = false;
  /** run() while it runs (live on trace_pipe_raw: drain() waits for it). */
  private running: Promise<this> | null = null;
  /** Where parsers deliver events: the engine, then the tap when there is one. */
  private readonly sink: (ev: DmaEvent) => void;

  constructor(
    readonly path: string,
    private readonly opts: ReplayOptions = {},
  ) {
    this.label = path === '-' ? '<stdin>' : path;
    const onFinding = opts.onFinding;
    const tally = this.tally;
    const count = (f: Finding) => {
      if (f.kernelFalsePositive !== null) tally.kernelFalsePositives++;
      else if (f.severity === 'error') tally.errors++;
      else if (f.severity === 'unconfirmed') tally.unconfirmed++;
      onFinding?.(f);
    };
    this.engine = new DmaDebugEngine(this.names, count, opts.engine ?? {});
    // a consumer that waits for its output: a slice per input chunk, the rest between slices (betweenChunks)
    if (opts.onDrain) this.engine.letOutHeld(DRAIN_SLICE);
    const engine = this.engine;
    const tap = opts.tap;
    this.sink = tap
      ? (ev) => {
          engine.handle(ev);
          tap(ev);
        }
      : (ev) => engine.handle(ev);
    const text = new TextParser({ names: this.names, sink: this.sink, file: this.label });
    this.parser = text;
    if (opts.startsEmpty) text.facts.overwriteKnown = true;
    engine.attachInputFacts(text.facts);
  }

  /** Reads the whole input. Input errors end the run but are kept in `error`, not thrown. */
  run(): Promise<this> {
    this.running = this.runInput();
    return this.running;
  }

  private async runInput(): Promise<this> {
    const { opts, label } = this;
    let parser = this.parser;
    try {
      if (opts.rawTracefs !== undefined) {
        await this.runRaw(opts.rawTracefs);
        return this;
      }
      const sized = opts.chunkSize !== undefined ? { chunkSize: opts.chunkSize } : {};
      const src = opts.follow
        ? await openFollow(this.path, { ...sized, onIdle: () => this.idle() })
        : await openInput(this.path, sized);
      this.input = src;
      this.size = src.size;
      if (src.kind === 'tracedat') {
        const engine = this.engine;
        const quiet = (cpu: number, sec: number, ns: number) => engine.cpuQuiet(cpu, sec, ns);
        const dat = new TraceDatParser({
          names: this.names,
          sink: this.sink,
          file: label,
          ...(opts.instance !== undefined ? { instance: opts.instance } : {}),
          quiet,
        });
        this.parser = parser = dat;
        this.kind = 'tracedat';
        engine.attachInputFacts(dat.facts);
        if (src.compression === 'none' && this.path !== '-' && opts.chunkSize === undefined) {
          // A plain file: read it by position, as trace-cmd does (bounded memory).
          await src.close();
          const onProgress = this.betweenChunks(() => 0);
          if (opts.decodeThread ?? threadedWorker('tracedat', 'none', this.size ?? 0) !== null) {
            // big: decode in a worker thread while this one runs the checks
            const threaded = new ThreadedTraceDat({
              names: this.names,
              sink: this.sink,
              quiet,
              file: label,
              ...(opts.instance !== undefined ? { instance: opts.instance } : {}),
              ...(onProgress ? { onProgress } : {}),
            });
            this.parser = parser = threaded;
            engine.attachInputFacts(threaded.facts);
            await threaded.readFile(this.path);
            return this;
          }
          await dat.readFile(this.path, onProgress ? { onProgress } : {});
          return this;
        }
      }
      if (opts.instance !== undefined && !opts.follow && src.kind !== 'tracedat') {
        throw new InputError(
          label,
          '',
          `--instance selects a buffer of a trace.dat, and this input is text (trace-cmd report starts each line with its buffer's name: grep '^${opts.instance}: ')`,
        );
      }
      let bytes = 0;
      let chunks = src.chunks;
      const worker = src.kind === 'text' ? this.textWorker(src) : 'no';
      let inWorker = worker === 'yes';
      if (worker === 'if big') {
        // a pipe (stdin): its size shows only as it is read, so read ahead to see whether it is big
        const ahead = await readAhead(src.chunks, THREADED_TEXT_MIN_BYTES);
        chunks = ahead.chunks;
        inWorker = ahead.big;
      }
      if (inWorker) {
        // big: parse in a worker thread while this one runs the checks
        const threaded = new ThreadedText({ names: this.names, sink: this.sink, file: label });
        this.parser = parser = threaded;
        this.engine.attachInputFacts(threaded.facts);
        bytes = await threaded.read(
          chunks,
          this.betweenChunks(() => src.bytesRead()),
        );
      } else {
        const between = this.betweenChunks(() => src.bytesRead());
        for await (const chunk of chunks) {
          bytes += chunk.length;
          parser.push(chunk);
          if (between) await between(parser.events);
        }
        parser.end();
      }
      // nothing at all is no trace (an upstream command that failed), not a clean one
      if (!opts.follow && bytes === 0) {
        throw new InputError(label, 'byte 0', 'the input is empty (expected an ftrace text trace or a trace.dat)');
      }
      if (
        (parser instanceof TextParser || parser instanceof ThreadedText) &&
        parser.lines > 0 &&
        parser.eventLines === 0 &&
        !parser.facts.sawBufferHeader &&
        !parser.sawReportHeader
      ) {
        throw new InputError(
          label,
          '',
          `not an ftrace text trace: none of its ${parser.lines} lines reads like 'task-pid [cpu] timestamp: event: ...'`,
        );
      }
    } catch (e) {
      if (e instanceof InputError) this.error = e;
      else throw e;
    } finally {
      void dropStandbys(); // a standby worker the input did not take (read in this thread, or failed)
      // nothing more comes (or the input broke off): the errors held for a late loss notice go out,
      // a slice at a time, each once the output took the one before (there may be millions)
      while (this.engine.inputDrained(DRAIN_SLICE)) await opts.onDrain?.();
    }
    return this;
  }

  /**
   * What runs between input chunks (given the events so far), or undefined
   * when nothing need: with onDrain (a consumer whose output may lag), the
   * findings that are ready go out a slice at a time, each once the output
   * took the one before (without it they go out as soon as they are ready);
   * then onChunk, with the bytes read so far.
   */
  private betweenChunks(bytesRead: () => number): ((events: number) => Promise<void>) | undefined {
    const { onChunk, onDrain } = this.opts;
    if (!onChunk && !onDrain) return undefined;
    return async (events) => {
      if (onDrain) while (this.engine.letOutHeld(DRAIN_SLICE)) await onDrain();
      await onChunk?.(bytesRead(), events, this.size);
    };
  }

  /**
   * Whether to parse this text input in a worker thread (see
   * ReplayOptions.parseThread): big on disk, yes; of unknown size (a pipe),
   * once it has read as big.
   */
  private textWorker(src: OpenedInput): 'yes' | 'no' | 'if big' {
    const o = this.opts;
    // followed, shrunk chunks (tests of every boundary) or an emptied live buffer: in this thread
    if (o.follow || o.chunkSize !== undefined || o.startsEmpty) return 'no';
    if (o.parseThread !== undefined) return o.parseThread ? 'yes' : 'no';
    if (src.size === undefined) return 'if big';
    return threadedWorker('text', src.compression, src.size) !== null ? 'yes' : 'no';
  }

  private async runRaw(dir: string): Promise<void> {
    const engine = this.engine;
    const onBatch = this.betweenChunks(() => 0); // (this.size: none, a live source has no size)
    const common = {
      names: this.names,
      sink: this.sink,
      file: this.label,
      onIdle: () => this.idle(),
      ...(onBatch ? { onBatch } : {}),
    };
    const raw =
      this.opts.decodeThread === false
        ? new RawLiveSource(dir, common)
        : new ThreadedRawLive(dir, { ...common, startsEmpty: this.opts.startsEmpty === true });
    this.raw = raw;
    this.parser = raw;
    this.kind = 'tracefs-raw';
    if (this.opts.startsEmpty) raw.facts.overwriteKnown = true;
    engine.attachInputFacts(raw.facts);
    if (this.stopped) raw.stop();
    await raw.run();
  }

  /**
   * live: the source's idle tick (nothing to read, nothing queued). A stack
   * block read whole goes out, and so does every finding that waited for its
   * CPU's next record or a late loss notice: neither is there to come now.
   * So a finding waits for its CPU's next event or the next idle tick (the
   * first empty read of trace_pipe; trace_pipe_raw's once its merge let every
   * event out, within about idleMs = 100 ms), never for an idle CPU.
   */
  async idle(): Promise<void> {
    // a line cut by the read: its rest (maybe a stack header) is on its way, so this is no idle moment
    if (this.parser instanceof TextParser && !this.parser.idle()) return;
    this.engine.inputDrained();
    await this.opts.onIdle?.();
  }

  /**
   * live: delivers what the source still holds (trace_pipe_raw: what is
   * readable now and every queued event) so a summary taken next is complete.
   * On trace_pipe_raw it waits for run() to end (the worker's last events and
   * its counters); a no-op for text. An input error stays in `error`.
   */
  async drain(): Promise<void> {
    const raw = this.raw;
    if (raw) {
      raw.drain();
      await this.running;
    }
    this.engine.inputDrained();
  }

  /** Stops reading (live mode): releases the input; a pending read may still complete. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.raw?.stop();
    await this.input?.close();
  }

  result(): ReplayResult {
    return {
      engine: this.engine,
      names: this.names,
      parser: this.parser,
      kind: this.kind,
      size: this.size,
      error: this.error,
      tally: this.tally,
    };
  }
}

export async function replay(input: string, opts: ReplayOptions = {}): Promise<ReplayResult> {
  return (await new Pipeline(input, opts).run()).result();
}

export function summarize(inputs: string[], r: Pick<ReplayResult, 'engine' | 'parser' | 'tally'>): SummaryData {
  const e = r.engine;
  const findings: Record<string, number> = {};
  for (const [k, v] of [...e.findingCounts].sort((a, b) => a[0].localeCompare(b[0]))) findings[k] = v;
  const drivers = e.config.drivers;
  const devices: SummaryData['devices'] = [...e.deviceCounts()]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([device, c]) => ({ device, driver: drivers?.get(device) ?? null, ...c }));
  return {
    inputs,
    events: e.eventCount,
    lines: r.parser.lines,
    skippedLines: r.parser.skipped,
    badLines: r.parser.warnings,
    findings,
    severities: { ...e.severityCounts },
    kernelFalsePositives: r.tally.kernelFalsePositives,
    errorCount: e.errorCount,
    profile: e.profile(),
    live: e.live,
    coverage: e.coverage(),
    pool: e.poolState(),
    devices,
    leaks: e.leaksAtEnd(),
    driverNames: e.config.drivers && e.config.drivers.size > 0 ? 'side-information' : 'bus-names',
  };
}
