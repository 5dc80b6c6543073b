// Every verdict that rests on the trace's history, under every kind of loss a
// text trace can show, with hand-written lines (issue 13). Each verdict is a
// short scenario on CPU 0 whose last line is the finding's event; each loss is
// put around it the way a real trace would show it. From boot with nothing
// lost the finding is an error; under a loss that may hide what it rests on it
// is unconfirmed, and the note says why; a late start hides only what came
// before the trace (a mapping the trace saw being made still proves).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CheckId, Finding } from '../../src/engine/findings.js';
import { replayText } from '../property/damage.js';

const DEV = '0000:00:02.0';
const line = (cpu: number, ts: number, body: string) =>
  `          insmod-102     [00${cpu}] .....     ${ts.toFixed(6)}: ${body}`;
const map = (addr: string, size = 4096, attrs = '') =>
  `dma_map_page: ${DEV} dir=FROM_DEVICE dma_addr=${addr} size=${size} phys_addr=${addr} attrs=${attrs}`;
const unmap = (addr: string, size = 4096, attrs = '') =>
  `dma_unmap_page: ${DEV} dir=FROM_DEVICE dma_addr=${addr} size=${size} attrs=${attrs}`;
const sync = (addr: string) => `dma_sync_single_for_cpu: ${DEV} dir=FROM_DEVICE dma_addr=${addr} size=4096`;

/** A verdict: CPU 0's events (the last one fires), the check, and whether a late start leaves it proven. */
interface Verdict {
  name: string;
  check: CheckId;
  events: string[];
  /** The scenario makes every mapping it rests on inside the trace: a late start alone does not unprove it. */
  provenLate: boolean;
}

const VERDICTS: Verdict[] = [
  {
    name: 'double unmap',
    check: 'double-unmap',
    events: [map('b000000'), unmap('b000000'), unmap('b000000')],
    provenLate: false,
  },
  {
    name: 'sync after its unmap ("no map since")',
    check: 'sync-not-mapped',
    events: [map('b000000'), unmap('b000000'), sync('b000000')],
    provenLate: false,
  },
  { name: 'unmap of memory never mapped', check: 'unmap-not-mapped', events: [unmap('c000000')], provenLate: false },
  { name: 'sync of memory never mapped', check: 'sync-not-mapped', events: [sync('c000000')], provenLate: false },
  {
    name: 'the overlap limit (the 8th live mapping of a cacheline)',
    check: 'cacheline-overlap-limit',
    events: Array.from({ length: 9 }, () => map('aac6e00', 256, 'SKIP_CPU_SYNC')),
    provenLate: true,
  },
  {
    name: 'leak at unbind',
    check: 'leak-at-unbind',
    events: [map('d000000'), `tracing_mark_write: dmadebug: unbind ${DEV} dmabug pci`],
    provenLate: true,
  },
  {
    name: 'page freed while mapped by a mapping the trace saw made',
    check: 'page-freed-while-mapped',
    events: [map('e000000'), 'mm_page_free: page=000000004dd0210d pfn=0xe000 order=0'],
    provenLate: true,
  },
];

/** A loss: the trace's lines around CPU 0's events (timestamps from `t0`, 1 ms apart). */
interface Loss {
  name: string;
  /** Every verdict is unconfirmed under it (else: as the verdict's provenLate says). */
  hidesAll: boolean;
  lines(events: string[]): string[];
}

const at = (t0: number, events: string[]) => events.map((e, i) => line(0, t0 + i / 1000, e));
const header = (inBuffer: number, written: number) => [
  '# tracer: nop',
  '#',
  `# entries-in-buffer/entries-written: ${inBuffer}/${written}   #P:2`,
  '#',
];

