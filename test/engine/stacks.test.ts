// The stacks of a finding, from hand-written ftrace lines through the text
// parser and the engine: the offending call's stack is the `<stack trace>`
// block after its event on the same CPU, however the CPUs interleave; any
// other record of that CPU (an event, a loss notice, another tracepoint's
// line) or the end of the input says it has none, and the finding goes out
// then, in order. The mapping's stack is the block after the map (stacks.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Names } from '../../src/base/interner.js';
import { DmaDebugEngine, type EngineConfig } from '../../src/engine/engine.js';
import type { Finding } from '../../src/engine/findings.js';
import { TextParser } from '../../src/input/text-parser.js';
import { makePaint } from '../../src/report/paint.js';
import { formatFinding } from '../../src/report/text.js';

const DEV = '0000:00:02.0';

function header(cpu: number, ts: string, task = 'insmod-103'): string {
  return `${task.padStart(16)}   [${String(cpu).padStart(3, '0')}] .....  ${ts}:`;
}
const map = (cpu: number, ts: string, addr = 'b513c00', size = 1024, dir = 'FROM_DEVICE') =>
  `${header(cpu, ts)} dma_map_page: ${DEV} dir=${dir} dma_addr=${addr} size=${size} phys_addr=${addr} attrs=\n`;
const unmap = (cpu: number, ts: string, addr = 'b513c00', size = 512, dir = 'FROM_DEVICE') =>
  `${header(cpu, ts)} dma_unmap_page: ${DEV} dir=${dir} dma_addr=${addr} size=${size} attrs=\n`;
const stack = (cpu: number, ts: string, frames: string[]) =>
  `${header(cpu, ts)} <stack trace>\n => trace_event_buffer_commit+0x1d4/0x1e3\n${frames.map((f) => ` => ${f}\n`).join('')}`;

const MAP_FRAMES = [
  'dma_map_page_attrs+0x212/0x241',
  'map_checked+0x26/0x5a [dmabug]',
  'sc_unmap_size+0x44/0xd2 [dmabug]',
];
const UNMAP_FRAMES = ['dma_unmap_page_attrs+0xd1/0xef', 'sc_unmap_size+0x98/0xd2 [dmabug]', 'dmabug_probe+0xff/0x147'];

/** A text parser feeding an engine; feed() pushes lines, end() ends the input as the pipeline does. */
function replay(cfg: Partial<EngineConfig> = {}) {
  const names = new Names();
  const findings: Finding[] = [];
  const engine = new DmaDebugEngine(names, (f) => findings.push(f), { kernel: '6.12', fromBoot: true, ...cfg });
  const parser = new TextParser({ names, sink: (ev) => engine.handle(ev), file: 't.txt' });
  engine.attachInputFacts(parser.facts);
  return {
    engine,
    findings,
    feed: (...lines: string[]) => parser.push(Buffer.from(lines.join(''))),
    end: () => {
      parser.end();
      engine.inputDrained();
    },
    /** What the text renderer prints, with short or full stacks. */
    text: (f: Finding, fullStack = false) => formatFinding(f, 't.txt', makePaint(false), { fullStack }),
  };
}

