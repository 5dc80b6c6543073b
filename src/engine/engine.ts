// The DMA-API debug engine: kernel/dma/debug.c's model and checks, driven by
// events instead of hooks. It owns the entry table, the active cachelines, the
// entry pool, the error policy and the coverage rules; it does no I/O and knows
// no input format. Parsers call handle() with a reused DmaEvent; embedders may
// instead call the typed methods (mapPage, unmapPage, …, mappingError, unbind,
// assertIdle), which is how checks with no tracepoint are reached.
//
// Coverage ("never cry wolf"): a lookup that finds nothing proves a bug only
// when the trace covers everything since boot and no events were lost. Otherwise
// the finding is `unconfirmed`, unless this trace itself shows the address being
// unmapped with no map since (a proven double unmap). Losses are counted as
// epochs; an entry made before the latest loss cannot prove a mismatch either.
// A CPU cut short by damaged input (CpuCutShort) is a loss that never ends:
// from then on nothing that depends on earlier events is proven.

import type { Names } from '../base/interner.js';
import { IdPairTable } from '../base/key-table.js';
import { hex16 } from '../base/u64.js';
import { CachelineTracker, clnHiOf, clnLoOf, INSERTED, OVERFLOW } from './cachelines.js';
import {
  byType,
  type DeviceStats,
  DevState,
  type EngineStats,
  LIFETIME_BUCKETS,
  lifetimeBucket,
  lifetimeBucketStartNs,
  lifetimeLabels,
} from './dev-stats.js';
import {
  bucketOf,
  EntryTable,
  F_SG_TRUNCATED,
  metaDev,
  metaDir,
  metaMapErr,
  metaPhysKnown,
  metaType,
} from './entries.js';
import {
  ATTR_CACHELINES_OVERLAP,
  ATTR_MMIO,
  ATTR_REQUIRE_COHERENT,
  ATTR_SKIP_CPU_SYNC,
  Dir,
  DmaEvent,
  EventKind,
  type InputFacts,
} from './events.js';
import type { CheckId, EventRef, Finding, FindingSink, MappingInfo, Severity } from './findings.js';
import { addr, msg, pa } from './messages.js';
import {
  DEFAULT_PREALLOC_ENTRIES,
  DIR_NAMES,
  EntryType,
  MAP_ERR_NAMES,
  MAX_OVERLAP,
  MapErr,
  TYPE_NAMES,
} from './model.js';
import { PhysIndex } from './phys-index.js';
import { EntryPool, POOL_EXHAUSTED, POOL_GREW } from './pool.js';
import {
  ARCH_PROFILES,
  type ArchName,
  type ArchProfile,
  KERNEL_PROFILES,
  type KernelName,
  type KernelProfile,
  type ProfileChoice,
  resolveProfile,
} from './profiles.js';
import { RecentUnmaps } from './recent-unmaps.js';
import { SgIndex } from './sg-index.js';

/** Knobs, as the kernel's command line and debugfs have them. */
export interface EngineConfig {
  /** dma_debug_driver= / driver_filter: only this driver's errors are shown. */
  driverFilter: string | null;
  /** num_errors: how many errors to show; Infinity = all_errors. */
  numErrors: number;
  /** dma_debug_entries=: the preallocated pool size. */
  entries: number;
  /** The pool grows on demand (kernels since 5.x). false models an old fixed pool. */
  poolGrows: boolean;
  /** Does the input cover everything since boot? null = decide from the input. */
  fromBoot: boolean | null;
  /** A first event at or before this many seconds after boot counts as early boot. */
  earlyBootSeconds: number;
  /** Side information: device name -> driver name. */
  drivers: ReadonlyMap<string, string> | null;
  /** Side information: kernel text/rodata physical ranges [start, end) as bigint. */
  kernelImage: ReadonlyArray<{ start: bigint; end: bigint; name: string }> | null;
  /** Side information: per-device sg limits (max segment size, segment boundary mask). */
  segmentLimits: ReadonlyMap<string, { maxSegmentSize: number; segmentBoundary: bigint }> | null;
  /** The caller reports dma_mapping_error() calls (library use). Traces cannot. */
  tracksMappingErrors: boolean;
  /** The kernel line whose dma-debug to reproduce; null = decide from the input (profiles.ts). */
  kernel: KernelName | null;
  /** The traced machine's architecture; null = decide from the input. */
  arch: ArchName | null;
  /**
   * Side information: RAM that is not reserved ("System RAM" of /proc/iomem),
   * [start, end) as bigint, for 7.x's check of MMIO maps of RAM.
   */
  systemRam: ReadonlyArray<{ start: bigint; end: bigint }> | null;
  /** Side information: the traced kernel as a recorder saw it (`uname -r`, `uname -m`), and where from. */
  sideKernel: { release: string | null; machine: string | null; source: string } | null;
}

export function defaultConfig(): EngineConfig {
  return {
    driverFilter: null,
    numErrors: Number.POSITIVE_INFINITY,
    entries: DEFAULT_PREALLOC_ENTRIES,
    poolGrows: true,
    fromBoot: null,
    earlyBootSeconds: 2,
    drivers: null,
    kernelImage: null,
    segmentLimits: null,
    tracksMappingErrors: false,
    kernel: null,
    arch: null,
    systemRam: null,
    sideKernel: null,
  };
}

/** What the summary says about coverage. */
export interface Coverage {
  fromBoot: boolean;
  /** How fromBoot was decided. */
  decidedBy: string;
  firstTs: string | null;
  lastTs: string | null;
  /** LOST EVENTS notices and the events they counted (0 when not stated). */
  lossNotices: number;
  lostEvents: number;
  lostByCpu: Record<string, number>;
  /** The ring buffer overwrote this many events before the trace was read. */
  overwritten: number;
  unknownUnmaps: number;
  unknownSyncs: number;
  /** sg calls whose arrays the kernel truncated: their later segments are unknown. */
  truncatedSgCalls: number;
  /** Coherent/noncoherent entries whose physical address the trace cannot tell. */
  unknownPhysEntries: number;
  /** CPUs whose events stop early because the input is damaged there, and from when (s; null: from the start). */
  cutShort: Array<{ cpu: number; from: string | null }>;
}

export interface PoolState {
  modelled: boolean;
  preallocated: number;
  nrTotalEntries: number;
  numFreeEntries: number;
  minFreeEntries: number;
  peakUsed: number;
  disabled: boolean;
}

export interface DeviceCounts {
  maps: number;
  unmaps: number;
  syncs: number;
  allocs: number;
  frees: number;
  mapFailures: number;
  live: number;
}

/** One dump line's data (renderers format it). */
export interface DumpEntry {
  device: string;
  driver: string | null;
  type: string;
  bucket: number;
  /** null when the trace cannot tell the physical address */
  phys: string | null;
  dma: string;
  size: number;
  /** cacheline (phys >> 6) as %pa, null when phys is unknown */
  cln: string | null;
  direction: string;
  mapError: string;
  mappedAt: EventRef;
  stack: string[] | null;
}

/** One leak-at-end group: live mappings of one device from one call site. */
export interface LeakGroup {
  device: string;
  /** The mapping stack (frames), or null when the trace had none. */
  stack: string[] | null;
  count: number;
  bytes: number;
  /** How many were mapped since the last loss of events (the rest may have been unmapped unseen). */
  fresh: number;
}

const ALL_ONES = 0xffffffff;
/** x86_64 direct map without KASLR: 0xffff888000000000 + phys, up to 64 TiB. */
const DIRECT_MAP_HI = 0xffff8880;
const DIRECT_MAP_END_HI = 0xffffc880;
/** Device-id bit that puts sg keys (by physical address) in their own namespace. */
const SG_KEY = 0x40000000;

export class DmaDebugEngine {
  readonly config: EngineConfig;
  readonly names: Names;
  private readonly sink: FindingSink;
  readonly entries = new EntryTable();
  readonly cachelines = new CachelineTracker(this.entries);
  /** Exact physical ranges of the live entries the device may write to (page-freed-while-mapped). */
  readonly physIndex = new PhysIndex(this.entries);
  private pool: EntryPool;
  private poolDisabled = false;
  private facts: InputFacts | null = null;

  // --- coverage ---
  private started = false;
  private fromBoot = false;
  private decidedBy = '';
  private epoch = 0;
  private firstTs: string | null = null;
  private lastTsSec = 0;
  private lastTsNs = 0;
  private lastTsDigits = 6;
  private lossNotices = 0;
  private lostEvents = 0;
  private readonly lostByCpu = new Map<number, number>();
  /** CPUs whose later events are missing (damaged input), and from when. */
  private readonly cutShort: Array<{ cpu: number; from: string | null }> = [];
  private unknownUnmaps = 0;
  private unknownSyncs = 0;
  private truncatedSgCalls = 0;

  // --- error policy ---
  errorCount = 0;
  private showNumErrors: number;
  private overlapWarned = false;
  private overlapLimitUnproven = false;
  private poolUnproven = false;
  readonly findingCounts = new Map<CheckId, number>();
  readonly severityCounts = { error: 0, unconfirmed: 0, info: 0 };
  eventCount = 0;

  // --- per-device state, indexed by interned device id ---
  private identityEvidence = new Uint8Array(64);
  private counts: DevState[] = [];
  /** All devices together: live entries and bytes, their peaks (stats). */
  private readonly all = new DevState();
  /** Set while an unmap_sg releases its segments: its lifetime was counted once already. */
  private inSgUnmap = false;

