// The state every check reads, in one place: the kernel's tables (entries and
// their hash buckets, active cachelines, the entry pool), our indexes (exact
// physical ranges, live sg calls, coherent CPU pointers, recent unmaps), the
// kernel profile in force, the event being handled, and the physical-address
// evidence a trace gives. Checks (checks/*.ts) receive this one object, as the
// kernel's checks receive one reference struct; they keep no state of their own
// beyond what is theirs alone.

import type { Names } from '../base/interner.js';
import { IdPairTable } from '../base/key-table.js';
import { CachelineTracker } from './cachelines.js';
import { Coverage } from './coverage.js';
import { EntryTable, metaDev, metaDir, metaPhysKnown, metaType } from './entries.js';
import { Dir, type DmaEvent, type InputFacts } from './events.js';
import { DEFAULT_PREALLOC_ENTRIES, EntryType } from './model.js';
import { PhysIndex } from './phys-index.js';
import { EntryPool } from './pool.js';
import {
  ARCH_PROFILES,
  type ArchName,
  type ArchProfile,
  KERNEL_PROFILES,
  type KernelName,
  type KernelProfile,
  type ProfileChoice,
  type ProfileEvidence,
  resolveProfile,
} from './profiles.js';
import { RecentUnmaps } from './recent-unmaps.js';
import type { Reporter } from './reporter.js';
import { SgIndex } from './sg-index.js';
import type { StatsTap } from './stats-tap.js';

/** Knobs, as the kernel's command line and debugfs have them, and side information. */
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

export class EngineState {
  readonly entries = new EntryTable();
  readonly cachelines = new CachelineTracker(this.entries);
  /** Exact physical ranges of the live entries the device may write to (page-freed-while-mapped). */
  readonly physIndex = new PhysIndex(this.entries);
  readonly pool: EntryPool;
  /** dma-debug gave up (its pool ran dry): no more entries, no more checks. */
  poolDisabled = false;
  /** Live sg calls by (device, first physical address) -> head entry. */
  readonly sgIndex = new SgIndex(this.entries);
  /** Coherent/noncoherent CPU pointers by entry id. */
  readonly virt = new IdPairTable();
  /** Recent unmaps by (device, DMA address): double-unmap proofs. */
  readonly recent = new RecentUnmaps();
  /** Recent sg unmaps by (device | SG_KEY, first physical address): small enough to stay in cache. */
  readonly recentSg = new RecentUnmaps(1 << 12);
  readonly cov: Coverage;
  /** Set by the engine after construction (they read this state too). */
  report!: Reporter;
  stats!: StatsTap;

  /** The event being handled (for EventRefs), or null for direct library calls. */
  cur: DmaEvent | null = null;
  /** The engine's own event for typed library calls (mapPage, ...): no stack follows it. */
  directEvent: DmaEvent | null = null;
  /** The largest size ever mapped: bounds the containing lookup's walk. */
  maxSize = 0;
  private callSeq = 1;

  // ---- the kernel profile ----
  private choice: ProfileChoice | null = null;
  /** The kernel profile in force (read it through kernel() while it may be undecided). */
  private kp: KernelProfile = KERNEL_PROFILES['7.3'];
  private ap: ArchProfile = ARCH_PROFILES.x86_64;

  constructor(
    readonly names: Names,
    readonly config: EngineConfig,
  ) {
    this.pool = new EntryPool(Math.max(1, config.entries), config.poolGrows);
    this.cov = new Coverage(this.entries, config.fromBoot, config.earlyBootSeconds);
  }

  attachInputFacts(facts: InputFacts): void {
    this.cov.facts = facts;
  }

  /**
   * The kernel profile, decided the first time a check needs it: from
   * --kernel/--arch, the input's facts (uname, formats, the first single-mapping
   * event's name), the recorder's sidecar, else assumed (profiles.ts).
   */
  kernel(): KernelProfile {
    if (this.choice === null) this.resolve();
    return this.kp;
  }

  /** The arch profile. Its evidence (uname, sidecar, --arch) is known before any event, so it does not fix the kernel. */
  arch(): ArchProfile {
    if (this.choice === null && !this.archKnown) {
      this.ap = ARCH_PROFILES[resolveProfile(this.evidence()).arch];
      this.archKnown = true;
    }
    return this.ap;
  }
  private archKnown = false;

