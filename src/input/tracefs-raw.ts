// The binary live source: tracefs per_cpu/cpuN/trace_pipe_raw, one ring-buffer
// sub-buffer per read, decoded with the trace.dat reader's own PageReader and
// RecordDecoder and merged across CPUs by timestamp into an EventSink. It owns
// reading tracefs metadata (header_page, the dma/kmem/ftrace format files,
// saved_cmdlines), the non-blocking per-CPU reads and the live merge; it knows
// nothing of checks, output or enabling events (tracefs.ts does that).
//
// Why it looks the way it does:
// - Reads are readSync on O_NONBLOCK descriptors: EAGAIN comes back at once,
//   so no thread is ever parked in a read and Ctrl-C never hangs; the loop
//   yields to the event loop between rounds that had data and sleeps when no
//   CPU had any: 1 ms after data, twice as long after each empty round, at
//   most pollMs. (A flat pollMs let a busy CPU fill a small buffer while the
//   reader slept: with 64 KiB per CPU that capped the bench near 1M events/s.)
// - A live merge cannot know whether a quiet CPU will still deliver an
//   earlier event, so it emits only up to the smallest "latest timestamp
//   seen" of the CPUs that delivered data in the last idleMs; a CPU quiet for
//   longer is idle and not waited for. After a quiet spell every CPU gets a
//   fresh idleMs of grace, so the first burst is ordered too. stop()/end
//   flushes everything.
// - Memory is bounded: each CPU owns queuePages sub-buffers (a ring); a CPU
//   whose ring is full is not read until the merge drains it (the kernel then
//   drops events and says so with the missing-events bit -> EventKind.Lost).
// - Nothing allocates per record: one reused DmaEvent, preallocated pages,
//   timestamps as u32 halves.

import {
  closeSync,
  existsSync,
  constants as fsConstants,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
} from 'node:fs';
import { machine, release } from 'node:os';
import { join } from 'node:path';
import type { Names } from '../base/interner.js';
import { type EventSink, type InputFacts, noInputFacts } from '../engine/events.js';
import { FTRACE_RECORDS, TRACED_EVENTS } from '../events/vocabulary.js';
import { InputError } from './errors.js';
import { buildPlans, MergeLead, RingRecords } from './ring-records.js';
import { MAX_WARNINGS_KEPT, type ParseWarning } from './text-parser.js';
import { type Plan, RecordDecoder } from './tracedat-decode.js';
import {
  type EventFormat,
  Kallsyms,
  mapEventsOf,
  type PageHeader,
  parseCmdlines,
  parseEventFormat,
  parseHeaderPage,
  parsePrintkFormats,
} from './tracedat-format.js';
import { PageReader } from './tracedat-kbuffer.js';
import { tracefsCpus } from './tracefs.js';

/** Why raw reading is not possible in `dir` ('' = it is). */
export function rawTracefsProblem(dir: string): string {
  const cpus = tracefsCpus(dir);
  if (cpus.length === 0) return 'no per_cpu/cpuN directories';
  if (!cpus.some((c) => existsSync(join(dir, 'per_cpu', `cpu${c}`, 'trace_pipe_raw'))))
    return 'no per_cpu/cpuN/trace_pipe_raw';
  if (!existsSync(join(dir, 'events', 'header_page'))) return 'no events/header_page';
  const dma = join(dir, 'events', 'dma');
  if (!existsSync(dma) || !readdirSync(dma).some((n) => existsSync(join(dma, n, 'format'))))
    return 'no events/dma/*/format';
  return '';
}

export interface TracefsMeta {
  header: PageHeader;
  /** Sub-buffer size: header_page's data offset + size, else 4096. */
  pageSize: number;
  littleEndian: boolean;
  formats: EventFormat[];
}

