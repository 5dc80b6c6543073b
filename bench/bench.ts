// Owns `npm run bench`. Six sections, each skippable:
// - real traces (--no-real, first; bench/bench-real.ts): the storm fixture as trace.dat (as recorded and
//   converted to v6) and as text, and the largest real-device fixtures of each kernel, against
//   `trace-cmd report` (Debian's 3.1.6 and 3.4) and `wc -l` in the same run, runs interleaved, medians
//   of --real-runs N (5). Targets: storm trace.dat ≥ 10× faster than trace-cmd, storm text ≤ 12× wc -l.
//   The generated workloads of the sections below stay for scaling curves.
// - text (--no-text): generates synthetic ftrace text (bench/gen-trace.ts), then measures in the same
//   run `wc -l` (best of 3) against `dmadebug check -q` (best of 2: wall time and peak RSS) on each, and
//   prints throughput, the ratio to `wc -l`, memory per live mapping and whether RSS depends on length.
// - trace.dat (--no-dat, bench/bench-dat.ts): ≥ 5M-event trace.dat files (bench/gen-tracedat.ts),
//   `dmadebug check -q` against `trace-cmd report > /dev/null` in the same run (target ≥ 10× faster).
// - live (--no-live, bench/bench-live.ts): `dmadebug live` fed through FIFOs at rising rates, on its
//   binary path (ring-buffer pages into per_cpu/cpuN/trace_pipe_raw, the default of `live`) and its
//   text path (`--text`: lines into trace_pipe); the highest sustained rate of each (target ≥ 5M
//   events/s). --live-mode raw|text|both picks the paths.
// - page-free (--no-pagefree, bench/bench-pagefree.ts): the page-freed-while-mapped check's
//   throughput at 10k and at 1M live mappings, side by side (its cost must not grow with the count).
// - held findings (--no-held, bench/bench-held.ts): peak RSS of text traces that hold every error to
//   their end (a CPU that shows no event), at two counts: the memory of one held finding.
// It reports; it does not fail. Exit status is non-zero only when something crashed.
//
//   npm run bench -- [--no-real] [--real-runs 5] [--size 1G] [--live 4096] [--keep]
//                    [--short-size 256M] [--mem-size 300M] [--mem-live 1000000] [--no-mem]
//                    [--no-text] [--no-dat] [--no-live] [--dat-events 5M]
//                    [--live-mode both] [--live-rates 500k,1M,2M] [--live-fifo 64K,1M]
//                    [--live-seconds 2]
//                    [--no-pagefree] [--pagefree-lives 10k,100k,1M,3M] [--pagefree-frees 2M]
//                    [--no-held] [--held-counts 250k,1M]
//
// Traces live in /tmp/dmadebug-bench/ and are reused when a trace of the same size and live count is
// there (left by --keep). Without --keep each trace is deleted once measured.

import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAT_TARGET, type DatRow, runDat } from './bench-dat.js';
import { type HeldRow, runHeld } from './bench-held.js';
import { LIVE_TARGET, type LiveMode, type LiveRow, runLive } from './bench-live.js';
import { type PageFreeRow, runPageFree } from './bench-pagefree.js';
import {
  findings,
  meets,
  type PeerId,
  REAL_DAT_TARGET,
  REAL_TEXT_TARGET,
  type RealResult,
  type RealRow,
  ratio,
  runReal,
} from './bench-real.js';
import { type GenStats, generateTrace, parseSize } from './gen-trace.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'dmadebug.js');
const CLI_MAIN = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const DIR = '/tmp/dmadebug-bench';
const TIME = '/usr/bin/time';
const SPEED_TARGET = 12; // × wc -l (issue 15: the storm text within 12×; generated text alike)
const MEM_TARGET = 64; // bytes of RSS per live mapping at 1 M live (issue 15)
const MiB = 1 << 20;

interface Args {
  real: boolean;
  realRuns: number;
  size: number;
  live: number;
  keep: boolean;
  shortSize: number;
  memSize: number;
  memLive: number;
  mem: boolean;
  text: boolean;
  dat: boolean;
  liveFeed: boolean;
  datEvents: number;
  liveModes: LiveMode[];
  /** Rates per live mode; --live-rates sets both. */
  liveRates: Record<LiveMode, number[]>;
  liveFifo: number[];
  liveSeconds: number;
  pageFree: boolean;
  pageFreeLives: number[];
  pageFreeFrees: number;
  held: boolean;
  heldCounts: number[];
}

interface Trace {
  label: string;
  file: string;
  stats: GenStats;
  /** Generator throughput, when generated in this run. */
  genMBs: number | null;
}

