// The damage property (issue 13): however a trace loses events, dmadebug never
// reports an error that the whole trace does not have. This module makes the
// damaged variants of a text trace that saw everything from boot, replays
// them, and checks the property: every error of a variant is an error of the
// original, for the same check at the same event (the variant's line mapped
// back to the original's). A variant may lose findings or turn them
// unconfirmed, never gain an error.
//
// The ways a trace loses events, each a variant kind:
//   - overwrite:      the ring buffer overwrote each CPU's oldest events up to
//                     a different time per CPU (some CPU may have kept
//                     nothing), the text header saying so (entries-written
//                     above entries-in-buffer, #P:N);
//   - overwriteBare:  the same without the header (trace-cmd report's text),
//                     every window beginning after early boot;
//   - late:           the capture started after early boot;
//   - lost:           spans of one CPU's events gone behind `CPU:N [LOST M
//                     EVENTS]` notices;
//   - damage:         single lines we cannot read: cut short, a field
//                     mangled, bytes flipped, a header byte changed, glued
//                     to the next line;
//   - truncate:       the file cut at any byte;
//   - mixed:          an overwrite, lost spans and damaged lines at once.
// trace.dat variants of the same losses are made by tracedat-variants.ts.
//
// Not made, since no reader could see them: a capture that starts, or an
// overwrite without a header whose window begins, in early boot (it reads as
// a whole trace from boot; the kernel starts a boot-time trace at boot), a cut
// that leaves a well-formed line, and byte changes that give valid values (a
// hex digit for another). Such a variant is a different, whole trace.

import { Names } from '../../src/base/interner.js';
import { DmaDebugEngine, type EngineConfig } from '../../src/engine/engine.js';
import type { Finding } from '../../src/engine/findings.js';
import { TextParser } from '../../src/input/text-parser.js';
import { prng } from '../helpers/prng.js';

/** One event line of the original and the lines that belong to it (a `<stack trace>`'s frames). */
export interface Unit {
  cpu: number;
  /** Seconds, as a float (only compared with other time stamps of the same trace). */
  ts: number;
  /** Index of its first line in the original. */
  first: number;
  /** Lines, the event line included. */
  count: number;
  /** A dma_* or kmem line (one the damage kind may damage). */
  dma: boolean;
  /** The event's name as the line prints it (`dma_map_page`, `tracing_mark_write`, `<stack`). */
  name: string;
}

export interface ParsedTrace {
  lines: string[];
  /** Indices of the `#` header lines. */
  header: number[];
  /** Index of the `# entries-in-buffer/entries-written:` line, or -1. */
  entriesLine: number;
  units: Unit[];
  cpus: number;
}

const EVENT_LINE = /\[(\d{3,})\]\s+(?:\S+\s+)?(\d+)\.(\d+): (\S+?):? /;

export function parseTrace(text: string): ParsedTrace {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const header: number[] = [];
  const units: Unit[] = [];
  let entriesLine = -1;
  let cpus = 0;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith('#')) {
      header.push(i);
      if (l.includes('entries-in-buffer/entries-written:')) entriesLine = i;
      continue;
    }
    const m = EVENT_LINE.exec(l);
    if (!m) {
      const u = units[units.length - 1];
      if (u && u.first + u.count === i) u.count++;
      continue;
    }
    const cpu = Number(m[1]);
    cpus = Math.max(cpus, cpu + 1);
    const name = m[4]!;
    const dma = name.startsWith('dma_') || name.startsWith('mm_page_free');
    units.push({ cpu, ts: Number(`${m[2]}.${m[3]}`), first: i, count: 1, dma, name });
  }
  return { lines, header, entriesLine, units, cpus };
}

/** A tracer's notice that `gone` events of `cpu` were lost, in one of the ways it says so. */
export interface Notice {
  cpu: number;
  gone: number;
  /** `[LOST n EVENTS]` (ftrace), `[n EVENTS DROPPED]` or `[EVENTS DROPPED]` (trace-cmd report). */
  style: 'lost' | 'dropped' | 'uncounted';
}

