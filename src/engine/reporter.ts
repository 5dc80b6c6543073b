// The error policy: turns a check that fired into a Finding, the way
// err_printk() decides what the kernel prints. It owns the kernel's error_count
// and num_errors budget, the driver filter, the severity from the catalogue's
// rule and the coverage verdict, the kernel-false-positive flag, and the
// snapshot of the entry a finding is about. Checks call fire()/err(); nothing
// else makes findings. Findings leave through the gate (gate.ts), which holds
// an error that rests on the trace's history until no late loss notice can
// still concern it, and a finding made by a traced call until the call's
// stack (the record after it on its CPU) has come or cannot come.

import { addr, CHECKS, type CheckDef, type CheckId, pa } from './catalogue.js';
import { tsString } from './coverage.js';
import { EventKind } from './events.js';
import type { EventRef, Finding, FindingSink, InputPositions, MappingInfo, Severity } from './findings.js';
import { FindingGate } from './gate.js';
import { DIR_NAMES, TYPE_NAMES } from './model.js';
import type { EngineState } from './state.js';

export class Reporter {
  errorCount = 0;
  private showNumErrors: number;
  readonly findingCounts = new Map<CheckId, number>();
  readonly severityCounts = { error: 0, unconfirmed: 0, info: 0 };

  readonly gate: FindingGate;

  constructor(
    private readonly s: EngineState,
    sink: FindingSink,
  ) {
    this.showNumErrors = s.config.numErrors;
    this.gate = new FindingGate(
      sink,
      (f, cpu, after) => this.downgrade(f, cpu, after),
      (f, stack) => this.callStack(f, stack),
    );
  }

  /**
   * The stack of the call that made f came. When f's mapping was made by that
   * same call (a map that fails a check), the mapping's stack is that stack
   * too: the snapshot was taken before it came.
   */
  private callStack(f: Finding, stack: number): void {
    const frames = this.s.names.stacks.name(stack).split('\n');
    f.stack = frames;
    const m = f.mapping;
    if (m !== null && m.stack === null && f.at.line > 0 && sameRef(m.mappedAt, f.at)) m.stack = frames;
  }

  /** A held error that a late loss notice concerns: unconfirmed, saying why. */
  private downgrade(f: Finding, cpu: number, after: string): void {
    f.severity = 'unconfirmed';
    const who = cpu < 0 ? 'every CPU' : `CPU ${cpu}`;
    const since = after === 'the start' ? 'before its first event shown' : `after ${after} s`;
    f.note = `${who} lost events ${since} (the tracer said so only with a later event), and this may depend on them`;
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
    const f: Finding = {
      check,
      severity,
      message: text,
      device,
      driver,
      bare,
      at: this.eventRef(),
      stack: null,
      mapping: entry >= 0 ? this.mappingInfo(entry) : null,
      note,
      shown,
      kernelFalsePositive: falsePositive,
    };
    const ev = this.s.cur;
    // an error the trace proves from its history is held until no late notice can concern it;
    // one made by no event (an unbind after the input, a library call) has no notice to wait for.
    // A traced call's finding waits for its CPU's next record: the call's stack, if the trace has one.
    if (ev === null) this.gate.push(f, 0, 0, false);
    else {
      const held = severity === 'error' && def.severity === 'coverage';
      const waitCpu = ev !== this.s.directEvent && carriesStack(ev.kind) ? ev.cpu : -1;
      this.gate.push(f, ev.tsSec, ev.tsNs, held, waitCpu);
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

  private eventRef(): EventRef {
    const ev = this.s.cur;
    if (!ev) return { line: 0, positions: this.positions, ts: '', cpu: 0, pid: 0, comm: '' };
    return {
      line: ev.line,
      positions: this.positions,
      ts: tsString(ev.tsSec, ev.tsNs, ev.tsDigits),
      cpu: ev.cpu,
      pid: ev.pid,
      comm: ev.comm >= 0 ? this.s.names.comms.name(ev.comm) : '',
    };
  }

  /** A snapshot of entry e, for a finding or a dump line. */
  mappingInfo(e: number): MappingInfo {
    const { entries: t, names } = this.s;
    const known = t.physKnown(e);
    const st = t.stack(e);
    return {
      type: TYPE_NAMES[t.type(e)] ?? '?',
      direction: DIR_NAMES[t.dir(e)] ?? '?',
      dmaAddr: addr(t.dmaHi(e), t.dmaLo(e)),
      size: t.size(e),
      physAddr: known ? pa(t.physHi(e), t.physLo(e)) : null,
      sgCallEnts: t.sgCall(e),
      sgMappedEnts: t.sgMapped(e),
      mappedAt: {
        line: t.line(e),
        positions: this.positions,
        ts: t.line(e) > 0 || t.tsSec(e) > 0 ? tsString(t.tsSec(e), t.tsNs(e), this.s.cov.lastTsDigits) : '',
        cpu: t.cpu(e),
        pid: t.pid(e),
        comm: t.comm(e) >= 0 ? names.comms.name(t.comm(e)) : '',
      },
      stack: st >= 0 ? names.stacks.name(st).split('\n') : null,
    };
  }
}

/** Two references to the same record of the input (its line or record number, and CPU). */
function sameRef(a: EventRef, b: EventRef): boolean {
  return a.line === b.line && a.cpu === b.cpu;
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
