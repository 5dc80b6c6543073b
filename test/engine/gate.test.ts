// The finding gate: a held error goes out once every CPU has shown an event
// at its time or later, turns unconfirmed on a notice of a CPU that had not
// (and not on one that had), keeps findings in order, and empties when the
// input is drained.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALL_CPUS } from '../../src/engine/events.js';
import type { Finding } from '../../src/engine/findings.js';
import { FindingGate } from '../../src/engine/gate.js';

function finding(message: string, severity: Finding['severity'] = 'error'): Finding {
  return {
    check: 'unmap-not-mapped',
    severity,
    message,
    device: 'd',
    driver: null,
    bare: false,
    at: { line: 0, positions: 'line', ts: '', cpu: 0, pid: 0, comm: '' },
    mapping: null,
    note: null,
    shown: true,
    kernelFalsePositive: null,
  };
}

function gate() {
  const out: Finding[] = [];
  const g = new FindingGate(
    (f) => out.push(f),
    (f, cpu, after) => {
      f.severity = 'unconfirmed';
      f.note = `cpu ${cpu} after ${after}`;
    },
  );
  const said = () => out.map((f) => `${f.severity}:${f.message}`);
  return { g, out, said };
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

  it('one CPU alone: an error goes out at once', () => {
    const { g, said } = gate();
    g.seen(0, 1, 0);
    g.push(finding('w'), 1, 0, true);
    assert.deepEqual(said(), ['error:w']);
  });
});
