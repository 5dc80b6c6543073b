// `live`: turn on the dma events in tracefs, follow per_cpu/cpuN/trace_pipe_raw
// (binary sub-buffers, merged by time; text trace_pipe when the raw files or
// format files are missing, or with --text) and report findings as they happen. On SIGINT/SIGTERM (or --duration, or the end of the
// stream) it puts tracefs back the way it found it, prints the summary and
// exits with the findings code. Memory stays proportional to live mappings:
// nothing here keeps events.

import { join } from 'node:path';
import type { Finding } from '../engine/findings.js';
import { runningKernel } from '../input/sidecar.js';
import { enableTracing, findTracefs, restoreTracing, type TracefsState } from '../input/tracefs.js';
import { rawTracefsProblem } from '../input/tracefs-raw.js';
import { Pipeline, summarize } from '../pipeline.js';
import { findingsStatus } from '../report/format.js';
import { colorFor, makePaint } from '../report/paint.js';
import { summaryText } from '../report/summary.js';
import { findingsOptions } from './formats.js';
import { colorMode, engineConfig, secondsOption, UsageError, type Values } from './options.js';
import { openOutput, outputFailureStatus, settleStdio } from './output.js';

/** A status line on a TTY: events/s, live mappings per device, lost events. */
class LiveStatus {
  private lastEvents = 0;
  private lastTime = Date.now();
  private shown = false;
  constructor(private readonly stream: NodeJS.WriteStream) {}

  update(p: Pipeline): void {
    const now = Date.now();
    if (now - this.lastTime < 1000) return;
    const events = p.engine.eventCount;
    const rate = ((events - this.lastEvents) * 1000) / (now - this.lastTime);
    this.lastEvents = events;
    this.lastTime = now;
    const devs = [...p.engine.deviceCounts()]
      .filter(([, c]) => c.live > 0)
      .sort((a, b) => b[1].live - a[1].live)
      .slice(0, 4)
      .map(([d, c]) => `${d}=${c.live}`)
      .join(' ');
    const lost = p.engine.eventsLost; // coverage() walks every live entry: not once a second
    this.stream.write(`\r\x1b[Kdmadebug live: ${Math.round(rate)} events/s, live ${devs || 'none'}, lost ${lost}`);
    this.shown = true;
  }

  clear(): void {
    if (this.shown) this.stream.write('\r\x1b[K');
  }
}

