// Unit tests for the recent-unmaps cache behind double-unmap proofs: a slot
// keeps its key, DMA address, size, epoch, line and CPU exactly (sizes and lines
// past 2^32 included), a later unmap under the same key replaces it, forget()
// clears only its own key, and a colliding key overwrites without ever
// answering for the key it replaced.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecentUnmaps } from '../../src/engine/recent-unmaps.js';

describe('recent unmaps', () => {
  it('keeps every field of a slot exactly', () => {
    const r = new RecentUnmaps();
    r.record(3, 0xffffffff, 0xfffff000, 0x12345678, 0x9abcdef0, 2 ** 40 + 7, 5, 2 ** 35 + 1, 3);
    const s = r.find(3, 0xffffffff, 0xfffff000);
    assert.ok(s >= 0);
    assert.equal(r.dmaHi(s), 0x12345678);
    assert.equal(r.dmaLo(s), 0x9abcdef0);
    assert.equal(r.size(s), 2 ** 40 + 7);
    assert.equal(r.epoch(s), 5);
    assert.equal(r.line(s), 2 ** 35 + 1);
    assert.equal(r.cpu(s), 3);
    // another device, or another address, is another key
    assert.equal(r.find(4, 0xffffffff, 0xfffff000), -1);
    assert.equal(r.find(3, 0xffffffff, 0xffffe000), -1);
  });

  it('a later unmap under the key replaces the slot; forget() clears only its key', () => {
    const r = new RecentUnmaps();
    r.record(1, 0, 0x1000, 0, 0x1000, 4096, 0, 10, 0);
    r.record(1, 0, 0x1000, 0, 0x1000, 512, 2, 20, 1);
    const s = r.find(1, 0, 0x1000);
    assert.equal(r.size(s), 512);
    assert.equal(r.line(s), 20);
    assert.equal(r.epoch(s), 2);
    r.forget(2, 0, 0x1000); // not this key: nothing happens
    assert.equal(r.find(1, 0, 0x1000), s);
    r.forget(1, 0, 0x1000);
    assert.equal(r.find(1, 0, 0x1000), -1);
  });

  it('colliding keys overwrite each other but never answer for one another', () => {
    const r = new RecentUnmaps();
    const keys: number[] = [];
    for (let k = 0; k < 300_000; k++) keys.push(0x1000 + k * 0x1000);
    for (const lo of keys) r.record(7, 1, lo, 1, lo, lo, 0, lo, 0);
    let found = 0;
    for (const lo of keys) {
      const s = r.find(7, 1, lo);
      if (s < 0) continue;
      found++;
      assert.equal(r.dmaLo(s), lo >>> 0);
      assert.equal(r.size(s), lo);
    }
    // more keys than slots: some were overwritten, the rest answer for themselves only
    assert.ok(found > 0 && found < keys.length, `${found} found`);
  });
});
