// Coverage: what the trace saw, and every proven/unconfirmed verdict that
// rests on it ("never cry wolf"). A lookup that finds nothing proves a bug only
// when the trace covers everything since boot and no events were lost; a
// mismatch against an entry proves a bug only when the entry was made since the
// latest loss; an absence ("unmapped earlier, no map since") is proven only
// within one loss epoch. Checks ask here; they never weigh losses themselves.
//
// Losses are counted as epochs (each LOST notice starts one, and so does each
// line or record the parser could not read: a damaged line is a lost event). A
// CPU cut short by damaged input (CpuCutShort) is a loss that never ends: from
// then on nothing that depends on earlier events is proven.

import type { EntryTable } from './entries.js';
import { ALL_CPUS, type DmaEvent, EventKind, type InputFacts } from './events.js';
import { MAX_OVERLAP } from './model.js';

/** What the summary says about coverage. */
export interface CoverageReport {
  fromBoot: boolean;
  /** How fromBoot was decided. */
  decidedBy: string;
  firstTs: string | null;
  lastTs: string | null;
  /** LOST EVENTS notices and the events they counted (0 when not stated). */
  lossNotices: number;
  lostEvents: number;
  lostByCpu: Record<string, number>;
  /**
   * Lines (text) or records (trace.dat) that could not be read, each counted
   * as one lost event in its place; by CPU, `all` for those whose CPU could not
   * be read either.
   */
  damagedLines: number;
  damagedByCpu: Record<string, number>;
  /**
   * Nothing is missing: the trace covers everything since boot and lost
   * nothing (no notice, no damaged line, no CPU cut short). Only then does a
   * lookup that finds nothing prove a bug.
   */
  complete: boolean;
  /** The ring buffer overwrote this many events before the trace was read. */
  overwritten: number;
  unknownUnmaps: number;
  unknownSyncs: number;
  /** sg calls whose arrays the kernel truncated: their later segments are unknown. */
  truncatedSgCalls: number;
  /** Coherent/noncoherent entries whose physical address the trace cannot tell. */
  unknownPhysEntries: number;
  /** CPUs whose events stop early because the input is damaged there, and from when (s; null: from the start). */
  cutShort: Array<{ cpu: number; from: string | null }>;
}

export class Coverage {
  started = false;
  fromBoot = false;
  decidedBy = '';
  /** Loss epochs so far (0: nothing lost). */
  epoch = 0;
  firstTs: string | null = null;
  lastTsSec = 0;
  lastTsNs = 0;
  lastTsDigits = 6;
  lossNotices = 0;
  lostEvents = 0;
  readonly lostByCpu = new Map<number, number>();
  /** Damaged lines/records, each a lost event (by CPU; ALL_CPUS: CPU unreadable). */
  damagedLines = 0;
  readonly damagedByCpu = new Map<number, number>();
  /** CPUs whose later events are missing (damaged input), and from when. */
  readonly cutShort: Array<{ cpu: number; from: string | null }> = [];
  unknownUnmaps = 0;
  unknownSyncs = 0;
  truncatedSgCalls = 0;
  facts: InputFacts | null = null;

  constructor(
    private readonly entries: EntryTable,
    /** null: decide from the input. */
    private readonly userFromBoot: boolean | null,
    private readonly earlyBootSeconds: number,
  ) {}

  /** Every event passes here first: the trace's clock and its losses. */
  see(ev: DmaEvent): void {
    if (!this.started) this.start(ev);
    const k = ev.kind;
    if (k === EventKind.Lost) {
      if (ev.damaged) this.noteDamaged(ev.cpu);
      else this.noteLoss(ev.cpu, ev.lost);
    } else if (k === EventKind.CpuCutShort) {
      // before any event was read, none of this CPU's events were
      this.noteCutShort(ev.cpu, this.firstTs === null ? null : tsString(ev.tsSec, ev.tsNs, ev.tsDigits));
    } else {
      if (this.firstTs === null) this.firstTs = tsString(ev.tsSec, ev.tsNs, ev.tsDigits);
      this.lastTsSec = ev.tsSec;
      this.lastTsNs = ev.tsNs;
      this.lastTsDigits = ev.tsDigits;
    }
  }

  /** Decides whether the trace covers everything since boot, when the first event arrives. */
  private start(ev: DmaEvent): void {
    this.started = true;
    const f = this.facts;
    const at = tsString(ev.tsSec, ev.tsNs, ev.tsDigits);
    if (this.userFromBoot !== null) {
      this.fromBoot = this.userFromBoot;
      this.decidedBy = 'set by the user';
    } else if (f?.overwritten) {
      this.fromBoot = false;
      this.decidedBy = `the ring buffer overwrote ${f.overwrittenCount} events before it was read`;
    } else if (ev.kind === EventKind.CpuCutShort) {
      this.fromBoot = false;
      this.decidedBy = `the input is damaged before CPU ${ev.cpu}'s first event`;
    } else if (ev.tsSec + ev.tsNs / 1e9 > this.earlyBootSeconds) {
      this.fromBoot = false;
      this.decidedBy = `the first event is at ${at} s, after early boot (> ${this.earlyBootSeconds} s)`;
    } else if (ev.kind === EventKind.Lost) {
      this.fromBoot = false;
      this.decidedBy = ev.damaged
        ? 'the input starts with a line it could not read'
        : 'the input starts with lost events';
    } else {
      this.fromBoot = true;
      this.decidedBy = `the first event is at ${at} s (early boot) and nothing was overwritten`;
    }
  }

