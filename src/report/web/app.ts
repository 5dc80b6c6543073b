// The HTML report's browser script, bundled by esbuild into dist/report-assets/report.js
// and inlined into every report. It reads the JSON in #report-data and builds
// the page: a summary, a uPlot timeline (live mappings or mapped bytes per
// device, drag to zoom, double-click or "Reset zoom" to go back, finding
// markers by severity), the findings table (a click selects a row, marks its
// time on the chart and shows the message, the call's stack, the mapping and
// its stack; the first finding is selected when the page opens), the mappings
// live at the end by device and call site (leak-at-end, with their stacks),
// and the per-device stats with their mapping-lifetime histograms.
//
// Data only ever reaches the page through textContent: nothing from the trace
// is parsed as HTML.
//
// State the tests read: #chart[data-metric] ("live" or "bytes"), #chart[data-highlight] (the selected finding's
// timestamp, "" when none), #chart[data-highlight-visible] ("true" when it is
// inside the plotted range), #chart[data-markers] (marker buckets drawn),
// #details[data-finding] (the selected row's index, "" when none), the
// histogram bars' data-count, and body[data-ready] ("true" once everything is drawn).

import type uPlotNs from 'uplot';
import type { SourceJson, StatsDeviceJson, StatsTotalsJson } from '../json.js';
import type { ReportData, ReportFinding, ReportPlace, ReportSeries, ReportSeverity } from '../report-data.js';
import { humanBytes } from '../units.js';

type UPlot = uPlotNs;
const UPlotCtor = (globalThis as unknown as { uPlot: typeof uPlotNs }).uPlot;

const SEV_COLOR: Record<ReportSeverity, string> = { error: '#d93025', unconfirmed: '#e37400', info: '#5f6fa0' };
const SEV_ORDER: ReportSeverity[] = ['error', 'unconfirmed', 'info'];
const PALETTE = [
  '#2f6fdf',
  '#1a9e77',
  '#9c4dcc',
  '#d6604d',
  '#17becf',
  '#b8860b',
  '#e7298a',
  '#4d4d4d',
  '#66a61e',
  '#7570b3',
  '#a6761d',
  '#1f78b4',
];

type Metric = 'live' | 'bytes';
const CHART_HEIGHT = 300;

// ---------------------------------------------------------------- DOM helpers

type Child = Node | string | null | undefined | false;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return e;
}

function badge(sev: ReportSeverity): HTMLElement {
  return el('span', { class: `badge ${sev}` }, sev);
}

/** A finding's severity, and when the kernel prints it on correct code, a mark saying so. */
function severityBadges(f: ReportFinding): HTMLElement {
  const span = el('span', {}, badge(f.severity));
  if (f.kernel_false_positive !== null) {
    span.append(
      ' ',
      el(
        'span',
        { class: 'badge kfp', title: `the kernel prints this on correct code: ${f.kernel_false_positive}` },
        'kernel FP',
      ),
    );
  }
  return span;
}

function num(n: number): string {
  return n.toLocaleString('en-US');
}

/** Seconds always print a fraction; a counter clock's counts (x86-tsc, counter) never do, and have no unit. */
function isCount(ts: string): boolean {
  return !ts.includes('.');
}

function secs(ts: string | null): string {
  return ts === null || ts === '' ? '-' : isCount(ts) ? ts : `${ts} s`;
}

function duration(s: number): string {
  if (s < 1e-3) return `${(s * 1e6).toFixed(0)} µs`;
  if (s < 1) return `${(s * 1e3).toFixed(s < 0.01 ? 2 : 1)} ms`;
  if (s < 120) return `${s.toFixed(s < 10 ? 3 : 1)} s`;
  return `${(s / 60).toFixed(1)} min`;
}

/** A place's source as the text output prints it: `trace.txt:12`, `trace.dat cpu 1 offset 0x1a2b3c`. */
function sourceText(src: SourceJson): string {
  if ('line' in src) return `${src.file}:${src.line}`;
  const data = src.offset_in === 'cpu_data' ? 'data offset' : 'offset';
  return `${src.file} cpu ${src.cpu} ${data} 0x${src.offset.toString(16)}`;
}

function placeText(p: ReportPlace): string {
  const parts: string[] = [];
  if (p.ts) parts.push(p.ts);
  if (p.cpu !== null) parts.push(`cpu ${p.cpu}`);
  if (p.comm || p.pid) parts.push(`${p.comm || '?'}-${p.pid ?? '?'}`);
  return parts.join(' ') + (p.source ? ` (${sourceText(p.source)})` : '');
}

