// The JSON contract (schema 2; schemas/*.schema.json describe every field):
// JSON Lines of `finding` objects then a `summary` (check, live), one `stats`
// object (stats), `entry` objects (dump). This module owns every JSON shape
// dmadebug prints, and maps the engine's objects into them field by field, so
// the engine may rename its fields freely without the output changing.
//
// The rules: keys are snake_case; every top-level object has `type` and
// `schema`; addresses are "0x" + 16 hex digits; timestamps are strings (their
// nanoseconds survive); a place in the input is one `location` shape (ts, cpu,
// pid, comm, source) wherever it appears; a list of things is an array of
// objects (devices, leak groups), a tally by name is an object keyed by that
// name (findings by check, lost events by CPU). `schema` changes only when a
// change would break a consumer (a key removed, renamed or retyped); new keys
// may appear in the same version.

import type { DeviceStats, EngineStats } from '../engine/dev-stats.js';
import type { Coverage, DeviceCounts, DumpEntry, LeakGroup, PoolState } from '../engine/engine.js';
import type { EventRef, Finding, MappingInfo, Severity } from '../engine/findings.js';
import type { ProfileChoice } from '../engine/profiles.js';

export const JSON_SCHEMA_VERSION = 2;

/** Where in its input something is: a text line, or a binary record's CPU and byte offset. */
export type SourceJson =
  | { file: string; line: number }
  | { file: string; cpu: number; offset: number; offset_in: 'file' | 'cpu_data' };

/** One place in the input: the shape of a finding's own place, `mapped_at` and a dump entry's `mapped_at`. */
export interface LocationJson {
  ts: string | null;
  cpu: number | null;
  pid: number | null;
  comm: string | null;
  source: SourceJson | null;
}

/** `source` of an event: null when the event has no place in the input (library calls, after its end). */
export function sourceJson(r: EventRef, file: string): SourceJson | null {
  if (r.line <= 0) return null;
  if (r.positions === 'line') return { file, line: r.line };
  return { file, cpu: r.cpu, offset: r.line, offset_in: r.positions === 'file' ? 'file' : 'cpu_data' };
}

/** An event's place; every field null when it was made by no event of the input. */
export function locationJson(r: EventRef, file: string): LocationJson {
  const known = r.ts !== '' || r.line > 0;
  return {
    ts: r.ts !== '' ? r.ts : null,
    cpu: known ? r.cpu : null,
    pid: known ? r.pid : null,
    comm: r.comm !== '' ? r.comm : null,
    source: sourceJson(r, file),
  };
}

/** The entry a finding is about (a subset of a dump entry's fields, with the same names). */
export function mappingJson(m: MappingInfo, file: string) {
  return {
    entry_type: m.type,
    direction: m.direction,
    dma_addr: m.dmaAddr,
    size: m.size,
    phys_addr: m.physAddr,
    sg_call_ents: m.sgCallEnts,
    sg_mapped_ents: m.sgMappedEnts,
    mapped_at: locationJson(m.mappedAt, file),
    stack: m.stack,
  };
}

/** A finding as an object (findingJson() prints it). */
export function findingObject(f: Finding, input: string) {
  return {
    type: 'finding' as const,
    schema: JSON_SCHEMA_VERSION,
    check: f.check,
    severity: f.severity,
    message: f.message,
    device: f.device,
    driver: f.driver,
    ...locationJson(f.at, input),
    // The offending call's stack frames (the unmap, the sync, the free...), or null when the trace has none.
    stack: f.stack,
    note: f.note,
    // Why the kernel prints this line on correct code, or null: such a finding is never an error.
    kernel_false_positive: f.kernelFalsePositive,
    mapping: f.mapping ? mappingJson(f.mapping, input) : null,
  };
}

export function findingJson(f: Finding, input: string): string {
  return JSON.stringify(findingObject(f, input));
}

/** One device in check's summary: its calls and live entries. */
export interface SummaryDevice extends DeviceCounts {
  device: string;
  driver: string | null;
}

