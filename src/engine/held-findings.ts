// Findings between the check that made them and their release by the gate
// (gate.ts), kept in compact form. The gate may hold a finding to the end of
// the input: in a text trace where some CPU never shows an event, every proven
// error waits for that CPU. As objects (the Finding, its two places, the
// mapping snapshot and their strings: 0.5-1 KB and a dozen heap objects
// each), 2 M held errors peaked at 1.3 GB, the garbage collector copied and
// marked them over and over, and a few million more would have passed V8's
// heap limit. Here a held finding is a row of numbers in typed arrays, the
// snapshot of the mapping it is about in a second row (only findings about a
// mapping have one), and its message and note as UTF-8 bytes: about 70 bytes
// plus its text (80 more with a mapping), nothing for the collector to trace.
// It becomes a Finding when the gate lets it out (take()).
//
// Rows live in pages of 4096, used first in, first out: the gate lets
// findings out in the order they were made. A finding's id is its sequence
// number (page id / 4096, row id % 4096). While its page fills, a finding
// keeps its message and note as they are (most findings are let out soon
// after they are made: encoding every text to bytes and back cost more than
// the rest); once the page is full, the texts of the findings still held are
// packed into one byte array of the page's. A page whose findings are all out
// is dropped, so memory follows what is held, with no copy as it grows. The
// strings a row names (check id, driver, the kernel-false-positive reason) are
// the same few values over and over: rows hold their index in a table.

import type { Names } from '../base/interner.js';
import { addr, CHECKS, type CheckId, pa } from './catalogue.js';
import { tsString } from './coverage.js';
import type { EntryTable } from './entries.js';
import type { DmaEvent } from './events.js';
import type { EventRef, Finding, InputPositions, MappingInfo, Severity } from './findings.js';
import { DIR_NAMES, TYPE_NAMES } from './model.js';

const PAGE_ROWS = 4096;

// A row's ints (I a row)
const I_FLAGS = 0;
const I_CHECK = 1;
const I_DRIVER = 2;
const I_FALSE_POSITIVE = 3;
const I_DEV = 4;
const I_CPU = 5;
const I_COMM = 6;
const I_NS = 7;
const I_CALL_STACK = 8;
/** Once its page is packed: where its texts begin in the page's bytes, the message's and the note's lengths (-1: no note). */
const I_TEXT = 9;
const I_MSG_LEN = 10;
const I_NOTE_LEN = 11;
const I_PID = 12;
const I = 13;
// a row's doubles (D a row): line or byte offset, seconds
const D_LINE = 0;
const D_SEC = 1;
const D = 2;
// the mapping's snapshot: ints (MI a row), doubles (MD a row)
const M_TYPE = 0;
const M_DIR = 1;
const M_DMA_HI = 2;
const M_DMA_LO = 3;
const M_PHYS_HI = 4;
const M_PHYS_LO = 5;
const M_SG_CALL = 6;
const M_SG_MAPPED = 7;
const M_CPU = 8;
const M_PID = 9;
const M_COMM = 10;
const M_STACK = 11;
const M_NS = 12;
const M_DIGITS = 13;
const MI = 14;
const MD_LINE = 0;
const MD_SEC = 1;
const MD_SIZE = 2;
const MD = 3;

// I_FLAGS: bits, then the severity (2 bits), the positions (2), the event's digits (4)
const F_BARE = 1;
const F_SHOWN = 2;
/** Made by an event (else: a library call, or after the input). */
const F_EVENT = 4;
const F_MAPPING = 8;
const F_M_PHYS_KNOWN = 16;
/** The mapping's time is known (its line or its time is set). */
const F_M_TS = 32;
/** The message or note is in `odd` (not well-formed UTF-16 when packed, or replaced after the fact). */
const F_ODD_MSG = 64;
const F_ODD_NOTE = 128;
const SEVERITY_SHIFT = 8;
const POSITIONS_SHIFT = 10;
const DIGITS_SHIFT = 12;