  // --- indexes ---
  /** Live sg calls by (device, first physical address) -> head entry. */
  private readonly sgIndex = new SgIndex(this.entries);
  private callSeq = 1;
  /** Coherent/noncoherent virt pointers by entry id. */
  private readonly virt = new IdPairTable();
  /** Entries of the last dma event per CPU, for the stack block that follows it. */
  /** By cpu: [head entry (-1 = none), its call id, 1 = a single mapping], 3 words each; grows with the cpu numbers seen. */
  private lastOnCpu = new Int32Array(3 * 64).fill(-1);
  private maxSize = 0;

  /** Recent unmaps by (device, DMA address). */
  private readonly recent = new RecentUnmaps();
  /**
   * Recent sg unmaps by (device | SG_KEY, first physical address): a map forgets
   * its key here, so this table is small enough to stay in the CPU's cache.
   */
  private readonly recentSg = new RecentUnmaps(1 << 12);

  // scratch for sg unmaps
  private scratchHi = new Uint32Array(64);
  private scratchLo = new Uint32Array(64);
  private scratchSize = new Float64Array(64);

  /** The event being handled (for EventRefs), or null for direct library calls. */
  private cur: DmaEvent | null = null;

  constructor(names: Names, sink: FindingSink, config: Partial<EngineConfig> = {}) {
    this.config = { ...defaultConfig(), ...config };
    this.names = names;
    this.sink = sink;
    this.showNumErrors = this.config.numErrors;
    this.pool = new EntryPool(Math.max(1, this.config.entries), this.config.poolGrows);
  }

  private choice: ProfileChoice | null = null;
  private kp: KernelProfile = KERNEL_PROFILES['7.3'];
  private ap: ArchProfile = ARCH_PROFILES.x86_64;

  /**
   * The kernel profile in force, and why. Decided at the first event that
   * depends on it, from the user's --kernel/--arch, then the input's facts
   * (uname, formats, the first single-mapping event's name), else assumed.
   */
  profile(): ProfileChoice {
    if (this.choice === null) this.resolveProfile();
    return this.choice!;
  }

  private resolveProfile(): void {
    const f = this.facts;
    const c = resolveProfile({
      kernel: this.config.kernel,
      arch: this.config.arch,
      kernelRelease: f?.kernelRelease ?? this.config.sideKernel?.release ?? null,
      machine: f?.machine ?? this.config.sideKernel?.machine ?? null,
      kernelSource: f?.kernelRelease || f?.machine ? f.kernelSource : (this.config.sideKernel?.source ?? null),
      mapEvents: f?.mapEvents ?? null,
      mapEventsSource: f?.mapEventsSource ?? null,
    });
    this.choice = c;
    this.kp = KERNEL_PROFILES[c.kernel];
    this.ap = ARCH_PROFILES[c.arch];
  }

  /** Header facts from the parser (read when the first event arrives). */
  attachInputFacts(facts: InputFacts): void {
    this.facts = facts;
  }

  // ------------------------------------------------------------------
  // Event dispatch
  // ------------------------------------------------------------------

  handle(ev: DmaEvent): void {
    this.cur = ev;
    if (!this.started) this.start(ev);
    if (ev.kind !== EventKind.Lost && ev.kind !== EventKind.CpuCutShort) {
      if (this.firstTs === null) this.firstTs = tsString(ev.tsSec, ev.tsNs, ev.tsDigits);
      this.lastTsSec = ev.tsSec;
      this.lastTsNs = ev.tsNs;
      this.lastTsDigits = ev.tsDigits;
    }
    if (ev.kind !== EventKind.CpuCutShort) this.eventCount++; // a reader's mark, not a traced event
    switch (ev.kind) {
      case EventKind.MapPage:
        this.onMapSingle(ev, (ev.attrs & ATTR_MMIO) !== 0 ? EntryType.Resource : EntryType.Single);
        break;
      case EventKind.MapResource:
        this.onMapSingle(ev, EntryType.Resource);
        break;
      case EventKind.UnmapPage: {
        const c = this.devCounts(ev.device);
        c.unmaps++;
        c.unmapsByType[(ev.attrs & ATTR_MMIO) !== 0 ? EntryType.Resource : EntryType.Single]!++;
        this.checkUnmap(
          ev.device,
          ev.addrHi,
          ev.addrLo,
          ev.size,
          (ev.attrs & ATTR_MMIO) !== 0 ? EntryType.Resource : EntryType.Single,
          ev.dir,
          0,
          null,
        );
        break;
      }
      case EventKind.UnmapResource: {
        const c = this.devCounts(ev.device);
        c.unmaps++;
        c.unmapsByType[EntryType.Resource]!++;
        this.checkUnmap(ev.device, ev.addrHi, ev.addrLo, ev.size, EntryType.Resource, ev.dir, 0, null);
        break;
      }
      case EventKind.MapSg:
        this.onMapSg(ev);
        break;
      case EventKind.UnmapSg:
        this.onUnmapSg(ev);
        break;
      case EventKind.MapSgErr:
      case EventKind.AllocSgtErr:
        this.devCounts(ev.device).mapFailures++;
        this.mapFailed(ev);
        break;
      case EventKind.PageFree:
        if (this.physIndex.count !== 0) this.onPageFree(ev);
        break;
      case EventKind.Alloc:
        this.onAlloc(ev, EntryType.Coherent);
        break;
      case EventKind.AllocPages:
        this.onAlloc(ev, EntryType.Noncoherent);
        break;
      case EventKind.Free:
        this.onFree(ev, EntryType.Coherent);
        break;
      case EventKind.FreePages:
        this.onFree(ev, EntryType.Noncoherent);
        break;
      case EventKind.AllocSgt:
        this.onAllocSgt(ev);
        break;
      case EventKind.FreeSgt: {
        const c = this.devCounts(ev.device);
        c.frees++;
        c.unmapsByType[EntryType.Sg]!++;
        this.checkUnmap(ev.device, ev.addrHi, ev.addrLo, ev.size, EntryType.Sg, ev.dir, ev.sgPhys.count, null);
        break;
      }
      case EventKind.SyncSingleForCpu:
      case EventKind.SyncSingleForDevice: {
        const c = this.devCounts(ev.device);
        c.syncs++;
        if (ev.kind === EventKind.SyncSingleForCpu) c.syncSingleForCpu++;
        else c.syncSingleForDevice++;
        this.checkSync(
          ev.device,
          ev.addrHi,
          ev.addrLo,
          ev.size,
          EntryType.Single,
          ev.dir,
          0,
          ev.kind === EventKind.SyncSingleForCpu,
        );
        break;
      }
      case EventKind.SyncSgForCpu:
      case EventKind.SyncSgForDevice: {
        const c = this.devCounts(ev.device);
        c.syncs++;
        if (ev.kind === EventKind.SyncSgForCpu) c.syncSgForCpu++;
        else c.syncSgForDevice++;
        this.onSyncSg(ev, ev.kind === EventKind.SyncSgForCpu);
        break;
      }
      case EventKind.Lost:
        this.noteLoss(ev.cpu, ev.lost);
        break;
      case EventKind.CpuCutShort:
        // before any event was read, none of this CPU's events were
        this.noteCutShort(ev.cpu, this.firstTs === null ? null : tsString(ev.tsSec, ev.tsNs, ev.tsDigits));
        break;
      case EventKind.Stack:
        this.onStack(ev.cpu, ev.stack);
        break;
      case EventKind.Unbind:
        this.unbindDevice(ev.device, ev.text || 'pci');
        break;
      default:
        // Marker: no check uses it.
        break;
    }
    this.cur = null;
  }

  /** Decides coverage when the first event arrives. */
  private start(ev: DmaEvent): void {
    this.started = true;
    const f = this.facts;
    if (this.config.fromBoot !== null) {
      this.fromBoot = this.config.fromBoot;
      this.decidedBy = 'set by the user';
    } else if (f?.overwritten) {
      this.fromBoot = false;
      this.decidedBy = `the ring buffer overwrote ${f.overwrittenCount} events before it was read`;
    } else if (ev.kind === EventKind.CpuCutShort) {
      this.fromBoot = false;
      this.decidedBy = `the input is damaged before CPU ${ev.cpu}'s first event`;
    } else if (ev.tsSec + ev.tsNs / 1e9 > this.config.earlyBootSeconds) {
      this.fromBoot = false;
      this.decidedBy = `the first event is at ${tsString(ev.tsSec, ev.tsNs, ev.tsDigits)} s, after early boot (> ${this.config.earlyBootSeconds} s)`;
    } else if (ev.kind === EventKind.Lost) {
      this.fromBoot = false;
      this.decidedBy = 'the input starts with lost events';
    } else {
      this.fromBoot = true;
      this.decidedBy = `the first event is at ${tsString(ev.tsSec, ev.tsNs, ev.tsDigits)} s (early boot) and nothing was overwritten`;
    }
  }

  /** Marks the start of a direct (library) session: no trace, so the caller vouches for coverage. */
  private ensureStarted(): void {
    if (this.started) return;
    this.started = true;
    this.fromBoot = this.config.fromBoot ?? true;
    this.decidedBy = this.config.fromBoot === null ? 'library calls (the caller sees every call)' : 'set by the user';
  }

  /** Why a finding is unconfirmed: once a CPU was cut short, that is the reason that always holds. */
  private unprovenNote(why: string | null): string | null {
    if (!this.lossOngoing) return why;
    const c = this.cutShort[0]!;
    const missing =
      c.from === null
        ? `none of CPU ${c.cpu}'s events could be read`
        : `CPU ${c.cpu}'s events after ${c.from} s are missing`;
    return `${missing} (damaged input), and this may depend on them`;
  }

