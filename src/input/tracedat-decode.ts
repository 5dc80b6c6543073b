// Record decoding for trace.dat: from one raw event record (the kernel's
// trace_event_raw_* struct) to the DmaEvent the text parser would produce for
// the same event. It owns the mapping field names -> DmaEvent fields (event
// names -> EventKind are the shared vocabulary's), and the ftrace
// kernel_stack / print / bprint / bputs records; it knows nothing of pages or
// files.
//
// Why it looks the way it does: one decoder plan per event id is computed
// once per file from that file's format files (offsets, sizes, __data_loc),
// so the per-record work is a table lookup plus DataView reads into the one
// reused DmaEvent. Nothing allocates per record except marker text.

import type { Names } from '../base/interner.js';
import { NameCache } from '../base/name-cache.js';
import { type AddrList, type Dir, type DmaEvent, EventKind as K, type SizeList } from '../engine/events.js';
import {
  ALLOC_FAMILY,
  FTRACE_RECORDS,
  FtraceRecord,
  kindOf,
  TRACED_EVENTS,
  type TracedEvent,
  tracedEventIndex,
} from '../events/vocabulary.js';
import { isMachineryFrame, MAX_STACK_BYTES, UNBIND_MARKER } from './text-parser.js';
import type { EventFormat, FormatField, Kallsyms } from './tracedat-format.js';
import { normHex } from './tracedat-format.js';

const TWO32 = 0x100000000;

// Decoder codes: 1 + the index of a dma/kmem event in TRACED_EVENTS, or
// X_FTRACE + an ftrace record; 0 for an event that is not decoded.
const X_FTRACE = 100;
const FTRACE_CODES = new Map<string, number>(FTRACE_RECORDS.map(([name, rec]) => [name, X_FTRACE + rec]));

/** Is this event of interest to dmadebug (decoded, not skipped)? Non-zero: its decoder code. */
export function decodedEventCode(system: string, name: string): number {
  if (system === 'ftrace') return FTRACE_CODES.get(name) ?? 0;
  return tracedEventIndex(name) + 1;
}

/** Where a value lives in a record. */
interface Loc {
  off: number;
  size: number;
  /** 0 scalar, 1 __data_loc, 2 __rel_loc. */
  loc: number;
  elem: number;
  signed: boolean;
}

function locOf(f: FormatField | undefined, longSize: number): Loc | null {
  if (!f) return null;
  const loc = f.dataLoc ? 1 : f.relLoc ? 2 : 0;
  let elem = f.elemSize;
  if (loc !== 0 && elem === 0) elem = f.type.includes('char') ? 1 : longSize;
  return { off: f.offset, size: f.size, loc, elem, signed: f.signed };
}

/** The per-event-id recipe: which field feeds which DmaEvent member. */
export class Plan {
  device: Loc | null = null;
  addr: Loc | null = null;
  phys: Loc | null = null;
  size: Loc | null = null;
  dir: Loc | null = null;
  attrs: Loc | null = null;
  virt: Loc | null = null;
  nents: Loc | null = null;
  ents: Loc | null = null;
  truncated: Loc | null = null;
  sgDma: Loc | null = null;
  sgLen: Loc | null = null;
  sgPhys: Loc | null = null;
  err: Loc | null = null;
  pfn: Loc | null = null;
  order: Loc | null = null;
  // ftrace
  stackSize: Loc | null = null;
  callers: Loc | null = null;
  ip: Loc | null = null;
  buf: Loc | null = null;
  fmt: Loc | null = null;
  str: Loc | null = null;
  /** Non-empty when the format lacks a field every layout of this kind has. */
  missing = '';
  /** The dma/kmem event of the vocabulary, or null for an ftrace record. */
  readonly event: TracedEvent | null;
  /** The EventKind a dma/kmem record becomes (before kindOf()'s MMIO check of *_phys); 0 for ftrace. */
  readonly kind: number;
  /** An ftrace record (stack, marker), not a dma/kmem one. */
  readonly ftrace: boolean;
  /** Which ftrace record (FtraceRecord), 0 for a dma/kmem one. */
  readonly record: number;
  /** Coherent allocation family: a dir outside 0..3 is ignored, not an error. */
  readonly alloc: boolean;

  constructor(
    readonly id: number,
    readonly name: string,
    readonly code: number,
  ) {
    this.ftrace = code >= X_FTRACE;
    this.record = this.ftrace ? code - X_FTRACE : 0;
    this.event = this.ftrace ? null : (TRACED_EVENTS[code - 1] ?? null);
    this.kind = this.event === null ? 0 : this.event.kind;
    this.alloc = this.event !== null && ALLOC_FAMILY.has(this.event.kind);
  }
}

