// The real-traces section of `npm run bench`, run first (--no-real skips it, --real-runs N sets N):
// recorded traces from the shared fixtures, each measured side by side in the same run with the tools a
// reader would otherwise use on it.
// - trace.dat: the storm fixture as recorded (kernel-6.12/storm, v7 zstd, 1.43 M events), the same
//   converted to v6 by `trace-cmd convert --file-version 6`, and the largest real-device trace.dat of
//   each kernel (the real-devices* folders by trace.dat bytes): `dmadebug check -q FILE` against
//   `trace-cmd report FILE > /dev/null` with Debian's trace-cmd 3.1.6 (on PATH) and with 3.4
//   (../shared/tools/trace-cmd-3.4, which fetches itself into ~/.cache on first use).
// - text: the storm's trace.txt.zst decompressed, and the same real-device folders' trace.txt:
//   `dmadebug check -q FILE` against `wc -l FILE`.
// Every input first gets one untimed run of each command: it fills the page cache for all alike, shows
// which peers work (a failing one gets a dash and its reason), and — run without -q, whose summary
// -q suppresses — gives dmadebug's event and finding counts. Then N rounds, interleaved (dmadebug,
// peer, peer, dmadebug, ...) so the machine's drift hits every command alike; each time is the median
// of N (the min beside it), every command under /usr/bin/time (dmadebug's user+sys CPU and peak RSS).
// Targets: storm trace.dat ≥ 10× faster than each trace-cmd report; storm text within 12× of wc -l.
// Derived files live in /tmp/dmadebug-bench (storm-v6.dat, storm.txt) and are reused across runs.
// This file owns the measuring and the pure helpers (median, the summary-line parser, the choice of
// fixtures, the verdicts); bench.ts prints the tables.

import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Storm trace.dat: dmadebug check at least this many times as fast as each `trace-cmd report`. */
export const REAL_DAT_TARGET = 10;
/** Storm text: dmadebug check within this many times the time of `wc -l`. */
export const REAL_TEXT_TARGET = 12;
/** The storm fixture, under the fixture root. */
export const STORM = path.join('kernel-6.12', 'storm');

export type PeerId = 'tc316' | 'tc34' | 'wc';

export interface RealArgs {
  /** The repository root (../shared is beside it). */
  root: string;
  /** Work folder for the derived files. */
  dir: string;
  /** bin/dmadebug.js */
  bin: string;
  runs: number;
  log: (s: string) => void;
}

/** The first line of dmadebug's stderr summary, parsed. */
export interface Summary {
  errors: number;
  unconfirmed: number;
  info: number;
  kernelFalsePositives: number;
  events: number;
  live: number;
}

export interface Stat {
  median: number;
  min: number;
}

export interface PeerResult {
  id: PeerId;
  /** Wall seconds, median and min of N; null when the peer could not run. */
  sec: Stat | null;
  /** Why there is no time (not installed, its error), or '' */
  note: string;
  /** wc -l's count (text rows). */
  lines: number | null;
}

export interface RealRow {
  kind: 'dat' | 'text';
  label: string;
  file: string;
  bytes: number;
  /** A storm row: its ratio is held to the target. */
  storm: boolean;
  summary: Summary | null;
  /** dmadebug wall seconds; null when it failed before the timed runs. */
  dd: Stat | null;
  /** dmadebug user+sys CPU seconds, median of N; null without /usr/bin/time. */
  ddCpu: number | null;
  /** Peak RSS of dmadebug, max over its runs, KiB; null without /usr/bin/time. */
  ddRssKiB: number | null;
  /** Exit statuses seen in dmadebug's runs, e.g. "1" or "0" or "1, killed (SIGKILL)". */
  ddExit: string;
  /** dmadebug exited 0 or 1 in every run. */
  ddOk: boolean;
  /** dmadebug's failure (exit 2 or a signal): the last line of its stderr. */
  ddError: string;
  peers: PeerResult[];
}

export interface RealResult {
  text: string;
  rows: RealRow[];
  peerNames: Record<PeerId, string>;
  loadStart: number[];
  loadEnd: number[];
  runs: number;
}

// ---- pure helpers ----

