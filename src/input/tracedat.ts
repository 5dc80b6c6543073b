// The trace.dat reader (trace-cmd file versions 6 and 7): the two ways in,
// choosing the buffer instance to read, and the merge of its CPUs' records in
// timestamp order into the same DmaEvent stream the text parser makes. The
// parts it drives have their own files: the container (initial header, v7
// sections and options, v6 fixed layout, compression, buffer instances;
// tracedat-container.ts), the per-CPU streams of ring-buffer sub-buffers and
// compressed chunks (tracedat-streams.ts), and the byte stores both read
// through (tracedat-bytes.ts).
//
// Why it looks the way it does:
// - Two ways in. `push()`/`end()` take the file as a stream of chunks (any
//   size; stdin, a gzipped file), like TextParser. `readFile()` reads a file
//   by position, the way trace-cmd does, with bounded memory.
// - A trace.dat stores each CPU's data one after the other, and v7 files keep
//   the table of buffers and CPUs (the BUFFER option) after the data. A
//   forward-only reader must therefore keep what it cannot decode yet: in
//   push mode the file's bytes from the first data section on are kept (as
//   they are on disk, i.e. still compressed in v7) until the merge has
//   consumed them; metadata is dropped once parsed. In v6 the CPU table comes
//   first, so the merge starts while data arrives and only the not yet merged
//   part of the earlier CPUs' data is held. readFile() holds the metadata, one
//   read window (256 KiB) and one decompressed chunk per CPU, plus, with
//   worker threads, at most 2 x threads + 1 read-ahead batches (512 KiB
//   compressed each) per CPU, or for a small zstd file one batch of its CPU's
//   data (under 4 MiB compressed).
// - zstd in JS (fzstd) runs at ~250 MB/s, slower than decoding the records,
//   so readFile() on a big compressed file decompresses the next chunks while
//   the merge runs: through the system's `zstd -dc`, kept fed by a worker
//   thread (zstd-process.ts), or else in worker threads (on 3+ cores;
//   tracedat-inflate.ts). fzstd is also slow to start, so a small zstd file's
//   CPU data and any big metadata section go through one `zstd -dc` run each
//   (zstd-sync.ts).
// - Not applied: the DATE, OFFSET and TIME_SHIFT options (wall-clock and
//   host/guest corrections) and TSC2NSEC (a note says so); times are the
//   ring buffer's own, as the kernel's text prints them.
// - The container parse is a generator that yields when it needs bytes that
//   have not arrived, so one piece of code serves both ways in. The hot path
//   (pages, records, merge) is plain code over DataViews: per-event-id decoder
//   plans are built once, and nothing is allocated per record.
// - Damage (truncation, bad magic, unknown version, corrupt compression, a
//   page whose commit runs past it, a record of an event with no format) is
//   an InputError naming the byte offset; every event the merge could order
//   before the damage has been delivered by then.

import { closeSync, fstatSync, openSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Names } from '../base/interner.js';
import { DmaEvent, type EventSink, type InputFacts, noInputFacts } from '../engine/events.js';
import { InputError } from './errors.js';
import { buildPlans, commonFields, MergeLead, RingRecords, stampEvent } from './ring-records.js';
import { onPath } from './source.js';
import { MAX_WARNINGS_KEPT, type ParseWarning } from './text-parser.js';
import { FileSource, MetaError, type Source, Store } from './tracedat-bytes.js';
import { type CompressedSection, TraceDatContainer } from './tracedat-container.js';
import { decodedEventCode, type Plan, RecordDecoder } from './tracedat-decode.js';
import { Kallsyms } from './tracedat-format.js';
import { type ChunkDecompressor, InflatePool, inflateBlock, zstdWasm, zstdWasmReady } from './tracedat-inflate.js';
import { type BufferInfo, CpuStream, DONE, HEAD, STARVED, type StreamHost } from './tracedat-streams.js';
import { ZstdSync } from './zstd-sync.js';

