// `npm run profile -- FILE [dmadebug check options]`: where the time of one
// `dmadebug check -q FILE` goes, thread by thread, from V8's sampling profiler
// (node --cpu-prof writes one .cpuprofile per thread: the checking thread and
// each worker). Issue 15 asks for this summary of the storm trace before and
// after a change; this makes it one command instead of a hand-made script.
//
// For each thread: its span, busy and idle time, garbage collection, the top
// functions by self time and by inclusive time, and the hottest source lines
// (the profile's positionTicks). Positions are mapped back to src/*.ts through
// the bundle's source maps, so a line names the TypeScript a reader would
// edit. One caveat, printed with the table: V8 charges a tick in code it
// inlined to the caller's function, at the inlined function's own line, so a
// hot line may sit in a callee of the function shown beside it.
//
// summarize() is pure (a parsed profile in, numbers out); main() runs the CLI
// and prints.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { SourceMap } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The parts of a .cpuprofile (Chrome DevTools Protocol Profiler.Profile) used here. */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
  positionTicks?: Array<{ line: number; ticks: number }>;
}

/** A function (or line) and the time charged to it. */
export interface Cost {
  /** `name file:line` (file: the last two path parts; line 1-based). */
  key: string;
  ms: number;
  /** Share of the thread's span. */
  share: number;
}

export interface ThreadSummary {
  /** The worker script that ran the thread (`main` for the checking thread). */
  name: string;
  spanMs: number;
  idleMs: number;
  gcMs: number;
  self: Cost[];
  inclusive: Cost[];
  /** Hottest lines: ticks converted to ms at the profile's mean sampling interval. */
  lines: Cost[];
}

/** Maps a bundle position to its source (identity when no map is known). */
export type PositionMapper = (url: string, line: number, column: number) => { file: string; line: number };

const PSEUDO = new Set(['(idle)', '(garbage collector)', '(program)', '(root)']);

function shortFile(file: string): string {
  return file.split('/').slice(-2).join('/');
}

/** The summary of one thread's profile: `top` functions, `topLines` lines. */
export function summarize(
  p: CpuProfile,
  top = 20,
  topLines = 20,
  map: PositionMapper = (url, line) => ({ file: url, line }),
): ThreadSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) byId.set(n.id, n);
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: ProfileNode): string => {
    const cf = n.callFrame;
    const name = cf.functionName || '(anonymous)';
    if (PSEUDO.has(name) || cf.url === '') return name;
    const at = map(cf.url, cf.lineNumber, cf.columnNumber);
    return `${name} ${shortFile(at.file)}:${at.line + 1}`;
  };
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  let idle = 0;
  let gc = 0;
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const leaf = byId.get(p.samples[i]!);
    if (!leaf) continue;
    const k = key(leaf);
    self.set(k, (self.get(k) ?? 0) + dt);
    if (leaf.callFrame.functionName === '(idle)') idle += dt;
    if (leaf.callFrame.functionName === '(garbage collector)') gc += dt;
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const kk = key(byId.get(id)!);
      if (seen.has(kk)) continue; // recursion counts once
      seen.add(kk);
      incl.set(kk, (incl.get(kk) ?? 0) + dt);
    }
  }
  const span = (p.endTime - p.startTime) / 1000;
  const costs = (m: Map<string, number>, n: number, skip: (k: string) => boolean): Cost[] =>
    [...m]
      .filter(([k]) => !skip(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, ms]) => ({ key: k, ms, share: span > 0 ? ms / span : 0 }));
  // lines: ticks at a source position, in ms at the mean sampling interval
  const msPerTick = p.samples.length > 0 ? total / p.samples.length : 0;
  const lines = new Map<string, number>();
  for (const n of p.nodes) {
    const cf = n.callFrame;
    for (const pt of n.positionTicks ?? []) {
      const at = map(cf.url, pt.line - 1, 0);
      const k = `${cf.functionName || '(anonymous)'} ${shortFile(at.file)}:${at.line + 1}`;
      lines.set(k, (lines.get(k) ?? 0) + pt.ticks * msPerTick);
    }
  }
  return {
    name: threadName(p),
    spanMs: span,
    idleMs: idle,
    gcMs: gc,
    self: costs(self, top, () => false),
    inclusive: costs(incl, top, (k) => PSEUDO.has(k) || k.startsWith('(anonymous) ') || k.includes('node:')),
    lines: costs(lines, topLines, () => false),
  };
}

