// The text metadata inside a trace.dat: event format files
// (events/<system>/<event>/format), the ring buffer's header_page, saved
// command lines, /proc/kallsyms, printk_formats and the uname option. It owns
// turning that text into small tables; nothing here touches ring-buffer pages.
//
// Why: trace.dat records are raw kernel structs. Their layout is only known
// from the format files stored in the same file (offsets, sizes, signedness,
// __data_loc), and it changes between kernels, so nothing is hard-coded. This
// runs once per file; the hot path only reads the numbers computed here.

import { AddrList } from '../engine/events.js';
import { type MapEvents, mapEventsOf as mapEventsOfNames } from '../events/vocabulary.js';

/** One `field:` line of a format file. */
export interface FormatField {
  name: string;
  /** The C type without the name (e.g. `unsigned long`, `__data_loc char[]`). */
  type: string;
  offset: number;
  size: number;
  signed: boolean;
  /** `__data_loc`: a u32 (len << 16 | offset) pointing into the record. */
  dataLoc: boolean;
  /** `__rel_loc`: like dataLoc, but the offset is relative to the end of the field. */
  relLoc: boolean;
  /** A fixed array `x[N]` has arrayLen N; a trailing `x[]` has 0; -1 for scalars. */
  arrayLen: number;
  /** Size of one element for arrays and dynamic arrays (0 when unknown). */
  elemSize: number;
}

export interface EventFormat {
  id: number;
  system: string;
  name: string;
  fields: FormatField[];
}

/** C type name to byte size (0 = unknown); `long` depends on the kernel. */
export function typeSize(type: string, longSize: number): number {
  let t = type
    .replace(/\b(const|volatile|__data_loc|__rel_loc|signed|struct|enum)\b/g, ' ')
    .replace(/\[.*\]/g, '')
    .trim()
    .replace(/\s+/g, ' ');
  if (t.endsWith('*')) return longSize;
  t = t.replace(/^unsigned /, '');
  switch (t) {
    case 'char':
    case 'bool':
    case '_Bool':
    case 'u8':
    case 's8':
    case '__u8':
    case '__s8':
    case 'int8_t':
    case 'uint8_t':
      return 1;
    case 'short':
    case 'short int':
    case 'u16':
    case 's16':
    case '__u16':
    case '__s16':
    case 'uint16_t':
    case 'int16_t':
      return 2;
    case 'int':
    case 'u32':
    case 's32':
    case '__u32':
    case '__s32':
    case 'uint32_t':
    case 'int32_t':
    case 'gfp_t':
    case 'pid_t':
    case 'dma_data_direction':
      return 4;
    case 'long long':
    case 'long long int':
    case 'u64':
    case 's64':
    case '__u64':
    case '__s64':
    case 'uint64_t':
    case 'int64_t':
    case 'dma_addr_t':
    case 'phys_addr_t':
    case 'resource_size_t':
      return 8;
    case 'long':
    case 'long int':
    case 'size_t':
    case 'ssize_t':
    case 'uintptr_t':
      return longSize;
    default:
      return 0;
  }
}

const FIELD_RE = /^\s*field:(.*?);\s*offset:(\d+);\s*size:(\d+);(?:\s*signed:(-?\d+);)?/;

/**
 * Parses one format file. Returns null when it has no name or ID (the caller
 * reports where). `system` is the directory the writer filed it under.
 */
