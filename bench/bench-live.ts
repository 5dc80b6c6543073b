// The live section of `npm run bench`: how many events per second `dmadebug live` keeps up with
// through FIFOs, on its two input paths. For each target rate a fresh `dmadebug live --json DIR` runs
// against a fake tracefs (test/helpers/fake-tracefs.ts: the enable files, tracing_on, events/
// header_page, header_event and the dma/kmem format files, trace_pipe and per_cpu/cpuN/trace_pipe_raw
// as FIFOs):
// - raw (the default path of `live`): this process writes ring-buffer sub-buffers into each CPU's
//   trace_pipe_raw FIFO. They are the per-CPU page streams of a v6 uncompressed trace.dat from
//   gen-tracedat.ts (2 CPUs, real 6.12 formats: the fake tracefs gets the same format files, so the
//   event ids agree), cut out at the offsets the generator reports and fed in the order of the pages'
//   first time stamps, whole pages at a time (a real trace_pipe_raw read returns whole pages);
//   the pace counts the events in each page.
// - text (`live --text`): pre-generated ftrace text lines (gen-trace.ts, the same correct mix as the
//   text bench) into the trace_pipe FIFO.
// Both are paced in 10 ms slices through non-blocking fds. A FIFO holds 64 KiB unless raised with
// F_SETPIPE_SZ (python3's fcntl; the size each row used is reported), so a consumer that falls behind
// makes writes fail with EAGAIN and the writer falls behind its schedule: the rate counts as
// sustained when the writer achieved ≥ 97% of it and the consumer's summary counts every line/record
// written (nothing lost, no lost-event notice). The process is ended with SIGINT and must exit 0 with
// no findings. Rates go up until one is not sustained.
// Then, for raw, its capacity without a feeder: each CPU's whole page stream is a regular file in
// place of the FIFO, so every page is readable at once and the streams end at the files' ends (as a
// FIFO's does when its writer closes); `live` reads, decodes and checks as fast as it can and exits,
// and the events over the wall time (Node's start included) are the most it could keep up with.

import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { PageReader } from '../src/input/tracedat-kbuffer.js';
import { readTracefsMeta } from '../src/input/tracefs-raw.js';
import { fakeTracefs } from '../test/helpers/fake-tracefs.js';
import { ensureDat } from './bench-dat.js';
import { generateTrace } from './gen-trace.js';
import { CMDLINES, FORMATS_DIR } from './gen-tracedat.js';

export const LIVE_TARGET = 5_000_000; // events/s (binary path; issue 15)
export type LiveMode = 'raw' | 'text';
const SLICE_MS = 10;
const SUSTAINED = 0.97;
const CPUS = 2; // gen-tracedat's default, and the fake tracefs's per_cpu/cpu0..1
const HEADER_LINES = 12; // gen-trace's "# tracer: nop" header, not part of a trace_pipe stream
const BYTES_PER_LINE = 136; // gen-trace's average, for sizing the text trace

export interface LiveArgs {
  dir: string;
  bin: string;
  modes: LiveMode[];
  /** Target rates per mode, rising. */
  rates: Record<LiveMode, number[]>;
  seconds: number;
  /** FIFO buffer sizes to try: 0 = the default 64 KiB; others are set with fcntl(F_SETPIPE_SZ) via python3. */
  pipeSizes: number[];
  /** Steady-state live mappings of the generated traces. */
  live: number;
  keep: boolean;
  log: (s: string) => void;
}

export interface LiveRow {
  mode: LiveMode;
  /** FIFO buffer, bytes (each FIFO: raw has one per CPU). */
  pipe: number;
  fifos: number;
  target: number;
  /** Events written in the timed run, per second. */
  achieved: number;
  /** Lines (text) or ring-buffer records (raw) written, with those that end the stream cleanly (Feed.finish). */
  written: number;
  /** The same counted by the consumer's summary (`lines`). */
  consumed: number | null;
  /** Lost-event notices in the consumer's summary (the missing-events bit of a page), null if unknown. */
  lossNotices: number | null;
  blockedMs: number;
  exit: string;
  sustained: boolean;
}

const sab = new Int32Array(new SharedArrayBuffer(4));
function sleepMs(ms: number): void {
  if (ms > 0) Atomics.wait(sab, 0, 0, ms);
}
function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Bytes written by a non-blocking write; 0 when the FIFO is full. */
function tryWrite(fd: number, buf: Uint8Array, start: number, end: number): number {
  try {
    return writeSync(fd, buf, start, end - start);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    return 0;
  }
}

