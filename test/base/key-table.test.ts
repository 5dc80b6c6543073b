// The typed-array hash tables against reference Maps, through growth and
// backward-shift deletions.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdPairTable, KeyTable, PairTable } from '../../src/base/key-table.js';

function lcg(seed: number): () => number {
  return () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed;
  };
}

describe('key tables', () => {
  it('KeyTable matches a Map', () => {
    const t = new KeyTable(16);
    const ref = new Map<string, number>();
    const rnd = lcg(1);
    for (let n = 0; n < 30000; n++) {
      const k = rnd() % 4;
      const hi = rnd() % 3 === 0 ? 0xffffffff : rnd() % 8;
      const lo = rnd() % 2000;
      const key = `${k}:${hi}:${lo}`;
      if (rnd() % 3 === 0) {
        assert.equal(t.delete(k, hi, lo), ref.get(key) ?? -1);
        ref.delete(key);
      } else {
        t.set(k, hi, lo, n);
        ref.set(key, n);
      }
    }
    assert.equal(t.size, ref.size);
    for (const [key, v] of ref) {
      const [k, hi, lo] = key.split(':').map(Number) as [number, number, number];
      assert.equal(t.get(k, hi, lo), v);
    }
  });

  it('PairTable matches a Map', () => {
    const t = new PairTable(16);
    const ref = new Map<string, number>();
    const rnd = lcg(2);
    for (let n = 0; n < 30000; n++) {
      const hi = rnd() % 5;
      const lo = (rnd() % 3000) * 64;
      const key = `${hi}:${lo}`;
      if (rnd() % 3 === 0) {
        t.delete(hi, lo);
        ref.delete(key);
      } else {
        t.set(hi, lo, n);
        ref.set(key, n);
      }
    }
    assert.equal(t.size, ref.size);
    for (const [key, v] of ref) {
      const [hi, lo] = key.split(':').map(Number) as [number, number];
      assert.equal(t.get(hi, lo), v);
    }
  });

  it('IdPairTable matches a Map, keeping u32 words exactly', () => {
    const t = new IdPairTable();
    const ref = new Map<number, [number, number]>();
    const rnd = lcg(3);
    for (let n = 0; n < 30000; n++) {
      const id = rnd() % 5000;
      if (rnd() % 3 === 0) {
        t.delete(id);
        ref.delete(id);
      } else {
        const pair: [number, number] = [rnd(), rnd() % 2 === 0 ? 0xffffffff : rnd()];
        t.set(id, pair[0], pair[1]);
        ref.set(id, pair);
      }
    }
    assert.equal(t.size, ref.size);
    for (let id = 0; id < 5000; id++) {
      const s = t.find(id);
      const want = ref.get(id);
      if (!want) {
        assert.equal(s, -1);
        continue;
      }
      assert.deepEqual([t.hiAt(s), t.loAt(s)], want);
    }
  });
});
