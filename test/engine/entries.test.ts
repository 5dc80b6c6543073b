// Unit tests for the paged entry table and the keyless indexes over it: page
// growth, exact escapes for values that do not fit their word, the loss-epoch
// tag across wraps, the cacheline spill when an owner goes, and the sg index
// against a reference map.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Names } from '../../src/base/interner.js';
import { CachelineTracker, EEXIST, INSERTED, OVERFLOW } from '../../src/engine/cachelines.js';
import { DmaDebugEngine } from '../../src/engine/engine.js';
import { bucketOf, EntryTable, PAGE_ENTRIES, PLAIN_ENTRY_BYTES, SG_ENTRY_BYTES } from '../../src/engine/entries.js';
import { Dir, DmaEvent, EventKind } from '../../src/engine/events.js';
import type { Finding } from '../../src/engine/findings.js';
import { EntryType, MapErr } from '../../src/engine/model.js';
import { SgIndex } from '../../src/engine/sg-index.js';

function at(line: number, cpu = 0, pid = 1, comm = -1): DmaEvent {
  const ev = new DmaEvent();
  ev.tsSec = 5;
  ev.tsNs = 123456789;
  ev.line = line;
  ev.cpu = cpu;
  ev.pid = pid;
  ev.comm = comm;
  return ev;
}

function make(
  t: EntryTable,
  dev: number,
  addr: number,
  size = 4096,
  ev: DmaEvent | null = null,
  type: EntryType = EntryType.Single,
): number {
  const e = t.create(dev, Math.floor(addr / 2 ** 32), addr >>> 0, size, type, Dir.FromDevice, 0, ev);
  t.link(e);
  return e;
}