  /** Every later event of `cpu` is missing: an epoch that never ends. */
  private noteCutShort(cpu: number, from: string | null): void {
    this.epoch++;
    this.entries.noteLoss();
    this.entries.noteOngoingLoss();
    this.cutShort.push({ cpu, from });
  }

  /** A CPU was cut short: its later events are all missing. */
  private get lossOngoing(): boolean {
    return this.cutShort.length > 0;
  }

  private noteLoss(cpu: number, count: number): void {
    this.epoch++;
    this.entries.noteLoss();
    this.lossNotices++;
    this.lostEvents += count;
    this.lostByCpu.set(cpu, (this.lostByCpu.get(cpu) ?? 0) + count);
  }

  // ------------------------------------------------------------------
  // Maps
  // ------------------------------------------------------------------

  private onMapSingle(ev: DmaEvent, type: EntryType): void {
    const c = this.devCounts(ev.device);
    if (ev.addrHi === ALL_ONES && ev.addrLo === ALL_ONES) {
      c.mapFailures++; // DMA_MAPPING_ERROR: the kernel makes no entry
      this.mapFailed(ev);
      return;
    }
    c.maps++;
    c.mapsByType[type]!++;
    if (ev.hasPhys) this.noteIdentity(ev.device, ev.addrHi === ev.physHi && ev.addrLo === ev.physLo);
    const mapErr = this.config.tracksMappingErrors ? MapErr.NotChecked : MapErr.Unknown;
    const e = this.newEntry(ev.device, ev.addrHi, ev.addrLo, ev.size, type, ev.dir, mapErr);
    if (e < 0) return;
    if (ev.hasPhys) this.entries.setPhys(e, ev.physHi, ev.physLo);
    this.checkKernelImage(e);
    this.addEntry(e, ev.attrs);
    this.setLastOnCpu(e, false);
  }

  private onMapSg(ev: DmaEvent): void {
    const c = this.devCounts(ev.device);
    c.maps++;
    c.mapsByType[EntryType.Sg]!++;
    const known = Math.min(ev.ents, ev.sgDma.count, ev.sgLen.count);
    if (known < ev.ents || ev.truncated) this.truncatedSgCalls++;
    const call = this.nextCall();
    let head = -1;
    let prev = -1;
    for (let i = 0; i < known; i++) {
      const dHi = ev.sgDma.hi[i]!;
      const dLo = ev.sgDma.lo[i]!;
      const hasPhys = i < ev.sgPhys.count;
      if (hasPhys) this.noteIdentity(ev.device, dHi === ev.sgPhys.hi[i] && dLo === ev.sgPhys.lo[i]);
      const e = this.newEntry(ev.device, dHi, dLo, ev.sgLen.v[i]!, EntryType.Sg, ev.dir, MapErr.NotApplicable);
      if (e < 0) break;
      const t = this.entries;
      if (hasPhys) {
        t.setPhys(e, ev.sgPhys.hi[i]!, ev.sgPhys.lo[i]!);
      }
      if (known < ev.ents || ev.truncated) t.setFlag(e, F_SG_TRUNCATED);
      t.setSg(e, ev.nents, ev.ents);
      t.setCallId(e, call);
      if (prev >= 0) t.setSgNext(prev, e);
      else head = e;
      prev = e;
      this.checkKernelImage(e);
      this.checkSgSegment(e);
      this.addEntry(e, ev.attrs);
    }
    if (head >= 0) {
      this.indexSgCall(head);
      this.setLastOnCpu(head, true);
    }
  }

  private onAllocSgt(ev: DmaEvent): void {
    const c = this.devCounts(ev.device);
    c.allocs++;
    c.mapsByType[EntryType.Sg]!++;
    // dma_alloc_noncontiguous() records one sg entry for the whole buffer.
    const e = this.newEntry(ev.device, ev.addrHi, ev.addrLo, ev.size, EntryType.Sg, ev.dir, MapErr.NotApplicable);
    if (e < 0) return;
    const t = this.entries;
    if (ev.sgPhys.count > 0) {
      t.setPhys(e, ev.sgPhys.hi[0]!, ev.sgPhys.lo[0]!);
    }
    t.setSg(e, ev.sgPhys.count, 1);
    t.setCallId(e, this.nextCall());
    this.addEntry(e, ev.attrs);
    this.setLastOnCpu(e, false);
  }

  private onAlloc(ev: DmaEvent, type: EntryType): void {
    const c = this.devCounts(ev.device);
    const virtNull = ev.hasVirt && ev.virtHi === 0 && ev.virtLo === 0;
    const noAddr = !ev.hasVirt && ev.addrHi === 0 && ev.addrLo === 0 && !(ev.hasPhys && ev.physLo !== 0);
    if (virtNull || noAddr) {
      c.mapFailures++; // a failed allocation: the kernel makes no entry
      this.mapFailed(ev);
      return;
    }
    c.allocs++;
    c.mapsByType[type]!++;
    // Coherent memory is bidirectional by definition, whatever a 6.13-era trace says.
    const dir = type === EntryType.Coherent ? Dir.Bidirectional : ev.dir;
    const e = this.newEntry(ev.device, ev.addrHi, ev.addrLo, ev.size, type, dir, MapErr.NotApplicable);
    if (e < 0) return;
    const t = this.entries;
    if (ev.hasVirt) this.virt.set(e, ev.virtHi, ev.virtLo);
    if (this.cpuPhys(ev)) {
      t.setPhys(e, this.cpHi, this.cpLo);
    } else if (this.hasIdentity(ev.device)) {
      t.setPhys(e, ev.addrHi, ev.addrLo);
    }
    this.addEntry(e, ev.attrs);
    this.setLastOnCpu(e, false);
  }

  /** The CPU physical address an alloc/free event itself proves, if any. */
  private cpuPhys(ev: DmaEvent): boolean {
    if (ev.hasPhys) {
      this.cpHi = ev.physHi;
      this.cpLo = ev.physLo;
      return true;
    }
    if (ev.hasVirt && ev.virtRaw) {
      const hi = ev.virtHi >>> 0;
      if (hi >= DIRECT_MAP_HI && hi < DIRECT_MAP_END_HI) {
        this.cpHi = hi - DIRECT_MAP_HI;
        this.cpLo = ev.virtLo >>> 0;
        return true;
      }
    }
    return false;
  }
  /** cpuPhys()'s answer (halves), valid when it returned true: no array per alloc. */
  private cpHi = 0;
  private cpLo = 0;

  private onFree(ev: DmaEvent, type: EntryType): void {
    const c = this.devCounts(ev.device);
    c.frees++;
    c.unmapsByType[type]!++;
    const dir = type === EntryType.Coherent ? Dir.Bidirectional : ev.dir;
    this.checkUnmap(ev.device, ev.addrHi, ev.addrLo, ev.size, type, dir, 0, ev);
  }

  /** Allocates and fills the common fields of a new entry; -1 when dma-debug gave up. */
  private newEntry(
    dev: number,
    hi: number,
    lo: number,
    size: number,
    type: number,
    dir: number,
    mapErr: number,
  ): number {
    if (this.poolDisabled) return -1;
    if (this.fromBoot) {
      const rc = this.pool.take();
      if (rc === POOL_EXHAUSTED && this.epoch === 0) {
        this.poolDisabled = true;
        this.emit('pool-exhausted', 'error', msg.outOfMemory(), -1, -1, true, null);
        return -1;
      }
      if (rc === POOL_EXHAUSTED && !this.poolUnproven) {
        // after a loss the pool may hold entries whose unmaps were lost: say so once, check on
        this.poolUnproven = true;
        const why = 'events were lost, so the pool may hold entries whose unmaps are missing; checking goes on';
        this.emit('pool-exhausted', 'unconfirmed', msg.outOfMemory(), -1, -1, true, this.unprovenNote(why));
      }
      if (rc === POOL_GREW) this.emit('pool-grown', 'info', this.pool.grewMessage(), -1, -1, true, null);
    }
    const e = this.entries.create(dev, hi, lo, size, type, dir, mapErr, this.cur);
    if (size > this.maxSize) this.maxSize = size;
    this.noteLive(this.devCounts(dev), size);
    // All devices: entries.live already counts this entry.
    const a = this.all;
    a.liveBytes += size;
    if (this.entries.live > a.peakLive) {
      a.peakLive = this.entries.live;
      a.peakLiveSec = this.lastTsSec;
      a.peakLiveNs = this.lastTsNs;
    }
    if (a.liveBytes > a.peakBytes) {
      a.peakBytes = a.liveBytes;
      a.peakBytesSec = this.lastTsSec;
      a.peakBytesNs = this.lastTsNs;
    }
    return e;
  }

  /** One more live entry of `size` bytes: the live counts and their peaks (stats). */
  private noteLive(c: DevState, size: number): void {
    const live = c.live + 1;
    const bytes = c.liveBytes + size;
    c.live = live;
    c.liveBytes = bytes;
    if (live > c.peakLive) {
      c.peakLive = live;
      c.peakLiveSec = this.lastTsSec;
      c.peakLiveNs = this.lastTsNs;
    }
    if (bytes > c.peakBytes) {
      c.peakBytes = bytes;
      c.peakBytesSec = this.lastTsSec;
      c.peakBytesNs = this.lastTsNs;
    }
  }

