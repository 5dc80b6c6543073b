// Unit tests of our checks beyond the kernel (checks.md "Beyond the kernel"):
// page-freed-while-mapped over the exact physical interval index, overlap-exact,
// map-failed and leak-at-end, through the engine's direct API; and the interval
// index itself against a brute-force reference.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Names } from '../../src/base/interner.js';
import { DmaDebugEngine, type EngineConfig } from '../../src/engine/engine.js';
import { EntryTable } from '../../src/engine/entries.js';
import { Dir, DmaEvent, EventKind } from '../../src/engine/events.js';
import type { Finding } from '../../src/engine/findings.js';
import { EntryType } from '../../src/engine/model.js';
import { PhysIndex } from '../../src/engine/phys-index.js';

const DEV = '0000:00:02.0';
const DEV2 = '0000:00:03.0';

function setup(cfg: Partial<EngineConfig> = {}) {
  const findings: Finding[] = [];
  const names = new Names();
  // these checks are pinned to the 6.12 profile; test/engine/profiles.test.ts covers what 7.3 changes
  const engine = new DmaDebugEngine(names, (f) => findings.push(f), { kernel: '6.12', ...cfg });
  return { engine, findings, names };
}

const freed = (fs: Finding[]) => fs.filter((f) => f.check === 'page-freed-while-mapped');