interface Measure {
  wcSec: number;
  wcLines: number;
  ddSec: number;
  /** Peak RSS of the dmadebug process (max over its runs), KiB. */
  rssKiB: number;
  exitCode: number | null;
  signal: string | null;
  /** Lines on stdout (findings) and the first few of them. */
  outLines: number;
  outHead: string[];
  errTail: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    real: true,
    realRuns: 5,
    size: 1 << 30,
    live: 4096,
    keep: false,
    shortSize: 256 * MiB,
    memSize: 300 * MiB,
    memLive: 1_000_000,
    mem: true,
    text: true,
    dat: true,
    liveFeed: true,
    datEvents: 5_000_000,
    liveModes: ['raw', 'text'],
    liveRates: {
      raw: [500_000, 1_000_000, 1_500_000, 2_000_000, 2_500_000, 3_000_000, 4_000_000, 5_000_000],
      text: [250_000, 500_000, 1_000_000, 2_000_000, 4_000_000],
    },
    liveFifo: [0, 1 << 20],
    liveSeconds: 2,
    pageFree: true,
    pageFreeLives: [10_000, 100_000, 1_000_000, 3_000_000],
    pageFreeFrees: 2_000_000,
    held: true,
    heldCounts: [250_000, 1_000_000],
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    if (k === '--keep') {
      a.keep = true;
      continue;
    }
    if (
      k === '--no-real' ||
      k === '--no-mem' ||
      k === '--no-text' ||
      k === '--no-dat' ||
      k === '--no-live' ||
      k === '--no-pagefree' ||
      k === '--no-held'
    ) {
      if (k === '--no-real') a.real = false;
      else if (k === '--no-mem') a.mem = false;
      else if (k === '--no-pagefree') a.pageFree = false;
      else if (k === '--no-held') a.held = false;
      else if (k === '--no-text') a.text = false;
      else if (k === '--no-dat') a.dat = false;
      else a.liveFeed = false;
      continue;
    }
    if (k === '-h' || k === '--help') {
      process.stdout.write(
        'usage: npm run bench -- [--no-real] [--real-runs 5]\n' +
          '                        [--size 1G] [--live 4096] [--keep] [--short-size 256M]\n' +
          '                        [--mem-size 300M] [--mem-live 1000000] [--no-mem]\n' +
          '                        [--no-text] [--no-dat] [--no-live] [--dat-events 5M]\n' +
          '                        [--live-mode raw|text|both] [--live-rates 500k,1M,2M]\n' +
          '                        [--live-fifo 64K,1M] [--live-seconds 2]\n' +
          '                        [--no-pagefree] [--pagefree-lives 10k,100k,1M,3M] [--pagefree-frees 2M]\n' +
          '                        [--no-held] [--held-counts 250k,1M]\n' +
          'defaults: live rates raw 500k,1M,1.5M,2M,2.5M,3M,4M,5M and text 250k,500k,1M,2M,4M (each up to the first\n' +
          'not sustained); FIFO sizes 64K (the default) and 1M (F_SETPIPE_SZ)\n',
      );
      process.exit(0);
    }
    const v = argv[++i];
    if (v === undefined) throw new Error(`${k} needs a value`);
    if (k === '--real-runs') {
      a.realRuns = Number(v);
      if (!Number.isInteger(a.realRuns) || a.realRuns < 1) throw new Error('--real-runs takes a whole number ≥ 1');
    } else if (k === '--size') a.size = parseSize(v);
    else if (k === '--live') a.live = parseSize(v);
    else if (k === '--short-size') a.shortSize = parseSize(v);
    else if (k === '--mem-size') a.memSize = parseSize(v);
    else if (k === '--mem-live') a.memLive = parseSize(v);
    else if (k === '--dat-events') a.datEvents = parseCount(v);
    else if (k === '--live-rates') {
      const rates = v.split(',').map(parseCount);
      a.liveRates = { raw: rates, text: rates };
    } else if (k === '--live-mode') {
      if (v !== 'raw' && v !== 'text' && v !== 'both') throw new Error('--live-mode takes raw, text or both');
      a.liveModes = v === 'both' ? ['raw', 'text'] : [v];
    } else if (k === '--live-fifo') a.liveFifo = v.split(',').map((x) => (parseSize(x) === 65536 ? 0 : parseSize(x)));
    else if (k === '--live-seconds') a.liveSeconds = Number(v);
    else if (k === '--pagefree-lives') a.pageFreeLives = v.split(',').map(parseCount);
    else if (k === '--pagefree-frees') a.pageFreeFrees = parseCount(v);
    else if (k === '--held-counts') a.heldCounts = v.split(',').map(parseCount);
    else throw new Error(`unknown option ${k}`);
  }
  if (a.shortSize >= a.size) a.shortSize = Math.max(1 << 20, Math.floor(a.size / 4));
  return a;
}

