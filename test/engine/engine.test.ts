// Unit tests per check, through the engine's direct API (no parser): each one
// is the smallest call sequence that makes the kernel print its warning.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Names } from '../../src/base/interner.js';
import { DmaDebugEngine, type EngineConfig } from '../../src/engine/engine.js';
import { Dir, DmaEvent, EventKind } from '../../src/engine/events.js';
import type { Finding } from '../../src/engine/findings.js';

const DEV = '0000:00:02.0';

function setup(cfg: Partial<EngineConfig> = {}) {
  const findings: Finding[] = [];
  const names = new Names();
  // these checks are pinned to the 6.12 profile; test/engine/profiles.test.ts covers what 7.3 changes
  const engine = new DmaDebugEngine(names, (f) => findings.push(f), { kernel: '6.12', ...cfg });
  return { engine, findings, names };
}

const msgs = (fs: Finding[]) => fs.map((f) => `${f.severity}:${f.check}:${f.message}`);

describe('unmap checks', () => {
  it('a clean map/unmap reports nothing and leaves nothing live', () => {
    const { engine, findings } = setup();
    engine.mapPage(DEV, 0xb513c00n, 1024, Dir.FromDevice, 0xb513c00n);
    engine.unmapPage(DEV, 0xb513c00n, 1024, Dir.FromDevice);
    assert.deepEqual(findings, []);
    assert.equal(engine.live, 0);
  });

  it('unmap with a different size', () => {
    const { engine, findings } = setup();
    engine.mapPage(DEV, 0xb513c00n, 1024, Dir.FromDevice, 0xb513c00n);
    engine.unmapPage(DEV, 0xb513c00n, 512, Dir.FromDevice);
    assert.deepEqual(msgs(findings), [
      'error:unmap-size-mismatch:device driver frees DMA memory with different size [device address=0x000000000b513c00] [map size=1024 bytes] [unmap size=512 bytes]',
    ]);
    assert.equal(findings[0]!.device, DEV);
    assert.equal(findings[0]!.mapping?.size, 1024);
    assert.equal(engine.live, 0);
  });

  it('unmap with a different direction', () => {
    const { engine, findings } = setup();
    engine.mapPage(DEV, 0xb8f9c00n, 1024, Dir.ToDevice, 0xb8f9c00n);
    engine.unmapPage(DEV, 0xb8f9c00n, 1024, Dir.FromDevice);
    assert.deepEqual(msgs(findings), [
      'error:unmap-direction-mismatch:device driver frees DMA memory with different direction [device address=0x000000000b8f9c00] [size=1024 bytes] [mapped with DMA_TO_DEVICE] [unmapped with DMA_FROM_DEVICE]',
    ]);
  });

  it('unmap with the wrong function (single unmapped as resource)', () => {
    const { engine, findings } = setup();
    engine.mapPage(DEV, 0xb5d3800n, 2048, Dir.Bidirectional, 0xb5d3800n);
    engine.unmapResource(DEV, 0xb5d3800n, 2048, Dir.Bidirectional);
    assert.deepEqual(msgs(findings), [
      'error:unmap-wrong-function:device driver frees DMA memory with wrong function [device address=0x000000000b5d3800] [size=2048 bytes] [mapped as single] [unmapped as resource]',
    ]);
  });

  it('unmap of DMA_MAPPING_ERROR is an invalid address, even on a late trace', () => {
    const { engine, findings } = setup({ fromBoot: false });
    engine.unmapPage(DEV, 0xffffffffffffffffn, 1024, Dir.FromDevice);
    assert.deepEqual(msgs(findings), [
      'error:unmap-invalid-address:device driver tries to free an invalid DMA memory address',
    ]);
  });

  it('a failed map (DMA_MAPPING_ERROR) makes no entry', () => {
    const { engine, findings } = setup();
    engine.mapPage(DEV, 0xffffffffffffffffn, 524288, Dir.ToDevice, 0xb300000n);
    assert.equal(engine.live, 0);
    assert.deepEqual(msgs(findings), [
      "info:map-failed:device driver's dma_map_page failed [device address=0xffffffffffffffff] [size=524288 bytes] [mapped with DMA_TO_DEVICE]",
    ]);
    assert.equal(engine.errorCount, 0);
    assert.equal(engine.deviceCounts().get(DEV)?.mapFailures, 1);
  });

  it('unknown unmap: error from boot, unconfirmed on a late trace', () => {
    const boot = setup({ fromBoot: true });
    boot.engine.unmapPage(DEV, 0xb4efc00n, 1024, Dir.FromDevice);
    assert.deepEqual(msgs(boot.findings), [
      'error:unmap-not-mapped:device driver tries to free DMA memory it has not allocated [device address=0x000000000b4efc00] [size=1024 bytes]',
    ]);
    const late = setup({ fromBoot: false });
    late.engine.unmapPage(DEV, 0xb4efc00n, 1024, Dir.FromDevice);
    assert.equal(late.findings.length, 1);
    assert.equal(late.findings[0]!.severity, 'unconfirmed');
    assert.equal(late.engine.severityCounts.error, 0);
  });

  it('a double unmap is proven from boot; on a late trace it is unconfirmed (a twin may predate the trace)', () => {
    const a = setup({ fromBoot: true });
    a.engine.mapPage(DEV, 0x1000n, 4096, Dir.FromDevice, 0x1000n);
    a.engine.unmapPage(DEV, 0x1000n, 4096, Dir.FromDevice);
    a.engine.unmapPage(DEV, 0x1000n, 4096, Dir.FromDevice);
    assert.deepEqual(msgs(a.findings), [
      'error:double-unmap:device driver tries to free DMA memory it has not allocated [device address=0x0000000000001000] [size=4096 bytes]',
    ]);
    assert.match(a.findings[0]!.note ?? '', /unmapped earlier in this trace, with no map since/);
    // late: a second live mapping of 0x1000 (the kernel allows them) made before the trace began may be what this unmaps
    const { engine, findings } = setup({ fromBoot: false });
    engine.mapPage(DEV, 0x1000n, 4096, Dir.FromDevice, 0x1000n);
    engine.unmapPage(DEV, 0x1000n, 4096, Dir.FromDevice);
    engine.unmapPage(DEV, 0x1000n, 4096, Dir.FromDevice);
    assert.deepEqual(msgs(findings), [
      'unconfirmed:double-unmap:device driver tries to free DMA memory it has not allocated [device address=0x0000000000001000] [size=4096 bytes]',
    ]);
    assert.match(
      findings[0]!.note ?? '',
      /a second mapping of this address made before the trace began may have been live/,
    );
    // A map in between ends the proof.
    const b = setup({ fromBoot: false });
    b.engine.mapPage(DEV, 0x1000n, 4096, Dir.FromDevice, 0x1000n);
    b.engine.unmapPage(DEV, 0x1000n, 4096, Dir.FromDevice);
    b.engine.mapPage(DEV, 0x1000n, 4096, Dir.FromDevice, 0x1000n);
    b.engine.unmapPage(DEV, 0x1000n, 4096, Dir.FromDevice);
    assert.deepEqual(b.findings, []);
    // So do maps still live there that the lookup cannot pick (two imperfect fits, or none containing a sync).
    const c = setup({ fromBoot: false });
    c.engine.mapPage(DEV, 0x1000n, 4096, Dir.FromDevice, 0x1000n);
    c.engine.unmapPage(DEV, 0x1000n, 4096, Dir.FromDevice);
    c.engine.mapPage(DEV, 0x1000n, 100, Dir.ToDevice, 0x1000n);
    c.engine.mapPage(DEV, 0x1000n, 200, Dir.ToDevice, 0x1000n);
    c.engine.unmapPage(DEV, 0x1000n, 300, Dir.FromDevice);
    c.engine.syncSingleForCpu(DEV, 0x1000n, 4096, Dir.ToDevice);
    assert.deepEqual(
      c.findings.map((f) => `${f.severity}:${f.check}`),
      ['unconfirmed:unmap-not-mapped', 'unconfirmed:sync-not-mapped'],
    );
  });

  it('lost events turn an unknown unmap into unconfirmed, even from boot', () => {
    const { engine, findings } = setup({ fromBoot: true });
    const ev = new DmaEvent();
    ev.kind = EventKind.Lost;
    ev.cpu = 1;
    ev.lost = 10;
    engine.handle(ev);
    engine.unmapPage(DEV, 0x2000n, 4096, Dir.FromDevice);
    assert.equal(findings[0]?.severity, 'unconfirmed');
    assert.equal(engine.coverage().lostEvents, 10);
  });

  it('a CPU cut short (damaged input) is a loss that never ends: nothing history-based is proven after it', () => {
    const { engine, findings } = setup({ fromBoot: true });
    const cutShort = (cpu: number) => {
      const ev = new DmaEvent();
      ev.kind = EventKind.CpuCutShort;
      ev.cpu = cpu;
      ev.tsSec = 3;
      engine.handle(ev);
    };
    engine.mapPage(DEV, 0x1000n, 4096, Dir.FromDevice, 0x1000n);
    cutShort(1);
    // made after the cut, yet its unmap could come from the missing CPU: a size mismatch is unproven
    engine.mapPage(DEV, 0x5000n, 4096, Dir.FromDevice, 0x5000n);
    engine.unmapPage(DEV, 0x5000n, 512, Dir.FromDevice);
    // unmapped twice with no map seen between: the missing CPU may have mapped it again
    engine.mapPage(DEV, 0x6000n, 4096, Dir.FromDevice, 0x6000n);
    engine.unmapPage(DEV, 0x6000n, 4096, Dir.FromDevice);
    engine.unmapPage(DEV, 0x6000n, 4096, Dir.FromDevice);
    // the page under a mapping freed: its unmap may be missing
    engine.mapPage(DEV, 0x7000n, 4096, Dir.FromDevice, 0x7000n);
    engine.pageFree(0x7n);
    // still live at unbind: the unmaps may be missing
    engine.unbind(DEV);
    // a proven error that needs no history stays one
    engine.unmapPage(DEV, 0xffffffffffffffffn, 1024, Dir.FromDevice);
    assert.deepEqual(
      findings.map((f) => `${f.severity}:${f.check}`),
      [
        'unconfirmed:unmap-size-mismatch',
        'unconfirmed:double-unmap',
        'unconfirmed:page-freed-while-mapped',
        'unconfirmed:leak-at-unbind',
        'error:unmap-invalid-address',
      ],
    );
    const c = engine.coverage();
    assert.deepEqual(c.cutShort, [{ cpu: 1, from: '3.000000' }]);
    assert.equal(c.lossNotices, 0);
  });

  // Twins, two live mappings of one address (the kernel allows them), after a loss: the
  // lost event may have been one twin's map or unmap, so what the other leaves proves nothing.
  const damagedLine = (engine: DmaDebugEngine) => {
    const ev = new DmaEvent();
    ev.kind = EventKind.Lost;
    ev.cpu = 1;
    ev.lost = 1;
    ev.damaged = true;
    engine.handle(ev);
  };

  it("a twin's map lost: its unmap after the other's is no proven double unmap", () => {
    const { engine, findings } = setup({ fromBoot: true });
    damagedLine(engine); // dma_map_page 0x1000, unreadable
    engine.mapPage(DEV, 0x1000n, 512, Dir.ToDevice, 0x1000n);
    engine.unmapPage(DEV, 0x1000n, 512, Dir.ToDevice);
    engine.unmapPage(DEV, 0x1000n, 512, Dir.ToDevice);
    assert.deepEqual(
      findings.map((f) => `${f.severity}:${f.check}`),
      ['unconfirmed:double-unmap'],
    );
    assert.match(
      findings[0]!.note ?? '',
      /events were lost before it, so a second mapping of this address may have been live/,
    );
    assert.equal(engine.coverage().damagedLines, 1);
    assert.equal(engine.coverage().lossNotices, 0, 'a damaged line is not a notice of the tracer');
  });

  it("a twin's unmap lost: the unmap that releases the ghost leaves the other twin unproven", () => {
    const seq = (lose: boolean) => {
      const { engine, findings } = setup({ fromBoot: true });
      engine.mapSg(DEV, 1, [[0x9eea000n, 4, 0x9eea000n]], Dir.FromDevice);
      if (lose)
        damagedLine(engine); // its dma_unmap_sg, unreadable
      else engine.unmapSg(DEV, [0x9eea000n], Dir.FromDevice);
      engine.mapSg(DEV, 1, [[0x9eea000n, 8, 0x9eea000n]], Dir.FromDevice);
      engine.unmapSg(DEV, [0x9eea000n], Dir.FromDevice); // releases the older twin: the ghost
      engine.pageFree(0x9eean);
      return findings.map((f) => `${f.severity}:${f.check}`);
    };
    assert.deepEqual(seq(false), []);
    const lossy = seq(true);
    assert.ok(lossy.includes('unconfirmed:page-freed-while-mapped'), lossy.join());
    assert.ok(!lossy.some((f) => f.startsWith('error:')), lossy.join());
  });

  it('the same behind an IOMMU: two sg calls with one physical list and other DMA addresses (found by the damage property)', () => {
    const seq = (lose: boolean) => {
      const { engine, findings } = setup({ fromBoot: true });
      engine.mapSg(
        DEV,
        2,
        [
          [0x79710000n, 8, 0x9efd000n],
          [0x79711000n, 0x4000, 0xb4f8000n],
        ],
        Dir.FromDevice,
      );
      if (lose)
        damagedLine(engine); // its dma_unmap_sg, glued to the next line
      else engine.unmapSg(DEV, [0x9efd000n, 0xb4f8000n], Dir.FromDevice);
      engine.mapSg(
        DEV,
        2,
        [
          [0x79715000n, 0x24, 0x9efd000n],
          [0x79716000n, 0x4000, 0xb4f8000n],
        ],
        Dir.FromDevice,
      );
      engine.unmapSg(DEV, [0x9efd000n, 0xb4f8000n], Dir.FromDevice); // may release the ghost
      engine.pageFree(0x9efdn);
      return findings.map((f) => `${f.severity}:${f.check}`);
    };
    assert.deepEqual(seq(false), []);
    assert.ok(!seq(true).some((f) => f.startsWith('error:')), seq(true).join());
  });

  it('leak-at-unbind is proven by a mapping made after the latest loss', () => {
    const { engine, findings } = setup({ fromBoot: true });
    const ev = new DmaEvent();
    ev.kind = EventKind.Lost;
    ev.cpu = 0;
    engine.handle(ev);
    engine.mapPage(DEV, 0x1000n, 4096, Dir.FromDevice, 0x1000n);
    engine.unbind(DEV);
    assert.deepEqual(
      findings.map((f) => `${f.severity}:${f.check}`),
      ['error:leak-at-unbind'],
    );
  });

  it('best fit: two mappings at one address with no perfect fit find nothing', () => {
    const { engine, findings } = setup({ fromBoot: true });
    engine.mapPage(DEV, 0x3000n, 100, Dir.ToDevice, 0x3000n);
    engine.mapPage(DEV, 0x3000n, 200, Dir.ToDevice, 0x3000n);
    engine.unmapPage(DEV, 0x3000n, 300, Dir.ToDevice);
    assert.equal(findings[0]?.check, 'unmap-not-mapped');
    engine.unmapPage(DEV, 0x3000n, 200, Dir.ToDevice); // perfect fit
    engine.unmapPage(DEV, 0x3000n, 300, Dir.ToDevice); // single match now: size mismatch
    assert.equal(findings[1]?.check, 'unmap-size-mismatch');
    assert.equal(engine.live, 0);
  });

  it('map error not checked, only when the caller tracks dma_mapping_error()', () => {
    const { engine, findings } = setup({ tracksMappingErrors: true });
    engine.mapPage(DEV, 0xb4e9c00n, 1024, Dir.FromDevice, 0xb4e9c00n);
    engine.unmapPage(DEV, 0xb4e9c00n, 1024, Dir.FromDevice);
    assert.deepEqual(msgs(findings), [
      'error:map-error-not-checked:device driver failed to check map error[device address=0x000000000b4e9c00] [size=1024 bytes] [mapped as single]',
    ]);
    const ok = setup({ tracksMappingErrors: true });
    ok.engine.mapPage(DEV, 0xb4e9c00n, 1024, Dir.FromDevice, 0xb4e9c00n);
    ok.engine.mappingError(DEV, 0xb4e9c00n);
    ok.engine.unmapPage(DEV, 0xb4e9c00n, 1024, Dir.FromDevice);
    assert.deepEqual(ok.findings, []);
  });
});

