// Owns the benchmark's synthetic trace: a fast, streaming generator of ftrace text in exactly the
// fixtures' format (kernel 6.12.117: dma:* events with the 6.13 alloc layout, plus kmem:mm_page_free),
// doing only CORRECT DMA-API usage over a configurable number of live mappings, so that a correct
// checker reports nothing on it. The calls (and why they are correct) are workload.ts's, shared with
// gen-tracedat.ts; this file owns their encoding as text lines.
//
//   node dist/bench/gen-trace.js --size 1G --live 4096 -o /tmp/x.txt [--seed N]
//
// Speed: no strings per line. Everything is written byte by byte into one reused Buffer from
// precomputed byte arrays, and numbers are formatted by hand.

import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { CONTEXTS, type Ctx, DEVICES, EVENT_NAMES, Op, SLOT, Workload } from './workload.js';

export interface GenOptions {
  /** Stop once at least this many bytes are written. */
  size: number;
  /** Steady-state number of live mappings (single + sg calls + coherent). */
  live: number;
  /** Output file (written to a temporary name, then renamed). */
  out: string;
  seed?: number;
}

export interface GenStats {
  bytes: number;
  /** Lines in the file (what `wc -l` prints). */
  lines: number;
  /** Event lines (the header's entries count). */
  events: number;
  /** Live mappings when the trace ends. */
  liveAtEnd: number;
  /** Live dma-debug entries when the trace ends (an sg call has one per segment). */
  liveEntriesAtEnd: number;
  seconds: number;
  counts: Record<string, number>;
}

const FLUSH_AT = 8 << 20;
const BUF_SIZE = FLUSH_AT + (64 << 10);

const DIRS = ['BIDIRECTIONAL', 'TO_DEVICE', 'FROM_DEVICE'] as const;
const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

function ctxPrefix(c: Ctx): Uint8Array {
  const [comm, pid, cpu, flags] = c;
  return enc(`${comm.padStart(16)}-${String(pid).padEnd(7)} [${String(cpu).padStart(3, '0')}] ${flags} `);
}

/** ftrace's header of a `trace` file: `pad` spaces on its second line, `cpus` after #P:. */
export function headerText(events: number, pad: number, cpus = 4): string {
  return (
    '# tracer: nop\n' +
    `#${' '.repeat(pad)}\n` +
    `# entries-in-buffer/entries-written: ${events}/${events}   #P:${cpus}\n` +
    '#\n' +
    '#                                _-----=> irqs-off/BH-disabled\n' +
    '#                               / _----=> need-resched\n' +
    '#                              | / _---=> hardirq/softirq\n' +
    '#                              || / _--=> preempt-depth\n' +
    '#                              ||| / _-=> migrate-disable\n' +
    '#                              |||| /     delay\n' +
    '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n' +
    '#              | |         |   |||||     |         |\n'
  );
}
const HEADER_LINES = 12;
/** Room for two 20-digit counts; the spare is spent as trailing spaces on the second `#` line. */
const HEADER_RESERVED = headerText(0, 0).length - 2 + 40;

const HEXC = enc('0123456789abcdef');

/** The byte sink: one reused Buffer, flushed with positional writes. */
class Out {
  readonly buf = Buffer.allocUnsafe(BUF_SIZE);
  pos = 0;
  filePos: number;
  constructor(
    readonly fd: number,
    start: number,
  ) {
    this.filePos = start;
  }

  flush(): void {
    let off = 0;
    while (off < this.pos) off += writeSync(this.fd, this.buf, off, this.pos - off, this.filePos + off);
    this.filePos += this.pos;
    this.pos = 0;
  }

