// trace.dat against the text the kernel printed for the same ring buffer:
// for every fixture (Linux 6.12, written by trace-cmd 3.1.6, and Linux 7.3,
// by trace-cmd 3.4) with a trace.dat and its text (trace.txt, trace.txt.zst,
// or trace-buffer-remaining.txt where trace.txt is a different capture),
// TraceDatParser's events equal TextParser's, field by field. Allowed
// differences (documented in traces.md): the text has 6 fractional digits
// (the kernel rounds to microseconds), virt_addr is hashed in text and raw
// here (presence is compared), comm is unknown in text where it shows <...>,
// and line numbers count lines there and events here.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Names } from '../../src/base/interner.js';
import { DmaDebugEngine } from '../../src/engine/engine.js';
import { type DmaEvent, EventKind as K } from '../../src/engine/events.js';
import { openInput } from '../../src/input/source.js';
import { TextParser } from '../../src/input/text-parser.js';
import { TraceDatParser } from '../../src/input/tracedat.js';
import { fixturesOf } from '../helpers/fixtures.js';
import { addrFields, FIXTURES, micros, parseBytes, sgFields } from './helpers.js';

const FIXTURES_73 = fixturesOf('kernel-7.3');

/**
 * Does TextParser read the attr 7.x added for this line? (bug-alloc-fail's
 * text has `attrs=CC_SHARED`; until text-parser.ts knows the name, its text
 * cannot equal the trace.dat, which has the bit.)
 */
function textKnowsCcShared(): boolean {
  const line =
    ' insmod-108 [000] .l... 1.982126: dma_alloc: 0000:00:02.0 dir=BIDIRECTIONAL dma_addr=0 size=4096 virt_addr=0000000000000000 flags=GFP_KERNEL attrs=CC_SHARED\n';
  try {
    return parseBytes(line).events[0]?.attrs === 1 << 13;
  } catch {
    return false;
  }
}

/** Scenarios whose text TextParser does not read right yet: name -> why (a todo, not a failure). */
function textGaps(kernel: string): Map<string, string> {
  const gaps = new Map<string, string>();
  if (kernel === '7.3' && !textKnowsCcShared()) {
    gaps.set('bug-alloc-fail', 'TextParser does not know the attr name CC_SHARED yet (text-parser.ts)');
  }
  return gaps;
}

/** Every compared field of an event, comm left out (compared on its own). */
export function norm(ev: DmaEvent, names: Names): string {
  return [
    `k=${ev.kind}`,
    `us=${micros(ev)}`,
    `cpu=${ev.cpu}`,
    `pid=${ev.pid}`,
    `dev=${ev.device < 0 ? '-' : names.devices.name(ev.device)}`,
    ...addrFields(ev),
    `v=${ev.hasVirt ? 1 : 0}`,
    ...sgFields(ev),
    `stack=${ev.stack < 0 ? '-' : JSON.stringify(names.stacks.name(ev.stack))}`,
    `text=${ev.kind === K.Marker || ev.kind === K.Unbind ? JSON.stringify(ev.text) : ''}`,
  ].join(' ');
}

function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Compact per-event fingerprints (so a 1.4M-event fixture needs no strings
 * kept): the hash of norm() and of the comm.
 */
class Prints {
  n = 0;
  h = new Uint32Array(1024);
  c = new Uint32Array(1024);
  add(ev: DmaEvent, names: Names): void {
    if (this.n === this.h.length) {
      const h = new Uint32Array(this.n * 2);
      h.set(this.h);
      this.h = h;
      const c = new Uint32Array(this.n * 2);
      c.set(this.c);
      this.c = c;
    }
    this.h[this.n] = fnv(norm(ev, names));
    this.c[this.n] = ev.comm < 0 ? 0 : fnv(names.comms.name(ev.comm));
    this.n++;
  }
}

async function datPrints(path: string, threads?: number): Promise<{ prints: Prints; parser: TraceDatParser }> {
  const names = new Names();
  const prints = new Prints();
  const parser = new TraceDatParser({ names, file: path, sink: (ev) => prints.add(ev, names) });
  await parser.readFile(path, threads === undefined ? {} : { threads });
  return { prints, parser };
}

/** The i-th event of the trace.dat, as norm() text (for messages). */
async function datEventAt(path: string, i: number): Promise<string> {
  const names = new Names();
  let k = 0;
  let out = '<none>';
  const parser = new TraceDatParser({
    names,
    file: path,
    sink: (ev) => {
      if (k++ === i) out = `${norm(ev, names)} comm=${ev.comm < 0 ? '-' : names.comms.name(ev.comm)}`;
    },
  });
  await parser.readFile(path);
  return out;
}

