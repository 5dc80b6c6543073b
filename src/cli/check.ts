// `check` and `dump`: replay traces, print findings (or the live mappings at
// the end), and say what the trace covered. `check` takes several traces, one
// after the other (a bad one does not stop the others), prints the findings in
// the format --format picks (src/report/format.ts) and exits with the worst
// status: 2 for an input error over 1 for findings --fail-on names over 0.

import type { DmaDebugEngine } from '../engine/engine.js';
import type { Finding } from '../engine/findings.js';
import { InputError } from '../input/errors.js';
import { readSidecar, type SideInfo, sidecarPath } from '../input/sidecar.js';
import { Pipeline, replay, summarize } from '../pipeline.js';
import { dumpLine } from '../report/dump.js';
import { findingsStatus } from '../report/format.js';
import { entryJson } from '../report/json.js';
import { colorFor, makePaint } from '../report/paint.js';
import { profileLine, summaryText } from '../report/summary.js';
import { findingsOptions, formatOption } from './formats.js';
import { colorMode, engineConfig, inputsOf, intOption, sideConfig, UsageError, type Values } from './options.js';
import { openOutput, writeSkippedLines } from './output.js';
import { Progress } from './progress.js';

export async function runCheck(v: Values, positionals: string[]): Promise<number> {
  const inputs = inputsOf(positionals, 'check');
  const cfg = engineConfig(v);
  const chunkSize = intOption(v['chunk-size'], 'chunk-size', 1);
  const { failOn, filter, renderer: makeOut } = findingsOptions(v, 'check');
  const writer = openOutput(v);
  const outPaint = makePaint(colorFor({ isTTY: writer.tty }, colorMode(v)));
  const errPaint = makePaint(colorFor(process.stderr, colorMode(v)));
  const renderer = makeOut(outPaint);
  const labels = inputs.map((i) => (i === '-' ? '<stdin>' : i));
  // Several inputs: each summary names its file.
  const named = inputs.length > 1;
  let status = 0;
  /** The findings' status so far (0 or 1), without input errors. */
  let found = 0;
  let current: Pipeline | null = null;
  // A reader that stops reading (`| head`) ends the run: the status says what was found by then.
  writer.closedStatus = () => Math.max(found, current ? findingsStatus(current.tally, failOn) : 0);
  writer.write(renderer.begin(labels));
  for (const [i, input] of inputs.entries()) {
    const label = labels[i]!;
    const started = performance.now();
    let side: SideInfo | null;
    try {
      side = sideFor(input, v);
    } catch (e) {
      // a bad sidecar spoils its input only: the others are still checked
      if (!(e instanceof InputError)) throw e;
      current = null;
      status = 2;
      writer.write(renderer.endInput({ label, summary: null, error: e, hidden: filter.take(), ms: 0 }));
      process.stderr.write(`dmadebug: ${e.message}\n`);
      continue;
    }
    let progress: Progress | null = null;
    const pipeline: Pipeline = new Pipeline(input, {
      engine: side ? { ...sideConfig(side), ...cfg } : cfg,
      onFinding: (f: Finding) => {
        if (!f.shown || !filter.passes(f)) return;
        writer.write(renderer.finding(f, { label, kind: pipeline.kind }));
      },
      ...(chunkSize !== undefined ? { chunkSize } : {}),
      ...(v.instance !== undefined ? { instance: v.instance } : {}),
      onChunk: async (bytes, events, total) => {
        // Progress only for long inputs, and only where a person watches stderr.
        if (bytes > 32 * 1048576 && process.stderr.isTTY && !v.quiet) {
          progress ??= new Progress(process.stderr, `dmadebug ${label}`, total);
          progress.update(bytes, events);
        }
        await writer.ready();
      },
      onDrain: () => writer.ready(),
    });
    current = pipeline;
    const r = (await pipeline.run()).result();
    (progress as Progress | null)?.done();
    if (side) applyUnbinds(side, r.engine);
    const summary = summarize([label], r);
    const hidden = filter.take();
    writer.write(renderer.endInput({ label, summary, error: r.error, hidden, ms: performance.now() - started }));
    await writer.flush();
    if (!v.quiet) for (const n of r.parser.notes ?? []) process.stderr.write(`dmadebug: ${label}: ${n}\n`);
    if (v.verbose) writeSkippedLines(label, r);
    // An input that is not a trace at all gets its one-line error, not a summary of nothing.
    if (!v.quiet && !(r.error && summary.events === 0)) {
      process.stderr.write(summaryText(summary, errPaint, { ...(named ? { input: label } : {}), hidden }));
    }
    if (r.error) process.stderr.write(`dmadebug: ${r.error.message}\n`);
    // The worst of the inputs: 2 (an input error) over 1 (findings --fail-on names) over 0.
    found = Math.max(found, findingsStatus(r.tally, failOn));
    status = Math.max(status, r.error ? 2 : found);
    current = null;
  }
  writer.write(renderer.end());
  await writer.end();
  return status;
}

export async function runDump(v: Values, positionals: string[]): Promise<number> {
  const inputs = inputsOf(positionals, 'dump');
  if (inputs.length > 1) throw new UsageError('dump takes one trace');
  const input = inputs[0]!;
  const label = input === '-' ? '<stdin>' : input;
  const json = formatOption(v, 'dump') === 'json';
  const cfg = engineConfig(v);
  const chunkSize = intOption(v['chunk-size'], 'chunk-size', 1);
  const writer = openOutput(v);
  const side = sideFor(input, v);
  const r = await replay(input, {
    engine: side ? { ...sideConfig(side), ...cfg } : cfg,
    ...(v.instance !== undefined ? { instance: v.instance } : {}),
    ...(chunkSize !== undefined ? { chunkSize } : {}),
  });
  if (r.error) {
    writer.discard();
    process.stderr.write(`dmadebug: ${r.error.message}\n`);
    return 2;
  }
  for (const e of r.engine.dump()) {
    if (json) {
      writer.write(`${entryJson(e, label)}\n`);
    } else {
      writer.write(dumpLine(e));
    }
  }
  await writer.end();
  if (!v.quiet) {
    const c = r.engine.coverage();
    process.stderr.write(
      `dmadebug: ${r.engine.live} live entries at the end of ${label}; coverage ${dumpCoverage(c)}\n` +
        `dmadebug: ${profileLine(r.engine.profile())}\n`,
    );
  }
  return 0;
}

/** What the dump may be missing. */
function dumpCoverage(c: ReturnType<DmaDebugEngine['coverage']>): string {
  if (!c.fromBoot) return 'partial: entries mapped before the trace are missing';
  if (!c.complete) return 'from boot, with gaps: entries mapped by lost or unreadable events are missing';
  return 'from boot';
}

/** The sidecar `record` wrote next to a trace, unless --no-side or stdin. */
export function sideFor(input: string, v: Values): SideInfo | null {
  if (v['no-side'] || input === '-') return null;
  return readSidecar(sidecarPath(input));
}

/**
 * Unbinds the sidecar knows of but the trace has no marker for are applied at
 * the end of the trace: the leak they reveal is real, only its moment is late.
 */
export function applyUnbinds(side: SideInfo, engine: DmaDebugEngine): void {
  for (const u of side.unbinds) if (!u.marker) engine.unbind(u.device, u.bus);
}