describe('coherent frees', () => {
  it('free with a different CPU address', () => {
    const { engine, findings } = setup();
    engine.allocCoherent(DEV, 0xb6bb000n, 4096, 0xffff88800b6bb000n);
    engine.freeCoherent(DEV, 0xb6bb000n, 4096, 0xffff88800b6bb040n);
    assert.deepEqual(msgs(findings), [
      'error:free-cpu-address-mismatch:device driver frees DMA memory with different CPU address [device address=0x000000000b6bb000] [size=4096 bytes] [cpu alloc address=0x0x000000000b6bb000] [cpu free address=0x0x000000000b6bb040]',
    ]);
  });

  it('coherent freed as single is the wrong function', () => {
    const { engine, findings } = setup();
    engine.allocCoherent(DEV, 0xb0f6000n, 4096, 0xffff88800b0f6000n);
    engine.unmapPage(DEV, 0xb0f6000n, 4096, Dir.Bidirectional);
    assert.equal(findings[0]?.message.includes('[mapped as coherent] [unmapped as single]'), true);
  });
});

describe('sync checks', () => {
  it('sync with a different direction, and read-only for cpu', () => {
    const { engine, findings } = setup();
    engine.mapPage(DEV, 0xb897c00n, 1024, Dir.ToDevice, 0xb897c00n);
    engine.syncSingleForCpu(DEV, 0xb897c00n, 1024, Dir.FromDevice);
    assert.deepEqual(
      findings.map((f) => f.check),
      ['sync-direction-mismatch', 'sync-read-only-for-cpu'],
    );
    assert.equal(
      findings[1]!.message,
      'device driver syncs device read-only DMA memory for cpu [device address=0x000000000b897c00] [size=1024 bytes] [mapped with DMA_TO_DEVICE] [synced with DMA_FROM_DEVICE]',
    );
  });

  it('sync for device of a FROM_DEVICE mapping is write-only', () => {
    const { engine, findings } = setup();
    engine.mapPage(DEV, 0x5000n, 1024, Dir.FromDevice, 0x5000n);
    engine.syncSingleForDevice(DEV, 0x5000n, 1024, Dir.ToDevice);
    assert.deepEqual(
      findings.map((f) => f.check),
      ['sync-direction-mismatch', 'sync-write-only-for-device'],
    );
  });

  it('sync inside a mapping is found by the containing lookup (across buckets)', () => {
    const { engine, findings } = setup();
    engine.mapPage(DEV, 0x100000n, 65536, Dir.FromDevice, 0x100000n);
    engine.syncSingleForCpu(DEV, 0x10c000n, 512, Dir.FromDevice);
    assert.deepEqual(findings, []);
  });

  it('a sync beyond the end is "not allocated", as the kernel reports it', () => {
    const { engine, findings } = setup({ fromBoot: true });
    engine.mapPage(DEV, 0xb45dc00n, 256, Dir.FromDevice, 0xb45dc00n);
    engine.syncSingleForCpu(DEV, 0xb45dc00n, 512, Dir.FromDevice);
    assert.deepEqual(msgs(findings), [
      'error:sync-not-mapped:device driver tries to sync DMA memory it has not allocated [device address=0x000000000b45dc00] [size=512 bytes]',
    ]);
  });

  it('bidirectional mappings accept any sync direction', () => {
    const { engine, findings } = setup();
    engine.mapPage(DEV, 0x7000n, 64, Dir.Bidirectional, 0x7000n);
    engine.syncSingleForCpu(DEV, 0x7000n, 64, Dir.ToDevice);
    engine.syncSingleForDevice(DEV, 0x7000n, 64, Dir.FromDevice);
    assert.deepEqual(findings, []);
  });
});