/** What the pacing loop writes: whole units (lines, or sub-buffers) counted in events. */
interface Feed {
  /** Events completely written. */
  readonly written: number;
  /** One attempt to write toward `want` events: bytes written (0: the FIFOs are full), -1 when nothing is left. */
  write(want: number): number;
  /**
   * Ends the stream cleanly: completes a partly written unit, so the consumer sees only whole ones
   * (raw: and writes on to a consistent cut of the CPUs' streams).
   */
  finish(): void;
  close(): void;
}

// ---------------------------------------------------------------- text: lines into trace_pipe

/** A forward reader over the text trace: a window of whole lines and their end offsets. */
class Lines {
  private readonly fd: number;
  private readonly buf = Buffer.allocUnsafe(32 << 20);
  private len = 0;
  private filePos = 0;
  ends = new Int32Array(1 << 20);
  nEnds = 0;
  /** Next line to send, and bytes of it already sent. */
  next = 0;
  partial = 0;
  eof = false;
  constructor(file: string) {
    this.fd = openSync(file, 'r');
    this.fill(0);
    for (let i = 0; i < HEADER_LINES; i++) this.next++;
  }
  private fill(keepFrom: number): void {
    this.buf.copy(this.buf, 0, keepFrom, this.len);
    this.len -= keepFrom;
    const n = readSync(this.fd, this.buf, this.len, this.buf.length - this.len, this.filePos);
    this.filePos += n;
    this.len += n;
    if (n === 0) this.eof = true;
    this.nEnds = 0;
    let p = 0;
    for (;;) {
      const nl = this.buf.indexOf(10, p);
      if (nl < 0 || nl >= this.len) break;
      if (this.nEnds === this.ends.length) {
        const e = new Int32Array(this.ends.length * 2);
        e.set(this.ends);
        this.ends = e;
      }
      this.ends[this.nEnds++] = nl + 1;
      p = nl + 1;
    }
  }
  /** Bytes from the current position up to the end of line `upto` (exclusive) in this window. */
  span(maxLines: number): { buf: Buffer; start: number; end: number; lines: number } | null {
    if (this.next >= this.nEnds) {
      if (this.eof) return null;
      const from = this.next > 0 ? this.ends[this.next - 1]! : 0;
      this.fill(from);
      this.next = 0;
      if (this.nEnds === 0) return null;
    }
    const lines = Math.min(maxLines, this.nEnds - this.next);
    const start = (this.next > 0 ? this.ends[this.next - 1]! : 0) + this.partial;
    const end = this.ends[this.next + lines - 1]!;
    return { buf: this.buf, start, end, lines };
  }
  /** `bytes` of the span were written; returns whole lines completed. */
  advance(bytes: number): number {
    let done = 0;
    let pos = (this.next > 0 ? this.ends[this.next - 1]! : 0) + this.partial + bytes;
    while (this.next < this.nEnds && this.ends[this.next]! <= pos) {
      this.next++;
      done++;
    }
    pos -= this.next > 0 ? this.ends[this.next - 1]! : 0;
    this.partial = pos;
    return done;
  }
  close(): void {
    closeSync(this.fd);
  }
}

class TextFeed implements Feed {
  written = 0;
  private readonly lines: Lines;
  constructor(
    file: string,
    private readonly fd: number,
  ) {
    this.lines = new Lines(file);
  }
  write(want: number): number {
    const s = this.lines.span(Math.max(1, want - this.written));
    if (!s) return -1;
    const n = tryWrite(this.fd, s.buf, s.start, s.end);
    if (n > 0) this.written += this.lines.advance(n);
    return n;
  }
  finish(): void {
    while (this.lines.partial > 0) {
      const s = this.lines.span(1);
      if (!s) break;
      const n = tryWrite(this.fd, s.buf, s.start, s.end);
      if (n > 0) this.written += this.lines.advance(n);
      else sleepMs(1);
    }
  }
  close(): void {
    this.lines.close();
  }
}

// ---------------------------------------------------------------- raw: sub-buffers into trace_pipe_raw

