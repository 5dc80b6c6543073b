// engine.stats(): calls by type, syncs by kind, live and peak entries and bytes
// with the time of each peak, the lifetime histogram and findings by check,
// driven through handle() with timed events (the typed calls carry no time).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Names } from '../../src/base/interner.js';
import { LIFETIME_BUCKETS, lifetimeBucket, lifetimeLabels } from '../../src/engine/dev-stats.js';
import { DmaDebugEngine } from '../../src/engine/engine.js';
import { Dir, DmaEvent, EventKind } from '../../src/engine/events.js';

const A = '0000:00:02.0';
const B = '0000:00:03.0';

function setup() {
  const names = new Names();
  const engine = new DmaDebugEngine(names, () => {}, { fromBoot: true, kernel: '6.12' });
  const ev = new DmaEvent();
  ev.tsDigits = 6;
  let line = 0;
  /** One single-page event at `sec` seconds + `ns` ns. */
  const single = (kind: EventKind, dev: string, dma: number, size: number, sec: number, ns: number) => {
    ev.resetPayload();
    ev.kind = kind;
    ev.line = ++line;
    ev.tsSec = sec;
    ev.tsNs = ns;
    ev.device = names.devices.intern(dev);
    ev.addrLo = dma;
    ev.physLo = dma;
    ev.hasPhys = kind === EventKind.MapPage;
    ev.size = size;
    ev.dir = Dir.ToDevice;
    ev.hasDir = true;
    engine.handle(ev);
  };
  const map = (dev: string, dma: number, size: number, sec: number, ns = 0) =>
    single(EventKind.MapPage, dev, dma, size, sec, ns);
  const unmap = (dev: string, dma: number, size: number, sec: number, ns = 0) =>
    single(EventKind.UnmapPage, dev, dma, size, sec, ns);
  const sync = (dev: string, dma: number, size: number, sec: number, ns = 0) =>
    single(EventKind.SyncSingleForCpu, dev, dma, size, sec, ns);
  return { engine, names, map, unmap, sync };
}

describe('lifetime buckets', () => {
  it('log2 of microseconds, from <1us to the last bucket', () => {
    assert.equal(lifetimeBucket(0, 0), 0);
    assert.equal(lifetimeBucket(0, 999), 0);
    assert.equal(lifetimeBucket(0, 1000), 1);
    assert.equal(lifetimeBucket(0, 1999), 1);
    assert.equal(lifetimeBucket(0, 2000), 2);
    assert.equal(lifetimeBucket(0, 1_024_000), 11); // 2^10 us
    assert.equal(lifetimeBucket(0, 1_023_999), 10);
    assert.equal(lifetimeBucket(1, -999_999_000), 1); // 1 us across a second boundary
    assert.equal(lifetimeBucket(0, -5), 0); // clock skew: never negative buckets
    assert.equal(lifetimeBucket(100, 0), LIFETIME_BUCKETS - 1);
    assert.equal(lifetimeBucket(4_000_000_000, 0), LIFETIME_BUCKETS - 1); // no precision trouble
    const labels = lifetimeLabels();
    assert.equal(labels.length, LIFETIME_BUCKETS);
    assert.equal(labels[0], '<1us');
    assert.equal(labels[1], '1us');
    assert.match(labels[LIFETIME_BUCKETS - 1]!, /^>=4\.2s$/);
  });
});