export function buildPlan(fmt: EventFormat, code: number, longSize: number): Plan {
  const p = new Plan(fmt.id, fmt.name, code);
  const by = new Map<string, FormatField>();
  for (const f of fmt.fields) by.set(f.name, f);
  const get = (...names: string[]): Loc | null => {
    for (const n of names) {
      const l = locOf(by.get(n), longSize);
      if (l) return l;
    }
    return null;
  };
  if (p.ftrace) {
    p.stackSize = get('size');
    p.callers = get('caller');
    p.ip = get('ip');
    p.buf = get('buf');
    p.fmt = get('fmt');
    p.str = get('str');
    const rec = p.record;
    if (rec === FtraceRecord.KernelStack && !p.callers) p.missing = 'caller';
    if (rec === FtraceRecord.Print && !p.buf) p.missing = 'buf';
    if (rec === FtraceRecord.BPrint && (!p.fmt || !p.buf)) p.missing = p.fmt ? 'buf' : 'fmt';
    if (rec === FtraceRecord.BPuts && !p.str) p.missing = 'str';
    return p;
  }
  p.device = get('device', 'dev_name', 'name');
  p.addr = get('dma_addr', 'addr');
  p.phys = get('phys_addr');
  p.size = get('size');
  p.dir = get('dir');
  p.attrs = get('attrs');
  p.virt = get('virt_addr');
  p.nents = get('full_nents', 'nents');
  p.ents = get('full_ents', 'ents');
  p.truncated = get('truncated');
  p.sgLen = get('lengths', 'sizes');
  p.err = get('err');
  p.pfn = get('pfn');
  p.order = get('order');
  const kind = p.kind;
  if (kind === K.MapSgErr) {
    // dma_map_sg_err prints its physical addresses under the label dma_addrs
    p.sgPhys = get('phys_addrs', 'dma_addrs', 'addrs');
  } else {
    p.sgDma = get('dma_addrs');
    p.sgPhys = get('phys_addrs', 'addrs');
  }
  // the fields every layout of the kind has (as the text parser requires them)
  const need: Array<[Loc | null, string]> = [];
  switch (kind) {
    case K.MapPage:
    case K.UnmapPage:
    case K.MapResource:
    case K.UnmapResource:
    case K.SyncSingleForCpu:
    case K.SyncSingleForDevice:
      need.push([p.dir, 'dir'], [p.addr, 'dma_addr'], [p.size, 'size']);
      break;
    case K.MapSg:
      need.push([p.dir, 'dir'], [p.sgDma, 'dma_addrs'], [p.sgLen, 'lengths'], [p.sgPhys, 'phys_addrs']);
      break;
    case K.UnmapSg:
    case K.MapSgErr:
      need.push([p.dir, 'dir'], [p.sgPhys, 'phys_addrs']);
      break;
    case K.SyncSgForCpu:
    case K.SyncSgForDevice:
      need.push([p.dir, 'dir'], [p.sgDma, 'dma_addrs'], [p.sgLen, 'lengths']);
      break;
    case K.PageFree:
      need.push([p.pfn, 'pfn']);
      break;
    default:
      need.push([p.addr, 'dma_addr'], [p.size, 'size']);
  }
  if (kind !== K.PageFree) need.push([p.device, 'device']);
  for (const [l, n] of need) {
    if (!l) {
      p.missing = n;
      break;
    }
  }
  return p;
}

/** What decode() did with a record. */
export const Decoded = {
  /** ev is filled: emit it. */
  Emit: 0,
  /** Not an event dmadebug reads (user stacks): count it as skipped. */
  Skip: 1,
  /** Malformed: `problem` says why; count a warning. */
  Bad: 2,
} as const;

/**
 * Decodes records of one file. All reads go through the DataView of the
 * sub-buffer the record lives in; `ev` is the parser's one reused event.
 */
export class RecordDecoder {
  problem = '';
  private readonly le: boolean;
  private readonly devices: NameCache;
  // stack text scratch
  private stk = new Uint8Array(4096);
  private readonly frameCache = new Map<number, { hi: number; bytes: Uint8Array }>();
  private readonly enc = new TextEncoder();
  private readonly dec = new TextDecoder();
  // u64 read results
  private vHi = 0;
  private vLo = 0;

