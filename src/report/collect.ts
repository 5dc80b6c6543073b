// Gathers what an HTML report shows while a trace replays: a pipeline tap
// samples each device's live counters into the timeline (report/timeline.ts),
// the finding sink keeps the first `maxRows` shown findings (and counts all of
// them per bucket, for the chart's markers), and `finish()` adds the engine's
// summary, leak-at-end groups and per-device stats (with their lifetime
// histograms) into one ReportData (report/report-data.ts).
//
//   const c = new ReportCollector();
//   const p = new Pipeline(input, { tap: c.tap, onFinding: c.onFinding });
//   c.attach(p.engine);
//   await p.run();
//   const data = c.finish(p.result(), label, tool);

import { isCount } from '../engine/coverage.js';
import type { DmaDebugEngine } from '../engine/engine.js';
import { type DmaEvent, EventKind } from '../engine/events.js';
import type { Finding } from '../engine/findings.js';
import type { ReplayResult } from '../pipeline.js';
import { coverageJson, locationJson, mappingJson, profileJson, statsObject } from './json.js';
import {
  REPORT_SCHEMA_VERSION,
  type ReportData,
  type ReportFinding,
  type ReportLeak,
  type ReportSeries,
} from './report-data.js';
import { medianBucket } from './stats.js';
import { callSite, profileEvidence } from './summary.js';
import { warningLine } from './text.js';
import { parseTs, type SeriesData, TimelineSampler } from './timeline.js';

export const DEFAULT_MAX_ROWS = 5000;
/** Leak-at-end groups listed (check's summary prints 5; each group may carry a stack). */
export const DEFAULT_MAX_LEAKS = 1000;

export interface CollectorOptions {
  /** Timeline buckets (even; default 4096). */
  maxBuckets?: number;
  /** Findings listed in the table (default 5000); all are counted. */
  maxRows?: number;
  /** Leak-at-end groups listed (default 1000); all are counted. */
  maxLeaks?: number;
}

export class ReportCollector {
  readonly sampler: TimelineSampler;
  readonly maxRows: number;
  readonly maxLeaks: number;
  private engine: DmaDebugEngine | null = null;
  private readonly rows: Array<{ f: Finding; t: number | null }> = [];
  private readonly stackIds = new Map<string, number>();
  private readonly stacks: string[][] = [];
  private shown = 0;
  private hidden = 0;

  constructor(opts: CollectorOptions = {}) {
    this.sampler = new TimelineSampler(opts.maxBuckets !== undefined ? { maxBuckets: opts.maxBuckets } : {});
    this.maxRows = opts.maxRows ?? DEFAULT_MAX_ROWS;
    this.maxLeaks = opts.maxLeaks ?? DEFAULT_MAX_LEAKS;
  }

  /** The engine whose per-device counters the tap reads. */
  attach(engine: DmaDebugEngine): void {
    this.engine = engine;
  }

  /** ReplayOptions.tap: after the engine handled `ev`, sample its device. */
  readonly tap = (ev: DmaEvent): void => {
    if (ev.kind === EventKind.Lost) {
      this.sampler.lost(ev.lost);
      return;
    }
    this.sampler.time(ev.tsSec, ev.tsNs);
    const dev = ev.device;
    if (dev < 0) return;
    const s = this.engine?.deviceState(dev);
    if (s) this.sampler.set(dev, s.live, s.liveBytes);
  };

  /** ReplayOptions.onFinding (and the engine's sink for calls after the trace, such as unbinds). */
  readonly onFinding = (f: Finding): void => {
    if (!f.shown) {
      this.hidden++;
      return;
    }
    this.shown++;
    const ts = parseTs(f.at.ts);
    if (ts) this.sampler.finding(ts[0], ts[1], f.severity);
    else this.sampler.findingNow(f.severity);
    // rows are made at finish(), which knows the input's name their places carry
    // (t in the timeline's unit: seconds, or a counter clock's count / 10^9)
    const t = ts === null ? null : isCount(f.at.ts) ? ts[0] + ts[1] / 1e9 : Number(f.at.ts);
    if (this.rows.length < this.maxRows) this.rows.push({ f, t });
  };

