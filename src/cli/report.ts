// `report`: replay one trace and write a self-contained HTML report (timeline
// of live mappings and bytes per device with finding markers, the findings
// table with each finding's mapping and stack, per-device stats) to -o FILE,
// or to stdout with -o -. One line on stderr says what was written. Exit 0
// written, 2 usage, input or output error.

import { isCount } from '../engine/coverage.js';
import { Pipeline } from '../pipeline.js';
import { ReportCollector } from '../report/collect.js';
import { loadReportAssets, renderHtml } from '../report/html.js';
import type { ReportData } from '../report/report-data.js';
import { humanBytes } from '../report/units.js';
import { applyUnbinds, sideFor } from './check.js';
import { engineConfig, inputsOf, intOption, sideConfig, UsageError, type Values } from './options.js';
import { openOutput, writeSkippedLines } from './output.js';
import { Progress } from './progress.js';

export async function runReport(v: Values, positionals: string[], tool: string): Promise<number> {
  const inputs = inputsOf(positionals, 'report');
  if (inputs.length > 1) throw new UsageError('report takes one trace');
  if (v.output === undefined) throw new UsageError('report needs -o FILE (the HTML to write; -o - for stdout)');
  const input = inputs[0]!;
  const label = input === '-' ? '<stdin>' : input;
  const cfg = engineConfig(v);
  const chunkSize = intOption(v['chunk-size'], 'chunk-size', 1);
  const side = sideFor(input, v);
  const assets = loadReportAssets();
  // Opened first: a path that cannot be written fails now, not after a long replay.
  const out = openOutput(v);
  const collector = new ReportCollector();
  let progress: Progress | null = null;
  const p = new Pipeline(input, {
    engine: side ? { ...sideConfig(side), ...cfg } : cfg,
    onFinding: collector.onFinding,
    tap: collector.tap,
    ...(chunkSize !== undefined ? { chunkSize } : {}),
    ...(v.instance !== undefined ? { instance: v.instance } : {}),
    onChunk: (bytes, events, total) => {
      // As `check`: only for long inputs, and only where a person watches stderr.
      if (bytes <= 32 * 1048576 || !process.stderr.isTTY || v.quiet) return;
      progress ??= new Progress(process.stderr, `dmadebug ${label}`, total);
      progress.update(bytes, events);
    },
  });
  collector.attach(p.engine);
  const r = (await p.run()).result();
  (progress as Progress | null)?.done();
  if (side) applyUnbinds(side, r.engine);
  if (!v.quiet) for (const n of r.parser.notes ?? []) process.stderr.write(`dmadebug: ${label}: ${n}\n`);
  if (v.verbose) writeSkippedLines(label, r);
  // An input that is not a trace at all gets its one-line error, and no report of nothing.
  if (r.error && r.engine.eventCount === 0) {
    out.discard();
    process.stderr.write(`dmadebug: ${r.error.message}\n`);
    return 2;
  }
  const data = collector.finish(r, label, tool);
  const html = renderHtml(data, assets);
  out.write(html);
  await out.end();
  if (!v.quiet) {
    const where = v.output === '-' ? 'stdout' : v.output;
    const f = data.findings;
    process.stderr.write(
      `dmadebug: wrote ${where} (${humanBytes(Buffer.byteLength(html))}): ${count(data.summary.events, 'event')}, ` +
        `${count(f.total, 'finding')}${f.rows.length < f.total ? ` (${f.rows.length} listed)` : ''}, ` +
        `${count(data.timeline.devices.length, 'device')}, ` +
        `${count(data.timeline.buckets, 'time bucket')} of ${bucketWidth(data)}\n`,
    );
  }
  if (r.error) {
    process.stderr.write(`dmadebug: ${r.error.message}\n`);
    return 2;
  }
  return 0;
}

/** "1 finding", "2 findings". */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** A timeline bucket's width: ms, or a counter clock's counts (its times print with no fraction). */
function bucketWidth(data: ReportData): string {
  const first = data.summary.coverage.first_ts;
  const w = data.timeline.width_ns;
  return first !== null && isCount(first) ? `${w.toLocaleString('en-US')} counts` : `${w / 1e6} ms`;
}
