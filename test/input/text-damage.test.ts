// A line we could not read is a lost event on its CPU (issue 13). A small
// from-boot trace of correct DMA-API calls, hand-written in the kernel's
// `trace` layout, has no findings; its dma_map_page line is then damaged each
// way a text trace gets damaged (cut short, a field mangled, bytes flipped,
// glued to the next line, its header unreadable). Every time: no error (its
// sync and unmap find no mapping, but that rests on the damaged line), the line
// is listed for -v with its number, and the summary reports the damage.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Names } from '../../src/base/interner.js';
import { DmaDebugEngine } from '../../src/engine/engine.js';
import { ALL_CPUS, type DmaEvent, EventKind } from '../../src/engine/events.js';
import type { Finding } from '../../src/engine/findings.js';
import { TextParser } from '../../src/input/text-parser.js';
import { summarize } from '../../src/pipeline.js';
import { makePaint } from '../../src/report/paint.js';
import { summaryText } from '../../src/report/summary.js';

const DEV = '0000:00:02.0';

/** One line of /sys/kernel/tracing/trace. */
function line(cpu: number, ts: string, event: string, payload: string, task = 'insmod-107'): string {
  return `${task.padStart(16)}     [${String(cpu).padStart(3, '0')}] .....     ${ts}: ${event}: ${payload}`;
}

const HEADER = [
  '# tracer: nop',
  '#',
  '# entries-in-buffer/entries-written: 12/12   #P:2',
  '#',
  '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION',
  '#              | |         |   |||||     |         |',
];

/** The line every case damages: the map whose sync and unmap follow. */
const MAP = line(
  1,
  '1.000100',
  'dma_map_page',
  `${DEV} dir=TO_DEVICE dma_addr=bba7c00 size=512 phys_addr=bba7c00 attrs=`,
);
const MAP_LINE = HEADER.length + 2;

const CLEAN = [
  ...HEADER,
  line(0, '0.357212', 'mm_page_free', 'page=00000000eeaddf4b pfn=0x24c6 order=0', '<idle>-0'),
  MAP,
  line(1, '1.000200', 'dma_sync_single_for_device', `${DEV} dir=TO_DEVICE dma_addr=bba7c00 size=512`),
  line(1, '1.000300', 'dma_unmap_page', `${DEV} dir=TO_DEVICE dma_addr=bba7c00 size=512 attrs=`),
  line(
    1,
    '1.000400',
    'dma_map_sg',
    `${DEV} dir=FROM_DEVICE nents=2/2 ents=2/2 dma_addrs={0xa370000,0xa371000} sizes={0x800,0x1000} phys_addrs={0xa370000,0xa371000} attrs=`,
  ),
  line(
    1,
    '1.000500',
    'dma_sync_sg_for_cpu',
    `${DEV} dir=FROM_DEVICE dma_addrs={0xa370000,0xa371000} sizes={0x800,0x1000}`,
  ),
  line(1, '1.000600', 'dma_unmap_sg', `${DEV} dir=FROM_DEVICE phys_addrs={0xa370000,0xa371000} attrs=`),
  line(
    0,
    '1.000700',
    'dma_alloc',
    `${DEV} dir=BIDIRECTIONAL dma_addr=a375000 size=4096 virt_addr=00000000062ffc29 flags=GFP_KERNEL attrs=`,
  ),
  line(
    0,
    '1.000800',
    'dma_free',
    `${DEV} dir=BIDIRECTIONAL dma_addr=a375000 size=4096 virt_addr=00000000062ffc29 attrs=`,
  ),
  line(0, '1.000900', 'mm_page_free', 'page=00000000226c8df5 pfn=0xa375 order=0'),
];

interface Run {
  findings: Finding[];
  events: DmaEvent[];
  parser: TextParser;
  summary: string;
  coverage: ReturnType<DmaDebugEngine['coverage']>;
}

/** Replays text through the parser and the engine, as `check` does, and renders the summary. */
function run(lines: string[]): Run {
  const names = new Names();
  const findings: Finding[] = [];
  const events: DmaEvent[] = [];
  const tally = { errors: 0, kernelFalsePositives: 0, unconfirmed: 0 };
  const engine = new DmaDebugEngine(names, (f) => {
    findings.push(f);
    if (f.severity === 'error' && f.kernelFalsePositive === null) tally.errors++;
  });
  const parser = new TextParser({
    names,
    file: 'damaged.txt',
    sink: (ev) => {
      engine.handle(ev);
      events.push(ev.clone());
    },
  });
  engine.attachInputFacts(parser.facts);
  parser.push(Buffer.from(`${lines.join('\n')}\n`, 'latin1'));
  parser.end();
  engine.inputDrained();
  const summary = summaryText(summarize(['damaged.txt'], { engine, parser, tally }), makePaint(false));
  return { findings, events, parser, summary, coverage: engine.coverage() };
}

