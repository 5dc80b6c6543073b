// Streaming parser for ftrace text: /sys/kernel/tracing/trace, trace_pipe and
// `trace-cmd report` output, in every dma:* layout from 6.12 to 2026 kernels
// (see shared/spec/traces.md). It owns the text format and nothing else: bytes
// in, DmaEvents out, no checks.
//
// Why it looks the way it does: a trace can be gigabytes, so the hot path
// touches bytes only. No regex, no per-line strings, no per-event objects.
// Lines are found with Buffer.indexOf (memchr), numbers are parsed straight
// from the bytes with lookup tables, 64-bit values go into u32 halves, and
// event names, payload keys and attribute names are matched by an FNV-1a hash
// computed while scanning plus one byte comparison. One DmaEvent is reused for
// every event and handed to the sink synchronously.
//
// Chunks may split lines anywhere. Whole lines are parsed in place inside the
// chunk; only the unfinished tail is copied into a reused carry buffer, which
// is completed from the next chunk. Nothing refers to a chunk after push()
// returns, so sources may refill their read buffer at once.
//
// A line that may hold a dma/kmem event but cannot be read (cut short, glued
// to the next line, bytes flipped, a field mangled) is a warning (line number
// + what was expected) and a lost event in its place: a Lost event (count 1,
// `damaged`) on its CPU, or on ALL_CPUS when its header is unreadable too, so
// nothing that rests on it is proven. A line that is no event line at all is a
// warning ("not an event line") unless it mentions a dma/kmem event, which
// makes it a damaged line. Lines that are clearly something else (comments,
// other tracepoints, trace_printk) are skipped. Input that is not text at all
// (NUL bytes) and absurdly long lines are an InputError.

import type { Names } from '../base/interner.js';
import { NameCache } from '../base/name-cache.js';
import {
  type AddrList,
  ALL_CPUS,
  type Dir,
  DmaEvent,
  type EventKind,
  type EventSink,
  type InputFacts,
  EventKind as K,
  MAX_CPUS,
  noInputFacts,
  type SizeList,
} from '../engine/events.js';
import {
  ALLOC_FAMILY,
  ATTR_NAMES,
  FTRACE_RECORDS,
  FtraceRecord,
  kindOf,
  TRACED_EVENTS,
  type TracedEvent,
} from '../events/vocabulary.js';
import { InputError } from './errors.js';
import { ForeignCpus } from './foreign-cpus.js';

/** The trace_marker text `dmadebug record` writes when a driver is unbound. */
export const UNBIND_MARKER = 'dmadebug: unbind ';

/** Longest line accepted (bytes, without the newline). */
export const MAX_LINE_BYTES = 1 << 20;
/** How many warnings keep their text; the count goes on. */
export const MAX_WARNINGS_KEPT = 1000;
/** Frames beyond this many bytes of one stack block are dropped (a sane stack is ~2 KB). */
export const MAX_STACK_BYTES = 64 * 1024;

// ---- bytes ----
const NL = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const TAB = 0x09;
const HASH = 0x23;
const DASH = 0x2d;
const DOT = 0x2e;
const SLASH = 0x2f;
const COLON = 0x3a;
const UPPER_P = 0x50;
const EQ = 0x3d;
const GT = 0x3e;
const LT = 0x3c;
const LBRACK = 0x5b;
const RBRACK = 0x5d;
const LPAREN = 0x28;
const RPAREN = 0x29;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const COMMA = 0x2c;
const PIPE = 0x7c;
const PLUS = 0x2b;
const ZERO = 0x30;
const LOWER_X = 0x78;

/** Hex digit value per byte, -1 for anything else. */
const HEXV = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEXV[0x30 + i] = i;
for (let i = 0; i < 6; i++) {
  HEXV[0x61 + i] = 10 + i;
  HEXV[0x41 + i] = 10 + i;
}
/** 10^(9-d) for d fractional digits, to scale a timestamp fraction to ns. */
const NS_SCALE = [1e9, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 100, 10, 1];
const TWO32 = 0x100000000;

function bytesOf(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * A cheap hash of b[s, e) from its length and four of its bytes. Names in one
 * table differ there often enough; equal hashes only cost a byte comparison.
 */
function quickHash(b: Uint8Array, s: number, e: number): number {
  const n = e - s;
  if (n <= 0) return 0;
  const x = b[s]! | (b[e - 1]! << 8) | (b[s + (n >> 1)]! << 16) | (b[e - 1 - (n >> 2)]! << 24);
  const h = Math.imul(x ^ Math.imul(n, 0x9e3779b1), 0x85ebca6b);
  return h ^ (h >>> 15);
}

/** Does b[p, e) start with lit? */
function startsWith(b: Uint8Array, p: number, e: number, lit: Uint8Array): boolean {
  const n = lit.length;
  if (e - p < n) return false;
  for (let i = 0; i < n; i++) if (b[p + i] !== lit[i]) return false;
  return true;
}

/**
 * A small fixed table from ASCII names to small ints, looked up by quickHash
 * and one byte comparison.
 */
class NameTable {
  private readonly slots = new Int32Array(256);
  private readonly hashes = new Int32Array(128);
  private readonly vals = new Int32Array(128);
  private readonly offs = new Int32Array(128);
  private readonly lens = new Int32Array(128);
  /** All names back to back (one flat array keeps the compare loop monomorphic). */
  private bytes = new Uint8Array(2048);
  private count = 0;
  private used = 0;

  constructor(entries: ReadonlyArray<readonly [string, number]>) {
    for (const [name, val] of entries) this.add(name, val);
  }

  private add(name: string, val: number): void {
    const id = this.count++;
    const nb = bytesOf(name);
    const h = quickHash(nb, 0, nb.length);
    this.bytes.set(nb, this.used);
    this.offs[id] = this.used;
    this.lens[id] = name.length;
    this.used += name.length;
    this.hashes[id] = h;
    this.vals[id] = val;
    let s = h & 255;
    while (this.slots[s] !== 0) s = (s + 1) & 255;
    this.slots[s] = id + 1;
  }

  /** The value for b[start, end), or -1. */
  get(b: Uint8Array, start: number, end: number): number {
    const h = quickHash(b, start, end);
    let s = h & 255;
    for (;;) {
      const v = this.slots[s]!;
      if (v === 0) return -1;
      const id = v - 1;
      if (this.hashes[id] === h && this.lens[id] === end - start) {
        const k = this.bytes;
        let o = this.offs[id]!;
        let i = start;
        while (i < end && k[o] === b[i]) {
          i++;
          o++;
        }
        if (i === end) return this.vals[id]!;
      }
      s = (s + 1) & 255;
    }
  }
}

// ---- event names ----
// One code per name: a dma/kmem event's index in TRACED_EVENTS (below
// N_TRACED), or X_FTRACE plus an ftrace record, or X_MARK_WRITE.
const N_TRACED = TRACED_EVENTS.length;
/** The kernel's text shows a trace_marker write (a print record) under its caller's name. */
const X_MARK_WRITE = 99;
const X_FTRACE = 100;

const EVENTS = new NameTable([
  ...TRACED_EVENTS.map((e, i) => [e.name, i] as const),
  ...FTRACE_RECORDS.map(([name, rec]) => [name, X_FTRACE + rec] as const),
  ['tracing_mark_write', X_MARK_WRITE],
]);

/** The traced names' bytes, to tell a damaged name from another tracepoint's. */
const TRACED_NAMES = TRACED_EVENTS.map((e) => bytesOf(e.name));

/**
 * Is b[s, e) (an event name no table knows) one of ours damaged? Equal to a
 * traced name or one byte off it; when `cut` (the line ends inside the name),
 * also a prefix of one.
 */
function nearTracedName(b: Uint8Array, s: number, e: number, cut: boolean): boolean {
  const n = e - s;
  for (const nb of TRACED_NAMES) {
    if (nb.length === n) {
      let d = 0;
      for (let i = 0; i < n && d < 2; i++) if (b[s + i] !== nb[i]) d++;
      if (d < 2) return true;
    } else if (cut && n < nb.length) {
      let i = 0;
      while (i < n && b[s + i] === nb[i]) i++;
      if (i === n) return true;
    }
  }
  return false;
}

const L_DMA_ = bytesOf('dma_');
const L_MM_PAGE_FREE = bytesOf('mm_page_free');

/** Does b[p, e) mention `dma_` or `mm_page_free` (a line too damaged to read may be one of ours)? */
function mentionsTraced(b: Uint8Array, p: number, e: number): boolean {
  for (let i = p; i < e; i++) {
    const c = b[i];
    if (
      (c === 0x64 /* d */ && startsWith(b, i, e, L_DMA_)) ||
      (c === 0x6d /* m */ && startsWith(b, i, e, L_MM_PAGE_FREE))
    )
      return true;
  }
  return false;
}

/**
 * Does b[p, e) hold a dma/kmem event line glued into it (`…: dma_map_page: …`
 * after another line whose newline was lost)? A ': ' followed by a traced
 * name and ':'.
 */
function swallowsEvent(b: Uint8Array, p: number, e: number): boolean {
  for (let i = p; i + 2 < e; i++) {
    if (b[i] !== COLON || b[i + 1] !== SP) continue;
    let j = i + 2;
    while (j < e && b[j] === SP) j++;
    let k = j;
    while (k < e && b[k] !== COLON && b[k] !== SP) k++;
    if (k < e && b[k] === COLON && k > j) {
      const code = EVENTS.get(b, j, k);
      if (code >= 0 && code < N_TRACED) return true;
    }
  }
  return false;
}

/** Bytes a payload key may hold: [A-Za-z0-9_]. */
const KEY_CHAR = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) KEY_CHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) KEY_CHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) KEY_CHAR[c] = 1;
KEY_CHAR[0x5f] = 1;
/** Is b[s, e) a possible key: [A-Za-z0-9_], not empty? */
function isKeyName(b: Uint8Array, s: number, e: number): boolean {
  if (e === s) return false;
  for (let i = s; i < e; i++) if (KEY_CHAR[b[i]!] === 0) return false;
  return true;
}

