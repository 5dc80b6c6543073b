// An overwritten ring buffer keeps a different window of events per CPU:
// proofs that rest on the absence of events (double unmap, "no map since",
// page freed while mapped by a fresh owner, the overlap limit) hold only from
// where every CPU's window is open. Hand-written text traces, and the summary.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Names } from '../../src/base/interner.js';
import { TextParser } from '../../src/input/text-parser.js';
import { replayText } from '../property/damage.js';

const DEV = '0000:00:02.0';
const HEADER = (inBuffer: number, written: number, cpus: number) => [
  '# tracer: nop',
  '#',
  `# entries-in-buffer/entries-written: ${inBuffer}/${written}   #P:${cpus}`,
  '#',
];
const ev = (cpu: number, ts: string, name: string, fields: string) =>
  `          insmod-102     [00${cpu}] .....     ${ts}: ${name}: ${fields}`;
const map = (cpu: number, ts: string, addr: string, dir = 'FROM_DEVICE') =>
  ev(cpu, ts, 'dma_map_page', `${DEV} dir=${dir} dma_addr=${addr} size=4096 phys_addr=${addr} attrs=`);
const unmap = (cpu: number, ts: string, addr: string, dir = 'FROM_DEVICE') =>
  ev(cpu, ts, 'dma_unmap_page', `${DEV} dir=${dir} dma_addr=${addr} size=4096 attrs=`);
const pageFree = (cpu: number, ts: string, pfn: string) =>
  ev(cpu, ts, 'mm_page_free', `page=000000004dd0210d pfn=${pfn} order=0`);

function run(lines: string[]) {
  const { engine, findings } = replayText(`${lines.join('\n')}\n`, { kernel: '6.12' });
  const errors = findings.filter((f) => f.severity === 'error');
  return { engine, findings, errors };
}

describe('overwritten ring buffers: one window per CPU', () => {
  it('the header names the CPUs', () => {
    const p = new TextParser({ names: new Names(), file: 't', sink: () => {} });
    p.push(new TextEncoder().encode(`${HEADER(10, 20, 4).join('\n')}\n`));
    p.end();
    assert.equal(p.facts.cpus, 4);
    assert.equal(p.facts.overwritten, true);
  });

  it("no double unmap is proven while a CPU's window has not begun (the re-map may be on it)", () => {
    // CPU 1 kept events from 3 s, CPU 0 only from 9 s: a re-map of b000000 on CPU 0 at 5 s is gone
    const { errors, findings } = run([
      ...HEADER(100, 500, 2),
      map(1, '2.500000', 'b000000'),
      unmap(1, '3.000000', 'b000000'),
      unmap(1, '6.000000', 'b000000'),
      map(0, '9.000000', 'c000000'),
      unmap(0, '9.100000', 'c000000'),
    ]);
    assert.deepEqual(errors, []);
    const second = findings.filter((f) => f.check === 'double-unmap');
    assert.equal(second.length, 1);
    assert.equal(second[0]!.severity, 'unconfirmed');
    assert.match(second[0]!.note ?? '', /CPU 0 has shown none of the events it kept yet/);
  });

  it('once every window is open, a second unmap is still unconfirmed: a twin mapped before a window may be live', () => {
    const { errors, findings } = run([
      ...HEADER(100, 500, 2),
      unmap(1, '3.000000', 'b000000'),
      map(0, '9.000000', 'c000000'),
      unmap(0, '9.100000', 'c000000'),
      unmap(1, '9.200000', 'c000000'),
    ]);
    assert.deepEqual(errors, []);
    const second = findings.filter((f) => f.check === 'double-unmap');
    assert.equal(second.length, 1);
    assert.equal(second[0]!.severity, 'unconfirmed');
    assert.match(
      second[0]!.note ?? '',
      /a second mapping of this address made before the trace began may have been live/,
    );
  });

  it('a page freed while mapped by an entry made before every window opened is unconfirmed', () => {
    // mapped on CPU 1 at 4 s, its unmap on CPU 0 at 6 s is gone; the page is freed at 8 s
    const { errors, findings } = run([
      ...HEADER(100, 500, 2),
      map(1, '4.000000', 'b000000'),
      pageFree(1, '8.000000', '0xb000'),
      map(0, '9.000000', 'c000000'),
      pageFree(1, '9.500000', '0xb000'),
    ]);
    assert.deepEqual(errors, []);
    assert.ok(findings.some((f) => f.check === 'page-freed-while-mapped' && f.severity === 'unconfirmed'));
  });

  it('a mapping made after every window opened still proves a page freed while mapped', () => {
    const { errors } = run([
      ...HEADER(100, 500, 2),
      map(1, '4.000000', 'a000000'),
      map(0, '9.000000', 'c000000'),
      map(1, '9.100000', 'b000000'),
      pageFree(0, '9.200000', '0xb000'),
    ]);
    assert.deepEqual(
      errors.map((f) => f.check),
      ['page-freed-while-mapped'],
    );
  });

  it('a CPU that kept nothing leaves every absence unproven, and the summary says so', () => {
    const { engine, errors } = run([
      ...HEADER(100, 500, 2),
      unmap(1, '3.000000', 'b000000'),
      unmap(1, '6.000000', 'b000000'),
      map(1, '7.000000', 'c000000'),
      pageFree(1, '8.000000', '0xc000'),
    ]);
    assert.deepEqual(errors, []);
    const w = engine.coverage().windows;
    assert.deepEqual(w, {
      late: [
        { cpu: 0, from: null },
        { cpu: 1, from: '3.000000' },
      ],
      allFrom: null,
      known: true,
    });
  });

  it('nothing overwritten: no windows, proofs as before', () => {
    const { engine, errors } = run([
      ...HEADER(4, 4, 2),
      map(1, '0.300000', 'c000000'),
      unmap(1, '0.600000', 'c000000'),
      unmap(0, '0.910000', 'c000000'),
    ]);
    assert.equal(engine.coverage().windows, null);
    assert.deepEqual(
      errors.map((f) => f.check),
      ['double-unmap'],
    );
  });
});
