// `check` and `dump`: replay traces, print findings (or the live mappings at
// the end), and say what the trace covered.

import type { DmaDebugEngine } from '../engine/engine.js';
import type { Finding } from '../engine/findings.js';
import { readSidecar, type SideInfo, sidecarPath } from '../input/sidecar.js';
import { Pipeline, replay, summarize } from '../pipeline.js';
import { dumpLine } from '../report/dump.js';
import { entryJson, findingJson, summaryJson } from '../report/json.js';
import { colorFor, makePaint } from '../report/paint.js';
import { profileLine, summaryText } from '../report/summary.js';
import { formatFinding } from '../report/text.js';
import { colorMode, engineConfig, inputsOf, intOption, sideConfig, UsageError, type Values } from './options.js';
import { openOutput, writeSkippedLines } from './output.js';
import { Progress } from './progress.js';

export async function runCheck(v: Values, positionals: string[]): Promise<number> {
  const inputs = inputsOf(positionals, 'check');
  const cfg = engineConfig(v);
  const chunkSize = intOption(v['chunk-size'], 'chunk-size', 1);
  const writer = openOutput(v);
  const outPaint = makePaint(colorFor({ isTTY: writer.tty }, colorMode(v)));
  const errPaint = makePaint(colorFor(process.stderr, colorMode(v)));
  let anyErrors = false;
  let inputError = false;
  let current: Pipeline | null = null;
  // A reader that stops reading (`| head`) ends the run: the status says what was found by then.
  writer.closedStatus = () => (anyErrors || (current?.tally.errors ?? 0) > 0 ? 1 : 0);
  for (const input of inputs) {
    const label = input === '-' ? '<stdin>' : input;
    const onFinding = (f: Finding) => {
      if (!f.shown) return;
      writer.write(v.json ? `${findingJson(f, label)}\n` : formatFinding(f, label, outPaint));
    };
    let progress: Progress | null = null;
    const side = sideFor(input, v);
    current = new Pipeline(input, {
      engine: side ? { ...sideConfig(side), ...cfg } : cfg,
      onFinding,
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
    });
    const r = (await current.run()).result();
    (progress as Progress | null)?.done();
    if (side) applyUnbinds(side, r.engine);
    const summary = summarize([label], r);
    if (v.json) writer.write(`${summaryJson(summary)}\n`);
    await writer.flush();
    if (!v.quiet) for (const n of r.parser.notes ?? []) process.stderr.write(`dmadebug: ${label}: ${n}\n`);
    if (v.verbose) writeSkippedLines(label, r);
    // An input that is not a trace at all gets its one-line error, not a summary of nothing.
    if (!v.quiet && !(r.error && summary.events === 0)) process.stderr.write(summaryText(summary, errPaint));
    if (r.error) {
      process.stderr.write(`dmadebug: ${r.error.message}\n`);
      inputError = true;
    }
    // Errors only: unconfirmed, info and the kernel's own false positives never fail a run.
    if (r.tally.errors > 0) anyErrors = true;
  }
  await writer.end();
  return inputError ? 2 : anyErrors ? 1 : 0;
}

export async function runDump(v: Values, positionals: string[]): Promise<number> {
  const inputs = inputsOf(positionals, 'dump');
  if (inputs.length > 1) throw new UsageError('dump takes one trace');
  const input = inputs[0]!;
  const label = input === '-' ? '<stdin>' : input;
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
    if (v.json) {
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
