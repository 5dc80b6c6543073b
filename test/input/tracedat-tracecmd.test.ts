// Differential tests against Debian's trace-cmd (skipped when it is not
// installed: `apt-get install trace-cmd`):
// - `trace-cmd report` of a fixture trace.dat, read by TextParser, equals
//   TraceDatParser's events (stack frames compared by symbol: trace-cmd
//   prints `sym (addr)`, the kernel and this reader `sym+0xoff/0xsize`; lost
//   events carry no time stamp in text);
// - `trace-cmd convert` of a fixture to version 6 (uncompressed) and to
//   version 7 (zstd) decodes to exactly the same events and the same
//   coverage facts (ring-buffer overruns from the CPUSTAT options).
// Both kernels' fixtures: 6.12's were written by trace-cmd 3.1.6, 7.3's by
// 3.4. Any trace-cmd on PATH will do; ../shared/tools/trace-cmd-3.4 behind a
// `trace-cmd` link makes convert write files the 3.2+ way.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Names } from '../../src/base/interner.js';
import { hex } from '../../src/base/u64.js';
import { type DmaEvent, type InputFacts, EventKind as K } from '../../src/engine/events.js';
import { onPath } from '../../src/input/source.js';
import { TextParser } from '../../src/input/text-parser.js';
import { TraceDatParser } from '../../src/input/tracedat.js';
import { fixturesOf } from '../helpers/fixtures.js';
import { addrFields, FIXTURES, micros, serialize, sgFields } from './helpers.js';

const HAVE = onPath('trace-cmd');
const SKIP = HAVE ? false : 'trace-cmd is not installed (apt-get install trace-cmd); differential tests skipped';

const dir = mkdtempSync(join(tmpdir(), 'dmadebug-tracecmd-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Frame -> bare symbol: `sym+0x1/0x2 [mod]`, `sym (ffffffff81000000)`; unknown addresses without 0x. */
function symbols(stack: string): string {
  return stack
    .split('\n')
    .map((f) =>
      f
        .replace(/\s*\[[^\]]*\]$/, '')
        .replace(/\s*\([0-9a-f]+\)$/, '')
        .replace(/\+0x[0-9a-f]+\/0x[0-9a-f]+$/, '')
        .replace(/^0x/, ''),
    )
    .join('|');
}

function norm(ev: DmaEvent, names: Names): string {
  return [
    `k=${ev.kind}`,
    ev.kind === K.Lost ? '' : `us=${micros(ev)}`,
    `cpu=${ev.cpu}`,
    `pid=${ev.pid}`,
    `comm=${ev.comm < 0 ? '-' : names.comms.name(ev.comm)}`,
    `dev=${ev.device < 0 ? '-' : names.devices.name(ev.device)}`,
    ...addrFields(ev),
    `v=${hex(ev.virtHi, ev.virtLo)}/${ev.hasVirt ? 1 : 0}`,
    ...sgFields(ev),
    `stack=${ev.stack < 0 ? '-' : symbols(names.stacks.name(ev.stack))}`,
    `text=${ev.kind === K.Marker || ev.kind === K.Unbind ? JSON.stringify(ev.text) : ''}`,
  ].join(' ');
}

async function ours(path: string, ser: (ev: DmaEvent, names: Names) => string): Promise<string[]> {
  return (await oursWithFacts(path, ser)).events;
}

async function oursWithFacts(
  path: string,
  ser: (ev: DmaEvent, names: Names) => string,
): Promise<{ events: string[]; facts: InputFacts }> {
  const names = new Names();
  const events: string[] = [];
  const parser = new TraceDatParser({ names, file: path, sink: (ev) => events.push(ser(ev, names)) });
  await parser.readFile(path);
  return { events, facts: parser.facts };
}

function viaReport(path: string, instance: string): string[] {
  let text = execFileSync('trace-cmd', ['report', path], {
    maxBuffer: 1 << 30,
    stdio: ['ignore', 'pipe', 'ignore'],
  }).toString('latin1');
  if (instance !== '') text = text.replace(new RegExp(`^${instance}: ?`, 'gm'), '');
  const names = new Names();
  const out: string[] = [];
  const parser = new TextParser({ names, file: 'report', sink: (ev) => out.push(norm(ev, names)) });
  parser.push(Buffer.from(text, 'latin1'));
  parser.end();
  return out;
}

function firstDiff(a: string[], b: string[]): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `event ${i + 1} of ${a.length}/${b.length}:\n  ours      ${a[i]}\n  trace-cmd ${b[i]}`;
  }
  return '';
}

