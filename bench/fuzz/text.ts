// The `text` target: slices of the fixtures' trace.txt (both kernels), from a
// line to ~200 KB, mutated by lines (delete, duplicate, swap, splice lines of
// another trace, numbers made huge/negative/hex, interesting lines and tokens,
// very long lines, NUL and non-UTF-8 bytes, CRLF, cut mid-line) and by bytes
// (mutateBytes), sometimes gzip-compressed (the source layer's decompression).

import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { commonFlags, mutateBytes, type Rng } from './mutate.js';
import { type FuzzCase, type FuzzTarget, fixtureFiles } from './target.js';

/** A fixture's text kept as one buffer (the GC never walks it) with its line starts. */
interface TextSeed {
  buf: Buffer;
  /** Start of each line, and one past the end. */
  starts: Int32Array;
  /** Comment lines at the top. */
  header: number;
  /** Lines that are dma_* events: slices start near them. */
  dma: Int32Array;
}

const EVENT_NAMES = [
  'dma_alloc',
  'dma_alloc_pages',
  'dma_alloc_sgt',
  'dma_alloc_sgt_err',
  'dma_free',
  'dma_free_pages',
  'dma_free_sgt',
  'dma_map_page',
  'dma_map_phys',
  'dma_map_resource',
  'dma_map_sg',
  'dma_map_sg_err',
  'dma_sync_sg_for_cpu',
  'dma_sync_sg_for_device',
  'dma_sync_single_for_cpu',
  'dma_sync_single_for_device',
  'dma_unmap_page',
  'dma_unmap_phys',
  'dma_unmap_resource',
  'dma_unmap_sg',
  'mm_page_free',
  'mm_page_free_batched',
  'tracing_mark_write',
  'print',
  'kernel_stack',
  'user_stack',
];

/** Whole lines that mean something to the parser. */
const LINES = [
  'CPU:1 [LOST EVENTS]',
  'CPU:0 [LOST 5 EVENTS]',
  'CPU:1 [LOST 4294967296 EVENTS]',
  'CPU:99999999999 [LOST 1 EVENTS]',
  'CPU:0 [EVENTS DROPPED]',
  'CPU:1 [12 EVENTS DROPPED]',
  '[LOST 5 EVENTS]',
  '# entries-in-buffer/entries-written: 5/9   #P:2',
  '# entries-in-buffer/entries-written: 99999999999999999999/1   #P:99999',
  '# entries-in-buffer/entries-written: 5/   #P:',
  '# tracer: nop',
  'cpus=2',
  'cpus=0',
  'cpus=4294967297',
  'version = 6',
  '##### CPU 1 buffer started ####',
  '=> dma_map_page_attrs',
  '=> 0xffffffffa0001234',
  ' => <stack trace>',
  '  <idle>-0     [001] d.h..  1.000000: <stack trace>',
  '           <...>-12    [000] .....     1.000001: tracing_mark_write: dmadebug: unbind 0000:00:1f.2 ahci pci',
  '           <...>-12    [000] .....     1.000001: tracing_mark_write: dmadebug: unbind',
  '',
  '\t',
  ' ',
];

/** Tokens dropped into a line. */
const TOKENS = [
  ...EVENT_NAMES.map((n) => `${n}:`),
  'dir=BIDIRECTIONAL',
  'dir=TO_DEVICE',
  'dir=FROM_DEVICE',
  'dir=NONE',
  'dir=',
  'attrs=DMA_ATTR_SKIP_CPU_SYNC',
  'attrs=',
  'size=',
  'dma_addrs={',
  'phys_addrs={0x1,0x2}',
  'lengths={4096,4096}',
  '}',
  '{',
  ' [',
  ']',
  '[000]',
  '[4294967296]',
  '0x',
  '0xffffffffffffffff',
  '-1',
  ':',
  '::',
  ' =>',
  'LOST ',
  '\u0000',
  '\u00ff\u00fe',
  '\u00c3\u0028',
  '\u00e2\u0082',
  '\r',
];

const NUMBERS = [
  '0',
  '-1',
  '-9223372036854775808',
  '18446744073709551615',
  '18446744073709551616',
  '99999999999999999999999999999999',
  '9007199254740993',
  '4294967296',
  '0xffffffffffffffff',
  '0x10000000000000000',
  'ffffffffffffffffff',
  '1e309',
  'NaN',
  '0.000000',
  '-0.5',
  '007',
  '',
];

export class TextTarget implements FuzzTarget {
  readonly name = 'text';
  private seeds: TextSeed[] = [];

