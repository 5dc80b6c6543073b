// Findings and summaries made by hand for the renderer tests of the CI formats
// (ktap, junit, github), and a driver that feeds a renderer as `check` does.

import type { Finding } from '../../src/engine/findings.js';
import type { InputError } from '../../src/input/errors.js';
import {
  type FailOn,
  type FindingsRenderer,
  type FormatName,
  makeRenderer,
  PLAIN,
  SeverityFilter,
} from '../../src/report/format.js';
import type { SummaryData } from '../../src/report/json.js';

export function finding(over: Partial<Finding> = {}): Finding {
  return {
    check: 'unmap-size-mismatch',
    severity: 'error',
    message:
      'device driver frees DMA memory with different size [device address=0x0000000000001000] [map size=4096 bytes] [unmap size=2048 bytes]',
    device: '0000:00:02.0',
    driver: null,
    bare: false,
    at: { line: 12, positions: 'line', ts: '1.000002', cpu: 0, pid: 42, comm: 'insmod' },
    mapping: {
      type: 'single',
      direction: 'DMA_TO_DEVICE',
      dmaAddr: '0x0000000000001000',
      size: 4096,
      physAddr: null,
      sgCallEnts: 0,
      sgMappedEnts: 0,
      mappedAt: { line: 10, positions: 'line', ts: '1.000001', cpu: 0, pid: 42, comm: 'insmod' },
      stack: null,
    },
    stack: null,
    note: null,
    shown: true,
    kernelFalsePositive: null,
    ...over,
  };
}

export function summaryData(over: Partial<SummaryData> = {}): SummaryData {
  return {
    inputs: ['t.txt'],
    events: 10,
    lines: 10,
    skippedLines: 0,
    badLines: 0,
    findings: {},
    severities: { error: 0, unconfirmed: 0, info: 0 },
    kernelFalsePositives: 0,
    errorCount: 0,
    profile: {
      kernel: '7.3',
      arch: 'x86_64',
      kernelEvidence: 'set by the user (--kernel)',
      archEvidence: 'set by the user (--arch)',
      kernelAssumed: false,
      archAssumed: false,
      conflict: null,
    },
    live: 0,
    coverage: {
      fromBoot: true,
      decidedBy: 'test',
      firstTs: '1.000000',
      lastTs: '2.000000',
      lossNotices: 0,
      lostEvents: 0,
      lostByCpu: {},
      damagedLines: 0,
      damagedByCpu: {},
      complete: true,
      overwritten: 0,
      unknownUnmaps: 0,
      unknownSyncs: 0,
      truncatedSgCalls: 0,
      unknownPhysEntries: 0,
      cutShort: [],
      windows: null,
    },
    pool: {
      modelled: false,
      preallocated: 0,
      nrTotalEntries: 0,
      numFreeEntries: 0,
      minFreeEntries: 0,
      peakUsed: 0,
      disabled: false,
    },
    devices: [],
    leaks: [],
    driverNames: 'side-information',
    ...over,
  };
}

export interface FakeInput {
  label: string;
  kind?: 'text' | 'tracedat' | 'tracefs-raw';
  findings?: Finding[];
  summary?: SummaryData | null;
  error?: InputError | null;
  ms?: number;
}

/** Feeds a renderer as `check` does (with --min-severity's filter) and returns what it wrote. */
export function render(
  format: FormatName,
  inputs: FakeInput[],
  opts: { failOn?: FailOn; minSeverity?: 'error' | 'unconfirmed' | 'info' } = {},
): string {
  const filter = new SeverityFilter(opts.minSeverity ?? 'info');
  const r: FindingsRenderer = makeRenderer(format, {
    failOn: opts.failOn ?? 'error',
    minSeverity: filter.min,
    paint: PLAIN,
  });
  let out = r.begin(inputs.map((i) => i.label));
  for (const i of inputs) {
    for (const f of i.findings ?? []) {
      if (filter.passes(f)) out += r.finding(f, { label: i.label, kind: i.kind ?? 'text' });
    }
    const summary = i.summary === undefined ? summaryData({ inputs: [i.label] }) : i.summary;
    out += r.endInput({ label: i.label, summary, error: i.error ?? null, hidden: filter.take(), ms: i.ms ?? 5 });
  }
  return out + r.end();
}