/** Bytes an attribute name may hold: [A-Z0-9_]. */
const ATTR_CHAR = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) ATTR_CHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) ATTR_CHAR[c] = 1;
ATTR_CHAR[0x5f] = 1;
/** Attribute names as bytes (a name cut short is a prefix of one). */
const ATTR_BYTES = ATTR_NAMES.map(([n]) => bytesOf(n));

/**
 * Can the unknown attribute name b[s, e) be one newer than this parser? Not
 * when empty, when it holds a byte no name has, or when it is a known name (or
 * `DMA_ATTR_`) cut short.
 */
function newAttrName(b: Uint8Array, s: number, e: number): boolean {
  if (e === s) return false;
  for (let i = s; i < e; i++) if (ATTR_CHAR[b[i]!] === 0) return false;
  if (e - s < L_DMA_ATTR_.length && startsWith(L_DMA_ATTR_, 0, L_DMA_ATTR_.length, b.subarray(s, e))) return false;
  for (const nb of ATTR_BYTES) if (e - s < nb.length && startsWith(nb, 0, nb.length, b.subarray(s, e))) return false;
  return true;
}

/** Is b[s, e) a bracketed note such as `[TRUNCATED]` (capitals and '_' between '[' and ']')? */
function isBracketNote(b: Uint8Array, s: number, e: number): boolean {
  if (e - s < 3 || b[s] !== LBRACK || b[e - 1] !== RBRACK) return false;
  for (let i = s + 1; i < e - 1; i++) {
    const c = b[i]!;
    if (!((c >= 0x41 && c <= 0x5a) || c === 0x5f)) return false;
  }
  return true;
}

// ---- payload keys ----
const K_DIR = 0;
const K_DMA_ADDR = 1;
const K_SIZE = 2;
const K_PHYS_ADDR = 3;
const K_ATTRS = 4;
const K_VIRT_ADDR = 5;
const K_NENTS = 6;
const K_ENTS = 7;
const K_DMA_ADDRS = 8;
/** `sizes=` or (raw fields) `lengths=`. */
const K_SIZES = 9;
/** `phys_addrs=` or (raw fields of dma_unmap_sg) `addrs=`. */
const K_PHYS_ADDRS = 10;
const K_ERR = 11;
const K_PFN = 12;
const K_ORDER = 13;
const K_DEVICE = 14;
const K_FULL_NENTS = 15;
const K_FULL_ENTS = 16;
const K_TRUNCATED = 17;
const K_LENGTHS = 18;
const K_ADDRS = 19;
/** The dma_unmap class's field name (raw fields of dma_unmap_page / dma_unmap_phys): dma_addr. */
const K_ADDR = 20;

const KEY_NAMES = [
  'dir',
  'dma_addr',
  'size',
  'phys_addr',
  'attrs',
  'virt_addr',
  'nents',
  'ents',
  'dma_addrs',
  'sizes',
  'phys_addrs',
  'err',
  'pfn',
  'order',
  'device',
  'full_nents',
  'full_ents',
  'truncated',
  'lengths',
  'addrs',
  'addr',
  // printed and not used (mm_page_free's page, the gfp flags of dma_alloc*): known keys,
  // so that they are skipped without the checks an unknown key gets
  'page',
  'flags',
] as const;
const KEYS = new NameTable(KEY_NAMES.map((n, i) => [n, i] as const));
const KEY_BYTES = KEY_NAMES.map(bytesOf);
/** Keys of a line whose order payload() remembers per event (layouts print at most 9). */
const KEY_PLACES = 12;

/** Is the unknown key b[s, e) a known one with one byte mangled (same length, one byte off)? */
function nearKey(b: Uint8Array, s: number, e: number): boolean {
  const n = e - s;
  for (const kb of KEY_BYTES) {
    if (kb.length !== n) continue;
    let d = 0;
    for (let i = 0; i < n && d < 2; i++) if (b[s + i] !== kb[i]) d++;
    if (d < 2) return true;
  }
  return false;
}

const bit = (k: number): number => 1 << k;
/** Keys every layout of a kind prints (any kernel version, either text form). */
const REQUIRED: Record<number, number> = {
  [K.MapPage]: bit(K_DIR) | bit(K_DMA_ADDR) | bit(K_SIZE),
  [K.UnmapPage]: bit(K_DIR) | bit(K_DMA_ADDR) | bit(K_SIZE),
  [K.MapResource]: bit(K_DIR) | bit(K_DMA_ADDR) | bit(K_SIZE),
  [K.UnmapResource]: bit(K_DIR) | bit(K_DMA_ADDR) | bit(K_SIZE),
  [K.MapSg]: bit(K_DIR) | bit(K_DMA_ADDRS) | bit(K_SIZES) | bit(K_PHYS_ADDRS),
  [K.UnmapSg]: bit(K_DIR) | bit(K_PHYS_ADDRS),
  [K.MapSgErr]: bit(K_DIR) | bit(K_PHYS_ADDRS),
  [K.Alloc]: bit(K_DMA_ADDR) | bit(K_SIZE),
  [K.Free]: bit(K_DMA_ADDR) | bit(K_SIZE),
  [K.AllocPages]: bit(K_DMA_ADDR) | bit(K_SIZE),
  [K.FreePages]: bit(K_DMA_ADDR) | bit(K_SIZE),
  [K.AllocSgt]: bit(K_DMA_ADDR) | bit(K_SIZE),
  // ends with phys_addrs= (6.12 and 7.3): without it the line was cut short
  [K.FreeSgt]: bit(K_DMA_ADDR) | bit(K_SIZE) | bit(K_PHYS_ADDRS),
  [K.AllocSgtErr]: bit(K_DMA_ADDR) | bit(K_SIZE),
  [K.SyncSingleForCpu]: bit(K_DIR) | bit(K_DMA_ADDR) | bit(K_SIZE),
  [K.SyncSingleForDevice]: bit(K_DIR) | bit(K_DMA_ADDR) | bit(K_SIZE),
  [K.SyncSgForCpu]: bit(K_DIR) | bit(K_DMA_ADDRS) | bit(K_SIZES),
  [K.SyncSgForDevice]: bit(K_DIR) | bit(K_DMA_ADDRS) | bit(K_SIZES),
  // mm_page_free_batched has no order field (its format prints a literal order=0), so
  // trace-cmd's [FAILED TO PARSE] form of it has none: order defaults to 0.
  [K.PageFree]: bit(K_PFN),
};
/**
 * Kinds whose every layout ends with `attrs=`. An unterminated last line of
 * these kinds must have reached it, or it was cut short.
 */
const ENDS_WITH_ATTRS = new Set<number>([
  K.MapPage,
  K.UnmapPage,
  K.MapResource,
  K.UnmapResource,
  K.MapSg,
  K.UnmapSg,
  K.MapSgErr,
  K.Alloc,
  K.Free,
  K.AllocPages,
  K.FreePages,
  K.AllocSgt,
  K.AllocSgtErr,
]);
/** REQUIRED, plus attrs where every layout ends with it, by kind. */
const NEED = new Int32Array(32);
for (const [k, v] of Object.entries(REQUIRED))
  NEED[Number(k)] = v | (ENDS_WITH_ATTRS.has(Number(k)) ? bit(K_ATTRS) : 0);

// ---- attribute names (decode_dma_attrs() of dma.h) ----
const ATTRS = new NameTable(ATTR_NAMES);

// ---- literals ----
const L_BIDIRECTIONAL = bytesOf('BIDIRECTIONAL');
const L_TO_DEVICE = bytesOf('TO_DEVICE');
const L_FROM_DEVICE = bytesOf('FROM_DEVICE');
const L_NONE = bytesOf('NONE');
const L_DMA_ATTR_ = bytesOf('DMA_ATTR_');
const L_FAILED = bytesOf('[FAILED TO PARSE]');
const L_TRUNCATED = bytesOf('[TRUNCATED]');
const L_ARRAY = bytesOf('ARRAY[');
const L_STACK = bytesOf('<stack trace');
const L_USER_STACK = bytesOf('<user stack trace');
const L_CPU = bytesOf('CPU:');
const L_CPUS = bytesOf('cpus=');
const L_VERSION = bytesOf('version = ');
const L_CPU_SP = bytesOf('CPU ');
const L_IS_EMPTY = bytesOf(' is empty');
const L_LOST = bytesOf('LOST ');
const L_EVENTS_DROPPED = bytesOf('EVENTS DROPPED]');
const L_EVENTS = bytesOf(' EVENTS');
const L_ENTRIES = bytesOf('entries-in-buffer/entries-written:');
const L_NULL = bytesOf('(null)');
/** glibc's %p of NULL: what `trace-cmd report` prints for a failed 7.x dma_alloc's virt_addr. */
const L_NIL = bytesOf('(nil)');
const L_PTRVAL = bytesOf('(____ptrval____)');