/** By their code in I_FLAGS (put() writes these codes). */
const SEVERITIES: readonly Severity[] = ['error', 'unconfirmed', 'info'];
const POSITIONS: readonly InputPositions[] = ['line', 'file', 'cpu-data'];
const CHECK_IDS = Object.keys(CHECKS) as CheckId[];
const CHECK_INDEX = new Map(CHECK_IDS.map((c, i) => [c, i]));

const FIRST_TEXT = 16384;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

class Page {
  readonly ints = new Int32Array(PAGE_ROWS * I);
  readonly nums = new Float64Array(PAGE_ROWS * D);
  /** The mapping snapshots, made at the page's first finding about a mapping. */
  mInts: Int32Array | null = null;
  mNums: Float64Array | null = null;
  /** While it fills: each row's message and note (2 × row, 2 × row + 1); null once packed. */
  strs: Array<string | null> | null = new Array(PAGE_ROWS * 2).fill(null);
  /** Once packed: the held rows' texts. */
  text: Uint8Array | null = null;

  get bytes(): number {
    const arrays = this.ints.byteLength + this.nums.byteLength + (this.mInts?.byteLength ?? 0);
    return (
      arrays + (this.mNums?.byteLength ?? 0) + (this.strs ? this.strs.length * 8 : 0) + (this.text?.byteLength ?? 0)
    );
  }
}

/** A few distinct strings (or null), by index. */
class SmallTable {
  private readonly values: Array<string | null> = [null];
  private readonly index = new Map<string, number>();
  of(s: string | null): number {
    if (s === null) return 0;
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.values.length;
      this.values.push(s);
      this.index.set(s, i);
    }
    return i;
  }
  at(i: number): string | null {
    return this.values[i]!;
  }
}

export class HeldFindings {
  /** Pages of ids [firstPage << 12, next), oldest first. */
  private readonly pages: Page[] = [];
  private firstPage = 0;
  /** Ids [head, next) are held. */
  private head = 0;
  private next = 0;
  /** An emptied page, kept for the next one (findings let out at once would make a page every 4096). */
  private spare: Page | null = null;
  private readonly drivers = new SmallTable();
  private readonly falsePositives = new SmallTable();
  /** Texts not kept as bytes, by id * 2 (message) and id * 2 + 1 (note). */
  private readonly odd = new Map<number, string>();
  /** Where mappingNow() takes its snapshot. */
  private readonly scratch = { ints: new Int32Array(MI), nums: new Float64Array(MD) };

  /** How many findings are held. */
  get size(): number {
    return this.next - this.head;
  }

  /** Bytes of the pages (the spare too). */
  get bytes(): number {
    let n = this.spare?.bytes ?? 0;
    for (const p of this.pages) n += p.bytes;
    return n;
  }

  /**
   * Keeps a finding made now: by `ev` (null: by no event), about entry `e`
   * (-1: none), whose snapshot is taken now. Returns its id.
   */
  put(
    check: CheckId,
    severity: Severity,
    message: string,
    dev: number,
    driver: string | null,
    bare: boolean,
    note: string | null,
    shown: boolean,
    falsePositive: string | null,
    positions: InputPositions,
    ev: DmaEvent | null,
    t: EntryTable,
    e: number,
    mappedDigits: number,
  ): number {
    const id = this.next;
    const row = id & (PAGE_ROWS - 1);
    if (row === 0) this.addPage();
    const page = this.pages[this.pages.length - 1]!;
    const ints = page.ints;
    const io = row * I;
    let flags =
      (bare ? F_BARE : 0) |
      (shown ? F_SHOWN : 0) |
      ((severity === 'error' ? 0 : severity === 'unconfirmed' ? 1 : 2) << SEVERITY_SHIFT) |
      ((positions === 'line' ? 0 : positions === 'file' ? 1 : 2) << POSITIONS_SHIFT);
    ints[io + I_CHECK] = CHECK_INDEX.get(check)!;
    ints[io + I_DRIVER] = this.drivers.of(driver);
    ints[io + I_FALSE_POSITIVE] = this.falsePositives.of(falsePositive);
    ints[io + I_DEV] = dev;
    ints[io + I_CALL_STACK] = -1;
    if (ev !== null) {
      flags |= F_EVENT | (ev.tsDigits << DIGITS_SHIFT);
      page.nums[row * D + D_LINE] = ev.line;
      page.nums[row * D + D_SEC] = ev.tsSec;
      ints[io + I_NS] = ev.tsNs;
      ints[io + I_CPU] = ev.cpu;
      ints[io + I_PID] = ev.pid;
      ints[io + I_COMM] = ev.comm;
    }
    if (e >= 0) {
      page.mInts ??= new Int32Array(PAGE_ROWS * MI);
      page.mNums ??= new Float64Array(PAGE_ROWS * MD);
      flags |= F_MAPPING | writeMapping(page.mInts, row * MI, page.mNums, row * MD, t, e, mappedDigits);
    }
    page.strs![row * 2] = message;
    page.strs![row * 2 + 1] = note;
    ints[io + I_FLAGS] = flags;
    this.next = id + 1;
    if (row === PAGE_ROWS - 1) this.pack(page, id - row);
    return id;
  }