function noticeText(n: Notice): string {
  if (n.style === 'lost') return `CPU:${n.cpu} [LOST ${n.gone} EVENTS]`;
  if (n.style === 'dropped') return `CPU:${n.cpu} [${n.gone} EVENTS DROPPED]`;
  return `CPU:${n.cpu} [EVENTS DROPPED]`;
}

/**
 * What a variant lost, by unit of the original: enough to write the same
 * losses in another format (tracedat-variants.ts).
 */
export interface Loss {
  /** Per unit of the original: is it in the variant (damaged or not)? */
  kept: boolean[];
  /** The notices written, each before the unit it comes with (an index into units). */
  notices: Array<Notice & { unit: number }>;
  /** An overwritten buffer: each CPU's cut (its units before it are gone; Infinity: all); else null. */
  cuts: number[] | null;
  /** Original lines (1-based) damaged, or glued onto the line before them. */
  damaged: number[];
}

/** A damaged trace: its lines, and for each the original line number (1-based; 0 for a line of ours). */
export interface Variant {
  kind: string;
  what: string;
  lines: string[];
  orig: number[];
  loss: Loss;
}

type Rng = () => number;
const pick = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo)); // [lo, hi)

/** Builds a variant from the units kept, with `before(u)` lines written ahead of a kept unit. */
function render(
  t: ParsedTrace,
  kind: string,
  what: string,
  keep: (u: Unit, k: number) => boolean,
  headerLine: string | null | undefined,
  before: (k: number) => Notice | null = () => null,
): Variant {
  const lines: string[] = [];
  const orig: number[] = [];
  const loss: Loss = { kept: [], notices: [], cuts: null, damaged: [] };
  for (const h of t.header) {
    if (h === t.entriesLine) {
      if (headerLine === null) continue;
      lines.push(headerLine ?? t.lines[h]!);
      orig.push(headerLine === undefined ? h + 1 : 0);
    } else {
      lines.push(t.lines[h]!);
      orig.push(h + 1);
    }
  }
  for (let k = 0; k < t.units.length; k++) {
    const u = t.units[k]!;
    const pre = before(k);
    if (pre !== null) {
      lines.push(noticeText(pre));
      orig.push(0);
      loss.notices.push({ ...pre, unit: k });
    }
    loss.kept.push(keep(u, k));
    if (!loss.kept[k]) continue;
    for (let i = u.first; i < u.first + u.count; i++) {
      lines.push(t.lines[i]!);
      orig.push(i + 1);
    }
  }
  return { kind, what, lines, orig, loss };
}

const entries = (kept: number, written: number, cpus: number) =>
  `# entries-in-buffer/entries-written: ${kept}/${written}   #P:${cpus}`;

/** Each CPU's oldest events dropped up to its own cut (Infinity: it kept nothing). */
function overwriteCuts(t: ParsedTrace, r: Rng): number[] {
  const cuts: number[] = [];
  const byCpu: number[][] = Array.from({ length: t.cpus }, () => []);
  for (const u of t.units) byCpu[u.cpu]!.push(u.ts);
  for (let c = 0; c < t.cpus; c++) {
    const ts = byCpu[c]!;
    const x = r();
    if (x < 0.12 && c > 0) cuts.push(Number.POSITIVE_INFINITY);
    else if (x < 0.3 || ts.length === 0) cuts.push(0);
    else cuts.push(ts[pick(r, 0, ts.length)]!);
  }
  if (!cuts.some((c) => c > 0) && t.units.length > 0) {
    const c = t.units[pick(r, 0, t.units.length)]!;
    cuts[c.cpu] = c.ts;
  }
  return cuts;
}

function overwrite(t: ParsedTrace, r: Rng): Variant {
  const cuts = overwriteCuts(t, r);
  const keep = (u: Unit) => u.ts >= cuts[u.cpu]!;
  const kept = t.units.filter(keep).length;
  const what = `overwrite, cuts ${cuts.map((c, i) => `cpu${i}@${c}`).join(' ')}`;
  const v = render(t, 'overwrite', what, keep, entries(kept, t.units.length, t.cpus));
  v.loss.cuts = cuts;
  return v;
}