/**
 * Leading stack frames that belong to the tracing machinery, not to the code
 * that called the DMA API. They are dropped so that a stack starts at the DMA
 * API function (or its caller), like the kernel's "Mapped at".
 */
const MACHINERY = [
  'trace_event_buffer_commit',
  'trace_event_raw_event_',
  'do_trace_event_raw_event_',
  '__trace_event_',
  'trace_event_buffer_',
  '__traceiter_',
  'trace_buffer_unlock_commit',
  '__ftrace_trace_stack',
  'ftrace_trace_stack',
  '__trace_stack',
  'trace_dump_stack',
  'event_triggers_post_call',
  'event_triggers_call',
  'stacktrace_trigger',
  'stacktrace_count_trigger',
  'perf_trace_',
  '__bpf_trace_',
  'ring_buffer_',
  // out-of-line copies of the tracepoint wrappers themselves (trace_dma_alloc.constprop.0)
  'trace_dma_',
  'trace_mm_page_free',
].map(bytesOf);

/**
 * Is b[p, e) (a frame: `symbol+0x1/0x2 [mod]` or a bare symbol) part of the
 * tracing machinery? Shared with the trace.dat reader so both drop the same frames.
 */
export function isMachineryFrame(b: Uint8Array, p: number, e: number): boolean {
  for (const m of MACHINERY) if (startsWith(b, p, e, m)) return true;
  return false;
}

/** One kept warning. */
export interface ParseWarning {
  /** The line (text), or the record's offset (binary: see InputFacts.positions); 0 when unknown. */
  line: number;
  message: string;
  /** Binary inputs: the CPU whose record it is (its offset counts in that CPU's data when compressed). */
  cpu?: number;
}

export interface TextParserOptions {
  names: Names;
  sink: EventSink;
  /** The input's name, for messages. */
  file: string;
}

export class TextParser {
  readonly facts: InputFacts = noInputFacts();
  /** Lines seen (including the last one without a newline). */
  lines = 0;
  /** Lines with an ftrace event header (`task-pid [cpu] … timestamp:`), dma or not. */
  eventLines = 0;
  /** Events handed to the sink. */
  events = 0;
  /** Comment, blank, unknown-event and non-trace lines. */
  skipped = 0;
  /** The input began with `trace-cmd report`'s `cpus=N` line (before any event line). */
  sawReportHeader = false;
  /** Lines listed for -v: damaged dma/kmem lines and lines that are no event line (neither emitted). */
  warnings = 0;
  /** The first MAX_WARNINGS_KEPT warnings. */
  readonly warningList: ParseWarning[] = [];
  /** Damaged lines, each handed on as a lost event (counted in `warnings` too). */
  damagedLines = 0;

  private readonly names: Names;
  private readonly sink: EventSink;
  private readonly file: string;
  private readonly ev = new DmaEvent();

  /** The unfinished last line of the previous chunks. */
  private carry: Buffer = Buffer.allocUnsafe(4096);
  private carryLen = 0;
  /** Bytes pushed so far (for messages). */
  private bytesIn = 0;
  private ended = false;
  /** How many more leading bytes to check for control characters. */
  private sniffLeft = 4096;

  // Scratch results of the number scanners (no tuples on the hot path).
  private vHi = 0;
  private vLo = 0;
  private vNum = 0;
  /** Why the current line is bad ('' = it is not). */
  private err = '';
  /** The current line is the unterminated last one: be strict about truncation. */
  private strict = false;

  // Header of the current line.
  private hCpu = 0;
  private hPid = 0;
  private hCommStart = 0;
  private hCommEnd = 0;
  /** Where the `[cpu]` bracket was on the last header line (offset from the line start). */
  private bracketCol = 25;
  /** Where the event name began on the last event line (offset from the line start). */
  private nameCol = 0;
  /** Per traced event, the keys of its last line in their order (KEY_PLACES each, -1: none known). */
  private readonly keyOrder = new Int8Array(N_TRACED * KEY_PLACES).fill(-1);
  /** Where the current line starts in its buffer. */
  private lineStart = 0;
  private tsSec = 0;
  private tsNs = 0;
  private tsDigits = 6;
  /** A one-entry cache for the comm: most lines repeat the previous task. */
  private lastComm: Buffer = Buffer.allocUnsafe(64);
  private lastCommLen = -1;
  private lastCommId = -1;
  /** The same for the device name. */
  private readonly devices: NameCache;
  private viewOf: Buffer | null = null;
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

  // The open <stack trace> block.
  private stackOpen = false;
  private stackDropping = true;
  private stkLine = 0;
  private stkCpu = 0;
  private stkPid = 0;
  private stkComm = -1;
  private stkTsSec = 0;
  private stkTsNs = 0;
  private stkTsDigits = 6;
  private stkBuf: Uint8Array = new Uint8Array(4096);
  private stkLen = 0;
  /** The open block follows another tracepoint's line on its CPU: its frames are that event's. */
  private stkForeign = false;
  /** CPUs whose last line was another tracepoint's: a stack block after it is that event's. */
  private readonly foreign = new ForeignCpus();

  constructor(opts: TextParserOptions) {
    this.names = opts.names;
    this.devices = new NameCache(opts.names.devices);
    this.sink = opts.sink;
    this.file = opts.file;
  }

  /** Feeds the next bytes. Chunks may split lines anywhere; the chunk is not kept. */
  push(chunk: Uint8Array): void {
    if (this.ended) throw new Error('TextParser: push() after end()');
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const n = b.length;
    if (n === 0) return;
    if (this.sniffLeft > 0) this.sniff(b);
    const nul = b.indexOf(0);
    if (nul >= 0) {
      // binary damage: the whole lines before it are still checked, then it is an error
      const whole = b.lastIndexOf(NL, nul) + 1;
      if (whole > 0) this.parseLines(b, whole);
      this.binary(b, nul, whole);
    }
    this.parseLines(b, n);
    this.bytesIn += n;
  }

  /** Parses b[0, n): the carried partial line first, then whole lines; keeps the unfinished tail. */
  private parseLines(b: Buffer, n: number): void {
    let pos = 0;
    if (this.carryLen > 0) {
      const nl = b.indexOf(NL);
      if (nl < 0 || nl >= n) {
        this.appendCarry(b, 0, n);
        return;
      }
      this.appendCarry(b, 0, nl);
      this.parseLine(this.carry, 0, this.carryLen);
      this.carryLen = 0;
      pos = nl + 1;
    }
    for (;;) {
      const nl = b.indexOf(NL, pos);
      if (nl < 0 || nl >= n) break;
      if (nl - pos > MAX_LINE_BYTES) this.tooLong();
      this.parseLine(b, pos, nl);
      pos = nl + 1;
    }
    if (pos < n) this.appendCarry(b, pos, n);
  }

  /** Parses the last line (even without a newline) and closes an open stack block. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.carryLen > 0) {
      this.strict = true;
      this.parseLine(this.carry, 0, this.carryLen);
      this.strict = false;
      this.carryLen = 0;
    }
    if (this.stackOpen) this.flushStack();
  }

  /**
   * A live source has nothing to read now. An open stack block whose last
   * line is complete is complete too (trace_pipe prints a stack as one entry,
   * so a read never ends inside it): it goes out now, so that a finding
   * waiting for it need not wait for the next event. False when a line is
   * still cut (the rest of it is on its way): then nothing is complete.
   */
  idle(): boolean {
    if (this.carryLen > 0) return false;
    if (this.stackOpen && !this.ended) this.flushStack();
    return true;
  }

  // ---------------------------------------------------------------- input guards

  private appendCarry(b: Buffer, s: number, e: number): void {
    const need = this.carryLen + (e - s);
    if (need > MAX_LINE_BYTES) this.tooLong();
    if (need > this.carry.length) {
      let cap = this.carry.length * 2;
      while (cap < need) cap *= 2;
      const c = Buffer.allocUnsafe(cap);
      this.carry.copy(c, 0, 0, this.carryLen);
      this.carry = c;
    }
    b.copy(this.carry, this.carryLen, s, e);
    this.carryLen = need;
  }

  private tooLong(): never {
    throw new InputError(
      this.file,
      `line ${this.lines + 1}`,
      `line longer than ${MAX_LINE_BYTES} bytes; this is not an ftrace text trace`,
    );
  }

  /** The first bytes of a text trace are printable: control bytes mean a binary file. */
  private sniff(b: Buffer): void {
    const n = Math.min(b.length, this.sniffLeft);
    this.sniffLeft -= n;
    for (let i = 0; i < n; i++) {
      const c = b[i]!;
      if (c < 0x20 && c !== NL && c !== CR && c !== TAB && c !== 0x0c && c !== 0x1b) this.binary(b, i);
      if (c === 0x7f) this.binary(b, i);
    }
  }

  /** Binary byte b[at]; lines before b[from] were already counted. */
  private binary(b: Buffer, at: number, from = 0): never {
    let line = this.lines + 1;
    for (let i = from; i < at; i++) if (b[i] === NL) line++;
    throw new InputError(
      this.file,
      `line ${line}`,
      `binary data (byte 0x${b[at]!.toString(16).padStart(2, '0')} at offset ${this.bytesIn + at}); expected ftrace text`,
    );
  }

  // ---------------------------------------------------------------- lines

  /** Is there room for another warning's text? (Callers build no string when not.) */
  private get keeps(): boolean {
    return this.warningList.length < MAX_WARNINGS_KEPT;
  }