  private row(f: Finding, t: number | null, file: string): ReportFinding {
    const m = f.mapping;
    return {
      t,
      severity: f.severity,
      check: f.check,
      device: f.device,
      head: warningLine(f),
      message: f.message,
      note: f.note,
      kernel_false_positive: f.kernelFalsePositive,
      at: locationJson(f.at, file),
      stack: f.stack ? this.stackId(f.stack) : -1,
      mapping: m ? { ...mappingJson(m, file), stack: m.stack ? this.stackId(m.stack) : -1 } : null,
    };
  }

  private stackId(frames: string[]): number {
    const key = frames.join('\n');
    let id = this.stackIds.get(key);
    if (id === undefined) {
      id = this.stacks.length;
      this.stacks.push(frames);
      this.stackIds.set(key, id);
    }
    return id;
  }

  /** Everything the report shows. Call after the run (and after any unbinds applied at the end). */
  finish(
    r: Pick<ReplayResult, 'engine' | 'kind' | 'size' | 'error' | 'tally'>,
    label: string,
    tool: string,
  ): ReportData {
    const e = r.engine;
    const names = e.names.devices;
    // Calls after the trace (sidecar unbinds) changed counters without an event: sample them at the end.
    for (let dev = 0; dev < names.size; dev++) {
      const s = e.deviceState(dev);
      if (s) this.sampler.set(dev, s.live, s.liveBytes);
    }
    const tl = this.sampler.data();
    const stats = e.stats();
    const cov = e.coverage();
    const profile = e.profile();
    const drivers = e.config.drivers;
    const series = (device: string, d: SeriesData): ReportSeries => ({
      device,
      driver: drivers?.get(device) ?? null,
      max_live: d.maxLive,
      max_bytes: d.maxBytes,
    });
    const devices = [...tl.devices].map(([dev, d]) => series(names.name(dev), d));
    devices.sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
    const checks: Record<string, number> = {};
    for (const [k, v] of [...e.findingCounts].sort((a, b) => a[0].localeCompare(b[0]))) checks[k] = v;
    const leakGroups = e.leaksAtEnd();
    const leaks: ReportLeak[] = leakGroups.slice(0, this.maxLeaks).map((g) => ({
      device: g.device,
      driver: drivers?.get(g.device) ?? null,
      count: g.count,
      bytes: g.bytes,
      fresh: g.fresh,
      site: callSite(g.stack),
      stack: g.stack ? this.stackId(g.stack) : -1,
    }));
    return {
      schema: REPORT_SCHEMA_VERSION,
      tool,
      input: { label, kind: r.kind, bytes: r.size ?? null },
      summary: {
        events: e.eventCount,
        coverage: coverageJson(cov),
        live: e.live,
        severities: { ...e.severityCounts },
        kernel_false_positives: r.tally.kernelFalsePositives,
        profile: { ...profileJson(profile), evidence: profileEvidence(profile) },
        checks,
        input_error: r.error ? r.error.message : null,
      },
      timeline: {
        start: tl.startSec + tl.startNs / 1e9,
        start_ts: cov.firstTs,
        width_ns: tl.widthNs,
        buckets: tl.buckets,
        max_buckets: this.sampler.maxBuckets,
        devices,
        total: series('(all)', tl.total),
        findings: tl.findings,
        lost: tl.lost,
      },
      findings: {
        total: this.shown,
        hidden: this.hidden,
        cap: this.maxRows,
        rows: this.rows.map((x) => this.row(x.f, x.t, label)),
        stacks: this.stacks,
      },
      leaks: { total: leakGroups.length, cap: this.maxLeaks, groups: leaks },
      // the objects of `stats --json`, with the median lifetime bucket `stats` prints
      stats: (({ devices, totals, lifetime_buckets }) => ({
        devices: devices.map((d) => ({ ...d, lifetime_median: medianBucket(d.lifetimes, lifetime_buckets) })),
        totals: { ...totals, lifetime_median: medianBucket(totals.lifetimes, lifetime_buckets) },
        lifetime_buckets,
      }))(statsObject(stats, label, cov)),
    };
  }
}