export interface TraceDatParserOptions {
  names: Names;
  sink: EventSink;
  /** The input's name, for messages. */
  file: string;
  /**
   * The buffer instance to read ('' = the top buffer). Default: the top
   * buffer, or the only instance with dma events when the top buffer has none.
   */
  instance?: string;
  /**
   * The merge's promise that CPU `cpu`'s next record is at sec.ns and that no
   * loss notice of that CPU comes before it (sec Infinity: the CPU's data
   * ended with none pending). An engine's finding gate need not wait for
   * that CPU's events up to then (DmaDebugEngine.cpuQuiet).
   */
  quiet?: (cpu: number, sec: number, ns: number) => void;
}

export interface ReadFileOptions {
  /** Called every 65536 events, sooner at first (may return a promise: backpressure). */
  onProgress?: (events: number) => void | Promise<void>;
  /**
   * Worker threads that decompress ring-buffer chunks ahead of the merge
   * (0 = none). Default: one per core beyond the first, up to 4, when the
   * chosen buffer holds at least 4 MiB of compressed data; none on 2 cores.
   */
  threads?: number;
  /**
   * Decompress zstd with the system's `zstd -dc` instead of in this process
   * (false: never; true: the chunks through one child process kept fed, and
   * metadata sections through zstd runs). Default: in this process through
   * WebAssembly (tracedat-inflate.ts), except, when zstd is on PATH, a chosen
   * buffer of at least 4 MiB of compressed data through that child when
   * `threads` is not set and there are 3 cores or more. Where WebAssembly is
   * unavailable, zstd on PATH also takes a smaller buffer in one run for all
   * CPUs' data, and metadata sections of 32 KiB and more in one run each
   * (zstd-sync.ts).
   */
  zstdTool?: boolean;
  /**
   * Decompress zstd in this process through WebAssembly (tracedat-inflate.ts)
   * once made; default true. False: as without it, through the system zstd
   * (zstdTool) or fzstd. The output is the same either way.
   */
  zstdWasm?: boolean;
}

/** Compressed blocks (metadata sections) at least this big go through the system zstd when it is used. */
const SYNC_TOOL_MIN_BYTES = 32 * 1024;
/** readFile() decompresses in worker threads when the chosen buffer has this much compressed data. */
const POOL_MIN_BYTES = 4 << 20;
/** A CPU's head passed over by this many records is promised quiet (see announceQuiet). */
const QUIET_AFTER = 1024;

export class TraceDatParser implements StreamHost {
  readonly facts: InputFacts = noInputFacts();
  /** Records read from the ring buffer (every event type), for summaries. */
  get lines(): number {
    return this.out.lines;
  }
  /** Events handed to the sink. */
  get events(): number {
    return this.out.events;
  }
  /** Records of events dmadebug does not read. */
  get skipped(): number {
    return this.out.skipped;
  }
  /** Malformed records (not emitted), and notes about the file. */
  warnings = 0;
  readonly warningList: ParseWarning[] = [];
  /** Notes about the file that are not damage: which buffer instance was read, clock caveats. */
  readonly notes: string[] = [];
  /** File version (6 or 7), once the header is read. */
  get version(): number {
    return this.box.version;
  }
  /** The buffer being read ('' = top), once chosen. */
  bufferName = '';
  /** The file's byte order. */
  get le(): boolean {
    return this.box.le;
  }

  private readonly names: Names;
  private readonly sink: EventSink;
  private readonly quiet: TraceDatParserOptions['quiet'];
  private readonly file: string;
  private readonly instance: string | undefined;

  private src: Source | null = null;
  private store: Store | null = null;
  private ended = false;
  private failed: unknown = null;

  /** The container: metadata, buffers, where each CPU's data lies. */
  private readonly box: TraceDatContainer;
  private kallsyms: Kallsyms | null = null;
  private plan: Generator<void, void, unknown> | null = null;