export interface SummaryData {
  inputs: string[];
  events: number;
  lines: number;
  skippedLines: number;
  badLines: number;
  findings: Record<string, number>;
  severities: { error: number; unconfirmed: number; info: number };
  /** Findings the kernel prints on correct code (counted in severities.info too). */
  kernelFalsePositives: number;
  errorCount: number;
  /** The kernel and arch profile the checks followed, and why. */
  profile: ProfileChoice;
  live: number;
  coverage: Coverage;
  pool: PoolState;
  /** Every device that made a call, sorted by name. */
  devices: SummaryDevice[];
  /** leak-at-end (info): mappings still live at the end, by device and call site. */
  leaks: LeakGroup[];
  driverNames: 'side-information' | 'bus-names';
}

/** A device's call counts (the fields check's summary and stats share). */
function countsJson(c: DeviceCounts) {
  return {
    maps: c.maps,
    unmaps: c.unmaps,
    allocs: c.allocs,
    frees: c.frees,
    syncs: c.syncs,
    map_failures: c.mapFailures,
    live: c.live,
  };
}

/** Findings --min-severity kept from the output (still counted in the summary). */
export interface Hidden {
  unconfirmed: number;
  /** Info findings, not counting the kernel's false positives. */
  info: number;
  kernelFalsePositives: number;
  /** The --min-severity that hid them. */
  below: Severity;
}

/**
 * The summary as JSON. `hidden` counts what --min-severity kept from the output (null when
 * nothing could be hidden: the default `info`, or a caller without a filter).
 */
export function summaryObject(s: SummaryData, hidden: Hidden | null = null) {
  return {
    type: 'summary' as const,
    schema: JSON_SCHEMA_VERSION,
    inputs: s.inputs,
    events: s.events,
    lines: s.lines,
    skipped_lines: s.skippedLines,
    bad_lines: s.badLines,
    findings: s.findings,
    severities: { error: s.severities.error, unconfirmed: s.severities.unconfirmed, info: s.severities.info },
    kernel_false_positives: s.kernelFalsePositives,
    error_count: s.errorCount,
    profile: profileJson(s.profile),
    live: s.live,
    coverage: coverageJson(s.coverage),
    pool: poolJson(s.pool),
    devices: s.devices.map((d) => ({ device: d.device, driver: d.driver, ...countsJson(d) })),
    leak_at_end: s.leaks.map(leakJson),
    driver_names: s.driverNames,
    hidden: hidden === null || hidden.below === 'info' ? null : hiddenJson(hidden),
  };
}

function hiddenJson(h: Hidden) {
  return {
    below: h.below,
    unconfirmed: h.unconfirmed,
    info: h.info,
    kernel_false_positives: h.kernelFalsePositives,
  };
}

export function summaryJson(s: SummaryData, hidden: Hidden | null = null): string {
  return JSON.stringify(summaryObject(s, hidden));
}

/** The profile as JSON: `assumed` lists what no evidence decided ("kernel", "arch"). */
export function profileJson(p: ProfileChoice) {
  const assumed: Array<'kernel' | 'arch'> = [];
  if (p.kernelAssumed) assumed.push('kernel');
  if (p.archAssumed) assumed.push('arch');
  return {
    kernel: p.kernel,
    arch: p.arch,
    kernel_evidence: p.kernelEvidence,
    arch_evidence: p.archEvidence,
    assumed,
    conflict: p.conflict,
  };
}

/** What the trace covered, and what it lost. */
export function coverageJson(c: Coverage) {
  return {
    from_boot: c.fromBoot,
    decided_by: c.decidedBy,
    first_ts: c.firstTs,
    last_ts: c.lastTs,
    complete: c.complete,
    loss_notices: c.lossNotices,
    lost_events: c.lostEvents,
    lost_by_cpu: { ...c.lostByCpu },
    damaged_lines: c.damagedLines,
    damaged_by_cpu: { ...c.damagedByCpu },
    overwritten: c.overwritten,
    unknown_unmaps: c.unknownUnmaps,
    unknown_syncs: c.unknownSyncs,
    truncated_sg_calls: c.truncatedSgCalls,
    unknown_phys_entries: c.unknownPhysEntries,
    cut_short: c.cutShort.map((x) => ({ cpu: x.cpu, from: x.from })),
    windows: c.windows
      ? {
          late: c.windows.late.map((w) => ({ cpu: w.cpu, from: w.from })),
          all_from: c.windows.allFrom,
          known: c.windows.known,
        }
      : null,
  };
}

