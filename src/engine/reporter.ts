// The error policy: turns a check that fired into a Finding, the way
// err_printk() decides what the kernel prints. It owns the kernel's error_count
// and num_errors budget, the driver filter, the severity from the catalogue's
// rule and the coverage verdict, the kernel-false-positive flag, and the
// snapshot of the entry a finding is about. Checks call fire()/err(); nothing
// else makes findings. Findings leave through the gate (gate.ts), which holds
// an error that rests on the trace's history until no late loss notice can
// still concern it, and a finding made by a traced call until the call's
// stack (the record after it on its CPU) has come or cannot come. Meanwhile a
// finding is a row of held-findings.ts, and becomes a Finding as it goes out.

import { CHECKS, type CheckDef, type CheckId } from './catalogue.js';
import { EventKind } from './events.js';
import type { FindingSink, InputPositions, MappingInfo, Severity } from './findings.js';
import { FindingGate } from './gate.js';
import { HeldFindings } from './held-findings.js';
import type { EngineState } from './state.js';

export class Reporter {
  errorCount = 0;
  private showNumErrors: number;
  readonly findingCounts = new Map<CheckId, number>();
  readonly severityCounts = { error: 0, unconfirmed: 0, info: 0 };

  readonly gate: FindingGate;
  /** The findings the gate holds, by id. */
  private readonly held = new HeldFindings();

  constructor(
    private readonly s: EngineState,
    sink: FindingSink,
  ) {
    this.showNumErrors = s.config.numErrors;
    this.gate = new FindingGate(
      (id) => sink(this.held.take(id, s.names)),
      (id, cpu, after) => this.downgrade(id, cpu, after),
      // (the mapping of a map that fails a check gets this stack too: take() sees to it)
      (id, stack) => this.held.setCallStack(id, stack),
    );
  }

  /** A held error that a late loss notice concerns: unconfirmed, saying why. */
  private downgrade(id: number, cpu: number, after: string): void {
    const who = cpu < 0 ? 'every CPU' : `CPU ${cpu}`;
    const since = after === 'the start' ? 'before its first event shown' : `after ${after} s`;
    this.held.downgrade(
      id,
      `${who} lost events ${since} (the tracer said so only with a later event), and this may depend on them`,
    );
    this.severityCounts.error--;
    this.severityCounts.unconfirmed++;
  }

  /**
   * err_printk(): an error when `proven`, with an optional `proof` note;
   * otherwise unconfirmed, with the reason `whyUnproven` (coverage's wording).
   */
  err(
    check: CheckId,
    text: string,
    dev: number,
    entry: number,
    proven: boolean,
    whyUnproven: string | null,
    proof: string | null = null,
    driverName: string | null = null,
  ): void {
    const note = proven ? proof : this.s.cov.unprovenNote(whyUnproven);
    this.fire(check, proven ? 'error' : 'unconfirmed', text, dev, entry, note, driverName);
  }

  /**
   * The kernel prints this check's text here, but on correct code: report its
   * line, so it matches dmesg, as info flagged with why.
   */
  kernelFalsePositive(check: CheckId, text: string, dev: number, entry: number, why: string): void {
    this.fire(check, 'info', text, dev, entry, null, null, why);
  }

  /** A finding of `check` with the given severity (info rows, and what err() decided). */
  fire(
    check: CheckId,
    severity: Severity,
    text: string,
    dev: number,
    entry: number,
    note: string | null,
    driverName: string | null = null,
    falsePositive: string | null = null,
  ): void {
    const def: CheckDef = CHECKS[check];
    const bare = def.bare === true;
    const device = dev >= 0 ? this.s.names.devices.name(dev) : null;
    const driver = driverName ?? (device !== null ? (this.s.config.drivers?.get(device) ?? null) : null);
    let shown = true;
    if ((def.origin === 'ours' && def.kernelText !== true) || falsePositive !== null) {
      // not the kernel's error_count nor its num_errors budget; the driver filter applies
      shown = this.passesDriverFilter(device, driver);
    } else if (severity === 'error' && !bare) {
      this.errorCount++;
      shown = this.passesDriverFilter(device, driver) && this.showNumErrors > 0;
      if (this.showNumErrors !== Number.POSITIVE_INFINITY && this.showNumErrors > 0) this.showNumErrors--;
    } else if (severity === 'unconfirmed') {
      shown = this.passesDriverFilter(device, driver);
    }
    this.severityCounts[severity]++;
    this.findingCounts.set(check, (this.findingCounts.get(check) ?? 0) + 1);
    this.s.stats.finding(dev, check);
    const ev = this.s.cur;
    const id = this.held.put(
      check,
      severity,
      text,
      dev,
      driver,
      bare,
      note,
      shown,
      falsePositive,
      this.positions,
      ev,
      this.s.entries,
      entry,
      this.s.cov.lastTsDigits,
    );
    // an error the trace proves from its history is held until no late notice can concern it;
    // one made by no event (an unbind after the input, a library call) has no notice to wait for.
    // A traced call's finding waits for its CPU's next record: the call's stack, if the trace has one.
    if (ev === null) this.gate.push(id, 0, 0, false);
    else {
      const held = severity === 'error' && def.severity === 'coverage';
      const waitCpu = ev !== this.s.directEvent && carriesStack(ev.kind) ? ev.cpu : -1;
      this.gate.push(id, ev.tsSec, ev.tsNs, held, waitCpu);
    }
  }

  private passesDriverFilter(device: string | null, driver: string | null): boolean {
    const want = this.s.config.driverFilter;
    if (!want) return true;
    if (driver !== null) return driver === want;
    return device === want;
  }

  /** What events' `line` counts in this input. */
  get positions(): InputPositions {
    return this.s.cov.facts?.positions ?? 'line';
  }

  /** A snapshot of entry e now, as a finding about it carries (for a dump line). */
  mappingInfo(e: number): MappingInfo {
    return this.held.mappingNow(this.s.entries, e, this.s.cov.lastTsDigits, this.s.names, this.positions);
  }
}

/**
 * Can a kernel stack follow an event of this kind? Every traced DMA-API call
 * and page free can; markers, unbinds, loss notices and stacks themselves
 * make no finding that a stack would belong to.
 */
function carriesStack(kind: EventKind): boolean {
  return (
    kind !== EventKind.Marker &&
    kind !== EventKind.Unbind &&
    kind !== EventKind.Lost &&
    kind !== EventKind.CpuCutShort &&
    kind !== EventKind.Stack
  );
}