export function parseEventFormat(text: string, system: string, longSize: number): EventFormat | null {
  let name = '';
  let id = -1;
  const fields: FormatField[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('name:')) {
      name = line.slice(5).trim();
      continue;
    }
    if (line.startsWith('ID:')) {
      const v = Number.parseInt(line.slice(3).trim(), 10);
      if (Number.isFinite(v)) id = v;
      continue;
    }
    const m = FIELD_RE.exec(line);
    if (!m) continue;
    const decl = m[1]!.trim();
    const offset = Number(m[2]);
    const size = Number(m[3]);
    const signed = m[4] !== undefined && m[4] !== '0';
    // `type name`, `type name[N]`, `__data_loc type[] name`
    const dm = /^(.*?)([A-Za-z_][A-Za-z0-9_]*)\s*(\[[^\]]*\])?$/.exec(decl);
    if (!dm) continue;
    const fname = dm[2]!;
    let type = dm[1]!.trim();
    const suffix = dm[3];
    const dataLoc = /\b__data_loc\b/.test(type);
    const relLoc = /\b__rel_loc\b/.test(type);
    let arrayLen = -1;
    if (suffix !== undefined) {
      const inner = suffix.slice(1, -1).trim();
      arrayLen = inner === '' ? 0 : Number.parseInt(inner, 10);
      if (!Number.isFinite(arrayLen)) arrayLen = 0;
    } else if (dataLoc || relLoc) {
      arrayLen = 0;
    }
    if (dataLoc || relLoc) type = type.replace(/\[\s*\]\s*$/, '').trim();
    let elemSize = 0;
    if (arrayLen >= 0) {
      elemSize = typeSize(type, longSize);
      if (elemSize === 0 && arrayLen > 0 && !dataLoc && !relLoc) elemSize = size / arrayLen;
    }
    fields.push({ name: fname, type, offset, size, signed, dataLoc, relLoc, arrayLen, elemSize });
  }
  if (name === '' || id < 0) return null;
  return { id, system, name, fields };
}

/** What header_page says about the ring buffer's sub-buffers. */
export interface PageHeader {
  /** Bytes of the `commit` field: the kernel's long size (4 or 8). */
  longSize: number;
  /** Where the records start in a sub-buffer (12 or 16). */
  dataOffset: number;
  /** Bytes of record space in a sub-buffer (`data` field size). 0 when header_page has no data field. */
  dataSize: number;
}

export function parseHeaderPage(text: string): PageHeader | null {
  let longSize = 0;
  let dataOffset = -1;
  let dataSize = 0;
  let tsSize = 0;
  for (const line of text.split('\n')) {
    const m = FIELD_RE.exec(line);
    if (!m) continue;
    const decl = m[1]!.trim();
    const name = /([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(decl)?.[1];
    if (name === 'timestamp') tsSize = Number(m[3]);
    else if (name === 'commit') longSize = Number(m[3]);
    else if (name === 'data') {
      dataOffset = Number(m[2]);
      dataSize = Number(m[3]);
    }
  }
  if (tsSize !== 8 || (longSize !== 4 && longSize !== 8)) return null;
  if (dataOffset < 0) dataOffset = 8 + longSize;
  return { longSize, dataOffset, dataSize };
}

/** saved_cmdlines: `pid comm` per line. */
export function parseCmdlines(text: string, into: Map<number, string>): void {
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp <= 0) continue;
    const pid = Number.parseInt(line.slice(0, sp), 10);
    if (!Number.isFinite(pid)) continue;
    const comm = line.slice(sp + 1).replace(/\s+$/, '');
    if (comm !== '') into.set(pid, comm);
  }
}

/** A kernel release as `uname -r` prints it (6.12.117, 7.3.4-amd64, 6.1.0-rc3+). */
const RELEASE = /^\d+\.\d+/;

/**
 * trace-cmd's UNAME option: `sysname nodename release machine` (trace-record.c
 * add_uname(): "%s %s %s %s", NUL-terminated), e.g. `Linux (none) 7.3.4
 * x86_64`. A nodename that is empty or has spaces moves the fields, so the
 * release is the second-to-last word when it reads like one, else the first
 * word after the sysname that does (the machine then follows it). Null when
 * no word reads like a release.
 */
export function parseUname(text: string): { release: string; machine: string | null } | null {
  const nul = text.indexOf('\0');
  const words = (nul >= 0 ? text.slice(0, nul) : text).trim().split(/\s+/);
  const n = words.length;
  let r = n >= 3 && RELEASE.test(words[n - 2]!) ? n - 2 : -1;
  if (r < 0) r = words.findIndex((w, i) => i > 0 && RELEASE.test(w));
  if (r < 0) return null;
  return { release: words[r]!, machine: words[r + 1] ?? null };
}