  /** add_dma_entry(): hash it, then track its first cacheline (and its exact range). */
  private addEntry(e: number, attrs: number): void {
    const t = this.entries;
    t.link(e);
    const m = t.meta(e);
    if (metaDir(m) === Dir.ToDevice || !metaPhysKnown(m)) return;
    this.physIndex.insert(e);
    this.insertCacheline(e, attrs);
  }

  /** map-failed (ours, info): a map or alloc that returned an error; the driver may handle it. */
  private mapFailed(ev: DmaEvent): void {
    let text: string;
    let type: EntryType;
    const a = addr(ev.addrHi, ev.addrLo);
    switch (ev.kind) {
      case EventKind.MapSgErr:
        text = msg.mapSgFailed('dma_map_sg', ev.nents, ev.err, ev.dir);
        type = EntryType.Sg;
        break;
      case EventKind.AllocSgtErr:
        text = msg.mapFailed('dma_alloc_noncontiguous', a, ev.size, ev.dir);
        type = EntryType.Sg;
        break;
      case EventKind.Alloc:
        text = msg.mapFailed('dma_alloc_coherent', a, ev.size, Dir.Bidirectional);
        type = EntryType.Coherent;
        break;
      case EventKind.AllocPages:
        text = msg.mapFailed('dma_alloc_pages', a, ev.size, ev.dir);
        type = EntryType.Noncoherent;
        break;
      case EventKind.MapResource:
        text = msg.mapFailed('dma_map_resource', a, ev.size, ev.dir);
        type = EntryType.Resource;
        break;
      default:
        text = msg.mapFailed('dma_map_page', a, ev.size, ev.dir);
        type = (ev.attrs & ATTR_MMIO) !== 0 ? EntryType.Resource : EntryType.Single;
    }
    this.devCounts(ev.device).failuresByType[type]!++;
    this.emit('map-failed', 'info', text, ev.device, -1, false, null, null, false);
  }

  /**
   * page-freed-while-mapped (ours): a freed page block [pfn << 12, (pfn + 2^order) << 12)
   * intersects a live mapping the device may write to. Each mapping is reported
   * once: it then leaves the range index (not the cacheline tracker), so a
   * later overlap-exact list leaves it out.
   */
  private onPageFree(ev: DmaEvent): void {
    const order = Math.min(Math.max(ev.order, 0), 20); // a 1 GiB page is order 18
    const e = this.physIndex.findPages(ev.pfnHi, ev.pfnLo, order);
    if (e < 0) return;
    const t = this.entries;
    const m = t.meta(e);
    const text = msg.pageFreedWhileMapped(
      `0x${hexNoPad(ev.pfnHi, ev.pfnLo)}`,
      order,
      addr(t.dmaHi(e), t.dmaLo(e)),
      t.size(e),
      metaDir(m),
    );
    const proven = t.freshMeta(m);
    const note = proven
      ? 'the page was freed while this mapping, which the device may write to, was live'
      : this.unprovenNote('events were lost after this mapping was made (its unmap may be among them)');
    this.emit(
      'page-freed-while-mapped',
      proven ? 'error' : 'unconfirmed',
      text,
      metaDev(m),
      e,
      false,
      note,
      null,
      false,
    );
    // Once per mapping: its later page frees (the page recycled and freed again) would repeat it.
    this.physIndex.remove(e);
  }

  /**
   * overlap-exact (ours, info): where the kernel printed EEXIST or the overlap
   * limit, the exact number of live mappings whose first cacheline this is.
   */
  private overlapExact(e: number): void {
    const t = this.entries;
    const list = this.onFirstCacheline(e);
    const cHi = clnHiOf(t.physHi(e));
    const cLo = clnLoOf(t.physHi(e), t.physLo(e));
    list.sort((x, y) => t.line(x) - t.line(y) || x - y);
    const own = t.dev(e);
    const shown = list.slice(0, 32).map((x) => {
      const d = addr(t.dmaHi(x), t.dmaLo(x));
      return t.dev(x) === own ? d : `${this.names.devices.name(t.dev(x))} ${d}`;
    });
    const more = list.length > 32 ? ` and ${list.length - 32} more` : '';
    const cln = pa(cHi, cLo);
    const k = this.cachelines.overlap(cHi, cLo);
    this.emit(
      'overlap-exact',
      'info',
      msg.overlapExact(cln, list.length, Math.max(k, 0)),
      own,
      e,
      false,
      `overlapping mappings (device address): ${shown.join(', ')}${more}`,
      null,
      false,
    );
  }
  private readonly overlapList: number[] = [];

  /** The live mappings whose first cacheline is e's, e included (in overlapList, reused). */
  private onFirstCacheline(e: number): number[] {
    const t = this.entries;
    const pHi = t.physHi(e);
    const pLo = t.physLo(e);
    const cHi = clnHiOf(pHi);
    const cLo = clnLoOf(pHi, pLo);
    const start = (cHi * 4294967296 + cLo) * 64;
    const list = this.overlapList;
    list.length = 0;
    this.physIndex.collect(start, start + 64, list);
    let n = 0;
    for (const x of list) {
      if (x === e || (clnHiOf(t.physHi(x)) === cHi && clnLoOf(t.physHi(x), t.physLo(x)) === cLo)) list[n++] = x;
    }
    list.length = n;
    if (list.indexOf(e) < 0) list.push(e); // a size-0 mapping is not in the range index
    return list;
  }

  /**
   * Past the overlap limit with events lost, the count may hold mappings whose
   * unmaps were lost: proven only by enough mappings made since the latest loss.
   */
  private overlapLimitProven(e: number): boolean {
    if (this.epoch === 0) return true;
    const t = this.entries;
    let fresh = 0;
    for (const x of this.onFirstCacheline(e)) if (t.fresh(x)) fresh++;
    return fresh > MAX_OVERLAP + 1; // the owner, MAX_OVERLAP overlaps, and this one
  }

  private insertCacheline(e: number, attrs: number): void {
    const t = this.entries;
    const rc = this.cachelines.insert(e);
    if (rc === INSERTED) return;
    let warned = false;
    if (rc === OVERFLOW && !this.overlapWarned) {
      // WARN_ONCE: not an err_printk, no device prefix; once unconfirmed, and once proven
      const cln = pa(clnHiOf(t.physHi(e)), clnLoOf(t.physHi(e), t.physLo(e)));
      if (this.overlapLimitProven(e)) {
        this.overlapWarned = true;
        warned = true;
        this.emit('cacheline-overlap-limit', 'error', msg.overlapLimit(cln), t.dev(e), e, true, null);
      } else if (!this.overlapLimitUnproven) {
        this.overlapLimitUnproven = true;
        warned = true;
        const why = 'events were lost since some of these mappings were made (their unmaps may be among them)';
        this.emit(
          'cacheline-overlap-limit',
          'unconfirmed',
          msg.overlapLimit(cln),
          t.dev(e),
          e,
          true,
          this.unprovenNote(why),
        );
      }
    }
    // EEXIST (or past the limit): an overlap.
    if ((attrs & (ATTR_SKIP_CPU_SYNC | ATTR_CACHELINES_OVERLAP | ATTR_REQUIRE_COHERENT)) !== 0) {
      if (warned) this.overlapExact(e);
      return;
    }
    const owner = this.cachelines.lastOwner;
    const proven = owner >= 0 && owner < t.cap && t.fresh(owner);
    this.err(
      'cacheline-overlap',
      msg.eexist(),
      t.dev(e),
      e,
      proven,
      'events were lost since the overlapping mapping was made',
    );
    this.overlapExact(e);
  }

  // ------------------------------------------------------------------
  // Unmaps and frees
  // ------------------------------------------------------------------

  /**
   * check_unmap(): find the entry by exact best fit and compare. `freeEv` is the
   * free event for coherent/noncoherent frees (its virt_addr is compared).
   */
  private checkUnmap(
    dev: number,
    hi: number,
    lo: number,
    size: number,
    type: number,
    dir: number,
    sgCall: number,
    freeEv: DmaEvent | null,
  ): void {
    if (this.poolDisabled) return;
    const t = this.entries;
    const e = t.findExact(dev, hi, lo, size, type, dir, sgCall);
    if (e < 0) {
      if (hi === ALL_ONES && lo === ALL_ONES) {
        this.err('unmap-invalid-address', msg.unmapInvalid(), dev, -1, true, null);
      } else {
        this.unknownAddress(dev, hi, lo, size, false);
      }
      return;
    }
    const m = t.meta(e);
    const proven = t.freshMeta(m);
    const why = 'events were lost after this mapping was made';
    const esize = t.size(e);
    const etype = metaType(m);
    const edir = metaDir(m);
    if (size !== esize) this.err('unmap-size-mismatch', msg.unmapSize(addr(hi, lo), esize, size), dev, e, proven, why);
    if (type !== etype) {
      this.err('unmap-wrong-function', msg.unmapWrongFunction(addr(hi, lo), size, etype, type), dev, e, proven, why);
    } else if ((type === EntryType.Coherent || type === EntryType.Noncoherent) && freeEv?.hasVirt) {
      const v = this.virt.find(e);
      if (v >= 0 && (this.virt.hiAt(v) !== freeEv.virtHi || this.virt.loAt(v) !== freeEv.virtLo)) {
        const allocPa = pa(t.physHi(e), t.physLo(e), t.physKnown(e));
        const freePa = this.cpuPhys(freeEv) ? pa(this.cpHi, this.cpLo) : pa(0, 0, false);
        this.err(
          'free-cpu-address-mismatch',
          msg.freeCpuAddress(addr(hi, lo), size, allocPa, freePa),
          dev,
          e,
          proven,
          why,
        );
      }
    }
    if (sgCall !== 0 && type === EntryType.Sg && sgCall !== t.sgCall(e)) {
      this.err('unmap-sg-count-mismatch', msg.unmapSgCount(t.sgCall(e), sgCall), dev, e, proven, why);
    }
    if (dir !== edir) {
      this.err('unmap-direction-mismatch', msg.unmapDirection(addr(hi, lo), size, edir, dir), dev, e, proven, why);
    }
    if (metaMapErr(m) === MapErr.NotChecked) {
      this.err('map-error-not-checked', msg.mapErrorNotChecked(addr(hi, lo), size, etype), dev, e, proven, why);
    }
    this.rememberUnmap(dev, hi, lo, size);
    this.releaseEntry(e);
  }