/** `main`, or the worker's script name (text-worker, tracedat-worker, tracedat-inflate-worker). */
export function threadName(p: CpuProfile): string {
  // a thread runs only its own script's code and the chunks it shares with the others
  for (const n of p.nodes) {
    const m = /\/([a-z-]+-worker)\.js$/.exec(n.callFrame.url);
    if (m) return m[1]!;
  }
  return 'main';
}

/** A PositionMapper reading each bundle file's .map once (positions without a map stay as they are). */
export function sourceMapper(): PositionMapper {
  const maps = new Map<string, SourceMap | null>();
  return (url, line, column) => {
    if (!url.startsWith('file://')) return { file: url, line };
    let sm = maps.get(url);
    if (sm === undefined) {
      const file = fileURLToPath(url);
      sm = null;
      try {
        if (existsSync(`${file}.map`)) sm = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
      } catch {
        sm = null; // an unreadable map: bundle positions
      }
      maps.set(url, sm);
    }
    const e = sm?.findEntry(line, column);
    if (e && 'originalSource' in e && e.originalSource) return { file: e.originalSource, line: e.originalLine };
    return { file: url, line };
  };
}

function table(title: string, rows: Cost[]): string {
  let out = `  ${title}\n`;
  for (const r of rows) {
    out += `    ${(100 * r.share).toFixed(1).padStart(5)}% ${r.ms.toFixed(0).padStart(6)} ms  ${r.key}\n`;
  }
  return out;
}

/** The printed summary of every thread, the checking thread first. */
export function report(threads: ThreadSummary[]): string {
  let out = '';
  for (const t of threads) {
    const busy = t.spanMs - t.idleMs;
    out +=
      `${t.name}: ${t.spanMs.toFixed(0)} ms span, ${busy.toFixed(0)} busy, ${t.idleMs.toFixed(0)} idle, ` +
      `${t.gcMs.toFixed(0)} in garbage collection\n`;
    out += table('self time', t.self);
    out += table('inclusive time', t.inclusive);
    out += table('hottest lines (inlined code counts in its caller, at its own line)', t.lines);
    out += '\n';
  }
  return out;
}

/** One thread of the profiled process, as /proc shows it at its last sample. */
export interface ThreadCpu {
  tid: number;
  /** CPU time, user + system, ms. */
  cpuMs: number;
  /** When it started, ms after the process (clock-tick resolution). */
  startMs: number;
}

/** utime + stime and starttime (clock ticks) from a /proc/PID/task/TID/stat line; null when it does not parse. */
export function parseTaskStat(line: string): { ticks: number; start: number } | null {
  const close = line.lastIndexOf(')'); // the name may hold spaces and parentheses
  if (close < 0) return null;
  const f = line.slice(close + 2).split(' '); // f[0] is field 3 (state)
  const ticks = Number(f[11]) + Number(f[12]); // fields 14, 15
  const start = Number(f[19]); // field 22
  return Number.isFinite(ticks) && Number.isFinite(start) ? { ticks, start } : null;
}

/**
 * Every thread's CPU time from /proc, read every 10 ms until the process
 * exits (a thread's last reading stands for it). The sampling profiler
 * charges a thread's wall time, and cannot see V8's own helper threads
 * (optimizing compiles, garbage collection): this can.
 */
