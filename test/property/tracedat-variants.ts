// The damage property's variants written as trace.dat (issue 13): the text
// variants of damage.ts, and a CPU cut short, in trace.dat's own terms, and
// their replay through the real TraceDatParser. This file owns turning a
// whole text trace into trace.dat records (once per trace), writing a
// variant's losses the way a ring buffer and trace-cmd record them, and
// mapping the reader's events (a record's CPU and offset) back to the original text lines.
//
// A text trace becomes records through our own TextParser: each unit's event
// (a DmaEvent) is written as the kernel's record of the event its line names,
// in the layouts of the fixtures' format files of its kernel line, with its
// CPU, pid and time (a `<stack trace>` as a kernel_stack record with one
// made-up caller, since no check reads frames; a trace_marker line as an
// ftrace print record). Times are the text's, in ns; records with equal times
// get 1 ns steps in text order, so the reader's merge (lower CPU first on a
// tie) delivers them in the text's order. The reader numbers events, not
// lines: replayDat() follows each CPU's delivered events back to their units.
//
// The losses, as trace.dat has them:
//   - overwrite:      each CPU's oldest records dropped up to its cut, and its
//                     CPUSTAT `overrun:` the count dropped (0 for the others);
//   - overwriteBare:  the same records, and no CPUSTAT at all (a file that
//                     does not say whether it overwrote, as text without the
//                     header does not);
//   - late:           nothing before the start, every overrun 0;
//   - lost:           spans dropped, the missing-events bit (with the count
//                     stored, or without it for `[EVENTS DROPPED]`) on a new
//                     sub-buffer that starts at that CPU's next record;
//   - damage:         the damaged lines' records unreadable: too short for an
//                     event id, a dma record cut short before its device
//                     name, or a dma record whose dir is not 0..3 (a glued
//                     pair: both records);
//   - truncate:       the file cut at a byte (most often inside the data,
//                     where it cuts one CPU short and leaves the later ones
//                     without data);
//   - mixed:          an overwrite, lost spans and damaged records at once;
//   - cutShort:       one CPU's data unreadable from a record on (an event id
//                     with no format): the reader goes on with the other CPUs.
// Files are little-endian, version 6 or version 7 with zlib.
//
// What the formats do not share: a damaged text line may hide its CPU, while
// a damaged record is always in its own CPU's data (it is damaged there); a
// loss on a CPU with no later event has no sub-buffer to carry its bit (the
// text variants make none either); a CPU cut short while the others go on is
// trace.dat's alone. A record of an event with no format cuts its CPU short
// in the reader (corrupt data, not one damaged record): the other ways to
// corrupt a CPU's data from a point (a commit past its sub-buffer, a bad zlib
// chunk) end the same way and are not made.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Names } from '../../src/base/interner.js';
import { type Coverage, DmaDebugEngine } from '../../src/engine/engine.js';
import { type DmaEvent, EventKind as K } from '../../src/engine/events.js';
import type { Finding } from '../../src/engine/findings.js';
import { InputError } from '../../src/input/errors.js';
import { TextParser } from '../../src/input/text-parser.js';
import { TraceDatParser } from '../../src/input/tracedat.js';
import { type FixtureKernel, kernelFixtures } from '../helpers/fixtures.js';
import { prng } from '../helpers/prng.js';
import {
  type EventDef,
  encodeRecordOf,
  eventDefOf,
  ftraceEvents,
  type WRecord,
  type WValue,
  writeTraceDat,
} from '../helpers/tracedat-writer.js';
import { KINDS, type Kind, makeVariant, type Notice, type ParsedTrace, type Variant } from './damage.js';

/** The kinds of trace.dat variants: damage.ts's, and a CPU cut short. */
export const DAT_KINDS = [...(Object.keys(KINDS) as Kind[]), 'cutShort'] as const;
export type DatKind = (typeof DAT_KINDS)[number];

/** An event with no format in the file: a record of it cuts its CPU short. */
const BROKEN: EventDef = { system: 'damaged', name: 'no_such_event', id: 999, fields: [] };

/** The event formats of a kernel line's fixtures (dma, kmem), ftrace's own, and BROKEN. */
function kernelEvents(kernel: FixtureKernel): EventDef[] {
  const formats = join(kernelFixtures(kernel), 'bug-clean', 'formats');
  const defs: EventDef[] = [];
  for (const system of ['dma', 'kmem']) {
    for (const f of readdirSync(join(formats, system)).sort()) {
      defs.push(eventDefOf(system, readFileSync(join(formats, system, f), 'latin1')));
    }
  }
  return [...defs, ...ftraceEvents(), BROKEN];
}

