// The finding gate: a held error goes out once every CPU has shown an event
// at its time or later, turns unconfirmed on a notice of a CPU that had not
// (and not on one that had), keeps findings in order, and empties when the
// input is drained.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALL_CPUS } from '../../src/engine/events.js';
import type { Finding } from '../../src/engine/findings.js';
import { FindingGate } from '../../src/engine/gate.js';

/** Findings made so far: the gate holds them by id (their index here). */
const made: Finding[] = [];

/** A finding, by its id. */
function finding(message: string, severity: Finding['severity'] = 'error'): number {
  made.push({
    check: 'unmap-not-mapped',
    severity,
    message,
    device: 'd',
    driver: null,
    bare: false,
    at: { line: 0, positions: 'line', ts: '', cpu: 0, pid: 0, comm: '' },
    stack: null,
    mapping: null,
    note: null,
    shown: true,
    kernelFalsePositive: null,
  });
  return made.length - 1;
}

/** A gate whose sink collects; a notice's downgrade and a stack's arrival are written into the finding. */
function gate() {
  const out: Finding[] = [];
  const g = new FindingGate(
    (id) => out.push(made[id]!),
    (id, cpu, after) => {
      made[id]!.severity = 'unconfirmed';
      made[id]!.note = `cpu ${cpu} after ${after}`;
    },
    (id, stack) => {
      made[id]!.stack = [`frame ${stack}`];
    },
  );
  const said = () => out.map((f) => `${f.severity}:${f.message}`);
  /** As said, with each finding's stack. */
  const saidStacks = () => out.map((f) => `${f.severity}:${f.message}:${f.stack?.join(',') ?? '-'}`);
  return { g, out, said, saidStacks };
}

