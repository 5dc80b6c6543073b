// The report's timeline: live mappings and mapped bytes per device over time,
// down-sampled while the trace streams by, in fixed memory.
//
// Time is cut into buckets of `widthNs`, counted from the first event. It
// starts fine (1 µs); when a sample falls past the last of `maxBuckets`
// buckets, adjacent pairs are merged and the width doubles, as often as
// needed. So between maxBuckets/2 and maxBuckets buckets cover the whole trace,
// whatever its length, and the payload the HTML carries is bounded.
//
// Per device and bucket the sampler keeps the maximum live count and bytes
// (peaks survive any merge) and the values at the bucket's end (what carries
// into the next bucket). Buckets a device had no event in are filled from the
// carry lazily, when it next changes or at the end. The sum over all devices is
// kept as one more series, by deltas, so its peaks are of the sum.
//
// Nothing is allocated per sample: a device's arrays are made when it first
// appears (devices may appear late: their earlier buckets read 0).

import type { Severity } from '../engine/findings.js';

export const DEFAULT_MAX_BUCKETS = 4096;
export const DEFAULT_INITIAL_WIDTH_NS = 1000;

/** Severities in the order of the per-bucket finding counts. */
export const SEVERITIES: readonly Severity[] = ['error', 'unconfirmed', 'info'];

class Series {
  /** The last bucket written (-1: none yet). */
  last = -1;
  curLive = 0;
  curBytes = 0;
  readonly maxLive: Float64Array;
  readonly maxBytes: Float64Array;
  readonly endLive: Float64Array;
  readonly endBytes: Float64Array;
  constructor(n: number) {
    this.maxLive = new Float64Array(n);
    this.maxBytes = new Float64Array(n);
    this.endLive = new Float64Array(n);
    this.endBytes = new Float64Array(n);
  }

  /** The value is `live`/`bytes` from bucket b on. */
  set(b: number, live: number, bytes: number): void {
    if (b > this.last) this.fillTo(b);
    if (live > this.maxLive[b]!) this.maxLive[b] = live;
    if (bytes > this.maxBytes[b]!) this.maxBytes[b] = bytes;
    this.endLive[b] = live;
    this.endBytes[b] = bytes;
    this.curLive = live;
    this.curBytes = bytes;
  }

  /** Buckets last+1..b start (and, until set, stay) at the carried value. */
  fillTo(b: number): void {
    const live = this.curLive;
    const bytes = this.curBytes;
    for (let i = this.last + 1; i <= b; i++) {
      this.maxLive[i] = live;
      this.maxBytes[i] = bytes;
      this.endLive[i] = live;
      this.endBytes[i] = bytes;
    }
    this.last = b;
  }

  /** Pairs (2i, 2i+1) become bucket i. */
  halve(): void {
    const last = this.last;
    if (last < 0) return;
    const n = (last >> 1) + 1;
    for (let i = 0; i < n; i++) {
      const a = 2 * i;
      const b = a + 1;
      if (b <= last) {
        this.maxLive[i] = Math.max(this.maxLive[a]!, this.maxLive[b]!);
        this.maxBytes[i] = Math.max(this.maxBytes[a]!, this.maxBytes[b]!);
        this.endLive[i] = this.endLive[b]!;
        this.endBytes[i] = this.endBytes[b]!;
      } else {
        this.maxLive[i] = this.maxLive[a]!;
        this.maxBytes[i] = this.maxBytes[a]!;
        this.endLive[i] = this.endLive[a]!;
        this.endBytes[i] = this.endBytes[a]!;
      }
    }
    this.maxLive.fill(0, n);
    this.maxBytes.fill(0, n);
    this.endLive.fill(0, n);
    this.endBytes.fill(0, n);
    this.last = n - 1;
  }
}

/** One series of the result: the maximum per bucket. */
export interface SeriesData {
  maxLive: number[];
  maxBytes: number[];
}

export interface TimelineData {
  /** The first event's time, seconds (sec part) and nanoseconds (fraction). */
  startSec: number;
  startNs: number;
  /** Bucket width in ns; bucket i covers [start + i*width, start + (i+1)*width). */
  widthNs: number;
  buckets: number;
  /** By device id (sparse: ids that never had a value are absent). */
  devices: Map<number, SeriesData>;
  /** All devices together. */
  total: SeriesData;
  /** Findings per bucket, by severity (SEVERITIES order). */
  findings: [number[], number[], number[]];
  /** Lost-event notices per bucket (the count the input gave, at least 1 per notice). */
  lost: number[];
}

export class TimelineSampler {
  readonly maxBuckets: number;
  widthNs: number;
  private started = false;
  private startSec = 0;
  private startNs = 0;
  /** The current bucket: samples never go back in time (out-of-order CPUs are clamped). */
  private cur = 0;
  private readonly devs: (Series | undefined)[] = [];
  private readonly total: Series;
  private readonly findingCounts: [Float64Array, Float64Array, Float64Array];
  private readonly lostCounts: Float64Array;

