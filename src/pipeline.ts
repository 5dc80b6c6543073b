// One pipeline: source -> parser -> engine, with findings streamed to a
// callback. The CLI (check, dump, live) and library users share it; it does no
// rendering and no argument parsing.

import { Names } from './base/interner.js';
import { DmaDebugEngine, type EngineConfig } from './engine/engine.js';
import type { Finding } from './engine/findings.js';
import { InputError } from './input/errors.js';
import { type OpenedInput, openFollow, openInput } from './input/source.js';
import { TextParser } from './input/text-parser.js';
import type { SummaryData } from './report/json.js';

export interface ReplayOptions {
  engine?: Partial<EngineConfig>;
  onFinding?: (f: Finding) => void;
  /** Called between input chunks (bytes read so far, events so far). May return a promise (backpressure). */
  onChunk?: (bytesRead: number, events: number, totalBytes: number | undefined) => void | Promise<void>;
  /** Read buffer size (tests shrink it to exercise every boundary). */
  chunkSize?: number;
  /** Follow a stream that can be idle (trace_pipe, a FIFO) without blocking a thread. */
  follow?: boolean;
}

export interface ReplayResult {
  engine: DmaDebugEngine;
  names: Names;
  parser: TextParser;
  /** Total size on disk, when known. */
  size: number | undefined;
  /** The input error that stopped reading early, if any (findings before it were delivered). */
  error: InputError | null;
}

/** The parts of one run, wired together; `run()` drives them from an input. */
export class Pipeline {
  readonly names = new Names();
  readonly engine: DmaDebugEngine;
  readonly parser: TextParser;
  readonly label: string;
  size: number | undefined;
  error: InputError | null = null;
  private input: OpenedInput | null = null;

  constructor(
    readonly path: string,
    private readonly opts: ReplayOptions = {},
  ) {
    this.label = path === '-' ? '<stdin>' : path;
    this.engine = new DmaDebugEngine(this.names, opts.onFinding ?? (() => {}), opts.engine ?? {});
    const engine = this.engine;
    this.parser = new TextParser({ names: this.names, sink: (ev) => engine.handle(ev), file: this.label });
    engine.attachInputFacts(this.parser.facts);
  }

  /** Reads the whole input. Input errors end the run but are kept in `error`, not thrown. */
  async run(): Promise<this> {
    const { opts, parser, label } = this;
    try {
      const sized = opts.chunkSize !== undefined ? { chunkSize: opts.chunkSize } : {};
      const src = opts.follow ? await openFollow(this.path, sized) : await openInput(this.path, sized);
      this.input = src;
      this.size = src.size;
      if (src.kind === 'tracedat') {
        await src.close();
        throw new InputError(
          label,
          'byte 0',
          'trace.dat input is not supported yet; convert it with `trace-cmd report` and pass the text',
        );
      }
      for await (const chunk of src.chunks) {
        parser.push(chunk);
        if (opts.onChunk) await opts.onChunk(src.bytesRead(), parser.events, this.size);
      }
      parser.end();
      if (parser.lines > 0 && parser.eventLines === 0 && !parser.facts.sawBufferHeader) {
        throw new InputError(
          label,
          '',
          `not an ftrace text trace: none of its ${parser.lines} lines reads like 'task-pid [cpu] timestamp: event: ...'`,
        );
      }
    } catch (e) {
      if (e instanceof InputError) this.error = e;
      else throw e;
    }
    return this;
  }

  /** Stops reading (live mode): releases the input; a pending read may still complete. */
  async stop(): Promise<void> {
    await this.input?.close();
  }

  result(): ReplayResult {
    return {
      engine: this.engine,
      names: this.names,
      parser: this.parser,
      size: this.size,
      error: this.error,
    };
  }
}

export async function replay(input: string, opts: ReplayOptions = {}): Promise<ReplayResult> {
  return (await new Pipeline(input, opts).run()).result();
}

export function summarize(inputs: string[], r: Pick<ReplayResult, 'engine' | 'parser'>): SummaryData {
  const e = r.engine;
  const findings: Record<string, number> = {};
  for (const [k, v] of [...e.findingCounts].sort((a, b) => a[0].localeCompare(b[0]))) findings[k] = v;
  const devices: SummaryData['devices'] = {};
  for (const [name, c] of [...e.deviceCounts()].sort((a, b) => a[0].localeCompare(b[0]))) devices[name] = c;
  return {
    inputs,
    events: e.eventCount,
    lines: r.parser.lines,
    skippedLines: r.parser.skipped,
    badLines: r.parser.warnings,
    findings,
    severities: { ...e.severityCounts },
    errorCount: e.errorCount,
    live: e.live,
    coverage: e.coverage(),
    pool: e.poolState(),
    devices,
    driverNames: e.config.drivers && e.config.drivers.size > 0 ? 'side-information' : 'bus-names',
  };
}