  constructor(
    private readonly names: Names,
    littleEndian: boolean,
    private readonly longSize: number,
    private readonly kallsyms: () => Kallsyms | null,
    private readonly printk: Map<string, string>,
  ) {
    this.le = littleEndian;
    this.devices = new NameCache(names.devices);
  }

  /** Fills ev's payload (and kind) from the record at buf[off, off + len). */
  decode(ev: DmaEvent, plan: Plan, buf: Uint8Array, dv: DataView, off: number, len: number): number {
    ev.resetPayload();
    if (plan.missing !== '') return this.bad(`${plan.name}: the format has no ${plan.missing} field`);
    if (plan.ftrace) {
      switch (plan.record) {
        case FtraceRecord.KernelStack:
          return this.stack(ev, plan, buf, dv, off, len);
        case FtraceRecord.UserStack:
          return Decoded.Skip;
        default:
          return this.marker(ev, plan, buf, dv, off, len);
      }
    }
    const kind = plan.kind;
    ev.kind = kind as DmaEvent['kind'];
    const end = off + len;
    let l = plan.device;
    if (l) {
      if (!this.span(l, dv, off, end)) return this.bad(`${plan.name}: device runs past the record`);
      ev.device = this.deviceId(buf, dv, this.spanStart, this.spanEnd);
    }
    l = plan.addr;
    if (l) {
      this.u64(dv, off, l);
      ev.addrHi = this.vHi;
      ev.addrLo = this.vLo;
    }
    l = plan.phys;
    if (l) {
      this.u64(dv, off, l);
      ev.physHi = this.vHi;
      ev.physLo = this.vLo;
      ev.hasPhys = true;
    }
    l = plan.size;
    if (l) {
      this.u64(dv, off, l);
      ev.size = this.vHi * TWO32 + this.vLo;
    }
    l = plan.attrs;
    if (l) {
      this.u64(dv, off, l);
      ev.attrs = this.vLo;
    }
    l = plan.virt;
    if (l) {
      this.u64(dv, off, l);
      ev.virtHi = this.vHi;
      ev.virtLo = this.vLo;
      ev.hasVirt = true;
      ev.virtRaw = true;
    }
    l = plan.sgDma;
    if (l && !this.addrList(ev.sgDma, l, dv, off, end)) return this.bad(`${plan.name}: dma_addrs runs past the record`);
    l = plan.sgPhys;
    if (l && !this.addrList(ev.sgPhys, l, dv, off, end))
      return this.bad(`${plan.name}: phys_addrs runs past the record`);
    l = plan.sgLen;
    if (l && !this.sizeList(ev.sgLen, l, dv, off, end)) return this.bad(`${plan.name}: lengths runs past the record`);
    l = plan.err;
    if (l) ev.err = this.int(dv, off, l);
    l = plan.pfn;
    if (l) {
      this.u64(dv, off, l);
      ev.pfnHi = this.vHi;
      ev.pfnLo = this.vLo;
    }
    l = plan.order;
    if (l) ev.order = this.int(dv, off, l);
    l = plan.truncated;
    if (l && this.int(dv, off, l) !== 0) ev.truncated = true;
    l = plan.dir;
    if (l) {
      const d = this.int(dv, off, l);
      if (d >= 0 && d <= 3) {
        ev.dir = d as Dir;
        ev.hasDir = true;
      } else if (!plan.alloc) {
        return this.bad(`${plan.name}: dir=${d} is not 0..3`);
      }
    }
    // counts, as the text parser derives them
    if (kind === K.MapSg) {
      ev.nents = plan.nents ? this.int(dv, off, plan.nents) : ev.sgPhys.count;
      ev.ents = plan.ents ? this.int(dv, off, plan.ents) : ev.sgDma.count;
    } else if (kind === K.UnmapSg || kind === K.MapSgErr || kind === K.AllocSgt || kind === K.FreeSgt) {
      ev.nents = ev.sgPhys.count;
    } else if (kind === K.SyncSgForCpu || kind === K.SyncSgForDevice) {
      ev.nents = ev.sgDma.count;
    }
    const te = plan.event;
    if (te?.phys) ev.kind = kindOf(te, ev.attrs);
    return Decoded.Emit;
  }

  private bad(msg: string): number {
    this.problem = msg;
    return Decoded.Bad;
  }

  // ---------------------------------------------------------------- field readers