  profileChoice(): ProfileChoice {
    if (this.choice === null) this.resolve();
    const f = this.cov.facts;
    const c = this.choice!;
    // map events that disagree with the choice (made by assumption, or by a uname that says otherwise)
    if (c.conflict === null && f?.mapEvents && this.config.kernel === null) {
      const k = f.mapEvents === 'phys' ? '7.3' : '6.12';
      if (k !== c.kernel) {
        const ev = f.mapEvents === 'phys' ? 'dma_map_phys' : 'dma_map_page';
        const by = c.kernelAssumed ? `checks had assumed ${c.kernel}` : `the profile came from ${c.kernelEvidence}`;
        c.conflict = `${f.mapEventsSource ?? 'the input'} shows ${ev} events (a ${k} kernel), but ${by}`;
      }
    }
    return c;
  }

  private evidence(): ProfileEvidence {
    const f = this.cov.facts;
    const side = this.config.sideKernel;
    const fromInput = (f?.kernelRelease ?? null) !== null || (f?.machine ?? null) !== null;
    return {
      kernel: this.config.kernel,
      arch: this.config.arch,
      kernelRelease: f?.kernelRelease ?? side?.release ?? null,
      machine: f?.machine ?? side?.machine ?? null,
      kernelSource: fromInput ? (f?.kernelSource ?? null) : (side?.source ?? null),
      mapEvents: f?.mapEvents ?? null,
      mapEventsSource: f?.mapEventsSource ?? null,
    };
  }

  private resolve(): void {
    const c = resolveProfile(this.evidence());
    this.choice = c;
    this.kp = KERNEL_PROFILES[c.kernel];
    this.ap = ARCH_PROFILES[c.arch];
  }

  nextCall(): number {
    const c = this.callSeq;
    this.callSeq = this.callSeq === 0xffffffff ? 1 : this.callSeq + 1;
    return c;
  }

  /**
   * Releases a live entry (hash_bucket_del, active_cacheline_remove,
   * dma_entry_free). Only an unmap may: unmap.ts records the unmap first, which
   * its double-unmap proofs rely on.
   */
  releaseEntry(e: number): void {
    const t = this.entries;
    const m = t.meta(e);
    // the cacheline first, as the kernel does
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
    this.stats.released(e, metaDev(m));
    t.release(e);
    if (this.cov.poolModelled) this.pool.give();
  }

  // ---- live sg calls (dma_map_sg lists, found again by their physical addresses) ----

  indexSgCall(head: number): void {
    const t = this.entries;
    this.recentSg.forget(t.dev(head) | SG_KEY, t.physHi(head), t.physLo(head));
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
    const first = this.sgIndex.get(t.dev(e), t.physHi(e), t.physLo(e));
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

  /** Remembers an unmapped sg call by its first physical address (double-unmap proofs). */
  private rememberSgUnmap(head: number): void {
    const t = this.entries;
    const line = this.cur ? this.cur.line : 0;
    const cpu = this.cur ? this.cur.cpu : 0;
    const epoch = this.cov.epoch;
    this.recentSg.record(
      t.dev(head) | SG_KEY,
      t.physHi(head),
      t.physLo(head),
      t.dmaHi(head),
      t.dmaLo(head),
      t.size(head),
      epoch,
      line,
      cpu,
    );
  }

  // ---- physical-address evidence ----

  private identityEvidence = new Uint8Array(64);

  /**
   * A streaming map with dma == phys shows the device is direct-mapped (no
   * IOMMU). Returns true the first time a device shows it (then its coherent
   * entries' physical addresses become known: the caller resolves them).
   */
  noteIdentity(dev: number, same: boolean): boolean {
    if (!same || dev < 0) return false;
    if (dev >= this.identityEvidence.length) {
      const n = new Uint8Array(Math.max(dev + 1, this.identityEvidence.length * 2));
      n.set(this.identityEvidence);
      this.identityEvidence = n;
    }
    if (this.identityEvidence[dev] === 1) return false;
    this.identityEvidence[dev] = 1;
    return true;
  }

  hasIdentity(dev: number): boolean {
    return dev >= 0 && dev < this.identityEvidence.length && this.identityEvidence[dev] === 1;
  }

  /** cpuPhys()'s answer (halves), valid when it returned true: no array per alloc. */
  cpHi = 0;
  cpLo = 0;

  /** The CPU physical address an alloc/free event itself proves (phys field, or a raw linear-map pointer). */
  cpuPhys(ev: DmaEvent): boolean {
    if (ev.hasPhys) {
      this.cpHi = ev.physHi;
      this.cpLo = ev.physLo;
      return true;
    }
    if (ev.hasVirt && ev.virtRaw) {
      const hi = ev.virtHi >>> 0;
      for (const w of this.arch().directMaps) {
        if (hi >= w.startHi && hi < w.endHi) {
          this.cpHi = hi - w.startHi;
          this.cpLo = ev.virtLo >>> 0;
          return true;
        }
      }
    }
    return false;
  }
}

/** Device-id bit that puts sg keys (by physical address) in their own namespace. */
export const SG_KEY = 0x40000000;