describe('scatter-gather', () => {
  it('unmap_sg is matched by physical list; different nents is a count mismatch per segment', () => {
    const { engine, findings } = setup();
    engine.mapSg(
      DEV,
      2,
      [
        [0xb607000n, 2048, 0xb607000n],
        [0xb65e000n, 4096, 0xb65e000n],
      ],
      Dir.FromDevice,
    );
    assert.equal(engine.live, 2);
    engine.unmapSg(DEV, [0xb607000n, 0xb65e000n, 0xc000000n], Dir.FromDevice);
    assert.deepEqual(
      findings.map((f) => f.message),
      [
        'device driver frees DMA sg list with different entry count [map count=2] [unmap count=3]',
        'device driver frees DMA sg list with different entry count [map count=2] [unmap count=3]',
      ],
    );
    assert.equal(engine.live, 0);
  });

  it('a double unmap_sg is proven from boot, unconfirmed on a late trace', () => {
    for (const [fromBoot, severity] of [
      [true, 'error'],
      [false, 'unconfirmed'],
    ] as const) {
      const { engine, findings } = setup({ fromBoot });
      engine.mapSg(DEV, 1, [[0x8000n, 512, 0x8000n]], Dir.FromDevice);
      engine.unmapSg(DEV, [0x8000n], Dir.FromDevice);
      engine.unmapSg(DEV, [0x8000n], Dir.FromDevice);
      assert.equal(findings.length, 1);
      assert.equal(findings[0]!.check, 'double-unmap');
      assert.equal(findings[0]!.severity, severity);
    }
  });

  it('segment limits from side information', () => {
    const { engine, findings } = setup({
      segmentLimits: new Map([[DEV, { maxSegmentSize: 4096, segmentBoundary: 0xfffn }]]),
    });
    engine.mapSg(DEV, 1, [[0xb170800n, 4096, 0xb170800n]], Dir.ToDevice);
    assert.deepEqual(
      findings.map((f) => f.message),
      [
        'mapping sg segment across boundary [start=0x000000000b170800] [end=0x000000000b1717ff] [boundary=0x0000000000000fff]',
      ],
    );
    engine.mapSg(DEV, 1, [[0x20000000n, 8192, 0x20000000n]], Dir.ToDevice);
    assert.equal(findings[1]!.message, 'mapping sg segment longer than device claims to support [len=8192] [max=4096]');
  });
});