/**
 * Streams the text through TextParser and compares each event with the
 * trace.dat's fingerprint at the same position; returns '' or the first difference.
 */
async function compareText(textPath: string, datPath: string, prints: Prints): Promise<string> {
  const names = new Names();
  let i = 0;
  let diff = '';
  let diffAt = -1;
  const parser = new TextParser({
    names,
    file: textPath,
    sink: (ev) => {
      if (diff !== '') return;
      const s = norm(ev, names);
      const comm = ev.comm < 0 ? '-' : names.comms.name(ev.comm);
      if (i >= prints.n) {
        diff = `the text has more events than the trace.dat (${prints.n}); event ${i + 1}: ${s}`;
      } else if (fnv(s) !== prints.h[i] || (comm !== '<...>' && fnv(comm) !== prints.c[i] && ev.comm >= 0)) {
        diff = `event ${i + 1}:\n  text ${s} comm=${comm}`;
        diffAt = i;
      }
      i++;
    },
  });
  const src = await openInput(textPath);
  for await (const chunk of src.chunks) {
    parser.push(chunk);
    if (diff !== '') {
      await src.close();
      break;
    }
  }
  if (diff === '') parser.end();
  if (diffAt >= 0) return `${diff}\n  dat  ${await datEventAt(datPath, diffAt)}`;
  if (diff !== '') return diff;
  if (i !== prints.n) return `the text has ${i} events, the trace.dat ${prints.n}`;
  return '';
}

interface Pair {
  scenario: string;
  dat: string;
  text: string;
}

function pairs(root: string): Pair[] {
  if (!existsSync(root)) return [];
  const out: Pair[] = [];
  for (const scenario of readdirSync(root).sort()) {
    const d = join(root, scenario);
    const dat = join(d, 'trace.dat');
    if (!existsSync(dat)) continue;
    // real-devices-pipe-lost: trace.txt is a trace_pipe stream; trace.dat is the remainder
    const candidates = ['trace-buffer-remaining.txt', 'trace.txt', 'trace.txt.zst'];
    const text = candidates.map((c) => join(d, c)).find((p) => existsSync(p));
    if (text) out.push({ scenario, dat, text });
  }
  return out;
}

for (const [kernel, root] of [
  ['6.12', FIXTURES],
  ['7.3', FIXTURES_73],
] as const) {
  describe(`trace.dat equals the kernel text of the same ring buffer (Linux ${kernel})`, () => {
    const all = pairs(root);
    if (all.length === 0) {
      test('fixtures', (t) => t.skip(`no fixtures at ${root}`));
      return;
    }
    const gaps = textGaps(kernel);
    for (const p of all) {
      const todo = gaps.get(p.scenario);
      test(`${p.scenario} (${p.text.split('/').pop()})`, { timeout: 300_000, ...(todo ? { todo } : {}) }, async () => {
        const { prints, parser } = await datPrints(p.dat);
        assert.equal(parser.warnings, 0, JSON.stringify(parser.warningList.slice(0, 3)));
        const diff = await compareText(p.text, p.dat, prints);
        assert.equal(diff, '', `${p.scenario}: first difference`);
        if (p.scenario === 'real-devices-stack') {
          assert.ok(prints.n > 0);
        }
      });
    }
  });
}

describe('trace-cmd record files (trace-record.dat) of both kernels read whole', () => {
  for (const root of [FIXTURES, FIXTURES_73]) {
    const files = existsSync(root)
      ? readdirSync(root)
          .map((d) => join(root, d, 'trace-record.dat'))
          .filter((f) => existsSync(f))
      : [];
    for (const path of files) {
      test(path.split('/').slice(-3).join('/'), async () => {
        const { prints, parser } = await datPrints(path);
        assert.equal(parser.bufferName, 'oracle');
        assert.equal(parser.warnings, 0, JSON.stringify(parser.warningList.slice(0, 3)));
        assert.ok(prints.n > 0);
      });
    }
  }
});

