// Statistics, kept by a tap beside the checks rather than by counters inside
// them: the engine shows the tap every event (calls by device, entry type and
// kind), every entry made and released (live counts and bytes, their peaks and
// when they were reached, mapping lifetimes) and every finding (by check). One
// DevState per device, updated in place (no allocation per event);
// `stats()` turns them into the plain objects `dmadebug stats` prints.

import type { CheckId } from './catalogue.js';
import { tsString } from './coverage.js';
import {
  byType,
  type DeviceCounts,
  type DeviceStats,
  DevState,
  type EngineStats,
  LIFETIME_BUCKETS,
  lifetimeBucket,
  lifetimeBucketStartNs,
  lifetimeLabels,
  STAT_TYPES,
} from './dev-stats.js';
import { type DmaEvent, EventKind, isFailedAlloc, isMappingError, isMmio } from './events.js';
import { EntryType } from './model.js';
import { singleType } from './profiles.js';
import type { EngineState } from './state.js';

export class StatsTap {
  private readonly counts: DevState[] = [];
  /** All devices together: live entries and bytes, their peaks. */
  private readonly all = new DevState();
  /** Set while an unmap_sg releases its segments: the call's lifetime was counted once already. */
  batchRelease = false;
  eventCount = 0;

  constructor(private readonly s: EngineState) {}

  dev(dev: number): DevState {
    let c = this.counts[dev];
    if (!c) {
      c = new DevState();
      if (dev >= 0) this.counts[dev] = c;
    }
    return c;
  }

  /** Counts one handled event's call (after the checks, which decided the kernel profile). */
  event(ev: DmaEvent): void {
    // CpuCutShort and a damaged line's Lost are a reader's marks, not traced events
    if (ev.kind !== EventKind.CpuCutShort && !ev.damaged) this.eventCount++;
    switch (ev.kind) {
      case EventKind.MapPage:
      case EventKind.MapResource: {
        const k = this.s.kernel();
        const type = singleType(k, isMmio(ev));
        const c = this.dev(ev.device);
        if (isMappingError(ev)) {
          c.mapFailures++;
          c.failuresByType[type]!++;
        } else {
          c.maps++;
          c.mapsByType[type]!++;
        }
        break;
      }
      case EventKind.UnmapPage:
      case EventKind.UnmapResource: {
        const k = this.s.kernel();
        const type = singleType(k, isMmio(ev));
        const c = this.dev(ev.device);
        c.unmaps++;
        c.unmapsByType[type]!++;
        break;
      }
      case EventKind.MapSg: {
        const c = this.dev(ev.device);
        c.maps++;
        c.mapsByType[EntryType.Sg]!++;
        break;
      }
      case EventKind.UnmapSg: {
        const c = this.dev(ev.device);
        c.unmaps++;
        c.unmapsByType[EntryType.Sg]!++;
        break;
      }
      case EventKind.MapSgErr:
      case EventKind.AllocSgtErr: {
        const c = this.dev(ev.device);
        c.mapFailures++;
        c.failuresByType[EntryType.Sg]!++;
        break;
      }
      case EventKind.Alloc:
      case EventKind.AllocPages: {
        const type = ev.kind === EventKind.Alloc ? EntryType.Coherent : EntryType.Noncoherent;
        const c = this.dev(ev.device);
        if (isFailedAlloc(ev)) {
          c.mapFailures++;
          c.failuresByType[type]!++;
        } else {
          c.allocs++;
          c.mapsByType[type]!++;
        }
        break;
      }
      case EventKind.Free:
      case EventKind.FreePages: {
        const c = this.dev(ev.device);
        c.frees++;
        c.unmapsByType[ev.kind === EventKind.Free ? EntryType.Coherent : EntryType.Noncoherent]!++;
        break;
      }
      case EventKind.AllocSgt: {
        const c = this.dev(ev.device);
        c.allocs++;
        c.mapsByType[EntryType.Sg]!++;
        break;
      }
      case EventKind.FreeSgt: {
        const c = this.dev(ev.device);
        c.frees++;
        c.unmapsByType[EntryType.Sg]!++;
        break;
      }
      case EventKind.SyncSingleForCpu:
      case EventKind.SyncSingleForDevice:
      case EventKind.SyncSgForCpu:
      case EventKind.SyncSgForDevice: {
        const c = this.dev(ev.device);
        c.syncs++;
        if (ev.kind === EventKind.SyncSingleForCpu) c.syncSingleForCpu++;
        else if (ev.kind === EventKind.SyncSingleForDevice) c.syncSingleForDevice++;
        else if (ev.kind === EventKind.SyncSgForCpu) c.syncSgForCpu++;
        else c.syncSgForDevice++;
        break;
      }
      default:
        break;
    }
  }