/**
 * A whole text trace as trace.dat records, one per unit (none where the text
 * parser read no event), kept compact: the encoded records back to back, and
 * the values only of dma records (a damaged copy of one is encoded again).
 */
export class DatTrace {
  readonly cpu: Int32Array;
  readonly pid: Int32Array;
  readonly ts: BigInt64Array;
  /** Unit k's record is bytes[at[k], at[k + 1]) (empty: no record). */
  readonly at: Int32Array;
  readonly event: string[];
  readonly dmaValues = new Map<number, Record<string, WValue>>();
  bytes = new Uint8Array(1 << 16);
  cpus = 0;
  readonly cmdlines = new Map<number, string>();

  constructor(
    units: number,
    readonly events: EventDef[],
  ) {
    this.cpu = new Int32Array(units);
    this.pid = new Int32Array(units);
    this.ts = new BigInt64Array(units);
    this.at = new Int32Array(units + 1);
    this.event = new Array<string>(units).fill('');
  }

  /** Unit k's record, or null. */
  record(k: number): WRecord | null {
    const event = this.event[k]!;
    if (event === '') return null;
    return {
      cpu: this.cpu[k]!,
      ts: this.ts[k]!,
      pid: this.pid[k]!,
      event,
      values: this.dmaValues.get(k) ?? {},
      payload: this.bytes.subarray(this.at[k]!, this.at[k + 1]!),
    };
  }

  /** Units up to this one have their `at` (the ones with no record: empty). */
  private filled = 0;

  /** Sets unit k's record (units in order: k after every unit set before). */
  set(k: number, rec: WRecord, payload: Uint8Array): void {
    this.cpu[k] = rec.cpu;
    this.pid[k] = rec.pid;
    this.ts[k] = rec.ts;
    this.event[k] = rec.event;
    if (rec.event.startsWith('dma_')) this.dmaValues.set(k, rec.values);
    const from = this.at[this.filled]!;
    for (let j = this.filled + 1; j <= k; j++) this.at[j] = from;
    const end = from + payload.length;
    if (end > this.bytes.length) {
      const b = new Uint8Array(Math.max(end, this.bytes.length * 2));
      b.set(this.bytes);
      this.bytes = b;
    }
    this.bytes.set(payload, from);
    this.at[k + 1] = end;
    this.filled = k + 1;
  }

  /** Every unit is set: the ones after the last record have none. */
  done(): void {
    for (let j = this.filled + 1; j < this.at.length; j++) this.at[j] = this.at[this.filled]!;
    this.filled = this.at.length - 1;
  }
}