describe('active cachelines', () => {
  it('mapping an active cacheline again is EEXIST, unless SKIP_CPU_SYNC', () => {
    const { engine, findings } = setup();
    engine.mapPage(DEV, 0xb3a7c00n, 1024, Dir.FromDevice, 0xb3a7c00n);
    engine.mapPage(DEV, 0xb3a7c00n, 1024, Dir.FromDevice, 0xb3a7c00n);
    assert.deepEqual(msgs(findings), [
      "error:cacheline-overlap:cacheline tracking EEXIST, overlapping mappings aren't supported",
      'info:overlap-exact:cacheline 0x00000000002ce9f0 is mapped by 2 live mappings [exact overlap count=1] [kernel overlap count=1]',
    ]);
    engine.mapPage(DEV, 0xb3a7c00n, 1024, Dir.FromDevice, 0xb3a7c00n, 1 << 5);
    assert.equal(findings.length, 2);
  });

  it('TO_DEVICE mappings are not tracked', () => {
    const { engine, findings } = setup();
    engine.mapPage(DEV, 0x9000n, 64, Dir.ToDevice, 0x9000n);
    engine.mapPage(DEV, 0x9000n, 64, Dir.ToDevice, 0x9000n);
    assert.deepEqual(findings, []);
  });

  it('the ninth overlapping mapping warns once that 7 were exceeded', () => {
    const { engine, findings } = setup();
    for (let i = 0; i < 10; i++) engine.mapPage(DEV, 0xaac6e00n, 256, Dir.FromDevice, 0xaac6e00n, 1 << 5);
    assert.deepEqual(msgs(findings), [
      'error:cacheline-overlap-limit:exceeded 7 overlapping mappings of cacheline 0x00000000002ab1b8',
      'info:overlap-exact:cacheline 0x00000000002ab1b8 is mapped by 9 live mappings [exact overlap count=8] [kernel overlap count=7]',
    ]);
    assert.equal(findings[0]!.bare, true);
  });

  it('after lost events the overlap limit is proven only by nine mappings made since', () => {
    const lost = (engine: DmaDebugEngine) => {
      const ev = new DmaEvent();
      ev.kind = EventKind.Lost;
      engine.handle(ev);
    };
    // eight made before the loss (their unmaps may be lost), two after: unconfirmed, once
    const a = setup();
    for (let i = 0; i < 8; i++) a.engine.mapPage(DEV, 0xaac6e00n, 256, Dir.FromDevice, 0xaac6e00n, 1 << 5);
    lost(a.engine);
    for (let i = 0; i < 3; i++) a.engine.mapPage(DEV, 0xaac6e00n, 256, Dir.FromDevice, 0xaac6e00n, 1 << 5);
    assert.deepEqual(
      a.findings.map((f) => `${f.severity}:${f.check}`),
      ['unconfirmed:cacheline-overlap-limit', 'info:overlap-exact'],
    );
    assert.equal(a.engine.severityCounts.error, 0);
    // one before the loss, then nine after: the ninth in all is unconfirmed (eight fresh), the tenth proves it
    const b = setup();
    b.engine.mapPage(DEV, 0xaac6e00n, 256, Dir.FromDevice, 0xaac6e00n, 1 << 5);
    lost(b.engine);
    for (let i = 0; i < 10; i++) b.engine.mapPage(DEV, 0xaac6e00n, 256, Dir.FromDevice, 0xaac6e00n, 1 << 5);
    assert.deepEqual(
      b.findings.map((f) => `${f.severity}:${f.check}`),
      [
        'unconfirmed:cacheline-overlap-limit',
        'info:overlap-exact',
        'error:cacheline-overlap-limit',
        'info:overlap-exact',
      ],
    );
  });

  it('the idle assertion finds an active cacheline', () => {
    const { engine, findings } = setup();
    engine.mapPage(DEV, 0x40000n, 4096, Dir.FromDevice, 0x40000n);
    assert.equal(engine.assertIdle(0x41000n, 4096n), true);
    assert.equal(engine.assertIdle(0x40000n, 4096n), false);
    assert.deepEqual(msgs(findings), [
      'error:cpu-touching-active-mapping:cpu touching an active dma mapped cacheline [cln=0x0000000000001000]',
    ]);
  });
});