  /** An unmap, free or sync found no entry: decide error vs unconfirmed (coverage). */
  private unknownAddress(dev: number, hi: number, lo: number, size: number, sync: boolean): void {
    if (sync) this.unknownSyncs++;
    else this.unknownUnmaps++;
    const a = addr(hi, lo);
    const text = sync ? msg.syncNotMapped(a, size) : msg.unmapNotMapped(a, size);
    const r = this.recent;
    const slot = r.find(dev, hi, lo);
    // The latest unmap at this address proves it was not mapped since, unless a
    // live entry starts here: a map at it that was released since would have
    // recorded a later unmap, as every release is an unmap (maps do not forget
    // the record: this, the rare path, checks instead).
    if (slot >= 0 && r.epoch(slot) === this.epoch && !this.lossOngoing && !this.entries.anyAt(dev, hi, lo)) {
      const where = r.line(slot) > 0 ? ` at line ${r.line(slot)}` : '';
      const note = `unmapped earlier in this trace${where}, with no map since`;
      if (sync) this.err('sync-not-mapped', text, dev, -1, true, null, note);
      else this.err('double-unmap', text, dev, -1, true, null, note);
      return;
    }
    const check: CheckId = sync ? 'sync-not-mapped' : 'unmap-not-mapped';
    if (this.fromBoot && this.epoch === 0) {
      this.err(check, text, dev, -1, true, null);
    } else {
      const note =
        this.epoch > 0
          ? 'events were lost, so the mapping may be missing from the trace'
          : 'the mapping may predate the trace';
      this.err(check, text, dev, -1, false, note);
    }
  }

  private rememberUnmap(dev: number, hi: number, lo: number, size: number): void {
    this.recent.record(dev, hi, lo, hi, lo, size, this.epoch, this.cur ? this.cur.line : 0);
  }

  /** Releases a live entry: only an unmap may (unknownAddress() relies on it being recorded first). */
  private releaseEntry(e: number): void {
    const t = this.entries;
    const m = t.meta(e);
    // remove_dma_entry(): the cacheline first, as the kernel does.
    if (metaDir(m) !== Dir.ToDevice && metaPhysKnown(m)) {
      this.cachelines.remove(e);
      this.physIndex.remove(e);
    }
    const type = metaType(m);
    if (type === EntryType.Sg) {
      if (t.callId(e) !== 0) this.unindexSgCall(e);
    } else if (type === EntryType.Coherent || type === EntryType.Noncoherent) {
      this.virt.delete(e);
    }
    const size = t.size(e);
    const c = this.counts[metaDev(m)];
    if (c) {
      c.live--;
      c.liveBytes -= size;
      if (!this.inSgUnmap) c.lifetimes[this.lifetimeBucketOf(e)]!++;
    }
    this.all.liveBytes -= size;
    t.release(e);
    if (this.fromBoot) this.pool.give();
  }

  /** The lifetime bucket of entry e, ending at the current event. */
  private lifetimeBucketOf(e: number): number {
    const t = this.entries;
    const dSec = this.lastTsSec - t.tsSec(e);
    const dNs = this.lastTsNs - t.tsNs(e);
    // The common case, within the same second and >= 1 us, in integer arithmetic.
    if (dSec === 0 && dNs >= 1000) return Math.min(32 - Math.clz32((dNs / 1000) >>> 0), LIFETIME_BUCKETS - 1);
    return lifetimeBucket(dSec, dNs);
  }

  private onUnmapSg(ev: DmaEvent): void {
    const c = this.devCounts(ev.device);
    c.unmaps++;
    c.unmapsByType[EntryType.Sg]!++;
    const nelems = ev.sgPhys.count > 0 ? Math.max(ev.nents, ev.sgPhys.count) : ev.nents;
    const head = this.findSgCall(ev);
    if (head < 0) {
      this.unknownSgUnmap(ev, nelems);
      return;
    }
    // Collect the call's segments first: check_unmap releases them as it goes.
    const t = this.entries;
    const call = t.callId(head);
    const mapped = t.sgMapped(head);
    let n = 0;
    for (let e = head; e >= 0 && t.callId(e) === call; e = t.sgNext(e)) {
      if (n === this.scratchHi.length) this.growScratch();
      this.scratchHi[n] = t.dmaHi(e);
      this.scratchLo[n] = t.dmaLo(e);
      this.scratchSize[n] = t.size(e);
      n++;
    }
    // The call's lifetime counts once (its head's), not once per segment.
    c.lifetimes[this.lifetimeBucketOf(head)]!++;
    this.inSgUnmap = true;
    for (let i = 0; i < nelems; i++) {
      if (mapped && i >= mapped) break;
      if (i >= n) break; // segments beyond a truncated list are unknown
      this.checkUnmap(
        ev.device,
        this.scratchHi[i]!,
        this.scratchLo[i]!,
        this.scratchSize[i]!,
        EntryType.Sg,
        ev.dir,
        nelems,
        null,
      );
    }
    this.inSgUnmap = false;
  }

  /** An unmap_sg whose physical list matches no live dma_map_sg. */
  private unknownSgUnmap(ev: DmaEvent, nelems: number): void {
    if (ev.sgPhys.count === 0) return;
    const dev = ev.device;
    const pHi = ev.sgPhys.hi[0]!;
    const pLo = ev.sgPhys.lo[0]!;
    // A direct-mapped device's DMA address is the physical address.
    const r = this.recentSg;
    const s = r.find(dev | SG_KEY, pHi, pLo);
    if (s >= 0) {
      const a = addr(r.dmaHi(s), r.dmaLo(s));
      if (r.epoch(s) === this.epoch && !this.lossOngoing) {
        const where = r.line(s) > 0 ? ` at line ${r.line(s)}` : '';
        this.unknownUnmaps++;
        this.err(
          'double-unmap',
          msg.unmapNotMapped(a, r.size(s)),
          dev,
          -1,
          true,
          null,
          `this sg list was unmapped earlier in this trace${where}, with no map since (${nelems} entries)`,
        );
        return;
      }
    }
    const identity = this.hasIdentity(dev);
    this.unknownUnmaps++;
    const a = identity ? addr(pHi, pLo) : '0x<unknown>';
    const text = msg.unmapNotMapped(a, '<unknown>');
    if (this.fromBoot && this.epoch === 0) {
      this.err(
        'unmap-not-mapped',
        text,
        dev,
        -1,
        true,
        null,
        `no live dma_map_sg has this physical address list (${nelems} entries)`,
      );
    } else {
      const note =
        this.epoch > 0
          ? 'events were lost, so the sg mapping may be missing from the trace'
          : 'the sg mapping may predate the trace';
      this.err('unmap-not-mapped', text, dev, -1, false, note);
    }
  }

  private growScratch(): void {
    const n = this.scratchHi.length * 2;
    const h = new Uint32Array(n);
    h.set(this.scratchHi);
    const l = new Uint32Array(n);
    l.set(this.scratchLo);
    const s = new Float64Array(n);
    s.set(this.scratchSize);
    this.scratchHi = h;
    this.scratchLo = l;
    this.scratchSize = s;
  }

  private nextCall(): number {
    const c = this.callSeq;
    this.callSeq = this.callSeq === 0xffffffff ? 1 : this.callSeq + 1;
    return c;
  }

  private indexSgCall(head: number): void {
    const t = this.entries;
    const dev = t.dev(head);
    this.recentSg.forget(dev | SG_KEY, t.physHi(head), t.physLo(head));
    const prev = this.sgIndex.add(head);
    if (prev < 0) return;
    // Append: the oldest call with this address stays first.
    let e = prev;
    while (t.sgAlt(e) >= 0) e = t.sgAlt(e);
    t.setSgAlt(e, head);
  }

  /** Removes a head segment's call from the sg index (no-op for non-heads). */
  private unindexSgCall(e: number): void {
    const t = this.entries;
    const dev = t.dev(e);
    const first = this.sgIndex.get(dev, t.physHi(e), t.physLo(e));
    if (first < 0) return;
    if (first === e) {
      const nx = t.sgAlt(e);
      if (nx >= 0) this.sgIndex.replace(e, nx);
      else this.sgIndex.remove(e);
      t.setSgAlt(e, -1);
      this.rememberSgUnmap(e);
      return;
    }
    for (let p = first; p >= 0; p = t.sgAlt(p)) {
      if (t.sgAlt(p) === e) {
        t.setSgAlt(p, t.sgAlt(e));
        t.setSgAlt(e, -1);
        this.rememberSgUnmap(e);
        return;
      }
    }
  }