/** Every call of one kind, by type (the stats objects' *_by_type). */
function sumOf(byType: Record<string, number>): number {
  let n = 0;
  for (const v of Object.values(byType)) n += v;
  return n;
}

// ---------------------------------------------------------------- the page

class Report {
  private readonly d: ReportData;
  private readonly xs: number[];
  private readonly bucketSec: number;
  private readonly end: number;
  private metric: Metric = 'live';
  private plot: UPlot | null = null;
  private readonly chartEl: HTMLElement;
  private selected = -1;
  private readonly rowEls: HTMLTableRowElement[] = [];
  private readonly details: HTMLElement;
  /** Marker buckets: index, the worst severity and counts. */
  private readonly markers: { i: number; sev: ReportSeverity; counts: number[] }[] = [];
  /**
   * The trace clock is a counter (x86-tsc, counter): times are its counts / 10^9,
   * of no unit, and the chart shows them from the first event (absolute ones are 11 digits).
   */
  private readonly counts: boolean;
  /** What the chart's x values are less than the trace's times: the first event's for a counter clock, else 0. */
  private readonly shift: number;
  /** The chart's x at the timeline's start. */
  private readonly start: number;

  constructor(data: ReportData) {
    this.d = data;
    const first = data.summary.coverage.first_ts;
    this.counts = first !== null && isCount(first);
    const tl = data.timeline;
    this.shift = this.counts ? tl.start : 0;
    this.start = tl.start - this.shift;
    this.bucketSec = tl.width_ns / 1e9;
    this.xs = [];
    for (let i = 0; i < tl.buckets; i++) this.xs.push(this.start + i * this.bucketSec);
    // One more point at the end so the last bucket's step has a width.
    if (tl.buckets > 0) this.xs.push(this.start + tl.buckets * this.bucketSec);
    this.end = this.start + tl.buckets * this.bucketSec;
    for (let i = 0; i < tl.buckets; i++) {
      const counts = SEV_ORDER.map((_, s) => tl.findings[s]![i]!);
      const s = counts.findIndex((c) => c > 0);
      if (s >= 0) this.markers.push({ i, sev: SEV_ORDER[s]!, counts });
    }
    this.chartEl = el('div', { id: 'chart', 'data-highlight': '', 'data-highlight-visible': 'false' });
    this.details = el('div', { id: 'details', class: 'details' });
  }

  render(root: HTMLElement): void {
    root.append(
      this.header(),
      this.timelineSection(),
      this.findingsSection(),
      this.leaksSection(),
      this.statsSection(),
    );
    root.append(
      el(
        'footer',
        {},
        `Generated by ${this.d.tool}. Self-contained: this file fetches nothing. Charts: uPlot (MIT licence).`,
      ),
    );
    this.drawChart();
    // The details pane opens on the first finding: what the reader came for, without a click.
    if (this.d.findings.rows.length > 0) this.select(0, false);
    else this.showDetails(null);
    window.addEventListener('resize', () => this.resize());
  }

  // ------------------------------------------------------------ summary