  /** A held finding turns unconfirmed, with this note (a late loss notice concerns it). */
  downgrade(id: number, note: string): void {
    const ints = this.pageOf(id).ints;
    const io = (id & (PAGE_ROWS - 1)) * I;
    const f = ints[io + I_FLAGS]!;
    ints[io + I_FLAGS] = (f & ~(3 << SEVERITY_SHIFT)) | (1 << SEVERITY_SHIFT) | F_ODD_NOTE;
    this.odd.set(id * 2 + 1, note);
  }

  /** The stack (interned) of the call that made a held finding came. */
  setCallStack(id: number, stack: number): void {
    this.pageOf(id).ints[(id & (PAGE_ROWS - 1)) * I + I_CALL_STACK] = stack;
  }

  /**
   * The oldest held finding (`id`: the gate lets them out in order), as the
   * Finding the sink gets; it is no longer held.
   */
  take(id: number, names: Names): Finding {
    if (id !== this.head || id === this.next)
      throw new Error(`held finding ${id} taken out of order (next: ${this.head})`);
    const page = this.pages[0]!;
    const row = id & (PAGE_ROWS - 1);
    const ints = page.ints;
    const io = row * I;
    const flags = ints[io + I_FLAGS]!;
    const positions = POSITIONS[(flags >>> POSITIONS_SHIFT) & 3]!;
    const dev = ints[io + I_DEV]!;
    const callStack = ints[io + I_CALL_STACK]!;
    const frames = callStack >= 0 ? names.stacks.name(callStack).split('\n') : null;
    const comm = ints[io + I_COMM]!;
    const at: EventRef =
      (flags & F_EVENT) !== 0
        ? {
            line: page.nums[row * D + D_LINE]!,
            positions,
            ts: tsString(page.nums[row * D + D_SEC]!, ints[io + I_NS]!, (flags >>> DIGITS_SHIFT) & 15),
            cpu: ints[io + I_CPU]!,
            pid: ints[io + I_PID]!,
            comm: comm >= 0 ? names.comms.name(comm) : '',
          }
        : { line: 0, positions, ts: '', cpu: 0, pid: 0, comm: '' };
    const mapping =
      (flags & F_MAPPING) !== 0
        ? mappingOf(page.mInts!, row * MI, page.mNums!, row * MD, flags, names, positions)
        : null;
    // a map that fails a check: its mapping was made by the same call, whose stack came after the snapshot
    if (mapping !== null && mapping.stack === null && frames !== null && at.line > 0) {
      if (mapping.mappedAt.line === at.line && mapping.mappedAt.cpu === at.cpu) mapping.stack = frames;
    }
    let message: string;
    let note: string | null;
    const strs = page.strs;
    if (strs !== null) {
      message = strs[row * 2]!;
      note = strs[row * 2 + 1]!;
      strs[row * 2] = null;
      strs[row * 2 + 1] = null;
    } else {
      const text = ints[io + I_TEXT]!;
      const msgLen = ints[io + I_MSG_LEN]!;
      const noteLen = ints[io + I_NOTE_LEN]!;
      message = (flags & F_ODD_MSG) !== 0 ? this.odd.get(id * 2)! : decode(page.text!, text, msgLen);
      note = noteLen < 0 ? null : decode(page.text!, text + msgLen, noteLen);
    }
    if ((flags & F_ODD_NOTE) !== 0) note = this.odd.get(id * 2 + 1)!;
    if ((flags & (F_ODD_MSG | F_ODD_NOTE)) !== 0) {
      this.odd.delete(id * 2);
      this.odd.delete(id * 2 + 1);
    }
    const f: Finding = {
      check: CHECK_IDS[ints[io + I_CHECK]!]!,
      severity: SEVERITIES[(flags >>> SEVERITY_SHIFT) & 3]!,
      message,
      device: dev >= 0 ? names.devices.name(dev) : null,
      driver: this.drivers.at(ints[io + I_DRIVER]!),
      bare: (flags & F_BARE) !== 0,
      at,
      stack: frames,
      mapping,
      note,
      shown: (flags & F_SHOWN) !== 0,
      kernelFalsePositive: this.falsePositives.at(ints[io + I_FALSE_POSITIVE]!),
    };
    this.head = id + 1;
    if (row === PAGE_ROWS - 1) this.dropFirstPage();
    return f;
  }

