// `dmadebug stats` renderers: a text report (a per-device table of calls, live
// and peak mappings with the time of each peak; calls by type; syncs by kind;
// a one-line lifetime histogram per device; findings by check). The JSON
// object {type:"stats", ...} is json.ts's statsJson(), re-exported here.

import { isCount, tsUnit } from '../engine/coverage.js';
import { type ByType, type DeviceStats, type EngineStats, STAT_TYPES, sumByType } from '../engine/dev-stats.js';
import { humanBytes } from './units.js';

export { humanBytes };

const BARS = ' ▁▂▃▄▅▆▇█';

/** The histogram as one character per bucket, scaled to its largest bucket; any non-zero count shows. */
export function histogramBar(counts: readonly number[]): string {
  let max = 0;
  for (const c of counts) if (c > max) max = c;
  let s = '';
  for (const c of counts) {
    if (c === 0 || max === 0) s += BARS[0];
    else s += BARS[Math.max(1, Math.round((c / max) * (BARS.length - 1)))];
  }
  return s;
}

function table(rows: string[][], rightAlignFrom = 1): string[] {
  const widths: number[] = [];
  for (const r of rows) {
    for (let i = 0; i < r.length; i++) widths[i] = Math.max(widths[i] ?? 0, [...r[i]!].length);
  }
  return rows.map((r) =>
    r
      .map((c, i) => {
        const pad = ' '.repeat((widths[i] ?? 0) - [...c].length);
        return i >= rightAlignFrom ? pad + c : c + pad;
      })
      .join('  ')
      .trimEnd(),
  );
}

function name(d: DeviceStats): string {
  return d.driver ? `${d.device} (${d.driver})` : d.device;
}

function calls(x: ByType): number {
  return sumByType(x);
}

function peak(p: { value: number; at: string | null }, fmt: (n: number) => string): [string, string] {
  // (a counter clock's counts have no unit)
  return [fmt(p.value), p.at !== null ? (isCount(p.at) ? p.at : `${p.at} s`) : '-'];
}

/** The lifetime buckets' median, as the label of the bucket holding it, or null with no lifetimes. */
export function medianBucket(counts: readonly number[], labels: readonly string[]): string | null {
  const n = counts.reduce((a, b) => a + b, 0);
  if (n === 0) return null;
  let acc = 0;
  for (let b = 0; b < counts.length; b++) {
    acc += counts[b]!;
    if (acc * 2 >= n) {
      const lo = labels[b]!;
      const hi = labels[b + 1];
      return b === 0 || hi === undefined || hi.startsWith('>=') ? lo : `${lo}-${hi}`;
    }
  }
  return null;
}

export function statsText(s: EngineStats, label: string): string {
  const out: string[] = [];
  const span = s.firstTs !== null ? `, ${s.firstTs}..${s.lastTs}${tsUnit(s.firstTs)}` : '';
  const scope = s.fromBoot ? 'from boot' : 'partial (started after boot: live counts miss earlier mappings)';
  out.push(`${label}: ${s.events} dma/kmem events${span}, ${scope}`);
  if (s.devices.length === 0) {
    out.push('no DMA-API calls');
    return `${out.join('\n')}\n`;
  }
  const all = [...s.devices, s.totals];

  out.push('');
  const head = [
    'DEVICE',
    'MAPS',
    'UNMAPS',
    'SYNCS',
    'FAILED',
    'LIVE',
    'LIVE BYTES',
    'PEAK LIVE',
    'AT',
    'PEAK BYTES',
    'AT',
  ];
  const rows = [head];
  for (const d of all) {
    const syncs = d.syncs.singleForCpu + d.syncs.singleForDevice + d.syncs.sgForCpu + d.syncs.sgForDevice;
    rows.push([
      name(d),
      String(calls(d.maps)),
      String(calls(d.unmaps)),
      String(syncs),
      String(calls(d.failures)),
      String(d.live),
      humanBytes(d.liveBytes),
      ...peak(d.peakLive, String),
      ...peak(d.peakBytes, humanBytes),
    ]);
  }
  out.push(...table(rows));
  out.push(
    '  maps and unmaps count calls (frees and allocs included); live and peaks count entries (one per sg segment)',
  );

  out.push('');
  out.push('Calls by type (maps/unmaps, failed maps in brackets):');
  const used = STAT_TYPES.filter((t) => s.totals.maps[t] + s.totals.unmaps[t] + s.totals.failures[t] > 0);
  const typeRows = [['DEVICE', ...used.map((t) => t.toUpperCase())]];
  for (const d of all) {
    typeRows.push([
      name(d),
      ...used.map((t) => `${d.maps[t]}/${d.unmaps[t]}${d.failures[t] > 0 ? ` [${d.failures[t]}]` : ''}`),
    ]);
  }
  out.push(...table(typeRows).map((l) => `  ${l}`));

  const t = s.totals.syncs;
  if (t.singleForCpu + t.singleForDevice + t.sgForCpu + t.sgForDevice > 0) {
    out.push('');
    out.push('Syncs:');
    const syncRows = [['DEVICE', 'SINGLE FOR CPU', 'SINGLE FOR DEVICE', 'SG FOR CPU', 'SG FOR DEVICE']];
    for (const d of all) {
      const y = d.syncs;
      syncRows.push([
        name(d),
        String(y.singleForCpu),
        String(y.singleForDevice),
        String(y.sgForCpu),
        String(y.sgForDevice),
      ]);
    }
    out.push(...table(syncRows).map((l) => `  ${l}`));
  }

  out.push('');
  const labels = s.lifetimeBuckets;
  out.push(`Mapping lifetimes (unmap - map; log2 buckets from ${labels[0]} to ${labels[labels.length - 1]}):`);
  if (s.firstTs !== null && isCount(s.firstTs)) {
    out.push('  (the trace clock is a counter: a bucket of 1us holds 1000 counts, whatever the counter rate)');
  }
  const nameWidth = Math.max(...all.map((d) => [...name(d)].length));
  // An axis under the bars: a tick at <1us, 1ms (2^10 us) and 1s (2^20 us).
  const axis = [...' '.repeat(labels.length)];
  const ticks: Array<[number, string]> = [
    [0, '<1us'],
    [11, '1ms'],
    [21, '1s'],
  ];
  let axisLine = '';
  for (const [b, text] of ticks) {
    if (b >= axis.length) continue;
    axisLine = axisLine.padEnd(b, ' ');
    if (axisLine.length > b) continue;
    axisLine += `^${text}`;
  }
  for (const d of all) {
    const n = d.lifetimes.reduce((a, b) => a + b, 0);
    const med = medianBucket(d.lifetimes, labels);
    const tail = n > 0 ? `  n=${n}, median ${med}` : '  n=0';
    out.push(`  ${name(d).padEnd(nameWidth)}  |${histogramBar(d.lifetimes)}|${tail}`);
  }
  out.push(`  ${' '.repeat(nameWidth)}   ${axisLine}`);

  const withFindings = all.filter((d) => Object.keys(d.findings).length > 0);
  const deviceless = Object.keys(s.findings).length > 0 && withFindings.length === 0;
  if (withFindings.length > 0 || deviceless) {
    out.push('');
    out.push('Findings by check:');
    for (const d of s.devices) {
      const f = Object.entries(d.findings);
      if (f.length > 0) out.push(`  ${name(d)}: ${f.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    }
    const allF = Object.entries(s.findings);
    out.push(`  all: ${allF.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  }
  return `${out.join('\n')}\n`;
}

/** `stats --json`: see report/json.ts, which owns every JSON shape. */
export { statsJson } from './json.js';