/** Every CPU's ring-buffer pages of a trace.dat, the events on each, and an order to feed them in. */
interface RawPages {
  pageSize: number;
  /** Per CPU: its pages back to back, and events in its first k pages (length pages + 1). */
  data: Buffer[];
  cum: Uint32Array[];
  /** Feed order (by each page's first time stamp): the CPU of step i; events before step i. */
  order: Uint8Array;
  orderCum: Float64Array;
  /**
   * 1 after step i when steps 0..i hold every event up to some time and none after it (each of their
   * pages ends before step i + 1's begins): a place where the feed can end with every CPU's stream a
   * consistent cut, as a real ring buffer is at any instant. Pages of two CPUs overlap in time, so
   * ending anywhere else would leave one CPU's later events (unmaps, syncs) without the other's
   * earlier ones (their maps), and the consumer would rightly report them.
   */
  barrier: Uint8Array;
  events: number;
}

function loadRawPages(file: string, cpuData: Array<{ offset: number; size: number }>, tracefs: string): RawPages {
  const meta = readTracefsMeta(tracefs);
  const ps = meta.pageSize;
  const reader = new PageReader(meta.littleEndian, meta.header.longSize, meta.header.dataOffset);
  const fd = openSync(file, 'r');
  const data: Buffer[] = [];
  const cum: Uint32Array[] = [];
  const starts: Array<{ ts: number; last: number; cpu: number; events: number }> = [];
  try {
    cpuData.forEach(({ offset, size }, cpu) => {
      if (size % ps !== 0) throw new Error(`CPU ${cpu}'s data (${size} bytes) is not whole ${ps}-byte pages`);
      const buf = Buffer.allocUnsafe(size);
      for (let got = 0; got < size; ) {
        const n = readSync(fd, buf, got, size - got, offset + got);
        if (n === 0) throw new Error(`${file} ends inside CPU ${cpu}'s data`);
        got += n;
      }
      const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      const c = new Uint32Array(size / ps + 1);
      for (let p = 0; p < size / ps; p++) {
        if (!reader.load(buf, dv, p * ps, ps)) throw new Error(`CPU ${cpu} page ${p}: ${reader.error}`);
        const ts = reader.tsHi * 0x100000000 + reader.tsLo;
        let last = ts;
        let n = 0;
        while (reader.next()) {
          n++;
          last = reader.tsHi * 0x100000000 + reader.tsLo;
        }
        if (reader.error) throw new Error(`CPU ${cpu} page ${p}: ${reader.error}`);
        c[p + 1] = c[p]! + n;
        starts.push({ ts, last, cpu, events: n });
      }
      data.push(buf);
      cum.push(c);
    });
  } finally {
    closeSync(fd);
  }
  // a stable sort keeps each CPU's pages in their own order
  starts.sort((a, b) => a.ts - b.ts);
  const order = new Uint8Array(starts.length);
  const orderCum = new Float64Array(starts.length + 1);
  const barrier = new Uint8Array(starts.length);
  let lastSoFar = 0;
  starts.forEach((s, i) => {
    order[i] = s.cpu;
    orderCum[i + 1] = orderCum[i]! + s.events;
    lastSoFar = Math.max(lastSoFar, s.last);
    barrier[i] = i + 1 === starts.length || lastSoFar < starts[i + 1]!.ts ? 1 : 0;
  });
  return { pageSize: ps, data, cum, order, orderCum, barrier, events: orderCum[starts.length]! };
}

class RawFeed implements Feed {
  private step = 0;
  /** Per CPU: bytes the schedule allows so far, bytes written. */
  private readonly allowed: number[];
  private readonly sent: number[];
  constructor(
    private readonly pages: RawPages,
    private readonly fds: number[],
  ) {
    this.allowed = fds.map(() => 0);
    this.sent = fds.map(() => 0);
  }
  get written(): number {
    let n = 0;
    for (let c = 0; c < this.fds.length; c++) n += this.pages.cum[c]![Math.floor(this.sent[c]! / this.pages.pageSize)]!;
    return n;
  }
  write(want: number): number {
    const p = this.pages;
    while (this.step < p.order.length && p.orderCum[this.step]! < want) {
      this.allowed[p.order[this.step]!]! += p.pageSize;
      this.step++;
    }
    let bytes = 0;
    let pending = false;
    for (let c = 0; c < this.fds.length; c++) {
      if (this.sent[c]! >= this.allowed[c]!) continue;
      pending = true;
      const n = tryWrite(this.fds[c]!, p.data[c]!, this.sent[c]!, this.allowed[c]!);
      this.sent[c]! += n;
      bytes += n;
    }
    return pending || this.step < p.order.length ? bytes : -1;
  }
  /** Writes on to the next barrier: everything allowed so far, and the pages up to it. */
  finish(): void {
    const p = this.pages;
    while (this.step > 0 && this.step < p.order.length && p.barrier[this.step - 1] === 0) {
      this.allowed[p.order[this.step]!]! += p.pageSize;
      this.step++;
    }
    // every CPU in turn, as write() does: a CPU left unfed for long would look idle to the merge
    for (;;) {
      const n = this.write(0);
      if (n < 0 || this.sent.every((x, c) => x >= this.allowed[c]!)) break;
      if (n === 0) sleepMs(1);
    }
  }
  close(): void {}
}