/**
 * Which single-mapping events a kernel's formats show (the vocabulary's rule
 * over its dma events): 'phys' for 6.18 and later, 'page' up to 6.17, else null.
 */
export function mapEventsOf(formats: ReadonlyArray<{ system: string; name: string }>): MapEvents | null {
  const names: string[] = [];
  for (const f of formats) if (f.system === 'dma') names.push(f.name);
  return mapEventsOfNames(names);
}

/** printk_formats: `0xffffffffa000202a : "text\n"` per line: address -> format string. */
export function parsePrintkFormats(text: string, into: Map<string, string>): void {
  for (const line of text.split('\n')) {
    const m = /^\s*(0x[0-9a-fA-F]+)\s*:\s*"(.*)"\s*$/.exec(line);
    if (!m) continue;
    into.set(normHex(m[1]!), unescapeC(m[2]!));
  }
}

/** Lower-case hex without 0x and leading zeros, as a map key. */
export function normHex(s: string): string {
  let t = s.toLowerCase();
  if (t.startsWith('0x')) t = t.slice(2);
  t = t.replace(/^0+/, '');
  return t === '' ? '0' : t;
}

function unescapeC(s: string): string {
  return s.replace(/\\(n|t|r|"|\\|0|x[0-9a-fA-F]{1,2})/g, (_, c: string) => {
    switch (c[0]) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case '0':
        return '\0';
      case 'x':
        return String.fromCharCode(Number.parseInt(c.slice(1), 16));
      default:
        return c;
    }
  });
}

/**
 * /proc/kallsyms as a sorted table: address (u32 halves) -> name, module and
 * the symbol's size (distance to the next higher address, as the kernel's
 * `%pS` computes it). Built lazily: most traces have no stacks.
 */
export class Kallsyms {
  private hi = new Uint32Array(0);
  private lo = new Uint32Array(0);
  private names: string[] = [];
  private mods: string[] = [];
  /** End address of each symbol (halves), 0/0 when unknown. */
  private endHi = new Uint32Array(0);
  private endLo = new Uint32Array(0);
  private built = false;

  constructor(private text: string) {}

  get size(): number {
    this.build();
    return this.names.length;
  }

  private build(): void {
    if (this.built) return;
    this.built = true;
    // One pass over the text without a regex or an object per line (a kernel
    // has 40-150 thousand symbols), then the rows in address order (stable).
    const text = this.text;
    this.text = '';
    const addrs = new AddrList(1024);
    const names: string[] = [];
    const mods: string[] = [];
    for (let p = 0; p < text.length; ) {
      let eol = text.indexOf('\n', p);
      if (eol < 0) eol = text.length;
      const row = parseKallsymsLine(text, p, eol);
      p = eol + 1;
      if (row === null) continue;
      addrs.push(row.hi, row.lo);
      names.push(row.name);
      mods.push(row.mod);
    }
    const n = addrs.count;
    const hiOf = addrs.hi;
    const loOf = addrs.lo;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => hiOf[a]! - hiOf[b]! || loOf[a]! - loOf[b]! || a - b);
    this.hi = new Uint32Array(n);
    this.lo = new Uint32Array(n);
    this.endHi = new Uint32Array(n);
    this.endLo = new Uint32Array(n);
    this.names = new Array<string>(n);
    this.mods = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const r = order[i]!;
      this.hi[i] = hiOf[r]!;
      this.lo[i] = loOf[r]!;
      this.names[i] = names[r]!;
      this.mods[i] = mods[r]!;
    }
    // Size: up to the next symbol at a higher address (of the same module, or of the core kernel).
    let j = 0;
    for (let i = 0; i < n; i++) {
      if (j <= i) j = i + 1;
      while (j < n && this.hi[j] === this.hi[i] && this.lo[j] === this.lo[i]) j++;
      if (j < n && this.mods[j] === this.mods[i]) {
        this.endHi[i] = this.hi[j]!;
        this.endLo[i] = this.lo[j]!;
      }
    }
  }

  /**
   * The symbol containing hi:lo as ftrace's sym-offset prints it:
   * `name+0xoff/0xsize` (` [mod]` for modules), or null when no symbol covers it.
   */
  lookup(hi: number, lo: number): string | null {
    this.build();
    let a = 0;
    let b = this.names.length - 1;
    let k = -1;
    while (a <= b) {
      const m = (a + b) >> 1;
      const mh = this.hi[m]!;
      const ml = this.lo[m]!;
      if (mh < hi || (mh === hi && ml <= lo)) {
        k = m;
        a = m + 1;
      } else {
        b = m - 1;
      }
    }
    if (k < 0) return null;
    // the first of several aliases at the same address (the kernel prints the first it finds)
    while (k > 0 && this.hi[k - 1] === this.hi[k] && this.lo[k - 1] === this.lo[k]) k--;
    const eh = this.endHi[k]!;
    const el = this.endLo[k]!;
    if (eh === 0 && el === 0) return null;
    if (hi > eh || (hi === eh && lo >= el)) return null;
    const off = sub64(hi, lo, this.hi[k]!, this.lo[k]!);
    const size = sub64(eh, el, this.hi[k]!, this.lo[k]!);
    const mod = this.mods[k]!;
    return `${this.names[k]}+0x${off.toString(16)}/0x${size.toString(16)}${mod === '' ? '' : ` [${mod}]`}`;
  }
}