describe('unbind, pool and error policy', () => {
  it('unbind with live entries reports the leak, naming the bus', () => {
    const { engine, findings } = setup();
    engine.mapPage(DEV, 0xb893c00n, 1024, Dir.FromDevice, 0xb893c00n);
    engine.allocCoherent(DEV, 0xb072000n, 8192, 0xffff88800b072000n);
    engine.unbind(DEV);
    assert.equal(findings.length, 1);
    assert.equal(findings[0]!.driver, 'pci');
    assert.equal(
      findings[0]!.message,
      'device driver has pending DMA allocations while released from device [count=2]\nOne of leaked entries details: [device address=0x000000000b893c00] [size=1024 bytes] [mapped with DMA_FROM_DEVICE] [mapped as single]',
    );
  });

  it('a small pool grows by pages of 32 and says so at each multiple', () => {
    const { engine, findings } = setup({ entries: 256, fromBoot: true });
    for (let i = 0; i < 600; i++)
      engine.mapPage(DEV, BigInt(0x100000 + i * 64), 64, Dir.ToDevice, BigInt(0x100000 + i * 64));
    assert.deepEqual(msgs(findings), ['info:pool-grown:dma_debug_entry pool grown to 512 (200%)']);
    const p = engine.poolState();
    assert.equal(p.nrTotalEntries, 608);
    assert.equal(p.numFreeEntries, 8);
  });

  it('a fixed pool gives up: debugging out of memory - disabling', () => {
    const { engine, findings } = setup({ entries: 32, fromBoot: true, poolGrows: false });
    for (let i = 0; i < 40; i++)
      engine.mapPage(DEV, BigInt(0x100000 + i * 64), 64, Dir.ToDevice, BigInt(0x100000 + i * 64));
    assert.deepEqual(msgs(findings), ['error:pool-exhausted:debugging out of memory - disabling']);
    engine.unmapPage(DEV, 0x1n, 1, Dir.ToDevice); // checking stopped
    assert.equal(findings.length, 1);
  });

  it('a fixed pool that runs dry after lost events: unconfirmed once, and checking goes on', () => {
    const { engine, findings } = setup({ entries: 32, fromBoot: true, poolGrows: false });
    const ev = new DmaEvent();
    ev.kind = EventKind.Lost;
    engine.handle(ev);
    for (let i = 0; i < 40; i++)
      engine.mapPage(DEV, BigInt(0x100000 + i * 64), 64, Dir.ToDevice, BigInt(0x100000 + i * 64));
    assert.deepEqual(msgs(findings), ['unconfirmed:pool-exhausted:debugging out of memory - disabling']);
    engine.unmapPage(DEV, 0x100000n, 32, Dir.ToDevice); // still checked
    assert.equal(findings[1]?.check, 'unmap-size-mismatch');
  });

  it('num_errors shows only the first N errors but counts all', () => {
    const { engine, findings } = setup({ numErrors: 1, fromBoot: true });
    engine.unmapPage(DEV, 0x1000n, 1, Dir.ToDevice);
    engine.unmapPage(DEV, 0x2000n, 1, Dir.ToDevice);
    assert.deepEqual(
      findings.map((f) => f.shown),
      [true, false],
    );
    assert.equal(engine.errorCount, 2);
  });

  it('the driver filter shows only that driver', () => {
    const { engine, findings } = setup({
      fromBoot: true,
      driverFilter: 'nvme',
      drivers: new Map([
        ['0000:00:03.0', 'nvme'],
        [DEV, 'dmabug'],
      ]),
    });
    engine.unmapPage(DEV, 0x1000n, 1, Dir.ToDevice);
    engine.unmapPage('0000:00:03.0', 0x2000n, 1, Dir.ToDevice);
    assert.deepEqual(
      findings.map((f) => [f.driver, f.shown]),
      [
        ['dmabug', false],
        ['nvme', true],
      ],
    );
  });
});