describe('page-freed-while-mapped', () => {
  it('a page inside a FROM_DEVICE sg segment, not at its start, is an error naming the segment', () => {
    const { engine, findings } = setup();
    engine.mapSg(
      DEV,
      2,
      [
        [0x100000n, 4096, 0x100000n],
        [0x200000n, 16384, 0x200000n],
      ],
      Dir.FromDevice,
    );
    engine.pageFree(0x202n);
    const f = freed(findings);
    assert.equal(f.length, 1);
    assert.equal(f[0]!.severity, 'error');
    assert.equal(
      f[0]!.message,
      'page freed while mapped for DMA [pfn=0x202] [order=0] [device address=0x0000000000200000] [size=16384 bytes] [mapped with DMA_FROM_DEVICE]',
    );
    assert.equal(f[0]!.device, DEV);
    assert.equal(f[0]!.mapping?.dmaAddr, '0x0000000000200000');
    assert.equal(f[0]!.mapping?.type, 'scatter-gather');
    assert.equal(engine.errorCount, 0, "not the kernel's error_count");
    engine.pageFree(0x101n); // the page after segment 0
    engine.pageFree(0x204n); // the page after segment 1
    assert.equal(freed(findings).length, 1);
  });

  it('a page freed after its unmap is fine', () => {
    const { engine, findings } = setup();
    engine.mapPage(DEV, 0xb082000n, 4096, Dir.FromDevice, 0xb082000n);
    engine.unmapPage(DEV, 0xb082000n, 4096, Dir.FromDevice);
    engine.pageFree(0xb082n);
    assert.deepEqual(findings, []);
  });

  it('TO_DEVICE mappings are not checked (the device only reads)', () => {
    const { engine, findings } = setup();
    engine.mapPage(DEV, 0xb082000n, 4096, Dir.ToDevice, 0xb082000n);
    engine.pageFree(0xb082n);
    assert.deepEqual(findings, []);
  });

  it('order > 0 blocks that overlap the end or start of a mapping, and adjacent ones that do not', () => {
    const { engine, findings } = setup();
    // [0x2ff800, 0x301800): ends in the middle of page 0x301
    engine.mapPage(DEV, 0x2ff800n, 0x2000, Dir.Bidirectional, 0x2ff800n);
    engine.pageFree(0x302n, 1); // [0x302000, 0x304000): after it
    engine.pageFree(0x2fcn, 1); // [0x2fc000, 0x2fe000): before it
    assert.equal(freed(findings).length, 0);
    engine.pageFree(0x300n, 2); // [0x300000, 0x304000): covers its end
    assert.equal(freed(findings).length, 1);
    assert.match(freed(findings)[0]!.message, /\[pfn=0x300\] \[order=2\] .*\[mapped with DMA_BIDIRECTIONAL\]/);
    engine.pageFree(0x2fen, 1); // covers its start: the same mapping is reported once
    assert.equal(freed(findings).length, 1);
    // [0x500800, 0x502800): a block over its start
    engine.mapPage(DEV, 0x500800n, 0x2000, Dir.FromDevice, 0x500800n);
    engine.pageFree(0x4fen, 1); // [0x4fe000, 0x500000): just before
    assert.equal(freed(findings).length, 1);
    engine.pageFree(0x500n, 1); // [0x500000, 0x502000)
    assert.equal(freed(findings).length, 2);
    // Exact ranges: a mapping ending on a page boundary does not reach the next page.
    engine.mapPage(DEV, 0x400000n, 4096, Dir.FromDevice, 0x400000n);
    engine.pageFree(0x401n);
    engine.pageFree(0x3fen, 1);
    assert.equal(freed(findings).length, 2);
  });

  it('large mappings (coarser tiers) are found from any page, and forgotten at their free', () => {
    const { engine, findings } = setup();
    engine.allocCoherent(DEV, 0x10000000n, 4 << 20, 0xffff888010000000n); // phys from the direct map
    engine.pageFree(0x10000n + 1024n); // just past the end
    engine.pageFree(0xffc0n, 6); // the 256 KiB block before it
    assert.equal(freed(findings).length, 0);
    engine.pageFree(0x10000n + 0x3c0n, 10); // a 4 MiB block over its second half
    assert.equal(freed(findings).length, 1);
    engine.freeCoherent(DEV, 0x10000000n, 4 << 20, 0xffff888010000000n);
    engine.allocCoherent(DEV, 0x10000000n, 4 << 20, 0xffff888010000000n);
    engine.pageFree(0x10000n + 1000n);
    assert.equal(freed(findings).length, 2);
    engine.freeCoherent(DEV, 0x10000000n, 4 << 20, 0xffff888010000000n);
    engine.pageFree(0x10000n + 1000n);
    assert.equal(freed(findings).length, 2);
    assert.equal(engine.physIndex.count, 0);
  });

  it('coherent memory whose physical address is unknown takes no part', () => {
    const { engine, findings } = setup();
    engine.allocCoherent(DEV, 0x7000000n, 8192, 0xffffc90000123000n); // vmalloc-range virt: phys unknown
    engine.pageFree(0x7000n);
    engine.pageFree(0x7001n);
    assert.deepEqual(findings, []);
    assert.equal(engine.coverage().unknownPhysEntries, 1);
  });

  it('a mapping made before a loss of events gives an unconfirmed finding', () => {
    const { engine, findings } = setup();
    engine.mapPage(DEV, 0x50000n, 4096, Dir.FromDevice, 0x50000n);
    const ev = new DmaEvent();
    ev.kind = EventKind.Lost;
    ev.lost = 3;
    engine.handle(ev);
    engine.pageFree(0x50n);
    const f = freed(findings);
    assert.equal(f.length, 1);
    assert.equal(f[0]!.severity, 'unconfirmed');
    assert.match(f[0]!.note ?? '', /events were lost/);
  });

  it('names the freeing task (the event) and where the page was mapped', () => {
    const { engine, findings, names } = setup();
    const ev = new DmaEvent();
    ev.kind = EventKind.MapPage;
    ev.line = 10;
    ev.tsSec = 1;
    ev.pid = 42;
    ev.comm = names.comms.intern('kworker/0:1');
    ev.device = names.devices.intern(DEV);
    ev.addrLo = 0x60000;
    ev.physLo = 0x60000;
    ev.hasPhys = true;
    ev.size = 4096;
    ev.dir = Dir.FromDevice;
    engine.handle(ev);
    ev.resetPayload();
    ev.kind = EventKind.PageFree;
    ev.line = 11;
    ev.pid = 77;
    ev.comm = names.comms.intern('bash');
    ev.pfnLo = 0x60;
    engine.handle(ev);
    // the free's finding waits for CPU 0's next record (the free's stack, if any): the input ends here
    assert.equal(freed(findings).length, 0);
    engine.inputDrained();
    const f = freed(findings);
    assert.equal(f.length, 1);
    assert.equal(f[0]!.stack, null);
    assert.equal(f[0]!.at.line, 11);
    assert.equal(f[0]!.at.comm, 'bash');
    assert.equal(f[0]!.at.pid, 77);
    assert.equal(f[0]!.mapping?.mappedAt.line, 10);
    assert.equal(f[0]!.mapping?.mappedAt.comm, 'kworker/0:1');
  });
});