  /** A scalar up to 8 bytes into vHi/vLo (zero-extended). */
  private u64(dv: DataView, off: number, l: Loc): void {
    const at = off + l.off;
    const le = this.le;
    switch (l.size) {
      case 8:
        if (le) {
          this.vLo = dv.getUint32(at, true);
          this.vHi = dv.getUint32(at + 4, true);
        } else {
          this.vHi = dv.getUint32(at, false);
          this.vLo = dv.getUint32(at + 4, false);
        }
        return;
      case 4:
        this.vHi = 0;
        this.vLo = dv.getUint32(at, le);
        return;
      case 2:
        this.vHi = 0;
        this.vLo = dv.getUint16(at, le);
        return;
      case 1:
        this.vHi = 0;
        this.vLo = dv.getUint8(at);
        return;
      default:
        this.vHi = 0;
        this.vLo = 0;
    }
  }

  /** A small integer field (signed when the format says so). */
  private int(dv: DataView, off: number, l: Loc): number {
    const at = off + l.off;
    const le = this.le;
    switch (l.size) {
      case 1:
        return l.signed ? dv.getInt8(at) : dv.getUint8(at);
      case 2:
        return l.signed ? dv.getInt16(at, le) : dv.getUint16(at, le);
      case 4:
        return l.signed ? dv.getInt32(at, le) : dv.getUint32(at, le);
      case 8: {
        const lo = dv.getUint32(le ? at : at + 4, le);
        const hi = le ? dv.getInt32(at + 4, true) : dv.getInt32(at, false);
        if (!l.signed) return (hi >>> 0) * TWO32 + lo;
        return hi * TWO32 + lo;
      }
      default:
        return 0;
    }
  }

  private spanStart = 0;
  private spanEnd = 0;

  /** Resolves a __data_loc / __rel_loc (or a fixed array) to [spanStart, spanEnd); false when outside the record. */
  private span(l: Loc, dv: DataView, off: number, end: number): boolean {
    if (l.loc === 0) {
      this.spanStart = off + l.off;
      this.spanEnd = off + l.off + l.size;
      return this.spanEnd <= end;
    }
    const v = dv.getUint32(off + l.off, this.le);
    const o = v & 0xffff;
    const n = v >>> 16;
    const s = l.loc === 1 ? off + o : off + l.off + 4 + o;
    this.spanStart = s;
    this.spanEnd = s + n;
    return s + n <= end;
  }

  private addrList(list: AddrList, l: Loc, dv: DataView, off: number, end: number): boolean {
    list.clear();
    if (!this.span(l, dv, off, end)) return false;
    const w = l.elem;
    const le = this.le;
    const e = this.spanEnd;
    if (w === 8) {
      for (let p = this.spanStart; p + 8 <= e; p += 8) {
        if (le) list.push(dv.getUint32(p + 4, true), dv.getUint32(p, true));
        else list.push(dv.getUint32(p, false), dv.getUint32(p + 4, false));
      }
    } else if (w === 4) {
      for (let p = this.spanStart; p + 4 <= e; p += 4) list.push(0, dv.getUint32(p, le));
    }
    return true;
  }

  private sizeList(list: SizeList, l: Loc, dv: DataView, off: number, end: number): boolean {
    list.clear();
    if (!this.span(l, dv, off, end)) return false;
    const w = l.elem;
    const le = this.le;
    const e = this.spanEnd;
    if (w === 4) {
      for (let p = this.spanStart; p + 4 <= e; p += 4) list.push(dv.getUint32(p, le));
    } else if (w === 8) {
      for (let p = this.spanStart; p + 8 <= e; p += 8) {
        if (le) list.push(dv.getUint32(p + 4, true) * TWO32 + dv.getUint32(p, true));
        else list.push(dv.getUint32(p, false) * TWO32 + dv.getUint32(p + 4, false));
      }
    } else if (w === 2) {
      for (let p = this.spanStart; p + 2 <= e; p += 2) list.push(dv.getUint16(p, le));
    }
    return true;
  }

  /**
   * The interned device name in b[s, e) (a __data_loc span, NUL included).
   * One-entry cache: consecutive records mostly name the same device, so the
   * span is compared word by word with the last one before anything else.
   */
  private deviceId(b: Uint8Array, dv: DataView, s: number, e: number): number {
    // the cache keys on the whole span; the name itself ends at its NUL
    const hit = this.devices.get(b, dv, s, e);
    if (hit >= 0) return hit;
    let z = s;
    while (z < e && b[z] !== 0) z++;
    const id = this.names.devices.internBytes(b, s, z);
    this.devices.set(b, dv, s, e, id);
    return id;
  }