/** CLEAN with the map line replaced (or, for a glued line, joined with the next). */
function damage(map: string, glue = false): string[] {
  const out = CLEAN.slice();
  const i = MAP_LINE - 1;
  if (glue) out.splice(i, 2, map + out[i + 1]!);
  else out[i] = map;
  return out;
}

/** Flips the high bit of the byte at `at` (a single bit flip that no longer reads as ASCII). */
function flip(s: string, at: number): string {
  return s.slice(0, at) + String.fromCharCode(s.charCodeAt(at) ^ 0x80) + s.slice(at + 1);
}

/** Where `what` starts in MAP, plus `into`. */
const pos = (what: string, into = 0) => {
  const i = MAP.indexOf(what);
  assert.ok(i > 0, what);
  return i + into;
};

const CASES: Array<{ kind: string; lines: string[]; cpu: number; why: RegExp }> = [
  { kind: 'cut short inside its fields', lines: damage(MAP.slice(0, pos(' dir=', 3))), cpu: 1, why: /cut short/ },
  { kind: 'cut short inside a value', lines: damage(MAP.slice(0, pos('size=512', 7))), cpu: 1, why: /attrs=/ },
  {
    kind: 'cut short inside its event name',
    lines: damage(MAP.slice(0, pos('dma_map_page', 7))),
    cpu: 1,
    why: /event name/,
  },
  { kind: 'cut short before its timestamp', lines: damage(MAP.slice(0, pos('[001]', 5))), cpu: 1, why: /timestamp/ },
  {
    kind: 'cut short inside its task column',
    lines: damage(MAP.slice(0, pos('insmod', 3))),
    cpu: ALL_CPUS,
    why: /cut short/,
  },
  {
    kind: 'a value mangled',
    lines: damage(MAP.replace('dma_addr=bba7c00', 'dma_addr=bb#7c00')),
    cpu: 1,
    why: /dma_addr=/,
  },
  { kind: 'a key mangled', lines: damage(MAP.replace('dir=', 'dxr=')), cpu: 1, why: /dxr=/ },
  { kind: 'the direction mangled', lines: damage(MAP.replace('TO_DEVICE', 'TO_DEVIXE')), cpu: 1, why: /dir=/ },
  { kind: 'a byte flipped in an address', lines: damage(flip(MAP, pos('dma_addr=', 10))), cpu: 1, why: /dma_addr=/ },
  { kind: 'a byte flipped in the device name', lines: damage(flip(MAP, pos(DEV, 2))), cpu: 1, why: /device name/ },
  {
    kind: 'a byte flipped in the event name',
    lines: damage(flip(MAP, pos('dma_map_page', 4))),
    cpu: 1,
    why: /event name/,
  },
  { kind: 'a byte flipped in a key', lines: damage(flip(MAP, pos('phys_addr', 1))), cpu: 1, why: /key/ },
  { kind: 'a byte flipped in its CPU column', lines: damage(flip(MAP, pos('[001]', 2))), cpu: ALL_CPUS, why: /header/ },
  // a timestamp that does not read must not send the search on to the payload's `0000:` (as it
  // once did: the line then read as another tracepoint's, and its unmap as a proven error)
  {
    kind: 'a digit of its timestamp turned into a letter',
    lines: damage(MAP.replace('1.000100:', '1.0x0100:')),
    cpu: 1,
    why: /timestamp '1\.0x0100:'/,
  },
  { kind: 'a byte flipped in its timestamp', lines: damage(flip(MAP, pos('1.000100', 3))), cpu: 1, why: /timestamp/ },
  {
    kind: 'a colon inside its timestamp',
    lines: damage(MAP.replace('1.000100:', '1.00:100:')),
    cpu: 1,
    why: /timestamp/,
  },
  {
    kind: 'the colon after its timestamp gone',
    lines: damage(MAP.replace('1.000100:', '1.000100')),
    cpu: 1,
    why: /timestamp/,
  },
  { kind: 'no timestamp at all', lines: damage(MAP.replace('1.000100: ', '')), cpu: 1, why: /timestamp/ },
  { kind: 'glued to the next line', lines: damage(MAP, true), cpu: 1, why: /glued/ },
  {
    kind: 'cut short and glued to the next line',
    lines: damage(MAP.slice(0, pos('size=512', 6)), true),
    cpu: 1,
    why: /glued/,
  },
];