  private header(): HTMLElement {
    const { input, summary: s, findings } = this.d;
    const c = s.coverage;
    const counts = c.first_ts !== null && isCount(c.first_ts);
    const span = c.first_ts !== null && c.last_ts !== null && !counts ? Number(c.last_ts) - Number(c.first_ts) : null;
    const stat = (k: string, v: Child, title?: string) =>
      el(
        'div',
        { class: 'stat', ...(title ? { title } : {}) },
        el('div', { class: 'k' }, k),
        el('div', { class: 'v' }, v),
      );
    const sev = el('span', {});
    for (const k of SEV_ORDER) {
      // Kernel false positives are info findings, counted apart.
      const n = k === 'info' ? s.severities.info - s.kernel_false_positives : s.severities[k];
      sev.append(badge(k), ` ${num(n)}  `);
    }
    if (s.kernel_false_positives > 0) {
      sev.append(el('span', { class: 'badge kfp' }, 'kernel FP'), ` ${num(s.kernel_false_positives)}`);
    }
    const p = s.profile;
    const profile = el(
      'span',
      { id: 'profile' },
      `${p.kernel} \u00b7 ${p.arch}`,
      el('small', {}, p.assumed.length > 0 ? ' (assumed)' : ''),
    );
    const cards = el(
      'div',
      { class: 'cards', id: 'summary' },
      stat('Events', num(s.events)),
      stat(
        'Time span',
        span !== null
          ? duration(span)
          : counts
            ? `${(BigInt(c.last_ts!) - BigInt(c.first_ts!)).toLocaleString('en-US')} counts`
            : '-',
        c.first_ts !== null ? `${c.first_ts} .. ${c.last_ts}${counts ? ' (counter clock counts)' : ' s'}` : 'no events',
      ),
      stat(
        'Coverage',
        el(
          'span',
          {},
          c.from_boot ? 'from boot' : 'partial',
          el('small', {}, c.from_boot ? '' : ' (started after boot)'),
        ),
        c.decided_by,
      ),
      stat(
        'Lost events',
        c.loss_notices === 0 && c.overwritten === 0
          ? 'none'
          : `${num(c.lost_events)}${c.overwritten > 0 ? ` + ${num(c.overwritten)} overwritten` : ''}`,
      ),
      stat('Findings', sev),
      stat('Live at end', num(s.live)),
      stat('Kernel profile', profile, p.evidence),
    );
    const head = el(
      'header',
      {},
      el('h1', {}, 'dmadebug report'),
      el(
        'div',
        { class: 'sub' },
        `${input.label} · ${input.kind === 'tracedat' ? 'trace.dat' : input.kind}` +
          (input.bytes !== null ? ` · ${humanBytes(input.bytes)}` : ''),
      ),
      cards,
    );
    if (s.input_error)
      head.append(el('p', { class: 'note', id: 'input-error' }, `Reading stopped early: ${s.input_error}`));
    if (p.conflict !== null) {
      head.append(el('p', { class: 'note', id: 'profile-conflict' }, `Kernel profile conflict: ${p.conflict}`));
    }
    if (findings.hidden > 0) {
      head.append(
        el(
          'p',
          { class: 'note' },
          `${num(findings.hidden)} findings hidden by the error policy (--driver, --num-errors).`,
        ),
      );
    }
    return head;
  }

  // ------------------------------------------------------------ timeline

  private timelineSection(): HTMLElement {
    const tl = this.d.timeline;
    const sec = el('section', { class: 'card', id: 'timeline' });
    sec.append(el('h2', {}, 'Live mappings over time'));
    if (tl.buckets === 0) {
      sec.append(el('p', { class: 'empty' }, 'The trace has no events.'));
      return sec;
    }
    const live = el('button', { type: 'button', id: 'metric-live', 'aria-pressed': 'true' }, 'Live mappings');
    const bytes = el('button', { type: 'button', id: 'metric-bytes', 'aria-pressed': 'false' }, 'Mapped bytes');
    const setMetric = (m: Metric) => {
      this.metric = m;
      live.setAttribute('aria-pressed', String(m === 'live'));
      bytes.setAttribute('aria-pressed', String(m === 'bytes'));
      this.drawChart();
    };
    live.addEventListener('click', () => setMetric('live'));
    bytes.addEventListener('click', () => setMetric('bytes'));
    const reset = el('button', { type: 'button', id: 'reset-zoom' }, 'Reset zoom');
    reset.addEventListener('click', () => this.zoom(this.start, this.end));
    sec.append(
      el(
        'div',
        { class: 'toolbar' },
        el('span', { class: 'seg' }, live, bytes),
        reset,
        el(
          'span',
          { class: 'hint' },
          `Drag to zoom · double-click resets · click a legend entry to hide it · ` +
            `each step is the peak of a ${this.counts ? `${num(Math.round(this.bucketSec * 1e9))}-count` : duration(this.bucketSec)} bucket (${num(tl.buckets)})`,
        ),
      ),
    );
    sec.append(this.chartEl);
    const lost = tl.lost.some((n) => n > 0);
    sec.append(
      el(
        'p',
        { class: 'note', id: 'chart-key' },
        'Markers \u25bc: findings, coloured by the worst severity in their bucket (red error, orange unconfirmed, ' +
          'blue-grey info); click one to select its first finding.' +
          (lost ? ' Dotted grey lines: events lost (the trace has gaps there).' : ''),
      ),
    );
    return sec;
  }

  private seriesList(): ReportSeries[] {
    const tl = this.d.timeline;
    return tl.devices.length > 1 ? [...tl.devices, tl.total] : tl.devices;
  }

