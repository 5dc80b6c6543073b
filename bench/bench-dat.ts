// The trace.dat section of `npm run bench`: generates ≥ 5M-event trace.dat files with gen-tracedat.ts
// (v6 uncompressed, v7 zlib, and — through `trace-cmd convert` — v7 zstd, the compression Debian's
// trace-cmd reads), checks on a small file that trace-cmd decodes it and that dmadebug finds nothing,
// then measures in the same run `dmadebug check -q FILE` (best of 2, peak RSS via /usr/bin/time %M)
// against `trace-cmd report FILE > /dev/null` (best of 2), and prints events/s, MB/s and the ratio
// against the ≥ 10× target. Without trace-cmd it says how to install it and measures dmadebug only.

import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type DatGenStats, generateTraceDat } from './gen-tracedat.js';

export const DAT_TARGET = 10; // × faster than trace-cmd report
const RSS_TAG = 'BENCH-RSS';

export interface DatArgs {
  dir: string;
  bin: string;
  events: number;
  live: number;
  keep: boolean;
  log: (s: string) => void;
}

export interface DatRow {
  label: string;
  file: string;
  bytes: number;
  events: number;
  genSec: number | null;
  ddSec: number;
  rssKiB: number;
  ddNote: string;
  tcSec: number | null;
  tcNote: string;
}

