// What the trace.dat reader (tracedat.ts) and the live trace_pipe_raw source
// (tracefs-raw.ts) do alike once a ring-buffer record is in a PageReader:
// - RingRecords turns records into DmaEvents on one reused event: it reads
//   the common_type id and common_pid, decodes with a RecordDecoder and the
//   per-id Plan, stamps the time, resolves the comm (cached per pid), counts
//   records, events and skipped records, emits lost-event markers (and a
//   lost event in place of a dma/kmem record it cannot decode), and
//   notes which single-mapping events the kernel has at the first one read
//   (when the reader did not learn it from the formats before);
// - MergeLead is the per-round choice of the k-way time merge across CPUs:
//   the earliest stream and the runner-up, so the earliest can keep emitting
//   while it stays first without a rescan.
// Each caller keeps its own stream bookkeeping (file chunks or tracefs
// FIFOs), its own rule for ids it has no plan for, and its own warnings.

import type { Names } from '../base/interner.js';
import { DmaEvent, type EventSink, type InputFacts, EventKind as K, noInputFacts } from '../engine/events.js';
import { ForeignCpus } from './foreign-cpus.js';
import { buildPlan, Decoded, decodedEventCode, type Plan, type RecordDecoder } from './tracedat-decode.js';
import type { EventFormat } from './tracedat-format.js';
import type { PageReader } from './tracedat-kbuffer.js';

const TWO32 = 0x100000000;

/** Sets ev's time from a u64 nanosecond count in u32 halves (9 fractional digits). */
export function stampEvent(ev: DmaEvent, hi: number, lo: number): void {
  ev.tsDigits = 9;
  if (hi < 0x200000) {
    const x = hi * TWO32 + lo;
    const s = Math.floor(x / 1e9);
    ev.tsSec = s;
    ev.tsNs = x - s * 1e9;
    return;
  }
  // past 2^53 ns: long division in 16-bit limbs keeps it exact
  let rem = 0;
  let q = 0;
  for (let i = 0; i < 4; i++) {
    const limb = i === 0 ? hi >>> 16 : i === 1 ? hi & 0xffff : i === 2 ? lo >>> 16 : lo & 0xffff;
    const cur = rem * 65536 + limb;
    const d = Math.floor(cur / 1e9);
    rem = cur - d * 1e9;
    q = q * 65536 + d;
  }
  ev.tsSec = q;
  ev.tsNs = rem;
}

/** Decoding plans by event id (id & 0xffff) for the formats dmadebug decodes. */
export function buildPlans(formats: readonly EventFormat[], longSize: number): Array<Plan | undefined> {
  const plans: Array<Plan | undefined> = [];
  for (const f of formats) {
    const code = decodedEventCode(f.system, f.name);
    if (code !== 0) plans[f.id & 0xffff] = buildPlan(f, code, longSize);
  }
  return plans;
}

/** Offset and size of common_type, and offset of common_pid (the first format that has them). */
export function commonFields(formats: readonly EventFormat[]): { typeOff: number; typeSize: number; pidOff: number } {
  const t = formats.find((f) => f.fields.some((x) => x.name === 'common_type'));
  const p = formats.find((f) => f.fields.some((x) => x.name === 'common_pid'));
  const tf = t?.fields.find((x) => x.name === 'common_type');
  const pf = p?.fields.find((x) => x.name === 'common_pid');
  return { typeOff: tf?.offset ?? 0, typeSize: tf?.size ?? 2, pidOff: pf?.offset ?? 4 };
}

export interface RingRecordsOptions {
  names: Names;
  sink: EventSink;
  /** The comm of a pid other than 0 (undefined: unknown, comm -1 and not cached). */
  commName: (pid: number) => string | undefined;
  /**
   * A malformed record (not emitted; a dma/kmem one is a lost event in its
   * place), of CPU `cpu` at position `pos` (PageReader.recPos; 0 unknown).
   */
  warn: (message: string, cpu: number, pos: number) => void;
  /**
   * The reader's facts: mapEvents (and its source) are set from the first
   * dma_map_phys/_page/_resource or unmap record when still null then.
   */
  facts?: InputFacts;
}

/** Records -> DmaEvents into a sink, with the counters a parser reports. */
export class RingRecords {
  /** Records read (every event type). */
  lines = 0;
  /** Events handed to the sink. */
  events = 0;
  /** Records of events not decoded. */
  skipped = 0;
  /** dma/kmem records that could not be decoded, each handed on as a lost event. */
  damaged = 0;
  readonly ev = new DmaEvent();
  typeOff = 0;
  typeSize = 2;
  pidOff = 4;
  private le = true;
  private decoder: RecordDecoder | null = null;
  private readonly comms = new Map<number, number>();
  private lastPid = -1;
  private lastComm = -1;
  private readonly facts: InputFacts;
  /** CPUs whose last record was another event's: a kernel_stack record after it is that event's. */
  private readonly foreign = new ForeignCpus();

  constructor(private readonly opts: RingRecordsOptions) {
    this.facts = opts.facts ?? noInputFacts();
  }

  /** Ready to decode: byte order, the decoder, and the common field layout of `formats`. */
  configure(le: boolean, decoder: RecordDecoder, formats: readonly EventFormat[]): void {
    this.le = le;
    this.decoder = decoder;
    const c = commonFields(formats);
    this.typeOff = c.typeOff;
    this.typeSize = c.typeSize;
    this.pidOff = c.pidOff;
  }