  /** Counts a warning for the current line; its text (null: not kept) while there is room. */
  private warn(message: string | null): void {
    this.warnings++;
    if (message !== null && this.keeps) this.warningList.push({ line: this.lines, message });
  }

  /**
   * The current line may hold a dma/kmem event of `cpu` (ALL_CPUS: any) but
   * cannot be read: a warning, and a lost event in its place, so that nothing
   * resting on what it held is proven. `why` is null when not kept.
   */
  private damaged(cpu: number, why: string | null): void {
    if (why !== null) {
      const where = cpu === ALL_CPUS ? 'on every CPU' : `on CPU ${cpu}`;
      this.warn(`${why} (damaged line: counted as a lost event ${where})`);
    } else {
      this.warnings++;
    }
    this.damagedLines++;
    this.emitLost(cpu, 1, true);
  }

  /** A Lost event of `cpu` at this line: `count` events (0: unknown), a notice or (`damaged`) this line. */
  private emitLost(cpu: number, count: number, damaged: boolean): void {
    const ev = this.ev;
    ev.resetPayload();
    ev.kind = K.Lost;
    ev.line = this.lines;
    ev.tsSec = this.tsSec;
    ev.tsNs = this.tsNs;
    ev.tsDigits = this.tsDigits;
    ev.cpu = cpu;
    ev.pid = 0;
    ev.comm = -1;
    ev.lost = count;
    ev.damaged = damaged;
    this.emit();
  }

  /**
   * A dma/kmem event line is glued into the current line (its newline was
   * lost) after text that is read as something else: that event is lost, on a
   * CPU only its unread header told.
   */
  private swallowed(): void {
    this.damaged(ALL_CPUS, this.keeps ? 'a dma/kmem event line is glued into this line (a newline lost)' : null);
  }

  /**
   * A line with no event header (p: its first non-blank byte): a damaged line
   * if it mentions a dma/kmem event, or if, among event lines, it ends before
   * their event names begin (an event line cut inside its header); else
   * garbage.
   */
  private notEventLine(b: Buffer, p: number, e: number): void {
    if (mentionsTraced(b, p, e)) {
      this.damaged(
        ALL_CPUS,
        this.keeps ? 'no `task-pid [cpu] timestamp:` header, yet it mentions a dma/kmem event' : null,
      );
    } else if (this.eventLines > 0 && e - this.lineStart <= this.nameCol) {
      this.damaged(
        ALL_CPUS,
        this.keeps ? 'not an event line, and it ends before event names begin: an event line cut short?' : null,
      );
    } else {
      this.warn(this.keeps ? 'not an event line' : null);
    }
  }

  private parseLine(b: Buffer, s: number, e: number): void {
    this.lines++;
    this.lineStart = s;
    if (e > s && b[e - 1] === CR) e--;
    let p = s;
    while (p < e && (b[p] === SP || b[p] === TAB)) p++;
    if (p < e && b[p] === EQ && p + 1 < e && b[p + 1] === GT) {
      this.frameLine(b, p + 2, e);
      return;
    }
    if (this.stackOpen) this.flushStack();
    if (p >= e) {
      // Empty, or blanks only: among event lines, blanks are an event line cut
      // inside its padded task column (an empty line tells nothing: a deleted line).
      if (p > s && this.eventLines > 0) this.notEventLine(b, p, e);
      else this.skipped++;
      return;
    }
    const c0 = b[p]!;
    if (c0 === HASH) {
      this.commentLine(b, p + 1, e);
      return;
    }
    if (c0 === 0x43 /* C */ && startsWith(b, p, e, L_CPU)) {
      this.lostLine(b, p, e);
      return;
    }
    if (c0 === 0x63 /* c */ && this.eventLines === 0 && startsWith(b, p, e, L_CPUS)) {
      // `trace-cmd report`'s header (after `version = 6` in some): a text trace, even with no events after it
      this.sawReportHeader = true;
      // a count above any kernel's NR_CPUS is a damaged header: the count stays unknown
      if (this.scanDec(b, p + L_CPUS.length, e) >= 0 && this.vNum <= MAX_CPUS) this.facts.cpus = this.vNum;
      this.skipped++;
      return;
    }
    if ((c0 === 0x76 /* v */ && startsWith(b, p, e, L_VERSION)) || (c0 === 0x43 /* C */ && this.cpuIsEmpty(b, p, e))) {
      // `trace-cmd report`'s other notes: `version = 6`, `CPU 1 is empty`
      this.skipped++;
      return;
    }
    this.eventLine(b, s, p, e);
  }

  /** `# entries-in-buffer/entries-written: A/B   #P:2`, or any other comment. */
  private commentLine(b: Buffer, p: number, e: number): void {
    while (p < e && b[p] === SP) p++;
    if (startsWith(b, p, e, L_ENTRIES)) {
      p += L_ENTRIES.length;
      while (p < e && b[p] === SP) p++;
      const q = this.scanDec(b, p, e);
      if (q >= 0 && b[q] === SLASH) {
        const inBuffer = this.vNum;
        const r = this.scanDec(b, q + 1, e);
        if (r >= 0) {
          const written = this.vNum;
          this.facts.sawBufferHeader = true;
          this.facts.overwriteKnown = true;
          if (inBuffer < written) {
            this.facts.overwritten = true;
            this.facts.overwrittenCount += written - inBuffer;
          }
          // `#P:2`: the CPUs whose windows coverage waits for when the buffer overwrote
          let c = r;
          while (c < e && b[c] === SP) c++;
          if (
            c + 3 < e &&
            b[c] === HASH &&
            b[c + 1] === UPPER_P &&
            b[c + 2] === COLON &&
            this.scanDec(b, c + 3, e) >= 0 &&
            this.vNum <= MAX_CPUS
          ) {
            this.facts.cpus = this.vNum;
          }
          return;
        }
      }
    }
    this.skipped++;
    if (swallowsEvent(b, p, e)) this.swallowed();
  }

  /** trace-cmd report's `CPU N is empty`? */
  private cpuIsEmpty(b: Buffer, p: number, e: number): boolean {
    if (!startsWith(b, p, e, L_CPU_SP)) return false;
    const q = this.scanDec(b, p + L_CPU_SP.length, e);
    return q >= 0 && startsWith(b, q, e, L_IS_EMPTY) && q + L_IS_EMPTY.length === e;
  }

  /** `CPU:N [LOST M EVENTS]` (ftrace), `CPU:N [M EVENTS DROPPED]` / `CPU:N [EVENTS DROPPED]` (trace-cmd) at p. */
  private lostLine(b: Buffer, p: number, e: number): void {
    let q = this.scanDec(b, p + L_CPU.length, e);
    if (q < 0) {
      // `CPU:` followed by something else: no notice
      this.notEventLine(b, p, e);
      return;
    }
    const cpu = this.vNum;
    while (q < e && b[q] === SP) q++;
    let lost = -1;
    if (q < e && b[q] === LBRACK) {
      q++;
      if (startsWith(b, q, e, L_LOST)) {
        const r = this.scanDec(b, q + L_LOST.length, e);
        if (r >= 0 && startsWith(b, r, e, L_EVENTS)) lost = this.vNum;
      } else if (startsWith(b, q, e, L_EVENTS_DROPPED)) {
        lost = 0;
      } else {
        const r = this.scanDec(b, q, e);
        if (r >= 0 && b[r] === SP && startsWith(b, r + 1, e, L_EVENTS_DROPPED)) lost = this.vNum;
      }
    }
    if (lost < 0) {
      // a loss notice we cannot read still says events of that CPU were lost
      this.damaged(cpu, this.keeps ? 'expected `CPU:N [LOST M EVENTS]`' : null);
      return;
    }
    this.emitLost(cpu, lost, false);
    if (swallowsEvent(b, q, e)) this.swallowed();
  }

  private emit(): void {
    this.events++;
    this.sink(this.ev);
  }

