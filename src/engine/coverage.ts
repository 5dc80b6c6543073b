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
import { ALL_CPUS, type DmaEvent, EventKind, type InputFacts, MAX_CPUS } from './events.js';
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
  /**
   * An overwritten ring buffer: the CPUs whose oldest events were overwritten
   * and when each one's kept events begin (null: it kept none), and from when
   * every CPU's window is open (null: never), which is where proofs that rest
   * on the absence of events can start.
   */
  windows: {
    late: Array<{ cpu: number; from: string | null }>;
    allFrom: string | null;
    /** The input said its buffer overwrote; false: it starts late without saying, so it may have. */
    known: boolean;
  } | null;
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
  /**
   * An overwritten ring buffer keeps a different window of events per CPU. The
   * CPUs that lost their oldest events, with the timestamp of each one's first
   * kept event ('' while none has come); null when nothing was overwritten.
   */
  private windows: Map<number, string> | null = null;
  /** How many of `windows` have not begun; -1: unknown CPUs (the input named none), so never all. */
  private windowsWaiting = 0;
  private allWindowsFrom: string | null = null;
  /** The input said its buffer overwrote (false: it starts late and does not say). */
  private windowsKnown = true;

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
    if (this.windowsWaiting !== 0 && k !== EventKind.Lost && k !== EventKind.CpuCutShort) this.windowBegins(ev);
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
      this.openWindows(f);
    } else if (ev.kind === EventKind.CpuCutShort) {
      this.fromBoot = false;
      this.decidedBy = `the input is damaged before CPU ${ev.cpu}'s first event`;
    } else if (ev.tsDigits === 0 && ev.kind !== EventKind.Lost) {
      // x86-tsc, counter, ...: counts of an unknown rate, which tell no time since boot
      this.fromBoot = false;
      this.decidedBy = `the trace clock is a counter (the first event is at count ${at}), not seconds: nothing shows the trace began at boot`;
      if (f && !f.overwriteKnown) this.openWindows(f, false);
    } else if (ev.tsSec + ev.tsNs / 1e9 > this.earlyBootSeconds) {
      this.fromBoot = false;
      this.decidedBy = `the first event is at ${at} s, after early boot (> ${this.earlyBootSeconds} s)`;
      if (f && !f.overwriteKnown) this.openWindows(f, false);
    } else if (ev.kind === EventKind.Lost) {
      this.fromBoot = false;
      this.decidedBy = ev.damaged
        ? 'the input starts with a line it could not read'
        : 'the input starts with lost events';
      if (f && !f.overwriteKnown) this.openWindows(f, false);
    } else {
      this.fromBoot = true;
      this.decidedBy = `the first event is at ${at} s (early boot) and nothing was overwritten`;
    }
  }

  /**
   * An overwritten buffer: each CPU's kept events begin at its own time. Until
   * every CPU that lost events has shown its first kept one, a proof could rest
   * on events some CPU no longer has: nothing is fresh and no absence is proven.
   * `known`: the input says it overwrote; else it starts late and does not say
   * (trace-cmd report's text, trace_pipe), so every CPU may have.
   */
  private openWindows(f: InputFacts, known = true): void {
    this.windowsKnown = known;
    // a CPU count no kernel has (a damaged input that slipped through) is as good as none
    const cpus = f.cpus <= MAX_CPUS ? f.cpus : 0;
    const late = f.overwrittenCpus ?? Array.from({ length: cpus }, (_, i) => i);
    this.windows = new Map(late.map((c) => [c, '']));
    this.windowsWaiting = f.overwrittenCpus === null && cpus === 0 ? -1 : late.length;
    // what came before the first kept event is lost
    this.epoch++;
    this.entries.noteLoss();
    this.entries.windowsPending = this.windowsWaiting !== 0;
  }

  private windowBegins(ev: DmaEvent): void {
    const w = this.windows!;
    if (w.get(ev.cpu) !== '') {
      // a CPU the input did not name (the CPU count was unknown): it kept events too
      if (this.windowsWaiting > 0 || w.has(ev.cpu)) return;
      w.set(ev.cpu, tsString(ev.tsSec, ev.tsNs, ev.tsDigits));
      return;
    }
    w.set(ev.cpu, tsString(ev.tsSec, ev.tsNs, ev.tsDigits));
    if (this.windowsWaiting > 0 && --this.windowsWaiting === 0) {
      // every window is open from here: a new epoch, since earlier spans were not covered by all
      this.allWindowsFrom = tsString(ev.tsSec, ev.tsNs, ev.tsDigits);
      this.epoch++;
      this.entries.noteLoss();
      this.entries.windowsPending = false;
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

  /** A CPU was cut short (its later events are all missing), or a CPU's window has not begun. */
  get lossOngoing(): boolean {
    return this.cutShort.length > 0 || this.windowsWaiting !== 0;
  }

  // ---- verdicts ----

  /** A lookup that found nothing proves a bug: the trace saw every map since boot. */
  get absenceProven(): boolean {
    return this.fromBoot && this.epoch === 0;
  }

  /**
   * Why an unmap at an address the trace saw unmapped (a record made in loss
   * epoch `epoch`) is not a proven double unmap. That proof is absenceProven:
   * short of every event since boot, a map at the address since may be
   * missing, or a twin (a second live mapping of the same address, which the
   * kernel allows) mapped before the trace began or behind a loss, whose
   * unmap this one is.
   */
  twinNote(epoch: number): string {
    if (epoch !== this.epoch) return 'events were lost since, so a map at this address since may be missing';
    return this.fromBoot
      ? 'events were lost before it, so a second mapping of this address may have been live'
      : 'a second mapping of this address made before the trace began may have been live';
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
    if (this.cutShort.length === 0) {
      let cpu = -1;
      for (const [c, from] of this.windows!) if (from === '' && cpu < 0) cpu = c;
      const who = cpu >= 0 ? `CPU ${cpu}` : 'a CPU';
      const gone = this.windowsKnown ? 'overwrote its oldest events' : 'may have overwritten its oldest events';
      return `the ring buffer ${gone} and ${who} has shown none of the events it kept yet, so this may depend on events that are gone`;
    }
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
      windows: this.windows
        ? {
            late: [...this.windows]
              .sort((a, b) => a[0] - b[0])
              .map(([cpu, from]) => ({ cpu, from: from === '' ? null : from })),
            allFrom: this.allWindowsFrom,
            known: this.windowsKnown,
          }
        : null,
    };
  }
}

/** "sec.frac" with the source's number of fractional digits; a counter clock's count as one integer. */
export function tsString(sec: number, ns: number, digits: number): string {
  // (DmaEvent.tsDigits)
  if (digits <= 0) return sec === 0 ? String(ns) : `${sec}${String(ns).padStart(9, '0')}`;
  const frac = digits >= 9 ? ns : Math.floor(ns / 10 ** (9 - digits));
  return `${sec}.${String(frac).padStart(digits, '0')}`;
}

/** Is a tsString() time a counter clock's count? Seconds always print a fraction, counts never do. */
export function isCount(ts: string): boolean {
  return !ts.includes('.');
}

/** The unit after a span of tsString() times. */
export function tsUnit(ts: string): string {
  return isCount(ts) ? ' (counter clock counts, not seconds)' : ' s';
}