  constructor(opts: { maxBuckets?: number; initialWidthNs?: number } = {}) {
    const max = opts.maxBuckets ?? DEFAULT_MAX_BUCKETS;
    if (max < 2 || max % 2 !== 0) throw new RangeError('maxBuckets must be even and at least 2');
    this.maxBuckets = max;
    this.widthNs = opts.initialWidthNs ?? DEFAULT_INITIAL_WIDTH_NS;
    this.total = new Series(max);
    this.findingCounts = [new Float64Array(max), new Float64Array(max), new Float64Array(max)];
    this.lostCounts = new Float64Array(max);
  }

  /** Moves to the bucket of time sec.ns (the first call sets time 0) and returns it. */
  time(sec: number, ns: number): number {
    if (!this.started) {
      this.started = true;
      this.startSec = sec;
      this.startNs = ns;
      return 0;
    }
    const t = (sec - this.startSec) * 1e9 + (ns - this.startNs); // exact below 2^53 ns (104 days)
    if (t < 0) return this.cur;
    let b = Math.floor(t / this.widthNs);
    while (b >= this.maxBuckets) {
      this.halve();
      b = Math.floor(t / this.widthNs);
    }
    if (b > this.cur) this.cur = b;
    return this.cur;
  }

  /** Device `dev` (a small integer id) now has `live` entries of `bytes` in all, at the current time. */
  set(dev: number, live: number, bytes: number): void {
    let s = this.devs[dev];
    if (!s) {
      s = new Series(this.maxBuckets);
      this.devs[dev] = s;
    }
    const b = this.cur;
    const dLive = live - s.curLive;
    const dBytes = bytes - s.curBytes;
    s.set(b, live, bytes);
    this.total.set(b, this.total.curLive + dLive, this.total.curBytes + dBytes);
  }

  /** A finding at time sec.ns (its own time: it is reported before its event is sampled). */
  finding(sec: number, ns: number, severity: Severity): void {
    // an error can come out after later events (it waited for late loss notices): its own bucket
    const now = this.time(sec, ns);
    const t = (sec - this.startSec) * 1e9 + (ns - this.startNs);
    const b = t < 0 ? now : Math.min(now, Math.floor(t / this.widthNs));
    const i = severity === 'error' ? 0 : severity === 'unconfirmed' ? 1 : 2;
    this.findingCounts[i][b]!++;
  }

  /** A finding with no time of its own (a library call after the trace): the current bucket. */
  findingNow(severity: Severity): void {
    const i = severity === 'error' ? 0 : severity === 'unconfirmed' ? 1 : 2;
    this.findingCounts[i][this.cur]!++;
  }

  /** Events were lost (count 0: unknown) at the current time. */
  lost(count: number): void {
    this.lostCounts[this.cur]! += Math.max(1, count);
  }

  private halve(): void {
    for (const s of this.devs) s?.halve();
    this.total.halve();
    for (const a of [...this.findingCounts, this.lostCounts]) {
      const n = this.maxBuckets / 2;
      for (let i = 0; i < n; i++) a[i] = a[2 * i]! + a[2 * i + 1]!;
      a.fill(0, n);
    }
    this.cur >>= 1;
    this.widthNs *= 2;
  }

  /** The result so far: every series filled up to the current bucket. */
  data(): TimelineData {
    const n = this.started ? this.cur + 1 : 0;
    const out = (s: Series): SeriesData => {
      if (n > 0 && s.last < n - 1) s.fillTo(n - 1);
      return { maxLive: Array.from(s.maxLive.subarray(0, n)), maxBytes: Array.from(s.maxBytes.subarray(0, n)) };
    };
    const devices = new Map<number, SeriesData>();
    this.devs.forEach((s, dev) => {
      if (s) devices.set(dev, out(s));
    });
    const [e, u, i] = this.findingCounts;
    return {
      startSec: this.startSec,
      startNs: this.startNs,
      widthNs: this.widthNs,
      buckets: n,
      devices,
      total: out(this.total),
      findings: [Array.from(e.subarray(0, n)), Array.from(u.subarray(0, n)), Array.from(i.subarray(0, n))],
      lost: Array.from(this.lostCounts.subarray(0, n)),
    };
  }
}

/**
 * "12.345678" (any number of fraction digits) as [seconds, nanoseconds]; a
 * counter clock's count ("7009028572000": no fraction, see tsString) as
 * [count div 10^9, count mod 10^9], the engine's own split; null when not a
 * timestamp.
 */
export function parseTs(ts: string): [number, number] | null {
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(ts);
  if (!m) return null;
  const whole = m[1]!;
  if (m[2] === undefined) {
    return whole.length <= 9 ? [0, Number(whole)] : [Number(whole.slice(0, -9)), Number(whole.slice(-9))];
  }
  return [Number(whole), Number(m[2].padEnd(9, '0'))];
}