  put(src: Uint8Array): void {
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < src.length; i++) b[p++] = src[i]!;
    this.pos = p;
  }

  byte(c: number): void {
    this.buf[this.pos++] = c;
  }

  /** Unsigned decimal, n < 2^53. */
  dec(n: number): void {
    const b = this.buf;
    if (n < 10) {
      b[this.pos++] = 48 + n;
      return;
    }
    let len = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) len++;
    let p = this.pos + len;
    this.pos = p;
    while (n >= 10) {
      const q = Math.floor(n / 10);
      b[--p] = 48 + (n - q * 10);
      n = q;
    }
    b[--p] = 48 + n;
  }

  /** Decimal, left-padded with `fill` to `width`. */
  decPad(n: number, width: number, fill: number): void {
    const b = this.buf;
    let p = this.pos + width;
    this.pos = p;
    do {
      const q = Math.floor(n / 10);
      b[--p] = 48 + (n - q * 10);
      n = q;
      width--;
    } while (n > 0 && width > 0);
    while (width-- > 0) b[--p] = fill;
  }

  /** %x of a u32, no leading zeros. */
  hex32(v: number): void {
    v >>>= 0;
    let len = 1;
    while (len < 8 && v >>> (len * 4) !== 0) len++;
    const b = this.buf;
    let p = this.pos + len;
    this.pos = p;
    for (let i = 0; i < len; i++) {
      b[--p] = HEXC[v & 15]!;
      v >>>= 4;
    }
  }

  /** Exactly 8 hex digits of a u32. */
  hex8(v: number): void {
    const b = this.buf;
    let p = this.pos + 8;
    this.pos = p;
    for (let i = 0; i < 8; i++) {
      b[--p] = HEXC[v & 15]!;
      v >>>= 4;
    }
  }

  /** %llx of a Number < 2^53. */
  hex(n: number): void {
    if (n < 0x100000000) {
      this.hex32(n);
      return;
    }
    this.hex32(Math.floor(n / 0x100000000));
    this.hex8(n >>> 0);
  }
}

/** A 32-bit mixer standing in for the kernel's siphash of %p pointers: stable, so equal pointers hash equal. */
function hash32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([kmgt]?)i?b?$/i.exec(s.trim());
  if (!m) throw new Error(`bad size '${s}' (expected e.g. 300M, 1G, 65536)`);
  const mult: Record<string, number> = { '': 1, k: 1 << 10, m: 1 << 20, g: 1 << 30, t: 2 ** 40 };
  return Math.round(Number(m[1]) * (mult[(m[2] ?? '').toLowerCase()] ?? 1));
}