  // ---------------------------------------------------------------- stacks

  /** ftrace kernel_stack: `int size` entries of `unsigned long caller[]`, resolved with kallsyms. */
  private stack(ev: DmaEvent, plan: Plan, _buf: Uint8Array, dv: DataView, off: number, len: number): number {
    const callers = plan.callers!;
    const w = this.longSize;
    const first = off + callers.off;
    const room = Math.max(0, Math.floor((off + len - first) / w));
    let n = room;
    if (plan.stackSize) {
      const s = this.int(dv, off, plan.stackSize);
      // size counts entries on current kernels; older ones stored bytes, or a
      // fixed array ended by ULONG_MAX
      if (s > 0 && s <= room) n = s;
      else if (s > 0 && s % w === 0 && s / w <= room) n = s / w;
    }
    const le = this.le;
    let used = 0;
    let dropping = true;
    for (let i = 0; i < n; i++) {
      const at = first + i * w;
      let hi = 0;
      let lo: number;
      if (w === 8) {
        if (le) {
          lo = dv.getUint32(at, true);
          hi = dv.getUint32(at + 4, true);
        } else {
          hi = dv.getUint32(at, false);
          lo = dv.getUint32(at + 4, false);
        }
      } else {
        lo = dv.getUint32(at, le);
      }
      if ((hi === 0 && lo === 0) || (lo === 0xffffffff && (w === 4 || hi === 0xffffffff))) break;
      const frame = this.frame(hi, lo);
      if (dropping) {
        if (isMachineryFrame(frame, 0, frame.length)) continue;
        dropping = false;
      }
      const need = used + frame.length + 1;
      if (need > MAX_STACK_BYTES) break;
      if (need > this.stk.length) {
        const nb = new Uint8Array(Math.max(need, this.stk.length * 2));
        nb.set(this.stk.subarray(0, used));
        this.stk = nb;
      }
      if (used > 0) this.stk[used++] = 0x0a;
      this.stk.set(frame, used);
      used += frame.length;
    }
    ev.kind = K.Stack;
    ev.stack = this.names.stacks.internBytes(this.stk, 0, used);
    return Decoded.Emit;
  }

  /** `symbol+0xoff/0xsize [mod]` for an address, or `0x...` when no symbol covers it (cached). */
  private frame(hi: number, lo: number): Uint8Array {
    const hit = this.frameCache.get(lo);
    if (hit && hit.hi === hi) return hit.bytes;
    const ks = this.kallsyms();
    const name =
      ks?.lookup(hi, lo) ??
      `0x${hi === 0 ? '' : hi.toString(16)}${hi === 0 ? lo.toString(16) : lo.toString(16).padStart(8, '0')}`;
    const bytes = this.enc.encode(name);
    if (!hit) this.frameCache.set(lo, { hi, bytes });
    return bytes;
  }

  // ---------------------------------------------------------------- markers

  private marker(ev: DmaEvent, plan: Plan, buf: Uint8Array, dv: DataView, off: number, len: number): number {
    const end = off + len;
    let text = '';
    if (plan.record === FtraceRecord.Print) {
      const s = off + plan.buf!.off;
      let e = s;
      while (e < end && buf[e] !== 0) e++;
      text = this.dec.decode(buf.subarray(s, e));
    } else if (plan.record === FtraceRecord.BPuts) {
      this.u64(dv, off, plan.str!);
      text = this.printk.get(hexKey(this.vHi, this.vLo)) ?? '';
    } else {
      this.u64(dv, off, plan.fmt!);
      const fmt = this.printk.get(hexKey(this.vHi, this.vLo));
      text =
        fmt === undefined ? '' : formatBinary(fmt, buf, dv, off + plan.buf!.off, end, this.le, this.longSize, this.dec);
    }
    if (text.endsWith('\n')) text = text.slice(0, -1);
    ev.kind = K.Marker;
    ev.text = text;
    // `dmadebug record` marks driver unbinds in the trace: `dmadebug: unbind <device> <driver> <bus>`.
    if (text.startsWith(UNBIND_MARKER)) {
      const [device, , bus] = text.slice(UNBIND_MARKER.length).trim().split(/\s+/);
      if (device) {
        ev.kind = K.Unbind;
        ev.device = this.names.devices.intern(device);
        ev.text = bus ?? '';
      }
    }
    return Decoded.Emit;
  }
}

function hexKey(hi: number, lo: number): string {
  return normHex(hi === 0 ? lo.toString(16) : hi.toString(16) + lo.toString(16).padStart(8, '0'));
}