  private drawChart(): void {
    const tl = this.d.timeline;
    if (tl.buckets === 0) return;
    const keep = this.plot ? { min: this.plot.scales.x!.min!, max: this.plot.scales.x!.max! } : null;
    const hidden = new Set<string>();
    if (this.plot) {
      for (const s of this.plot.series.slice(1)) if (s.show === false) hidden.add(String(s.label));
      this.plot.destroy();
    }
    const list = this.seriesList();
    const fmt = this.metric === 'bytes' ? (v: number) => humanBytes(v) : (v: number) => num(v);
    const ys = list.map((s) => {
      const a = this.metric === 'bytes' ? s.max_bytes : s.max_live;
      return [...a, a[a.length - 1] ?? 0];
    });
    const stepped = UPlotCtor.paths.stepped!({ align: 1 });
    const counts = this.counts;
    const series: uPlotNs.Series[] = [
      {
        label: counts ? 'counts / 10^9' : 'time (s)',
        value: (_u, v) => (v === null ? '-' : counts ? v.toFixed(9) : `${v.toFixed(6)} s`),
      },
      ...list.map((s, k): uPlotNs.Series => {
        const label = s.driver ? `${s.device} (${s.driver})` : s.device;
        const total = s.device === '(all)';
        return {
          label,
          stroke: total ? '#8a8f99' : PALETTE[k % PALETTE.length]!,
          width: total ? 1.5 : 1.5,
          dash: total ? [6, 4] : [],
          paths: stepped,
          points: { show: false },
          show: !hidden.has(label),
          value: (_u, v) => (v === null ? '-' : fmt(v)),
        };
      }),
    ];
    const opts: uPlotNs.Options = {
      width: this.width(),
      height: CHART_HEIGHT,
      series,
      scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] } },
      axes: [
        {
          label: counts ? 'counter clock: counts / 10^9 since the first event' : 'trace time (s)',
          values: (_u, splits) => splits.map((v) => trimNum(v)),
        },
        {
          label: this.metric === 'bytes' ? 'mapped bytes (peak per bucket)' : 'live mappings (peak per bucket)',
          size: 70,
          values: (_u, splits) => splits.map((v) => fmt(v)),
        },
      ],
      cursor: { drag: { x: true, y: false, setScale: true } },
      legend: { live: true },
      hooks: {
        draw: [(u) => this.drawOverlay(u)],
        ready: [
          (u) => {
            let down: { x: number; y: number } | null = null;
            u.over.addEventListener('mousedown', (e) => {
              down = { x: e.clientX, y: e.clientY };
            });
            u.over.addEventListener('click', (e) => {
              if (down && Math.abs(e.clientX - down.x) + Math.abs(e.clientY - down.y) > 3) return;
              this.clickChart(u, e.offsetX);
            });
          },
        ],
      },
    };
    this.chartEl.dataset.metric = this.metric;
    this.plot = new UPlotCtor(opts, [this.xs, ...ys], this.chartEl);
    if (keep) this.plot.setScale('x', keep);
  }

  private width(): number {
    return Math.max(320, (this.chartEl.parentElement?.clientWidth ?? 1000) - 34);
  }

  private resize(): void {
    this.plot?.setSize({ width: this.width(), height: CHART_HEIGHT });
  }

  private zoom(min: number, max: number): void {
    this.plot?.setScale('x', { min, max });
  }

  /** Marker lines (colour of the worst severity in the bucket), lost-event ticks and the highlight. */
  private drawOverlay(u: UPlot): void {
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    const min = u.scales.x!.min!;
    const max = u.scales.x!.max!;
    const dpr = devicePixelRatio || 1;
    const tl = this.d.timeline;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    // the selected finding's highlight first: the markers stay visible on top of it
    const f = this.selected >= 0 ? this.d.findings.rows[this.selected] : undefined;
    let visible = false;
    if (f) {
      const t = f.t !== null ? f.t - this.shift : this.end;
      const i = Math.min(tl.buckets - 1, Math.max(0, Math.floor((t - this.start) / this.bucketSec)));
      const b0 = this.start + i * this.bucketSec;
      const x0 = u.valToPos(b0, 'x', true);
      const x1 = u.valToPos(b0 + this.bucketSec, 'x', true);
      const xt = Math.round(u.valToPos(t, 'x', true));
      visible = t >= min && t <= max;
      ctx.fillStyle = 'rgba(255, 200, 0, 0.25)';
      ctx.fillRect(Math.min(x0, xt - 4 * dpr), top, Math.max(x1 - x0, 8 * dpr), height);
      ctx.strokeStyle = '#111';
      ctx.lineWidth = 2 * dpr;
      ctx.beginPath();
      ctx.moveTo(xt, top);
      ctx.lineTo(xt, top + height);
      ctx.stroke();
    }
    let drawn = 0;
    for (const m of this.markers) {
      const t0 = this.start + m.i * this.bucketSec;
      if (t0 + this.bucketSec < min || t0 > max) continue;
      const x = Math.round(u.valToPos(t0 + this.bucketSec / 2, 'x', true));
      ctx.strokeStyle = SEV_COLOR[m.sev];
      ctx.globalAlpha = 0.55;
      ctx.lineWidth = dpr;
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
      ctx.globalAlpha = 1;
      ctx.fillStyle = SEV_COLOR[m.sev];
      const s = 6 * dpr;
      ctx.beginPath();
      ctx.moveTo(x - s, top);
      ctx.lineTo(x + s, top);
      ctx.lineTo(x, top + s * 1.4);
      ctx.closePath();
      ctx.fill();
      drawn++;
    }
    ctx.setLineDash([2 * dpr, 3 * dpr]);
    ctx.strokeStyle = '#8a8f99';
    for (let i = 0; i < tl.buckets; i++) {
      if (tl.lost[i] === 0) continue;
      const t0 = this.start + i * this.bucketSec;
      if (t0 + this.bucketSec < min || t0 > max) continue;
      const x = Math.round(u.valToPos(t0, 'x', true));
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
    }
    ctx.setLineDash([]);
    ctx.restore();
    this.chartEl.dataset.markers = String(drawn);
    this.chartEl.dataset.highlightVisible = String(visible);
  }

  /** A click on the plot near a marker selects the first listed finding of that bucket. */
  private clickChart(u: UPlot, offsetX: number): void {
    let best = -1;
    let bestDx = 8;
    for (const m of this.markers) {
      const x = u.valToPos(this.start + (m.i + 0.5) * this.bucketSec, 'x');
      const dx = Math.abs(x - offsetX);
      if (dx < bestDx) {
        bestDx = dx;
        best = m.i;
      }
    }
    if (best < 0) return;
    const rows = this.d.findings.rows;
    const idx = rows.findIndex(
      (f) => f.t !== null && Math.floor((f.t - this.shift - this.start) / this.bucketSec) === best,
    );
    if (idx >= 0) this.select(idx, true);
  }

  // ------------------------------------------------------------ findings

  private findingsSection(): HTMLElement {
    const f = this.d.findings;
    const sec = el('section', { class: 'card', id: 'findings' });
    sec.append(el('h2', {}, `Findings (${num(f.total)})`));
    if (f.total === 0) {
      sec.append(
        el(
          'p',
          { class: 'empty', id: 'no-findings' },
          'No findings: the DMA-API calls in this trace pass every check.',
        ),
      );
      return sec;
    }
    const filter = el('input', {
      type: 'search',
      id: 'findings-filter',
      placeholder: 'Filter: check, device, message…',
    });
    sec.append(el('div', { class: 'toolbar' }, filter));
    const tbody = el('tbody', {});
    f.rows.forEach((r, i) => {
      const tr = el(
        'tr',
        { tabindex: '0', 'data-index': String(i), 'data-severity': r.severity },
        el('td', { class: 'num' }, r.at.ts || '(end)'),
        el('td', {}, severityBadges(r)),
        el('td', { class: 'mono check' }, r.check),
        el('td', { class: 'mono' }, r.device ?? '-'),
        el('td', { class: 'msg' }, r.message),
      );
      tr.addEventListener('click', () => this.select(i, false));
      tr.addEventListener('keydown', (e) => this.rowKey(e, i));
      this.rowEls.push(tr);
      tbody.append(tr);
    });
    const table = el(
      'table',
      { id: 'findings-table' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          el('th', { class: 'num' }, this.counts ? 'Count' : 'Time (s)'),
          el('th', {}, 'Severity'),
          el('th', {}, 'Check'),
          el('th', {}, 'Device'),
          el('th', {}, 'Message'),
        ),
      ),
      tbody,
    );
    filter.addEventListener('input', () => {
      const q = filter.value.trim().toLowerCase();
      f.rows.forEach((r, i) => {
        const kfp = r.kernel_false_positive !== null ? ' kernel false positive' : '';
        const hay = `${r.severity}${kfp} ${r.check} ${r.device ?? ''} ${r.message}`.toLowerCase();
        this.rowEls[i]!.hidden = q !== '' && !hay.includes(q);
      });
    });
    const left = el('div', {}, el('div', { class: 'table-scroll' }, table));
    if (f.total > f.rows.length) {
      left.append(
        el(
          'p',
          { class: 'note', id: 'findings-capped' },
          `${num(f.total - f.rows.length)} more not shown (the table lists the first ${num(f.cap)}; the chart's markers count all) — use `,
          el('code', {}, 'dmadebug check --json'),
          ' for every finding.',
        ),
      );
    }
    sec.append(el('div', { class: 'findings-layout' }, left, this.details));
    return sec;
  }

  private rowKey(e: KeyboardEvent, i: number): void {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      this.select(i, false);
      return;
    }
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    e.preventDefault();
    const step = e.key === 'ArrowDown' ? 1 : -1;
    for (let j = i + step; j >= 0 && j < this.rowEls.length; j += step) {
      if (!this.rowEls[j]!.hidden) {
        this.rowEls[j]!.focus();
        this.select(j, false);
        return;
      }
    }
  }

  /**
   * Selects a finding: the row (scrolled into its table's view when `scroll`:
   * a click on the chart), the chart's highlight (zooming to it when outside
   * the view), the details.
   */
  select(i: number, scroll: boolean): void {
    const f = this.d.findings.rows[i];
    if (!f) return;
    this.rowEls[this.selected]?.classList.remove('selected');
    this.rowEls[this.selected]?.setAttribute('aria-selected', 'false');
    this.selected = i;
    const tr = this.rowEls[i];
    tr?.classList.add('selected');
    tr?.setAttribute('aria-selected', 'true');
    if (scroll) tr?.scrollIntoView({ block: 'nearest' });
    this.chartEl.dataset.highlight = f.at.ts || '(end)';
    this.showDetails(f);
    const u = this.plot;
    if (u) {
      const t = f.t !== null ? f.t - this.shift : this.end;
      const min = u.scales.x!.min!;
      const max = u.scales.x!.max!;
      if (t < min || t > max) {
        const w = Math.min(max - min, this.end - this.start);
        let lo = t - w / 2;
        lo = Math.max(this.start, Math.min(lo, this.end - w));
        this.zoom(lo, lo + w);
      } else {
        u.redraw(false);
      }
    }
  }

  private showDetails(f: ReportFinding | null): void {
    const box = this.details;
    box.replaceChildren();
    if (!f) {
      box.append(el('p', { class: 'placeholder' }, 'Click a finding to see its message, mapping and stack.'));
      box.dataset.finding = '';
      return;
    }
    box.dataset.finding = String(this.selected);
    box.append(el('h3', {}, severityBadges(f), ` ${f.check}`));
    box.append(el('pre', { class: 'message' }, f.head));
    const where = el(
      'dl',
      {},
      el('dt', {}, 'at'),
      el('dd', {}, f.at.ts || f.at.source ? placeText(f.at) : 'after the trace'),
    );
    if (f.kernel_false_positive !== null) {
      where.append(
        el('dt', {}, 'kernel false positive'),
        el('dd', { class: 'kfp' }, `the kernel prints this on correct code: ${f.kernel_false_positive}`),
      );
    }
    if (f.note) where.append(el('dt', {}, f.severity === 'unconfirmed' ? 'why' : 'note'), el('dd', {}, f.note));
    box.append(where);
    box.append(el('h3', {}, 'Call stack'));
    const call = f.stack >= 0 ? this.d.findings.stacks[f.stack] : undefined;
    if (call) box.append(stackList(call, 'call'));
    else {
      box.append(
        el(
          'p',
          { class: 'placeholder' },
          'No stack of this call in the trace (record with options/stacktrace for one).',
        ),
      );
    }
    const m = f.mapping;
    if (!m) {
      box.append(el('p', { class: 'placeholder' }, 'No mapping: this finding is not about one entry.'));
      return;
    }
    box.append(el('h3', {}, 'Mapping'));
    const dl = el('dl', { class: 'mapping' });
    const row = (k: string, v: string) => dl.append(el('dt', {}, k), el('dd', {}, v));
    row('device address', m.dma_addr);
    row('size', `${num(m.size)} bytes (${humanBytes(m.size)})`);
    row('direction', m.direction);
    row('type', m.entry_type);
    row('cpu phys', m.phys_addr ?? 'unknown');
    if (m.sg_call_ents > 0 || m.sg_mapped_ents > 0) {
      row('sg entries', `${m.sg_call_ents} called, ${m.sg_mapped_ents} mapped`);
    }
    row('mapped at', m.mapped_at.ts || m.mapped_at.source ? placeText(m.mapped_at) : 'unknown');
    box.append(dl);
    const stack = m.stack >= 0 ? this.d.findings.stacks[m.stack] : undefined;
    if (stack) {
      box.append(el('h3', {}, 'Mapped at (stack)'));
      box.append(stackList(stack, 'mapped'));
    } else {
      box.append(el('p', { class: 'placeholder' }, 'No stack in the trace (record with options/stacktrace for one).'));
    }
  }

  // ------------------------------------------------------------ leak-at-end

  /** The mappings live at the end, by device and call site, as check's summary counts them. */
  private leaksSection(): HTMLElement {
    const lk = this.d.leaks;
    const sec = el('section', { class: 'card', id: 'leaks' });
    sec.append(el('h2', {}, `Live at the end: ${num(this.d.summary.live)} mappings`));
    if (lk.total === 0) {
      sec.append(el('p', { class: 'empty', id: 'no-leaks' }, 'Nothing is mapped when the trace ends.'));
      return sec;
    }
    const head = el(
      'tr',
      {},
      el('th', {}, 'Device'),
      el('th', { class: 'num' }, 'Mappings'),
      el('th', { class: 'num' }, 'Bytes'),
      el('th', { class: 'num', title: 'mapped since the last loss of events' }, 'Since last loss'),
      el('th', {}, 'Call site (click for the stack)'),
    );
    const rows = lk.groups.map((g) => {
      const frames = g.stack >= 0 ? this.d.findings.stacks[g.stack] : undefined;
      const site = frames
        ? el('details', {}, el('summary', { class: 'mono' }, g.site ?? frames[0] ?? '?'), stackList(frames, 'mapped'))
        : el('span', { class: 'placeholder' }, 'no stack in the trace');
      return el(
        'tr',
        {},
        el('td', { class: 'mono' }, g.driver ? `${g.device} (${g.driver})` : g.device),
        el('td', { class: 'num' }, num(g.count)),
        el('td', { class: 'num', title: `${num(g.bytes)} bytes` }, humanBytes(g.bytes)),
        el('td', { class: 'num' }, num(g.fresh)),
        el('td', { class: 'site' }, site),
      );
    });
    const table = el('table', { id: 'leaks-table' }, el('thead', {}, head), el('tbody', {}, ...rows));
    sec.append(el('div', { class: 'table-scroll' }, table));
    sec.append(
      el(
        'p',
        { class: 'note' },
        `leak-at-end (info): ${num(lk.total)} group${lk.total === 1 ? '' : 's'} of mappings still live when the ` +
          'trace ends, by device and the stack that mapped them (most mappings first), as `check` counts them. A driver that ' +
          'keeps buffers mapped while it runs (rings, coherent memory) has some; a group that grows ' +
          'with the workload is the one to look at.' +
          (lk.groups.length < lk.total ? ` The first ${num(lk.groups.length)} are listed.` : ''),
      ),
    );
    return sec;
  }

  // ------------------------------------------------------------ stats

  private statsSection(): HTMLElement {
    const st = this.d.stats;
    const sec = el('section', { class: 'card', id: 'devices' });
    sec.append(el('h2', {}, 'Devices'));
    if (st.devices.length === 0) {
      sec.append(el('p', { class: 'empty' }, 'No DMA-API calls.'));
      return sec;
    }
    const cols = [
      'Device',
      'Maps',
      'Unmaps',
      'Syncs',
      'Failed',
      'Live',
      'Live bytes',
      'Peak live',
      'at',
      'Peak bytes',
      'at',
      'Findings',
    ];
    const head = el('tr', {}, ...cols.map((c, i) => el('th', i > 0 && i < 11 ? { class: 'num' } : {}, c)));
    // as `stats` prints them: maps and unmaps with allocs and frees, every failed call, every sync
    const line = (d: StatsDeviceJson | StatsTotalsJson) => {
      const findings = Object.entries(d.findings)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');
      const name = 'device' in d ? (d.driver ? `${d.device} (${d.driver})` : d.device) : '(all)';
      return el(
        'tr',
        {},
        el('td', { class: 'mono' }, name),
        el('td', { class: 'num' }, num(sumOf(d.maps_by_type))),
        el('td', { class: 'num' }, num(sumOf(d.unmaps_by_type))),
        el('td', { class: 'num' }, num(sumOf(d.syncs_by_kind))),
        el('td', { class: 'num' }, num(sumOf(d.failures_by_type))),
        el('td', { class: 'num' }, num(d.live)),
        el('td', { class: 'num' }, humanBytes(d.live_bytes)),
        el('td', { class: 'num' }, num(d.peak_live.value)),
        el('td', { class: 'num' }, secs(d.peak_live.ts)),
        el('td', { class: 'num' }, humanBytes(d.peak_bytes.value)),
        el('td', { class: 'num' }, secs(d.peak_bytes.ts)),
        el('td', { class: 'mono' }, findings || '-'),
      );
    };
    const table = el(
      'table',
      { id: 'stats-table' },
      el('thead', {}, head),
      el('tbody', {}, ...st.devices.map(line)),
      el('tfoot', {}, line(st.totals)),
    );
    sec.append(el('div', { class: 'table-scroll' }, table));
    sec.append(
      el(
        'p',
        { class: 'note' },
        'Maps and unmaps count calls (allocs and frees included); live and peaks count entries (one per sg segment). ' +
          'The totals\u2019 peaks are of the sum over devices.',
      ),
    );
    sec.append(this.lifetimes([...st.devices, st.totals]));
    return sec;
  }

  /** One histogram of mapping lifetimes per device, as `stats` prints them: a bar per log2 bucket. */
  private lifetimes(
    devices: Array<ReportData['stats']['devices'][number] | ReportData['stats']['totals']>,
  ): HTMLElement {
    const labels = this.d.stats.lifetime_buckets;
    const box = el('div', { id: 'lifetimes' });
    box.append(
      el(
        'h3',
        {},
        `Mapping lifetimes (unmap \u2212 map; log2 buckets from ${labels[0] ?? ''} to ${labels[labels.length - 1] ?? ''})`,
      ),
    );
    for (const d of devices) {
      const device = 'device' in d ? d.device : '(all)';
      const name = 'device' in d && d.driver ? `${d.device} (${d.driver})` : device;
      let max = 0;
      let n = 0;
      for (const c of d.lifetimes) {
        if (c > max) max = c;
        n += c;
      }
      const bars = el('div', { class: 'hist', role: 'img', 'aria-label': `${name}: mapping lifetimes` });
      d.lifetimes.forEach((c, b) => {
        const bar = el('span', { class: 'bar', 'data-count': String(c), title: `${labels[b] ?? b}: ${num(c)}` });
        // scaled to the device's largest bucket, as the text bars are; any non-zero count shows
        bar.style.height = c === 0 ? '0' : `${Math.max(6, Math.round((c / max) * 100))}%`;
        bars.append(bar);
      });
      box.append(
        el(
          'div',
          { class: 'hist-row', 'data-device': device },
          el('span', { class: 'mono hist-name' }, name),
          bars,
          el('span', { class: 'hist-n' }, n > 0 ? `n=${num(n)}, median ${d.lifetime_median ?? '-'}` : 'n=0'),
        ),
      );
    }
    // an axis under the bars: ticks at <1us, 1ms (bucket 11) and 1s (bucket 21), as the text one
    const axis = el('div', { class: 'hist' });
    labels.forEach((l, b) => {
      axis.append(el('span', { class: 'tick' }, b === 0 || b === 11 || b === 21 ? l : ''));
    });
    box.append(el('div', { class: 'hist-row axis' }, el('span', { class: 'hist-name' }), axis, el('span', {})));
    return box;
  }
}

/** A stack's frames as an ordered list (`kind`: "call" or "mapped", a class for the tests and the style). */
function stackList(frames: readonly string[], kind: 'call' | 'mapped'): HTMLElement {
  const ol = el('ol', { class: `stack ${kind}` });
  for (const frame of frames) ol.append(el('li', {}, frame));
  return ol;
}

function trimNum(v: number): string {
  return String(Number(v.toPrecision(10)));
}

function start(): void {
  const src = document.getElementById('report-data');
  const root = document.getElementById('app');
  if (!src || !root) throw new Error('report: #report-data or #app missing');
  const data = JSON.parse(src.textContent ?? '') as ReportData;
  const report = new Report(data);
  report.render(root);
  (window as unknown as { dmadebugReport: Report }).dmadebugReport = report;
  document.body.dataset.ready = 'true';
}

start();