describe('a damaged dma line is a lost event on its CPU', () => {
  it('the undamaged trace: from boot, no findings, nothing listed', () => {
    const r = run(CLEAN);
    assert.deepEqual(
      r.findings.map((f) => f.check),
      [],
    );
    assert.deepEqual(r.parser.warningList, []);
    assert.equal(r.coverage.fromBoot, true);
    assert.equal(r.coverage.complete, true);
    assert.equal(r.coverage.damagedLines, 0);
    assert.match(r.summary, /coverage: from boot \(/);
    assert.doesNotMatch(r.summary, /damaged|malformed/);
  });

  for (const c of CASES) {
    it(c.kind, () => {
      const r = run(c.lines);
      const errors = r.findings.filter((f) => f.severity === 'error');
      assert.deepEqual(
        errors.map((f) => `${f.check}: ${f.message}`),
        [],
        'no errors: what rests on the damaged line is unconfirmed',
      );
      // the sync and the unmap that follow find no mapping: unconfirmed (a glued line took the sync with it)
      assert.ok(
        r.findings.every((f) => f.severity === 'unconfirmed' && f.note !== null),
        r.findings.map((f) => `${f.severity} ${f.check}`).join(),
      );
      assert.ok(r.findings.length > 0, 'the unmap of the lost mapping is reported, unconfirmed');
      // the parser handed on a lost event in the damaged line's place
      const lost = r.events.filter((e) => e.kind === EventKind.Lost);
      assert.deepEqual(
        lost.map((e) => [e.line, e.cpu, e.lost, e.damaged]),
        [[MAP_LINE, c.cpu, 1, true]],
      );
      assert.equal(r.events.indexOf(r.events.find((e) => e.kind === EventKind.Lost)!), 1, 'in its place');
      // -v lists it with its number and why
      assert.equal(r.parser.warningList.length, 1);
      assert.equal(r.parser.warningList[0]!.line, MAP_LINE);
      assert.match(r.parser.warningList[0]!.message, c.why);
      assert.match(r.parser.warningList[0]!.message, /\(damaged line: counted as a lost event on (CPU 1|every CPU)\)$/);
      // the summary says so, and no longer that the trace is complete
      const per = c.cpu === ALL_CPUS ? 'any cpu:1' : 'cpu1:1';
      assert.match(r.summary, new RegExp(`damaged: 1 line could not be read \\(${per}\\)`));
      assert.match(r.summary, /coverage: from boot, with gaps \(/);
      assert.match(r.summary, /^dmadebug: no errors, /);
      assert.equal(r.coverage.complete, false);
      assert.equal(r.coverage.damagedLines, 1);
      assert.deepEqual(r.coverage.damagedByCpu, { [c.cpu === ALL_CPUS ? 'all' : '1']: 1 });
      assert.equal(r.coverage.lossNotices, 0, 'not a notice of the tracer');
    });
  }

  it('a damaged mm_page_free line is a lost event on its CPU too', () => {
    const out = CLEAN.slice();
    const i = out.findIndex((l) => l.includes('pfn=0xa375'));
    out[i] = out[i]!.replace('pfn=0xa375', 'pfn=0xa3?5');
    const r = run(out);
    const lost = r.events.filter((e) => e.kind === EventKind.Lost);
    assert.deepEqual(
      lost.map((e) => [e.line, e.cpu, e.damaged]),
      [[i + 1, 0, true]],
    );
    assert.match(r.parser.warningList[0]!.message, /^mm_page_free: .*pfn=.*on CPU 0\)$/);
  });

  it('lines that are clearly something else stay skipped, with no loss', () => {
    const out = CLEAN.slice();
    out.splice(
      MAP_LINE,
      0,
      line(1, '1.000150', 'sched_switch', 'prev_comm=insmod prev_pid=107 ==> next_comm=swapper/1 next_pid=0'),
      line(1, '1.000160', 'dma_fence_init', 'driver=i915 timeline=signaled context=2 seqno=0'),
      line(1, '1.000170', '0xffffffffa000202a', 'dmabug: a trace_printk that says dma_map_page'),
      '# a comment',
      '',
    );
    const r = run(out);
    assert.deepEqual(r.findings, []);
    assert.deepEqual(r.parser.warningList, []);
    assert.equal(r.coverage.damagedLines, 0);
    assert.equal(r.coverage.complete, true);
  });
});