/**
 * trace_printk's binary form: the kernel's vbin_printf stored the arguments
 * of `fmt` one after another (8-byte values 4-aligned, smaller ones aligned to
 * their size, strings inline with their NUL). Renders a plain printf subset.
 */
export function formatBinary(
  fmt: string,
  buf: Uint8Array,
  dv: DataView,
  start: number,
  end: number,
  le: boolean,
  longSize: number,
  dec: { decode(b: Uint8Array): string },
): string {
  let out = '';
  let p = start;
  const take = (size: number): number | bigint | null => {
    const align = Math.min(size, 4);
    p = start + Math.ceil((p - start) / align) * align;
    if (p + size > end) return null;
    let v: number | bigint;
    if (size === 8) {
      const lo = dv.getUint32(le ? p : p + 4, le);
      const hi = dv.getUint32(le ? p + 4 : p, le);
      v = (BigInt(hi) << 32n) | BigInt(lo);
    } else if (size === 4) v = dv.getUint32(p, le);
    else if (size === 2) v = dv.getUint16(p, le);
    else v = dv.getUint8(p);
    p += size;
    return v;
  };
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    if (fmt[i + 1] === '%') {
      out += '%';
      i++;
      continue;
    }
    let j = i + 1;
    let flags = '';
    while (j < fmt.length && '-+ #0'.includes(fmt[j]!)) flags += fmt[j++];
    let width = 0;
    if (fmt[j] === '*') {
      width = Number(take(4) ?? 0);
      j++;
    } else while (j < fmt.length && fmt[j]! >= '0' && fmt[j]! <= '9') width = width * 10 + Number(fmt[j++]);
    let prec = -1;
    if (fmt[j] === '.') {
      j++;
      prec = 0;
      if (fmt[j] === '*') {
        prec = Number(take(4) ?? 0);
        j++;
      } else while (j < fmt.length && fmt[j]! >= '0' && fmt[j]! <= '9') prec = prec * 10 + Number(fmt[j++]);
    }
    let size = 4;
    if (fmt.startsWith('hh', j)) {
      size = 1;
      j += 2;
    } else if (fmt[j] === 'h') {
      size = 2;
      j++;
    } else if (fmt.startsWith('ll', j)) {
      size = 8;
      j += 2;
    } else if (fmt[j] === 'l' || fmt[j] === 'z' || fmt[j] === 't' || fmt[j] === 'j') {
      size = fmt[j] === 'j' ? 8 : longSize;
      j++;
    } else if (fmt[j] === 'L' || fmt[j] === 'q') {
      size = 8;
      j++;
    }
    const conv = fmt[j];
    i = j;
    let s = '';
    switch (conv) {
      case 'd':
      case 'i':
      case 'u':
      case 'x':
      case 'X':
      case 'o':
      case 'c': {
        const v = take(size);
        if (v === null) return out;
        let n = BigInt(v);
        const bits = BigInt(size * 8);
        if ((conv === 'd' || conv === 'i') && n >= 1n << (bits - 1n)) n -= 1n << bits;
        if (conv === 'c') s = String.fromCharCode(Number(n));
        else if (conv === 'x') s = n.toString(16);
        else if (conv === 'X') s = n.toString(16).toUpperCase();
        else if (conv === 'o') s = n.toString(8);
        else s = n.toString(10);
        if (flags.includes('#') && (conv === 'x' || conv === 'X') && n !== 0n) s = `0x${s}`;
        break;
      }
      case 's': {
        let e = p;
        while (e < end && buf[e] !== 0) e++;
        s = dec.decode(buf.subarray(p, e));
        p = Math.min(end, e + 1);
        if (prec >= 0) s = s.slice(0, prec);
        break;
      }
      case 'p': {
        // pointer extensions (%pS, %pI4, ...) that dereference were rendered to strings by the kernel
        const ext = fmt[j + 1];
        if (ext !== undefined && /[A-Za-z]/.test(ext)) {
          i++;
          while (i + 1 < fmt.length && /[A-Za-z0-9]/.test(fmt[i + 1]!)) i++;
        }
        const v = take(longSize);
        if (v === null) return out;
        s = `0x${BigInt(v).toString(16)}`;
        break;
      }
      default:
        s = `%${conv ?? ''}`;
    }
    if (s.length < width)
      s = flags.includes('-') ? s.padEnd(width) : s.padStart(width, flags.includes('0') ? '0' : ' ');
    out += s;
  }
  return out;
}