  // the merge
  private streams: CpuStream[] = [];
  private kinds = new Int16Array(0);
  private plans: Array<Plan | undefined> = [];
  private readonly out: RingRecords;
  private readonly lead = new MergeLead();
  private merging = false;
  private done = false;
  /** The stream the merge waits for (readFile mode: its chunks are being decompressed). */
  private blocked: CpuStream | null = null;
  /** The error of the latest truncation found (recoverV7 tells it from other damage). */
  private lastTruncation: InputError | null = null;
  /** The first damage that cut a CPU's stream short (thrown when the merge ends). */
  private damage: InputError | null = null;
  /** Time stamp of the record the merge emitted last. */
  private nowHi = 0;
  private nowLo = 0;
  private pool: ChunkDecompressor | null = null;
  private threads: number | undefined;
  private zstdTool: boolean | undefined;
  /** May zstd go through this thread's WebAssembly decoder (ReadFileOptions.zstdWasm)? */
  private zstdWasmOk = true;
  /** It may, and it is made. */
  private wasmZstd(): boolean {
    return this.zstdWasmOk && zstdWasmReady();
  }

  constructor(opts: TraceDatParserOptions) {
    this.names = opts.names;
    this.sink = opts.sink;
    this.quiet = opts.quiet;
    this.file = opts.file;
    this.instance = opts.instance;
    this.box = new TraceDatContainer({
      file: this.file,
      instance: this.instance,
      facts: this.facts,
      source: () => this.src,
      corrupt: (pos, what) => this.corrupt(pos, what),
      truncated: (pos, len, what) => this.truncated(pos, len, what),
      isLastTruncation: (e) => e === this.lastTruncation,
      inflate: (data, usize, at, what) => this.inflate(data, usize, at, what),
      note: (message) => this.note(message),
      compressionKnown: (name) => this.warmPool(name),
      prefetch: (sections) => this.prefetchSections(sections),
    });
    const cmdlines = this.box.cmdlines;
    this.out = new RingRecords({
      names: this.names,
      sink: this.sink,
      commName: (pid) => cmdlines.get(pid) ?? '<...>',
      warn: (message, cpu, pos) => this.warn(pos, message, cpu),
      facts: this.facts,
    });
  }

  // ------------------------------------------------------------ the two ways in

  /** Feeds the next bytes of the file (any chunk size; the chunk is not kept). */
  push(chunk: Uint8Array): void {
    if (this.ended) throw new Error('TraceDatParser: push() after end()');
    if (this.failed) throw this.failed;
    if (this.src && !this.store) throw new Error('TraceDatParser: push() after readFile()');
    if (!this.store) {
      this.store = new Store();
      this.src = this.store;
    }
    // bytes after everything was decoded (v6 trailers) are not kept
    if (chunk.length === 0 || this.done) return;
    this.store.append(chunk);
    this.drive(Number.POSITIVE_INFINITY);
  }