describe('dump', () => {
  it('lists entries bucket by bucket, insertion order within a bucket', () => {
    const { engine } = setup();
    engine.mapPage(DEV, 0x4000n, 16, Dir.ToDevice, 0x4000n); // bucket 2
    engine.mapPage(DEV, 0x2000n, 16, Dir.ToDevice, 0x2000n); // bucket 1
    engine.mapPage(DEV, 0x3000n, 16, Dir.ToDevice, 0x3000n); // bucket 1
    engine.mapPage(DEV, 0xffffffff08002000n, 16, Dir.ToDevice, 0x5000n); // bucket 1 as well
    const d = [...engine.dump()];
    assert.deepEqual(
      d.map((e) => [e.bucket, e.dma]),
      [
        [1, '2000'],
        [1, '3000'],
        [1, 'ffffffff08002000'],
        [2, '4000'],
      ],
    );
    assert.equal(d[0]!.phys, '0x0000000000002000');
    assert.equal(d[0]!.cln, '0x0000000000000080');
  });

  it('a coherent entry gets P=D only with evidence that the device is direct-mapped', () => {
    const { engine } = setup();
    engine.allocCoherent('iommu-dev', 0xfffa0000n, 4096, 0n + 0xffffc90000010000n);
    engine.allocCoherent(DEV, 0xb400000n, 4096, 0xffffc90000020000n);
    assert.equal([...engine.dump(DEV)][0]!.phys, null);
    engine.mapPage(DEV, 0xa000n, 64, Dir.ToDevice, 0xa000n); // evidence arrives
    assert.equal([...engine.dump(DEV)].find((e) => e.type === 'coherent')!.phys, '0x000000000b400000');
    assert.equal([...engine.dump('iommu-dev')][0]!.phys, null);
  });
});

