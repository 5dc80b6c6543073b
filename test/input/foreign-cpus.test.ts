import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_CPUS } from '../../src/engine/events.js';
import { ForeignCpus } from '../../src/input/foreign-cpus.js';

describe('ForeignCpus', () => {
  it('marks, clears and answers per CPU, growing past its first 64', () => {
    const f = new ForeignCpus();
    assert.equal(f.has(0), false);
    f.clear(3); // before anything was marked: nothing to clear, no error
    f.mark(1);
    f.mark(200);
    assert.deepEqual([f.has(0), f.has(1), f.has(200), f.has(201)], [false, true, true, false]);
    f.clear(1);
    assert.equal(f.has(1), false);
    assert.equal(f.has(200), true);
  });

  it('does not track CPU numbers beyond any kernel or below zero', () => {
    const f = new ForeignCpus();
    f.mark(MAX_CPUS);
    f.mark(-1);
    f.mark(Number.NaN);
    assert.deepEqual([f.has(MAX_CPUS), f.has(-1), f.has(MAX_CPUS - 1)], [false, false, false]);
    f.mark(MAX_CPUS - 1);
    assert.equal(f.has(MAX_CPUS - 1), true);
  });
});