describe('entry table', () => {
  it('keeps every field of every entry across pages, and reuses freed slots', () => {
    const t = new EntryTable();
    const n = PAGE_ENTRIES * 2 + 100;
    for (let k = 0; k < n; k++) {
      const e = make(t, k & 7, 0x1_0000_0000 + k * 256, 256 + k, at(k + 1, k & 3, 1000 + (k & 15), k & 1));
      assert.equal(e, k);
      t.setPhys(e, 0x12, k * 64);
    }
    assert.equal(t.live, n);
    assert.equal(t.cap, PAGE_ENTRIES * 3);
    for (const k of [0, 1, PAGE_ENTRIES - 1, PAGE_ENTRIES, 2 * PAGE_ENTRIES + 99]) {
      assert.equal(t.dev(k), k & 7);
      assert.equal(t.dmaHi(k), 1);
      assert.equal(t.dmaLo(k), (k * 256) >>> 0);
      assert.equal(t.size(k), 256 + k);
      assert.equal(t.physHi(k), 0x12);
      assert.equal(t.physLo(k), (k * 64) >>> 0);
      assert.equal(t.physKnown(k), true);
      assert.equal(t.type(k), EntryType.Single);
      assert.equal(t.dir(k), Dir.FromDevice);
      assert.equal(t.line(k), k + 1);
      assert.equal(t.cpu(k), k & 3);
      assert.equal(t.pid(k), 1000 + (k & 15));
      assert.equal(t.comm(k), k & 1);
      assert.equal(t.tsSec(k), 5);
      assert.equal(t.tsNs(k), 123456789);
      assert.equal(t.stack(k), -1);
      assert.equal(t.sgNext(k), -1);
      const found = t.findExact(k & 7, 1, (k * 256) >>> 0, 256 + k, EntryType.Single, Dir.FromDevice, 0);
      assert.equal(found, k);
    }
    const mid = PAGE_ENTRIES + 5;
    t.release(mid);
    assert.equal(t.findExact(mid & 7, 1, (mid * 256) >>> 0, 256 + mid, EntryType.Single, Dir.FromDevice, 0), -1);
    assert.equal(make(t, 3, 0x5000), mid, 'the freed slot is reused first');
    assert.equal(t.cap, PAGE_ENTRIES * 3, 'no page added for a reused slot');
  });

  it('keeps attrs in an array of their own per page, made at the first entry of the page with any', () => {
    const t = new EntryTable();
    const n = PAGE_ENTRIES * 2 + 10;
    for (let k = 0; k < n; k++) make(t, 1, 0x1_0000_0000 + k * 256);
    const plain = t.bytes;
    // 0 everywhere: no array is made, whatever is set
    for (let k = 0; k < n; k++) t.setAttrs(k, 0);
    assert.equal(t.bytes, plain);
    assert.equal(t.attrs(7), 0);
    // attrs on one entry of the second page: that page gets its array (4 bytes an entry), the others none
    const e = PAGE_ENTRIES + 3;
    t.setAttrs(e, 0x7020);
    assert.equal(t.bytes, plain + PAGE_ENTRIES * 4);
    assert.equal(t.attrs(e), 0x7020);
    assert.equal(t.attrs(e + 1), 0);
    assert.equal(t.attrs(3), 0);
    t.setAttrs(5, 0);
    assert.equal(t.bytes, plain + PAGE_ENTRIES * 4, 'a 0 on a page without attrs makes no array');
    // a released slot taken again starts with no attrs
    t.release(e);
    assert.equal(make(t, 2, 0x9000), e);
    assert.equal(t.attrs(e), 0);
  });

  it('keeps sg segments in pages of their own, with the sg record plain entries do without', () => {
    const t = new EntryTable();
    assert.equal(PLAIN_ENTRY_BYTES, 44);
    assert.equal(SG_ENTRY_BYTES, 56);
    const base = t.bytes;
    // interleaved: a plain entry and an sg segment at the same DMA address (one bucket)
    const plain: number[] = [];
    const sg: number[] = [];
    for (let k = 0; k < 10; k++) {
      plain.push(make(t, 1, 0x40000 + k * 0x1000, 4096, at(2 * k + 1)));
      const s = make(t, 1, 0x40000 + k * 0x1000, 4096, at(2 * k + 2), EntryType.Sg);
      t.setSg(s, 3, 2);
      t.setCallId(s, 100 + k);
      sg.push(s);
    }
    assert.equal(t.bytes - base, PAGE_ENTRIES * (PLAIN_ENTRY_BYTES + SG_ENTRY_BYTES), 'one page of each kind');
    assert.deepEqual(plain, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'plain entries fill the first page');
    assert.deepEqual(sg, [...plain.map((k) => PAGE_ENTRIES + k)], 'sg segments fill a page of their own');
    for (let k = 0; k < 10; k++) {
      t.setSgNext(sg[k]!, k < 9 ? sg[k + 1]! : -1);
      assert.deepEqual(
        [t.sgCall(plain[k]!), t.sgMapped(plain[k]!), t.callId(plain[k]!), t.sgNext(plain[k]!)],
        [0, 0, 0, -1],
      );
      assert.deepEqual([t.sgCall(sg[k]!), t.sgMapped(sg[k]!), t.callId(sg[k]!)], [3, 2, 100 + k]);
      assert.equal(t.line(plain[k]!), 2 * k + 1);
      assert.equal(t.line(sg[k]!), 2 * k + 2);
      // the best fit tells them apart by type and sg count, in either order of the bucket
      assert.equal(t.findExact(1, 0, 0x40000 + k * 0x1000, 4096, EntryType.Single, Dir.FromDevice, 0), plain[k]);
      assert.equal(t.findExact(1, 0, 0x40000 + k * 0x1000, 4096, EntryType.Sg, Dir.FromDevice, 3), sg[k]);
      assert.equal(t.findContaining(1, 0, 0x40000 + k * 0x1000, 4096, EntryType.Sg, Dir.FromDevice, 3, 4096), sg[k]);
    }
    assert.equal(t.sgNext(sg[3]!), sg[4]);
    assert.throws(() => t.setSg(plain[0]!, 1, 1), /not an sg segment/);
    // a freed slot is taken again only by an entry of its kind; a freed segment's call id reads 0
    t.release(sg[5]!);
    t.release(plain[5]!);
    assert.equal(t.callId(sg[5]!), 0);
    assert.equal(make(t, 2, 0x9000, 512, null, EntryType.Sg), sg[5]);
    assert.equal(t.sgNext(sg[5]!), -1, 'a reused segment starts with no next segment');
    assert.equal(make(t, 2, 0x9000), plain[5]);
    assert.equal(t.bytes - base, PAGE_ENTRIES * (PLAIN_ENTRY_BYTES + SG_ENTRY_BYTES), 'no page added');
  });

  it('keeps values that do not fit their word exactly', () => {
    const t = new EntryTable();
    const big = 2 ** 40 + 3;
    const e1 = make(t, 1, 0x1000, big, at(2 ** 33 + 7), EntryType.Sg);
    const e2 = make(t, 1, 0x2000, 1.5, at(0xffffffff), EntryType.Sg);
    const e3 = make(t, 1, 0x3000, 0xfffffffe, at(0xfffffffe), EntryType.Sg);
    assert.equal(t.size(e1), big);
    assert.equal(t.line(e1), 2 ** 33 + 7);
    assert.equal(t.size(e2), 1.5);
    assert.equal(t.line(e2), 0xffffffff);
    assert.equal(t.size(e3), 0xfffffffe);
    assert.equal(t.line(e3), 0xfffffffe);
    assert.equal(t.findExact(1, 0, 0x1000, big, EntryType.Sg, Dir.FromDevice, 0), e1);
    assert.equal(t.findContaining(1, 0, 0x1800, 16, EntryType.Sg, Dir.FromDevice, 0, big), e1);
    t.setSg(e1, 70000, 3);
    t.setSg(e2, 12, 65534);
    t.setSg(e3, -3, 0);
    assert.deepEqual([t.sgCall(e1), t.sgMapped(e1)], [70000, 3]);
    assert.deepEqual([t.sgCall(e2), t.sgMapped(e2)], [12, 65534]);
    assert.deepEqual([t.sgCall(e3), t.sgMapped(e3)], [-3, 0]);
    assert.equal(t.findExact(1, 0, 0x1000, big, EntryType.Sg, Dir.FromDevice, 70000), e1);
    t.setCallId(e1, 0xffffffff);
    assert.equal(t.callId(e1), 0xffffffff);
    t.setMapErr(e1, MapErr.Checked);
    assert.equal(t.mapErr(e1), MapErr.Checked);
    assert.equal(t.dev(e1), 1, 'packing the map-error state leaves the device alone');
  });

  it('keeps times past 2^32 seconds exactly (a counter clock), and forgets them with their slot', () => {
    const t = new EntryTable();
    const wide = at(1);
    wide.tsSec = 18446744073;
    wide.tsNs = 709551615;
    const e1 = make(t, 1, 0x1000, 4096, wide);
    const e2 = make(t, 1, 0x2000, 4096, at(2));
    assert.deepEqual([t.tsSec(e1), t.tsNs(e1)], [18446744073, 709551615]);
    assert.deepEqual([t.tsSec(e2), t.tsNs(e2)], [5, 123456789]);
    t.release(e1);
    const e3 = make(t, 1, 0x3000, 4096, at(3));
    assert.equal(e3, e1, 'the slot is reused');
    assert.deepEqual([t.tsSec(e3), t.tsNs(e3)], [5, 123456789]);
  });

  it('keeps task and stack ids past 16 bits exactly', () => {
    const t = new EntryTable();
    const ids: number[] = [];
    for (let k = 0; k < 70000; k++) {
      const e = make(t, 1, 0x100000 + k * 0x1000, 4096, at(k, k & 7, 100000 + k, k));
      t.setStack(e, k);
      ids.push(e);
    }
    for (const k of [0, 1, 0xfffd, 0xfffe, 0xffff, 65534, 65535, 69999]) {
      const e = ids[k]!;
      assert.equal(t.pid(e), 100000 + k);
      assert.equal(t.comm(e), k);
      assert.equal(t.cpu(e), k & 7);
      assert.equal(t.stack(e), k);
    }
    // A stack set on an escaped task, and a small stack after a big one.
    const e = ids[69999]!;
    t.setStack(e, 3);
    assert.equal(t.stack(e), 3);
    assert.equal(t.pid(e), 169999);
    t.setStack(ids[5]!, 0x10000);
    t.setStack(ids[5]!, 7);
    assert.equal(t.stack(ids[5]!), 7);
    assert.equal(t.pid(ids[5]!), 100005);
    // Reusing an escaped slot starts clean.
    t.release(e);
    const f = make(t, 2, 0x1000, 4096, at(9, 1, 5, 6));
    assert.equal(f, e);
    assert.deepEqual([t.pid(f), t.comm(f), t.cpu(f), t.stack(f)], [5, 6, 1, -1]);
  });

  it('an entry is fresh until the next loss, across any number of tag wraps', () => {
    const t = new EntryTable();
    const old = make(t, 1, 0x1000);
    assert.equal(t.fresh(old), true);
    for (let k = 1; k <= 300; k++) {
      t.noteLoss();
      const e = make(t, 1, 0x10000 + k * 0x1000);
      assert.equal(t.fresh(e), true);
      assert.equal(t.fresh(old), false, `after ${k} losses`);
      t.release(e);
    }
  });

  it('walks buckets in insertion order, as the dump does', () => {
    const t = new EntryTable();
    const a = make(t, 1, 0x2000);
    const b = make(t, 1, 0x2000 + 2 ** 27); // same bucket as a
    const c = make(t, 1, 0x0);
    const d = make(t, 1, 0x2000);
    assert.equal(bucketOf(0, 0x2000), bucketOf(0, 0x2000 + 2 ** 27));
    assert.deepEqual([...t.inDumpOrder()], [c, a, b, d]);
    t.release(b);
    assert.deepEqual([...t.inDumpOrder()], [c, a, d]);
    const f = make(t, 1, 0x2000);
    assert.deepEqual([...t.inDumpOrder()], [c, a, d, f]);
  });
});