/**
 * The same events from another layout of the same data: every field but the
 * place equal, and each CPU's places one constant apart (a record's offset
 * counts in the file when the data is plain, in the CPU's decompressed data
 * when it is compressed: they differ by where that CPU's data starts).
 */
function sameEvents(a: string[], b: string[]): string {
  const noLine = (l: string) => l.replace(/ l=\d+/, '');
  const d = firstDiff(a.map(noLine), b.map(noLine));
  if (d !== '') return d;
  const shift = new Map<string, number>();
  for (let i = 0; i < a.length; i++) {
    const cpu = /cpu=(-?\d+)/.exec(a[i]!)![1]!;
    const s = Number(/ l=(\d+)/.exec(a[i]!)![1]) - Number(/ l=(\d+)/.exec(b[i]!)![1]);
    if (!shift.has(cpu)) shift.set(cpu, s);
    if (shift.get(cpu) !== s) return `event ${i + 1}: cpu ${cpu}'s offsets ${s} apart, others ${shift.get(cpu)}`;
  }
  return '';
}

const FIXTURES_73 = fixturesOf('kernel-7.3');

const CASES: Array<[string, string, string]> = [
  ['bug-clean', 'trace.dat', ''],
  ['bug-unmap-size-stack', 'trace.dat', ''],
  ['bug-map-err-unchecked', 'trace.dat', ''],
  ['real-devices-stack', 'trace.dat', ''],
  ['real-devices-direct', 'trace-record.dat', 'oracle'],
  ['real-devices-pipe-lost', 'trace-record.dat', 'oracle'],
];

describe('trace-cmd report equals TraceDatParser', { skip: SKIP }, () => {
  for (const root of [FIXTURES, FIXTURES_73]) {
    const kernel = root === FIXTURES ? '6.12' : '7.3';
    for (const [scenario, file, instance] of CASES) {
      const path = join(root, scenario, file);
      test(`${kernel}: ${scenario}/${file}`, { skip: !existsSync(path), timeout: 300_000 }, async () => {
        const mine = await ours(path, norm);
        const theirs = viaReport(path, instance);
        assert.ok(mine.length > 0);
        assert.equal(firstDiff(mine, theirs), '');
      });
    }
  }
});

describe('trace-cmd convert: the same events from v6 and v7 files', { skip: SKIP }, () => {
  const sources: Array<[string, string]> = [
    ['bug-unmap-size-stack', 'trace.dat'],
    ['real-devices-stack', 'trace-record.dat'],
    // no events (trace_pipe drained the buffer) but 140,988 overruns: convert
    // drops the empty BUFFER option and moves the stats to a chained section
    ['real-devices-pipe-lost', 'trace.dat'],
  ];
  for (const [root, scenario, file] of [
    ...sources.map(([s, f]) => [FIXTURES, s, f] as const),
    [FIXTURES_73, 'real-devices-direct', 'trace-record.dat'] as const,
  ]) {
    const path = join(root, scenario, file);
    const kernel = root === FIXTURES ? '6.12' : '7.3';
    for (const [version, compression] of [
      ['6', 'none'],
      ['7', 'zstd'],
      ['7', 'none'],
    ] as const) {
      test(`${kernel}: ${scenario}/${file} -> v${version} ${compression}`, {
        skip: !existsSync(path),
        timeout: 300_000,
      }, async () => {
        const out = join(dir, `${kernel}-${scenario}-${file}-v${version}-${compression}.dat`);
        execFileSync(
          'trace-cmd',
          ['convert', '-i', path, '-o', out, '--file-version', version, '--compression', compression],
          { stdio: 'ignore' },
        );
        const { events: ref, facts: refFacts } = await oursWithFacts(path, serialize);
        const { events: conv, facts: convFacts } = await oursWithFacts(out, serialize);
        assert.ok(ref.length > 0 || refFacts.overwrittenCount > 0);
        assert.equal(sameEvents(conv, ref), '');
        assert.equal(convFacts.overwrittenCount, refFacts.overwrittenCount);
        assert.equal(convFacts.overwritten, refFacts.overwritten);
        // and through push()
        const { readFileSync } = await import('node:fs');
        const bytes = readFileSync(out);
        const names = new Names();
        const pushed: string[] = [];
        const p = new TraceDatParser({ names, file: out, sink: (ev) => pushed.push(serialize(ev, names)) });
        for (let i = 0; i < bytes.length; i += 100_000) p.push(bytes.subarray(i, i + 100_000));
        p.end();
        assert.equal(sameEvents(pushed, ref), '');
        // read by position and pushed: the same places
        assert.deepEqual(pushed, conv);
      });
    }
  }
});
