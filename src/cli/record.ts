// `record -- <command>`: turn on the dma events, run the command, and save the
// trace plus `<trace>.side.json` with what the events lack (driver names,
// kernel text/rodata ranges, the RAM that is not reserved, PCI DMA masks, the
// kernel's `uname -r` and architecture, driver unbinds during the run).
// Unbinds are also written to trace_marker as they are seen, so the trace
// carries them in order and `check` can report leaks at the right moment.

import { spawn } from 'node:child_process';
import { closeSync, openSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../input/errors.js';
import { collectSideInfo, driverBindings, sidecarPath, type UnbindRecord } from '../input/sidecar.js';
import { UNBIND_MARKER } from '../input/text-parser.js';
import { enableTracing, findTracefs, restoreTracing } from '../input/tracefs.js';
import { UsageError, type Values } from './options.js';

/** How often driver bindings are looked at while the command runs. */
const POLL_MS = 100;

export async function runRecord(v: Values, positionals: string[]): Promise<number> {
  if (positionals.length === 0)
    throw new UsageError('record needs a command: dmadebug record [-o FILE] -- <command ...>');
  const out = v.output ?? 'dmadebug.trace.txt';
  const dir = findTracefs(v.tracefs);
  const sysfs = v.sysfs ?? '/sys';
  const iomem = v.iomem ?? '/proc/iomem';
  const side = collectSideInfo(sysfs, iomem);
  side.source = sidecarPath(out);
  // From an empty ring buffer, so the trace is this run only.
  const state = enableTracing(dir, { stacktrace: v.stacktrace === true, clear: true });
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
    copyTraceFile(join(dir, 'trace'), out);
    writeFileSync(sidecarPath(out), `${JSON.stringify(side, null, 2)}\n`);
  } catch (e) {
    restore();
    throw new InputError(out, '', `cannot save the trace: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  restore();
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
function copyTraceFile(from: string, to: string): void {
  const src = openSync(from, 'r');
  const dst = openSync(to, 'w');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = readSync(src, buf, 0, buf.length, null);
      if (n === 0) break;
      writeSync(dst, buf, 0, n);
    }
  } finally {
    closeSync(src);
    closeSync(dst);
  }
}