  /**
   * `TASK-PID [CPU] FLAGS TIMESTAMP: EVENT: payload`. Columns between the CPU
   * and the timestamp vary (flags, none in trace-cmd report), so the timestamp
   * is the first token after the bracket that ends with ':'.
   */
  private eventLine(b: Buffer, s: number, p: number, e: number): void {
    // 1. "-PID [CPU]": the first '[' preceded by "-digits" (and maybe a "(tgid)" column).
    // ftrace pads the task column, so the bracket usually sits where it sat on
    // the previous line: try that column before scanning for it.
    let r = -1;
    const guess = s + this.bracketCol;
    if (guess > p && guess < e && b[guess] === LBRACK) r = this.pidCpu(b, p, e, guess);
    if (r < 0) {
      for (let i = p + 1; i < e; i++) {
        if (b[i] !== LBRACK) continue;
        r = this.pidCpu(b, p, e, i);
        if (r >= 0) {
          this.bracketCol = i - s;
          break;
        }
      }
    }
    if (r < 0) {
      this.notEventLine(b, p, e);
      return;
    }
    // 2. the timestamp: `sec.frac:` (or `count:` for counter clocks)
    let t = this.timestamp(b, r, e);
    if (t < 0) return;
    this.eventLines++;
    // 3. the event name, up to ':' (or '+' / ' ' for trace_printk's symbolic ip)
    while (t < e && b[t] === SP) t++;
    const ns = t;
    if (ns < e) this.nameCol = ns - s;
    if (t < e && b[t] === LT) {
      if (startsWith(b, t, e, L_STACK)) this.openStack(b);
      else if (startsWith(b, t, e, L_USER_STACK)) this.openUserStack();
      else this.skipped++;
      if (swallowsEvent(b, t, e)) this.swallowedInStack();
      return;
    }
    while (t < e) {
      const c = b[t]!;
      if (c === COLON || c === SP || c === PLUS) break;
      t++;
    }
    const code = t < e && b[t] === COLON ? EVENTS.get(b, ns, t) : -1;
    if (code >= 0 && code < N_TRACED) {
      this.dmaEvent(b, t + 1, e, code, ns);
      return;
    }
    switch (code) {
      case X_MARK_WRITE:
        this.marker(b, t + 1, e, false);
        return;
      case X_FTRACE + FtraceRecord.Print:
      case X_FTRACE + FtraceRecord.BPrint:
      case X_FTRACE + FtraceRecord.BPuts:
        // trace-cmd report: the caller's symbol comes first
        this.marker(b, t + 1, e, true);
        return;
      case X_FTRACE + FtraceRecord.KernelStack: {
        let q = t + 1;
        while (q < e && b[q] === SP) q++;
        if (startsWith(b, q, e, L_STACK)) this.openStack(b);
        else this.skipped++;
        if (swallowsEvent(b, q, e)) this.swallowedInStack();
        return;
      }
      case X_FTRACE + FtraceRecord.UserStack:
        this.openUserStack();
        return;
    }
    // trace_printk prints its caller as the event name: a raw address
    // (`0xffffffffa000202a: text`) or, with sym-offset, `func+0x61/0xd2 [mod]: text`.
    if (t < e && (b[t] === PLUS || (t - ns > 2 && b[ns] === ZERO && b[ns + 1] === LOWER_X && b[t] === COLON))) {
      this.marker(b, this.afterColonSpace(b, t, e), e, false);
      return;
    }
    if (this.damagedName(b, ns, t, e)) {
      this.damaged(
        this.hCpu,
        this.keeps ? `unreadable event name '${b.toString('latin1', ns, Math.min(t, ns + 40))}'` : null,
      );
      return;
    }
    // another tracepoint's line (a dma/kmem line glued into it is lost)
    this.skipped++;
    this.foreign.mark(this.hCpu);
    if (swallowsEvent(b, t, e)) this.swallowed();
  }

  /**
   * Is the unknown event name b[ns, t) (ended by ':', ' ', or the line's end
   * at e) a dma/kmem name damaged, rather than another tracepoint's? It is when
   * it is missing, holds bytes no name has, or is a traced name (or one byte
   * off one; a prefix of one when the line ends in it) that lost its ':'. The
   * function tracer's `func <-caller` is not.
   */
  private damagedName(b: Buffer, ns: number, t: number, e: number): boolean {
    if (t === ns) return true;
    for (let i = ns; i < t; i++) {
      const c = b[i]!;
      if (c < 0x21 || c > 0x7e) return true;
    }
    if (t === e) return nearTracedName(b, ns, t, true);
    if (b[t] === SP) {
      let q = t;
      while (q < e && b[q] === SP) q++;
      if (q + 1 < e && b[q] === LT && b[q + 1] === DASH) return false;
    }
    return nearTracedName(b, ns, t, false);
  }

  /**
   * Checks that the '[' at i closes a `comm-PID [CPU]` header (a "(tgid)" column
   * may sit between). Sets hPid, hCpu and the comm span; returns the position
   * after ']' or -1.
   */
  private pidCpu(b: Buffer, p: number, e: number, i: number): number {
    let j = i - 1;
    while (j > p && b[j] === SP) j--;
    if (b[j] === RPAREN) {
      while (j > p && b[j] !== LPAREN) j--;
      j--;
      while (j > p && b[j] === SP) j--;
    }
    const pidEnd = j + 1;
    let pid = 0;
    let mul = 1;
    while (j > p) {
      const d = b[j]! - ZERO;
      if (d < 0 || d > 9) break;
      pid += d * mul;
      mul *= 10;
      j--;
    }
    // (the kernel prints pid_t, an int: 10 digits may be more, which is no pid)
    if (j + 1 === pidEnd || b[j] !== DASH || j <= p || pidEnd - j > 11) return -1;
    if (pidEnd - j === 11 && pid > 0x7fffffff) return -1;
    let k = i + 1;
    let cpu = 0;
    while (k < e) {
      const d = b[k]! - ZERO;
      if (d < 0 || d > 9) break;
      cpu = cpu * 10 + d;
      k++;
    }
    if (k === i + 1 || k >= e || b[k] !== RBRACK || k - i > 8) return -1;
    this.hPid = pid;
    this.hCpu = cpu;
    this.hCommStart = p;
    this.hCommEnd = j;
    return k + 1;
  }

  /**
   * Finds and reads the timestamp after the `task-pid [cpu]` header that ends
   * at r: the first token with a ':'. Tokens before it are columns (the
   * flags), which never hold one. Returns the position after its ':', or -1
   * when the line is damaged (then counted so).
   */
  private timestamp(b: Buffer, r: number, e: number): number {
    let t = r;
    for (;;) {
      while (t < e && b[t] === SP) t++;
      if (t >= e) {
        // a `task-pid [cpu]` header and nothing readable after it: cut or damaged
        this.damaged(this.hCpu, this.keeps ? 'expected a timestamp after the `task-pid [cpu]` header' : null);
        return -1;
      }
      // (the flags column never starts with a digit: its first is the irqs-off state)
      const d = b[t]! - ZERO;
      if (d >= 0 && d <= 9) {
        const q = this.scanTimestamp(b, t, e);
        if (q > 0) return q;
      }
      // a token with a ':' that is no timestamp is the timestamp, damaged (searching
      // on would take a payload's `0000:` for it)
      const ts = t;
      let colon = 0;
      for (; t < e; t++) {
        const c = b[t]!;
        if (c === SP) break;
        colon |= c === COLON ? 1 : 0;
      }
      if (colon !== 0) {
        this.damaged(
          this.hCpu,
          this.keeps ? `unreadable timestamp '${b.toString('latin1', ts, Math.min(t, ts + 40))}'` : null,
        );
        return -1;
      }
    }
  }

  /**
   * Parses `sec[.frac]: ` at t (the ':' ends the line or a space follows it);
   * returns the position after ':' or -1. Sets
   * tsSec/tsNs/tsDigits. A counter clock (x86-tsc, counter, ...) prints its
   * count as one u64 (`%llu`, up to 20 digits): it is kept exactly as
   * count div 10^9 and count mod 10^9, with tsDigits 0 (see DmaEvent.tsDigits).
   */
  private scanTimestamp(b: Buffer, t: number, e: number): number {
    let sec = 0;
    let q = t;
    while (q < e) {
      const d = b[q]! - ZERO;
      if (d < 0 || d > 9) break;
      sec = sec * 10 + d;
      q++;
    }
    const nd = q - t;
    if (nd === 0) return -1;
    let frac = 0;
    let fd = 0;
    if (q < e && b[q] === DOT) {
      q++;
      const fs = q;
      while (q < e) {
        const d = b[q]! - ZERO;
        if (d < 0 || d > 9) break;
        frac = frac * 10 + d;
        q++;
      }
      fd = q - fs;
      if (fd === 0 || fd > 9 || nd > 15) return -1;
    } else {
      return this.scanCount64(b, t, q, e);
    }
    if (q >= e || b[q] !== COLON || (q + 1 < e && b[q + 1] !== SP)) return -1;
    this.tsSec = sec;
    this.tsNs = frac * NS_SCALE[fd]!;
    this.tsDigits = fd;
    return q + 1;
  }

  /** A counter clock's `count:`, the digits b[t, q): at most a u64. */
  private scanCount64(b: Buffer, t: number, q: number, e: number): number {
    const nd = q - t;
    if (nd > 20 || q >= e || b[q] !== COLON || (q + 1 < e && b[q + 1] !== SP)) return -1;
    const split = Math.max(t, q - 9);
    let hi = 0;
    for (let i = t; i < split; i++) hi = hi * 10 + (b[i]! - ZERO);
    let lo = 0;
    for (let i = split; i < q; i++) lo = lo * 10 + (b[i]! - ZERO);
    // 2^64 - 1 = 18446744073 709551615
    if (hi > 18446744073 || (hi === 18446744073 && lo > 709551615)) return -1;
    this.tsSec = hi;
    this.tsNs = lo;
    this.tsDigits = 0;
    return q + 1;
  }

  private commId(b: Buffer): number {
    const s = this.hCommStart;
    const n = this.hCommEnd - s;
    if (n === this.lastCommLen) {
      const lc = this.lastComm;
      let i = 0;
      while (i < n && lc[i] === b[s + i]) i++;
      if (i === n) return this.lastCommId;
    }
    const id = this.names.comms.internBytes(b, s, s + n);
    if (n <= this.lastComm.length) {
      b.copy(this.lastComm, 0, s, s + n);
      this.lastCommLen = n;
      this.lastCommId = id;
    }
    return id;
  }

  /**
   * The device name b[s, e) interned; -1 (and err) when it holds a byte no
   * name has (bytes flipped, garbage). Names the cache knows were checked.
   */
  private deviceId(b: Buffer, s: number, e: number): number {
    if (b !== this.viewOf) {
      // the name cache reads four bytes at a time; one view per read buffer
      this.viewOf = b;
      this.view = new DataView(b.buffer, b.byteOffset, b.length);
    }
    const hit = this.devices.get(b, this.view, s, e);
    if (hit >= 0) return hit;
    for (let i = s; i < e; i++) {
      const c = b[i]!;
      if (c < 0x21 || c > 0x7e || c === EQ) {
        this.err = `unreadable device name '${b.toString('latin1', s, Math.min(e, s + 40))}'`;
        return -1;
      }
    }
    return this.devices.id(b, this.view, s, e);
  }