/** A decimal count: 5M = 5,000,000, 250k = 250,000. */
function parseCount(v: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(v);
  if (!m) throw new Error(`bad count ${v}`);
  const mult = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(m[1]) * mult);
}

function sizeName(n: number): string {
  if (n % (1 << 30) === 0) return `${n / (1 << 30)}G`;
  if (n % MiB === 0) return `${n / MiB}M`;
  if (n % 1024 === 0) return `${n / 1024}K`;
  return String(n);
}

function freeBytes(dir: string): number {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

function now(): bigint {
  return process.hrtime.bigint();
}
function secondsSince(t0: bigint): number {
  return Number(now() - t0) / 1e9;
}

/** Generate (or reuse) the trace of this size and live count. */
function ensureTrace(label: string, size: number, live: number): Trace {
  mkdirSync(DIR, { recursive: true });
  const file = path.join(DIR, `trace-${sizeName(size)}-live${live}.txt`);
  const meta = `${file}.meta.json`;
  if (existsSync(file) && existsSync(meta)) {
    try {
      const stats = JSON.parse(readFileSync(meta, 'utf8')) as GenStats;
      if (stats.bytes === statSync(file).size) {
        log(`reusing ${file}`);
        return { label, file, stats, genMBs: null };
      }
    } catch {
      // regenerate below
    }
  }
  const need = size * 1.05 + 64 * MiB;
  const avail = freeBytes(DIR);
  if (avail < need) {
    throw new Error(`not enough space in ${DIR} for a ${sizeName(size)} trace (${(avail / MiB).toFixed(0)} MiB free)`);
  }
  log(`generating ${file} (${sizeName(size)}, ${live} live mappings) ...`);
  const stats = generateTrace({ size, live, out: file });
  writeFileSync(meta, `${JSON.stringify(stats, null, 2)}\n`);
  const genMBs = stats.bytes / 1e6 / stats.seconds;
  log(`  ${stats.lines} lines in ${stats.seconds.toFixed(2)} s (${genMBs.toFixed(0)} MB/s)`);
  return { label, file, stats, genMBs };
}

function dropTrace(t: Trace, keep: boolean): void {
  if (keep) return;
  rmSync(t.file, { force: true });
  rmSync(`${t.file}.meta.json`, { force: true });
}

function log(s: string): void {
  process.stderr.write(`bench: ${s}\n`);
}

const RSS_TAG = 'BENCH-RSS';
/** Preload for when /usr/bin/time is missing: the child reports its own peak RSS on exit. */
const RSS_HOOK = `data:text/javascript,process.on("exit",()=>process.stderr.write("\\n${RSS_TAG} "+process.resourceUsage().maxRSS+"\\n"))`;

function measure(file: string, useTime: boolean): Measure {
  // wc -l: best of 3.
  let wcSec = Number.POSITIVE_INFINITY;
  let wcLines = -1;
  for (let i = 0; i < 3; i++) {
    const t0 = now();
    const r = spawnSync('wc', ['-l', file], { encoding: 'utf8' });
    const s = secondsSince(t0);
    if (r.status !== 0) throw new Error(`wc -l failed: ${r.stderr}`);
    wcSec = Math.min(wcSec, s);
    wcLines = Number.parseInt(r.stdout.trim(), 10);
  }

  // dmadebug check -q: best of 2 for time; peak RSS is the max over the runs.
  const outFile = path.join(DIR, `findings-${process.pid}.txt`);
  let ddSec = Number.POSITIVE_INFINITY;
  let rssKiB = 0;
  let exitCode: number | null = 0;
  let signal: string | null = null;
  let errTail = '';
  for (let i = 0; i < 2; i++) {
    const fd = openSync(outFile, 'w');
    const cmd = useTime
      ? { exe: TIME, args: ['-f', `${RSS_TAG} %M`, process.execPath, BIN, 'check', '-q', file] }
      : { exe: process.execPath, args: ['--import', RSS_HOOK, BIN, 'check', '-q', file] };
    const t0 = now();
    const r = spawnSync(cmd.exe, cmd.args, { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8', maxBuffer: 64 * MiB });
    const s = secondsSince(t0);
    closeSync(fd);
    ddSec = Math.min(ddSec, s);
    const err = r.stderr ?? '';
    const m = new RegExp(`${RSS_TAG} (\\d+)`).exec(err);
    if (m) rssKiB = Math.max(rssKiB, Number(m[1]));
    // /usr/bin/time reports a killed child as "Command terminated by signal N" and exits with 128+N.
    exitCode = r.status;
    signal = r.signal;
    errTail = err
      .split('\n')
      .filter((l) => l && !l.startsWith(RSS_TAG))
      .slice(-5)
      .join('\n');
    if (exitCode !== 0 && exitCode !== 1) break;
  }
  const out = readFileSync(outFile, 'utf8');
  rmSync(outFile, { force: true });
  const lines = out.split('\n').filter((l) => l.length > 0);
  return {
    wcSec,
    wcLines,
    ddSec,
    rssKiB,
    exitCode,
    signal,
    outLines: lines.length,
    outHead: lines.slice(0, 6),
    errTail,
  };
}

function fmt(n: number, digits = 2): string {
  return n.toFixed(digits);
}

function grouped(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  return rows
    .map((r, ri) => {
      const line = r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
      return ri === 0 ? `${line}\n${'-'.repeat(line.length)}` : line;
    })
    .join('\n');
}

function exitNote(m: Measure): string {
  if (m.signal) return `killed (${m.signal})`;
  if (m.exitCode === 0) return m.outLines === 0 ? 'exit 0' : `exit 0, ${m.outLines} out`;
  if (m.exitCode === 1) return `exit 1 (errors!)`;
  return `exit ${m.exitCode} (crash?)`;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const cpus = os.cpus();
  const useTime = existsSync(TIME);
  process.stdout.write(
    `dmadebug bench — ${new Date().toISOString()}\n` +
      `node ${process.version}, ${cpus.length} CPU × ${cpus[0]?.model ?? '?'}, ` +
      `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}\n` +
      `peak RSS measured with ${useTime ? `${TIME} -f %M` : 'an --import hook printing process.resourceUsage().maxRSS'}\n` +
      `MB = 10^6 bytes, MiB = 2^20 bytes; real traces: median of ${args.realRuns} interleaved runs; ` +
      'generated text: wc -l best of 3, dmadebug best of 2 (RSS: max of the 2)\n\n',
  );
  if (!existsSync(CLI_MAIN)) {
    process.stdout.write(`dmadebug is not built (${CLI_MAIN} missing): run \`npm run build\` first.\n`);
    return 1;
  }

  let crashed = false;
  if (args.real) {
    process.stdout.write(
      `== real traces: dmadebug check vs trace-cmd report and wc -l (median of ${args.realRuns} interleaved runs)\n`,
    );
    const r = runReal({ root: ROOT, dir: DIR, bin: BIN, runs: args.realRuns, log });
    process.stdout.write(`${realTables(r)}\n`);
    for (const row of r.rows) if (!row.ddOk) crashed = true;
    if (args.text || args.dat || args.liveFeed || args.pageFree || args.held) {
      process.stdout.write('\n(the generated workloads below are for scaling curves)\n\n');
    }
  }
  if (args.text) crashed = textSection(args, useTime) || crashed;
  if (args.dat) {
    process.stdout.write(`\n== trace.dat: dmadebug check vs trace-cmd report (${grouped(args.datEvents)} events)\n`);
    const r = runDat({ dir: DIR, bin: BIN, events: args.datEvents, live: args.live, keep: args.keep, log });
    process.stdout.write(r.text);
    process.stdout.write(`${datTable(r.rows)}\n`);
    for (const row of r.rows) if (!row.ddNote.startsWith('exit 0')) crashed = true;
  }
  if (args.liveFeed) {
    process.stdout.write(`\n== live: dmadebug live fed through FIFOs (${args.liveModes.join(', ')})\n`);
    const r = await runLive({
      dir: DIR,
      bin: BIN,
      modes: args.liveModes,
      rates: args.liveRates,
      seconds: args.liveSeconds,
      pipeSizes: args.liveFifo,
      live: args.live,
      keep: args.keep,
      log,
    });
    process.stdout.write(r.text);
    process.stdout.write(`${liveTable(r.rows)}\n`);
    const c = r.capacity;
    if (c) {
      process.stdout.write(
        `live raw capacity (no feeder: each CPU's ${grouped(c.events)} records in a regular file, read as fast as ` +
          `\`live\` can, to the files' ends): ${fmt(c.seconds, 2)} s wall with Node's start = ` +
          `${fmt(c.events / c.seconds / 1e6, 2)} M events/s; ${c.consumed === null ? '?' : grouped(c.consumed)} ` +
          `records counted, ${c.exit} (target ≥ ${grouped(LIVE_TARGET)} events/s sustained: ` +
          `${c.events / c.seconds >= LIVE_TARGET ? 'within reach' : 'out of reach at this capacity'})\n`,
      );
      if (c.exit !== 'exit 0' || c.consumed !== c.events) crashed = true;
    }
  }
  if (args.pageFree) {
    process.stdout.write('\n== page-free: the page-freed-while-mapped check at growing live counts\n');
    const rows = runPageFree({ lives: args.pageFreeLives, frees: args.pageFreeFrees, log });
    process.stdout.write(`${pageFreeTable(rows)}\n`);
  }
  if (args.held) {
    process.stdout.write('\n== held findings: errors held to the end of a text trace (a CPU that shows no event)\n');
    const rows = runHeld({ dir: DIR, bin: BIN, counts: args.heldCounts, time: useTime ? TIME : null, log });
    process.stdout.write(`${heldTable(rows)}\n`);
    for (const r of rows) if (r.exit !== 'exit 1' || r.outLines !== 2 * r.errors) crashed = true;
  }
  if (args.keep) process.stdout.write(`\ntraces kept in ${DIR}\n`);
  return crashed ? 1 : 0;
}

/** "median (min)" of a time, or a dash. */
function secCell(s: { median: number; min: number } | null): string {
  return s === null ? '—' : `${fmt(s.median, 2)} (${fmt(s.min, 2)})`;
}

/** The real-trace section's two tables (trace.dat, text), the targets and the notes. */
function realTables(r: RealResult): string {
  const dd = (row: RealRow) => row.dd?.median ?? null;
  const peerSec = (row: RealRow, id: PeerId) => row.peers.find((p) => p.id === id)?.sec?.median ?? null;
  const ratioOf = (row: RealRow, id: PeerId) => ratio(row.kind, dd(row), peerSec(row, id));
  const ratioCell = (row: RealRow, id: PeerId) => {
    const x = ratioOf(row, id);
    return x === null ? '—' : `${fmt(x, 1)}×`;
  };
  const met = (row: RealRow, id: PeerId): string => {
    const x = ratioOf(row, id);
    if (!row.storm || x === null) return '—';
    return meets(row.kind, x) ? 'met' : 'not met';
  };
  const common = (row: RealRow): string[] => {
    const d = dd(row);
    const ev = row.summary?.events ?? null;
    const f = row.summary;
    return [
      row.label,
      fmt(row.bytes / 1e6, 1),
      ev === null ? '?' : grouped(ev),
      f === null ? '?' : grouped(findings(f)),
      secCell(row.dd),
      d === null || ev === null ? '—' : fmt(ev / d / 1e6, 2),
      row.ddCpu === null ? '?' : fmt(row.ddCpu, 2),
      row.ddCpu === null || d === null ? '?' : fmt(row.ddCpu / d, 2),
      row.ddRssKiB === null ? '?' : fmt(row.ddRssKiB / 1024, 1),
      row.ddOk ? row.ddExit : `FAILED (${row.ddExit})`,
    ];
  };
  const head = ['MB', 'events', 'findings', 'dmadebug s', 'M ev/s', 'CPU s', 'cores', 'RSS MiB', 'exit'];
  const n = r.peerNames;
  let out = r.text;
  out += `load average at the start: ${r.loadStart.map((l) => l.toFixed(2)).join(' ')}\n\n`;

  const dats = r.rows.filter((x) => x.kind === 'dat');
  if (dats.length) {
    const t: string[][] = [['trace.dat', ...head, `${n.tc316} s`, 'faster', `${n.tc34} s`, 'faster', 'target', 'met']];
    for (const row of dats) {
      t.push([
        ...common(row),
        secCell(row.peers.find((p) => p.id === 'tc316')?.sec ?? null),
        ratioCell(row, 'tc316'),
        secCell(row.peers.find((p) => p.id === 'tc34')?.sec ?? null),
        ratioCell(row, 'tc34'),
        row.storm ? `≥ ${REAL_DAT_TARGET}×` : '—',
        row.storm ? `${met(row, 'tc316')} / ${met(row, 'tc34')}` : '—',
      ]);
    }
    out += `${table(t)}\n\n`;
  }
  const texts = r.rows.filter((x) => x.kind === 'text');
  if (texts.length) {
    const t: string[][] = [['text', ...head, 'lines (wc)', 'wc -l s', 'dmadebug/wc', 'target', 'met']];
    for (const row of texts) {
      const wc = row.peers.find((p) => p.id === 'wc');
      t.push([
        ...common(row),
        wc?.lines === null || wc === undefined ? '?' : grouped(wc.lines),
        secCell(wc?.sec ?? null),
        ratioCell(row, 'wc'),
        row.storm ? `≤ ${REAL_TEXT_TARGET}×` : '—',
        met(row, 'wc'),
      ]);
    }
    out += `${table(t)}\n\n`;
  }

  for (const row of r.rows.filter((x) => x.storm)) {
    const ids: PeerId[] = row.kind === 'dat' ? ['tc316', 'tc34'] : ['wc'];
    for (const id of ids) {
      const x = ratioOf(row, id);
      const what = row.kind === 'dat' ? `storm ${row.label.replace(/^storm /, '')} trace.dat` : 'storm text';
      if (x === null) {
        out += `${what} vs ${n[id]}: no ratio (${row.peers.find((p) => p.id === id)?.note || 'dmadebug failed'})\n`;
        continue;
      }
      const ok = meets(row.kind, x);
      out +=
        row.kind === 'dat'
          ? `${what}: dmadebug check is ${fmt(x, 1)}× as fast as ${n[id]} report (target ≥ ${REAL_DAT_TARGET}×): `
          : `${what}: dmadebug check takes ${fmt(x, 1)}× the time of wc -l (target ≤ ${REAL_TEXT_TARGET}×): `;
      out += `${ok ? 'MET' : 'NOT MET'}\n`;
    }
  }
  for (const row of r.rows) {
    if (!row.ddOk) out += `${row.label} (${row.kind}): dmadebug ${row.ddError}\n`;
    else if (row.summary === null) out += `${row.label} (${row.kind}): no summary line from dmadebug check\n`;
    for (const p of row.peers)
      if (p.sec === null && p.note) out += `${row.label} (${row.kind}): ${n[p.id]}: ${p.note}\n`;
  }
  out +=
    `times: wall seconds, median of ${r.runs} (min in brackets), each input's commands interleaved after one ` +
    'untimed warm-up of each (page cache); dmadebug check -q, stdout to /dev/null (exit 1 = findings, expected); ' +
    'trace-cmd report FILE > /dev/null; "faster" = trace-cmd / dmadebug; "dmadebug/wc" = how many times the ' +
    'time of wc -l; M ev/s = dmadebug events (its summary) / median; CPU s = dmadebug user+sys (median), ' +
    'cores = CPU s / wall; RSS = dmadebug peak, max of the runs; MB = 10^6 bytes as stored\n';
  out += `load average at the end: ${r.loadEnd.map((l) => l.toFixed(2)).join(' ')}\n`;
  return out;
}

function pageFreeTable(rows: PageFreeRow[]): string {
  const t: string[][] = [
    ['live mappings', 'entries', 'mm_page_free checked', 'best of 3', 'frees/s', 'ns per free', 'vs first'],
  ];
  const first = rows[0];
  for (const r of rows) {
    t.push([
      grouped(r.live),
      grouped(r.entries),
      grouped(r.frees),
      `${fmt(r.seconds, 3)} s`,
      grouped(r.rate),
      fmt(1e9 / r.rate, 0),
      first ? `${fmt(r.rate / first.rate, 2)}×` : '',
    ]);
  }
  let out = table(t);
  const last = rows[rows.length - 1];
  if (first && last && last !== first) {
    out +=
      `\n${grouped(first.live)} → ${grouped(last.live)} live mappings (${fmt(last.live / first.live, 0)}× as many): ` +
      `each free costs ${fmt(first.rate / last.rate, 2)}× as much (a walk over the live mappings would cost ` +
      `${fmt(last.live / first.live, 0)}×). The lookup is a few hash probes at any count; what rises is memory ` +
      'latency once the index outgrows the CPU caches, so compare the last rows: flat means no growth.';
    const prev = rows[rows.length - 2]!;
    if (prev !== first) {
      out += `\n${grouped(prev.live)} → ${grouped(last.live)}: ${fmt(prev.rate / last.rate, 2)}× the cost per free.`;
    }
  }
  const findings = rows.reduce((n, r) => n + r.findings, 0);
  if (findings > 0) out += `\nWARNING: ${findings} findings on frees chosen to miss every mapping`;
  return `${out}\n`;
}

function heldTable(rows: HeldRow[]): string {
  const t: string[][] = [['errors held', 'trace MB', 'dmadebug s', 'errors/s', 'peak RSS MiB', 'lines out', 'exit']];
  for (const r of rows) {
    t.push([
      grouped(r.errors),
      fmt(r.bytes / 1e6, 0),
      fmt(r.seconds, 2),
      grouped(r.errors / r.seconds),
      fmt(r.rssKiB / 1024, 1),
      grouped(r.outLines),
      r.exit,
    ]);
  }
  let out = table(t);
  const first = rows[0];
  const last = rows[rows.length - 1];
  if (first && last && last.errors > first.errors) {
    const per = ((last.rssKiB - first.rssKiB) * 1024) / (last.errors - first.errors);
    out +=
      `\nper held finding: (${fmt(last.rssKiB / 1024, 1)} − ${fmt(first.rssKiB / 1024, 1)}) MiB / ` +
      `${grouped(last.errors - first.errors)} more errors = ${fmt(per, 0)} bytes of peak RSS (its numbers, the ` +
      'snapshot, its message as bytes, and its share of the output on its way through the pipe)';
  }
  for (const r of rows) {
    if (r.exit !== 'exit 1' || r.outLines !== 2 * r.errors) {
      out += `\nWARNING: ${grouped(r.errors)} errors: ${r.exit}, ${grouped(r.outLines)} lines out (expected exit 1, ${grouped(2 * r.errors)})`;
    }
  }
  return `${out}\n`;
}

function datTable(rows: DatRow[]): string {
  const t: string[][] = [
    [
      'trace.dat',
      'MB',
      'events',
      'gen s',
      'dmadebug s',
      'events/s',
      'MB/s',
      'peak RSS MiB',
      'trace-cmd s',
      'ratio',
      'dmadebug',
    ],
  ];
  for (const r of rows) {
    t.push([
      r.label,
      fmt(r.bytes / 1e6, 0),
      grouped(r.events),
      r.genSec === null || Number.isNaN(r.genSec) ? 'reused' : fmt(r.genSec, 1),
      fmt(r.ddSec, 2),
      grouped(r.events / r.ddSec),
      fmt(r.bytes / 1e6 / r.ddSec, 0),
      fmt(r.rssKiB / 1024, 1),
      r.tcSec === null ? 'n/a' : fmt(r.tcSec, 2),
      r.tcSec === null ? 'n/a' : `${fmt(r.tcSec / r.ddSec, 1)}×`,
      r.ddNote,
    ]);
  }
  let out = table(t);
  for (const r of rows) {
    if (r.tcSec === null) out += `\n${r.label}: no ratio — ${r.tcNote}`;
    else {
      const ratio = r.tcSec / r.ddSec;
      out +=
        `\n${r.label}: dmadebug check is ${fmt(ratio, 1)}× faster than trace-cmd report ` +
        `(target ≥ ${DAT_TARGET}×): ${ratio >= DAT_TARGET ? 'MET' : 'NOT MET'}`;
    }
  }
  return `${out}\nMB/s is of the file as stored (compressed files: compressed bytes); trace-cmd best of 2, dmadebug best of 2`;
}

function liveTable(rows: LiveRow[]): string {
  const fifo = (r: LiveRow) => `${r.pipe >> 10} KiB${r.fifos > 1 ? ` ×${r.fifos}` : ''}`;
  const t: string[][] = [
    [
      'mode',
      'FIFO',
      'target ev/s',
      'achieved ev/s',
      'written',
      'consumed',
      'lost',
      'writer waited ms',
      'exit',
      'sustained',
    ],
  ];
  for (const r of rows) {
    t.push([
      r.mode,
      fifo(r),
      grouped(r.target),
      grouped(r.achieved),
      grouped(r.written),
      r.consumed === null ? '?' : grouped(r.consumed),
      r.lossNotices === null ? '?' : r.lossNotices === 0 ? '0' : `${r.lossNotices} notices`,
      fmt(r.blockedMs, 0),
      r.exit,
      r.sustained ? 'yes' : 'NO',
    ]);
  }
  let out = table(t);
  out +=
    "\nraw: ring-buffer records into per_cpu/cpuN/trace_pipe_raw (one FIFO per CPU, the size is each one's); " +
    'text: lines into trace_pipe (--text)';
  for (const key of [...new Set(rows.map((r) => `${r.mode} ${fifo(r)}`))]) {
    const mine = rows.filter((r) => `${r.mode} ${fifo(r)}` === key);
    const best = mine.filter((r) => r.sustained).reduce((m, r) => Math.max(m, r.target), 0);
    const failed = mine.find((r) => !r.sustained);
    out +=
      `\n${key}: highest sustained rate ${best ? `${grouped(best)} events/s` : 'none'}` +
      (failed ? ` (at ${grouped(failed.target)}/s it managed ${grouped(failed.achieved)}/s)` : ' (every rate tried)') +
      ` — target ≥ ${grouped(LIVE_TARGET)} events/s: ${best >= LIVE_TARGET ? 'MET' : 'NOT MET'}`;
  }
  for (const mode of [...new Set(rows.map((r) => r.mode))]) {
    const best = rows.filter((r) => r.mode === mode && r.sustained).reduce((m, r) => Math.max(m, r.target), 0);
    out += `\nlive ${mode}: highest sustained rate over every FIFO size: ${best ? `${grouped(best)} events/s` : 'none'}`;
  }
  return out;
}

/** The text section; true if dmadebug crashed. */
function textSection(args: Args, useTime: boolean): boolean {
  process.stdout.write('== text: dmadebug check vs wc -l\n');
  const plan: { label: string; size: number; live: number }[] = [
    { label: 'main', size: args.size, live: args.live },
    { label: 'short', size: args.shortSize, live: args.live },
  ];
  if (args.mem) plan.push({ label: 'memory', size: args.memSize, live: args.memLive });
  log(`free space in ${DIR}: ${(freeBytes(path.dirname(DIR)) / 2 ** 30).toFixed(1)} GiB`);

  const results: { t: Trace; m: Measure }[] = [];
  let crashed = false;
  for (const p of plan) {
    const t = ensureTrace(p.label, p.size, p.live);
    log(`measuring ${p.label}: wc -l ×3, dmadebug check -q ×2 ...`);
    const m = measure(t.file, useTime);
    if (m.wcLines !== t.stats.lines)
      log(`WARNING: wc -l says ${m.wcLines} lines, the generator wrote ${t.stats.lines}`);
    if (m.signal || (m.exitCode !== 0 && m.exitCode !== 1)) crashed = true;
    results.push({ t, m });
    dropTrace(t, args.keep);
  }

  const rows: string[][] = [
    [
      'trace',
      'size MB',
      'lines',
      'live at end',
      'gen MB/s',
      'wc -l s',
      'dmadebug s',
      'lines/s',
      'MB/s',
      'ratio',
      'peak RSS MiB',
      'result',
    ],
  ];
  for (const { t, m } of results) {
    rows.push([
      t.label,
      fmt(t.stats.bytes / 1e6, 0),
      grouped(t.stats.lines),
      `${grouped(t.stats.liveAtEnd)} (${grouped(t.stats.liveEntriesAtEnd)} entries)`,
      t.genMBs === null ? 'reused' : fmt(t.genMBs, 0),
      fmt(m.wcSec, 3),
      fmt(m.ddSec, 2),
      grouped(t.stats.lines / m.ddSec),
      fmt(t.stats.bytes / 1e6 / m.ddSec, 1),
      `${fmt(m.ddSec / m.wcSec, 1)}×`,
      fmt(m.rssKiB / 1024, 1),
      exitNote(m),
    ]);
  }
  process.stdout.write(`${table(rows)}\n\n`);

  const main = results[0]!;
  const short = results[1]!;
  const ratio = main.m.ddSec / main.m.wcSec;
  process.stdout.write(
    `speed:  dmadebug takes ${fmt(ratio, 1)}× the time of wc -l on the ${sizeName(args.size)} trace ` +
      `(target ≤ ${SPEED_TARGET}×): ${ratio <= SPEED_TARGET ? 'MET' : 'NOT MET'}\n`,
  );
  const dRss = (main.m.rssKiB - short.m.rssKiB) / 1024;
  const lenRatio = main.t.stats.bytes / short.t.stats.bytes;
  const flat = Math.abs(dRss) <= Math.max(8, (0.1 * short.m.rssKiB) / 1024);
  process.stdout.write(
    `length: peak RSS ${fmt(short.m.rssKiB / 1024, 1)} MiB at ${sizeName(args.shortSize)} vs ` +
      `${fmt(main.m.rssKiB / 1024, 1)} MiB at ${sizeName(args.size)} (${fmt(lenRatio, 1)}× longer, same live count): ` +
      `${dRss >= 0 ? '+' : ''}${fmt(dRss, 1)} MiB — ${flat ? 'independent of trace length' : 'GROWS with trace length'} ` +
      `(tolerance ±max(8 MiB, 10%))\n`,
  );
  const mem = results[2];
  if (mem) {
    const extra = (mem.m.rssKiB - short.m.rssKiB) * 1024;
    const perMap = extra / mem.t.stats.liveAtEnd;
    const perEntry = extra / mem.t.stats.liveEntriesAtEnd;
    process.stdout.write(
      `memory: (${fmt(mem.m.rssKiB / 1024, 1)} − ${fmt(short.m.rssKiB / 1024, 1)}) MiB / ` +
        `${grouped(mem.t.stats.liveAtEnd)} live mappings = ${fmt(perMap, 1)} bytes per live mapping ` +
        `(${fmt(perEntry, 1)} per dma-debug entry; sg calls have one entry per segment) ` +
        `(target ≤ ${MEM_TARGET}): ${perMap <= MEM_TARGET ? 'MET' : 'NOT MET'}\n`,
    );
  }

  for (const { t, m } of results) {
    if (m.outLines === 0 && (m.exitCode === 0 || m.exitCode === 1) && !m.signal) continue;
    process.stdout.write(`\n${t.label}: dmadebug ${exitNote(m)}; ${m.outLines} lines on stdout, first ones:\n`);
    for (const l of m.outHead) process.stdout.write(`  | ${l}\n`);
    if (m.errTail) process.stdout.write(`  stderr:\n${m.errTail.replace(/^/gm, '  ! ')}\n`);
    if (m.exitCode === 1) process.stdout.write('  WARNING: errors reported on a trace of correct DMA-API usage\n');
  }
  return crashed;
}

try {
  process.exitCode = await main();
} catch (err) {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
}