// ---------------------------------------------------------------- one rate

function openFifo(file: string, timeoutMs: number): number {
  const t0 = nowMs();
  for (;;) {
    try {
      return openSync(file, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENXIO' || nowMs() - t0 > timeoutMs) throw e;
      sleepMs(5);
    }
  }
}

function textSupported(bin: string): boolean {
  const r = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
  return /^\s*--text\b/m.test(r.stdout ?? '');
}

async function waitExit(child: ReturnType<typeof spawn>, ms: number): Promise<number | string | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode;
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve('timeout'), ms);
    child.on('exit', (code, sig) => {
      clearTimeout(t);
      resolve(code ?? sig);
    });
  });
}

/** Sets the FIFOs' buffer size (a pipe lives while both ends are open); returns the size in effect. */
function setPipeSize(fifos: string[], bytes: number): number {
  const py =
    'import os,sys,fcntl\n' +
    'for f in sys.argv[2:]:\n' +
    ' fd=os.open(f,os.O_RDWR|os.O_NONBLOCK)\n' +
    ' if int(sys.argv[1]): fcntl.fcntl(fd,1031,int(sys.argv[1]))\n' +
    ' print(fcntl.fcntl(fd,1032))\n';
  const r = spawnSync('python3', ['-c', py, String(bytes), ...fifos], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot set the FIFO size: ${(r.stderr ?? '').trim().split('\n').slice(-1)[0]}`);
  return Math.min(...r.stdout.trim().split('\n').map(Number));
}

/** Writes `rate` events a second for `seconds`, in slices; returns events written, seconds, ms waiting on full FIFOs. */
function pace(feed: Feed, rate: number, seconds: number): { written: number; elapsed: number; blockedMs: number } {
  let blockedMs = 0;
  const t0 = nowMs();
  const total = Math.round(rate * seconds);
  for (let k = 1; ; k++) {
    const deadline = t0 + k * SLICE_MS;
    const want = Math.min(total, Math.round((rate * k * SLICE_MS) / 1000));
    while (feed.written < want) {
      const n = feed.write(want);
      if (n < 0) break;
      if (n === 0) {
        const b0 = nowMs();
        if (b0 >= deadline) break; // behind: carry the rest into the next slice
        sleepMs(0.2);
        blockedMs += nowMs() - b0;
      }
    }
    const t = nowMs();
    if (t - t0 >= seconds * 1000 || (feed.written >= total && k * SLICE_MS >= seconds * 1000)) {
      return { written: feed.written, elapsed: (t - t0) / 1000, blockedMs };
    }
    if (feed.written >= want && t < deadline) sleepMs(deadline - t);
  }
}

interface Source {
  mode: LiveMode;
  /** The text trace, or the raw pages. */
  text?: string;
  raw?: RawPages;
}

async function oneRate(a: LiveArgs, src: Source, rate: number, pipeSize: number, useText: boolean): Promise<LiveRow> {
  const raw = src.mode === 'raw';
  const tfs = fakeTracefs({ cpus: CPUS, raw, formatsDir: FORMATS_DIR, cmdlines: CMDLINES });
  const outFile = path.join(tfs, 'out.json');
  const errFile = path.join(tfs, 'err.txt');
  const outFd = openSync(outFile, 'w');
  const errFd = openSync(errFile, 'w');
  const args = [a.bin, 'live', '--json', ...(!raw && useText ? ['--text'] : []), tfs];
  // e.g. BENCH_LIVE_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' profiles the consumer
  const nodeArgs = (process.env.BENCH_LIVE_NODE_ARGS ?? '').split(/\s+/).filter((x) => x);
  const child = spawn(process.execPath, [...nodeArgs, ...args], {
    stdio: ['ignore', outFd, errFd],
    env: { ...process.env, NO_COLOR: '1' },
  });
  closeSync(outFd);
  closeSync(errFd);
  const fifos = raw
    ? Array.from({ length: CPUS }, (_, c) => path.join(tfs, 'per_cpu', `cpu${c}`, 'trace_pipe_raw'))
    : [path.join(tfs, 'trace_pipe')];
  const fds: number[] = [];
  let feed: Feed | null = null;
  let pipe = 65536;
  let run = { written: 0, elapsed: 1, blockedMs: 0 };
  try {
    for (const f of fifos) fds.push(openFifo(f, 15000));
    pipe = setPipeSize(fifos, pipeSize);
    feed = raw ? new RawFeed(src.raw!, fds) : new TextFeed(src.text!, fds[0]!);
    sleepMs(200); // let it settle (events enabled, reader loop running)
    run = pace(feed, rate, a.seconds);
    feed.finish();
  } finally {
    feed?.close();
  }
  const written = feed.written;
  // Let the consumer drain the FIFOs, then SIGINT, keeping our ends open meanwhile.
  sleepMs(300);
  child.kill('SIGINT');
  const code = await waitExit(child, 20000);
  if (code === 'timeout') child.kill('SIGKILL');
  for (const fd of fds) closeSync(fd);
  const out = readFileSync(outFile, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l);
  const err = readFileSync(errFile, 'utf8');
  let consumed: number | null = null;
  let lossNotices: number | null = null;
  let findings = 0;
  for (const l of out) {
    try {
      const o = JSON.parse(l) as { type?: string; lines?: number; coverage?: { loss_notices?: number } };
      if (o.type === 'summary') {
        consumed = o.lines ?? null;
        lossNotices = o.coverage?.loss_notices ?? null;
      } else findings++;
    } catch {
      findings++;
    }
  }
  const clean = code === 0 && findings === 0 && /stopped by SIGINT/.test(err);
  const exit = clean
    ? 'SIGINT → exit 0'
    : `exit ${code}, ${findings} findings${/SIGINT/.test(err) ? '' : ', no SIGINT note'}`;
  if (!clean) {
    a.log(`live ${src.mode} at ${rate}/s: ${err.trim().split('\n').slice(-3).join(' / ')}`);
    const first = out.find((l) => !l.startsWith('{"type":"summary"'));
    if (first) a.log(`  first finding: ${first.slice(0, 600)}`);
  }
  rmSync(tfs, { recursive: true, force: true });
  const achieved = run.written / run.elapsed;
  return {
    mode: src.mode,
    pipe,
    fifos: fifos.length,
    target: rate,
    achieved,
    written,
    consumed,
    lossNotices,
    blockedMs: run.blockedMs,
    exit,
    sustained: achieved >= SUSTAINED * rate && consumed === written && lossNotices === 0 && clean,
  };
}

/** The raw path's capacity: every CPU's pages in a regular file, read as fast as `live` can. */
export interface LiveCapacity {
  events: number;
  seconds: number;
  /** Records the consumer's summary counted (`lines`). */
  consumed: number | null;
  exit: string;
}

async function rawCapacity(a: LiveArgs, pages: RawPages): Promise<LiveCapacity> {
  const tfs = fakeTracefs({ cpus: CPUS, raw: false, formatsDir: FORMATS_DIR, cmdlines: CMDLINES });
  try {
    for (const [cpu, d] of pages.data.entries()) {
      writeFileSync(path.join(tfs, 'per_cpu', `cpu${cpu}`, 'trace_pipe_raw'), d);
    }
    const outFile = path.join(tfs, 'out.json');
    const errFile = path.join(tfs, 'err.txt');
    const outFd = openSync(outFile, 'w');
    const errFd = openSync(errFile, 'w');
    const t0 = performance.now();
    const child = spawn(process.execPath, [a.bin, 'live', '--json', tfs], {
      stdio: ['ignore', outFd, errFd],
      env: { ...process.env, NO_COLOR: '1' },
    });
    closeSync(outFd);
    closeSync(errFd);
    const code = await waitExit(child, 600_000);
    const seconds = (performance.now() - t0) / 1000;
    if (code === 'timeout') child.kill('SIGKILL');
    const out = readFileSync(outFile, 'utf8').trim().split('\n');
    const summary = out.find((l) => l.startsWith('{"type":"summary"'));
    const consumed = summary ? ((JSON.parse(summary) as { lines?: number }).lines ?? null) : null;
    const findings = out.filter((l) => l && !l.startsWith('{"type":"summary"')).length;
    const ended = /the stream ended/.test(readFileSync(errFile, 'utf8'));
    const exit = code === 0 && findings === 0 && ended ? 'exit 0' : `exit ${code}, ${findings} findings`;
    return { events: pages.events, seconds, consumed, exit };
  } finally {
    rmSync(tfs, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- the section

/** The text trace for the text feed (gen-trace.ts), generated or reused. */
function textSource(a: LiveArgs): { file: string; drop: () => void } {
  const maxLines = Math.max(...a.rates.text) * a.seconds * 1.05 + 100_000;
  const size = Math.ceil((maxLines * BYTES_PER_LINE) / (1 << 20)) << 20;
  const file = path.join(a.dir, `live-${size >> 20}M.txt`);
  if (!existsSync(file) || statSync(file).size < size) {
    a.log(`generating ${file} (${size >> 20} MiB of text for the live feed) ...`);
    generateTrace({ size, live: a.live, out: file });
  } else a.log(`reusing ${file}`);
  return { file, drop: () => rmSync(file, { force: true }) };
}

/** The raw pages for the raw feed: a v6 uncompressed trace.dat (gen-tracedat.ts) cut into its CPUs' pages. */
function rawSource(a: LiveArgs): { pages: RawPages; file: string; drop: () => void } {
  const events = Math.ceil(Math.max(...a.rates.raw) * a.seconds * 1.05) + 100_000;
  const { file, stats } = ensureDat({ dir: a.dir, events, live: a.live, log: a.log }, 'v6', 6, false);
  if (stats.cpuData.length !== CPUS) throw new Error(`${file} has ${stats.cpuData.length} CPUs, not ${CPUS}`);
  const probe = fakeTracefs({ cpus: CPUS, formatsDir: FORMATS_DIR });
  let pages: RawPages;
  try {
    pages = loadRawPages(file, stats.cpuData, probe);
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
  if (pages.events !== stats.events)
    throw new Error(`${file}: ${pages.events} records in its pages, not ${stats.events}`);
  return {
    pages,
    file,
    drop: () => {
      rmSync(file, { force: true });
      rmSync(`${file}.meta.json`, { force: true });
    },
  };
}

export async function runLive(a: LiveArgs): Promise<{ text: string; rows: LiveRow[]; capacity: LiveCapacity | null }> {
  mkdirSync(a.dir, { recursive: true });
  const useText = textSupported(a.bin);
  let text =
    `live: dmadebug live --json on a fake tracefs, ${a.seconds} s per rate, ${SLICE_MS} ms slices; sustained = ` +
    `achieved ≥ ${SUSTAINED * 100}% of the target, every line/record consumed and none lost, clean SIGINT exit\n`;
  const rows: LiveRow[] = [];
  let capacity: LiveCapacity | null = null;
  for (const mode of a.modes) {
    let src: Source;
    let drop: () => void;
    if (mode === 'raw') {
      const r = rawSource(a);
      const pages = r.pages;
      text +=
        `live raw: ${CPUS} per_cpu/cpuN/trace_pipe_raw FIFOs fed ${pages.pageSize}-byte sub-buffers of ${path.basename(r.file)} ` +
        `(${pages.order.length} pages, ${(pages.events / pages.order.length).toFixed(1)} events a page)\n`;
      src = { mode, raw: pages };
      drop = r.drop;
    } else {
      const t = textSource(a);
      text += useText
        ? 'live text: `live --json --text`, lines into the trace_pipe FIFO\n'
        : 'live text: this dmadebug has no --text flag; without per_cpu/ it follows the text trace_pipe anyway\n';
      src = { mode, text: t.file };
      drop = t.drop;
    }
    for (const pipeSize of a.pipeSizes) {
      for (const rate of a.rates[mode]) {
        a.log(
          `live ${mode}: feeding ${rate} events/s for ${a.seconds} s (FIFO ${pipeSize ? `${pipeSize >> 10} KiB` : 'default'}) ...`,
        );
        let r: LiveRow;
        try {
          r = await oneRate(a, src, rate, pipeSize, useText);
        } catch (e) {
          text += `live ${mode}: ${e instanceof Error ? e.message : String(e)}\n`;
          break;
        }
        rows.push(r);
        if (!r.sustained) break;
      }
    }
    if (src.raw) {
      a.log(`live raw: capacity, ${src.raw.events} events readable at once ...`);
      capacity = await rawCapacity(a, src.raw);
    }
    if (!a.keep) drop();
  }
  return { text, rows, capacity };
}