describe('overlap-exact', () => {
  it('counts past the kernel limit of 7 and lists the overlapping mappings', () => {
    const { engine, findings } = setup();
    for (let i = 0; i < 10; i++) engine.mapPage(DEV, 0x80000n + BigInt(i) * 0x1000n, 32, Dir.FromDevice, 0xaac6e00n);
    const ex = findings.filter((f) => f.check === 'overlap-exact');
    assert.equal(ex.length, 9); // one per EEXIST the kernel prints
    assert.ok(ex.every((f) => f.severity === 'info'));
    assert.equal(
      ex[8]!.message,
      'cacheline 0x00000000002ab1b8 is mapped by 10 live mappings [exact overlap count=9] [kernel overlap count=7]',
    );
    assert.match(
      ex[8]!.note ?? '',
      /^overlapping mappings \(device address\): 0x0000000000080000, 0x0000000000081000, /,
    );
    assert.match(ex[8]!.note ?? '', /0x0000000000089000$/);
  });

  it('a mapping that only touches the cacheline later in its range does not count (first cachelines only)', () => {
    const { engine, findings } = setup();
    engine.mapPage(DEV, 0x1000n, 256, Dir.FromDevice, 0x90000n - 0x40n); // covers line 0x90000 but starts before it
    engine.mapPage(DEV, 0x2000n, 64, Dir.FromDevice, 0x90000n);
    engine.mapPage(DEV, 0x3000n, 64, Dir.FromDevice, 0x90000n);
    const ex = findings.filter((f) => f.check === 'overlap-exact');
    assert.equal(ex.length, 1);
    assert.match(ex[0]!.message, /mapped by 2 live mappings/);
  });

  it('nothing when the kernel prints nothing (SKIP_CPU_SYNC below the limit)', () => {
    const { engine, findings } = setup();
    engine.mapPage(DEV, 0x1000n, 64, Dir.FromDevice, 0x90000n);
    engine.mapPage(DEV, 0x2000n, 64, Dir.FromDevice, 0x90000n, 1 << 5);
    assert.deepEqual(findings, []);
  });
});

describe('map-failed', () => {
  it('DMA_MAPPING_ERROR, dma_map_sg_err and a failed alloc: info, counted per device', () => {
    const { engine, findings, names } = setup();
    engine.mapPage(DEV, 0xffffffffffffffffn, 4096, Dir.FromDevice, 0x1000n);
    const ev = new DmaEvent();
    ev.kind = EventKind.MapSgErr;
    ev.device = names.devices.intern(DEV2);
    ev.nents = 3;
    ev.err = -12;
    ev.dir = Dir.ToDevice;
    engine.handle(ev);
    engine.allocCoherent(DEV, 0n, 8192, 0n);
    assert.deepEqual(
      findings.map((f) => `${f.severity}:${f.check}:${f.device}:${f.message}`),
      [
        "info:map-failed:0000:00:02.0:device driver's dma_map_page failed [device address=0xffffffffffffffff] [size=4096 bytes] [mapped with DMA_FROM_DEVICE]",
        "info:map-failed:0000:00:03.0:device driver's dma_map_sg failed [nents=3] [err=-12] [mapped with DMA_TO_DEVICE]",
        "info:map-failed:0000:00:02.0:device driver's dma_alloc_coherent failed [device address=0x0000000000000000] [size=8192 bytes] [mapped with DMA_BIDIRECTIONAL]",
      ],
    );
    assert.equal(engine.deviceCounts().get(DEV)?.mapFailures, 2);
    assert.equal(engine.deviceCounts().get(DEV2)?.mapFailures, 1);
    assert.equal(engine.live, 0);
  });
});