export function generateTrace(opts: GenOptions): GenStats {
  const t0 = process.hrtime.bigint();
  const target = opts.size;
  const T = Math.max(1, Math.floor(opts.live));
  const nSlots = T + Math.max(1024, Math.ceil(T / 8));
  // IOVA space: 4 GiB when the slots fit below it, otherwise the next power of two above them.
  let iovaTop = 0x100000000;
  while (nSlots * SLOT > iovaTop / 2) iovaTop *= 2;
  const wl = new Workload({ live: T, slots: nSlots, iovaTop, ...(opts.seed === undefined ? {} : { seed: opts.seed }) });
  const c = wl.call;

  // Precomputed "event: device dir=DIR " heads, [event][device][dir].
  const heads: Uint8Array[][][] = EVENT_NAMES.map((ev) =>
    DEVICES.map(([name]) => DIRS.map((dir) => enc(`${ev}: ${name} dir=${dir} `))),
  );
  const head = (ev: number, dev: number, dir: number): Uint8Array => heads[ev]![dev]![dir]!;
  const ctxs = CONTEXTS.map(ctxPrefix);
  const K_DMA_ADDR = enc('dma_addr=');
  const K_SIZE = enc(' size=');
  const K_PHYS = enc(' phys_addr=');
  const K_ATTRS_NL = enc(' attrs=\n');
  const K_VIRT = enc(' virt_addr=00000000');
  const K_FLAGS = enc(' flags=GFP_KERNEL');
  const K_NENTS = enc('nents=');
  const K_ENTS = enc(' ents=');
  const K_DMA_ADDRS = enc(' dma_addrs={');
  const K_DMA_ADDRS0 = enc('dma_addrs={');
  const K_SIZES = enc('} sizes={');
  const K_PHYS_ADDRS = enc('} phys_addrs={');
  const K_PHYS_ADDRS0 = enc('phys_addrs={');
  const K_CLOSE_ATTRS_NL = enc('} attrs=\n');
  const K_CLOSE_NL = enc('}\n');
  const K_0X = enc('0x');
  const K_MM_FREE = enc('mm_page_free: page=00000000');
  const K_MM_FREE_B = enc('mm_page_free_batched: page=00000000');
  const K_PFN = enc(' pfn=0x');
  const K_ORDER = enc(' order=');
  const NL = 10;
  const COMMA = 0x2c;
  const SLASH = 0x2f;

  const tmp = `${opts.out}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  const out = new Out(fd, HEADER_RESERVED);
  let events = 0;
  // Timestamp in µs; starts in early boot so the trace counts as "from boot".
  let tsSec = 0;
  let tsUs = 500000 + wl.below(100000);

  const stamp = (ctx: Uint8Array): void => {
    tsUs += wl.below(4);
    if (tsUs >= 1000000) {
      tsUs -= 1000000;
      tsSec++;
    }
    out.put(ctx);
    out.decPad(tsSec, 5, 32);
    out.byte(0x2e);
    out.decPad(tsUs, 6, 48);
    out.byte(0x3a);
    out.byte(32);
  };

  const sgAddrs = (n: number, base: number): void => {
    for (let j = 0; j < n; j++) {
      if (j > 0) out.byte(COMMA);
      out.put(K_0X);
      out.hex(wl.segAddr(base, j));
    }
  };
  const sgSizes = (n: number): void => {
    for (let j = 0; j < n; j++) {
      if (j > 0) out.byte(COMMA);
      out.put(K_0X);
      out.hex32(wl.segSize(j));
    }
  };
  const nents = (n: number): void => {
    out.byte(48 + n);
    out.byte(SLASH);
    out.byte(48 + n);
  };

  /** The line of the call the workload just decided. */
  const line = (): void => {
    stamp(ctxs[c.ctx]!);
    const op = c.op;
    if (op === Op.pageFree || op === Op.pageFreeBatched) {
      out.put(op === Op.pageFreeBatched ? K_MM_FREE_B : K_MM_FREE);
      out.hex8(hash32(c.pfn));
      out.put(K_PFN);
      out.hex(c.pfn);
      out.put(K_ORDER);
      out.byte(48 + c.order);
      out.byte(NL);
      return;
    }
    out.put(head(op, c.dev, c.dir));
    if (op === Op.mapSg) {
      out.put(K_NENTS);
      nents(c.n);
      out.put(K_ENTS);
      nents(c.n);
      out.put(K_DMA_ADDRS);
      sgAddrs(c.n, c.dma);
      out.put(K_SIZES);
      sgSizes(c.n);
      out.put(K_PHYS_ADDRS);
      sgAddrs(c.n, c.phys);
      out.put(K_CLOSE_ATTRS_NL);
    } else if (op === Op.unmapSg) {
      out.put(K_PHYS_ADDRS0);
      sgAddrs(c.n, c.phys);
      out.put(K_CLOSE_ATTRS_NL);
    } else if (op === Op.syncSgCpu || op === Op.syncSgDev) {
      out.put(K_DMA_ADDRS0);
      sgAddrs(c.n, c.dma);
      out.put(K_SIZES);
      sgSizes(c.n);
      out.put(K_CLOSE_NL);
    } else {
      // map/unmap page, single syncs, alloc/free
      out.put(K_DMA_ADDR);
      out.hex(c.dma);
      out.put(K_SIZE);
      out.dec(c.size);
      if (op === Op.syncCpu || op === Op.syncDev) {
        out.byte(NL);
        return;
      }
      if (op === Op.mapPage) {
        out.put(K_PHYS);
        out.hex(c.phys);
      } else if (op !== Op.unmapPage) {
        out.put(K_VIRT);
        out.hex8(hash32(c.slot ^ 0x5bd1e995));
        if (op === Op.alloc) out.put(K_FLAGS);
      }
      out.put(K_ATTRS_NL);
    }
  };

  try {
    while (out.filePos + out.pos < target) {
      if (out.pos >= FLUSH_AT) out.flush();
      wl.step();
      line();
      events++;
    }
    out.flush();
    const bytes = out.filePos;
    // The header, now that the count is known: padded to the reserved size on its blank second line.
    const hdr0 = headerText(events, 0);
    const hdr = Buffer.from(headerText(events, HEADER_RESERVED - hdr0.length), 'latin1');
    if (hdr.length !== HEADER_RESERVED) throw new Error('header size mismatch');
    writeSync(fd, hdr, 0, hdr.length, 0);
    closeSync(fd);
    renameSync(tmp, opts.out);
    return {
      bytes,
      lines: events + HEADER_LINES,
      events,
      liveAtEnd: wl.nLive,
      liveEntriesAtEnd: wl.liveEntries,
      seconds: Number(process.hrtime.bigint() - t0) / 1e9,
      counts: wl.countsByName(),
    };
  } catch (err) {
    try {
      closeSync(fd);
    } catch {}
    rmSync(tmp, { force: true });
    throw err;
  }
}

const USAGE = 'usage: node dist/bench/gen-trace.js --size 1G [--live 4096] [--seed N] -o FILE';

/**
 * The generators' command line (gen-tracedat.ts's too): -h, -o FILE, and `--name value` options, given
 * to `opt` (false: unknown); `flag` takes the options without a value. Returns the output file, or the
 * exit code to stop with.
 */
export function cliArgs(
  tool: string,
  usage: string,
  argv: string[],
  opt: (a: string, v: string) => boolean,
  flag: (a: string) => boolean = () => false,
): string | number {
  let out = '';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') {
      process.stdout.write(`${usage}\n`);
      return 0;
    }
    if (flag(a)) continue;
    const v = argv[++i];
    if (v === undefined) {
      process.stderr.write(`${tool}: ${a} needs a value\n${usage}\n`);
      return 2;
    }
    if (a === '-o' || a === '--output') out = v;
    else if (!opt(a, v)) {
      process.stderr.write(`${tool}: unknown option ${a}\n${usage}\n`);
      return 2;
    }
  }
  if (!out) {
    process.stderr.write(`${tool}: -o FILE is required\n${usage}\n`);
    return 2;
  }
  return out;
}

/** The calls' counts and shares, one line each, as both generators' CLIs print them. */
export function countsTable(counts: Record<string, number>, events: number): string {
  return Object.entries(counts)
    .map(([n, c]) => `  ${n.padEnd(28)} ${String(c).padStart(10)}  ${((100 * c) / events).toFixed(1)}%\n`)
    .join('');
}

function main(argv: string[]): number {
  let size = 1 << 30;
  let live = 4096;
  let seed: number | undefined;
  const out = cliArgs('gen-trace', USAGE, argv, (a, v) => {
    if (a === '--size') size = parseSize(v);
    else if (a === '--live') live = parseSize(v);
    else if (a === '--seed') seed = Number(v);
    else return false;
    return true;
  });
  if (typeof out === 'number') return out;
  const s = generateTrace({ size, live, out, ...(seed === undefined ? {} : { seed }) });
  process.stderr.write(
    `gen-trace: ${out}: ${s.bytes} bytes, ${s.lines} lines, ${s.liveAtEnd} live mappings ` +
      `(${s.liveEntriesAtEnd} entries) at the end, ${s.seconds.toFixed(2)} s, ` +
      `${(s.bytes / 1e6 / s.seconds).toFixed(0)} MB/s\n${countsTable(s.counts, s.events)}`,
  );
  return 0;
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) {
  process.exitCode = main(process.argv.slice(2));
}
