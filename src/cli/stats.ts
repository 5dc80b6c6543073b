// `stats`: replay one trace and print per-device activity — calls by type,
// syncs by kind, peak live mappings and bytes with their times, a mapping
// lifetime histogram, failures and findings by check — as text or one JSON
// object on stdout. Diagnostics go to stderr; exit 0, or 2 on input or output errors.

import { replay } from '../pipeline.js';
import { statsJson, statsText } from '../report/stats.js';
import { applyUnbinds, sideFor } from './check.js';
import { formatOption } from './formats.js';
import { engineConfig, inputsOf, intOption, sideConfig, UsageError, type Values } from './options.js';
import { openOutput, writeSkippedLines } from './output.js';

export async function runStats(v: Values, positionals: string[]): Promise<number> {
  const inputs = inputsOf(positionals, 'stats');
  if (inputs.length > 1) throw new UsageError('stats takes one trace');
  const input = inputs[0]!;
  const label = input === '-' ? '<stdin>' : input;
  const json = formatOption(v, 'stats') === 'json';
  const cfg = engineConfig(v);
  const chunkSize = intOption(v['chunk-size'], 'chunk-size', 1);
  const side = sideFor(input, v);
  const writer = openOutput(v);
  const r = await replay(input, {
    engine: side ? { ...sideConfig(side), ...cfg } : cfg,
    ...(chunkSize !== undefined ? { chunkSize } : {}),
    ...(v.instance !== undefined ? { instance: v.instance } : {}),
  });
  if (side) applyUnbinds(side, r.engine);
  if (!v.quiet) for (const n of r.parser.notes ?? []) process.stderr.write(`dmadebug: ${label}: ${n}\n`);
  if (v.verbose) writeSkippedLines(label, r);
  // An input that is not a trace at all gets its one-line error, not stats of nothing (nor an empty file).
  if (r.error && r.engine.eventCount === 0) {
    writer.discard();
  } else {
    const s = r.engine.stats();
    writer.write(json ? `${statsJson(s, label, r.engine.coverage())}\n` : statsText(s, label));
    await writer.end();
  }
  if (r.error) {
    process.stderr.write(`dmadebug: ${r.error.message}\n`);
    return 2;
  }
  return 0;
}