describe('finding gate', () => {
  it('holds an error until every CPU has reached its time, then lets it and what followed out in order', () => {
    const { g, said } = gate();
    g.setCpus(2);
    g.seen(0, 1, 0);
    g.seen(1, 1, 500);
    g.seen(0, 2, 0);
    g.push(finding('a'), 2, 0, true);
    g.push(finding('b', 'info'), 2, 0, false);
    assert.deepEqual(said(), [], 'CPU 1 is still at 1.0000005 s');
    g.seen(0, 3, 0);
    assert.deepEqual(said(), []);
    g.seen(1, 2, 0);
    assert.deepEqual(said(), ['error:a', 'info:b']);
    // nothing held: straight out
    g.push(finding('c', 'unconfirmed'), 2, 0, false);
    assert.deepEqual(said().slice(2), ['unconfirmed:c']);
  });

  it('a notice of a CPU that had not reached the error turns it unconfirmed; one of a CPU that had does not', () => {
    const { g, said, out } = gate();
    g.setCpus(3);
    g.seen(0, 5, 0);
    g.seen(1, 4, 0);
    g.seen(2, 6, 0);
    g.push(finding('x'), 5, 0, true);
    g.lost(2, () => '6.000000'); // CPU 2 was past 5 s: its loss is after the error
    g.lost(1, () => '4.000000'); // CPU 1 was at 4 s: its loss may be before the error
    g.seen(1, 7, 0);
    assert.deepEqual(said(), ['unconfirmed:x']);
    assert.equal(out[0]!.note, 'cpu 1 after 4.000000');
  });

  it('a notice on every CPU turns every held error unconfirmed', () => {
    const { g, said } = gate();
    g.setCpus(2);
    g.seen(0, 1, 0);
    g.push(finding('y'), 1, 0, true);
    g.lost(ALL_CPUS, () => '');
    g.drained();
    assert.deepEqual(said(), ['unconfirmed:y']);
  });

  it('a CPU the input names but never shows holds errors until the input is drained', () => {
    const { g, said } = gate();
    g.setCpus(4);
    for (const c of [0, 1, 2]) g.seen(c, 9, 0);
    g.push(finding('z'), 9, 0, true);
    g.seen(0, 10, 0);
    assert.deepEqual(said(), []);
    g.drained();
    assert.deepEqual(said(), ['error:z']);
  });

  it("a reader's promise (CpuQuiet) of a CPU's next record lets out what it covers, and a later notice still counts after it", () => {
    const { g, said } = gate();
    g.setCpus(2);
    g.seen(0, 1, 0);
    g.seen(1, 1, 0);
    g.push(finding('before'), 2, 0, true);
    g.push(finding('after'), 8, 0, true);
    g.seen(1, 9, 0);
    assert.deepEqual(said(), [], 'CPU 0 has shown nothing since 1 s');
    g.quietUntil(0, 5, 0); // CPU 0's next record is at 5 s, with no notice before it
    assert.deepEqual(said(), ['error:before']);
    g.quietUntil(0, 4, 0); // a promise never moves a CPU back
    g.seen(0, 5, 0);
    g.lost(0, () => '5.000000'); // lost after its record at 5 s: the error at 8 s may rest on it
    g.drained();
    assert.deepEqual(said(), ['error:before', 'unconfirmed:after']);
  });

  it('a promise ends no stack wait', () => {
    const { g, saidStacks } = gate();
    g.setCpus(2);
    g.seen(0, 1, 0);
    g.seen(1, 1, 0);
    g.push(finding('s'), 1, 0, false, 0);
    g.quietUntil(0, 3, 0);
    g.quietUntil(1, 3, 0);
    assert.deepEqual(saidStacks(), [], 'still waiting for the stack that may follow on CPU 0');
    g.record(0, 7);
    assert.deepEqual(saidStacks(), ['error:s:frame 7']);
  });

  it('holds thousands behind a CPU that shows nothing, lets them out in order as it catches up, and again after it grew', () => {
    const { g, said } = gate();
    g.setCpus(2);
    for (let i = 0; i < 5000; i++) {
      g.seen(0, i, 0);
      g.push(finding(`a${i}`), i, 0, true);
    }
    assert.equal(g.size, 5000);
    g.seen(1, 2499, 0); // CPU 1 reaches 2499 s: the errors up to then are final
    assert.equal(said().length, 2500);
    assert.deepEqual(said().slice(2498), ['error:a2498', 'error:a2499']);
    for (let i = 5000; i < 8000; i++) {
      g.seen(0, i, 0);
      g.push(finding(`a${i}`), i, 0, true);
    }
    g.lost(1, () => '2499.000000'); // everything after CPU 1's last event may rest on what it lost
    g.drained();
    const out = said();
    assert.equal(out.length, 8000);
    for (let i = 0; i < 8000; i++) assert.equal(out[i], `${i < 2500 ? 'error' : 'unconfirmed'}:a${i}`);
    assert.equal(g.size, 0);
    g.seen(0, 9000, 0);
    g.seen(1, 9000, 0);
    g.push(finding('after'), 9000, 0, true);
    assert.deepEqual(said().slice(8000), ['error:after']);
  });

  it('drained(max) lets out at most max at a time, in order, each final, none waiting for a stack', () => {
    const { g, saidStacks: said } = gate();
    g.setCpus(2);
    g.seen(0, 1, 0);
    for (let i = 0; i < 10; i++) g.push(finding(`d${i}`), 1, i, true, i % 2);
    g.lost(1, () => '0.5'); // CPU 1 never showed an event: each turns unconfirmed
    assert.equal(g.drained(4), true);
    assert.equal(said().length, 4);
    assert.equal(g.drained(4), true);
    g.record(0, 7); // the waits ended with the first slice: no stack comes to the rest now
    assert.equal(g.drained(4), false);
    assert.deepEqual(
      said(),
      Array.from({ length: 10 }, (_, i) => `unconfirmed:d${i}:-`),
    );
    assert.equal(g.drained(4), false);
    assert.equal(g.size, 0);
  });

  it('letOut(max): at most max go out until the next call, the rest stay ready in order; no call, no limit', () => {
    const { g, said } = gate();
    g.setCpus(2);
    g.seen(0, 1, 100);
    for (let i = 0; i < 10; i++) g.push(finding(`l${i}`), 1, i, true);
    assert.equal(g.letOut(3), false, 'none is ready: CPU 1 has shown nothing');
    g.seen(1, 2, 0); // CPU 1 shows up: all ten are final, three may go
    assert.deepEqual(said(), ['error:l0', 'error:l1', 'error:l2']);
    g.push(finding('late', 'info'), 2, 0, false); // behind the others, whatever it is
    g.seen(0, 2, 0);
    assert.equal(said().length, 3, 'the allowance is spent');
    assert.equal(g.letOut(4), true);
    assert.deepEqual(said().slice(3), ['error:l3', 'error:l4', 'error:l5', 'error:l6']);
    assert.equal(g.letOut(4), false, 'the last ones went');
    assert.deepEqual(said().slice(7), ['error:l7', 'error:l8', 'error:l9', 'info:late']);
    // an empty queue still lets a finding out at once
    g.push(finding('now', 'info'), 3, 0, false);
    assert.deepEqual(said().slice(11), ['info:now']);
  });

  it('one CPU alone: an error goes out at once', () => {
    const { g, said } = gate();
    g.seen(0, 1, 0);
    g.push(finding('w'), 1, 0, true);
    assert.deepEqual(said(), ['error:w']);
  });
});