describe('leak-at-end', () => {
  it('groups live mappings by device and call site', () => {
    const { engine, names } = setup();
    const stackA = names.stacks.intern('=> dma_map_page_attrs\n=> nvme_queue_rq');
    const st = new DmaEvent();
    st.kind = EventKind.Stack;
    st.cpu = 0;
    st.stack = stackA;
    for (let i = 0; i < 3; i++) {
      engine.mapPage(DEV, 0x1000n * BigInt(i + 1), 512, Dir.FromDevice, 0x1000n * BigInt(i + 1));
      engine.handle(st);
    }
    engine.mapPage(DEV, 0x9000n, 100, Dir.ToDevice, 0x9000n); // no stack
    engine.mapPage(DEV2, 0x9000n, 64, Dir.ToDevice, 0x9000n);
    engine.mapPage(DEV, 0xa000n, 64, Dir.ToDevice, 0xa000n);
    engine.unmapPage(DEV, 0xa000n, 64, Dir.ToDevice);
    assert.deepEqual(engine.leaksAtEnd(), [
      { device: DEV, stack: ['=> dma_map_page_attrs', '=> nvme_queue_rq'], count: 3, bytes: 1536, fresh: 3 },
      { device: DEV, stack: null, count: 1, bytes: 100, fresh: 1 },
      { device: DEV2, stack: null, count: 1, bytes: 64, fresh: 1 },
    ]);
  });

  it('is empty when everything was unmapped', () => {
    const { engine } = setup();
    engine.mapPage(DEV, 0x1000n, 512, Dir.FromDevice, 0x1000n);
    engine.unmapPage(DEV, 0x1000n, 512, Dir.FromDevice);
    assert.deepEqual(engine.leaksAtEnd(), []);
  });
});

describe('physical interval index', () => {
  it('agrees with a brute-force reference under random inserts, removes and queries', () => {
    const t = new EntryTable();
    const idx = new PhysIndex(t);
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const live: number[] = [];
    const sizes = [1, 64, 512, 4096, 6000, 8192, 65536, 300000, 4 << 20, 40 << 20];
    for (let step = 0; step < 20000; step++) {
      const op = rnd(10);
      if (op < 5 || live.length === 0) {
        const phys = rnd(1 << 20) * 64 + (rnd(4) === 0 ? 2 ** 33 : 0);
        // now and then a range past 2 GiB (kept apart from the chains), rarely one past every query
        const r = rnd(500);
        const size = r === 0 ? 2 ** 40 : r < 6 ? 3 * 2 ** 30 + rnd(1 << 20) : sizes[rnd(sizes.length)]!;
        const e = t.create(0, 0, step, size, EntryType.Single, Dir.FromDevice, 0, null);
        t.setPhys(e, Math.floor(phys / 2 ** 32), phys >>> 0);
        t.link(e);
        idx.insert(e);
        live.push(e);
      } else if (op < 8) {
        const k = rnd(live.length);
        const e = live[k]!;
        idx.remove(e);
        t.release(e);
        live[k] = live[live.length - 1]!;
        live.pop();
      } else {
        const pfn = rnd(1 << 14) + (rnd(4) === 0 ? 2 ** 21 : 0);
        const order = rnd(11);
        const first = Math.floor(pfn / 2 ** order) * 2 ** order; // buddy blocks are aligned
        const a = first * 4096;
        const b = a + 4096 * 2 ** order;
        const want = live.filter((e) => {
          const s = t.physHi(e) * 2 ** 32 + t.physLo(e);
          return s < b && s + t.size(e) > a;
        });
        const got = idx.findPages(0, first, order);
        if (want.length === 0) assert.equal(got, -1, `step ${step}`);
        else assert.ok(want.includes(got), `step ${step}: ${got} not in ${want}`);
        // collect, over a cacheline as the overlap count asks: every intersecting entry, each once
        const all: number[] = [];
        const ca = a + rnd(64) * 64;
        const cb = ca + 64;
        idx.collect(ca, cb, all);
        const wantAll = live.filter((e) => {
          const s = t.physHi(e) * 2 ** 32 + t.physLo(e);
          return s < cb && s + t.size(e) > ca;
        });
        assert.deepEqual(
          all.sort((x, y) => x - y),
          wantAll.sort((x, y) => x - y),
          `step ${step}: collect`,
        );
      }
    }
    for (const e of live) idx.remove(e);
    assert.equal(idx.count, 0);
    for (let pfn = 0; pfn < 2 ** 22; pfn += 2 ** 18) assert.equal(idx.findPages(0, pfn, 18), -1);
  });
});
