// `record -- <command>`: turn on the dma events, run the command, and save the
// trace plus `<trace>.side.json` with what the events lack (driver names,
// kernel text/rodata ranges, the RAM that is not reserved, PCI DMA masks, the
// kernel's `uname -r` and architecture, driver unbinds during the run).
// Unbinds are also written to trace_marker as they are seen, so the trace
// carries them in order and `check` can report leaks at the right moment.

import { spawn } from 'node:child_process';
import { closeSync, openSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../input/errors.js';
import { collectSideInfo, driverBindings, type SideInfo, sidecarPath, type UnbindRecord } from '../input/sidecar.js';
import { UNBIND_MARKER } from '../input/text-parser.js';
import { enableTracing, findTracefs, restoreTracing, type TracefsState } from '../input/tracefs.js';
import { formatOption } from './formats.js';
import { UsageError, type Values } from './options.js';
import { Output } from './output.js';

/** How often driver bindings are looked at while the command runs. */
const POLL_MS = 100;

export async function runRecord(v: Values, positionals: string[]): Promise<number> {
  if (positionals.length === 0)
    throw new UsageError('record needs a command: dmadebug record [-o FILE] -- <command ...>');
  formatOption(v, 'record'); // no output formats: --format is a usage error
  const out = v.output ?? 'dmadebug.trace.txt';
  if (out === '') throw new UsageError('-o takes a file name');
  const dir = findTracefs(v.tracefs);
  const sysfs = v.sysfs ?? '/sys';
  const iomem = v.iomem ?? '/proc/iomem';
  // Both files are opened before anything runs: one that cannot be written fails now, not after the
  // command; if tracing cannot be set up, the files this made go again.
  const outputs: Output[] = [];
  let side: SideInfo;
  let state: TracefsState;
  try {
    outputs.push(Output.file(out));
    outputs.push(Output.file(sidecarPath(out)));
    side = collectSideInfo(sysfs, iomem);
    side.source = sidecarPath(out);
    // From an empty ring buffer, so the trace is this run only.
    state = enableTracing(dir, { stacktrace: v.stacktrace === true, clear: true });
  } catch (e) {
    for (const o of outputs) o.discard();
    throw e;
  }
  const [trace, sidecar] = outputs as [Output, Output];
  const restore = () => {
    for (const p of restoreTracing(state)) process.stderr.write(`dmadebug: could not restore ${p}\n`);
  };
  if (!v.quiet)
    process.stderr.write(`dmadebug record: ${state.events.length} events on; running ${positionals.join(' ')}\n`);

  const t0 = Date.now();
  let bound = side.drivers;
  const unbinds: UnbindRecord[] = [];
  const poll = setInterval(() => {
    const now = driverBindings(sysfs).drivers;
    for (const [device, driver] of Object.entries(bound)) {
      if (now[device] === driver) continue;
      const bus = side.buses[device] ?? '?';
      let marker = false;
      try {
        writeFileSync(join(dir, 'trace_marker'), `${UNBIND_MARKER}${device} ${driver} ${bus}\n`);
        marker = true;
      } catch {
        // no trace_marker: the sidecar still has it
      }
      unbinds.push({ device, driver, bus, atSeconds: (Date.now() - t0) / 1000, marker });
    }
    for (const [device, driver] of Object.entries(now)) side.drivers[device] ??= driver;
    bound = now;
  }, POLL_MS);

  let code: number;
  const child = spawn(positionals[0]!, positionals.slice(1), { stdio: 'inherit' });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c, sig) => resolve(c ?? (sig ? 128 + (sig === 'SIGINT' ? 2 : 15) : 1)));
    });
  } catch (e) {
    clearInterval(poll);
    restore();
    trace.discard();
    sidecar.discard();
    throw new InputError(positionals[0]!, '', `cannot run: ${(e as NodeJS.ErrnoException).code ?? e}`);
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
  clearInterval(poll);
  side.unbinds = unbinds;
  try {
    // Stop writing before reading back, then put everything as it was.
    writeFileSync(join(dir, 'tracing_on'), '0');
  } catch {
    // restored below anyway
  }
  try {
    await copyTraceFile(join(dir, 'trace'), trace);
    sidecar.write(`${JSON.stringify(side, null, 2)}\n`);
    await sidecar.end();
  } finally {
    restore();
  }
  if (!v.quiet) {
    process.stderr.write(
      `dmadebug record: saved ${out} and ${sidecarPath(out)} (${Object.keys(side.drivers).length} driver bindings, ` +
        `${side.kernelImage.length} kernel ranges, ${side.systemRam.length} RAM ranges, ${unbinds.length} unbinds, ` +
        `kernel ${side.kernel?.release ?? '?'} ${side.kernel?.machine ?? '?'}); check it with: dmadebug check ${out}\n`,
    );
  }
  return code;
}

/** Copies by reading to EOF: tracefs files report a size of 0, so copy_file_range would copy nothing. */
async function copyTraceFile(from: string, to: Output): Promise<void> {
  let src: number;
  try {
    src = openSync(from, 'r');
  } catch (e) {
    throw new InputError(from, '', `cannot read: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      let n: number;
      try {
        n = readSync(src, buf, 0, buf.length, null);
      } catch (e) {
        throw new InputError(from, '', `cannot read: ${(e as NodeJS.ErrnoException).code ?? e}`);
      }
      if (n === 0) break;
      to.write(Buffer.from(buf.subarray(0, n))); // a copy: buf is read into again
      await to.ready();
    }
    await to.end();
  } finally {
    closeSync(src);
  }
}