  prepare(): void {
    for (const path of fixtureFiles('trace.txt', 4 << 20)) {
      const buf = readFileSync(path);
      const starts = [0];
      for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) starts.push(i + 1);
      if (starts.at(-1) !== buf.length) starts.push(buf.length);
      const n = starts.length - 1;
      let header = 0;
      while (header < n && buf[starts[header]!] === 0x23) header++;
      const dma: number[] = [];
      for (let i = header, at = buf.indexOf(': dma_'); i < n && at >= 0; i++) {
        if (at < starts[i + 1]!) {
          dma.push(i);
          at = buf.indexOf(': dma_', starts[i + 1]!);
        }
      }
      this.seeds.push({ buf, starts: Int32Array.from(starts), header, dma: Int32Array.from(dma) });
    }
    if (this.seeds.length === 0) throw new Error('fuzz text: no fixture trace.txt found (set DMADEBUG_FIXTURE_ROOT)');
  }

  make(rng: Rng): FuzzCase {
    let lines = this.slice(rng);
    const lineOps = rng.chance(0.1) ? 0 : rng.logUniform(8);
    for (let k = 0; k < lineOps; k++) lines = this.mutateLines(rng, lines);
    let bytes: Uint8Array = Buffer.from(
      lines.join(rng.chance(0.03) ? '\r\n' : '\n') + (rng.chance(0.9) ? '\n' : ''),
      'latin1',
    );
    const byteOps = rng.chance(0.5) ? 0 : rng.logUniform(4);
    const other = byteOps > 0 ? Buffer.from(this.slice(rng).join('\n'), 'latin1') : undefined;
    for (let k = 0; k < byteOps; k++) bytes = mutateBytes(rng, bytes, 0, bytes.length, other);
    if (rng.chance(0.03)) {
      bytes = gzipSync(bytes, { level: 1 });
      if (rng.chance(0.5)) bytes = mutateBytes(rng, bytes);
    }
    return { files: [{ name: 'trace.txt', bytes }], args: commonFlags(rng) };
  }

  /** A run of lines of one fixture (with its header, mostly), near its dma lines. */
  private slice(rng: Rng): string[] {
    const s = rng.pick(this.seeds);
    const lines = s.starts.length - 1;
    const body = lines - s.header;
    const n = Math.min(body, rng.chance(0.01) ? rng.range(500, 2000) : rng.logUniform(400));
    let start: number;
    if (s.dma.length > 0 && rng.chance(0.8)) start = Math.max(s.header, s.dma[rng.int(s.dma.length)]! - rng.int(20));
    else start = s.header + rng.int(body);
    const end = Math.min(lines, start + n);
    const text = (a: number, b: number) =>
      a >= b ? [] : s.buf.toString('latin1', s.starts[a]!, s.starts[b]! - 1).split('\n');
    return rng.chance(0.75) ? [...text(0, s.header), ...text(start, end)] : text(start, end);
  }

  private mutateLines(rng: Rng, lines: string[]): string[] {
    if (lines.length === 0) return [rng.pick(LINES)];
    const out = lines.slice();
    const i = rng.int(out.length);
    const line = out[i]!;
    switch (rng.int(12)) {
      case 0:
        out.splice(i, 1);
        break;
      case 1:
        out.splice(i, 0, ...Array<string>(rng.logUniform(rng.chance(0.05) ? 2000 : 4)).fill(line));
        break;
      case 2: {
        const j = rng.int(out.length);
        out[i] = out[j]!;
        out[j] = line;
        break;
      }
      case 3:
        // lines of another trace (the other kernel, another scenario)
        out.splice(i, 0, ...this.slice(rng).slice(0, rng.logUniform(50)));
        break;
      case 4:
        out[i] = replaceNumber(rng, line);
        break;
      case 5:
        out.splice(i, 0, rng.pick(LINES));
        break;
      case 6: {
        // a token inside the line
        const at = rng.int(line.length + 1);
        out[i] = line.slice(0, at) + rng.pick(TOKENS) + line.slice(rng.chance(0.5) ? at : at + rng.logUniform(20));
        break;
      }
      case 7: {
        // a very long line: repeated text or a field
        const unit = rng.chance(0.5)
          ? line.slice(rng.int(line.length)) || 'x'
          : rng.pick(['a', ' ', '0', ',', '{', '=> ']);
        const len = rng.chance(0.1) ? rng.range(65536, 300_000) : rng.logUniform(8192);
        out[i] = line + unit.repeat(Math.ceil(len / unit.length)).slice(0, len);
        break;
      }
      case 8:
        // cut mid-line
        out[i] = line.slice(0, rng.int(line.length));
        break;
      case 9: {
        // control, NUL and non-UTF-8 bytes
        const at = rng.int(line.length + 1);
        const junk = String.fromCharCode(
          ...Array.from({ length: rng.logUniform(8) }, () =>
            rng.pick([0, 0x80, 0xc3, 0xff, 0xfe, 0x1b, 0x7f, 0x09, 0x0d, rng.int(256)]),
          ),
        );
        out[i] = line.slice(0, at) + junk + line.slice(at);
        break;
      }
      case 10: {
        // every number of the line replaced
        let l = line;
        for (let k = rng.logUniform(6); k > 0; k--) l = replaceNumber(rng, l);
        out[i] = l;
        break;
      }
      default: {
        // an event line with another event's name (its fields stay)
        out[i] = line.replace(/ (\w+): /, ` ${rng.pick(EVENT_NAMES)}: `);
        break;
      }
    }
    return out;
  }
}

/** One number-like token of the line (decimal, hex, timestamp) replaced by a troublesome one. */
function replaceNumber(rng: Rng, line: string): string {
  // (starts at a digit: a hex-letter run before it would make this quadratic on a long line)
  const re = /0x[0-9a-fA-F]+|[0-9][0-9a-fA-F]*(?:\.[0-9]+)?/g;
  const spans: Array<[number, number]> = [];
  for (let m = re.exec(line); m; m = re.exec(line)) spans.push([m.index, m.index + m[0].length]);
  if (spans.length === 0) return line;
  const [a, b] = rng.pick(spans);
  const tok = line.slice(a, b);
  let rep: string;
  switch (rng.int(4)) {
    case 0:
      rep = rng.pick(NUMBERS);
      break;
    case 1:
      rep = tok.startsWith('0x') ? tok.replace(/^0x/, `0x${'f'.repeat(rng.logUniform(24))}`) : `-${tok}`;
      break;
    case 2:
      rep = tok + '9'.repeat(rng.logUniform(40));
      break;
    default:
      rep = tok.includes('.')
        ? `${rng.int(1e9)}.${String(rng.int(1e6)).padStart(6, '0')}`
        : `0x${rng.u32().toString(16)}`;
  }
  return line.slice(0, a) + rep + line.slice(b);
}