describe('cacheline tracker', () => {
  function entryAt(t: EntryTable, phys: number): number {
    const e = make(t, 1, phys);
    t.setPhys(e, 0, phys);
    return e;
  }

  it('keeps the first owner, counts overlaps, and keeps a released owner while the line is active', () => {
    const t = new EntryTable();
    const cl = new CachelineTracker(t);
    const a = entryAt(t, 0x1000);
    const b = entryAt(t, 0x1010); // same cacheline
    const c = entryAt(t, 0x1020);
    assert.equal(cl.insert(a), INSERTED);
    assert.equal(cl.insert(b), EEXIST);
    assert.equal(cl.lastOwner, a);
    assert.equal(cl.overlap(0, 0x1000 >>> 6), 1);
    // The owner goes first: the record stays, with the owner's id.
    cl.remove(a);
    t.release(a);
    assert.equal(cl.owner(0, 0x40), a);
    assert.equal(cl.overlap(0, 0x40), 0);
    assert.equal(cl.insert(c), EEXIST);
    assert.equal(cl.lastOwner, a);
    cl.remove(b);
    cl.remove(c);
    assert.equal(cl.owner(0, 0x40), -1);
    assert.equal(cl.size, 0);
    assert.equal(cl.insert(c), INSERTED);
    assert.equal(cl.owner(0, 0x40), c);
  });

  it('saturates at 7 overlaps', () => {
    const t = new EntryTable();
    const cl = new CachelineTracker(t);
    const rc: number[] = [];
    for (let k = 0; k < 10; k++) rc.push(cl.insert(entryAt(t, 0x8000)));
    assert.deepEqual(rc, [INSERTED, EEXIST, EEXIST, EEXIST, EEXIST, EEXIST, EEXIST, EEXIST, OVERFLOW, OVERFLOW]);
    assert.equal(cl.overlap(0, 0x200), 7);
  });

  it('matches a reference map through growth and deletions', () => {
    const t = new EntryTable();
    const cl = new CachelineTracker(t);
    const ref = new Map<number, number>(); // cacheline -> owner
    const live: number[] = [];
    let seed = 12345;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed;
    };
    for (let k = 0; k < 20000; k++) {
      if (live.length > 0 && rnd() % 3 === 0) {
        const e = live.splice(rnd() % live.length, 1)[0]!;
        const line = t.physLo(e) >>> 6;
        if (ref.get(line) === e) ref.delete(line);
        cl.remove(e);
        t.release(e);
      } else {
        const phys = (rnd() % 50000) * 64;
        const e = entryAt(t, phys);
        if (cl.insert(e) === INSERTED) ref.set(phys >>> 6, e);
        live.push(e);
      }
    }
    for (const [line, owner] of ref) assert.equal(cl.owner(0, line), owner);
  });
});

