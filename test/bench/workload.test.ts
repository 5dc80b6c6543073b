// The benchmarks' shared workload (bench/workload.ts): every call it decides is correct DMA-API usage
// (maps into free slots, unmaps and syncs that repeat their map, page frees of pages no live mapping
// owns), in both generators' orders; and the two generators still write, for a seed, the bytes they
// wrote before the workload was shared (the bench reuses kept traces by name, and its figures assume
// them): a deliberate change to what they generate updates the hashes here.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { generateTrace } from '../../bench/gen-trace.js';
import { generateTraceDat } from '../../bench/gen-tracedat.js';
import {
  BIDI,
  DEVICES,
  EVENT_NAMES,
  FROM_DEV,
  Op,
  PHYS_BASE,
  SLOT,
  SUB,
  TO_DEV,
  Workload,
} from '../../bench/workload.js';
import { FIXTURES } from '../helpers/fixtures.js';

interface Mapping {
  op: number;
  dev: number;
  dir: number;
  dma: number;
  phys: number;
  size: number;
  segs: string;
}

/** Runs `steps` calls, checking each against the mappings the earlier ones left live. */
function check(live: number, slots: number, iovaTop: number, syncCtxFirst: boolean, steps: number): void {
  const wl = new Workload({ live, slots, iovaTop, seed: 7, syncCtxFirst });
  const c = wl.call;
  const mappings = new Map<number, Mapping>();
  const segs = (base: number): string =>
    Array.from({ length: c.n }, (_, j) => `${wl.segAddr(base, j)}+${wl.segSize(j)}`).join(',');
  const ctxIn = (first: number) => assert.ok(c.ctx >= first && c.ctx < first + 8, `ctx ${c.ctx}`);
  for (let i = 0; i < steps; i++) {
    wl.step();
    const at = `step ${i} (${EVENT_NAMES[c.op]})`;
    const slotPhys = PHYS_BASE + c.slot * SLOT;
    assert.ok(c.slot >= 0 && c.slot < slots, at);
    const m = mappings.get(c.slot);
    if (c.op === Op.pageFree || c.op === Op.pageFreeBatched) {
      ctxIn(16);
      assert.equal(m, undefined, `${at}: frees a page of a live mapping`);
      const first = c.pfn * 4096 - slotPhys;
      assert.ok(first >= 0 && first + (4096 << c.order) <= SLOT, `${at}: pages outside their slot`);
      assert.ok(c.op === Op.pageFree || c.order === 0, at);
      continue;
    }
    // Direct devices: dma == phys; IOMMU devices: the slot's IOVA range.
    const dmaBase = DEVICES[c.dev]![1] ? iovaTop - (c.slot + 1) * SLOT : slotPhys;
    assert.equal(c.dma - dmaBase, c.phys - slotPhys, `${at}: dma and phys offsets differ`);
    const isSg = c.op === Op.mapSg || c.op === Op.unmapSg || c.op === Op.syncSgCpu || c.op === Op.syncSgDev;
    if (isSg) {
      assert.ok(c.n >= 1 && c.n <= 4, at);
      assert.equal(c.phys, slotPhys, at);
      for (let j = 0; j < c.n; j++) {
        const off = wl.segAddr(c.phys, j) - slotPhys - j * SUB;
        assert.ok(off >= 0 && off + wl.segSize(j) <= SUB, `${at}: segment ${j} outside its region`);
      }
    } else assert.ok(c.phys + c.size <= slotPhys + SLOT && c.size > 0, `${at}: outside its slot`);
    const size = isSg ? c.n : c.size;
    if (c.op === Op.mapPage || c.op === Op.mapSg || c.op === Op.alloc) {
      ctxIn(0);
      assert.equal(m, undefined, `${at}: maps into a live slot`);
      assert.ok(mappings.size < live, `${at}: more than ${live} live`);
      if (c.op === Op.alloc) assert.equal(c.dir, BIDI, at);
      const mapping = { op: c.op, dev: c.dev, dir: c.dir, dma: c.dma, phys: c.phys, size, segs: '' };
      if (isSg) mapping.segs = segs(c.phys);
      mappings.set(c.slot, mapping);
      continue;
    }
    assert.ok(m, `${at}: no live mapping in slot ${c.slot}`);
    assert.deepEqual([c.dev, c.dir, c.dma, c.phys], [m.dev, m.dir, m.dma, m.phys], at);
    if (isSg) assert.equal(segs(c.phys), m.segs, at);
    const unmap = { [Op.mapPage]: Op.unmapPage, [Op.mapSg]: Op.unmapSg, [Op.alloc]: Op.free }[m.op];
    if (c.op === unmap) {
      ctxIn(8);
      assert.equal(size, m.size, at);
      mappings.delete(c.slot);
      continue;
    }
    // A sync: of a streaming mapping, in its direction, all of it or a prefix.
    const syncs =
      m.op === Op.mapPage ? [Op.syncCpu, Op.syncDev] : m.op === Op.mapSg ? [Op.syncSgCpu, Op.syncSgDev] : [];
    assert.ok((syncs as number[]).includes(c.op), `${at}: not a sync of a ${EVENT_NAMES[m.op]}`);
    const forCpu = c.op === syncs[0];
    assert.ok(!(forCpu && m.dir === TO_DEV) && !(!forCpu && m.dir === FROM_DEV), `${at}: against its direction`);
    ctxIn(forCpu ? 8 : 0);
    if (isSg) assert.equal(size, m.size, at);
    else assert.ok(size <= m.size && (size >= 64 || size === m.size), at);
  }
  assert.equal(wl.nLive, mappings.size);
  const entries = [...mappings.values()].reduce((a, m) => a + (m.op === Op.mapSg ? m.size : 1), 0);
  assert.equal(wl.liveEntries, entries);
  assert.equal(
    wl.counts.reduce((a, n) => a + n, 0),
    steps,
  );
  const counts = wl.countsByName();
  assert.deepEqual(Object.keys(counts), [...EVENT_NAMES]);
  for (const n of EVENT_NAMES) assert.ok(counts[n]! > 0, `no ${n}`);
}

