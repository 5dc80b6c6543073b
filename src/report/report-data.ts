// The data an HTML report carries: one JSON object in a
// <script type="application/json" id="report-data"> element, written by the
// Node side (report/collect.ts, report/html.ts) and read by the browser script
// (report/web/app.ts). Types only, and it imports only types, so the browser
// bundle can take it. It follows the JSON contract (report/json.ts): snake_case
// keys, and the contract's own shapes for a place in the input (`at`,
// `mapped_at`), an entry, coverage, the profile and a device's stats.
//
// Its size is bounded whatever the trace's length: the timeline has at most
// maxBuckets buckets per device, the findings table at most `cap` rows, the
// leak-at-end list at most its `cap` groups (stacks shared between rows and
// groups are stored once).

import type { Severity } from '../engine/findings.js';
import type { CoverageJson, LocationJson, MappingJson, ProfileJson, StatsDeviceJson, StatsTotalsJson } from './json.js';

export const REPORT_SCHEMA_VERSION = 2;

export type ReportSeverity = Severity;

export interface ReportData {
  schema: number;
  /** "dmadebug 0.1.0". */
  tool: string;
  input: {
    /** The trace as named on the command line. */
    label: string;
    kind: 'text' | 'tracedat' | 'tracefs-raw';
    /** Size on disk, when known. */
    bytes: number | null;
  };
  summary: ReportSummary;
  timeline: ReportTimeline;
  findings: ReportFindings;
  /** Mappings still live at the end, by device and call site (check's leak-at-end). */
  leaks: ReportLeaks;
  stats: ReportStats;
}

export interface ReportSummary {
  events: number;
  /** What the trace covered and lost: check's summary `coverage`. */
  coverage: CoverageJson;
  /** Entries live at the end. */
  live: number;
  severities: Record<ReportSeverity, number>;
  /** Findings the kernel prints on correct code (counted in severities.info too). */
  kernel_false_positives: number;
  /** The kernel profile the checks followed (check's summary `profile`), and its evidence as the text summary says it. */
  profile: ReportProfile;
  /** Findings by check id (every finding, shown or not, as the engine counts them). */
  checks: Record<string, number>;
  /** The input error that stopped reading early, or null. */
  input_error: string | null;
}

export interface ReportProfile extends ProfileJson {
  /** What decided it, as the text summary says it: "(trace.dat uname option: ...)" or "— assumed: ...". */
  evidence: string;
}

export interface ReportSeries {
  /** Device name, or "(all)" for the sum. */
  device: string;
  driver: string | null;
  /** Per bucket: the most live entries (one per sg segment) at any moment of it. */
  max_live: number[];
  /** Per bucket: the most bytes mapped at any moment of it. */
  max_bytes: number[];
}

export interface ReportTimeline {
  /** Time of the first event in seconds (a float, for the chart's axis) and as printed. */
  start: number;
  start_ts: string | null;
  /** Bucket width in ns; bucket i starts at start + i * width_ns / 1e9. */
  width_ns: number;
  buckets: number;
  /** The cap the sampler keeps the bucket count under. */
  max_buckets: number;
  /** One series per device, sorted by name. */
  devices: ReportSeries[];
  total: ReportSeries;
  /** Shown findings per bucket: [error, unconfirmed, info]. Counts every finding, listed or not. */
  findings: [number[], number[], number[]];
  /** Lost events per bucket (a notice of unknown count counts 1). */
  lost: number[];
}

/** Where something happened: a finding's `ts`, `cpu`, `pid`, `comm` and `source`. */
export type ReportPlace = LocationJson;

/** The entry a finding is about (a finding's `mapping`), with its stack as an index. */
export interface ReportMapping extends Omit<MappingJson, 'stack'> {
  /** Index into ReportFindings.stacks, or -1 when the trace had no stack. */
  stack: number;
}

export interface ReportFinding {
  /** Seconds (float) for the chart, or null for findings with no time (library calls after the trace). */
  t: number | null;
  severity: ReportSeverity;
  check: string;
  device: string | null;
  /** The kernel's first line: "DMA-API: <driver> <device>: <message>". */
  head: string;
  message: string;
  note: string | null;
  /** Why the kernel prints this line on correct code (a kernel false positive), or null. */
  kernel_false_positive: string | null;
  /** Where it happened. */
  at: ReportPlace;
  /** The offending call's stack: an index into ReportFindings.stacks, or -1 when the trace had none. */
  stack: number;
  mapping: ReportMapping | null;
}

export interface ReportFindings {
  /** Findings the error policy showed (what `check` prints). */
  total: number;
  /** Findings the error policy hid (--driver, --num-errors). */
  hidden: number;
  /** The most rows listed. */
  cap: number;
  rows: ReportFinding[];
  /** Stack frames, shared by the rows (and leak groups) that have the same stack. */
  stacks: string[][];
}

/** One leak-at-end group: the live mappings of one device from one call site. */
export interface ReportLeak {
  device: string;
  driver: string | null;
  count: number;
  bytes: number;
  /** How many were mapped since the last loss of events (the rest may have been unmapped unseen). */
  fresh: number;
  /** The call site as check's summary names it (the first frame outside the DMA API), or null with no stack. */
  site: string | null;
  /** The mapping stack: an index into ReportFindings.stacks, or -1 when the trace had none. */
  stack: number;
}

export interface ReportLeaks {
  /** Groups in all (the engine's order: by device, then most mappings first). */
  total: number;
  /** The most groups listed. */
  cap: number;
  groups: ReportLeak[];
}

/** The median lifetime bucket of a device, as `stats` prints it ("256us-512us"), null with no lifetimes. */
export interface ReportMedian {
  lifetime_median: string | null;
}

/** Per device, the objects of `stats --json` (`devices`, `totals`), with the median lifetime bucket. */
export interface ReportStats {
  devices: Array<StatsDeviceJson & ReportMedian>;
  totals: StatsTotalsJson & ReportMedian;
  /** The lifetime buckets' labels, from "<1us" to ">=4.2s". */
  lifetime_buckets: string[];
}