  /** Remembers an unmapped sg call by its first physical address (for double-unmap proofs). */
  private rememberSgUnmap(head: number): void {
    const t = this.entries;
    const line = this.cur ? this.cur.line : 0;
    this.recentSg.record(
      t.dev(head) | SG_KEY,
      t.physHi(head),
      t.physLo(head),
      t.dmaHi(head),
      t.dmaLo(head),
      t.size(head),
      this.epoch,
      line,
    );
  }

  /** The live sg call an unmap_sg refers to: same device, same physical list. */
  private findSgCall(ev: DmaEvent): number {
    if (ev.sgPhys.count === 0) return -1;
    const t = this.entries;
    const first = this.sgIndex.get(ev.device, ev.sgPhys.hi[0]!, ev.sgPhys.lo[0]!);
    if (first < 0) return -1;
    let fallback = -1;
    for (let h = first; h >= 0; h = t.sgAlt(h)) {
      if (this.samePhysList(h, ev)) {
        if (t.sgCall(h) === ev.nents || ev.nents === 0) return h;
        if (fallback < 0) fallback = h;
      }
    }
    return fallback >= 0 ? fallback : first;
  }

  private samePhysList(head: number, ev: DmaEvent): boolean {
    const t = this.entries;
    const call = t.callId(head);
    let i = 0;
    for (let e = head; e >= 0 && t.callId(e) === call && i < ev.sgPhys.count; e = t.sgNext(e), i++) {
      if (t.physHi(e) !== ev.sgPhys.hi[i] || t.physLo(e) !== ev.sgPhys.lo[i]) return false;
    }
    return true;
  }

  // ------------------------------------------------------------------
  // Syncs
  // ------------------------------------------------------------------

  private onSyncSg(ev: DmaEvent, toCpu: boolean): void {
    const n = Math.min(ev.sgDma.count, ev.sgLen.count);
    if (n === 0) return;
    const nelems = Math.max(ev.nents, n);
    // get_nr_mapped_entries(): the exact entry of the first segment says how many were mapped.
    const first = this.entries.findExact(
      ev.device,
      ev.sgDma.hi[0]!,
      ev.sgDma.lo[0]!,
      ev.sgLen.v[0]!,
      EntryType.Sg,
      ev.dir,
      nelems,
    );
    // No such entry: mapped_ents is 0 and the kernel checks nothing, so neither do we.
    if (first < 0) return;
    const mapped = Math.min(n, this.entries.sgMapped(first));
    for (let i = 0; i < mapped; i++) {
      this.checkSync(ev.device, ev.sgDma.hi[i]!, ev.sgDma.lo[i]!, ev.sgLen.v[i]!, EntryType.Sg, ev.dir, nelems, toCpu);
    }
  }

  /** check_sync(). */
  private checkSync(
    dev: number,
    hi: number,
    lo: number,
    size: number,
    type: number,
    dir: number,
    sgCall: number,
    toCpu: boolean,
  ): void {
    if (this.poolDisabled) return;
    const t = this.entries;
    const e = t.findContaining(dev, hi, lo, size, type, dir, sgCall, this.maxSize);
    if (e < 0) {
      this.unknownAddress(dev, hi, lo, size, true);
      return;
    }
    const m = t.meta(e);
    const proven = t.freshMeta(m);
    const why = 'events were lost after this mapping was made';
    const esize = t.size(e);
    const edir = metaDir(m);
    if (size > esize) {
      this.err('sync-out-of-range', msg.syncOutOfRange(addr(t.dmaHi(e), t.dmaLo(e)), esize, size), dev, e, proven, why);
    }
    if (edir === Dir.Bidirectional) return;
    if (dir !== edir)
      this.err('sync-direction-mismatch', msg.syncDirection(addr(hi, lo), esize, edir, dir), dev, e, proven, why);
    if (toCpu && edir !== Dir.FromDevice && dir !== Dir.ToDevice) {
      this.err('sync-read-only-for-cpu', msg.syncReadOnlyForCpu(addr(hi, lo), esize, edir, dir), dev, e, proven, why);
    }
    if (!toCpu && edir !== Dir.ToDevice && dir !== Dir.FromDevice) {
      this.err(
        'sync-write-only-for-device',
        msg.syncWriteOnlyForDevice(addr(hi, lo), esize, edir, dir),
        dev,
        e,
        proven,
        why,
      );
    }
    if (sgCall !== 0 && type === EntryType.Sg && sgCall !== t.sgCall(e)) {
      this.err('sync-sg-count-mismatch', msg.syncSgCount(t.sgCall(e), sgCall), dev, e, proven, why);
    }
  }

  // ------------------------------------------------------------------
  // Side-information checks
  // ------------------------------------------------------------------

  private checkKernelImage(e: number): void {
    const ranges = this.config.kernelImage;
    if (!ranges || ranges.length === 0) return;
    const t = this.entries;
    if (!t.physKnown(e)) return;
    const start = (BigInt(t.physHi(e)) << 32n) | BigInt(t.physLo(e));
    const end = start + BigInt(t.size(e));
    for (const r of ranges) {
      if (start < r.end && end > r.start) {
        this.err(
          'map-kernel-image',
          msg.mapKernelImage(pa(t.physHi(e), t.physLo(e)), t.size(e)),
          t.dev(e),
          -1,
          true,
          null,
          `overlaps ${r.name}`,
        );
        return;
      }
    }
  }

  private checkSgSegment(e: number): void {
    const limits = this.config.segmentLimits;
    if (!limits) return;
    const t = this.entries;
    const lim = limits.get(this.names.devices.name(t.dev(e)));
    if (!lim) return;
    const len = t.size(e);
    if (len > lim.maxSegmentSize)
      this.err('sg-segment-too-long', msg.sgTooLong(len, lim.maxSegmentSize), t.dev(e), -1, true, null);
    const start = (BigInt(t.dmaHi(e)) << 32n) | BigInt(t.dmaLo(e));
    const end = (start + BigInt(len) - 1n) & 0xffffffffffffffffn;
    const boundary = lim.segmentBoundary;
    if (((start ^ end) & ~boundary & 0xffffffffffffffffn) !== 0n) {
      const h = (v: bigint) => `0x${v.toString(16).padStart(16, '0')}`;
      this.err('sg-segment-boundary', msg.sgBoundary(h(start), h(end), h(boundary)), t.dev(e), -1, true, null);
    }
  }

  // ------------------------------------------------------------------
  // Physical-address evidence
  // ------------------------------------------------------------------

  /** A streaming map with dma == phys shows the device is direct-mapped (no IOMMU). */
  private noteIdentity(dev: number, same: boolean): void {
    if (!same || dev < 0) return;
    if (dev >= this.identityEvidence.length) {
      const n = new Uint8Array(Math.max(dev + 1, this.identityEvidence.length * 2));
      n.set(this.identityEvidence);
      this.identityEvidence = n;
    }
    if (this.identityEvidence[dev] === 1) return;
    this.identityEvidence[dev] = 1;
    this.resolvePendingPhys(dev);
  }

  private hasIdentity(dev: number): boolean {
    return dev >= 0 && dev < this.identityEvidence.length && this.identityEvidence[dev] === 1;
  }

  /** Coherent entries made before the evidence arrived: P = D now, and they join cacheline tracking. */
  private resolvePendingPhys(dev: number): void {
    const t = this.entries;
    for (const e of t.inDumpOrder(dev)) {
      if (t.physKnown(e)) continue;
      if (t.type(e) !== EntryType.Coherent && t.type(e) !== EntryType.Noncoherent) continue;
      t.setPhys(e, t.dmaHi(e), t.dmaLo(e));
      if (t.dir(e) !== Dir.ToDevice) {
        this.physIndex.insert(e);
        this.insertCacheline(e, 0);
      }
    }
  }

  // ------------------------------------------------------------------
  // Stacks
  // ------------------------------------------------------------------

  private setLastOnCpu(head: number, sg: boolean): void {
    const ev = this.cur;
    if (!ev) return;
    const k = this.lastOnCpuSlot(ev.cpu);
    if (k < 0) return;
    const l = this.lastOnCpu;
    l[k] = head;
    l[k + 1] = this.entries.callId(head);
    l[k + 2] = sg ? 0 : 1;
  }

  /** Where lastOnCpu keeps the cpu's record (grown to hold it), or -1 for a cpu number no kernel has. */
  private lastOnCpuSlot(cpu: number): number {
    if (!(cpu >= 0 && cpu < 1 << 20)) return -1;
    const k = cpu * 3;
    if (k >= this.lastOnCpu.length) {
      const l = new Int32Array(Math.max(k + 3, this.lastOnCpu.length * 2)).fill(-1);
      l.set(this.lastOnCpu);
      this.lastOnCpu = l;
    }
    return k;
  }

  private onStack(cpu: number, stack: number): void {
    const k = this.lastOnCpuSlot(cpu);
    const l = this.lastOnCpu;
    if (k < 0 || l[k]! < 0) return;
    const t = this.entries;
    const head = l[k]!;
    const call = l[k + 1]!; // the call id's 32 bits, as an int32
    if (l[k + 2] === 1) {
      if ((t.callId(head) | 0) === call) t.setStack(head, stack);
    } else {
      for (let e = head; e >= 0 && (t.callId(e) | 0) === call; e = t.sgNext(e)) t.setStack(e, stack);
    }
    l[k] = -1;
  }

  // ------------------------------------------------------------------
  // Findings and the error policy
  // ------------------------------------------------------------------