const big = (hi: number, lo: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

function list(hi: Uint32Array, lo: Uint32Array, n: number): bigint[] {
  return Array.from({ length: n }, (_, i) => big(hi[i]!, lo[i]!));
}

/** The record's fields for one text event (the kernel's field names, both kernel lines). */
function valuesOf(ev: DmaEvent, device: string): Record<string, WValue> {
  const phys = () => list(ev.sgPhys.hi, ev.sgPhys.lo, ev.sgPhys.count);
  const dmas = () => list(ev.sgDma.hi, ev.sgDma.lo, ev.sgDma.count);
  const lengths = () => Array.from(ev.sgLen.v.subarray(0, ev.sgLen.count));
  const addr = big(ev.addrHi, ev.addrLo);
  const common = { device, dir: ev.dir, attrs: ev.attrs };
  switch (ev.kind) {
    case K.MapPage:
    case K.MapResource:
      return { ...common, phys_addr: big(ev.physHi, ev.physLo), dma_addr: addr, size: ev.size };
    case K.UnmapPage:
    case K.UnmapResource:
      return { ...common, addr, size: ev.size };
    case K.MapSg:
      return {
        ...common,
        full_nents: ev.nents,
        full_ents: ev.ents,
        truncated: ev.truncated ? 1 : 0,
        phys_addrs: phys(),
        dma_addrs: dmas(),
        lengths: lengths(),
      };
    case K.UnmapSg:
      return { ...common, addrs: phys() };
    case K.MapSgErr:
      return { ...common, phys_addrs: phys(), err: ev.err };
    case K.Alloc:
    case K.AllocPages:
    case K.AllocSgtErr:
    case K.Free:
    case K.FreePages:
      return { ...common, virt_addr: big(ev.virtHi, ev.virtLo), dma_addr: addr, size: ev.size };
    case K.AllocSgt:
    case K.FreeSgt:
      return { ...common, phys_addrs: phys(), dma_addr: addr, size: ev.size };
    case K.SyncSingleForCpu:
    case K.SyncSingleForDevice:
      return { ...common, dma_addr: addr, size: ev.size };
    case K.SyncSgForCpu:
    case K.SyncSgForDevice:
      return { ...common, dma_addrs: dmas(), lengths: lengths() };
    case K.PageFree:
      return { pfn: big(ev.pfnHi, ev.pfnLo), order: ev.order };
    default:
      throw new Error(`tracedat-variants: no record for event kind ${ev.kind}`);
  }
}

/** Reads a whole text trace with our TextParser and makes each unit's record. */
export function datTrace(text: string, t: ParsedTrace, kernel: FixtureKernel): DatTrace {
  const events = kernelEvents(kernel);
  const known = new Set(events.map((e) => e.name));
  const unitAt = new Map<number, number>();
  t.units.forEach((u, k) => {
    unitAt.set(u.first + 1, k);
  });
  const names = new Names();
  const d = new DatTrace(t.units.length, events);
  let prev = -1n;
  let last = -1;
  const parser = new TextParser({
    names,
    file: 'trace.txt',
    sink: (ev) => {
      const k = unitAt.get(ev.line);
      if (k === undefined) throw new Error(`tracedat-variants: an event at line ${ev.line}, which starts no unit`);
      if (k <= last) throw new Error(`tracedat-variants: two events at line ${ev.line}`);
      last = k;
      const u = t.units[k]!;
      let event: string;
      let values: Record<string, WValue>;
      if (ev.kind === K.Stack) {
        // no check reads a stack's frames: one made-up caller stands for them
        event = 'kernel_stack';
        values = { size: 1, caller: [0xffffffff81100000n + BigInt(ev.stack) * 16n] };
      } else if (ev.kind === K.Marker || ev.kind === K.Unbind) {
        const line = t.lines[u.first]!;
        event = 'print';
        values = { ip: 0, buf: `${line.slice(line.indexOf(`${u.name}: `) + u.name.length + 2)}\n` };
      } else {
        event = u.name;
        if (!known.has(event)) throw new Error(`tracedat-variants: no ${kernel} format for ${event}`);
        values = valuesOf(ev, names.devices.name(ev.device));
      }
      // text order at equal times: 1 ns steps (the merge orders by time, then by CPU)
      let ns = BigInt(ev.tsSec) * 1_000_000_000n + BigInt(ev.tsNs);
      if (ns <= prev) ns = prev + 1n;
      prev = ns;
      if (ev.pid !== 0 && ev.comm >= 0) d.cmdlines.set(ev.pid, names.comms.name(ev.comm));
      const rec: WRecord = { cpu: ev.cpu, ts: ns, pid: ev.pid, event, values };
      d.set(k, rec, encodeRecordOf(rec, events));
    },
  });
  parser.push(Buffer.from(text, 'latin1'));
  parser.end();
  d.done();
  const header = t.header.map((h) => /#P:(\d+)/.exec(t.lines[h]!)?.[1]).find((n) => n !== undefined);
  d.cpus = Math.max(t.cpus, Number(header ?? 0));
  return d;
}

/** A trace.dat variant: the file, and per CPU the original line (1-based) of each event the reader will deliver. */
export interface DatVariant {
  /** damage.ts's kind names (`overwrite-bare`), and `cut-short`. */
  kind: string;
  what: string;
  bytes: Uint8Array;
  version: 6 | 7;
  delivered: number[][];
}

type Rng = () => number;
const pick = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo)); // [lo, hi)

/** How a damaged record is unreadable, for an event of this name. */
function damageRecord(rec: WRecord, r: Rng): { rec: WRecord; how: string } {
  const dma = rec.event.startsWith('dma_');
  const alloc = /^dma_(alloc|free)/.test(rec.event);
  const x = r();
  if (dma && x < 0.35) return { rec: { ...rec, truncateTo: 12 }, how: 'cut before its device name' };
  if (dma && !alloc && x < 0.7) {
    const { cpu, ts, pid, event, values } = rec;
    return { rec: { cpu, ts, pid, event, values: { ...values, dir: 7 } }, how: 'dir=7' };
  }
  const n = pick(r, 0, 2);
  return { rec: { ...rec, truncateTo: n }, how: `${n} bytes long` };
}