  /** A new live entry of `size` bytes for `dev`: live counts and their peaks. */
  created(dev: number, size: number): void {
    const cov = this.s.cov;
    const c = this.dev(dev);
    const live = c.live + 1;
    const bytes = c.liveBytes + size;
    c.live = live;
    c.liveBytes = bytes;
    if (live > c.peakLive) {
      c.peakLive = live;
      c.peakLiveSec = cov.lastTsSec;
      c.peakLiveNs = cov.lastTsNs;
    }
    if (bytes > c.peakBytes) {
      c.peakBytes = bytes;
      c.peakBytesSec = cov.lastTsSec;
      c.peakBytesNs = cov.lastTsNs;
    }
    // all devices: entries.live already counts this entry
    const a = this.all;
    a.liveBytes += size;
    const n = this.s.entries.live;
    if (n > a.peakLive) {
      a.peakLive = n;
      a.peakLiveSec = cov.lastTsSec;
      a.peakLiveNs = cov.lastTsNs;
    }
    if (a.liveBytes > a.peakBytes) {
      a.peakBytes = a.liveBytes;
      a.peakBytesSec = cov.lastTsSec;
      a.peakBytesNs = cov.lastTsNs;
    }
  }

  /** Entry e of `dev` is released (before the table forgets it). */
  released(e: number, dev: number): void {
    const size = this.s.entries.size(e);
    const c = this.counts[dev];
    if (c) {
      c.live--;
      c.liveBytes -= size;
      if (!this.batchRelease) c.lifetimes[this.lifetimeBucketOf(e)]!++;
    }
    this.all.liveBytes -= size;
  }

  /** An unmap_sg releases the call headed by `head`: its lifetime counts once. */
  sgCallReleased(head: number, dev: number): void {
    this.dev(dev).lifetimes[this.lifetimeBucketOf(head)]!++;
  }

  finding(dev: number, check: CheckId): void {
    if (dev < 0) return;
    const c = this.dev(dev);
    c.findings ??= new Map();
    c.findings.set(check, (c.findings.get(check) ?? 0) + 1);
  }

  /** The lifetime bucket of entry e, ending at the current event. */
  private lifetimeBucketOf(e: number): number {
    const t = this.s.entries;
    const cov = this.s.cov;
    const dSec = cov.lastTsSec - t.tsSec(e);
    const dNs = cov.lastTsNs - t.tsNs(e);
    // the common case, within the same second and >= 1 us, in integer arithmetic
    if (dSec === 0 && dNs >= 1000) return Math.min(32 - Math.clz32((dNs / 1000) >>> 0), LIFETIME_BUCKETS - 1);
    return lifetimeBucket(dSec, dNs);
  }

  /** One device's live counters by interned id (undefined before its first call). */
  deviceState(dev: number): Readonly<DevState> | undefined {
    return this.counts[dev];
  }

  deviceCounts(): Map<string, DeviceCounts> {
    const m = new Map<string, DeviceCounts>();
    this.counts.forEach((c, dev) => {
      if (c) m.set(this.s.names.devices.name(dev), c.counts());
    });
    return m;
  }