function now(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

export function traceCmdPath(): string | null {
  for (const p of ['/usr/bin/trace-cmd', '/usr/local/bin/trace-cmd']) if (existsSync(p)) return p;
  const r = spawnSync('sh', ['-c', 'command -v trace-cmd'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

/** dmadebug check -q: best of 2 wall, max peak RSS, exit status and stdout lines of the last run. */
function timeDmadebug(bin: string, file: string): { sec: number; rssKiB: number; note: string } {
  let sec = Number.POSITIVE_INFINITY;
  let rssKiB = 0;
  let note = '';
  for (let i = 0; i < 2; i++) {
    const t0 = now();
    const r = spawnSync('/usr/bin/time', ['-f', `${RSS_TAG} %M`, process.execPath, bin, 'check', '-q', file], {
      encoding: 'utf8',
      maxBuffer: 256 << 20,
    });
    sec = Math.min(sec, now() - t0);
    const m = new RegExp(`${RSS_TAG} (\\d+)`).exec(r.stderr ?? '');
    if (m) rssKiB = Math.max(rssKiB, Number(m[1]));
    const out = (r.stdout ?? '').split('\n').filter((l) => l).length;
    note = r.status === 0 && out === 0 ? 'exit 0, no findings' : `exit ${r.status}, ${out} lines on stdout`;
    if (r.status !== 0) {
      const err = (r.stderr ?? '').split('\n').filter((l) => l && !l.startsWith(RSS_TAG));
      note += ` (${err.slice(-1)[0] ?? ''})`;
      break;
    }
  }
  return { sec, rssKiB, note };
}

/** trace-cmd report FILE > /dev/null: best of 2, or why it failed. */
function timeTraceCmd(tc: string, file: string): { sec: number | null; note: string } {
  let sec = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 2; i++) {
    const devnull = openSync('/dev/null', 'w');
    const t0 = now();
    const r = spawnSync(tc, ['report', file], { stdio: ['ignore', devnull, 'pipe'], encoding: 'utf8' });
    const s = now() - t0;
    closeSync(devnull);
    if (r.status !== 0) {
      const why = (r.stderr ?? '').trim().split('\n').slice(-2).join(' / ');
      return { sec: null, note: `trace-cmd fails (exit ${r.status}: ${why})` };
    }
    sec = Math.min(sec, s);
  }
  return { sec, note: 'exit 0' };
}

/** Small-file sanity check: trace-cmd prints every record as an event line; dmadebug finds nothing. */
function sanity(a: DatArgs, tc: string | null): string[] {
  const out: string[] = [];
  const file = path.join(a.dir, 'sanity-v6.dat');
  const n = 20000;
  generateTraceDat({ events: n, live: 256, out: file, version: 6 });
  if (tc) {
    const r = spawnSync(tc, ['report', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const lines = (r.stdout ?? '').split('\n');
    const ev = lines.filter((l) => /\]\s+\d+\.\d+: (dma_|mm_page_free)/.test(l));
    const mapPage = ev.find((l) => l.includes('dma_map_page:')) ?? '';
    const ok = r.status === 0 && ev.length === n && /dir=\w+ dma_addr=[0-9a-f]+ size=\d+ phys_addr=/.test(mapPage);
    out.push(
      `sanity: trace-cmd report on a ${n}-event v6 file: exit ${r.status}, ${ev.length} event lines` +
        ` (${ok ? 'OK' : 'UNEXPECTED'}); e.g.\n    ${mapPage.trim()}`,
    );
  }
  const d = spawnSync(process.execPath, [a.bin, 'check', file], { encoding: 'utf8' });
  const findings = (d.stdout ?? '').split('\n').filter((l) => l).length;
  out.push(
    `sanity: dmadebug check on it: exit ${d.status}, ${findings} findings ` +
      `(${d.status === 0 && findings === 0 ? 'OK' : 'UNEXPECTED'}); ${(d.stderr ?? '').split('\n')[0]}`,
  );
  rmSync(file, { force: true });
  return out;
}

/** The trace.dat of `a.events` events in `a.dir`: reused when a kept one (with its meta.json) is there. */
export function ensureDat(
  a: Pick<DatArgs, 'dir' | 'events' | 'live' | 'log'>,
  label: string,
  version: 6 | 7,
  zlib: boolean,
): { file: string; stats: DatGenStats } {
  const file = path.join(a.dir, `trace-${a.events}-live${a.live}-${label}.dat`);
  const meta = `${file}.meta.json`;
  if (existsSync(file) && existsSync(meta)) {
    const stats = JSON.parse(readFileSync(meta, 'utf8')) as DatGenStats;
    // (a meta.json from before cpuData was recorded: regenerate)
    if (stats.bytes === statSync(file).size && stats.cpuData !== undefined) {
      a.log(`reusing ${file}`);
      return { file, stats: { ...stats, seconds: Number.NaN } };
    }
  }
  a.log(`generating ${file} (${a.events} events, ${label}) ...`);
  const stats = generateTraceDat({ events: a.events, live: a.live, out: file, version, zlib });
  writeFileSync(meta, `${JSON.stringify(stats, null, 2)}\n`);
  a.log(`  ${(stats.bytes / 1e6).toFixed(0)} MB in ${stats.seconds.toFixed(2)} s`);
  return { file, stats };
}

export function runDat(a: DatArgs): { text: string; rows: DatRow[] } {
  mkdirSync(a.dir, { recursive: true });
  const tc = traceCmdPath();
  let text = '';
  if (!tc) {
    text +=
      'trace-cmd is not installed, so there is no ratio: install it with `apt-get install -y trace-cmd` ' +
      '(Debian/Ubuntu) and run the bench again.\n';
  } else {
    const v = spawnSync(tc, ['--version'], { encoding: 'utf8' });
    text += `${((v.stdout ?? '') + (v.stderr ?? '')).trim().split('\n')[0]} (${tc})\n`;
  }
  for (const l of sanity(a, tc)) text += `${l}\n`;

  const rows: DatRow[] = [];
  const files: string[] = [];
  const measure = (label: string, file: string, events: number, genSec: number | null) => {
    a.log(`measuring ${label}: dmadebug check -q ×2${tc ? ', trace-cmd report ×2' : ''} ...`);
    const d = timeDmadebug(a.bin, file);
    const t = tc ? timeTraceCmd(tc, file) : { sec: null, note: 'not installed' };
    rows.push({
      label,
      file,
      bytes: statSync(file).size,
      events,
      genSec,
      ddSec: d.sec,
      rssKiB: d.rssKiB,
      ddNote: d.note,
      tcSec: t.sec,
      tcNote: t.note,
    });
  };
  const v6 = ensureDat(a, 'v6', 6, false);
  files.push(v6.file, `${v6.file}.meta.json`);
  const events = v6.stats?.events ?? a.events;
  measure('v6, uncompressed', v6.file, events, v6.stats?.seconds ?? null);
  const z = ensureDat(a, 'v7zlib', 7, true);
  files.push(z.file, `${z.file}.meta.json`);
  measure('v7, zlib (this writer)', z.file, events, z.stats?.seconds ?? null);
  if (tc) {
    const zs = v6.file.replace(/-v6\.dat$/, '-v7zstd.dat');
    const t0 = now();
    const r = spawnSync(tc, ['convert', '-i', v6.file, '--file-version', '7', '--compression', 'zstd', '-o', zs], {
      encoding: 'utf8',
    });
    if (r.status === 0) {
      files.push(zs);
      measure('v7, zstd (trace-cmd convert)', zs, events, now() - t0);
    } else text += `trace-cmd convert to zstd failed: ${(r.stderr ?? '').trim().split('\n').slice(-1)[0]}\n`;
  }
  if (!a.keep) for (const f of files) rmSync(f, { force: true });
  return { text, rows };
}