export async function runLive(v: Values, positionals: string[]): Promise<number> {
  if (positionals.length > 1) throw new UsageError('live takes at most one tracefs directory');
  const duration = secondsOption(v.duration, 'duration');
  // Options first: a bad --kernel is a usage error before tracefs is looked at.
  const cfg = engineConfig(v);
  const { failOn, filter, renderer: makeOut } = findingsOptions(v, 'live');
  const started = performance.now();
  const dir = findTracefs(positionals[0] ?? v.tracefs);
  // Opened before tracefs is touched: an output that cannot be written leaves the events off.
  const writer = openOutput(v);
  const outPaint = makePaint(colorFor({ isTTY: writer.tty }, colorMode(v)));
  const errPaint = makePaint(colorFor(process.stderr, colorMode(v)));
  const status = process.stderr.isTTY && !v.quiet ? new LiveStatus(process.stderr) : null;
  const rawProblem = v.text ? '--text' : rawTracefsProblem(dir);
  const raw = rawProblem === '';
  const label = raw ? join(dir, 'per_cpu', 'cpu*', 'trace_pipe_raw') : join(dir, 'trace_pipe');

  const renderer = makeOut(outPaint);
  writer.write(renderer.begin([label]));
  const onFinding = (f: Finding) => {
    if (!f.shown || !filter.passes(f)) return;
    status?.clear();
    writer.write(renderer.finding(f, { label, kind: raw ? 'tracefs-raw' : 'text' }));
  };
  // The events come from the running kernel: its uname is evidence for the profile (--kernel/--arch win).
  const uname = runningKernel();
  const pipeline = new Pipeline(label, {
    engine: { sideKernel: { ...uname, source: 'the running kernel (uname)' }, ...cfg },
    onFinding,
    follow: true,
    // enableTracing() emptied the buffer (clear: true)
    startsEmpty: true,
    ...(raw ? { rawTracefs: dir } : {}),
    onChunk: async () => {
      status?.update(pipeline);
      await writer.flush();
    },
    // findings that waited for an idle CPU's next record went out: show them now
    onIdle: () => writer.flush(),
  });

  // A reader that stops reading (`| head`) ends the run: the status says what was found by then.
  writer.closedStatus = () => findingsStatus(pipeline.tally, failOn);

  // From an empty ring buffer: what an earlier session left comes with an unmarked gap.
  const state: TracefsState = enableTracing(dir, { stacktrace: v.stacktrace === true, clear: true });
  // Once, whichever way the run ends; what could not be put back is told.
  let restored = false;
  const restore = (): string[] => {
    if (restored) return [];
    restored = true;
    return restoreTracing(state);
  };
  const tell = (problems: string[]) => {
    for (const p of problems) process.stderr.write(`dmadebug: could not restore ${p}\n`);
  };
  if (!v.quiet) {
    const how = raw ? 'binary' : `text, ${rawProblem === '--text' ? 'as asked' : `no binary: ${rawProblem}`}`;
    process.stderr.write(
      `dmadebug live: following ${label} (${how}; ${state.events.length} events on); Ctrl-C to stop\n`,
    );
  }

  let finished = false;
  const finish = async (why: string): Promise<number> => {
    if (finished) return 0;
    finished = true;
    const problems = restore();
    status?.clear();
    const summary = summarize([label], pipeline);
    const hidden = filter.take();
    const error = pipeline.error;
    writer.write(renderer.endInput({ label, summary, error, hidden, ms: performance.now() - started }));
    writer.write(renderer.end());
    try {
      await writer.flush();
    } catch (e) {
      tell(problems);
      throw e;
    }
    if (!v.quiet) process.stderr.write(`dmadebug live: ${why}\n${summaryText(summary, errPaint, { hidden })}`);
    tell(problems);
    if (pipeline.error) process.stderr.write(`dmadebug: ${pipeline.error.message}\n`);
    return pipeline.error ? 2 : findingsStatus(pipeline.tally, failOn);
  };

  // On a signal or timeout: finish, then stop reading and exit with the code.
  // (A drained trace_pipe_raw source ends run() at once: it then waits for this.)
  let stopping: Promise<number> | null = null;
  const stopNow = (why: string) => {
    // trace_pipe_raw: what the kernel already holds and the merge queues go in before the summary
    const drained = pipeline.drain().catch((e: unknown) => {
      if (e instanceof Error && !pipeline.error) process.stderr.write(`dmadebug: ${e.message}\n`);
    });
    stopping ??= drained
      .then(() => finish(why))
      .then(async (code) => {
        await pipeline.stop();
        await writer.end();
        return code;
      })
      .catch((e: unknown) => {
        tell(restore());
        const code = outputFailureStatus(e);
        if (code === null) throw e;
        return code;
      })
      // the read of trace_pipe may never return: exit from here
      .then(async (code) => process.exit(await settleStdio(code)));
  };
  const onSig = (sig: NodeJS.Signals) => stopNow(`stopped by ${sig}`);
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  const timer =
    duration !== undefined ? setTimeout(() => stopNow(`stopped after ${duration} s`), duration * 1000) : null;

  try {
    await pipeline.run();
  } catch (e) {
    // the output failed (or a bug): tracefs goes back as it was before the error is told
    tell(restore());
    throw e;
  } finally {
    if (timer) clearTimeout(timer);
  }
  process.off('SIGINT', onSig);
  process.off('SIGTERM', onSig);
  if (stopping) return stopping;
  const code = await finish('the stream ended');
  await writer.end();
  return code;
}