/** The median of xs (mean of the middle two for an even count); NaN when empty. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function stat(xs: readonly number[]): Stat | null {
  return xs.length === 0 ? null : { median: median(xs), min: Math.min(...xs) };
}

// `dmadebug: [name: ]no errors|N error(s), N unconfirmed, N info[, N kernel false positive(s)];
//  N dma/kmem events; N mappings live at the end` (src/report/summary.ts)
const SUMMARY_RE =
  /(no errors|(\d+) errors?), (\d+) unconfirmed, (\d+) info(?:, (\d+) kernel false positives?)?; (\d+) dma\/kmem events; (\d+) mappings live at the end\s*$/;

/** dmadebug's summary line (the first stderr line "dmadebug: ... mappings live at the end"), or null when there is none. */
export function parseSummary(stderr: string): Summary | null {
  const plain = stderr.replace(/\x1b\[[0-9;]*m/g, '');
  const m = plain
    .split('\n')
    .filter((l) => l.startsWith('dmadebug: '))
    .map((l) => SUMMARY_RE.exec(l))
    .find((x) => x !== null);
  if (!m) return null;
  return {
    errors: m[2] === undefined ? 0 : Number(m[2]),
    unconfirmed: Number(m[3]),
    info: Number(m[4]),
    kernelFalsePositives: m[5] === undefined ? 0 : Number(m[5]),
    events: Number(m[6]),
    live: Number(m[7]),
  };
}

export function findings(s: Summary): number {
  return s.errors + s.unconfirmed + s.info + s.kernelFalsePositives;
}

/**
 * The ratio a row is judged by: for trace.dat, how many times as fast as the peer dmadebug is
 * (peer / dmadebug, higher is better); for text, how many times the peer's time dmadebug takes
 * (dmadebug / wc, lower is better). null when either time is missing.
 */
export function ratio(kind: 'dat' | 'text', dd: number | null, peer: number | null): number | null {
  if (dd === null || peer === null || !(dd > 0) || !(peer > 0)) return null;
  return kind === 'dat' ? peer / dd : dd / peer;
}

/** Whether a ratio meets its target (≥ REAL_DAT_TARGET for trace.dat, ≤ REAL_TEXT_TARGET for text). */
export function meets(kind: 'dat' | 'text', r: number): boolean {
  return kind === 'dat' ? r >= REAL_DAT_TARGET : r <= REAL_TEXT_TARGET;
}

/**
 * The fixture root (holding kernel-6.12/, kernel-7.3/): DMADEBUG_FIXTURE_ROOT, else the parent of
 * DMADEBUG_FIXTURES, else ../shared/fixtures beside the repository — as test/helpers/fixtures.ts,
 * but from the repository root rather than the working directory.
 */
export function fixtureRoot(root: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.DMADEBUG_FIXTURE_ROOT) return path.resolve(env.DMADEBUG_FIXTURE_ROOT);
  if (env.DMADEBUG_FIXTURES) return path.dirname(path.resolve(env.DMADEBUG_FIXTURES));
  return path.resolve(root, '..', 'shared', 'fixtures');
}

/**
 * The real-device scenario with the largest trace.dat (bytes) among `kernelDir`'s real-devices*
 * folders that hold both a trace.dat and a trace.txt; null when there is none. Ties: the first name.
 */
export function largestRealDevices(kernelDir: string): { name: string; dir: string; datBytes: number } | null {
  if (!existsSync(kernelDir)) return null;
  let best: { name: string; dir: string; datBytes: number } | null = null;
  for (const name of readdirSync(kernelDir).sort()) {
    if (!name.startsWith('real-devices')) continue;
    const dir = path.join(kernelDir, name);
    const dat = path.join(dir, 'trace.dat');
    if (!existsSync(dat) || !existsSync(path.join(dir, 'trace.txt'))) continue;
    const datBytes = statSync(dat).size;
    if (best === null || datBytes > best.datBytes) best = { name, dir, datBytes };
  }
  return best;
}

// ---- running ----

const TIME = '/usr/bin/time';
const TIME_TAG = 'BENCH-TIME';

interface Run {
  sec: number;
  status: number | null;
  signal: string | null;
  stderr: string;
  /** From /usr/bin/time: user+sys seconds and peak RSS KiB. */
  cpu: number | null;
  rssKiB: number | null;
  stdout: string;
}