/**
 * Capture starts the kernel cannot have made before: past early boot (a
 * trace that begins in early boot is a boot-time trace, and whole).
 */
const EARLY_BOOT = 2;

/** An overwrite without the header that says so (trace-cmd report's text): every CPU's window begins after early boot. */
function overwriteBare(t: ParsedTrace, r: Rng): Variant {
  const late = t.units.filter((u) => u.ts > EARLY_BOOT);
  if (late.length < 2) return overwrite(t, r);
  const cuts = overwriteCuts({ ...t, units: late }, r).map((c) => (c === 0 ? late[0]!.ts : c));
  const keep = (u: Unit) => u.ts > EARLY_BOOT && u.ts >= cuts[u.cpu]!;
  const what = `overwrite without header, cuts ${cuts.map((c, i) => `cpu${i}@${c}`).join(' ')}`;
  const v = render(t, 'overwrite-bare', what, keep, null);
  v.loss.cuts = cuts;
  return v;
}

function late(t: ParsedTrace, r: Rng): Variant {
  const starts = t.units.filter((u) => u.ts > EARLY_BOOT);
  if (starts.length < 2) return lost(t, r);
  const at = starts[pick(r, 0, starts.length - 1)]!.ts;
  // a capture that began at `at`: nothing of any CPU before it, nothing overwritten
  const keep = (u: Unit) => u.ts >= at;
  const kept = t.units.filter(keep).length;
  return render(t, 'late', `late start at ${at}`, keep, entries(kept, kept, t.cpus));
}

/** 1-3 spans of one CPU's units gone, each behind a LOST notice at the CPU's next kept unit. */
function lostSpans(t: ParsedTrace, r: Rng, drop: Set<number>, notices: Map<number, Notice>): string {
  const said: string[] = [];
  const n = 1 + pick(r, 0, 3);
  for (let s = 0; s < n; s++) {
    const k = pick(r, 0, t.units.length);
    const cpu = t.units[k]!.cpu;
    const len = 1 + pick(r, 0, r() < 0.5 ? 5 : 200);
    const span: number[] = [];
    let j = k;
    for (; j < t.units.length && span.length < len; j++) if (t.units[j]!.cpu === cpu) span.push(j);
    // the notice comes with the CPU's next event; a CPU with none after the span never says (no such span)
    while (j < t.units.length && (t.units[j]!.cpu !== cpu || drop.has(j))) j++;
    if (j >= t.units.length) continue;
    for (const x of span) drop.add(x);
    const gone = span.length;
    // ftrace's notice, and trace-cmd report's with and without a count
    const x = r();
    notices.set(j, { cpu, gone, style: x < 0.6 ? 'lost' : x < 0.8 ? 'dropped' : 'uncounted' });
    said.push(`cpu${cpu} ${gone} from line ${t.units[k]!.first + 1}`);
  }
  return said.join(', ');
}

function lost(t: ParsedTrace, r: Rng): Variant {
  const drop = new Set<number>();
  const notices = new Map<number, Notice>();
  const what = lostSpans(t, r, drop, notices);
  return render(
    t,
    'lost',
    `lost: ${what}`,
    (_u, k) => !drop.has(k),
    undefined,
    (k) => notices.get(k) ?? null,
  );
}

const DAMAGE = ['cut', 'mangle', 'flip', 'glue', 'header'] as const;

/**
 * Damages the dma line lines[i] one way, in place (a glue joins two lines);
 * returns what was done.
 */