/** The whitespace of /proc/kallsyms lines as latin1 text (what a regex's \\s matches there). */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0;
}

const ROW = { hi: 0, lo: 0, name: '', mod: '' };

/**
 * One line of /proc/kallsyms, text[p, eol): `ffffffff81000000 T _text` or
 * `ffffffffa0000000 t foo\t[mod]` (1-16 hex digits, a one-character type,
 * the name, an optional [module]). null for a line of another shape, an
 * absolute or undefined symbol (not code: ftrace never prints them) and
 * address 0. The row returned is reused.
 */
function parseKallsymsLine(text: string, p: number, eol: number): typeof ROW | null {
  let hi = 0;
  let lo = 0;
  let digits = 0;
  for (; p < eol; p++, digits++) {
    const c = text.charCodeAt(p);
    const v = c >= 0x30 && c <= 0x39 ? c - 0x30 : (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66 ? (c | 0x20) - 0x57 : -1;
    if (v < 0) break;
    hi = ((hi << 4) | (lo >>> 28)) >>> 0;
    lo = ((lo << 4) | v) >>> 0;
  }
  if (digits === 0 || digits > 16 || p === eol || !isSpace(text.charCodeAt(p))) return null;
  while (p < eol && isSpace(text.charCodeAt(p))) p++;
  if (p + 1 >= eol || !isSpace(text.charCodeAt(p + 1))) return null;
  const type = text.charCodeAt(p);
  p += 1;
  while (p < eol && isSpace(text.charCodeAt(p))) p++;
  const n0 = p;
  while (p < eol && !isSpace(text.charCodeAt(p))) p++;
  if (p === n0) return null;
  // a (0x61), A, U, u: absolute and undefined symbols
  if (type === 0x61 || type === 0x41 || type === 0x55 || type === 0x75) return null;
  if (hi === 0 && lo === 0) return null;
  ROW.hi = hi;
  ROW.lo = lo;
  ROW.name = text.slice(n0, p);
  ROW.mod = '';
  while (p < eol && isSpace(text.charCodeAt(p))) p++;
  if (p < eol && text.charCodeAt(p) === 0x5b) {
    const close = text.indexOf(']', p + 1);
    if (close > p + 1 && close < eol) ROW.mod = text.slice(p + 1, close);
  }
  return ROW;
}

/** (ah:al) - (bh:bl) for a small non-negative difference. */
function sub64(ah: number, al: number, bh: number, bl: number): number {
  return (ah - bh) * 0x100000000 + (al - bl);
}