  /** A direct (library) session: no trace, so the caller vouches for coverage. */
  startDirect(): void {
    if (this.started) return;
    this.started = true;
    this.fromBoot = this.userFromBoot ?? true;
    this.decidedBy = this.userFromBoot === null ? 'library calls (the caller sees every call)' : 'set by the user';
  }

  private noteLoss(cpu: number, count: number): void {
    this.epoch++;
    this.entries.noteLoss();
    this.lossNotices++;
    this.lostEvents += count;
    this.lostByCpu.set(cpu, (this.lostByCpu.get(cpu) ?? 0) + count);
  }

  /** A line/record of `cpu` (or ALL_CPUS) could not be read: one lost event, a new epoch like a notice's. */
  private noteDamaged(cpu: number): void {
    this.epoch++;
    this.entries.noteLoss();
    this.damagedLines++;
    this.damagedByCpu.set(cpu, (this.damagedByCpu.get(cpu) ?? 0) + 1);
  }

  /** Every later event of `cpu` is missing: an epoch that never ends. */
  private noteCutShort(cpu: number, from: string | null): void {
    this.epoch++;
    this.entries.noteLoss();
    this.entries.noteOngoingLoss();
    this.cutShort.push({ cpu, from });
  }

  /** A CPU was cut short: its later events are all missing. */
  get lossOngoing(): boolean {
    return this.cutShort.length > 0;
  }

  // ---- verdicts ----

  /** A lookup that found nothing proves a bug: the trace saw every map since boot. */
  get absenceProven(): boolean {
    return this.fromBoot && this.epoch === 0;
  }

  /** A record made in loss epoch `epoch` still proves what followed it (no loss since, none ongoing). */
  recordProven(epoch: number): boolean {
    return epoch === this.epoch && !this.lossOngoing;
  }

  /**
   * The latest unmap at an address (a record made in loss epoch `epoch`) proves
   * that no mapping is left there: nothing was mapped there since (no loss
   * since), and no twin, a second live mapping of the same address (the kernel
   * allows them), was mapped before it unseen (no loss before it either: a
   * lost map of a twin leaves the record's unmap releasing the other one). Twins
   * that predate a late trace are not weighed: the record is taken as the one
   * mapping the trace saw there.
   */
  recentUnmapProven(epoch: number): boolean {
    return epoch === 0 && this.epoch === 0;
  }

  /** The entry pool is modelled (the kernel's counters are only known from boot). */
  get poolModelled(): boolean {
    return this.fromBoot;
  }

  /** Running out of pool entries is proven: no unmap can be missing. */
  get poolExhaustionProven(): boolean {
    return this.epoch === 0;
  }

  /**
   * Past the overlap limit, the count may hold mappings whose unmaps were lost:
   * proven only when nothing was lost, or by `fresh` mappings made since the
   * latest loss (the owner, MAX_OVERLAP overlaps, and this one).
   */
  overlapLimitProven(fresh: () => number): boolean {
    return this.epoch === 0 || fresh() > MAX_OVERLAP + 1;
  }

  /** Why an unmapped lookup is unconfirmed. */
  absenceNote(what: 'mapping' | 'sg mapping'): string {
    return this.epoch > 0
      ? `events were lost, so the ${what} may be missing from the trace`
      : `the ${what} may predate the trace`;
  }

  /** Why a finding is unconfirmed: once a CPU was cut short, that is the reason that always holds. */
  unprovenNote(why: string | null): string | null {
    if (!this.lossOngoing) return why;
    const c = this.cutShort[0]!;
    const missing =
      c.from === null
        ? `none of CPU ${c.cpu}'s events could be read`
        : `CPU ${c.cpu}'s events after ${c.from} s are missing`;
    return `${missing} (damaged input), and this may depend on them`;
  }

  get lastTs(): string | null {
    return this.firstTs !== null ? tsString(this.lastTsSec, this.lastTsNs, this.lastTsDigits) : null;
  }

  report(unknownPhysEntries: number): CoverageReport {
    const lostByCpu: Record<string, number> = {};
    for (const [cpu, n] of [...this.lostByCpu].sort((a, b) => a[0] - b[0])) lostByCpu[String(cpu)] = n;
    const damagedByCpu: Record<string, number> = {};
    for (const [cpu, n] of [...this.damagedByCpu].sort((a, b) => a[0] - b[0])) {
      damagedByCpu[cpu === ALL_CPUS ? 'all' : String(cpu)] = n;
    }
    return {
      fromBoot: this.fromBoot,
      decidedBy: this.started ? this.decidedBy : 'no events',
      firstTs: this.firstTs,
      lastTs: this.lastTs,
      lossNotices: this.lossNotices,
      lostEvents: this.lostEvents,
      lostByCpu,
      damagedLines: this.damagedLines,
      damagedByCpu,
      complete: this.absenceProven,
      overwritten: this.facts?.overwrittenCount ?? 0,
      unknownUnmaps: this.unknownUnmaps,
      unknownSyncs: this.unknownSyncs,
      truncatedSgCalls: this.truncatedSgCalls,
      unknownPhysEntries,
      cutShort: this.cutShort.map((c) => ({ ...c })),
    };
  }
}

/** "sec.frac" with the source's number of fractional digits. */
export function tsString(sec: number, ns: number, digits: number): string {
  if (digits <= 0) return String(sec);
  const frac = digits >= 9 ? ns : Math.floor(ns / 10 ** (9 - digits));
  return `${sec}.${String(frac).padStart(digits, '0')}`;
}
