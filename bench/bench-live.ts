// The live section of `npm run bench`: how many events per second `dmadebug live` keeps up with
// through a FIFO. For each target rate a fresh `dmadebug live --json [--text] DIR` runs against a fake
// tracefs (a temp dir with the enable files, tracing_on, and a FIFO as trace_pipe, as in
// test/cli/live.test.ts); this process writes pre-generated ftrace text lines (gen-trace.ts, the same
// correct mix as the text bench) into the FIFO, paced in 10 ms slices, through a non-blocking fd.
// The FIFO holds 64 KiB, so a consumer that falls behind makes writes fail with EAGAIN and the writer
// falls behind its schedule: the rate counts as sustained when the writer achieved ≥ 97% of it and the
// consumer's summary counts every line written (nothing lost). The process is ended with SIGINT and
// must exit 0 with no findings. Rates go up until one is not sustained.

import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateTrace } from './gen-trace.js';

export const LIVE_TARGET = 2_000_000; // events/s
const SLICE_MS = 10;
const SUSTAINED = 0.97;
const ENABLES = [
  'events/dma/dma_map_page/enable',
  'events/dma/dma_unmap_page/enable',
  'events/dma/dma_map_sg/enable',
  'events/dma/dma_unmap_sg/enable',
  'events/kmem/mm_page_free/enable',
  'tracing_on',
];
const HEADER_LINES = 12; // gen-trace's "# tracer: nop" header, not part of a trace_pipe stream
const BYTES_PER_LINE = 136; // gen-trace's average, for sizing the text trace

export interface LiveArgs {
  dir: string;
  bin: string;
  rates: number[];
  seconds: number;
  /** FIFO buffer sizes to try: 0 = the default 64 KiB; others are set with fcntl(F_SETPIPE_SZ) via python3. */
  pipeSizes: number[];
  keep: boolean;
  log: (s: string) => void;
}