  /**
   * `dmadebug stats`: per device (sorted by name) the calls by type, syncs by
   * kind, live entries and bytes with their peaks and when each was reached,
   * the lifetime histogram, failures and findings by check; and the totals.
   */
  stats(findingCounts: ReadonlyMap<CheckId, number>): EngineStats {
    const { s } = this;
    const digits = s.cov.lastTsDigits;
    const at = (v: number, sec: number, ns: number) => (v > 0 ? tsString(sec, ns, digits) : null);
    const one = (device: string, c: DevState): DeviceStats => {
      const findings: Record<string, number> = {};
      for (const [k, v] of [...(c.findings ?? [])].sort((x, y) => x[0].localeCompare(y[0]))) findings[k] = v;
      return {
        device,
        driver: s.config.drivers?.get(device) ?? null,
        counts: c.counts(),
        maps: byType(c.mapsByType),
        unmaps: byType(c.unmapsByType),
        syncs: {
          singleForCpu: c.syncSingleForCpu,
          singleForDevice: c.syncSingleForDevice,
          sgForCpu: c.syncSgForCpu,
          sgForDevice: c.syncSgForDevice,
        },
        failures: byType(c.failuresByType),
        live: c.live,
        liveBytes: c.liveBytes,
        peakLive: { value: c.peakLive, at: at(c.peakLive, c.peakLiveSec, c.peakLiveNs) },
        peakBytes: { value: c.peakBytes, at: at(c.peakBytes, c.peakBytesSec, c.peakBytesNs) },
        lifetimes: Array.from(c.lifetimes),
        findings,
      };
    };
    const devices: DeviceStats[] = [];
    const sum = new DevState();
    let mapFailures = 0;
    this.counts.forEach((c, dev) => {
      if (!c) return;
      devices.push(one(s.names.devices.name(dev), c));
      mapFailures += c.mapFailures;
      sum.maps += c.maps;
      sum.unmaps += c.unmaps;
      sum.syncs += c.syncs;
      sum.allocs += c.allocs;
      sum.frees += c.frees;
      sum.mapFailures += c.mapFailures;
      sum.syncSingleForCpu += c.syncSingleForCpu;
      sum.syncSingleForDevice += c.syncSingleForDevice;
      sum.syncSgForCpu += c.syncSgForCpu;
      sum.syncSgForDevice += c.syncSgForDevice;
      for (let i = 0; i < STAT_TYPES.length; i++) {
        sum.mapsByType[i]! += c.mapsByType[i]!;
        sum.unmapsByType[i]! += c.unmapsByType[i]!;
        sum.failuresByType[i]! += c.failuresByType[i]!;
      }
      for (let i = 0; i < LIFETIME_BUCKETS; i++) sum.lifetimes[i]! += c.lifetimes[i]!;
      if (c.findings) {
        sum.findings ??= new Map();
        for (const [k, v] of c.findings) sum.findings.set(k, (sum.findings.get(k) ?? 0) + v);
      }
    });
    devices.sort((x, y) => (x.device < y.device ? -1 : x.device > y.device ? 1 : 0));
    const a = this.all;
    sum.live = s.entries.live;
    sum.liveBytes = a.liveBytes;
    sum.peakLive = a.peakLive;
    sum.peakLiveSec = a.peakLiveSec;
    sum.peakLiveNs = a.peakLiveNs;
    sum.peakBytes = a.peakBytes;
    sum.peakBytesSec = a.peakBytesSec;
    sum.peakBytesNs = a.peakBytesNs;
    const findings: Record<string, number> = {};
    for (const [k, v] of [...findingCounts].sort((x, y) => x[0].localeCompare(y[0]))) findings[k] = v;
    const labels = lifetimeLabels();
    return {
      devices,
      totals: one('(all)', sum),
      findings,
      mapFailures,
      lifetimeBuckets: labels,
      lifetimeBucketStartNs: labels.map((_, b) => lifetimeBucketStartNs(b)),
      events: this.eventCount,
      firstTs: s.cov.firstTs,
      lastTs: s.cov.lastTs,
      fromBoot: s.cov.fromBoot,
    };
  }
}