  /**
   * err_printk(): an error when the trace proves it (with an optional `proof`
   * note), otherwise unconfirmed with the reason `whyUnproven`.
   */
  private err(
    check: CheckId,
    text: string,
    dev: number,
    entry: number,
    proven: boolean,
    whyUnproven: string | null,
    proof: string | null = null,
    driverName: string | null = null,
  ): void {
    const note = proven ? proof : this.unprovenNote(whyUnproven);
    this.emit(check, proven ? 'error' : 'unconfirmed', text, dev, entry, false, note, driverName);
  }

  private emit(
    check: CheckId,
    severity: Severity,
    text: string,
    dev: number,
    entry: number,
    bare: boolean,
    note: string | null,
    driverName: string | null = null,
    kernelError = true,
  ): void {
    let shown = true;
    const device = dev >= 0 ? this.names.devices.name(dev) : null;
    const driver = driverName ?? (device !== null ? (this.config.drivers?.get(device) ?? null) : null);
    if (!kernelError) {
      // Ours: not the kernel's error_count nor its num_errors budget; the driver filter applies.
      shown = this.passesDriverFilter(device, driver);
    } else if (severity === 'error' && !bare) {
      this.errorCount++;
      shown = this.passesDriverFilter(device, driver) && this.showNumErrors > 0;
      if (this.showNumErrors !== Number.POSITIVE_INFINITY && this.showNumErrors > 0) this.showNumErrors--;
    } else if (severity === 'unconfirmed') {
      shown = this.passesDriverFilter(device, driver);
    }
    this.severityCounts[severity]++;
    this.findingCounts.set(check, (this.findingCounts.get(check) ?? 0) + 1);
    if (dev >= 0) {
      const c = this.devCounts(dev);
      c.findings ??= new Map();
      c.findings.set(check, (c.findings.get(check) ?? 0) + 1);
    }
    const f: Finding = {
      check,
      severity,
      message: text,
      device,
      driver,
      bare,
      at: this.eventRef(),
      mapping: entry >= 0 ? this.mappingInfo(entry) : null,
      note,
      shown,
      kernelFalsePositive: null,
    };
    this.sink(f);
  }

  private passesDriverFilter(device: string | null, driver: string | null): boolean {
    const want = this.config.driverFilter;
    if (!want) return true;
    if (driver !== null) return driver === want;
    return device === want;
  }

  private eventRef(): EventRef {
    const ev = this.cur;
    if (!ev) return { line: 0, ts: '', cpu: 0, pid: 0, comm: '' };
    return {
      line: ev.line,
      ts: tsString(ev.tsSec, ev.tsNs, ev.tsDigits),
      cpu: ev.cpu,
      pid: ev.pid,
      comm: ev.comm >= 0 ? this.names.comms.name(ev.comm) : '',
    };
  }

  mappingInfo(e: number): MappingInfo {
    const t = this.entries;
    const known = t.physKnown(e);
    const st = t.stack(e);
    return {
      type: TYPE_NAMES[t.type(e)] ?? '?',
      direction: DIR_NAMES[t.dir(e)] ?? '?',
      dmaAddr: addr(t.dmaHi(e), t.dmaLo(e)),
      size: t.size(e),
      physAddr: known ? pa(t.physHi(e), t.physLo(e)) : null,
      sgCallEnts: t.sgCall(e),
      sgMappedEnts: t.sgMapped(e),
      mappedAt: {
        line: t.line(e),
        ts: t.line(e) > 0 || t.tsSec(e) > 0 ? tsString(t.tsSec(e), t.tsNs(e), this.lastTsDigits) : '',
        cpu: t.cpu(e),
        pid: t.pid(e),
        comm: t.comm(e) >= 0 ? this.names.comms.name(t.comm(e)) : '',
      },
      stack: st >= 0 ? this.names.stacks.name(st).split('\n') : null,
    };
  }

  private devCounts(dev: number): DevState {
    let c = this.counts[dev];
    if (!c) {
      c = new DevState();
      if (dev >= 0) this.counts[dev] = c;
    }
    return c;
  }

  // ------------------------------------------------------------------
  // Library calls with no tracepoint
  // ------------------------------------------------------------------

  /**
   * dma_mapping_error() was called for this address: the first unchecked entry
   * at (device, address) becomes checked (debug_dma_mapping_error()).
   */
  mappingError(device: string, dmaAddr: bigint): void {
    this.ensureStarted();
    const dev = this.names.devices.intern(device);
    const [hi, lo] = split(dmaAddr);
    const t = this.entries;
    const b = bucketOf(hi, lo);
    for (let e = t.head[b]!; e >= 0; e = t.next(e)) {
      if (t.dev(e) !== dev || t.dmaHi(e) !== hi || t.dmaLo(e) !== lo) continue;
      if (t.mapErr(e) === MapErr.NotChecked) {
        t.setMapErr(e, MapErr.Checked);
        break;
      }
    }
  }

  /** The driver was unbound from the device (BUS_NOTIFY_UNBOUND_DRIVER): report leaked entries. */
  unbind(device: string, bus = 'pci'): void {
    this.ensureStarted();
    this.unbindDevice(this.names.devices.intern(device), bus);
  }

  /** dma_debug_device_change(BUS_NOTIFY_UNBOUND_DRIVER): count the device's entries, report one. */
  private unbindDevice(dev: number, bus: string): void {
    const t = this.entries;
    let count = 0;
    let last = -1;
    let fresh = false;
    for (const e of t.inDumpOrder(dev)) {
      count++;
      last = e;
      if (t.fresh(e)) fresh = true;
    }
    if (count === 0) return;
    const text = msg.leakAtUnbind(count, addr(t.dmaHi(last), t.dmaLo(last)), t.size(last), t.dir(last), t.type(last));
    // The driver is already detached when the kernel prints this: it names the bus.
    // One entry made since the latest loss is certainly still mapped; older ones
    // may have had their unmaps among the lost events.
    const why = 'events were lost after these mappings were made (their unmaps may be among them)';
    this.err('leak-at-unbind', text, dev, last, fresh, why, null, bus);
  }

  /**
   * The CPU is about to touch [phys, phys+len): the old debug_dma_assert_idle().
   * Reports the first active cacheline in the range, as the kernel did per page.
   */
  assertIdle(phys: bigint, len = 4096n): boolean {
    this.ensureStarted();
    const first = phys >> 6n;
    const last = (phys + (len > 0n ? len : 1n) - 1n) >> 6n;
    for (let c = first; c <= last; c++) {
      const [cHi, cLo] = split(c);
      const owner = this.cachelines.owner(cHi, cLo);
      if (owner < 0) continue;
      const known = owner < this.entries.cap;
      const dev = known ? this.entries.dev(owner) : -1;
      const proven = known ? this.entries.fresh(owner) : this.epoch === 0;
      const why = 'events were lost since the mapping was made (its unmap may be among them)';
      this.err('cpu-touching-active-mapping', msg.cpuTouching(pa(cHi, cLo)), dev, owner, proven, why);
      return false;
    }
    return true;
  }

  // Typed entry points for embedders: each builds a DmaEvent-free call.
  mapPage(device: string, dmaAddr: bigint, size: number, dir: Dir, phys: bigint | null, attrs = 0): void {
    this.direct(EventKind.MapPage, device, dmaAddr, size, dir, phys, attrs);
  }
  unmapPage(device: string, dmaAddr: bigint, size: number, dir: Dir, attrs = 0): void {
    this.direct(EventKind.UnmapPage, device, dmaAddr, size, dir, null, attrs);
  }
  mapResource(device: string, dmaAddr: bigint, size: number, dir: Dir, phys: bigint, attrs = 0): void {
    this.direct(EventKind.MapResource, device, dmaAddr, size, dir, phys, attrs);
  }
  unmapResource(device: string, dmaAddr: bigint, size: number, dir: Dir): void {
    this.direct(EventKind.UnmapResource, device, dmaAddr, size, dir, null, 0);
  }
  syncSingleForCpu(device: string, dmaAddr: bigint, size: number, dir: Dir): void {
    this.direct(EventKind.SyncSingleForCpu, device, dmaAddr, size, dir, null, 0);
  }
  syncSingleForDevice(device: string, dmaAddr: bigint, size: number, dir: Dir): void {
    this.direct(EventKind.SyncSingleForDevice, device, dmaAddr, size, dir, null, 0);
  }
  allocCoherent(device: string, dmaAddr: bigint, size: number, virt: bigint, phys: bigint | null = null): void {
    this.direct(EventKind.Alloc, device, dmaAddr, size, Dir.Bidirectional, phys, 0, virt);
  }
  freeCoherent(device: string, dmaAddr: bigint, size: number, virt: bigint): void {
    this.direct(EventKind.Free, device, dmaAddr, size, Dir.Bidirectional, null, 0, virt);
  }

  /** kmem:mm_page_free of the 2^order pages at pfn (page-freed-while-mapped). */
  pageFree(pfn: bigint, order = 0): void {
    this.ensureStarted();
    const ev = this.scratchEvent ?? this.makeScratch();
    ev.resetPayload();
    ev.kind = EventKind.PageFree;
    ev.line = 0;
    [ev.pfnHi, ev.pfnLo] = split(pfn);
    ev.order = order;
    this.handle(ev);
  }