export function damageLine(v: Variant, i: number, r: Rng): string {
  const lines = v.lines;
  const l = lines[i]!;
  const name = l.search(/: (dma_|mm_page_free)/) + 2;
  const kind = DAMAGE[pick(r, 0, DAMAGE.length)]!;
  // the original lines this damages (a glue: both)
  const hit = (k: number) => {
    if (v.orig[k]! > 0) v.loss.damaged.push(v.orig[k]!);
  };
  if (kind !== 'glue') hit(i);
  switch (kind) {
    case 'cut': {
      // anywhere but the ends (an empty line is a deleted one); not right after `attrs=` (a well-formed line)
      let at = pick(r, 1, l.length);
      for (let tries = 0; l.slice(0, at).endsWith('attrs=') && tries < 10; tries++) at = pick(r, 1, l.length);
      if (l.slice(0, at).endsWith('attrs=')) at--;
      lines[i] = l.slice(0, at);
      return `line ${v.orig[i]} cut at ${at}`;
    }
    case 'mangle': {
      const fields = [...l.slice(name).matchAll(/(\w+)=(\S*)/g)];
      if (fields.length === 0) {
        lines[i] = l.slice(0, name);
        return `line ${v.orig[i]} fields dropped`;
      }
      const f = fields[pick(r, 0, fields.length)]!;
      const start = name + f.index!;
      const key = f[1]!;
      const mangled = r() < 0.5 ? `${key}=zz?` : `${key[0] === 'x' ? 'q' : 'x'}${key.slice(1)}=${f[2]}`;
      lines[i] = l.slice(0, start) + mangled + l.slice(start + f[0].length);
      return `line ${v.orig[i]} field ${key} mangled`;
    }
    case 'flip': {
      let s = l;
      const n = 1 + pick(r, 0, 3);
      for (let k = 0; k < n; k++) {
        const at = pick(r, name, l.length);
        s = s.slice(0, at) + String.fromCharCode(s.charCodeAt(at) ^ 0x80) + s.slice(at + 1);
      }
      lines[i] = s;
      return `line ${v.orig[i]}, ${n} bytes flipped`;
    }
    case 'header': {
      // one byte of the `task-pid [cpu] flags timestamp:` header (from the pid on) changed into a
      // byte no header has there: a letter, a bit flip, a ':', or gone (a letter in the task name or the
      // flags, or a digit for another, is a valid header of another task, state or time: not made)
      const head = l.lastIndexOf('-', l.indexOf('[')) + 1;
      const at = pick(r, head, name - 1);
      const c = l[at]!;
      // (a digit gone is another valid number: not made)
      const how = /[0-9]/.test(c) ? pick(r, 0, 3) : pick(r, 0, 4);
      const flagsAt = l.indexOf(']') + 1;
      const tsAt = l.lastIndexOf(' ', name - 3) + 1;
      // the flags column takes any letter; there only a flip, a ':' or a deletion is damage
      const inFlags = at > flagsAt && at < tsAt - 1;
      let by: string;
      if (how === 0 && !inFlags) by = /[0-9]/.test(c) ? 'x' : 'q';
      else if (how === 1 || (how === 0 && inFlags)) by = String.fromCharCode(c.charCodeAt(0) ^ 0x80);
      else if (how === 2) by = c === ':' ? ';' : ':';
      else by = '';
      lines[i] = l.slice(0, at) + by + l.slice(at + 1);
      return `line ${v.orig[i]} header byte ${at} ${by === '' ? 'deleted' : `now ${JSON.stringify(by)}`}`;
    }
    case 'glue': {
      const j = i + 1 < lines.length ? i : i - 1;
      hit(j);
      hit(j + 1);
      lines.splice(j, 2, lines[j]! + lines[j + 1]!);
      v.orig.splice(j + 1, 1);
      return `line ${v.orig[j]} glued to the next`;
    }
  }
}

/** 1-3 dma/kmem lines of v damaged. */
function damageSome(t: ParsedTrace, v: Variant, r: Rng): string {
  const dmaLines = new Set(t.units.filter((u) => u.dma).map((u) => u.first + 1));
  const candidates: number[] = [];
  for (let i = 0; i < v.lines.length; i++) if (dmaLines.has(v.orig[i]!)) candidates.push(i);
  const n = 1 + pick(r, 0, 3);
  const said: string[] = [];
  // from the last: a glue shifts the lines after it
  const chosen = [...new Set(Array.from({ length: n }, () => candidates[pick(r, 0, candidates.length)]!))].sort(
    (a, b) => b - a,
  );
  for (const i of chosen) if (i !== undefined) said.push(damageLine(v, i, r));
  return said.join(', ');
}