describe('engine.stats()', () => {
  it('counts maps, unmaps and syncs by type and kind, per device and in total', () => {
    const { engine, map, unmap, sync } = setup();
    map(A, 0x1000, 4096, 1);
    map(A, 0x2000, 512, 1);
    sync(A, 0x1000, 4096, 1);
    unmap(A, 0x1000, 4096, 1, 5000);
    map(B, 0x9000, 100, 1);
    engine.allocCoherent(B, 0x20000n, 8192, 0xffff888000020000n);
    const s = engine.stats();
    assert.deepEqual(
      s.devices.map((d) => d.device),
      [A, B],
    );
    const [a, b] = s.devices;
    assert.deepEqual(a!.maps, { single: 2, sg: 0, coherent: 0, resource: 0, noncoherent: 0, phy: 0 });
    assert.deepEqual(a!.unmaps, { single: 1, sg: 0, coherent: 0, resource: 0, noncoherent: 0, phy: 0 });
    assert.deepEqual(a!.syncs, { singleForCpu: 1, singleForDevice: 0, sgForCpu: 0, sgForDevice: 0 });
    assert.equal(a!.live, 1);
    assert.equal(a!.liveBytes, 512);
    assert.equal(b!.maps.single, 1);
    assert.equal(b!.maps.coherent, 1);
    assert.equal(b!.live, 2);
    assert.equal(b!.liveBytes, 8292);
    assert.equal(s.totals.maps.single, 3);
    assert.equal(s.totals.live, 3);
    assert.equal(s.totals.liveBytes, 512 + 8292);
    assert.equal(s.mapFailures, 0);
  });

  it('peaks and the time of the event that set each one', () => {
    const { engine, map, unmap } = setup();
    map(A, 0x1000, 100, 1, 100_000); // 1.000100
    map(A, 0x2000, 100, 2, 0); // peak live 2 at 2.000000
    unmap(A, 0x1000, 100, 3, 0);
    map(A, 0x3000, 5000, 4, 250_000); // live 2 again (no new peak); bytes 5100, a peak at 4.000250
    unmap(A, 0x2000, 100, 5);
    unmap(A, 0x3000, 5000, 6);
    map(B, 0x9000, 64, 7);
    const s = engine.stats();
    const a = s.devices[0]!;
    assert.deepEqual(a.peakLive, { value: 2, at: '2.000000' });
    assert.deepEqual(a.peakBytes, { value: 5100, at: '4.000250' });
    assert.equal(a.live, 0);
    assert.equal(a.liveBytes, 0);
    // Totals: the peak of the sum, not the sum of the peaks.
    assert.deepEqual(s.totals.peakLive, { value: 2, at: '2.000000' });
    assert.deepEqual(s.devices[1]!.peakLive, { value: 1, at: '7.000000' });
  });

  it('a device that never mapped has no peak time', () => {
    const { engine, unmap } = setup();
    unmap(A, 0x1000, 100, 1);
    const a = engine.stats().devices[0]!;
    assert.deepEqual(a.peakLive, { value: 0, at: null });
    assert.equal(a.unmaps.single, 1);
    assert.equal(a.findings['unmap-not-mapped'], 1);
  });

  it('lifetime histogram: unmap time minus map time, in log2 us buckets', () => {
    const { engine, map, unmap } = setup();
    map(A, 0x1000, 64, 1, 0);
    unmap(A, 0x1000, 64, 1, 500); // 500 ns -> <1us
    map(A, 0x2000, 64, 1, 0);
    unmap(A, 0x2000, 64, 1, 3000); // 3 us -> [2,4) us
    map(A, 0x3000, 64, 1, 999_999_000);
    unmap(A, 0x3000, 64, 2, 1000); // 2 us across the second -> [2,4) us
    map(A, 0x4000, 64, 1, 0);
    unmap(A, 0x4000, 64, 11, 0); // 10 s -> last bucket
    const h = engine.stats().devices[0]!.lifetimes;
    assert.equal(h.length, LIFETIME_BUCKETS);
    assert.equal(h[0], 1);
    assert.equal(h[2], 2);
    assert.equal(h[LIFETIME_BUCKETS - 1], 1);
    assert.equal(
      h.reduce((x, y) => x + y, 0),
      4,
    );
  });

  it('an sg call counts once in maps, unmaps and the histogram, its segments each in live', () => {
    const { engine } = setup();
    const segs: Array<[bigint, number, bigint]> = [
      [0x10000n, 4096, 0x10000n],
      [0x20000n, 4096, 0x20000n],
      [0x30000n, 2048, 0x30000n],
    ];
    engine.mapSg(A, 3, segs, Dir.FromDevice);
    let s = engine.stats().devices[0]!;
    assert.equal(s.maps.sg, 1);
    assert.equal(s.live, 3);
    assert.equal(s.liveBytes, 10240);
    assert.equal(s.peakLive.value, 3);
    engine.unmapSg(A, [0x10000n, 0x20000n, 0x30000n], Dir.FromDevice);
    s = engine.stats().devices[0]!;
    assert.equal(s.unmaps.sg, 1);
    assert.equal(s.live, 0);
    assert.equal(s.liveBytes, 0);
    assert.equal(
      s.lifetimes.reduce((x, y) => x + y, 0),
      1,
    );
  });

  it('failed maps by type, and findings by check per device', () => {
    const { engine, map, unmap } = setup();
    engine.mapPage(A, 0xffffffffffffffffn, 4096, Dir.ToDevice, 0x1000n); // DMA_MAPPING_ERROR
    map(A, 0x1000, 4096, 1);
    unmap(A, 0x1000, 2048, 2); // size mismatch
    const s = engine.stats();
    const a = s.devices[0]!;
    assert.equal(a.failures.single, 1);
    assert.equal(s.mapFailures, 1);
    assert.equal(a.findings['unmap-size-mismatch'], 1);
    assert.equal(a.findings['map-failed'], 1);
    assert.equal(s.findings['unmap-size-mismatch'], 1);
    assert.equal(s.totals.findings['unmap-size-mismatch'], 1);
    // The summary's per-device counts keep their shape.
    assert.deepEqual(Object.keys(engine.deviceCounts().get(A)!).sort(), [
      'allocs',
      'frees',
      'live',
      'mapFailures',
      'maps',
      'syncs',
      'unmaps',
    ]);
  });
});