  /**
   * Counts the reader's current record (of CPU `cpu`) and returns its event id;
   * -1 when it is too short to hold one: damaged, and it may have been a
   * dma/kmem event, so a lost event on its CPU.
   */
  recordId(r: PageReader, cpu: number): number {
    this.lines++;
    if (r.recLen < this.typeOff + this.typeSize) {
      this.damagedRecord(r, cpu, `a record of ${r.recLen} bytes, too short for an event id`);
      return -1;
    }
    const at = r.recOff + this.typeOff;
    return this.typeSize === 2 ? r.dv.getUint16(at, this.le) : r.dv.getUint8(at);
  }

  /** Decodes the reader's current record with `plan` and emits it as CPU `cpu`'s. */
  emitRecord(r: PageReader, cpu: number, plan: Plan): void {
    const ev = this.ev;
    const dv = r.dv;
    const off = r.recOff;
    const decoder = this.decoder!;
    const res = decoder.decode(ev, plan, r.buf, dv, off, r.recLen);
    if (res !== Decoded.Emit) {
      if (res === Decoded.Skip) this.skipped++;
      // a dma/kmem record we cannot read is a lost event; a bad stack or marker is only a warning
      else if (!plan.ftrace) this.damagedRecord(r, cpu, decoder.problem);
      else this.opts.warn(decoder.problem, cpu, r.recPos);
      return;
    }
    stampEvent(ev, r.tsHi, r.tsLo);
    ev.cpu = cpu;
    // another event's stack is no dma call's: it only says the last dma event of its CPU has none
    if (ev.kind !== K.Stack) this.foreign.clear(cpu);
    else if (this.foreign.has(cpu)) ev.stack = -1;
    const pid = r.recLen >= this.pidOff + 4 ? dv.getInt32(off + this.pidOff, this.le) : 0;
    ev.pid = pid;
    ev.comm = this.commId(pid);
    this.events++;
    // where the record is: its byte offset in the file or in its CPU's data (the reader's pagePos)
    ev.line = r.recPos;
    if (this.facts.mapEvents === null) this.noteMapEvents(plan);
    this.opts.sink(ev);
  }

  /** The current record of `cpu` is an event this reader does not decode (skipped by the caller). */
  foreignRecord(cpu: number): void {
    this.foreign.mark(cpu);
  }

  /** The first single-mapping record tells the kernel generation (unless the formats did). */
  private noteMapEvents(plan: Plan): void {
    const m = plan.event === null ? null : plan.event.mapEvents;
    if (m === null) return;
    this.facts.mapEvents = m;
    this.facts.mapEventsSource = `event ${this.events}: ${plan.name}`;
  }

  /** Emits a Lost event on `cpu` at time hi:lo and position `pos` (`lost` = count, 0 = unknown). */
  emitLost(cpu: number, hi: number, lo: number, lost: number, pos = 0): void {
    this.emitMark(K.Lost, cpu, hi, lo, lost, false, pos);
  }

  /** The reader's current record of `cpu` cannot be read: a warning, and a lost event (damaged) in its place. */
  private damagedRecord(r: PageReader, cpu: number, why: string): void {
    this.opts.warn(`${why} (damaged record: counted as a lost event on CPU ${cpu})`, cpu, r.recPos);
    this.damaged++;
    this.emitMark(K.Lost, cpu, r.tsHi, r.tsLo, 1, true, r.recPos);
  }

  /** Emits CpuCutShort on `cpu` at time hi:lo: the input is damaged there, and that CPU's later events are missing. */
  emitCutShort(cpu: number, hi: number, lo: number, pos = 0): void {
    this.emitMark(K.CpuCutShort, cpu, hi, lo, 0, false, pos);
  }

  /** A reader's mark about the stream, not a traced event. */
  private emitMark(
    kind: typeof K.Lost | typeof K.CpuCutShort,
    cpu: number,
    hi: number,
    lo: number,
    lost: number,
    damaged: boolean,
    pos: number,
  ): void {
    const ev = this.ev;
    ev.resetPayload();
    ev.kind = kind;
    stampEvent(ev, hi, lo);
    ev.cpu = cpu;
    ev.pid = 0;
    ev.comm = -1;
    ev.lost = lost;
    ev.damaged = damaged;
    this.events++;
    ev.line = pos;
    this.opts.sink(ev);
  }

  private commId(pid: number): number {
    if (pid === this.lastPid) return this.lastComm;
    let id = this.comms.get(pid);
    if (id === undefined) {
      const name = pid === 0 ? '<idle>' : this.opts.commName(pid);
      if (name === undefined) return -1;
      id = this.opts.names.comms.intern(name);
      this.comms.set(pid, id);
    }
    this.lastPid = pid;
    this.lastComm = id;
    return id;
  }
}

/**
 * The merge's choice among CPU streams by head time stamp (u32 halves, the
 * lower index first on ties): the earliest (`best`) and the runner-up.
 */
export class MergeLead {
  best = -1;
  second = -1;
  private bh = 0;
  private bl = 0;
  private sh = 0;
  private sl = 0;

  reset(): void {
    this.best = -1;
    this.second = -1;
    this.bh = 0;
    this.bl = 0;
    this.sh = 0;
    this.sl = 0;
  }

  /** Stream i's head is at hi:lo (offer streams in index order). */
  offer(i: number, h: number, l: number): void {
    if (this.best < 0 || h < this.bh || (h === this.bh && l < this.bl)) {
      this.second = this.best;
      this.sh = this.bh;
      this.sl = this.bl;
      this.best = i;
      this.bh = h;
      this.bl = l;
    } else if (this.second < 0 || h < this.sh || (h === this.sh && l < this.sl)) {
      this.second = i;
      this.sh = h;
      this.sl = l;
    }
  }

  /** Does the best stream, its head now at h:l, still come before the runner-up? */
  stillFirst(h: number, l: number): boolean {
    if (this.second < 0 || h < this.sh) return true;
    if (h > this.sh) return false;
    return !(l > this.sl || (l === this.sl && this.best > this.second));
  }
}