describe('bench workload', () => {
  it('makes only correct calls, in the text generator order', () => {
    check(64, 64 + 1024, 2 ** 32, false, 100_000);
    check(1, 1025, 2 ** 32, false, 20_000);
  });

  it('makes only correct calls, in the trace.dat generator order', () => {
    check(64, 1024, 2 ** 44, true, 100_000);
    check(3000, 6064, 2 ** 44, true, 100_000);
  });
});

const FORMATS = join(FIXTURES, 'bug-clean', 'formats');
const TMP = mkdtempSync(join(tmpdir(), 'dmadebug-workload-'));
after(() => rmSync(TMP, { recursive: true, force: true }));
const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('bench generators, pinned', () => {
  it('gen-trace writes the same text for a seed', () => {
    const out = join(TMP, 'g.txt');
    const s = generateTrace({ size: 256 << 10, live: 64, out, seed: 1 });
    assert.deepEqual([s.events, s.liveAtEnd, s.liveEntriesAtEnd], [1934, 64, 88]);
    assert.equal(sha256(out), '2ed3f05ab395edf0d716c53468c37cef024cb7aa9451c71abafcc82e741d0ec7');
  });

  it('gen-tracedat writes the same trace.dat for a seed', {
    skip: !existsSync(FORMATS) && 'fixtures not found',
  }, () => {
    const v6 = join(TMP, 'g6.dat');
    const s = generateTraceDat({ events: 5000, live: 64, out: v6, version: 6, seed: 1, formatsDir: FORMATS });
    assert.deepEqual([s.pages, s.liveAtEnd, s.liveEntriesAtEnd], [73, 64, 83]);
    assert.equal(sha256(v6), '5c96cb128c88eeab3b854133e0e56500be3c54d06359cbffc93be7460218542a');
    const v7 = join(TMP, 'g7.dat');
    generateTraceDat({ events: 5000, live: 64, out: v7, version: 7, cpus: 3, seed: 2, formatsDir: FORMATS });
    assert.equal(sha256(v7), '0bcbbe3d45ee98c4c0c474b8210135401695122d5a615175e6fd790f559e083a');
  });
});