describe('sg index', () => {
  it('matches a reference map through growth and deletions', () => {
    const t = new EntryTable();
    const idx = new SgIndex(t);
    const ref = new Map<string, number>();
    const key = (e: number) => `${t.dev(e)}:${t.physHi(e)}:${t.physLo(e)}`;
    const heads: number[] = [];
    for (let k = 0; k < 5000; k++) {
      const e = make(t, k & 3, 0x100000 + k * 0x1000);
      t.setPhys(e, k & 1, (k >> 1) * 0x1000);
      assert.equal(idx.add(e), -1);
      ref.set(key(e), e);
      heads.push(e);
    }
    for (let k = 0; k < 5000; k += 3) {
      const e = heads[k]!;
      idx.remove(e);
      ref.delete(key(e));
    }
    for (const e of heads) {
      const want = ref.get(key(e)) ?? -1;
      assert.equal(idx.get(t.dev(e), t.physHi(e), t.physLo(e)), want);
    }
    assert.equal(idx.size, ref.size);
  });

  it('keeps one head per key; replace moves the key to another head', () => {
    const t = new EntryTable();
    const idx = new SgIndex(t);
    const a = make(t, 2, 0x1000);
    const b = make(t, 2, 0x2000);
    t.setPhys(a, 0, 0x9000);
    t.setPhys(b, 0, 0x9000);
    assert.equal(idx.add(a), -1);
    assert.equal(idx.add(b), a);
    idx.replace(a, b);
    assert.equal(idx.get(2, 0, 0x9000), b);
    assert.equal(idx.get(-1, 0, 0x9000), -1);
    idx.remove(b);
    assert.equal(idx.get(2, 0, 0x9000), -1);
  });
});