  /** A snapshot of entry e now (the dump's): the same as a finding about it would carry. */
  mappingNow(t: EntryTable, e: number, digits: number, names: Names, positions: InputPositions): MappingInfo {
    const { ints, nums } = this.scratch;
    return mappingOf(ints, 0, nums, 0, writeMapping(ints, 0, nums, 0, t, e, digits), names, positions);
  }

  private pageOf(id: number): Page {
    return this.pages[Math.floor(id / PAGE_ROWS) - this.firstPage]!;
  }

  private addPage(): void {
    if (this.pages.length === 0) this.firstPage = Math.floor(this.next / PAGE_ROWS);
    let page = this.spare;
    this.spare = null;
    if (page === null) page = new Page();
    else {
      page.strs ??= new Array(PAGE_ROWS * 2).fill(null);
      page.text = null;
    }
    this.pages.push(page);
  }

  /** The oldest page's findings are all out: it goes (kept as the spare when there is none). */
  private dropFirstPage(): void {
    const page = this.pages.shift()!;
    this.firstPage++;
    this.spare ??= page;
  }

  /**
   * The page is full: the texts of its findings still held (from id `first`
   * on, its row 0) go into one byte array, exactly as long as they are.
   */
  private pack(page: Page, first: number): void {
    const strs = page.strs!;
    let at = 0;
    for (let id = Math.max(first, this.head); id < first + PAGE_ROWS; id++) {
      const row = id - first;
      const io = row * I;
      page.ints[io + I_TEXT] = at;
      let len = this.encode(strs[row * 2]!, at);
      if (len < 0) {
        page.ints[io + I_FLAGS] = page.ints[io + I_FLAGS]! | F_ODD_MSG;
        this.odd.set(id * 2, strs[row * 2]!);
        len = 0;
      }
      page.ints[io + I_MSG_LEN] = len;
      at += len;
      const note = strs[row * 2 + 1]!;
      if (note === null) len = -1;
      else {
        len = this.encode(note, at);
        if (len < 0) {
          page.ints[io + I_FLAGS] = page.ints[io + I_FLAGS]! | F_ODD_NOTE;
          if (!this.odd.has(id * 2 + 1)) this.odd.set(id * 2 + 1, note); // (a downgrade's note stays)
          len = 0;
        }
      }
      page.ints[io + I_NOTE_LEN] = len;
      at += Math.max(len, 0);
    }
    page.text = this.scratchText.slice(0, at);
    page.strs = null;
  }

