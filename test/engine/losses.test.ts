// Never crying wolf, as a property: a trace of correct DMA-API usage (the
// benchmarks' workload, which maps, unmaps, syncs and frees pages correctly by
// construction) stays free of errors however events are lost from it. Spans
// of events are dropped and replaced by a Lost notice (ftrace's `CPU:N [LOST
// M EVENTS]`), or a CPU's events stop for good after a CpuCutShort (a damaged
// trace.dat); whatever the checks then say must be unconfirmed, with the trace
// taken as covering everything since boot so that nothing hides behind it.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateTrace } from '../../bench/gen-trace.js';
import { Names } from '../../src/base/interner.js';
import { DmaDebugEngine } from '../../src/engine/engine.js';
import { type DmaEvent, EventKind } from '../../src/engine/events.js';
import type { Finding } from '../../src/engine/findings.js';
import { TextParser } from '../../src/input/text-parser.js';
import { prng } from '../helpers/prng.js';

const tmp = mkdtempSync(join(tmpdir(), 'dmadebug-losses-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let events: DmaEvent[] = [];
let names = new Names();

before(() => {
  const out = join(tmp, 'correct.txt');
  generateTrace({ size: 3 << 20, live: 64, out, seed: 7 });
  names = new Names();
  const list: DmaEvent[] = [];
  const p = new TextParser({ names, file: 'correct.txt', sink: (ev) => list.push(ev.clone()) });
  p.push(readFileSync(out));
  p.end();
  events = list;
});

function check(stream: Iterable<DmaEvent>): { errors: Finding[]; findings: number } {
  const errors: Finding[] = [];
  let findings = 0;
  const engine = new DmaDebugEngine(
    names,
    (f) => {
      if (f.severity === 'error') errors.push(f);
      findings++;
    },
    { fromBoot: true },
  );
  for (const ev of stream) engine.handle(ev);
  return { errors, findings };
}

function mark(kind: typeof EventKind.Lost | typeof EventKind.CpuCutShort, at: DmaEvent, cpu: number): DmaEvent {
  const ev = at.clone();
  ev.resetPayload();
  ev.kind = kind;
  ev.cpu = cpu;
  return ev;
}

const describeErrors = (errors: Finding[]) =>
  errors
    .slice(0, 3)
    .map((f) => `${f.check}: ${f.message}`)
    .join('\n');

describe('never crying wolf under losses (correct workload)', () => {
  it('the whole trace: no findings at all', () => {
    assert.ok(events.length > 10_000, `${events.length} events`);
    const r = check(events);
    assert.equal(r.findings, 0);
  });

  it('spans of events lost (a Lost notice in their place): no errors', () => {
    const r = prng(11);
    let unconfirmed = 0;
    for (let round = 0; round < 25; round++) {
      const out: DmaEvent[] = [];
      const spans = 1 + Math.floor(r() * 6);
      const drop = new Set<number>();
      for (let s = 0; s < spans; s++) {
        const at = Math.floor(r() * events.length);
        const len = 1 + Math.floor(r() * 400);
        for (let i = at; i < Math.min(events.length, at + len); i++) drop.add(i);
      }
      for (let i = 0; i < events.length; i++) {
        if (!drop.has(i)) out.push(events[i]!);
        else if (!drop.has(i + 1)) out.push(mark(EventKind.Lost, events[i]!, events[i]!.cpu));
      }
      const res = check(out);
      assert.equal(res.errors.length, 0, `round ${round}: ${describeErrors(res.errors)}`);
      unconfirmed += res.findings;
    }
    assert.ok(unconfirmed > 0, 'the losses made some unconfirmed findings');
  });

  it("one CPU's events stop for good (damaged input): no errors", () => {
    const r = prng(12);
    const cpus = [...new Set(events.map((e) => e.cpu))];
    assert.ok(cpus.length > 1, `${cpus.length} CPUs`);
    for (let round = 0; round < 12; round++) {
      const cpu = cpus[Math.floor(r() * cpus.length)]!;
      const at = Math.floor(r() * events.length);
      const out: DmaEvent[] = events.slice(0, at);
      out.push(mark(EventKind.CpuCutShort, events[at]!, cpu));
      for (let i = at; i < events.length; i++) if (events[i]!.cpu !== cpu) out.push(events[i]!);
      const res = check(out);
      assert.equal(res.errors.length, 0, `round ${round} (CPU ${cpu} from event ${at}): ${describeErrors(res.errors)}`);
    }
  });
});