const cpustat = (cpu: number, overrun: number) =>
  `CPU: ${cpu}\nentries: 0\noverrun: ${overrun}\ncommit overrun: 0\nbytes: 0\n` +
  'oldest event ts: 0.000000\nnow ts: 0.000000\ndropped events: 0\nread events: 0\n';

/**
 * The variant number `n` of a trace as trace.dat, from `seed`: damage.ts's
 * variant of the same numbers (the same kind, units kept, notices and lines
 * damaged) written in trace.dat's terms, or, one in eight, a CPU cut short.
 */
export function makeDatVariant(t: ParsedTrace, d: DatTrace, seed: number, n: number, kind?: DatKind): DatVariant {
  const r = prng((seed * 1_000_003 + n) ^ 0x7d47);
  // a CPU cut short as often as each of damage.ts's kinds; else its variant of these numbers
  const k = kind ?? (r() < 1 / DAT_KINDS.length ? 'cutShort' : undefined);
  const version = r() < 0.5 ? 6 : 7;
  const v: Variant | null = k === 'cutShort' ? null : makeVariant(t, seed, n, k);
  // (damage.ts may make another kind where a trace allows none of the one asked for)
  const kindName = v?.kind ?? 'cut-short';
  // a cut file is cut where trace.dat has the data; a CPU cut short loses no unit before its cut
  const native = kindName === 'truncate' || kindName === 'cut-short';
  const loss = native || !v ? null : v.loss;
  const kept = loss?.kept ?? t.units.map(() => true);
  const said: string[] = [];

  // units damaged: those with a damaged line (-1: a header line)
  const unitOf = (line: number) => {
    if (t.units.length === 0 || line <= t.units[0]!.first) return -1;
    let lo = 0;
    let hi = t.units.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (t.units[mid]!.first < line) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const damaged = new Set((loss?.damaged ?? []).map(unitOf));
  // notices, by unit; each goes with its CPU's next record
  const notices = new Map<number, Notice>((loss?.notices ?? []).map((x) => [x.unit, x]));
  const pending = new Map<number, Notice>();

  const records: WRecord[] = [];
  const origins: number[] = []; // per record: its original line, 0 for one the reader cannot read
  for (let i = 0; i < t.units.length; i++) {
    const u = t.units[i]!;
    const notice = notices.get(i);
    if (notice) {
      // a notice before a unit a later span dropped: the CPU's next record says both losses
      const before = pending.get(notice.cpu);
      const uncounted = before?.style === 'uncounted' || notice.style === 'uncounted';
      const gone = notice.gone + (before?.gone ?? 0);
      pending.set(notice.cpu, { ...notice, gone, style: uncounted ? 'uncounted' : notice.style });
    }
    if (!kept[i]) continue;
    let rec = d.record(i);
    let origin = u.first + 1;
    if (damaged.has(i)) {
      // a unit the text parser read no event of is still a record someone could not read
      const base = rec ?? { cpu: u.cpu, ts: records.at(-1)?.ts ?? 0n, pid: 0, event: 'print', values: {} };
      const x = damageRecord(base, r);
      rec = x.rec;
      origin = 0;
      said.push(`line ${u.first + 1} ${x.how}`);
    }
    if (rec === null) continue;
    const p = pending.get(rec.cpu);
    if (p) {
      rec = { ...rec, pageBreak: { lost: p.style === 'uncounted' ? null : p.gone } };
      pending.delete(rec.cpu);
    }
    records.push(rec);
    origins.push(origin);
  }
  if (pending.size > 0) throw new Error('tracedat-variants: a notice with no later record of its CPU');

  // a CPU cut short: a record of an event with no format, before one of its records
  if (kindName === 'cut-short' && records.length > 0) {
    const at = pick(r, 0, records.length);
    const victim = records[at]!;
    records.splice(at, 0, { cpu: victim.cpu, ts: victim.ts, pid: victim.pid, event: BROKEN.name, values: {} });
    origins.splice(at, 0, 0);
    said.push(`cpu${victim.cpu} unreadable from line ${origins[at + 1]}`);
  }

  // the per-CPU stats: which CPUs overwrote, and how much
  const cuts = loss?.cuts ?? null;
  let stats: string[] | undefined = [];
  if (kindName === 'overwrite-bare') stats = undefined;
  else {
    for (let c = 0; c < d.cpus; c++) {
      const cut = cuts?.[c] ?? 0;
      stats.push(cpustat(c, t.units.filter((u) => u.cpu === c && u.ts < cut).length));
    }
  }
  const written = writeTraceDat(records, {
    version,
    cpus: d.cpus,
    events: d.events,
    omitFormats: [BROKEN.name],
    cmdlines: d.cmdlines,
    ...(stats ? { stats } : {}),
  });
  let bytes = written.bytes;
  if (kindName === 'truncate') {
    // most often inside the CPUs' data, where a cut means something
    const from = r() < 0.9 ? (written.dataAt[0] ?? 0) : 0;
    const at = pick(r, from, bytes.length);
    bytes = bytes.subarray(0, at);
    said.push(`cut at byte ${at} of ${written.bytes.length}`);
  }
  const delivered: number[][] = Array.from({ length: d.cpus }, () => []);
  records.forEach((rec, i) => {
    if (origins[i]! > 0) delivered[rec.cpu]!.push(origins[i]!);
  });
  const what = `v${version} ${native || !v ? kindName : v.what}${said.length > 0 ? `; records: ${said.join(', ')}` : ''}`;
  return { kind: kindName, what, bytes, version, delivered };
}

/** The whole trace as trace.dat: every record, nothing overwritten. */
export function wholeDat(t: ParsedTrace, d: DatTrace, version: 6 | 7): DatVariant {
  const records: WRecord[] = [];
  const delivered: number[][] = Array.from({ length: d.cpus }, () => []);
  t.units.forEach((u, i) => {
    const rec = d.record(i);
    if (!rec) return;
    records.push(rec);
    delivered[rec.cpu]!.push(u.first + 1);
  });
  const stats = Array.from({ length: d.cpus }, (_, c) => cpustat(c, 0));
  const { bytes } = writeTraceDat(records, { version, cpus: d.cpus, events: d.events, cmdlines: d.cmdlines, stats });
  return { kind: 'whole', what: `whole, v${version}`, bytes, version, delivered };
}

/**
 * Replays a trace.dat in this process, as the pipeline does (its input error
 * ends the input; the held errors then go out); unbinds `unbindAtEnd` after
 * its last event. `orig` maps an event's place (its record's offset on its CPU) to its original line.
 */
export function replayDat(
  v: DatVariant,
  config: ConstructorParameters<typeof DmaDebugEngine>[2],
  unbindAtEnd: string[] = [],
): {
  findings: Finding[];
  orig: (pos: number, cpu: number) => number;
  coverage: Coverage;
  error: InputError | null;
} {
  const names = new Names();
  const findings: Finding[] = [];
  const engine = new DmaDebugEngine(names, (f) => findings.push(f), config);
  // a record's place is its byte offset, which counts per CPU in a compressed file
  const origins = new Map<string, number>();
  const orig = (pos: number, cpu: number) => origins.get(`${cpu}:${pos}`) ?? 0;
  const next = v.delivered.map(() => 0);
  const parser = new TraceDatParser({
    names,
    file: 'trace.dat',
    sink: (ev) => {
      if (ev.kind !== K.Lost && ev.kind !== K.CpuCutShort) {
        const lines = v.delivered[ev.cpu];
        const line = lines?.[next[ev.cpu]!++];
        if (line === undefined) throw new Error(`tracedat-variants: an event of CPU ${ev.cpu} beyond those written`);
        origins.set(`${ev.cpu}:${ev.line}`, line);
      }
      engine.handle(ev);
    },
    // the merge's promises about quiet CPUs, as the pipeline passes them on: a promise broken by a lost page is a false error
    quiet: (cpu, sec, ns) => engine.cpuQuiet(cpu, sec, ns),
  });
  engine.attachInputFacts(parser.facts);
  let error: InputError | null = null;
  try {
    parser.push(v.bytes);
    parser.end();
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    error = e;
  }
  engine.inputDrained();
  for (const dev of unbindAtEnd) engine.unbind(dev);
  return { findings, orig, coverage: engine.coverage(), error };
}