  private fillHeader(b: Buffer): void {
    const ev = this.ev;
    ev.line = this.lines;
    ev.tsSec = this.tsSec;
    ev.tsNs = this.tsNs;
    ev.tsDigits = this.tsDigits;
    ev.cpu = this.hCpu;
    ev.pid = this.hPid;
    ev.comm = this.commId(b);
    this.foreign.clear(this.hCpu);
  }

  // ---------------------------------------------------------------- markers and stacks

  /** The position after the first ':' at or after p that ends a token (followed by ' ' or the end). */
  private afterColonSpace(b: Buffer, p: number, e: number): number {
    while (p < e && !(b[p] === COLON && (p + 1 === e || b[p + 1] === SP))) p++;
    return p < e ? p + 1 : e;
  }

  /**
   * Marker text: the rest of the line from p. For trace-cmd's print/bprint the
   * caller's symbol comes first (`func: text`) and is dropped too.
   */
  private marker(b: Buffer, p: number, e: number, dropIp: boolean): void {
    let q = p;
    while (q < e && b[q] === SP) q++;
    if (dropIp) {
      // `sym: text`, `sym+0x1/0x2 [mod]: text` or `0xffffffffa000202a: text`
      let k = q;
      let spaces = 0;
      while (k < e && b[k] !== COLON) {
        if (b[k] === SP) {
          if (b[k + 1] !== LBRACK) break;
          spaces++;
        }
        k++;
      }
      if (k < e && k > q && spaces <= 1 && (k + 1 === e || b[k + 1] === SP)) {
        q = k + 1;
        while (q < e && b[q] === SP) q++;
      }
    }
    const ev = this.ev;
    ev.resetPayload();
    ev.kind = K.Marker;
    this.fillHeader(b);
    ev.text = q < e ? b.toString('utf8', q, e) : '';
    // `dmadebug record` marks driver unbinds in the trace: `dmadebug: unbind <device> <driver> <bus>`.
    if (ev.text.startsWith(UNBIND_MARKER)) {
      const [device, , bus] = ev.text.slice(UNBIND_MARKER.length).trim().split(/\s+/);
      if (device) {
        ev.kind = K.Unbind;
        ev.device = this.names.devices.intern(device);
        ev.text = bus ?? '';
      }
    }
    this.emit();
    if (swallowsEvent(b, q, e)) this.swallowed();
  }

  private openStack(b: Buffer): void {
    this.stackOpen = true;
    this.stackDropping = true;
    this.stkLen = 0;
    this.stkLine = this.lines;
    this.stkCpu = this.hCpu;
    this.stkPid = this.hPid;
    this.stkTsSec = this.tsSec;
    this.stkTsNs = this.tsNs;
    this.stkTsDigits = this.tsDigits;
    this.stkComm = this.commId(b);
    this.stkForeign = this.foreign.has(this.hCpu);
  }

  /** A stack header or frame line holds a dma/kmem line glued to it: the block ends there, and that event is lost. */
  private swallowedInStack(): void {
    if (this.stackOpen) this.flushStack();
    this.swallowed();
  }

  /** `<user stack trace>`: its frames are user addresses, of no use here; they are skipped as orphans. */
  private openUserStack(): void {
    this.skipped++;
  }

  /** ` => symbol+0x1d4/0x1e3 [mod]` (ftrace) or `=> symbol (ffffffff81234567)` (trace-cmd). */
  private frameLine(b: Buffer, p: number, e: number): void {
    if (swallowsEvent(b, p, e)) {
      if (!this.stackOpen) this.skipped++;
      this.swallowedInStack();
      return;
    }
    if (!this.stackOpen) {
      this.skipped++;
      return;
    }
    while (p < e && b[p] === SP) p++;
    while (e > p && b[e - 1] === SP) e--;
    if (p >= e) return;
    if (this.stackDropping) {
      for (const m of MACHINERY) if (startsWith(b, p, e, m)) return;
      this.stackDropping = false;
    }
    const need = this.stkLen + (e - p) + 1;
    if (need > MAX_STACK_BYTES) return;
    if (need > this.stkBuf.length) {
      let cap = this.stkBuf.length * 2;
      while (cap < need) cap *= 2;
      const nb = new Uint8Array(cap);
      nb.set(this.stkBuf.subarray(0, this.stkLen));
      this.stkBuf = nb;
    }
    if (this.stkLen > 0) this.stkBuf[this.stkLen++] = NL;
    b.copy(this.stkBuf, this.stkLen, p, e);
    this.stkLen += e - p;
  }

  private flushStack(): void {
    this.stackOpen = false;
    const ev = this.ev;
    ev.resetPayload();
    ev.kind = K.Stack;
    ev.line = this.stkLine;
    ev.tsSec = this.stkTsSec;
    ev.tsNs = this.stkTsNs;
    ev.tsDigits = this.stkTsDigits;
    ev.cpu = this.stkCpu;
    ev.pid = this.stkPid;
    ev.comm = this.stkComm;
    // another tracepoint's stack is no dma call's: it only says the last dma event of its CPU has none
    ev.stack = this.stkForeign ? -1 : this.names.stacks.internBytes(this.stkBuf, 0, this.stkLen);
    this.emit();
  }

  // ---------------------------------------------------------------- dma payloads

  /** Parses the payload of a dma:* or kmem event starting at p (just after the name's ':'). */
  private dmaEvent(b: Buffer, p: number, e: number, code: number, ns: number): void {
    const te = TRACED_EVENTS[code]!;
    const ev = this.ev;
    ev.resetPayload();
    const kind = te.kind;
    ev.kind = kind;
    this.err = '';
    if (!this.payload(b, p, e, kind, code)) {
      this.damaged(this.hCpu, this.keeps ? `${b.toString('latin1', ns, this.nameEnd(b, ns, e))}: ${this.err}` : null);
      return;
    }
    if (te.phys) ev.kind = kindOf(te, ev.attrs);
    // kernel evidence, once: which single-mapping events this kernel has
    if (this.facts.mapEvents === null) this.noteMapEvents(te);
    this.fillHeader(b);
    this.emit();
  }

  /** The first dma_map_phys/_page/_resource (or unmap) event tells the kernel generation. */
  private noteMapEvents(te: TracedEvent): void {
    if (te.mapEvents === null) return;
    this.facts.mapEvents = te.mapEvents;
    this.facts.mapEventsSource = `line ${this.lines}: ${te.name}`;
  }

  private nameEnd(b: Buffer, ns: number, e: number): number {
    let t = ns;
    while (t < e && b[t] !== COLON) t++;
    return t;
  }