/** header_page and the format files of the events dmadebug decodes. */
export function readTracefsMeta(dir: string): TracefsMeta {
  const ev = join(dir, 'events');
  let hp: string;
  try {
    hp = readFileSync(join(ev, 'header_page'), 'latin1');
  } catch (e) {
    throw new InputError(dir, '', `cannot read events/header_page: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  const header = parseHeaderPage(hp);
  if (!header) throw new InputError(dir, '', 'events/header_page has no 8-byte timestamp and 4- or 8-byte commit');
  const pageSize = header.dataSize > 0 ? header.dataOffset + header.dataSize : 4096;
  const formats: EventFormat[] = [];
  const add = (system: string, name: string) => {
    let text: string;
    try {
      text = readFileSync(join(ev, system, name, 'format'), 'latin1');
    } catch {
      return;
    }
    const f = parseEventFormat(text, system, header.longSize);
    if (f) formats.push(f);
  };
  const list = (system: string) => {
    try {
      return readdirSync(join(ev, system)).sort();
    } catch {
      return [];
    }
  };
  for (const n of list('dma')) add('dma', n);
  for (const e of TRACED_EVENTS) if (e.system === 'kmem') add('kmem', e.name);
  for (const [n] of FTRACE_RECORDS) add('ftrace', n);
  if (!formats.some((f) => f.system === 'dma')) throw new InputError(dir, '', 'no readable events/dma/*/format');
  // tracefs is the running kernel: its byte order is ours
  const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  return { header, pageSize, littleEndian, formats };
}

export interface RawLiveOptions {
  names: Names;
  sink: EventSink;
  /** The input's name, for messages (default: the directory). */
  file?: string;
  /** The longest sleep when no CPU had data (ms): sleeps start at 1 ms and double up to it. Default 20. */
  pollMs?: number;
  /** A CPU with no data for this long is idle: the merge does not wait for it (ms). Default 100. */
  idleMs?: number;
  /** Sub-buffers queued per CPU. Default 4. */
  queuePages?: number;
  /** Called after each round that emitted events (status line, output backpressure). */
  onBatch?: (events: number) => void | Promise<void>;
  /**
   * The idle tick: called once when, after events were emitted, a round reads
   * nothing and nothing is queued. Every event read so far has been emitted,
   * and the kernel holds none: what a consumer waits for (a CPU's next
   * record, a late loss notice) is not there to come now. Awaited.
   */
  onIdle?: () => void | Promise<void>;
  /** Byte order of the pages (tests); default the host's. */
  littleEndian?: boolean;
}

const NO_LOST = -1;

/** One CPU's trace_pipe_raw: a ring of sub-buffers and a reader on the oldest. */
class CpuRaw {
  readonly pages: Uint8Array[] = [];
  readonly dvs: DataView[] = [];
  /** Ring slot of the page the reader is on; complete pages queued (including that one). */
  head = 0;
  count = 0;
  /** Bytes of the page being filled (slot head + count). */
  fill = 0;
  loaded = false;
  /** The reader is on a record not yet emitted. */
  hasRec = false;
  /** Latest timestamp seen on this CPU (u32 halves); seen = any page arrived. */
  latestHi = 0;
  latestLo = 0;
  seen = false;
  /** Wall clock (ms) of the last data, or of the grace given after a quiet spell. */
  lastData: number;
  readBytes = 0;
  ended = false;
  /** Lost events waiting to be emitted before the next record (NO_LOST: none; 0: uncounted). */
  pendingLost = NO_LOST;
  /** Where the next page the reader loads starts in this CPU's stream (bytes). */
  nextPagePos = 0;

  constructor(
    readonly cpu: number,
    readonly fd: number,
    readonly reader: PageReader,
    pageSize: number,
    queuePages: number,
    now: number,
  ) {
    for (let i = 0; i < queuePages; i++) {
      const b = new Uint8Array(pageSize);
      this.pages.push(b);
      this.dvs.push(new DataView(b.buffer));
    }
    this.lastData = now;
  }
}

/**
 * Follows every CPU's trace_pipe_raw of a tracefs directory and delivers
 * decoded events in time order. Shaped like a parser (counters, facts) so the
 * pipeline and the summary treat it like one; `run()` drives it.
 */
export class RawLiveSource {
  readonly facts: InputFacts = noInputFacts();
  /** Ring-buffer records read. */
  get lines(): number {
    return this.out.lines;
  }
  get events(): number {
    return this.out.events;
  }
  get skipped(): number {
    return this.out.skipped;
  }
  warnings = 0;
  readonly warningList: ParseWarning[] = [];
  readonly cpus: number[];
  readonly pageSize: number;

  private readonly streams: CpuRaw[] = [];
  private readonly le: boolean;
  private readonly names: Names;
  private readonly file: string;
  private readonly pollMs: number;
  private readonly idleMs: number;
  private readonly onBatch: RawLiveOptions['onBatch'];
  private readonly onIdle: RawLiveOptions['onIdle'];
  /** Events when the idle tick was last given. */
  private idleAt = 0;
  private readonly plans: Array<Plan | undefined>;
  private readonly out: RingRecords;
  private readonly lead = new MergeLead();
  private readonly scan: PageReader;
  private stopped = false;
  private closed = false;
  private lastAnyData = 0;
  // comm lookup: pid -> interned comm, from saved_cmdlines (re-read at most once a second on a miss)
  private readonly cmdlines = new Map<number, string>();
  private cmdlinesAt = 0;
  private kallsyms: Kallsyms | null = null;

  constructor(
    readonly dir: string,
    opts: RawLiveOptions,
  ) {
    this.names = opts.names;
    this.file = opts.file ?? dir;
    this.pollMs = opts.pollMs ?? 20;
    this.idleMs = opts.idleMs ?? 100;
    this.onBatch = opts.onBatch;
    this.onIdle = opts.onIdle;
    const meta = readTracefsMeta(dir);
    // live: the kernel traced is the one running here; its formats say which map events it has
    this.facts.kernelRelease = release();
    this.facts.machine = machine();
    this.facts.kernelSource = 'this machine (live)';
    // a record's place: its byte offset in its CPU's trace_pipe_raw stream
    this.facts.positions = 'cpu-data';
    const map = mapEventsOf(meta.formats);
    if (map !== null) {
      this.facts.mapEvents = map;
      this.facts.mapEventsSource = 'tracefs formats';
    }
    this.le = opts.littleEndian ?? meta.littleEndian;
    this.pageSize = meta.pageSize;
    const h = meta.header;
    this.plans = buildPlans(meta.formats, h.longSize);
    const printk = new Map<string, string>();
    try {
      parsePrintkFormats(readFileSync(join(dir, 'printk_formats'), 'utf8'), printk);
    } catch {
      // no printk formats: bprint markers print their format address
    }
    this.out = new RingRecords({
      names: this.names,
      sink: opts.sink,
      commName: (pid) => this.cmdlineOf(pid),
      warn: (message, cpu, pos) => this.warn(message, cpu, pos),
      facts: this.facts,
    });
    const decoder = new RecordDecoder(this.names, this.le, h.longSize, () => this.loadKallsyms(), printk);
    this.out.configure(this.le, decoder, meta.formats);
    this.scan = new PageReader(this.le, h.longSize, h.dataOffset);
    this.readCmdlines(Date.now());
    const now = Date.now();
    this.cpus = tracefsCpus(dir).filter((c) => existsSync(this.pipePath(c)));
    this.facts.cpus = this.cpus.length === 0 ? 0 : Math.max(...this.cpus) + 1;
    try {
      for (const cpu of this.cpus) {
        let fd: number;
        try {
          fd = openSync(this.pipePath(cpu), fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
        } catch (e) {
          throw new InputError(this.pipePath(cpu), '', `cannot open: ${(e as NodeJS.ErrnoException).code ?? e}`);
        }
        const reader = new PageReader(this.le, h.longSize, h.dataOffset);
        this.streams.push(new CpuRaw(cpu, fd, reader, this.pageSize, Math.max(2, opts.queuePages ?? 4), now));
      }
    } catch (e) {
      this.close();
      throw e;
    }
    this.lastAnyData = now;
  }

  private pipePath(cpu: number): string {
    return join(this.dir, 'per_cpu', `cpu${cpu}`, 'trace_pipe_raw');
  }

  private loadKallsyms(): Kallsyms | null {
    if (!this.kallsyms) {
      try {
        this.kallsyms = new Kallsyms(readFileSync('/proc/kallsyms', 'latin1'));
      } catch {
        this.kallsyms = new Kallsyms('');
      }
    }
    return this.kallsyms;
  }

  private readCmdlines(now: number): void {
    this.cmdlinesAt = now;
    try {
      parseCmdlines(readFileSync(join(this.dir, 'saved_cmdlines'), 'utf8'), this.cmdlines);
    } catch {
      // not readable: comms stay unknown
    }
  }

  /** Reads until stop() or until every CPU's stream ended (a FIFO whose writer closed). */
  async run(): Promise<void> {
    const firstSleep = Math.min(1, this.pollMs);
    let sleep = firstSleep;
    try {
      while (!this.stopped) {
        const now = Date.now();
        const got = this.readRound(now);
        if (this.streams.every((s) => s.ended)) break;
        const before = this.events;
        this.pump(now, false);
        if (this.events !== before && this.onBatch) await this.onBatch(this.events);
        if (this.stopped) break;
        if (!got && this.onIdle && this.events !== this.idleAt) await this.idle();
        if (got) {
          sleep = firstSleep;
          await new Promise<void>((r) => setImmediate(r));
        } else {
          await new Promise<void>((r) => setTimeout(r, sleep));
          sleep = Math.min(sleep * 2, this.pollMs);
        }
      }
    } finally {
      this.drain();
    }
  }

  /** The idle tick, when nothing read is still queued: pending loss marks go out first, as drain() sends them. */
  private async idle(): Promise<void> {
    for (const st of this.streams) if (st.hasRec || st.count > 0 || st.fill > 0) return;
    for (const st of this.streams) {
      if (st.pendingLost !== NO_LOST) this.emitLost(st, st.latestHi, st.latestLo);
    }
    this.idleAt = this.events;
    await this.onIdle!();
  }

  /** Stops run(): the same as drain(). */
  stop(): void {
    this.drain();
  }

  /**
   * The final flush, synchronous: reads what is readable now, emits every
   * queued event regardless of the merge watermark, closes the files; run()
   * then returns.
   */
  drain(): void {
    this.stopped = true;
    if (this.closed) return;
    // bounded: at most a few rounds of whatever the kernel already holds
    for (let i = 0; i < 64; i++) {
      const got = this.readRound(Date.now());
      this.pump(Date.now(), true);
      if (!got) break;
    }
    this.pump(Date.now(), true);
    for (const st of this.streams) {
      if (st.pendingLost !== NO_LOST) this.emitLost(st, st.latestHi, st.latestLo);
    }
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const st of this.streams) {
      try {
        closeSync(st.fd);
      } catch {
        // already gone
      }
    }
  }

  // ------------------------------------------------------------ reading

  /** One non-blocking read pass over the CPUs with room. True when any bytes arrived. */
  private readRound(now: number): boolean {
    let got = false;
    if (this.closed) return false;
    const quiet = now - this.lastAnyData > this.idleMs;
    for (const st of this.streams) {
      while (!st.ended && st.count < st.pages.length) {
        const slot = (st.head + st.count) % st.pages.length;
        const page = st.pages[slot]!;
        let n: number;
        try {
          n = readSync(st.fd, page, st.fill, this.pageSize - st.fill, null);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EAGAIN' || code === 'EWOULDBLOCK') break;
          if (code === 'EINTR') continue;
          throw new InputError(this.pipePath(st.cpu), `byte ${st.readBytes}`, `read failed: ${code ?? String(e)}`);
        }
        if (n === 0) {
          // a FIFO with no writer reads as EOF: the end once something was read
          if (st.readBytes > 0) {
            st.ended = true;
            if (st.fill > 0) {
              const at = st.readBytes - st.fill;
              this.warn(`CPU ${st.cpu}: the stream ended inside a sub-buffer (${st.fill} bytes)`, st.cpu, at);
            }
          }
          break;
        }
        if (!got && quiet) {
          // the first data after a quiet spell: give every CPU a fresh grace period
          for (const o of this.streams) o.lastData = now;
        }
        got = true;
        st.readBytes += n;
        st.fill += n;
        st.lastData = now;
        this.lastAnyData = now;
        if (st.fill < this.pageSize) continue;
        st.fill = 0;
        st.count++;
        this.noteLatest(st, page, slot);
      }
    }
    return got;
  }

  /** The latest timestamp in a newly queued page (a header walk, no decoding). */
  private noteLatest(st: CpuRaw, page: Uint8Array, slot: number): void {
    const r = this.scan;
    if (!r.load(page, st.dvs[slot]!, 0, this.pageSize)) return;
    while (r.next()) {
      // walk to the last record
    }
    const h = r.tsHi;
    const l = r.tsLo;
    if (!st.seen || h > st.latestHi || (h === st.latestHi && l > st.latestLo)) {
      st.latestHi = h;
      st.latestLo = l;
    }
    st.seen = true;
    if (!st.hasRec) this.advance(st);
  }

  // ------------------------------------------------------------ merging

  /** Puts the CPU's reader on its next record (hasRec), releasing pages it finished. */
  private advance(st: CpuRaw): void {
    const r = st.reader;
    for (;;) {
      if (st.loaded) {
        if (r.next()) {
          st.hasRec = true;
          return;
        }
        if (r.error !== '') this.warn(`CPU ${st.cpu}: ${r.error}`, st.cpu, r.pagePos);
        st.loaded = false;
        st.head = (st.head + 1) % st.pages.length;
        st.count--;
      }
      if (st.count === 0) {
        st.hasRec = false;
        return;
      }
      const slot = st.head;
      r.pagePos = st.nextPagePos;
      st.nextPagePos += this.pageSize;
      if (!r.load(st.pages[slot]!, st.dvs[slot]!, 0, this.pageSize)) {
        this.warn(`CPU ${st.cpu}: ${r.error}`, st.cpu, r.pagePos);
        st.head = (st.head + 1) % st.pages.length;
        st.count--;
        continue;
      }
      st.loaded = true;
      if (r.lost >= 0) {
        const p = st.pendingLost;
        st.pendingLost = p === NO_LOST ? r.lost : p === 0 || r.lost === 0 ? 0 : p + r.lost;
      }
    }
  }

  /**
   * Emits queued records in time order up to the watermark: the smallest
   * latest-seen timestamp of the CPUs that are neither ended nor idle
   * (everything when `all`).
   */
  private pump(now: number, all: boolean): void {
    let wHi = 0xffffffff;
    let wLo = 0xffffffff;
    if (!all) {
      for (const st of this.streams) {
        if (st.ended || now - st.lastData > this.idleMs) continue;
        if (!st.seen) return; // a CPU in its grace period with nothing yet: wait for it
        if (st.latestHi < wHi || (st.latestHi === wHi && st.latestLo < wLo)) {
          wHi = st.latestHi;
          wLo = st.latestLo;
        }
      }
    }
    const streams = this.streams;
    const n = streams.length;
    const lead = this.lead;
    for (;;) {
      lead.reset();
      for (let i = 0; i < n; i++) {
        const st = streams[i]!;
        if (st.hasRec) lead.offer(i, st.reader.tsHi, st.reader.tsLo);
      }
      if (lead.best < 0) return;
      const st = streams[lead.best]!;
      const r = st.reader;
      // emit from the best CPU while it stays first and under the watermark
      for (;;) {
        const h = r.tsHi;
        const l = r.tsLo;
        if (h > wHi || (h === wHi && l > wLo)) return;
        if (st.pendingLost !== NO_LOST) this.emitLost(st, h, l);
        this.record(st);
        this.advance(st);
        if (!st.hasRec) break;
        if (!lead.stillFirst(r.tsHi, r.tsLo)) break;
      }
    }
  }

  private emitLost(st: CpuRaw, hi: number, lo: number): void {
    const lost = st.pendingLost;
    st.pendingLost = NO_LOST;
    this.out.emitLost(st.cpu, hi, lo, lost, st.reader.pagePos);
  }

  /** The comm of a pid from saved_cmdlines, re-read at most once a second on a miss. */
  private cmdlineOf(pid: number): string | undefined {
    let name = this.cmdlines.get(pid);
    if (name === undefined) {
      const now = Date.now();
      if (now - this.cmdlinesAt >= 1000) {
        this.readCmdlines(now);
        name = this.cmdlines.get(pid);
      }
    }
    return name;
  }

  /** Decodes and emits the CPU's current record. */
  private record(st: CpuRaw): void {
    const r = st.reader;
    const id = this.out.recordId(r, st.cpu);
    if (id < 0) return;
    const plan = this.plans[id];
    if (plan === undefined) {
      // another user's event (tracefs is shared): not ours
      this.out.skipped++;
      this.out.foreignRecord(st.cpu);
      return;
    }
    this.out.emitRecord(r, st.cpu, plan);
  }

  /** A record or page that could not be used, of CPU `cpu` at `pos` in its stream (0: unknown). */
  private warn(message: string, cpu = -1, pos = 0): void {
    this.warnings++;
    if (this.warningList.length < MAX_WARNINGS_KEPT) {
      this.warningList.push(cpu >= 0 ? { line: pos, cpu, message } : { line: pos, message });
    }
  }

  /** Parser shape for the pipeline: raw pages come from run(), not from pushes. */
  push(_chunk: Uint8Array): void {
    throw new Error(`${this.file}: RawLiveSource reads tracefs itself; call run()`);
  }

  end(): void {
    this.drain();
  }
}
