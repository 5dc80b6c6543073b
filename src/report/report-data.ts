// The data an HTML report carries: one JSON object in a
// <script type="application/json" id="report-data"> element, written by the
// Node side (report/collect.ts, report/html.ts) and read by the browser script
// (report/web/app.ts). Types only, and it imports only types from
// engine/findings.ts (which imports nothing), so the browser bundle can take it.
//
// Its size is bounded whatever the trace's length: the timeline has at most
// maxBuckets buckets per device, the findings table at most `cap` rows, the
// leak-at-end list at most its `cap` groups (stacks shared between rows and
// groups are stored once).

import type { EventRef, MappingInfo, Severity } from '../engine/findings.js';

export const REPORT_SCHEMA_VERSION = 1;

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
  firstTs: string | null;
  lastTs: string | null;
  fromBoot: boolean;
  /** Why the trace counts as from boot or not. */
  coverage: string;
  lostEvents: number;
  lossNotices: number;
  overwritten: number;
  /** Entries live at the end. */
  live: number;
  severities: Record<ReportSeverity, number>;
  /** Findings the kernel prints on correct code (counted in severities.info too). */
  kernelFalsePositives: number;
  /** The kernel profile the checks followed, and why. */
  profile: ReportProfile;
  /** Findings by check id (every finding, shown or not, as the engine counts them). */
  checks: Record<string, number>;
  /** The input error that stopped reading early, or null. */
  inputError: string | null;
}

export interface ReportProfile {
  /** "6.12" or "7.3". */
  kernel: string;
  /** "x86_64" or "arm64". */
  arch: string;
  /** What decided it, as the text summary says it: "(trace.dat uname option: ...)" or "— assumed: ...". */
  evidence: string;
  /** The kernel or the arch is an assumption (nothing in the input told). */
  assumed: boolean;
  /** Evidence that disagrees with the choice, or null. */
  conflict: string | null;
}

export interface ReportSeries {
  /** Device name, or "(all)" for the sum. */
  device: string;
  driver: string | null;
  /** Per bucket: the most live entries (one per sg segment) at any moment of it. */
  maxLive: number[];
  /** Per bucket: the most bytes mapped at any moment of it. */
  maxBytes: number[];
}

export interface ReportTimeline {
  /** Time of the first event in seconds (a float, for the chart's axis) and as printed. */
  start: number;
  startTs: string | null;
  /** Bucket width in ns; bucket i starts at start + i * widthNs / 1e9. */
  widthNs: number;
  buckets: number;
  /** The cap the sampler keeps the bucket count under. */
  maxBuckets: number;
  /** One series per device, sorted by name. */
  devices: ReportSeries[];
  total: ReportSeries;
  /** Shown findings per bucket: [error, unconfirmed, info]. Counts every finding, listed or not. */
  findings: [number[], number[], number[]];
  /** Lost events per bucket (a notice of unknown count counts 1). */
  lost: number[];
}

/** Where something happened: ts as printed ("" when unknown), input line or event number (0: unknown), cpu, pid, comm. */
export type ReportPlace = EventRef;

/** The entry a finding is about, as the engine describes it, with its stack as an index. */
export interface ReportMapping extends Omit<MappingInfo, 'stack'> {
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
  kernelFalsePositive: string | null;
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

export interface ReportDeviceStats {
  device: string;
  driver: string | null;
  maps: number;
  unmaps: number;
  syncs: number;
  failed: number;
  live: number;
  liveBytes: number;
  peakLive: number;
  peakLiveAt: string | null;
  peakBytes: number;
  peakBytesAt: string | null;
  /** Findings by check. */
  findings: Record<string, number>;
  /** Mapping lifetimes (unmap - map), counts per log2 bucket (ReportStats.lifetimeBuckets), as `stats` prints them. */
  lifetimes: number[];
  /** The bucket holding the median lifetime ("256us-512us"), as `stats` prints it; null with no lifetimes. */
  lifetimeMedian: string | null;
}

export interface ReportStats {
  devices: ReportDeviceStats[];
  totals: ReportDeviceStats;
  /** The lifetime buckets' labels, from "<1us" to ">=4.2s". */
  lifetimeBuckets: string[];
}