  private scratchEvent: DmaEvent | null = null;
  private direct(
    kind: EventKind,
    device: string,
    dmaAddr: bigint,
    size: number,
    dir: Dir,
    phys: bigint | null,
    attrs: number,
    virt: bigint | null = null,
  ): void {
    this.ensureStarted();
    const ev = this.scratchEvent ?? this.makeScratch();
    ev.resetPayload();
    ev.kind = kind;
    ev.line = 0;
    ev.device = this.names.devices.intern(device);
    [ev.addrHi, ev.addrLo] = split(dmaAddr);
    ev.size = size;
    ev.dir = dir;
    ev.hasDir = true;
    ev.attrs = attrs;
    if (phys !== null) {
      [ev.physHi, ev.physLo] = split(phys);
      ev.hasPhys = true;
    }
    if (virt !== null) {
      [ev.virtHi, ev.virtLo] = split(virt);
      ev.hasVirt = true;
      ev.virtRaw = true;
    }
    this.handle(ev);
  }

  /** Feed a whole sg mapping directly: segments as [dma, length, phys]. */
  mapSg(device: string, nents: number, segments: ReadonlyArray<[bigint, number, bigint]>, dir: Dir, attrs = 0): void {
    this.ensureStarted();
    const ev = this.scratchEvent ?? this.makeScratch();
    ev.resetPayload();
    ev.kind = EventKind.MapSg;
    ev.device = this.names.devices.intern(device);
    ev.dir = dir;
    ev.attrs = attrs;
    ev.nents = nents;
    ev.ents = segments.length;
    for (const [d, l, p] of segments) {
      const [dh, dl] = split(d);
      const [ph, pl] = split(p);
      ev.sgDma.push(dh, dl);
      ev.sgLen.push(l);
      ev.sgPhys.push(ph, pl);
    }
    this.handle(ev);
  }

  /** dma_unmap_sg with the physical addresses of the list the driver passes back. */
  unmapSg(device: string, physList: ReadonlyArray<bigint>, dir: Dir): void {
    this.ensureStarted();
    const ev = this.scratchEvent ?? this.makeScratch();
    ev.resetPayload();
    ev.kind = EventKind.UnmapSg;
    ev.device = this.names.devices.intern(device);
    ev.dir = dir;
    ev.nents = physList.length;
    for (const p of physList) {
      const [h, l] = split(p);
      ev.sgPhys.push(h, l);
    }
    this.handle(ev);
  }

  private makeScratch(): DmaEvent {
    const ev = new DmaEvent();
    this.scratchEvent = ev;
    return ev;
  }

  // ------------------------------------------------------------------
  // Read-only state for renderers
  // ------------------------------------------------------------------

  get live(): number {
    return this.entries.live;
  }

  /** Events the input said were lost so far (cheap: for status lines). */
  get eventsLost(): number {
    return this.lostEvents;
  }

  coverage(): Coverage {
    let unknownPhys = 0;
    const t = this.entries;
    for (const e of t.inDumpOrder()) if (!t.physKnown(e)) unknownPhys++;
    const lostByCpu: Record<string, number> = {};
    for (const [cpu, n] of [...this.lostByCpu].sort((a, b) => a[0] - b[0])) lostByCpu[String(cpu)] = n;
    return {
      fromBoot: this.fromBoot,
      decidedBy: this.started ? this.decidedBy : 'no events',
      firstTs: this.firstTs,
      lastTs: this.firstTs !== null ? tsString(this.lastTsSec, this.lastTsNs, this.lastTsDigits) : null,
      lossNotices: this.lossNotices,
      lostEvents: this.lostEvents,
      lostByCpu,
      overwritten: this.facts?.overwrittenCount ?? 0,
      unknownUnmaps: this.unknownUnmaps,
      unknownSyncs: this.unknownSyncs,
      truncatedSgCalls: this.truncatedSgCalls,
      unknownPhysEntries: unknownPhys,
      cutShort: this.cutShort.map((c) => ({ ...c })),
    };
  }

  poolState(): PoolState {
    return {
      modelled: this.fromBoot,
      preallocated: this.pool.prealloc,
      nrTotalEntries: this.pool.nrTotal,
      numFreeEntries: this.pool.numFree,
      minFreeEntries: this.pool.minFree,
      peakUsed: this.pool.peakUsed,
      disabled: this.poolDisabled,
    };
  }

  /** One device's live counters by interned id (undefined before its first call); read-only, for samplers. */
  deviceState(dev: number): Readonly<DevState> | undefined {
    return this.counts[dev];
  }

  deviceCounts(): Map<string, DeviceCounts> {
    const m = new Map<string, DeviceCounts>();
    this.counts.forEach((c, dev) => {
      if (c) m.set(this.names.devices.name(dev), c.counts());
    });
    return m;
  }

  /**
   * `dmadebug stats`: per device (sorted by name) the calls by type, syncs by
   * kind, live entries and bytes with their peaks and when each was reached,
   * the lifetime histogram, failures and findings by check; and the totals.
   */
  stats(): EngineStats {
    const digits = this.lastTsDigits;
    const at = (v: number, sec: number, ns: number) => (v > 0 ? tsString(sec, ns, digits) : null);
    const one = (device: string, c: DevState): DeviceStats => {
      const findings: Record<string, number> = {};
      for (const [k, v] of [...(c.findings ?? [])].sort((x, y) => x[0].localeCompare(y[0]))) findings[k] = v;
      return {
        device,
        driver: this.config.drivers?.get(device) ?? null,
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
      devices.push(one(this.names.devices.name(dev), c));
      mapFailures += c.mapFailures;
      sum.syncSingleForCpu += c.syncSingleForCpu;
      sum.syncSingleForDevice += c.syncSingleForDevice;
      sum.syncSgForCpu += c.syncSgForCpu;
      sum.syncSgForDevice += c.syncSgForDevice;
      for (let i = 0; i < 5; i++) {
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
    sum.live = this.entries.live;
    sum.liveBytes = a.liveBytes;
    sum.peakLive = a.peakLive;
    sum.peakLiveSec = a.peakLiveSec;
    sum.peakLiveNs = a.peakLiveNs;
    sum.peakBytes = a.peakBytes;
    sum.peakBytesSec = a.peakBytesSec;
    sum.peakBytesNs = a.peakBytesNs;
    const findings: Record<string, number> = {};
    for (const [k, v] of [...this.findingCounts].sort((x, y) => x[0].localeCompare(y[0]))) findings[k] = v;
    const cov = this.coverage();
    const labels = lifetimeLabels();
    return {
      devices,
      totals: one('(all)', sum),
      findings,
      mapFailures,
      lifetimeBuckets: labels,
      lifetimeBucketStartNs: labels.map((_, b) => lifetimeBucketStartNs(b)),
      events: this.eventCount,
      firstTs: cov.firstTs,
      lastTs: cov.lastTs,
      fromBoot: cov.fromBoot,
    };
  }

  /**
   * leak-at-end (info): the mappings still live, grouped by device and by the
   * call site (the mapping's stack, when the trace had one): count and bytes.
   * Sorted by device name, then by count (largest first).
   */
  leaksAtEnd(): LeakGroup[] {
    const t = this.entries;
    const groups = new Map<string, LeakGroup>();
    for (const e of t.inDumpOrder()) {
      const dev = t.dev(e);
      const st = t.stack(e);
      const key = `${dev}:${st}`;
      let g = groups.get(key);
      if (!g) {
        g = {
          device: this.names.devices.name(dev),
          stack: st >= 0 ? this.names.stacks.name(st).split('\n') : null,
          count: 0,
          bytes: 0,
          fresh: 0,
        };
        groups.set(key, g);
      }
      g.count++;
      g.bytes += t.size(e);
      if (t.fresh(e)) g.fresh++;
    }
    return [...groups.values()].sort((x, y) =>
      x.device < y.device ? -1 : x.device > y.device ? 1 : y.count - x.count || y.bytes - x.bytes,
    );
  }

  /** The live entries in the kernel's dump order. */
  *dump(device: string | null = null): Generator<DumpEntry> {
    const t = this.entries;
    const dev = device === null ? -1 : this.names.devices.intern(device);
    for (const e of t.inDumpOrder(dev)) {
      const known = t.physKnown(e);
      const name = this.names.devices.name(t.dev(e));
      const info = this.mappingInfo(e);
      yield {
        device: name,
        driver: this.config.drivers?.get(name) ?? null,
        type: TYPE_NAMES[t.type(e)] ?? '?',
        bucket: bucketOf(t.dmaHi(e), t.dmaLo(e)),
        phys: known ? `0x${hex16(t.physHi(e), t.physLo(e))}` : null,
        dma: hexNoPad(t.dmaHi(e), t.dmaLo(e)),
        size: t.size(e),
        cln: known ? pa(clnHiOf(t.physHi(e)), clnLoOf(t.physHi(e), t.physLo(e))) : null,
        direction: DIR_NAMES[t.dir(e)] ?? '?',
        mapError: MAP_ERR_NAMES[t.mapErr(e)] ?? '?',
        mappedAt: info.mappedAt,
        stack: info.stack,
      };
    }
  }
}

function hexNoPad(hi: number, lo: number): string {
  if (hi === 0) return (lo >>> 0).toString(16);
  return (hi >>> 0).toString(16) + (lo >>> 0).toString(16).padStart(8, '0');
}

function split(v: bigint): [number, number] {
  const m = v & 0xffffffffffffffffn;
  return [Number(m >> 32n) >>> 0, Number(m & 0xffffffffn) >>> 0];
}

/** "sec.frac" with the source's number of fractional digits. */
export function tsString(sec: number, ns: number, digits: number): string {
  if (digits <= 0) return String(sec);
  const frac = digits >= 9 ? ns : Math.floor(ns / 10 ** (9 - digits));
  return `${sec}.${String(frac).padStart(digits, '0')}`;
}