function damage(t: ParsedTrace, r: Rng): Variant {
  const v = render(t, 'damage', '', () => true, undefined);
  v.what = `damage: ${damageSome(t, v, r)}`;
  return v;
}

function truncate(t: ParsedTrace, r: Rng): Variant {
  const v = render(t, 'truncate', '', () => true, undefined);
  const first = t.header.length;
  const i = pick(r, first, v.lines.length);
  const l = v.lines[i]!;
  const at = pick(r, 0, l.length + 1);
  v.lines.length = i + 1;
  v.orig.length = i + 1;
  v.lines[i] = l.slice(0, at);
  v.what = `truncated in line ${v.orig[i]} at ${at}`;
  return v;
}

function mixed(t: ParsedTrace, r: Rng): Variant {
  const cuts = overwriteCuts(t, r);
  const drop = new Set<number>();
  const notices = new Map<number, Notice>();
  const spans = lostSpans(t, r, drop, notices);
  const keep = (u: Unit, k: number) => u.ts >= cuts[u.cpu]! && !drop.has(k);
  let kept = 0;
  for (let k = 0; k < t.units.length; k++) if (keep(t.units[k]!, k)) kept++;
  const v = render(t, 'mixed', '', keep, entries(kept, t.units.length, t.cpus), (k) =>
    t.units[k]!.ts >= cuts[t.units[k]!.cpu]! ? (notices.get(k) ?? null) : null,
  );
  v.loss.cuts = cuts;
  v.what = `mixed: cuts ${cuts.join(' ')}; lost ${spans}; damage ${damageSome(t, v, r)}`;
  return v;
}

export const KINDS = { overwrite, overwriteBare, late, lost, damage, truncate, mixed } as const;
export type Kind = keyof typeof KINDS;
const KIND_NAMES = Object.keys(KINDS) as Kind[];

/** The variant number `n` of a trace, from `seed`: the same numbers give the same variant. */
export function makeVariant(t: ParsedTrace, seed: number, n: number, kind?: Kind): Variant {
  const r = prng(seed * 1_000_003 + n);
  const k = kind ?? KIND_NAMES[pick(r, 0, KIND_NAMES.length)]!;
  return KINDS[k](t, r);
}

/** Replays a text trace in this process; unbinds `unbindAtEnd` after its last event. */
export function replayText(
  text: string,
  config: Partial<EngineConfig>,
  unbindAtEnd: string[] = [],
): { findings: Finding[]; whole: boolean; engine: DmaDebugEngine } {
  const names = new Names();
  const findings: Finding[] = [];
  const engine = new DmaDebugEngine(names, (f) => findings.push(f), config);
  const parser = new TextParser({ names, file: 'trace.txt', sink: (ev) => engine.handle(ev) });
  engine.attachInputFacts(parser.facts);
  parser.push(Buffer.from(text, 'latin1'));
  parser.end();
  engine.inputDrained();
  for (const d of unbindAtEnd) engine.unbind(d);
  const cov = engine.coverage();
  return { findings, whole: cov.fromBoot && cov.complete, engine };
}

/**
 * What makes two errors the same: the check and the original event; for one
 * made after the last event (a leak at the unbind that ends the trace), the
 * check and the device (its count may differ: the variant lost some maps).
 */
export function errorKey(f: Finding, orig: (line: number, cpu: number) => number): string {
  const line = f.at.line > 0 ? orig(f.at.line, f.at.cpu) : 0;
  return line > 0 ? `${f.check}@${line}` : `${f.check}@end ${f.device}`;
}

/**
 * The errors of a variant that the original does not have. `orig` maps a
 * finding's place (its line, or a trace.dat record's offset on its CPU) to
 * the original line; by default the text variant's own map.
 */
export function newErrors(
  variant: Pick<Variant, 'orig'>,
  findings: Finding[],
  original: ReadonlySet<string>,
  orig: (line: number, cpu: number) => number = (line) => variant.orig[line - 1] ?? 0,
): Finding[] {
  return findings.filter((f) => f.severity === 'error' && !original.has(errorKey(f, orig)));
}
