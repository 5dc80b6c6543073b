// The report's timeline sampler: bounded bucket count whatever the trace's
// length, peaks that survive every merge, devices that appear late, finding
// and loss counts that add up, and exact relative times from sec + ns parts.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTs, TimelineSampler } from '../../src/report/timeline.js';
import { prng } from '../helpers/prng.js';

describe('TimelineSampler', () => {
  it('keeps the bucket count within [max/2, max] and doubles the width as time goes on', () => {
    const s = new TimelineSampler({ maxBuckets: 64, initialWidthNs: 1000 });
    s.time(100, 0);
    s.set(0, 1, 10);
    for (let k = 1; k <= 100_000; k++) {
      const ns = k * 7919; // up to ~0.8 s
      s.time(100 + Math.floor(ns / 1e9), ns % 1e9);
      s.set(0, k % 5, (k % 5) * 4096);
    }
    const d = s.data();
    assert.ok(d.buckets <= 64 && d.buckets > 32, `${d.buckets}`);
    assert.equal(d.widthNs % 1000, 0);
    assert.ok(Number.isInteger(Math.log2(d.widthNs / 1000)));
    // The last event (at 100000 * 7919 ns) falls in the last bucket.
    assert.equal(d.buckets - 1, Math.floor((100_000 * 7919) / d.widthNs));
    assert.equal(d.devices.get(0)!.maxLive.length, d.buckets);
    assert.equal(d.startSec, 100);
    assert.equal(d.startNs, 0);
  });

  it('never loses a peak to down-sampling: each bucket holds the maximum of what fell in it', () => {
    const rnd = prng(7);
    const below = (n: number) => Math.floor(rnd() * n);
    const max = 32;
    const s = new TimelineSampler({ maxBuckets: max, initialWidthNs: 10 });
    const times: number[] = [];
    const values: number[] = [];
    let t = 0;
    for (let k = 0; k < 5000; k++) {
      t += 1 + below(5000);
      const v = below(1000);
      times.push(t);
      values.push(v);
      s.time(Math.floor(t / 1e9), t % 1e9);
      s.set(3, v, v * 512);
    }
    const d = s.data();
    const dev = d.devices.get(3)!;
    const first = times[0]!;
    // Recompute the expected maxima from the raw samples at the final width.
    const expect = new Array<number>(d.buckets).fill(0);
    let prev = 0;
    for (let k = 0; k < times.length; k++) {
      const b = Math.floor((times[k]! - first) / d.widthNs);
      // A bucket's max includes the value carried in from before it.
      for (let j = prev + 1; j <= b; j++) expect[j] = values[k - 1] ?? 0;
      expect[b] = Math.max(expect[b]!, values[k]!);
      prev = b;
    }
    assert.deepEqual(dev.maxLive, expect);
    assert.deepEqual(
      dev.maxBytes,
      expect.map((v) => v * 512),
    );
    // The global peak is there.
    assert.equal(Math.max(...dev.maxLive), Math.max(...values));
  });

  it('a short spike inside a long quiet stretch survives as the peak of its bucket', () => {
    const s = new TimelineSampler({ maxBuckets: 16, initialWidthNs: 1000 });
    s.time(0, 0);
    s.set(0, 1, 4096);
    s.time(5, 0);
    s.set(0, 500, 500 * 4096); // a burst of 500 live entries for 1 µs
    s.time(5, 1000);
    s.set(0, 1, 4096);
    s.time(100, 0);
    s.set(0, 2, 8192);
    const d = s.data();
    assert.ok(d.buckets <= 16);
    const live = d.devices.get(0)!.maxLive;
    assert.equal(Math.max(...live), 500);
    assert.equal(live[Math.floor(5e9 / d.widthNs)], 500);
    assert.equal(live[live.length - 1], 2);
    assert.equal(d.total.maxLive[Math.floor(5e9 / d.widthNs)], 500);
  });

  it('devices that appear late read 0 before their first call; the total is the sum', () => {
    const s = new TimelineSampler({ maxBuckets: 8, initialWidthNs: 1e9 });
    s.time(10, 0);
    s.set(0, 3, 300);
    s.time(14, 0);
    s.set(5, 2, 200);
    s.time(16, 500);
    s.set(0, 1, 100);
    const d = s.data();
    assert.equal(d.widthNs, 1e9);
    assert.equal(d.buckets, 7);
    assert.deepEqual(d.devices.get(0)!.maxLive, [3, 3, 3, 3, 3, 3, 3]);
    assert.deepEqual(d.devices.get(5)!.maxLive, [0, 0, 0, 0, 2, 2, 2]);
    assert.deepEqual(d.total.maxLive, [3, 3, 3, 3, 5, 5, 5]);
    assert.deepEqual(d.total.maxBytes, [300, 300, 300, 300, 500, 500, 500]);
    assert.equal(d.devices.has(1), false);
    // After the last change the device keeps its value (the bucket max includes the carried 3).
    s.time(17, 0);
    const e = s.data();
    assert.equal(e.devices.get(0)!.maxLive[7], 1);
  });

  it('counts findings per bucket by severity and losses, across merges', () => {
    const s = new TimelineSampler({ maxBuckets: 4, initialWidthNs: 1000 });
    s.time(1, 0);
    s.finding(1, 0, 'error');
    s.finding(1, 500, 'unconfirmed');
    s.lost(0);
    s.time(1, 3500);
    s.finding(1, 3500, 'info');
    s.lost(7);
    s.finding(1, 9000, 'error'); // forces merges
    s.findingNow('error');
    const d = s.data();
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    assert.equal(sum(d.findings[0]), 3);
    assert.equal(sum(d.findings[1]), 1);
    assert.equal(sum(d.findings[2]), 1);
    assert.equal(sum(d.lost), 8);
    assert.equal(d.findings[0][0], 1);
    assert.equal(d.findings[0][d.buckets - 1], 2);
    assert.ok(d.buckets <= 4);
  });

  it('out-of-order times stay in the current bucket; an empty sampler has no buckets', () => {
    const s = new TimelineSampler({ maxBuckets: 8, initialWidthNs: 1000 });
    assert.equal(s.data().buckets, 0);
    s.time(2, 0);
    assert.equal(s.time(2, 5000), 5);
    assert.equal(s.time(1, 999_999_999), 5);
    assert.equal(s.time(2, 2000), 5);
    assert.throws(() => new TimelineSampler({ maxBuckets: 7 }), RangeError);
  });

  it('is exact with nanosecond parts far from the start', () => {
    const s = new TimelineSampler({ maxBuckets: 4096, initialWidthNs: 1 });
    s.time(86_400, 999_999_999);
    assert.equal(s.time(86_401, 0), 1);
    assert.equal(s.time(86_401, 1), 2);
  });
});

describe('parseTs', () => {
  it('reads any number of fraction digits as ns', () => {
    assert.deepEqual(parseTs('12.345678'), [12, 345_678_000]);
    assert.deepEqual(parseTs('0.000000001'), [0, 1]);
    assert.equal(parseTs(''), null);
  });

  it("reads a counter clock's count (no fraction) as the engine splits it: div and mod 10^9", () => {
    assert.deepEqual(parseTs('7'), [0, 7]);
    assert.deepEqual(parseTs('7009028572000'), [7009, 28_572_000]);
    assert.deepEqual(parseTs('18446744073709551615'), [18_446_744_073, 709_551_615]);
    assert.equal(parseTs(''), null);
    assert.equal(parseTs('x.1'), null);
  });
});