  /** Where pack() encodes (kept: it is as big as the most one page's texts took). */
  private scratchText = new Uint8Array(FIRST_TEXT);

  /** s as UTF-8 into scratchText at `at`; its length in bytes, or -1 when s is not well-formed UTF-16. */
  private encode(s: string, at: number): number {
    if (!(s as string & { isWellFormed(): boolean }).isWellFormed()) return -1; // (ES2024; Node 20 has it)
    const most = s.length * 3;
    if (at + most > this.scratchText.length) {
      let size = this.scratchText.length * 2;
      while (at + most > size) size *= 2;
      const bigger = new Uint8Array(size);
      bigger.set(this.scratchText.subarray(0, at));
      this.scratchText = bigger;
    }
    return encoder.encodeInto(s, this.scratchText.subarray(at)).written;
  }
}

/** Writes entry e's snapshot at ints[io], nums[no]; returns its flags. */
function writeMapping(
  ints: Int32Array,
  io: number,
  nums: Float64Array,
  no: number,
  t: EntryTable,
  e: number,
  digits: number,
): number {
  ints[io + M_TYPE] = t.type(e);
  ints[io + M_DIR] = t.dir(e);
  ints[io + M_DMA_HI] = t.dmaHi(e);
  ints[io + M_DMA_LO] = t.dmaLo(e);
  ints[io + M_PHYS_HI] = t.physHi(e);
  ints[io + M_PHYS_LO] = t.physLo(e);
  ints[io + M_SG_CALL] = t.sgCall(e);
  ints[io + M_SG_MAPPED] = t.sgMapped(e);
  ints[io + M_CPU] = t.cpu(e);
  ints[io + M_PID] = t.pid(e);
  ints[io + M_COMM] = t.comm(e);
  ints[io + M_STACK] = t.stack(e);
  ints[io + M_NS] = t.tsNs(e);
  ints[io + M_DIGITS] = digits;
  nums[no + MD_LINE] = t.line(e);
  nums[no + MD_SEC] = t.tsSec(e);
  nums[no + MD_SIZE] = t.size(e);
  return (t.physKnown(e) ? F_M_PHYS_KNOWN : 0) | (t.line(e) > 0 || t.tsSec(e) > 0 ? F_M_TS : 0);
}

function mappingOf(
  ints: Int32Array,
  io: number,
  nums: Float64Array,
  no: number,
  flags: number,
  names: Names,
  positions: InputPositions,
): MappingInfo {
  const u = (w: number) => ints[io + w]! >>> 0;
  const comm = ints[io + M_COMM]!;
  const stack = ints[io + M_STACK]!;
  return {
    type: TYPE_NAMES[ints[io + M_TYPE]!] ?? '?',
    direction: DIR_NAMES[ints[io + M_DIR]!] ?? '?',
    dmaAddr: addr(u(M_DMA_HI), u(M_DMA_LO)),
    size: nums[no + MD_SIZE]!,
    physAddr: (flags & F_M_PHYS_KNOWN) !== 0 ? pa(u(M_PHYS_HI), u(M_PHYS_LO)) : null,
    sgCallEnts: ints[io + M_SG_CALL]!,
    sgMappedEnts: ints[io + M_SG_MAPPED]!,
    mappedAt: {
      line: nums[no + MD_LINE]!,
      positions,
      ts: (flags & F_M_TS) !== 0 ? tsString(nums[no + MD_SEC]!, u(M_NS), ints[io + M_DIGITS]!) : '',
      cpu: ints[io + M_CPU]!,
      pid: ints[io + M_PID]!,
      comm: comm >= 0 ? names.comms.name(comm) : '',
    },
    stack: stack >= 0 ? names.stacks.name(stack).split('\n') : null,
  };
}

function decode(text: Uint8Array, at: number, len: number): string {
  return len === 0 ? '' : decoder.decode(text.subarray(at, at + len));
}
