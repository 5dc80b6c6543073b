// `dmadebug stats` as users run it: text and --json on a from-boot fixture,
// the per-device numbers checked against each other, trace.dat agreeing with
// the text trace, and exit 2 with one line for unreadable input.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { runDmadebug } from '../helpers/child.js';
import { fixture } from '../helpers/fixtures.js';

const TRACE = fixture('real-devices-direct');
const DAT = fixture('real-devices-direct', 'trace.dat');

const dmadebug = runDmadebug;

type ByType = Record<'single' | 'sg' | 'coherent' | 'resource' | 'noncoherent', number>;
interface Dev {
  device: string;
  maps: number;
  unmaps: number;
  allocs: number;
  frees: number;
  maps_by_type: ByType;
  unmaps_by_type: ByType;
  failures_by_type: ByType;
  live: number;
  live_bytes: number;
  peak_live: { value: number; ts: string | null };
  peak_bytes: { value: number; ts: string | null };
  lifetimes: number[];
  findings: Record<string, number>;
}
interface Stats {
  type: string;
  events: number;
  coverage: { from_boot: boolean; first_ts: string; last_ts: string };
  lifetime_buckets: string[];
  devices: Dev[];
  totals: Dev;
  findings: Record<string, number>;
}

const sum = (x: ByType) => x.single + x.sg + x.coherent + x.resource + x.noncoherent;
const secs = (ts: string) => Number(ts);

describe('dmadebug stats', { skip: !existsSync(TRACE) && 'fixtures not found' }, () => {
  it('--json: one stats object whose per-device numbers agree with each other', () => {
    const r = dmadebug(['stats', '--json', TRACE]);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    assert.equal(lines.length, 1);
    const s = JSON.parse(lines[0]!) as Stats;
    assert.equal(s.type, 'stats');
    assert.equal(s.coverage.from_boot, true);
    assert.ok(s.devices.length >= 4);
    let live = 0;
    for (const d of s.devices) {
      live += d.live;
      // From boot with no losses: what is live is what was mapped and not unmapped.
      // sg calls unmap as many entries as they mapped; live counts an sg call's segments.
      const callsLive = sum(d.maps_by_type) - sum(d.unmaps_by_type);
      // by type, maps and allocs are counted together (as the text table counts them)
      assert.equal(sum(d.maps_by_type), d.maps + d.allocs, d.device);
      assert.equal(sum(d.unmaps_by_type), d.unmaps + d.frees, d.device);
      if (d.maps_by_type.sg === d.unmaps_by_type.sg) assert.equal(callsLive, d.live, d.device);
      else assert.ok(d.live >= callsLive, d.device);
      assert.ok(d.peak_live.value >= d.live, d.device);
      assert.ok(d.peak_bytes.value >= d.live_bytes, d.device);
      for (const p of [d.peak_live, d.peak_bytes]) {
        assert.ok(p.ts !== null, d.device);
        assert.ok(
          secs(p.ts) >= secs(s.coverage.first_ts) && secs(p.ts) <= secs(s.coverage.last_ts),
          `${d.device} ${p.ts}`,
        );
      }
      // Every unmap of this clean trace found its mapping: one lifetime each.
      assert.equal(
        d.lifetimes.reduce((a, b) => a + b, 0),
        sum(d.unmaps_by_type),
        d.device,
      );
      assert.equal(d.lifetimes.length, s.lifetime_buckets.length);
      assert.deepEqual(d.findings, {});
    }
    assert.equal(s.totals.live, live);
    // The peak of the sum lies between the largest device peak and the sum of the peaks.
    const peaks = s.devices.map((d) => d.peak_live.value);
    assert.ok(s.totals.peak_live.value >= Math.max(...peaks));
    assert.ok(s.totals.peak_live.value <= peaks.reduce((a, b) => a + b, 0));
    assert.equal(
      sum(s.totals.maps_by_type),
      s.devices.map((d) => sum(d.maps_by_type)).reduce((a, b) => a + b, 0),
    );
  });

  it('text: a table row per device with peak times, a bar line per device, on stdout only', () => {
    const r = dmadebug(['stats', TRACE]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, '');
    const s = JSON.parse(dmadebug(['stats', '--json', TRACE]).out) as Stats;
    assert.match(r.out, /^DEVICE +MAPS +UNMAPS +SYNCS +FAILED +LIVE +LIVE BYTES +PEAK LIVE +AT +PEAK BYTES +AT$/m);
    for (const d of s.devices) {
      const row = r.out.split('\n').find((l) => l.startsWith(`${d.device} `));
      assert.ok(row, d.device);
      const cols = row.split(/ {2,}/);
      assert.equal(cols[1], String(sum(d.maps_by_type)));
      assert.equal(cols[2], String(sum(d.unmaps_by_type)));
      assert.equal(cols[5], String(d.live));
      assert.equal(cols[7], String(d.peak_live.value));
      assert.equal(cols[8], `${d.peak_live.ts} s`);
      assert.match(r.out, new RegExp(`^ {2}${d.device.replace(/\./g, '\\.')} +\\|.{24}\\| {2}n=\\d+`, 'm'));
    }
    assert.match(r.out, /^\(all\) /m);
    assert.match(r.out, /Mapping lifetimes/);
  });

  it('trace.dat gives the same numbers as the text trace (timestamps in ns)', { skip: !existsSync(DAT) }, () => {
    const t = JSON.parse(dmadebug(['stats', '--json', TRACE]).out) as Stats;
    const d = JSON.parse(dmadebug(['stats', '--json', DAT]).out) as Stats;
    assert.equal(d.events, t.events);
    for (const [i, td] of t.devices.entries()) {
      const dd = d.devices[i]!;
      assert.equal(dd.device, td.device);
      assert.deepEqual(dd.maps_by_type, td.maps_by_type);
      assert.deepEqual(dd.unmaps_by_type, td.unmaps_by_type);
      assert.equal(dd.peak_live.value, td.peak_live.value);
      // µs text vs ns trace.dat: the same event, printed with more digits.
      assert.ok(
        Math.abs(secs(dd.peak_live.ts!) - secs(td.peak_live.ts!)) <= 1e-6,
        `${dd.peak_live.ts} ${td.peak_live.ts}`,
      );
    }
  });

  it('exit 2 with a one-line message for input it cannot read; usage errors too', () => {
    const r = dmadebug(['stats', '/nonexistent/trace.txt']);
    assert.equal(r.code, 2);
    assert.equal(r.out, '');
    assert.equal(r.err.trim().split('\n').length, 1);
    assert.equal(dmadebug(['stats']).code, 2);
    assert.equal(dmadebug(['stats', TRACE, TRACE]).code, 2);
  });

  it('--help lists the command', () => {
    assert.match(dmadebug(['--help']).out, /dmadebug stats \[options\] <trace\|->/);
  });
});