describe('engine over the paged table', () => {
  function setup() {
    const findings: Finding[] = [];
    const names = new Names();
    const engine = new DmaDebugEngine(names, (f) => findings.push(f), { fromBoot: true, kernel: '6.12' });
    return { engine, findings };
  }
  const DEV = '0000:00:03.0';

  it('a mapping made before 200 loss notices cannot prove a mismatch; one made after can', () => {
    const { engine, findings } = setup();
    engine.mapPage(DEV, 0x10000n, 4096, Dir.FromDevice, 0x10000n);
    const lost = new DmaEvent();
    lost.kind = EventKind.Lost;
    for (let k = 0; k < 200; k++) engine.handle(lost);
    engine.mapPage(DEV, 0x20000n, 4096, Dir.FromDevice, 0x20000n);
    engine.unmapPage(DEV, 0x10000n, 2048, Dir.FromDevice);
    engine.unmapPage(DEV, 0x20000n, 2048, Dir.FromDevice);
    assert.deepEqual(
      findings.map((f) => `${f.severity}:${f.check}`),
      ['unconfirmed:unmap-size-mismatch', 'error:unmap-size-mismatch'],
    );
  });

  it('reports sizes past 2^32 exactly', () => {
    const { engine, findings } = setup();
    engine.mapPage(DEV, 0x1_0000_0000n, 2 ** 33 + 5, Dir.FromDevice, 0x1_0000_0000n);
    engine.unmapPage(DEV, 0x1_0000_0000n, 4096, Dir.FromDevice);
    assert.match(findings[0]!.message, /\[map size=8589934597 bytes\] \[unmap size=4096 bytes\]/);
    assert.equal(findings[0]!.mapping?.size, 2 ** 33 + 5);
    assert.equal(engine.live, 0);
  });

  it('an owner unmapped while its cacheline is shared is still the owner of a later overlap', () => {
    const { engine, findings } = setup();
    engine.mapPage(DEV, 0x40000n, 64, Dir.FromDevice, 0x40000n);
    engine.mapPage(DEV, 0x50000n, 64, Dir.FromDevice, 0x40000n); // EEXIST
    engine.unmapPage(DEV, 0x40000n, 64, Dir.FromDevice);
    assert.equal(engine.assertIdle(0x40000n, 64n), false); // the line is still active
    engine.mapPage(DEV, 0x60000n, 64, Dir.FromDevice, 0x40000n); // EEXIST again
    assert.deepEqual(
      findings.map((f) => f.check),
      ['cacheline-overlap', 'overlap-exact', 'cpu-touching-active-mapping', 'cacheline-overlap', 'overlap-exact'],
    );
    engine.unmapPage(DEV, 0x50000n, 64, Dir.FromDevice);
    engine.unmapPage(DEV, 0x60000n, 64, Dir.FromDevice);
    assert.equal(engine.assertIdle(0x40000n, 64n), true);
    assert.equal(engine.live, 0);
  });

  it('two live sg lists with the same first page unmap in turn', () => {
    const { engine, findings } = setup();
    engine.mapSg(
      DEV,
      2,
      [
        [0x100000n, 4096, 0x7000n],
        [0x101000n, 4096, 0x8000n],
      ],
      Dir.ToDevice,
    );
    engine.mapSg(
      DEV,
      2,
      [
        [0x200000n, 4096, 0x7000n],
        [0x201000n, 4096, 0x9000n],
      ],
      Dir.ToDevice,
    );
    engine.unmapSg(DEV, [0x7000n, 0x9000n], Dir.ToDevice);
    engine.unmapSg(DEV, [0x7000n, 0x8000n], Dir.ToDevice);
    assert.equal(findings.length, 0);
    assert.equal(engine.live, 0);
    engine.unmapSg(DEV, [0x7000n, 0x8000n], Dir.ToDevice);
    assert.deepEqual(
      findings.map((f) => f.check),
      ['double-unmap'],
    );
  });
});