function watchThreads(pid: number): () => ThreadCpu[] {
  const tick = 1000 / 100; // USER_HZ is 100 on Linux
  const last = new Map<number, { ticks: number; start: number }>();
  const read = () => {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      return; // gone, or no /proc
    }
    for (const t of tids) {
      try {
        const st = parseTaskStat(readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8'));
        if (st) last.set(Number(t), st);
      } catch {
        // the thread ended between the listing and the read
      }
    }
  };
  read();
  const timer = setInterval(read, 10);
  return () => {
    clearInterval(timer);
    const first = last.get(pid)?.start ?? 0;
    return [...last.entries()]
      .map(([tid, v]) => ({ tid, cpuMs: v.ticks * tick, startMs: (v.start - first) * tick }))
      .filter((t) => t.cpuMs > 0)
      .sort((a, b) => (a.tid === pid ? -1 : b.tid === pid ? 1 : b.cpuMs - a.cpuMs));
  };
}

/** The printed table of threads' CPU time (the first is the main thread). */
export function threadTable(threads: ThreadCpu[], pid: number): string {
  const total = threads.reduce((n, t) => n + t.cpuMs, 0);
  let out = `CPU by thread (/proc, under the profiler): ${total.toFixed(0)} ms in all\n`;
  for (const t of threads) {
    const who = t.tid === pid ? 'main thread' : `thread ${t.tid}`;
    out += `  ${who.padEnd(16)} ${t.cpuMs.toFixed(0).padStart(6)} ms CPU, started at +${t.startMs.toFixed(0)} ms\n`;
  }
  out +=
    '  (threads have no names here: the parsing worker is usually the busiest after the main thread, and the\n' +
    "   ones that start together as the runtime starts are V8's helpers: optimizing compiles, garbage collection)\n\n";
  return out;
}

async function main(argv: string[]): Promise<number> {
  // `npm run profile -- FILE | head`: a closed reader ends the run quietly
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(0);
  });
  if (argv.length === 0 || argv[0] === '-h' || argv[0] === '--help') {
    const usage =
      'usage: npm run profile -- FILE [dmadebug check options]\n' +
      '  runs `dmadebug check -q FILE` under node --cpu-prof and prints, per thread, where the time went\n' +
      '  env: PROFILE_TOP (functions, default 20), PROFILE_LINES (lines, default 20), PROFILE_KEEP=1 keeps the profiles\n';
    (argv.length === 0 ? process.stderr : process.stdout).write(usage);
    return argv.length === 0 ? 2 : 0;
  }
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dmadebug-profile-'));
  const bin = path.join(root, 'bin', 'dmadebug.js');
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, bin, 'check', '-q', ...argv], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const threadsCpu = child.pid !== undefined ? watchThreads(child.pid) : () => [];
  const r = await new Promise<{ error: Error | null; status: number | null }>((resolve) => {
    child.on('error', (error) => resolve({ error, status: null }));
    child.on('exit', (status) => resolve({ error: null, status }));
  });
  const cpu = threadsCpu();
  const wall = performance.now() - t0;
  if (r.error || (r.status !== 0 && r.status !== 1)) {
    process.stderr.write(`profile: dmadebug check ended with ${r.error?.message ?? `status ${r.status}`}\n`);
    rmSync(dir, { recursive: true, force: true });
    return 2;
  }
  const top = Number(process.env.PROFILE_TOP ?? 20);
  const lines = Number(process.env.PROFILE_LINES ?? 20);
  const map = sourceMapper();
  const threads = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
    .map((f) => summarize(JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as CpuProfile, top, lines, map));
  threads.sort((a, b) => (a.name === 'main' ? -1 : b.name === 'main' ? 1 : 0));
  process.stdout.write(`dmadebug check -q ${argv.join(' ')}: ${wall.toFixed(0)} ms wall under the profiler\n\n`);
  if (cpu.length > 0) process.stdout.write(threadTable(cpu, child.pid!));
  process.stdout.write(report(threads));
  if (process.env.PROFILE_KEEP === '1') process.stdout.write(`profiles kept in ${dir}\n`);
  else rmSync(dir, { recursive: true, force: true });
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