  /** The input is complete: decodes what is left; throws InputError when the file was cut short. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.failed) throw this.failed;
    if (!this.store) {
      this.store = new Store();
      this.src = this.store;
    }
    this.store.complete = true;
    this.drive(Number.POSITIVE_INFINITY);
    if (!this.done) throw new InputError(this.file, `byte ${this.store.length}`, 'the trace.dat ends early');
  }

  /**
   * Reads a trace.dat file by position (bounded memory: metadata, one read
   * window and one decompressed chunk per CPU). Use instead of push()/end().
   */
  async readFile(path: string, opts: ReadFileOptions = {}): Promise<void> {
    if (this.src) throw new Error('TraceDatParser: readFile() after push()');
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new InputError(this.file, '', code === 'ENOENT' ? 'no such file or directory' : `cannot open: ${code}`);
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new InputError(this.file, '', 'not a regular file (use push() for pipes)');
      this.src = new FileSource(fd, st.size);
      this.ended = true;
      this.zstdWasmOk = opts.zstdWasm !== false;
      // A v7 file may be zstd: have this thread's WebAssembly decoder ready before
      // the header is read (it decides how the file decompresses: syncTool, toolPoolFor).
      if (this.zstdWasmOk && this.src.get(10, 1)?.[0] === 0x37) await zstdWasm();
      if (opts.threads !== undefined) this.threads = Math.max(0, Math.min(16, Math.floor(opts.threads)));
      this.zstdTool = opts.zstdTool;
      // Progress every 64K events, but sooner at the start (4K, 8K, ...):
      // a reader in another thread (tracedat-worker.ts) gets its first
      // events while this thread is still warming up, not 64K events later.
      let step = 4096;
      let next = step;
      for (;;) {
        this.blocked = null;
        const before = this.lines;
        this.drive(step);
        if (this.done) break;
        const wait = (this.blocked as CpuStream | null)?.waiting();
        if (wait) await wait;
        else if (this.lines === before) throw new Error('TraceDatParser: readFile made no progress (a bug)');
        if (opts.onProgress && this.events >= next) {
          if (step < 65536) step *= 2;
          next = this.events + step;
          await opts.onProgress(this.events);
        }
      }
    } finally {
      closeSync(fd);
      await this.pool?.close();
      this.pool = null;
      await this.warmToolPool?.close();
      this.warmToolPool = null;
    }
  }

  // ------------------------------------------------------------ driving

  /** Runs the container parse, then the merge, as far as the bytes allow. */
  private drive(budget: number): void {
    try {
      if (!this.plan) this.plan = this.planGen();
      if (!this.merging) {
        const r = this.plan.next();
        if (!r.done) {
          this.gc();
          return;
        }
        this.merging = true;
        this.gc();
      }
      if (!this.done) {
        const r = this.pump(budget);
        if (r === DONE) this.done = true;
        this.gc();
      }
    } catch (e) {
      // a metadata field that made no sense outside a section parser: still damage at a place
      const err = e instanceof MetaError ? this.corrupt(this.box.planPos, `corrupt header: ${e.message}`) : e;
      this.failed = err;
      throw err;
    }
  }

  /** Push mode: forget the bytes nothing will read again. */
  private gc(): void {
    const st = this.store;
    if (!st || st.segs.length === 0) return;
    const live: number[] = [];
    if (!this.merging) {
      live.push(Math.min(this.box.planPos, this.box.keepFrom), Number.POSITIVE_INFINITY);
    } else {
      for (const s of this.streams) if (s.state !== DONE) live.push(s.pos, s.end);
    }
    st.retain(live);
  }

  /** The file in readFile mode (null in push mode). */
  fileSource(): FileSource | null {
    return this.src instanceof FileSource ? this.src : null;
  }

  compressionName(): string {
    return this.box.compression;
  }

  sourceComplete(): boolean {
    return this.src?.complete ?? false;
  }

  truncated(pos: number, len: number, what: string): InputError {
    this.lastTruncation = this.truncation(pos, len, what);
    return this.lastTruncation;
  }

  private truncation(pos: number, len: number, what: string): InputError {
    const have = this.src?.length ?? 0;
    const bytes = `${len} byte${len === 1 ? '' : 's'} at byte ${pos}`;
    if (pos >= have && this.merging) {
      // the wanted bytes start past the end: say whose data the end cuts, too
      const cut = this.streams.find((s) => s.start < have && have < s.end);
      const inside = cut ? `, inside CPU ${cut.cpu}'s data (${cut.end - cut.start} bytes at byte ${cut.start})` : '';
      return new InputError(this.file, `byte ${have}`, `the file ends before ${what} (${bytes})${inside}`);
    }
    return new InputError(
      this.file,
      `byte ${Math.min(have, pos + len)}`,
      `the file ends inside ${what} (${bytes}; the file has ${have})`,
    );
  }

  corrupt(pos: number, what: string): InputError {
    return new InputError(this.file, `byte ${pos}`, what);
  }

  inflate(data: Uint8Array, usize: number, at: number, what: string): Uint8Array {
    const pre = this.prefetched.get(at);
    if (pre) {
      this.prefetched.delete(at);
      if (pre.usize === usize && Buffer.compare(pre.data, data) === 0) return pre.out;
    }
    if (data.length >= SYNC_TOOL_MIN_BYTES) {
      const out = this.syncTool()?.block(data, usize);
      if (out) return out;
    }
    try {
      return inflateBlock(this.box.compression as 'zstd' | 'zlib', data, usize, this.zstdWasmOk);
    } catch (e) {
      throw this.corrupt(at, `corrupt ${this.box.compression} data in ${what} (${(e as Error).message ?? String(e)})`);
    }
  }

  /** Sections decompressed ahead (prefetchSections), by their body's offset, with what they were made from. */
  private readonly prefetched = new Map<number, { data: Uint8Array; usize: number; out: Uint8Array }>();

  /**
   * The metadata sections the system zstd would decompress one run each
   * (inflate), all in one run: a run costs 15-45 ms of process start.
   * inflate takes each from here when its bytes are the same.
   */
  private prefetchSections(sections: CompressedSection[]): void {
    const big = sections.filter((s) => s.data.length >= SYNC_TOOL_MIN_BYTES);
    if (big.length < 2 || this.box.compression !== 'zstd') return;
    const outs = this.syncTool()?.blocks(big);
    if (!outs) return; // each goes its own way, which names a bad one
    for (const [i, s] of big.entries()) this.prefetched.set(s.at, { data: s.data, usize: s.usize, out: outs[i]! });
  }

  /**
   * The system zstd, run per block or batch, when this file is zstd and it is
   * asked for (zstdTool), or by default when this thread has no WebAssembly
   * decoder (faster than a process start per run) and zstd is on PATH; else null.
   */
  private syncTool(): ZstdSync | null {
    if (this.zstdSync === undefined) {
      const use = this.zstdTool ?? (!this.wasmZstd() && onPath('zstd'));
      this.zstdSync = this.box.compression === 'zstd' && use ? new ZstdSync() : null;
    }
    return this.zstdSync;
  }
  private zstdSync: ZstdSync | null | undefined;

  /** Something worth saying about the file that is not damage (which instance was read, clocks). */
  private note(message: string): void {
    if (this.notes.length < MAX_WARNINGS_KEPT) this.notes.push(message);
  }

  /** A record that could not be used, at `pos` (its offset, as events' `line`) of CPU `cpu`. */
  private warn(pos: number, message: string, cpu: number): void {
    this.warnings++;
    if (this.warningList.length < MAX_WARNINGS_KEPT) this.warningList.push({ line: pos, cpu, message });
  }

  // ------------------------------------------------------------ the container, then the buffer

  private *planGen(): Generator<void, void, unknown> {
    yield* this.box.read();
    yield* this.choose();
  }

  // ---- choosing the buffer

  private *choose(): Generator<void, void, unknown> {
    const box = this.box;
    this.damage = box.damage;
    yield* box.readV6Instances();
    for (const b of box.buffers) b.stats = box.statsByName.get(b.name) ?? [];
    const names = box.buffers.map((b) => (b.name === '' ? '(top)' : b.name));
    let chosen: BufferInfo | undefined;
    if (this.instance !== undefined) {
      chosen = box.buffers.find((b) => b.name === this.instance);
      if (!chosen) {
        throw new InputError(
          this.file,
          '',
          `no buffer instance "${this.instance}" in this trace.dat (it has: ${names.join(', ') || 'none'})`,
        );
      }
    } else {
      const top = box.buffers.find((b) => b.name === '');
      const others = box.buffers.filter((b) => b.name !== '' && !b.latency);
      if (others.length === 0 || (top && (yield* this.hasDma(top)))) {
        chosen = top;
      } else {
        const withDma: BufferInfo[] = [];
        for (const b of others) if (yield* this.hasDma(b)) withDma.push(b);
        if (withDma.length === 1) {
          chosen = withDma[0]!;
          this.note(`the top buffer has no dma events; reading buffer instance "${chosen.name}"`);
        } else {
          chosen = top;
          if (withDma.length > 1) {
            this.note(
              `the top buffer has no dma events but ${withDma.length} instances do (${withDma.map((b) => b.name).join(', ')}); choose one with --instance`,
            );
          }
        }
      }
    }
    this.bufferName = chosen?.name ?? '';
    if (chosen?.latency) {
      throw new InputError(
        this.file,
        '',
        'a latency-format trace.dat (text inside) is not supported; run `trace-cmd report` on it',
      );
    }
    this.prepareDecoding();
    // where records are: an offset in the file, or (compressed data) in their CPU's decompressed data
    this.facts.positions = chosen?.compressed ? 'cpu-data' : 'file';
    // a file with no ring-buffer data (trace-cmd convert drops the BUFFER option of an
    // empty buffer) still keeps the top buffer's stats, whose overruns are the coverage
    const stats = chosen?.stats ?? (this.instance === undefined ? (box.statsByName.get('') ?? []) : []);
    this.facts.sawBufferHeader = stats.length > 0;
    this.facts.overwriteKnown = stats.length > 0;
    this.facts.cpus = stats.length;
    const late: number[] = [];
    stats.forEach((s, cpu) => {
      const m = /^overrun:\s*(\d+)/m.exec(s);
      if (m && Number(m[1]) > 0) {
        this.facts.overwritten = true;
        this.facts.overwrittenCount += Number(m[1]);
        late.push(cpu);
      }
    });
    this.facts.overwrittenCpus = stats.length > 0 ? late : null;
    if (chosen && this.src instanceof FileSource && chosen.compressed && box.compression !== 'none') {
      let bytes = 0;
      for (const c of chosen.cpus) bytes += c.size;
      const big = bytes >= POOL_MIN_BYTES;
      if (box.compression === 'zstd' && this.toolPoolFor(bytes)) {
        this.pool = this.warmToolPool ?? new InflatePool('zstd', 1, true);
        this.warmToolPool = null;
      } else {
        const threads = this.threads ?? (big ? InflatePool.defaultThreads() : 0);
        if (threads > 0) this.pool = new InflatePool(box.compression, threads);
        else if (!big && this.threads === undefined) this.pool = this.syncTool(); // a small zstd file
      }
    }
    this.streams = chosen ? this.makeStreams(chosen, this.pool) : [];
    box.keepFrom = Number.POSITIVE_INFINITY;
    this.prefetched.clear(); // the metadata is read: any section left was not asked for as prefetched
    if (this.warmToolPool) {
      void this.warmToolPool.close();
      this.warmToolPool = null;
    }
  }

  /**
   * A big zstd file read by position will most likely want the zstd child's
   * worker (prepareDecoding): start it as soon as the header names zstd, so
   * that its start-up overlaps the reading of the metadata instead of
   * delaying the first events. Unused, it is closed.
   */
  private warmPool(name: string): void {
    if (name === 'zstd' && this.zstdWasmOk) void zstdWasm(); // (readFile made it already; push() uses it once made)
    if (name !== 'zstd' || this.warmToolPool || !(this.src instanceof FileSource)) return;
    // the file's size bounds its CPU data's
    if (this.toolPoolFor(this.src.length)) this.warmToolPool = new InflatePool('zstd', 1, true);
  }

  /**
   * Does `bytes` of compressed zstd CPU data go through the zstd child's
   * worker (ReadFileOptions.zstdTool)? By default, for a big file when zstd is
   * on PATH, unless this thread decompresses through WebAssembly on fewer than
   * 3 cores: there the child and its worker only compete with the decoding and
   * the checks (see tracedat-inflate.ts).
   */
  private toolPoolFor(bytes: number): boolean {
    return (
      this.zstdTool ??
      (bytes >= POOL_MIN_BYTES &&
        this.threads === undefined &&
        (availableParallelism() >= 3 || !this.wasmZstd()) &&
        onPath('zstd'))
    );
  }
  private warmToolPool: InflatePool | null = null;

  private subbufSize(): number {
    const h = this.box.header!;
    return h.dataSize > 0 ? h.dataOffset + h.dataSize : this.box.pageSize;
  }

  private makeStreams(b: BufferInfo, pool: ChunkDecompressor | null = null): CpuStream[] {
    const cpus = b.cpus.filter((c) => c.size > 0).sort((x, y) => x.cpu - y.cpu);
    const src = this.src!;
    return cpus.map(
      (c) =>
        new CpuStream(
          c.cpu,
          src.fetcher(),
          this,
          c,
          b.compressed,
          this.subbufSize(),
          this.box.header!,
          this.box.le,
          pool,
        ),
    );
  }

  /** Does the buffer hold any dma:* record? (Reads until the first one.) */
  private *hasDma(b: BufferInfo): Generator<void, boolean, unknown> {
    const dma = new Uint8Array(65536);
    const le = this.box.le;
    for (const f of this.box.formats) if (f.system === 'dma' || f.name.startsWith('dma_')) dma[f.id & 0xffff] = 1;
    const { typeOff: off, typeSize: size } = commonFields(this.box.formats);
    for (const s of this.makeStreams(b)) {
      for (;;) {
        try {
          s.advance();
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          break; // damaged data: the merge will meet it again and cut this CPU short
        }
        if (s.state === STARVED) {
          yield;
          continue;
        }
        if (s.state === DONE) break;
        const r = s.reader;
        const id = size === 1 ? r.buf[r.recOff + off]! : r.dv.getUint16(r.recOff + off, le);
        if (dma[id] === 1) return true;
      }
    }
    return false;
  }

  private prepareDecoding(): void {
    const box = this.box;
    const h = box.header!;
    this.kinds = new Int16Array(65536).fill(-1);
    for (const f of box.formats) this.kinds[f.id & 0xffff] = decodedEventCode(f.system, f.name) === 0 ? 0 : 1;
    this.plans = buildPlans(box.formats, h.longSize);
    const decoder = new RecordDecoder(
      this.names,
      box.le,
      h.longSize,
      () => {
        if (!this.kallsyms && box.kallsymsText !== '') {
          this.kallsyms = new Kallsyms(box.kallsymsText);
          box.kallsymsText = '';
        }
        return this.kallsyms;
      },
      box.printk,
    );
    this.out.configure(box.le, decoder, box.formats);
  }

  // ------------------------------------------------------------ the merge

  // Quiet CPUs: the merge holds every CPU's next record, so it can promise what
  // a finding gate would otherwise wait for (engine/gate.ts): that a CPU
  // whose next record lies far ahead brings no loss notice before it. A CPU
  // quiet for long (the storm trace's CPU 0: nothing between 2.4 s and 9.3 s)
  // then no longer holds back every error found meanwhile. At most one
  // promise per head, for heads passed over by QUIET_AFTER records, looked
  // for every QUIET_AFTER records; a head with a notice pending gets none,
  // nor does a CPU cut short by damage.

  /** Records the merge emitted (a stream's headSince counts in them). */
  private merged = 0;
  private quietCheck = 0;

  private readonly quietTs = new DmaEvent();

  /** Promises (opts.quiet) the heads passed over long enough, and the ends of streams that ended cleanly. */
  private announceQuiet(lead: CpuStream): void {
    this.quietCheck = this.merged;
    const quiet = this.quiet;
    if (!quiet) return;
    for (const st of this.streams) {
      if (st.promised || st.pendingLost.length > 0) continue;
      if (st.state === DONE) {
        quiet(st.cpu, Number.POSITIVE_INFINITY, 0);
      } else if (st.state === HEAD && st !== lead && this.merged - st.headSince >= QUIET_AFTER) {
        stampEvent(this.quietTs, st.reader.tsHi, st.reader.tsLo);
        quiet(st.cpu, this.quietTs.tsSec, this.quietTs.tsNs);
      } else {
        continue;
      }
      st.promised = true;
    }
  }

  /** Emits records in time order until done, starved, or `budget` records were emitted. */
  private pump(budget: number): number {
    const streams = this.streams;
    const n = streams.length;
    const lead = this.lead;
    let emitted = 0;
    for (;;) {
      lead.reset();
      // a starved stream waits for the rest to be advanced too: at the start
      // that sets every CPU's first read going at once (one zstd run for all)
      let starved: CpuStream | null = null;
      for (let i = 0; i < n; i++) {
        const st = streams[i]!;
        if (st.state !== HEAD) {
          if (st.state === DONE) continue;
          this.advance(st);
          if (st.state === STARVED) {
            starved ??= st;
            continue;
          }
          if (st.state === DONE) continue;
        }
        lead.offer(i, st.reader.tsHi, st.reader.tsLo);
      }
      if (starved) {
        this.blocked = starved;
        return STARVED;
      }
      if (lead.best < 0) {
        // every stream ended; one cut short by damage makes the file's error the result
        if (this.damage) throw this.damage;
        return DONE;
      }
      const st = streams[lead.best]!;
      const r = st.reader;
      for (;;) {
        if (st.pendingLost.length > 0) this.flushLost(st);
        this.nowHi = r.tsHi;
        this.nowLo = r.tsLo;
        try {
          this.record(st);
        } catch (e) {
          this.cutShort(st, e);
          break;
        }
        emitted++;
        // at fixed counts, so that pushed chunks of any size give the same marks as readFile
        if (++this.merged - this.quietCheck >= QUIET_AFTER) this.announceQuiet(st);
        this.advance(st);
        if (st.state !== HEAD) break;
        if (!lead.stillFirst(r.tsHi, r.tsLo)) break;
        if (emitted >= budget) return HEAD;
      }
      if (emitted >= budget) return HEAD;
    }
  }

  /**
   * st.advance(), except that damage in the stream ends that stream only
   * (cutShort), and a stream that ends says its pending notices (a last
   * sub-buffer may hold no record, only the missing-events bit). The new head
   * is not promised quiet yet.
   */
  private advance(st: CpuStream): void {
    st.headSince = this.merged;
    st.promised = false;
    try {
      st.advance();
    } catch (e) {
      this.cutShort(st, e);
      return;
    }
    if (st.state === DONE) this.flushLost(st);
  }

  /**
   * Damage in one CPU's data: the other CPUs are read on, with a CpuCutShort
   * event telling the checks that this CPU's later events are missing, and the
   * first such error is thrown once every stream has ended.
   */
  private cutShort(st: CpuStream, e: unknown): void {
    if (!(e instanceof InputError)) throw e;
    this.damage ??= e;
    st.promised = true; // its later events are missing: nothing to promise
    this.flushLost(st);
    st.state = DONE;
    this.out.emitCutShort(st.cpu, this.nowHi, this.nowLo, st.reader.pagePos);
  }

  /** Lost events of a stream, stamped with its current time. */
  private flushLost(st: CpuStream): void {
    for (const lost of st.pendingLost) {
      this.out.emitLost(st.cpu, st.reader.tsHi, st.reader.tsLo, lost, st.reader.pagePos);
    }
    st.pendingLost.length = 0;
  }

  /** Decodes and emits the head record of a stream. */
  private record(st: CpuStream): void {
    const r = st.reader;
    const id = this.out.recordId(r, st.cpu);
    if (id < 0) return;
    const k = this.kinds[id]!;
    if (k <= 0) {
      if (k < 0) {
        throw this.corrupt(
          st.pageAt,
          `CPU ${st.cpu}: a record of event id ${id}, which has no format in the file (corrupt data, or a format section is missing)`,
        );
      }
      this.out.skipped++;
      this.out.foreignRecord(st.cpu);
      return;
    }
    this.out.emitRecord(r, st.cpu, this.plans[id]!);
  }
}