export interface LiveRow {
  /** FIFO buffer, bytes. */
  pipe: number;
  target: number;
  achieved: number;
  written: number;
  consumed: number | null;
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

function fakeTracefs(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dmadebug-bench-tracefs-'));
  for (const f of ENABLES) {
    mkdirSync(path.join(dir, f, '..'), { recursive: true });
    writeFileSync(path.join(dir, f), '0\n');
  }
  const r = spawnSync('mkfifo', [path.join(dir, 'trace_pipe')]);
  if (r.status !== 0) throw new Error('mkfifo failed');
  return dir;
}

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

/** Sets the FIFO's buffer size (the pipe lives while both ends are open); returns the size in effect. */
function setPipeSize(fifo: string, bytes: number): number {
  const py =
    'import os,sys,fcntl\n' +
    'fd=os.open(sys.argv[1],os.O_RDWR|os.O_NONBLOCK)\n' +
    'if int(sys.argv[2]): fcntl.fcntl(fd,1031,int(sys.argv[2]))\n' +
    'print(fcntl.fcntl(fd,1032))\n';
  const r = spawnSync('python3', ['-c', py, fifo, String(bytes)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot set the FIFO size: ${(r.stderr ?? '').trim().split('\n').slice(-1)[0]}`);
  return Number(r.stdout.trim());
}

async function oneRate(
  a: LiveArgs,
  traceFile: string,
  rate: number,
  pipeSize: number,
  useText: boolean,
): Promise<LiveRow> {
  const tfs = fakeTracefs();
  const outFile = path.join(tfs, 'out.json');
  const errFile = path.join(tfs, 'err.txt');
  const outFd = openSync(outFile, 'w');
  const errFd = openSync(errFile, 'w');
  const args = [a.bin, 'live', '--json', ...(useText ? ['--text'] : []), tfs];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', outFd, errFd],
    env: { ...process.env, NO_COLOR: '1' },
  });
  closeSync(outFd);
  closeSync(errFd);
  const lines = new Lines(traceFile);
  let fd = -1;
  let written = 0;
  let blockedMs = 0;
  let elapsed = 0;
  let pipe = 65536;
  try {
    fd = openFifo(path.join(tfs, 'trace_pipe'), 15000);
    pipe = setPipeSize(path.join(tfs, 'trace_pipe'), pipeSize);
    sleepMs(200); // let it settle (events enabled, reader loop running)
    const t0 = nowMs();
    const total = Math.round(rate * a.seconds);
    for (let k = 1; ; k++) {
      const deadline = t0 + k * SLICE_MS;
      const want = Math.min(total, Math.round((rate * k * SLICE_MS) / 1000));
      while (written < want) {
        const s = lines.span(want - written);
        if (!s) break;
        let n = 0;
        try {
          n = writeSync(fd, s.buf, s.start, s.end - s.start);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        }
        if (n > 0) written += lines.advance(n);
        else {
          const b0 = nowMs();
          if (b0 >= deadline) break; // behind: carry the rest into the next slice
          sleepMs(0.2);
          blockedMs += nowMs() - b0;
        }
      }
      const t = nowMs();
      if (t - t0 >= a.seconds * 1000 || (written >= total && k * SLICE_MS >= a.seconds * 1000)) {
        elapsed = (t - t0) / 1000;
        break;
      }
      if (written >= want && t < deadline) sleepMs(deadline - t);
    }
    // finish a partly written line so the consumer sees only whole lines
    while (lines.partial > 0) {
      const s = lines.span(1);
      if (!s) break;
      try {
        written += lines.advance(writeSync(fd, s.buf, s.start, s.end - s.start));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        sleepMs(1);
      }
    }
  } finally {
    lines.close();
  }
  // Let the consumer drain the FIFO (at most 64 KiB), then SIGINT, keeping our end open meanwhile.
  sleepMs(300);
  child.kill('SIGINT');
  const code = await waitExit(child, 20000);
  if (code === 'timeout') child.kill('SIGKILL');
  if (fd >= 0) closeSync(fd);
  const out = readFileSync(outFile, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l);
  const err = readFileSync(errFile, 'utf8');
  let consumed: number | null = null;
  let findings = 0;
  for (const l of out) {
    try {
      const o = JSON.parse(l) as { type?: string; lines?: number };
      if (o.type === 'summary') consumed = o.lines ?? null;
      else findings++;
    } catch {
      findings++;
    }
  }
  const clean = code === 0 && findings === 0 && /stopped by SIGINT/.test(err);
  const exit = clean
    ? 'SIGINT → exit 0'
    : `exit ${code}, ${findings} findings${/SIGINT/.test(err) ? '' : ', no SIGINT note'}`;
  if (!clean) a.log(`live at ${rate}/s: ${err.trim().split('\n').slice(-3).join(' / ')}`);
  rmSync(tfs, { recursive: true, force: true });
  const achieved = written / elapsed;
  return {
    pipe,
    target: rate,
    achieved,
    written,
    consumed,
    blockedMs,
    exit,
    sustained: achieved >= SUSTAINED * rate && consumed === written && clean,
  };
}

export async function runLive(a: LiveArgs): Promise<{ text: string; rows: LiveRow[] }> {
  mkdirSync(a.dir, { recursive: true });
  const maxLines = Math.max(...a.rates) * a.seconds * 1.05 + 100_000;
  const size = Math.ceil((maxLines * BYTES_PER_LINE) / (1 << 20)) << 20;
  const traceFile = path.join(a.dir, `live-${size >> 20}M.txt`);
  if (!existsSync(traceFile) || statSync(traceFile).size < size) {
    a.log(`generating ${traceFile} (${size >> 20} MiB of text for the live feed) ...`);
    generateTrace({ size, live: 4096, out: traceFile });
  } else a.log(`reusing ${traceFile}`);
  const useText = textSupported(a.bin);
  let text: string = `live: dmadebug live --json${useText ? ' --text' : ''} on a fake tracefs, FIFO trace_pipe, ${a.seconds} s per rate, ${SLICE_MS} ms slices; sustained = achieved ≥ ${SUSTAINED * 100}% of the target, every line consumed, clean SIGINT exit\n`;
  if (!useText)
    text += 'live: this dmadebug has no --text flag; without per_cpu/ it follows the text trace_pipe anyway\n';
  const rows: LiveRow[] = [];
  for (const pipeSize of a.pipeSizes) {
    for (const rate of a.rates) {
      a.log(
        `live: feeding ${rate} events/s for ${a.seconds} s (FIFO ${pipeSize ? `${pipeSize >> 10} KiB` : 'default'}) ...`,
      );
      let r: LiveRow;
      try {
        r = await oneRate(a, traceFile, rate, pipeSize, useText);
      } catch (e) {
        text += `live: ${e instanceof Error ? e.message : String(e)}\n`;
        break;
      }
      rows.push(r);
      if (!r.sustained) break;
    }
  }
  if (!a.keep) rmSync(traceFile, { force: true });
  return { text, rows };
}