function now(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

/**
 * One run of exe args, stdout to /dev/null (or captured), under /usr/bin/time when there is one
 * (its report goes to a file of its own, so the command's stderr stays the command's).
 */
function run(exe: string, args: string[], opt: { captureStdout?: boolean; timeFile: string | null }): Run {
  const devnull = opt.captureStdout ? null : openSync('/dev/null', 'w');
  const cmd = opt.timeFile
    ? { exe: TIME, args: ['-o', opt.timeFile, '-f', `${TIME_TAG} %U %S %M`, exe, ...args] }
    : { exe, args };
  const t0 = now();
  const r = spawnSync(cmd.exe, cmd.args, {
    stdio: ['ignore', devnull ?? 'pipe', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const sec = now() - t0;
  if (devnull !== null) closeSync(devnull);
  let status = r.status;
  let signal: string | null = r.signal;
  let cpu: number | null = null;
  let rssKiB: number | null = null;
  if (opt.timeFile) {
    const t = existsSync(opt.timeFile) ? readFileSync(opt.timeFile, 'utf8') : '';
    rmSync(opt.timeFile, { force: true });
    const m = new RegExp(`${TIME_TAG} ([\\d.]+) ([\\d.]+) (\\d+)`).exec(t);
    if (m) {
      cpu = Number(m[1]) + Number(m[2]);
      rssKiB = Number(m[3]);
    }
    // /usr/bin/time exits 128+N for a child killed by signal N, and says so.
    const k = /terminated by signal (\d+)/.exec(t);
    if (k) {
      const n = Number(k[1]);
      signal = Object.entries(os.constants.signals).find(([, v]) => v === n)?.[0] ?? `signal ${n}`;
      status = null;
    }
  }
  return { sec, status, signal, stderr: r.stderr ?? '', cpu, rssKiB, stdout: r.stdout ?? '' };
}

function lastLine(s: string): string {
  return (
    s
      .trim()
      .split('\n')
      .filter((l) => l.trim())
      .slice(-1)[0] ?? ''
  );
}

function exitText(r: Run): string {
  if (r.signal) return `killed (${r.signal})`;
  return `exit ${r.status}`;
}

function firstNonEmpty(s: string): string {
  return (
    s
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l) ?? ''
  );
}

interface Peer {
  id: PeerId;
  exe: string;
  args: (file: string) => string[];
}

/** trace-cmd on PATH (Debian's 3.1.6 here), or null. */
function traceCmdOnPath(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v trace-cmd'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

/** `trace-cmd --version` says "trace-cmd version 3.1.6 (...)" (after a blank line, exit 255). */
function traceCmdVersion(exe: string): { version: string | null; note: string } {
  const r = spawnSync(exe, ['--version'], { encoding: 'utf8', timeout: 600_000 });
  const out = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  const m = /trace-cmd version (\S+)/.exec(out);
  if (m) return { version: m[1]!, note: firstNonEmpty(out) };
  return { version: null, note: r.error ? r.error.message : lastLine(out) || `exit ${r.status}` };
}

/** The storm's text, decompressed once into dir (reused when its size is the one zstd's frame header gives). */
function ensureStormText(src: string, dir: string, log: (s: string) => void): { file: string | null; note: string } {
  const out = path.join(dir, 'storm.txt');
  const l = spawnSync('zstd', ['-lv', src], { encoding: 'utf8' });
  if (l.error) return { file: null, note: `zstd is not installed (${l.error.message}): no storm text row` };
  const m = /Decompressed Size:.*\((\d+) B\)/.exec(`${l.stdout}${l.stderr}`);
  const want = m ? Number(m[1]) : null;
  if (existsSync(out) && want !== null && statSync(out).size === want) {
    log(`reusing ${out}`);
    return { file: out, note: `${out}: reused (${want} bytes, as zstd -lv says)` };
  }
  log(`decompressing ${src} to ${out} ...`);
  const tmp = `${out}.${process.pid}.tmp`;
  const t0 = now();
  const d = spawnSync('zstd', ['-dqf', src, '-o', tmp], { encoding: 'utf8' });
  if (d.status !== 0) {
    rmSync(tmp, { force: true });
    const how = d.signal ? `killed (${d.signal})` : `exit ${d.status}`;
    return { file: null, note: `zstd -d ${src} failed (${how}: ${lastLine(d.stderr ?? '')})` };
  }
  renameSync(tmp, out);
  return { file: out, note: `${out}: zstd -dq of ${path.basename(src)} in ${(now() - t0).toFixed(1)} s` };
}

/** The storm converted to v6 by trace-cmd 3.1.6, once (reused when there). */
function ensureStormV6(
  tc: string | null,
  src: string,
  dir: string,
  log: (s: string) => void,
): { file: string | null; note: string } {
  const out = path.join(dir, 'storm-v6.dat');
  if (existsSync(out) && statSync(out).size > 0) {
    log(`reusing ${out}`);
    return { file: out, note: `${out}: reused` };
  }
  if (!tc) return { file: null, note: 'no trace-cmd on PATH to convert the storm to v6: no v6 row' };
  log(`converting ${src} to v6: ${out} ...`);
  const tmp = `${out}.${process.pid}.tmp`;
  const t0 = now();
  const r = spawnSync(tc, ['convert', '--file-version', '6', '-i', src, '-o', tmp], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    return { file: null, note: `trace-cmd convert to v6 failed (exit ${r.status}: ${lastLine(r.stderr ?? '')})` };
  }
  renameSync(tmp, out);
  const said = (r.stderr ?? '')
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s)
    .join(' / ');
  return {
    file: out,
    note: `${out}: trace-cmd convert --file-version 6 in ${(now() - t0).toFixed(1)} s${said ? ` (it said: ${said})` : ''}`,
  };
}

interface Input {
  kind: 'dat' | 'text';
  label: string;
  file: string;
  storm: boolean;
}

/** Measure one input: a warm-up of every command, then `runs` interleaved rounds. */
function measureInput(a: RealArgs, input: Input, peers: Peer[], unusable: Map<PeerId, string>): RealRow {
  const timeFile = existsSync(TIME) ? path.join(a.dir, `time-${process.pid}.txt`) : null;
  const row: RealRow = {
    kind: input.kind,
    label: input.label,
    file: input.file,
    bytes: statSync(input.file).size,
    storm: input.storm,
    summary: null,
    dd: null,
    ddCpu: null,
    ddRssKiB: null,
    ddExit: '',
    ddOk: true,
    ddError: '',
    peers: [],
  };
  const ddArgs = (quiet: boolean) => [a.bin, 'check', ...(quiet ? ['-q'] : []), input.file];
  const exits = new Set<string>();
  const ddFailed = (r: Run): boolean => {
    exits.add(r.signal ? `killed (${r.signal})` : String(r.status));
    if (r.signal || (r.status !== 0 && r.status !== 1)) {
      row.ddOk = false;
      row.ddError = `${exitText(r)}: ${lastLine(r.stderr) || '(nothing on stderr)'}`;
      return true;
    }
    return false;
  };

  a.log(
    `${input.label}: warm-up (dmadebug check with its summary${peers.length ? `, ${peers.map((p) => p.id).join(', ')}` : ''}) ...`,
  );
  const w = run(process.execPath, ddArgs(false), { timeFile: null });
  row.summary = parseSummary(w.stderr);
  const ddBroken = ddFailed(w);
  const live: Peer[] = [];
  const notes = new Map<PeerId, string>();
  const lines = new Map<PeerId, number>();
  for (const p of peers) {
    const why = unusable.get(p.id);
    if (why !== undefined) {
      notes.set(p.id, why);
      continue;
    }
    const r = run(p.exe, p.args(input.file), { timeFile: null, captureStdout: p.id === 'wc' });
    if (r.status !== 0 || r.signal) {
      notes.set(p.id, `${exitText(r)}: ${lastLine(r.stderr) || '(nothing on stderr)'}`);
      continue;
    }
    if (p.id === 'wc') lines.set(p.id, Number.parseInt(r.stdout.trim(), 10));
    live.push(p);
  }

  const ddSec: number[] = [];
  const ddCpu: number[] = [];
  const peerSec = new Map<PeerId, number[]>(live.map((p) => [p.id, []]));
  if (!ddBroken) {
    a.log(
      `${input.label}: ${a.runs} round${a.runs === 1 ? '' : 's'} of dmadebug check -q${live.map((p) => `, ${p.id}`).join('')} ...`,
    );
    for (let i = 0; i < a.runs; i++) {
      if (row.ddOk) {
        const r = run(process.execPath, ddArgs(true), { timeFile });
        if (!ddFailed(r)) {
          ddSec.push(r.sec);
          if (r.cpu !== null) ddCpu.push(r.cpu);
          if (r.rssKiB !== null) row.ddRssKiB = Math.max(row.ddRssKiB ?? 0, r.rssKiB);
        }
      }
      for (const p of live) {
        if (notes.has(p.id)) continue;
        const r = run(p.exe, p.args(input.file), { timeFile });
        if (r.status !== 0 || r.signal) notes.set(p.id, `${exitText(r)} in run ${i + 1}: ${lastLine(r.stderr)}`);
        else peerSec.get(p.id)!.push(r.sec);
      }
    }
  }
  row.dd = stat(ddSec);
  row.ddCpu = ddCpu.length ? median(ddCpu) : null;
  row.ddExit = [...exits].join(', ');
  for (const p of peers) {
    const note = notes.get(p.id);
    row.peers.push({
      id: p.id,
      sec: note === undefined ? stat(peerSec.get(p.id) ?? []) : null,
      note: note ?? (ddBroken ? 'not timed: dmadebug failed' : ''),
      lines: lines.get(p.id) ?? null,
    });
  }
  return row;
}

export function runReal(a: RealArgs): RealResult {
  const loadStart = os.loadavg();
  mkdirSync(a.dir, { recursive: true });
  const fx = fixtureRoot(a.root);
  let text = `fixtures: ${fx}\n`;
  const peerNames: Record<PeerId, string> = { tc316: 'trace-cmd', tc34: 'trace-cmd 3.4', wc: 'wc -l' };
  const result = (rows: RealRow[]): RealResult => ({
    text,
    rows,
    peerNames,
    loadStart,
    loadEnd: os.loadavg(),
    runs: a.runs,
  });
  if (!existsSync(fx)) {
    text += `no fixtures at ${fx} (DMADEBUG_FIXTURE_ROOT names another folder): no real-trace rows\n`;
    return result([]);
  }

  // The peers: trace-cmd on PATH, trace-cmd 3.4 through the shared tool, wc -l.
  const unusable = new Map<PeerId, string>();
  const tc = traceCmdOnPath();
  if (tc) {
    const v = traceCmdVersion(tc);
    peerNames.tc316 = v.version ? `trace-cmd ${v.version}` : 'trace-cmd (PATH)';
    text += `${peerNames.tc316}: ${tc}${v.version ? '' : ` (no version: ${v.note})`}\n`;
  } else {
    unusable.set('tc316', 'no trace-cmd on PATH (apt-get install -y trace-cmd)');
    text += 'trace-cmd: not on PATH (apt-get install -y trace-cmd): its columns are dashes\n';
  }
  const tc34 = path.resolve(a.root, '..', 'shared', 'tools', 'trace-cmd-3.4');
  if (existsSync(tc34)) {
    a.log(`checking ${tc34} (it fetches itself on first use) ...`);
    const v = traceCmdVersion(tc34);
    if (v.version) {
      peerNames.tc34 = `trace-cmd ${v.version}`;
      text += `${peerNames.tc34}: ${tc34}\n`;
      if (v.version === peerNames.tc316.replace('trace-cmd ', '')) text += `  (the same version as the one on PATH)\n`;
    } else {
      unusable.set('tc34', `${path.basename(tc34)} does not run: ${v.note}`);
      text += `trace-cmd 3.4: ${tc34} does not run: ${v.note}\n`;
    }
  } else {
    unusable.set('tc34', `${tc34} is missing`);
    text += `trace-cmd 3.4: ${tc34} is missing: its column is a dash\n`;
  }
  const datPeers: Peer[] = [
    { id: 'tc316', exe: tc ?? 'trace-cmd', args: (f) => ['report', f] },
    { id: 'tc34', exe: tc34, args: (f) => ['report', f] },
  ];
  const textPeers: Peer[] = [{ id: 'wc', exe: 'wc', args: (f) => ['-l', f] }];

  // The inputs.
  const dats: Input[] = [];
  const texts: Input[] = [];
  const storm = path.join(fx, STORM);
  const stormDat = path.join(storm, 'trace.dat');
  if (existsSync(stormDat)) {
    dats.push({ kind: 'dat', label: 'storm (v7 zstd, as recorded)', file: stormDat, storm: true });
    const v6 = ensureStormV6(tc, stormDat, a.dir, a.log);
    text += `${v6.note}\n`;
    if (v6.file) dats.push({ kind: 'dat', label: 'storm (v6, trace-cmd convert)', file: v6.file, storm: true });
  } else text += `no ${stormDat}: no storm trace.dat rows\n`;
  const stormZst = path.join(storm, 'trace.txt.zst');
  if (existsSync(stormZst)) {
    const t = ensureStormText(stormZst, a.dir, a.log);
    text += `${t.note}\n`;
    if (t.file) texts.push({ kind: 'text', label: 'storm', file: t.file, storm: true });
  } else text += `no ${stormZst}: no storm text row\n`;
  const kernels = readdirSync(fx)
    .filter((d) => d.startsWith('kernel-') && statSync(path.join(fx, d)).isDirectory())
    .sort();
  for (const k of kernels) {
    const best = largestRealDevices(path.join(fx, k));
    if (!best) {
      text += `${k}: no real-devices* folder with a trace.dat and a trace.txt\n`;
      continue;
    }
    const label = `${k.replace('kernel-', '')} ${best.name}`;
    text += `${k}: largest real-device trace.dat: ${best.name} (${best.datBytes} bytes)\n`;
    dats.push({ kind: 'dat', label, file: path.join(best.dir, 'trace.dat'), storm: false });
    texts.push({ kind: 'text', label, file: path.join(best.dir, 'trace.txt'), storm: false });
  }

  const rows: RealRow[] = [];
  for (const i of dats) rows.push(measureInput(a, i, datPeers, unusable));
  for (const i of texts) rows.push(measureInput(a, i, textPeers, unusable));
  return result(rows);
}