describe('stack blocks', () => {
  function ev(kind: EventKind, cpu: number): DmaEvent {
    const e = new DmaEvent();
    e.kind = kind;
    e.cpu = cpu;
    e.tsSec = 1;
    return e;
  }

  it('attach to the last mapping made on their own cpu, whatever the cpu number', () => {
    const { engine, names } = setup({ fromBoot: true });
    const dev = names.devices.intern(DEV);
    const cpus = [0, 200, 5000, 3];
    for (const [k, cpu] of cpus.entries()) {
      const m = ev(EventKind.MapPage, cpu);
      m.device = dev;
      m.addrLo = 0x10000 * (k + 1);
      m.physLo = m.addrLo;
      m.hasPhys = true;
      m.size = 256;
      m.dir = Dir.FromDevice;
      engine.handle(m);
    }
    // an sg call on cpu 7: every segment gets the stack
    const sg = ev(EventKind.MapSg, 7);
    sg.device = dev;
    sg.dir = Dir.ToDevice;
    for (let i = 0; i < 3; i++) {
      sg.sgDma.push(0, 0x100000 + i * 0x1000);
      sg.sgPhys.push(0, 0x100000 + i * 0x1000);
      sg.sgLen.push(512);
    }
    sg.nents = sg.ents = 3;
    engine.handle(sg);
    for (const cpu of [...cpus].reverse().concat(7)) {
      const st = ev(EventKind.Stack, cpu);
      st.stack = names.stacks.intern(`=> mapper_on_cpu_${cpu}`);
      engine.handle(st);
    }
    // a second block for the same mapping, and one for a cpu with no mapping, attach nothing
    const again = ev(EventKind.Stack, 5000);
    again.stack = names.stacks.intern('=> late');
    engine.handle(again);
    const none = ev(EventKind.Stack, 9);
    none.stack = names.stacks.intern('=> nobody');
    engine.handle(none);
    const stacks = [...engine.dump()].map((d) => `${d.dma} ${d.stack?.join(' ') ?? '-'}`).sort();
    assert.deepEqual(stacks, [
      '10000 => mapper_on_cpu_0',
      '100000 => mapper_on_cpu_7',
      '101000 => mapper_on_cpu_7',
      '102000 => mapper_on_cpu_7',
      '20000 => mapper_on_cpu_200',
      '30000 => mapper_on_cpu_5000',
      '40000 => mapper_on_cpu_3',
    ]);
  });
});