const LOSSES: Loss[] = [
  {
    name: "a LOST notice that comes after the finding (with its CPU's next event)",
    hidesAll: true,
    lines: (ev) => [
      ...header(100, 100),
      line(1, 0.05, 'mm_page_free: page=0 pfn=0x1 order=0'),
      ...at(0.1, ev),
      'CPU:1 [LOST 12 EVENTS]',
      line(1, 0.9, 'mm_page_free: page=0 pfn=0x2 order=0'),
    ],
  },
  {
    name: 'a LOST notice before the finding',
    hidesAll: true,
    lines: (ev) => [
      ...header(100, 100),
      ...at(0.1, ev.slice(0, -1)),
      'CPU:1 [LOST 3 EVENTS]',
      ...at(0.5, ev.slice(-1)),
    ],
  },
  {
    name: "trace-cmd report's uncounted notice before the finding",
    hidesAll: true,
    lines: (ev) => ['cpus=2', ...at(0.1, ev.slice(0, -1)), 'CPU:1 [EVENTS DROPPED]', ...at(0.5, ev.slice(-1))],
  },
  {
    name: 'a damaged dma line before the finding',
    hidesAll: true,
    lines: (ev) => [
      ...header(100, 100),
      ...at(0.1, ev.slice(0, -1)),
      line(1, 0.4, `dma_map_page: ${DEV} dir=FROM_DEVICE dma_addr=f0`),
      ...at(0.5, ev.slice(-1)),
    ],
  },
  {
    name: 'an overwritten ring buffer whose CPU 1 window begins after the finding',
    hidesAll: true,
    lines: (ev) => [...header(100, 900), ...at(0.1, ev), line(1, 0.9, 'mm_page_free: page=0 pfn=0x2 order=0')],
  },
  {
    name: 'a CPU that kept nothing of an overwritten ring buffer',
    hidesAll: true,
    lines: (ev) => [...header(100, 900), ...at(0.1, ev)],
  },
  {
    name: 'a late start (the header says nothing was overwritten)',
    hidesAll: false,
    lines: (ev) => [...header(100, 100), line(1, 10.05, 'mm_page_free: page=0 pfn=0x1 order=0'), ...at(10.1, ev)],
  },
  {
    name: "a late start in trace-cmd report's text (nothing says whether it overwrote), CPU 1 seen after",
    hidesAll: true,
    lines: (ev) => ['cpus=2', ...at(10.1, ev), line(1, 10.9, 'mm_page_free: page=0 pfn=0x2 order=0')],
  },
];

/** The lines replayed as a 6.12 text trace to the end of the input. */
const replay = (lines: string[]): Finding[] => replayText(`${lines.join('\n')}\n`, { kernel: '6.12' }).findings;

describe('history-based verdicts under each kind of loss', () => {
  for (const v of VERDICTS) {
    describe(v.name, () => {
      it('from boot, nothing lost: an error', () => {
        const found = replay([...header(100, 100), ...at(0.1, v.events)]).filter((f) => f.check === v.check);
        assert.ok(found.length > 0, `no ${v.check}`);
        assert.ok(
          found.some((f) => f.severity === 'error'),
          found.map((f) => `${f.severity} ${f.note}`).join('; '),
        );
      });
      for (const loss of LOSSES) {
        const proven = !loss.hidesAll && v.provenLate;
        it(`${loss.name}: ${proven ? 'still an error' : 'unconfirmed, with the reason'}`, () => {
          const findings = replay(loss.lines(v.events));
          const found = findings.filter((f) => f.check === v.check);
          assert.ok(found.length > 0, `no ${v.check}: ${findings.map((f) => f.check).join(', ')}`);
          if (proven) {
            assert.ok(found.some((f) => f.severity === 'error'));
          } else {
            assert.deepEqual(
              findings.filter((f) => f.severity === 'error').map((f) => `${f.check}: ${f.message}`),
              [],
            );
            for (const f of found) {
              assert.equal(f.severity, 'unconfirmed');
              assert.ok((f.note ?? '').length > 20, `a reason: ${f.note}`);
            }
          }
        });
      }
    });
  }
});