describe('finding gate: the call stack', () => {
  it("holds a finding until its CPU's next record; a stack record is its stack", () => {
    const { g, saidStacks: said } = gate();
    g.setCpus(2);
    g.seen(1, 1, 0);
    g.push(finding('a'), 1, 0, false, 1);
    g.push(finding('b'), 1, 0, false, 1); // a second finding of the same call
    assert.deepEqual(said(), []);
    // CPU 0's records (its own stack too) do not end CPU 1's wait
    g.record(0, 7);
    g.seen(0, 1, 10);
    assert.deepEqual(said(), []);
    g.record(1, 5);
    assert.deepEqual(said(), ['error:a:frame 5', 'error:b:frame 5']);
  });

  it('any other record of the CPU ends the wait with no stack, and order is kept across CPUs', () => {
    const { g, saidStacks: said } = gate();
    g.setCpus(2);
    g.push(finding('cpu0'), 1, 0, false, 0);
    g.push(finding('cpu1'), 1, 5, false, 1);
    g.push(finding('direct', 'info'), 0, 0, false); // waits for nothing, but comes after
    g.record(1, 3);
    assert.deepEqual(said(), [], 'the first finding still waits');
    g.record(0, -1);
    assert.deepEqual(said(), ['error:cpu0:-', 'error:cpu1:frame 3', 'info:direct:-']);
  });

  it('a record of an unknown CPU (a damaged line) and the end of the input end every wait', () => {
    const { g, saidStacks: said } = gate();
    g.push(finding('x'), 1, 0, false, 0);
    g.push(finding('y'), 1, 0, false, 3);
    g.record(ALL_CPUS, -1);
    assert.deepEqual(said(), ['error:x:-', 'error:y:-']);
    g.push(finding('z'), 2, 0, false, 2);
    g.drained();
    assert.deepEqual(said().slice(2), ['error:z:-']);
    // after the drain, a CPU's record finds nothing to end
    g.record(2, 9);
    assert.equal(said().length, 3);
  });

  it('a verdict is what it was without the wait: a notice that comes while the stack is awaited changes nothing', () => {
    const { g, saidStacks: said } = gate();
    g.setCpus(2);
    g.seen(0, 5, 0);
    g.seen(1, 5, 0);
    // every CPU is at 5 s: the error is final at once (it went out at once before stacks waited)
    g.push(finding('e'), 5, 0, true, 1);
    g.lost(0, () => '5.000000'); // CPU 0 at 5 s lost events: too late for a final verdict
    g.record(1, 4);
    assert.deepEqual(said(), ['error:e:frame 4']);
  });

  it('a held error still turns unconfirmed on a notice before its verdict, and waits for its stack too', () => {
    const { g, saidStacks: said } = gate();
    g.setCpus(2);
    g.seen(0, 1, 0);
    g.seen(1, 5, 0);
    g.push(finding('h'), 5, 0, true, 1);
    g.record(1, 2); // the stack came; CPU 0 is still behind
    assert.deepEqual(said(), []);
    g.lost(0, () => '1.000000');
    g.seen(0, 6, 0);
    assert.deepEqual(said(), ['unconfirmed:h:frame 2']);
  });

  it('keeps waits apart per CPU over many findings (the queue is indexed, not scanned)', () => {
    const { g, saidStacks: said } = gate();
    g.setCpus(3);
    for (let i = 0; i < 1000; i++) {
      const cpu = i % 3;
      g.record(cpu, i % 2 === 0 ? i : -1); // ends the previous wait of this CPU
      g.seen(cpu, i, 0);
      g.push(finding(`f${i}`), i, 0, false, cpu);
    }
    g.drained();
    const out = said();
    assert.equal(out.length, 1000);
    // finding i's stack is the record after it on its CPU: record i + 3, a stack when i + 3 is even
    for (let i = 0; i < 997; i++) {
      assert.equal(out[i], `error:f${i}:${(i + 3) % 2 === 0 ? `frame ${i + 3}` : '-'}`);
    }
    assert.deepEqual(out.slice(997), ['error:f997:-', 'error:f998:-', 'error:f999:-']);
  });
});
