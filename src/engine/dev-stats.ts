// Per-device activity counters for `dmadebug stats`: calls by entry type, syncs
// by kind, live entries and bytes with their peaks (and when each peak was set),
// a log2 histogram of mapping lifetimes, failures and findings by check. The
// engine updates one DevState per device in place (fixed shape, small typed
// arrays made once per device), so counting costs no allocation per event;
// `DmaDebugEngine.stats()` turns them into the plain objects below.

/** A device's call counts, as check's summary reports them. */
export interface DeviceCounts {
  maps: number;
  unmaps: number;
  syncs: number;
  allocs: number;
  frees: number;
  mapFailures: number;
  live: number;
}

/** Short names of the entry types, indexed by EntryType. */
export const STAT_TYPES = ['single', 'sg', 'coherent', 'resource', 'noncoherent', 'phy'] as const;
export type StatType = (typeof STAT_TYPES)[number];

/**
 * Lifetime buckets: 0 is < 1 µs; bucket k (1..LIFETIME_BUCKETS-2) is
 * [2^(k-1), 2^k) µs; the last is >= 2^(LIFETIME_BUCKETS-2) µs (about 4.2 s).
 */
export const LIFETIME_BUCKETS = 24;

/** The bucket of a lifetime of dSec seconds + dNs nanoseconds (either may be negative). */
export function lifetimeBucket(dSec: number, dNs: number): number {
  if (dSec >= 4000) return LIFETIME_BUCKETS - 1;
  const ns = dSec * 1e9 + dNs; // exact: < 2^53
  if (ns < 1000) return 0; // also a map timestamped after its unmap (clock skew between CPUs)
  const b = 32 - Math.clz32((ns / 1000) >>> 0); // < 2^32: dSec < 4000
  return Math.min(b, LIFETIME_BUCKETS - 1);
}

/** The lower bound of each bucket, in ns (bucket 0 starts at 0). */
export function lifetimeBucketStartNs(b: number): number {
  return b === 0 ? 0 : 1000 * 2 ** (b - 1);
}

/** A duration in ns, short: 512ns, 1us, 2ms, 4.2s. */
export function shortDuration(ns: number): string {
  if (ns < 1000) return `${ns}ns`;
  if (ns < 1e6) return `${trim(ns / 1e3)}us`;
  if (ns < 1e9) return `${trim(ns / 1e6)}ms`;
  return `${trim(ns / 1e9)}s`;
}

function trim(x: number): string {
  return x >= 100 ? String(Math.round(x)) : String(Number(x.toPrecision(2)));
}

/** Labels of the buckets: "<1us", "1us", "2us", …, ">=4.2s" (each bucket's lower bound). */
export function lifetimeLabels(): string[] {
  const out: string[] = [];
  for (let b = 0; b < LIFETIME_BUCKETS; b++) {
    if (b === 0) out.push('<1us');
    else if (b === LIFETIME_BUCKETS - 1) out.push(`>=${shortDuration(lifetimeBucketStartNs(b))}`);
    else out.push(shortDuration(lifetimeBucketStartNs(b)));
  }
  return out;
}

/** One device's mutable counters (the engine's DeviceCounts plus the stats). */
export class DevState implements DeviceCounts {
  maps = 0;
  unmaps = 0;
  syncs = 0;
  allocs = 0;
  frees = 0;
  mapFailures = 0;
  /** Live entries (one per sg segment, as dma-debug counts them). */
  live = 0;
  liveBytes = 0;
  peakLive = 0;
  peakLiveSec = 0;
  peakLiveNs = 0;
  peakBytes = 0;
  peakBytesSec = 0;
  peakBytesNs = 0;
  /** Map and alloc calls by entry type (STAT_TYPES order). */
  readonly mapsByType = new Float64Array(STAT_TYPES.length);
  /** Unmap and free calls by the type the call names. */
  readonly unmapsByType = new Float64Array(STAT_TYPES.length);
  /** Failed maps and allocs by type. */
  readonly failuresByType = new Float64Array(STAT_TYPES.length);
  syncSingleForCpu = 0;
  syncSingleForDevice = 0;
  syncSgForCpu = 0;
  syncSgForDevice = 0;
  /** Lifetimes of released mappings (an sg call counts once), LIFETIME_BUCKETS buckets. */
  readonly lifetimes = new Float64Array(LIFETIME_BUCKETS);
  /** Findings by check, made on first use. */
  findings: Map<string, number> | null = null;

  counts(): DeviceCounts {
    const { maps, unmaps, syncs, allocs, frees, mapFailures, live } = this;
    return { maps, unmaps, syncs, allocs, frees, mapFailures, live };
  }
}

export type ByType = Record<StatType, number>;

export interface SyncStats {
  singleForCpu: number;
  singleForDevice: number;
  sgForCpu: number;
  sgForDevice: number;
}

export interface Peak {
  value: number;
  /** The timestamp of the event that set it ("sec.frac"), null when never above 0. */
  at: string | null;
}

/** What `stats` reports of one device, or of all devices together (totals). */
export interface DeviceStats {
  device: string;
  driver: string | null;
  /** The call counts check's summary reports (maps and unmaps without allocs and frees). */
  counts: DeviceCounts;
  /** Map and alloc calls by type; an sg call counts once. */
  maps: ByType;
  /** Unmap and free calls by type. */
  unmaps: ByType;
  syncs: SyncStats;
  /** Failed maps and allocs by type. */
  failures: ByType;
  /** Live entries and bytes at the end (an sg segment is one entry, as in dma-debug). */
  live: number;
  liveBytes: number;
  peakLive: Peak;
  peakBytes: Peak;
  /** Counts per lifetime bucket (see EngineStats.lifetimeBuckets). */
  lifetimes: number[];
  findings: Record<string, number>;
}

export interface EngineStats {
  devices: DeviceStats[];
  /** All devices together; its peaks are of the sum, not the sum of the peaks. */
  totals: DeviceStats;
  /** Every finding by check, including those with no device. */
  findings: Record<string, number>;
  mapFailures: number;
  /** Bucket labels (each bucket's lower bound; the first is "<1us"). */
  lifetimeBuckets: string[];
  /** The lower bound of each bucket in ns. */
  lifetimeBucketStartNs: number[];
  events: number;
  firstTs: string | null;
  lastTs: string | null;
  fromBoot: boolean;
}

export function byType(a: ArrayLike<number>): ByType {
  return { single: a[0]!, sg: a[1]!, coherent: a[2]!, resource: a[3]!, noncoherent: a[4]!, phy: a[5]! };
}

export function sumByType(x: ByType): number {
  return x.single + x.sg + x.coherent + x.resource + x.noncoherent + x.phy;
}