  /**
   * Fills this.ev from `device key=value ...` of traced event `code`; false (and
   * this.err) when the line is bad. Keys come in the order the event's
   * format prints them: each is first compared with the key met at its place
   * on the event's last line (keyOrder), which spares the scan, hash and
   * lookup; any other token takes the general way, which learns it.
   */
  private payload(b: Buffer, p: number, e: number, kind: EventKind, code: number): boolean {
    const ev = this.ev;
    while (p < e && b[p] === SP) p++;
    let raw = false;
    if (kind !== K.PageFree || (p < e && b[p] === LBRACK)) {
      if (b[p] === LBRACK && startsWith(b, p, e, L_FAILED)) {
        // trace-cmd could not run the print format: raw `field=value` pairs follow.
        raw = true;
        p += L_FAILED.length;
      } else if (kind !== K.PageFree) {
        const ds = p;
        while (p < e && b[p] !== SP) p++;
        if (p === ds || b[ds - 1] !== SP) return this.fail('expected a device name after the event name');
        ev.device = this.deviceId(b, ds, p);
        if (ev.device < 0) return false;
      }
    }
    let seen = 0;
    /** Keys met, by their own index (seen also marks the keys they stand in for). */
    let met = 0;
    let dirVal = -1;
    const order = this.keyOrder;
    let place = code * KEY_PLACES;
    const places = place + KEY_PLACES;
    for (;;) {
      while (p < e && b[p] === SP) p++;
      if (p >= e) break;
      const ks = p;
      let key = place < places ? order[place]! : -1;
      if (key >= 0) {
        const kb = KEY_BYTES[key]!;
        const n = kb.length;
        if (p + n < e && b[p + n] === EQ && startsWith(b, p, e, kb)) {
          p += n;
        } else {
          key = -1;
        }
      }
      if (key < 0) {
        // the general way: up to '=' (or a bare token), then the key table
        while (p < e) {
          const c = b[p]!;
          if (c === EQ || c === SP) break;
          p++;
        }
        if (p < e && b[p] !== SP) {
          key = KEYS.get(b, ks, p);
          if (place < places) order[place] = key;
        }
      }
      if (p >= e || b[p] === SP) {
        // A bare token: only a `[NOTE]` such as ` [TRUNCATED]` (the sg layouts' %s). Anything
        // else (`task-pid`, `[001]`, `12.345678:`) is another line's header glued to this one.
        if (startsWith(b, ks, p, L_TRUNCATED)) ev.truncated = true;
        else if (!isBracketNote(b, ks, p)) {
          const tok = b.toString('latin1', ks, Math.min(p, ks + 40));
          return this.fail(
            p >= e
              ? `'${tok}' at the end of the line is no key=value (cut short?)`
              : `unexpected '${tok}' (glued to the next line?)`,
          );
        }
        continue;
      }
      place++;
      if (key >= 0) {
        if ((met & bit(key)) !== 0) return this.fail(`${KEY_NAMES[key]}= twice (glued to the next line?)`);
        met |= bit(key);
      } else if (!isKeyName(b, ks, p) || nearKey(b, ks, p)) {
        // a key of a newer kernel is skipped; one with bytes no key has, or a known one mangled, is damage
        return this.fail(`unreadable key '${b.toString('latin1', ks, Math.min(p, ks + 40))}='`);
      }
      p++;
      let q: number;
      switch (key) {
        case K_DIR:
          q = this.scanDir(b, p, e);
          dirVal = this.vNum;
          break;
        case K_DMA_ADDR:
        case K_ADDR:
          q = this.scanAddr(b, p, e, raw, key === K_ADDR ? 'addr' : 'dma_addr');
          if (key === K_ADDR) seen |= bit(K_DMA_ADDR);
          ev.addrHi = this.vHi;
          ev.addrLo = this.vLo;
          break;
        case K_PHYS_ADDR:
          q = this.scanAddr(b, p, e, raw, 'phys_addr');
          ev.physHi = this.vHi;
          ev.physLo = this.vLo;
          ev.hasPhys = true;
          break;
        case K_SIZE:
          q = this.scanSizeValue(b, p, e, raw, 'size');
          ev.size = this.vNum;
          break;
        case K_ATTRS:
          q = this.scanAttrs(b, p, e);
          ev.attrs = this.vNum;
          break;
        case K_VIRT_ADDR:
          q = this.scanVirt(b, p, e);
          break;
        case K_NENTS:
        case K_FULL_NENTS:
          q = this.scanCount(b, p, e, key === K_NENTS ? 'nents' : 'full_nents');
          ev.nents = this.vNum;
          break;
        case K_ENTS:
        case K_FULL_ENTS:
          q = this.scanCount(b, p, e, key === K_ENTS ? 'ents' : 'full_ents');
          ev.ents = this.vNum;
          break;
        case K_DMA_ADDRS:
          // dma_map_sg_err prints the physical addresses under the label dma_addrs.
          if (kind === K.MapSgErr) {
            q = this.scanAddrList(b, p, e, ev.sgPhys, 'dma_addrs');
            seen |= bit(K_PHYS_ADDRS);
          } else {
            q = this.scanAddrList(b, p, e, ev.sgDma, 'dma_addrs');
          }
          break;
        case K_PHYS_ADDRS:
        case K_ADDRS:
          q = this.scanAddrList(b, p, e, ev.sgPhys, key === K_ADDRS ? 'addrs' : 'phys_addrs');
          seen |= bit(K_PHYS_ADDRS);
          break;
        case K_SIZES:
        case K_LENGTHS:
          q = this.scanSizeList(b, p, e, ev.sgLen, key === K_SIZES ? 'sizes' : 'lengths');
          seen |= bit(K_SIZES);
          break;
        case K_ERR:
          q = this.scanSigned(b, p, e);
          ev.err = this.vNum;
          if (q < 0) this.err = 'expected a decimal number after err=';
          break;
        case K_PFN:
          q = this.scanAddr(b, p, e, raw, 'pfn');
          ev.pfnHi = this.vHi;
          ev.pfnLo = this.vLo;
          break;
        case K_ORDER:
          q = this.scanSizeValue(b, p, e, raw, 'order');
          ev.order = this.vNum;
          break;
        case K_DEVICE:
          q = p;
          while (q < e && b[q] !== SP) q++;
          if (q === p) {
            this.err = 'expected a device name after device=';
            q = -1;
          } else {
            ev.device = this.deviceId(b, p, q);
            if (ev.device < 0) q = -1;
          }
          break;
        case K_TRUNCATED:
          q = this.scanSizeValue(b, p, e, raw, 'truncated');
          if (this.vNum !== 0) ev.truncated = true;
          break;
        default:
          q = this.skipValue(b, p, e);
          break;
      }
      if (q < 0) return false;
      if (q < e && b[q] !== SP) {
        return this.fail(
          `unexpected '${String.fromCharCode(b[q]!)}' in the value of ${b.toString('latin1', ks, p - 1)}=`,
        );
      }
      if (key >= 0) seen |= bit(key);
      p = q;
    }

    // Required keys. attrs= comes last where every layout prints it, and
    // mm_page_free prints order= last (only trace-cmd's raw batched form has none):
    // a line without them was cut short.
    let need = NEED[kind]!;
    if (kind === K.PageFree && !raw) need |= bit(K_ORDER);
    const missing = need & ~seen;
    if (missing !== 0) {
      const k = 31 - Math.clz32(missing & -missing);
      return this.fail(
        this.strict
          ? `expected ${KEY_NAMES[k]}= (the last line has no newline: cut short?)`
          : `expected ${KEY_NAMES[k]}=`,
      );
    }

    // Direction. Coherent allocations are bidirectional whatever a garbage dir says.
    if (dirVal >= 0) {
      if (dirVal <= 3) {
        ev.dir = dirVal as Dir;
        ev.hasDir = true;
      } else if (!ALLOC_FAMILY.has(kind)) {
        return this.fail('expected dir= BIDIRECTIONAL, TO_DEVICE, FROM_DEVICE, NONE or 0..3');
      }
    }

    // Counts the early sg layouts do not print.
    if (kind === K.MapSg) {
      if ((seen & (bit(K_NENTS) | bit(K_FULL_NENTS))) === 0) ev.nents = ev.sgPhys.count;
      if ((seen & (bit(K_ENTS) | bit(K_FULL_ENTS))) === 0) ev.ents = ev.sgDma.count;
    } else if (kind === K.UnmapSg || kind === K.MapSgErr || kind === K.AllocSgt || kind === K.FreeSgt) {
      ev.nents = ev.sgPhys.count;
    } else if (kind === K.SyncSgForCpu || kind === K.SyncSgForDevice) {
      ev.nents = ev.sgDma.count;
    }
    return true;
  }

  private fail(msg: string): false {
    this.err = msg;
    return false;
  }

  // ---------------------------------------------------------------- values
  // Each scanner starts at the first byte of a value, leaves its result in
  // vHi/vLo or vNum, and returns the position after it, or -1 with this.err.

  /**
   * Hex digits (optional 0x) into vHi/vLo. Stops at the first non-hex byte.
   * More than 16 significant digits is an error (-1, err left to the caller).
   */
  private scanHex(b: Buffer, p: number, e: number): number {
    if (p + 1 < e && b[p] === ZERO && (b[p + 1] === LOWER_X || b[p + 1] === 0x58)) p += 2;
    const ds = p;
    let hi = 0;
    let lo = 0;
    let sig = 0;
    while (p < e) {
      const d = HEXV[b[p]!]!;
      if (d < 0) break;
      if (sig > 0 || d !== 0) {
        sig++;
        hi = ((hi << 4) | (lo >>> 28)) >>> 0;
        lo = ((lo << 4) | d) >>> 0;
      }
      p++;
    }
    if (p === ds || sig > 16) return -1;
    this.vHi = hi;
    this.vLo = lo;
    return p;
  }

  /** Decimal digits into vHi/vLo (64-bit, exact). -1 when empty or above 2^64-1. */
  private scanDec64(b: Buffer, p: number, e: number): number {
    const ds = p;
    let hi = 0;
    let lo = 0;
    while (p < e) {
      const d = b[p]! - ZERO;
      if (d < 0 || d > 9) break;
      const l = lo * 10 + d;
      const carry = Math.floor(l / TWO32);
      lo = l - carry * TWO32;
      hi = hi * 10 + carry;
      if (hi >= TWO32) return -1;
      p++;
    }
    if (p === ds) return -1;
    this.vHi = hi;
    this.vLo = lo;
    return p;
  }

  /** Decimal digits into vNum; -1 when empty or not below 2^53. */
  private scanDec(b: Buffer, p: number, e: number): number {
    const ds = p;
    let v = 0;
    while (p < e) {
      const d = b[p]! - ZERO;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      p++;
    }
    if (p === ds || p - ds > 16 || v > Number.MAX_SAFE_INTEGER) return -1;
    this.vNum = v;
    return p;
  }

  /** Optionally negative decimal into vNum. */
  private scanSigned(b: Buffer, p: number, e: number): number {
    const neg = p < e && b[p] === DASH;
    const q = this.scanDec(b, neg ? p + 1 : p, e);
    if (q >= 0 && neg) this.vNum = -this.vNum;
    return q;
  }

  /** A number that is decimal, or hex with 0x, into vNum (< 2^53). */
  private scanNumber(b: Buffer, p: number, e: number): number {
    if (p + 1 < e && b[p] === ZERO && b[p + 1] === LOWER_X) {
      const q = this.scanHex(b, p, e);
      if (q < 0 || this.vHi >= 0x200000) return -1;
      this.vNum = this.vHi * TWO32 + this.vLo;
      return q;
    }
    return this.scanDec(b, p, e);
  }

  /** An address value: hex (ftrace prints %llx), or decimal-unless-0x in trace-cmd's raw fields. */
  private scanAddr(b: Buffer, p: number, e: number, raw: boolean, key: string): number {
    const q =
      raw && !(p + 1 < e && b[p] === ZERO && b[p + 1] === LOWER_X) ? this.scanDec64(b, p, e) : this.scanHex(b, p, e);
    if (q < 0) this.err = `expected a 64-bit hex number after ${key}=`;
    return q;
  }

