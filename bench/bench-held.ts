// The held-findings section of `npm run bench`: what a finding costs while the gate holds it. A text
// trace whose header names 2 CPUs, where CPU 1 shows no event, holds every proven error to the end of
// the input (a notice that CPU 1 lost events could still come with its first one). Each trace here is
// N unmaps of addresses never mapped, all on CPU 0 (N proven errors, none let out before the end);
// `dmadebug check -q` runs on it with its stdout read through a pipe, as a user's `| less` or `| grep`
// would, and we take its peak RSS and wall time. The difference of two such runs over the difference
// of their N is the memory of one held finding (the rest of the process is the same in both).

import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { headerText } from './gen-trace.js';

export interface HeldRow {
  errors: number;
  bytes: number;
  seconds: number;
  rssKiB: number;
  /** Lines dmadebug wrote (2 a finding: the line and its place). */
  outLines: number;
  exit: string;
}

export interface HeldArgs {
  dir: string;
  bin: string;
  counts: number[];
  /** /usr/bin/time, or null (then an --import hook reports the peak). */
  time: string | null;
  log: (s: string) => void;
}

/** Writes the trace of `errors` unmaps on CPU 0 (1 µs apart from 1 s on); returns its size. */
function writeHeldTrace(file: string, errors: number): number {
  const fd = openSync(file, 'w');
  // its header names 2 CPUs: CPU 1 shows nothing, so it may still bring a loss notice
  let bytes = writeSync(fd, headerText(0, 0, 2));
  let chunk = '';
  for (let i = 0; i < errors; i++) {
    const us = 1_000_000 + i;
    const ts = `${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, '0')}`;
    const addr = (0x100000000 + i * 0x1000).toString(16);
    chunk += `          insmod-109     [000] .....   ${ts}: dma_unmap_page: 0000:00:02.0 dir=TO_DEVICE dma_addr=${addr} size=512 attrs=\n`;
    if (chunk.length >= 1 << 20) {
      bytes += writeSync(fd, chunk);
      chunk = '';
    }
  }
  bytes += writeSync(fd, chunk);
  closeSync(fd);
  return bytes;
}

const RSS_TAG = 'BENCH-RSS';

export function runHeld(a: HeldArgs): HeldRow[] {
  const rows: HeldRow[] = [];
  for (const errors of a.counts) {
    const file = path.join(a.dir, `held-${errors}.txt`);
    a.log(`held findings: writing ${errors} unmap errors behind a CPU that shows nothing ...`);
    const bytes = writeHeldTrace(file, errors);
    a.log(`held findings: dmadebug check -q, stdout through a pipe to wc -l ...`);
    const node = JSON.stringify(process.execPath);
    const run = a.time
      ? `${a.time} -f '${RSS_TAG} %M' ${node} ${JSON.stringify(a.bin)} check -q ${JSON.stringify(file)}`
      : `${node} --import 'data:text/javascript,process.on("exit",()=>process.stderr.write("\\n${RSS_TAG} "+process.resourceUsage().maxRSS+"\\n"))' ${JSON.stringify(a.bin)} check -q ${JSON.stringify(file)}`;
    const t0 = process.hrtime.bigint();
    // bash: PIPESTATUS gives dmadebug's own exit status (wc's is the pipeline's)
    const r = spawnSync('bash', ['-c', `${run} | wc -l; exit \${PIPESTATUS[0]}`], { encoding: 'utf8' });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const m = new RegExp(`${RSS_TAG} (\\d+)`).exec(r.stderr ?? '');
    rows.push({
      errors,
      bytes,
      seconds,
      rssKiB: m ? Number(m[1]) : Number.NaN,
      outLines: Number.parseInt((r.stdout ?? '').trim(), 10),
      exit: r.signal ? `killed by ${r.signal}` : `exit ${r.status}`,
    });
    if (existsSync(file)) rmSync(file, { force: true });
  }
  return rows;
}