export function poolJson(p: PoolState) {
  return {
    modelled: p.modelled,
    preallocated: p.preallocated,
    nr_total_entries: p.nrTotalEntries,
    num_free_entries: p.numFreeEntries,
    min_free_entries: p.minFreeEntries,
    peak_used: p.peakUsed,
    disabled: p.disabled,
  };
}

export function leakJson(g: LeakGroup) {
  return { device: g.device, stack: g.stack, count: g.count, bytes: g.bytes, fresh: g.fresh };
}

/** A live entry of `dump --json`: the debugfs dump line's fields, and where it was mapped. */
export function entryObject(e: DumpEntry, input: string) {
  return {
    type: 'entry' as const,
    schema: JSON_SCHEMA_VERSION,
    device: e.device,
    driver: e.driver,
    entry_type: e.type,
    direction: e.direction,
    dma_addr: e.dmaAddr,
    size: e.size,
    phys_addr: e.phys,
    cacheline: e.cln,
    bucket: e.bucket,
    map_error: e.mapError,
    attrs: e.attrs,
    sg_call_ents: e.sgCallEnts,
    sg_mapped_ents: e.sgMappedEnts,
    mapped_at: locationJson(e.mappedAt, input),
    stack: e.stack,
  };
}

export function entryJson(e: DumpEntry, input: string): string {
  return JSON.stringify(entryObject(e, input));
}

/** One device's stats (the totals: without device and driver). */
function deviceStatsJson(d: DeviceStats) {
  return {
    ...countsJson(d.counts),
    live_bytes: d.liveBytes,
    peak_live: { value: d.peakLive.value, ts: d.peakLive.at },
    peak_bytes: { value: d.peakBytes.value, ts: d.peakBytes.at },
    maps_by_type: { ...d.maps },
    unmaps_by_type: { ...d.unmaps },
    failures_by_type: { ...d.failures },
    syncs_by_kind: {
      single_for_cpu: d.syncs.singleForCpu,
      single_for_device: d.syncs.singleForDevice,
      sg_for_cpu: d.syncs.sgForCpu,
      sg_for_device: d.syncs.sgForDevice,
    },
    lifetimes: d.lifetimes,
    findings: d.findings,
  };
}

/** `stats --json`: one object; coverage is the summary's. */
export function statsObject(s: EngineStats, input: string, coverage: Coverage) {
  return {
    type: 'stats' as const,
    schema: JSON_SCHEMA_VERSION,
    input,
    events: s.events,
    coverage: coverageJson(coverage),
    lifetime_buckets: s.lifetimeBuckets,
    lifetime_bucket_start_ns: s.lifetimeBucketStartNs,
    devices: s.devices.map((d) => ({ device: d.device, driver: d.driver, ...deviceStatsJson(d) })),
    totals: deviceStatsJson(s.totals),
    findings: s.findings,
  };
}

export function statsJson(s: EngineStats, input: string, coverage: Coverage): string {
  return JSON.stringify(statsObject(s, input, coverage));
}

export type FindingJson = ReturnType<typeof findingObject>;
export type MappingJson = ReturnType<typeof mappingJson>;
export type SummaryJson = ReturnType<typeof summaryObject>;
export type ProfileJson = ReturnType<typeof profileJson>;
export type CoverageJson = ReturnType<typeof coverageJson>;
export type EntryJson = ReturnType<typeof entryObject>;
export type StatsJson = ReturnType<typeof statsObject>;
export type StatsDeviceJson = StatsJson['devices'][number];
export type StatsTotalsJson = StatsJson['totals'];