describe('the stack of the call that made a finding', () => {
  it('is the stack block after its event on its CPU; the mapping keeps its own', () => {
    const r = replay();
    r.feed(map(1, '2.000100'), stack(1, '2.000101', MAP_FRAMES), unmap(1, '2.000200'));
    assert.equal(r.findings.length, 0, 'the finding waits for the next record of CPU 1');
    r.feed(stack(1, '2.000201', UNMAP_FRAMES));
    // the parser ends a block at the next line that is not a frame (or at the end)
    assert.equal(r.findings.length, 0);
    r.feed(map(0, '2.000300', 'c000000'));
    assert.equal(r.findings.length, 1);
    const f = r.findings[0]!;
    assert.equal(f.check, 'unmap-size-mismatch');
    assert.deepEqual(f.stack, UNMAP_FRAMES);
    assert.deepEqual(f.mapping?.stack, MAP_FRAMES);
    assert.equal(f.at.line, 7);
    r.end();
    assert.equal(r.findings.length, 1);
  });

  it('is null when the trace has no stacks: the next event of the CPU sends the finding out', () => {
    const r = replay();
    r.feed(map(1, '2.000100'), unmap(1, '2.000200'), map(0, '2.000300', 'c000000'));
    assert.equal(r.findings.length, 0, "another CPU's event does not end CPU 1's wait");
    r.feed(map(1, '2.000400', 'd000000'));
    assert.equal(r.findings.length, 1);
    assert.equal(r.findings[0]!.stack, null);
    assert.equal(r.findings[0]!.mapping?.stack, null);
  });

  it('is null after a loss notice of its CPU (the stack that follows may be a lost event’s); verdicts are as before', () => {
    const lost = (cpu0: string[]) => {
      const r = replay();
      r.feed(
        map(1, '2.000100'),
        stack(1, '2.000101', MAP_FRAMES),
        ...cpu0,
        unmap(1, '2.000200'),
        'CPU:1 [LOST 2 EVENTS]\n',
        stack(1, '2.000300', ['dma_unmap_page_attrs+0xd1/0xef', 'someone_else+0x1/0x2']),
      );
      r.end();
      assert.equal(r.findings.length, 1);
      const f = r.findings[0]!;
      assert.equal(f.stack, null);
      assert.deepEqual(f.mapping?.stack, MAP_FRAMES);
      return f.severity;
    };
    // CPU 0 had shown nothing yet: the error was still held when CPU 1's notice came (as without stacks)
    assert.equal(lost([]), 'unconfirmed');
    // every CPU had reached the unmap: its verdict was final at once, and waiting for the stack does not change it
    assert.equal(lost([map(0, '2.000200', 'c000000')]), 'error');
  });

  it("is its own CPU's block when another CPU's block comes in between", () => {
    const r = replay();
    r.feed(
      map(0, '2.000100', 'c000000'),
      map(1, '2.000110'),
      stack(1, '2.000111', MAP_FRAMES),
      unmap(1, '2.000200'),
      stack(0, '2.000201', ['dma_map_page_attrs+0x212/0x241', 'cpu0_driver+0x1/0x2']),
    );
    assert.equal(r.findings.length, 0, "CPU 0's stack is not CPU 1's");
    r.feed(stack(1, '2.000202', UNMAP_FRAMES));
    r.end();
    assert.equal(r.findings.length, 1);
    assert.deepEqual(r.findings[0]!.stack, UNMAP_FRAMES);
    // CPU 0's block went to CPU 0's mapping
    const cpu0 = [...r.engine.dump()].find((d) => d.dma === 'c000000');
    assert.deepEqual(cpu0?.stack, ['dma_map_page_attrs+0x212/0x241', 'cpu0_driver+0x1/0x2']);
  });

  it('is null at the end of the input right after the event', () => {
    const r = replay();
    r.feed(map(1, '2.000100'), stack(1, '2.000101', MAP_FRAMES), unmap(1, '2.000200'));
    assert.equal(r.findings.length, 0);
    r.end();
    assert.equal(r.findings.length, 1);
    assert.equal(r.findings[0]!.stack, null);
  });

  it("is null when another tracepoint's line of the CPU comes first: the block after it is that event's", () => {
    const r = replay();
    r.feed(
      map(1, '2.000100'),
      stack(1, '2.000101', MAP_FRAMES),
      unmap(1, '2.000200'),
      `${header(1, '2.000250')} sched_switch: prev_comm=insmod prev_pid=103 prev_prio=120 prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120\n`,
      stack(1, '2.000251', ['schedule+0x1/0x2', '__x64_sys_nanosleep+0x1/0x2']),
    );
    r.end();
    assert.equal(r.findings.length, 1);
    assert.equal(r.findings[0]!.stack, null);
    assert.deepEqual(r.findings[0]!.mapping?.stack, MAP_FRAMES);
  });

  it('goes to every finding of the call, and findings keep their order across CPUs', () => {
    const r = replay();
    r.feed(
      map(0, '2.000100', 'c000000', 256, 'TO_DEVICE'),
      map(1, '2.000110'),
      // CPU 0: size and direction both wrong: two findings of one call, waiting for CPU 0's block
      unmap(0, '2.000200', 'c000000', 128, 'FROM_DEVICE'),
      // CPU 1: a third finding, whose block comes first
      unmap(1, '2.000210'),
      stack(1, '2.000211', UNMAP_FRAMES),
      stack(0, '2.000201', ['dma_unmap_page_attrs+0xd1/0xef', 'cpu0_unmapper+0x1/0x2']),
    );
    r.end();
    assert.deepEqual(
      r.findings.map((f) => [f.check, f.at.cpu, f.stack?.[1]]),
      [
        ['unmap-size-mismatch', 0, 'cpu0_unmapper+0x1/0x2'],
        ['unmap-direction-mismatch', 0, 'cpu0_unmapper+0x1/0x2'],
        ['unmap-size-mismatch', 1, 'sc_unmap_size+0x98/0xd2 [dmabug]'],
      ],
    );
  });

  it('of a map that fails a check is the mapping’s stack too, printed once in text', () => {
    const r = replay();
    const again = ['dma_map_page_attrs+0x212/0x241', 'map_twice+0x10/0x20 [dmabug]'];
    r.feed(
      map(1, '2.000100', 'b3a7c00'),
      stack(1, '2.000101', MAP_FRAMES),
      // the same FROM_DEVICE cacheline again: EEXIST, about the new entry
      map(1, '2.000200', 'b3a7c00'),
      stack(1, '2.000201', again),
    );
    r.end();
    const f = r.findings.find((x) => x.check === 'cacheline-overlap');
    assert.ok(f, r.findings.map((x) => x.check).join());
    assert.deepEqual(f.stack, again);
    assert.deepEqual(f.mapping?.stack, again, 'the snapshot was taken before the block came');
    assert.equal(f.mapping?.mappedAt.line, f.at.line);
    const text = r.text(f);
    assert.equal(text.split('map_twice+0x10/0x20 [dmabug]').length, 2, text);
  });

  it('text cuts each stack at 10 lines; --full-stack prints every frame', () => {
    const r = replay();
    const deep = Array.from({ length: 14 }, (_, i) => `caller_${i}+0x1/0x2`);
    r.feed(map(1, '2.000100'), stack(1, '2.000101', MAP_FRAMES), unmap(1, '2.000200'), stack(1, '2.000201', deep));
    r.end();
    const f = r.findings[0]!;
    assert.equal(
      r.text(f),
      [
        'DMA-API: pci 0000:00:02.0: device driver frees DMA memory with different size [device address=0x000000000b513c00] [map size=1024 bytes] [unmap size=512 bytes]',
        '  at 2.000200 cpu 1 insmod-103 (t.txt:7)',
        ...deep.slice(0, 9).map((x) => `   => ${x}`),
        '   => ... (5 more frames)',
        '  Mapped at 2.000100 cpu 1 insmod-103 (t.txt:1)',
        ...MAP_FRAMES.map((x) => `   => ${x}`),
        '',
      ].join('\n'),
    );
    const full = r.text(f, true);
    for (const x of deep) assert.ok(full.includes(`   => ${x}\n`), x);
    assert.ok(!full.includes('more frames'));
    // a stack of exactly 10 frames is printed whole
    const ten = replay();
    ten.feed(unmap(0, '2.0'), stack(0, '2.000001', deep.slice(0, 10)));
    ten.end();
    assert.ok(!ten.text(ten.findings[0]!).includes('more frames'));
    assert.equal(ten.findings[0]!.stack?.length, 10);
  });

  it('typed library calls make findings at once (no stack follows them)', () => {
    const r = replay();
    r.engine.mapPage(DEV, 0xb513c00n, 1024, 2, 0xb513c00n);
    r.engine.unmapPage(DEV, 0xb513c00n, 512, 2);
    assert.equal(r.findings.length, 1);
    assert.equal(r.findings[0]!.stack, null);
  });
});
