import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Interner } from '../../src/base/interner.js';
import { NameCache } from '../../src/base/name-cache.js';

/** Names laid out in one buffer at odd offsets, as they sit in trace records. */
function layout(names: string[]): { buf: Uint8Array; dv: DataView; spans: Array<[number, number]> } {
  const buf = new Uint8Array(names.length * 80 + 8);
  const spans: Array<[number, number]> = [];
  let at = 3;
  for (const n of names) {
    const b = new TextEncoder().encode(n);
    buf.set(b, at);
    spans.push([at, at + b.length]);
    at += b.length + 5;
  }
  return { buf, dv: new DataView(buf.buffer), spans };
}

describe('NameCache', () => {
  it('gives every name the interner id, on a miss and on a hit', () => {
    const names: string[] = [];
    for (let i = 0; i < 300; i++)
      names.push(`0000:${(i >> 4).toString(16).padStart(2, '0')}:0${(i & 15).toString(16)}.0`);
    names.push('a', 'ab', 'abc', 'nvme0', 'x'.repeat(64), 'y'.repeat(65), 'z'.repeat(200));
    const interner = new Interner();
    const cache = new NameCache(interner);
    const { buf, dv, spans } = layout(names);
    // several rounds in a scrambled order: slots collide and are evicted
    for (let round = 0; round < 4; round++) {
      for (let k = 0; k < spans.length; k++) {
        const i = (k * 7919 + round * 31) % spans.length;
        const [s, e] = spans[i]!;
        const id = cache.id(buf, dv, s, e);
        assert.equal(interner.name(id), names[i], `round ${round} name ${names[i]}`);
      }
    }
    assert.equal(interner.size, names.length);
  });

  it('keys on the exact bytes: same tail, different length or prefix, are different names', () => {
    const interner = new Interner();
    const cache = new NameCache(interner);
    const { buf, dv, spans } = layout(['0000:00:02.0', '0001:00:02.0', '00:02.0', '10000:00:02.0']);
    const ids = spans.map(([s, e]) => cache.id(buf, dv, s, e));
    assert.equal(new Set(ids).size, 4);
    assert.deepEqual(
      spans.map(([s, e]) => cache.get(buf, dv, s, e)),
      ids,
    );
  });
});