  /** A size or count: decimal (or 0x hex in raw fields), below 2^53. */
  private scanSizeValue(b: Buffer, p: number, e: number, raw: boolean, key: string): number {
    const q = raw ? this.scanNumber(b, p, e) : this.scanDec(b, p, e);
    if (q < 0) this.err = `expected a decimal number below 2^53 after ${key}=`;
    return q;
  }

  /** `nents=3/3` (capped/full: keep the full count), or a plain count. */
  private scanCount(b: Buffer, p: number, e: number, key: string): number {
    let q = this.scanDec(b, p, e);
    if (q >= 0 && q < e && b[q] === SLASH) q = this.scanDec(b, q + 1, e);
    if (q < 0) this.err = `expected a count like 3/3 after ${key}=`;
    return q;
  }

  /** dir: symbolic, or the raw enum. vNum = 0..3, or 99 for a number out of range. */
  private scanDir(b: Buffer, p: number, e: number): number {
    const c = b[p];
    let lit: Uint8Array | null = null;
    let v = 0;
    if (c === 0x42 /* B */) lit = L_BIDIRECTIONAL;
    else if (c === 0x54 /* T */) {
      lit = L_TO_DEVICE;
      v = 1;
    } else if (c === 0x46 /* F */) {
      lit = L_FROM_DEVICE;
      v = 2;
    } else if (c === 0x4e /* N */) {
      lit = L_NONE;
      v = 3;
    }
    if (lit !== null) {
      const q = p + lit.length;
      if (startsWith(b, p, e, lit) && (q === e || b[q] === SP)) {
        this.vNum = v;
        return q;
      }
    } else if (c !== undefined && c >= ZERO && c <= 0x39) {
      let q = p;
      while (q < e && b[q] !== SP) q++;
      if (this.scanNumber(b, p, q) === q) {
        if (this.vNum > 3) this.vNum = 99;
        return q;
      }
    }
    this.err = 'expected dir= BIDIRECTIONAL, TO_DEVICE, FROM_DEVICE, NONE or 0..3';
    return -1;
  }

  /** attrs: empty, `A|B` names (optionally DMA_ATTR_-prefixed), numbers, or a mix. */
  private scanAttrs(b: Buffer, p: number, e: number): number {
    let mask = 0;
    let q = p;
    while (q < e && b[q] !== SP) {
      const c = b[q]!;
      if (c >= ZERO && c <= 0x39) {
        const r = this.scanHexOrDecLow(b, q, e);
        if (r < 0) {
          this.err = 'expected attribute names or a number after attrs=';
          return -1;
        }
        mask |= this.vNum;
        q = r;
      } else {
        if (startsWith(b, q, e, L_DMA_ATTR_)) q += L_DMA_ATTR_.length;
        const s = q;
        while (q < e) {
          const ch = b[q]!;
          if (ch === PIPE || ch === SP) break;
          q++;
        }
        const v = ATTRS.get(b, s, q);
        if (v >= 0) mask |= v;
        else if (this.strict) {
          this.err = `unknown attribute ${b.toString('latin1', s, q)} (the last line has no newline: cut short?)`;
          return -1;
        } else if (!newAttrName(b, s, q)) {
          this.err = `unreadable attribute '${b.toString('latin1', s, Math.min(q, s + 40))}' in attrs=`;
          return -1;
        }
        // Otherwise an attribute newer than this parser: ignore it.
      }
      if (q < e && b[q] === PIPE) {
        q++;
        if (q === e || b[q] === SP) {
          this.err = 'attrs= ends with | (cut short?)';
          return -1;
        }
      } else if (q < e && b[q] !== SP) {
        this.err = 'expected attribute names separated by | after attrs=';
        return -1;
      }
    }
    this.vNum = mask >>> 0;
    return q;
  }

  /** A raw attribute mask (0x hex or decimal); vNum = its low 32 bits. */
  private scanHexOrDecLow(b: Buffer, p: number, e: number): number {
    let q: number;
    if (p + 1 < e && b[p] === ZERO && b[p + 1] === LOWER_X) q = this.scanHex(b, p, e);
    else q = this.scanDec64(b, p, e);
    if (q < 0) return -1;
    this.vNum = this.vLo;
    return q;
  }

  /**
   * virt_addr=%p: the kernel's hashed hex (16 digits, no 0x), a raw pointer
   * with 0x (`trace-cmd report` prints %p with glibc, and raw fields as 0x
   * hex), `(null)` / `(nil)`, or `(____ptrval____)` (unknown).
   */
  private scanVirt(b: Buffer, p: number, e: number): number {
    const ev = this.ev;
    if (b[p] === LPAREN) {
      const nul = startsWith(b, p, e, L_NULL) ? L_NULL : startsWith(b, p, e, L_NIL) ? L_NIL : null;
      if (nul !== null) {
        ev.hasVirt = true;
        ev.virtHi = 0;
        ev.virtLo = 0;
        return p + nul.length;
      }
      if (startsWith(b, p, e, L_PTRVAL)) {
        ev.hasVirt = false;
        return p + L_PTRVAL.length;
      }
    }
    const q = this.scanHex(b, p, e);
    if (q < 0) {
      this.err = 'expected a hex pointer after virt_addr=';
      return -1;
    }
    ev.hasVirt = true;
    ev.virtRaw = b[p] === ZERO && b[p + 1] === LOWER_X;
    ev.virtHi = this.vHi;
    ev.virtLo = this.vLo;
    return q;
  }

  /** `{0x1000,0x2000}`, `{}`, or trace-cmd's `ARRAY[00, 10, ...]` (u64 little-endian items). */
  private scanAddrList(b: Buffer, p: number, e: number, list: AddrList, key: string): number {
    list.clear();
    if (b[p] === LBRACE) {
      let q = p + 1;
      if (q < e && b[q] === RBRACE) return q + 1;
      for (;;) {
        q = this.scanHex(b, q, e);
        if (q < 0) break;
        list.push(this.vHi, this.vLo);
        const c = b[q];
        if (c === COMMA) q++;
        else if (c === RBRACE) return q + 1;
        else break;
      }
      this.err = `expected {hex,...} after ${key}=`;
      return -1;
    }
    if (startsWith(b, p, e, L_ARRAY)) return this.scanRawArray(b, p + L_ARRAY.length, e, 8, list, null, key);
    this.err = `expected {hex,...} after ${key}=`;
    return -1;
  }

  /** `{0x200,0x1000}` (items hex or decimal), or `ARRAY[...]` of u32 little-endian items. */
  private scanSizeList(b: Buffer, p: number, e: number, list: SizeList, key: string): number {
    list.clear();
    if (b[p] === LBRACE) {
      let q = p + 1;
      if (q < e && b[q] === RBRACE) return q + 1;
      for (;;) {
        q = this.scanNumber(b, q, e);
        if (q < 0) break;
        list.push(this.vNum);
        const c = b[q];
        if (c === COMMA) q++;
        else if (c === RBRACE) return q + 1;
        else break;
      }
      this.err = `expected {number,...} below 2^53 after ${key}=`;
      return -1;
    }
    if (startsWith(b, p, e, L_ARRAY)) return this.scanRawArray(b, p + L_ARRAY.length, e, 4, null, list, key);
    this.err = `expected {number,...} after ${key}=`;
    return -1;
  }

  /** The bytes of `ARRAY[80, a6, 21, 0b, 00, 00, 00, 00]` after `ARRAY[`, grouped into width-byte LE items. */
  private scanRawArray(
    b: Buffer,
    p: number,
    e: number,
    width: number,
    addrs: AddrList | null,
    sizes: SizeList | null,
    key: string,
  ): number {
    let q = p;
    let k = 0;
    let hi = 0;
    let lo = 0;
    if (q < e && b[q] === RBRACK) return q + 1;
    for (;;) {
      const d1 = q < e ? HEXV[b[q]!]! : -1;
      const d2 = q + 1 < e ? HEXV[b[q + 1]!]! : -1;
      if (d1 < 0 || d2 < 0) break;
      const byte = (d1 << 4) | d2;
      q += 2;
      if (k < 4) lo = (lo | (byte << (8 * k))) >>> 0;
      else hi = (hi | (byte << (8 * (k - 4)))) >>> 0;
      k++;
      if (k === width) {
        if (addrs !== null) addrs.push(hi, lo);
        else if (sizes !== null) sizes.push(lo);
        k = 0;
        hi = 0;
        lo = 0;
      }
      const c = b[q];
      if (c === COMMA) {
        q++;
        while (q < e && b[q] === SP) q++;
      } else if (c === RBRACK) {
        if (k !== 0) break;
        return q + 1;
      } else break;
    }
    this.err = `expected ARRAY[..] of ${width}-byte items after ${key}=`;
    return -1;
  }

  /** Skips the value of a key this parser does not use. */
  private skipValue(b: Buffer, p: number, e: number): number {
    let q = p;
    if (startsWith(b, q, e, L_ARRAY)) {
      while (q < e && b[q] !== RBRACK) q++;
      return q < e ? q + 1 : q;
    }
    if (q < e && b[q] === LBRACE) {
      while (q < e && b[q] !== RBRACE) q++;
      return q < e ? q + 1 : q;
    }
    while (q < e && b[q] !== SP) q++;
    return q;
  }
}