describe('trace.dat details on the fixtures', () => {
  const storm = join(FIXTURES, 'storm', 'trace.dat');
  test("storm: CPU 0, quiet from 2.45 s to 9.27 s, is promised quiet, so it holds back none of CPU 1's errors", {
    skip: !existsSync(storm),
    timeout: 120_000,
  }, async () => {
    const names = new Names();
    let p: TraceDatParser | null = null;
    const quiet: string[] = [];
    let firstAt = -1;
    let findings = 0;
    const engine = new DmaDebugEngine(names, () => {
      if (findings++ === 0) firstAt = p!.events;
    });
    p = new TraceDatParser({
      names,
      file: storm,
      sink: (ev) => engine.handle(ev),
      quiet: (cpu, sec, ns) => {
        quiet.push(`cpu ${cpu} ${sec}.${String(ns).padStart(9, '0')}`);
        engine.cpuQuiet(cpu, sec, ns);
      },
    });
    engine.attachInputFacts(p.facts);
    await p.readFile(storm);
    engine.inputDrained();
    assert.equal(p.events, 1_432_736);
    assert.equal(findings, 13_456);
    assert.ok(firstAt > 0 && firstAt < 16_384, `the first finding came after ${firstAt} events, not at the end`);
    // the first: CPU 0's next record (a skipped kind) is 6 s ahead of CPU 1's first errors
    assert.match(quiet[0] ?? '', /^cpu 0 8\.20/);
    assert.ok(quiet.length < 10, quiet.join('; '));
  });

  const stack = join(FIXTURES, 'real-devices-stack', 'trace.dat');
  test('kernel stacks start at the DMA API (machinery frames dropped)', { skip: !existsSync(stack) }, async () => {
    const names = new Names();
    const stacks: string[] = [];
    const parser = new TraceDatParser({
      names,
      file: stack,
      sink: (ev) => {
        if (ev.kind === K.Stack && stacks.length < 50) stacks.push(names.stacks.name(ev.stack));
      },
    });
    await parser.readFile(stack);
    assert.ok(stacks.length > 0);
    for (const s of stacks) {
      const first = s.split('\n')[0]!;
      assert.doesNotMatch(first, /^(trace_event|__traceiter_|trace_dma_)/, s);
      assert.match(first, /^[\w.]+\+0x[0-9a-f]+\/0x[0-9a-f]+/);
    }
  });

  const record = join(FIXTURES, 'real-devices-direct', 'trace-record.dat');
  test('trace-cmd record -B oracle: the only instance with dma events is read, with a warning', {
    skip: !existsSync(record),
  }, async () => {
    const names = new Names();
    let events = 0;
    const parser = new TraceDatParser({ names, file: record, sink: () => events++ });
    await parser.readFile(record);
    assert.equal(parser.bufferName, 'oracle');
    assert.ok(events > 1000);
    assert.match(parser.notes[0] ?? '', /instance "oracle"/);
    assert.equal(parser.warnings, 0);
    // asking for the top buffer by name gives nothing, and no note
    const top = new TraceDatParser({ names: new Names(), file: record, sink: () => {}, instance: '' });
    await top.readFile(record);
    assert.equal(top.events, 0);
    assert.equal(top.warnings, 0);
    assert.deepEqual(top.notes, []);
  });

  test('worker-thread decompression gives the same events', {
    skip: !existsSync(storm),
    timeout: 300_000,
  }, async () => {
    for (const path of [storm, join(FIXTURES, 'real-devices-stack', 'trace.dat')]) {
      if (!existsSync(path)) continue;
      const a = await datPrints(path, 0);
      const b = await datPrints(path, 2);
      assert.equal(b.prints.n, a.prints.n);
      assert.deepEqual(b.prints.h.subarray(0, b.prints.n), a.prints.h.subarray(0, a.prints.n), path);
    }
  });

  const small = join(FIXTURES, 'bug-clean', 'trace.dat');
  test('push mode at any chunk size equals readFile', { skip: !existsSync(small) }, async () => {
    const bytes = readFileSync(small);
    const run = (chunk: number): string[] => {
      const names = new Names();
      const out: string[] = [];
      const parser = new TraceDatParser({ names, file: small, sink: (ev) => out.push(norm(ev, names)) });
      for (let i = 0; i < bytes.length; i += chunk) parser.push(bytes.subarray(i, i + chunk));
      parser.end();
      return out;
    };
    const names = new Names();
    const ref: string[] = [];
    const parser = new TraceDatParser({ names, file: small, sink: (ev) => ref.push(norm(ev, names)) });
    await parser.readFile(small);
    assert.ok(ref.length > 1000);
    for (const chunk of [1, 7, 4096, 65537, 1 << 20]) assert.deepEqual(run(chunk), ref, `chunk ${chunk}`);
    assert.equal(parser.facts.sawBufferHeader, true);
    assert.equal(parser.facts.overwritten, false);
  });
});
