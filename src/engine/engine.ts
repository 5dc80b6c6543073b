// The DMA-API debug engine: kernel/dma/debug.c's model and checks, driven by
// events instead of hooks. This file is the dispatcher and the library's face:
// handle() hands each event to the family of checks that owns it (checks/*.ts,
// one module per family, reading like the kernel function of the same name),
// after coverage has seen it and before the statistics tap counts it. All the
// state they share is one EngineState (state.ts); every proven/unconfirmed
// verdict is coverage.ts's; every finding goes through reporter.ts; the kernel
// line and architecture whose behaviour to reproduce are a profile
// (profiles.ts). It does no I/O and knows no input format.
//
// Embedders may instead call the typed methods (mapPage, unmapPage, …,
// mappingError, unbind, assertIdle): that is how checks with no tracepoint are
// reached.

import type { Names } from '../base/interner.js';
import { hex16 } from '../base/u64.js';
import { clnHiOf, clnLoOf } from './cachelines.js';
import type { CheckId } from './catalogue.js';
import { pa } from './catalogue.js';
import { BeyondChecks, hexNoPad, type LeakGroup } from './checks/beyond.js';
import { CachelineChecks } from './checks/cacheline.js';
import { MapChecks } from './checks/map.js';
import { SideChecks } from './checks/side.js';
import { SyncChecks } from './checks/sync.js';
import { UnmapChecks } from './checks/unmap.js';
import { type CoverageReport, tsString } from './coverage.js';
import type { DeviceCounts, DevState, EngineStats } from './dev-stats.js';
import { bucketOf } from './entries.js';
import { Dir, DmaEvent, EventKind, type InputFacts } from './events.js';
import type { EventRef, FindingSink, MappingInfo } from './findings.js';
import { DIR_NAMES, EntryType, MAP_ERR_NAMES, MapErr, TYPE_NAMES } from './model.js';
import type { ProfileChoice } from './profiles.js';
import { Reporter } from './reporter.js';
import { Stacks } from './stacks.js';
import { defaultConfig, type EngineConfig, EngineState } from './state.js';
import { StatsTap } from './stats-tap.js';

export type { LeakGroup } from './checks/beyond.js';
export { tsString } from './coverage.js';
export type { DeviceCounts } from './dev-stats.js';
export { defaultConfig, type EngineConfig } from './state.js';
/** What the summary says about coverage. */
export type Coverage = CoverageReport;

export interface PoolState {
  modelled: boolean;
  preallocated: number;
  nrTotalEntries: number;
  numFreeEntries: number;
  minFreeEntries: number;
  peakUsed: number;
  disabled: boolean;
}

/** One dump line's data (renderers format it). */
export interface DumpEntry {
  device: string;
  driver: string | null;
  type: string;
  bucket: number;
  /** null when the trace cannot tell the physical address */
  phys: string | null;
  /** The DMA address as the dump prints it (%llx: no 0x, no padding). */
  dma: string;
  /** The DMA address, 0x + 16 hex digits. */
  dmaAddr: string;
  size: number;
  /** cacheline (phys >> 6) as %pa, null when phys is unknown */
  cln: string | null;
  direction: string;
  mapError: string;
  /** The entry's DMA_ATTR_* bits, where the kernel profile keeps them (7.3 dumps ` attrs=0x..`); else null. */
  attrs: number | null;
  /** sg entries: the call's nents and mapped count (0 for other types). */
  sgCallEnts: number;
  sgMappedEnts: number;
  mappedAt: EventRef;
  stack: string[] | null;
}

export class DmaDebugEngine {
  readonly config: EngineConfig;
  readonly names: Names;
  private readonly s: EngineState;
  private readonly report: Reporter;
  private readonly tap: StatsTap;
  private readonly stacks: Stacks;
  private readonly mapping: MapChecks;
  private readonly unmapping: UnmapChecks;
  private readonly syncing: SyncChecks;
  private readonly cachelining: CachelineChecks;
  private readonly side: SideChecks;
  private readonly beyond: BeyondChecks;

  constructor(names: Names, sink: FindingSink, config: Partial<EngineConfig> = {}) {
    this.config = { ...defaultConfig(), ...config };
    this.names = names;
    const s = new EngineState(names, this.config);
    this.s = s;
    this.report = s.report = new Reporter(s, sink);
    this.tap = s.stats = new StatsTap(s);
    this.stacks = new Stacks(s);
    this.cachelining = new CachelineChecks(s);
    this.side = new SideChecks(s);
    this.mapping = new MapChecks(s, this.cachelining, this.side, this.stacks);
    this.unmapping = new UnmapChecks(s);
    this.syncing = new SyncChecks(s, this.unmapping);
    this.beyond = new BeyondChecks(s);
  }

  /** Header facts from the parser (read when the first event arrives, and for the kernel profile). */
  attachInputFacts(facts: InputFacts): void {
    this.s.attachInputFacts(facts);
  }

  /**
   * The input holds nothing more now: its end, or a live source drained (or
   * idle: nothing to read, nothing queued). The errors held for a late loss
   * notice, and the findings waiting for their call's stack (gate.ts), go
   * out; call it before reading the findings' totals, and after feeding
   * handle() directly. `max`: let at most that many out now, and say whether
   * more are to go (call again once the output took them).
   */
  inputDrained(max = Number.POSITIVE_INFINITY): boolean {
    return this.s.report.gate.drained(max);
  }

  /**
   * From now until the next call, at most `max` findings go out; those ready
   * now go at once. Returns whether more are ready (call again once the
   * output took these). Until it is first called, findings go out as soon as
   * they are ready, however many.
   */
  letOutHeld(max: number): boolean {
    return this.s.report.gate.letOut(max);
  }

  /**
   * A reader's promise (TraceDatParserOptions.quiet): CPU `cpu`'s next record
   * is at sec.ns (Infinity: it has none) and no loss notice of that CPU comes
   * before it. Errors held for a notice need not wait for that CPU until then.
   */
  cpuQuiet(cpu: number, sec: number, ns: number): void {
    this.s.report.gate.quietUntil(cpu, sec, ns);
  }

  private lastTsOf(cpu: number): string {
    const t = this.s.report.gate.last(cpu);
    return t ? tsString(t.sec, t.ns, 6) : 'the start';
  }

  // ------------------------------------------------------------------
  // Event dispatch
  // ------------------------------------------------------------------

  handle(ev: DmaEvent): void {
    const s = this.s;
    const gate = s.report.gate;
    if (!s.cov.started && s.cov.facts) gate.setCpus(s.cov.facts.cpus);
    s.cov.see(ev);
    // A finding made by this CPU's previous record waits for this one: the call's stack, or none.
    if (gate.waitingForStacks) gate.record(ev.cpu, ev.kind === EventKind.Stack ? ev.stack : -1);
    if (ev.kind === EventKind.Lost || ev.kind === EventKind.CpuCutShort) {
      // a damaged line stands in its place; a notice (or a cut) concerns what its CPU did since its last event
      if (!ev.damaged) gate.lost(ev.cpu, (cpu) => this.lastTsOf(cpu));
    } else {
      gate.seen(ev.cpu, ev.tsSec, ev.tsNs);
    }
    if (ev.kind === EventKind.PageFree) {
      // most events of a kmem-traced run, and almost always nothing to check: the short way
      this.stacks.other(ev.cpu);
      if (s.physIndex.count !== 0) {
        s.cur = ev;
        this.beyond.pageFree(ev);
        s.cur = null;
      }
      this.tap.eventCount++;
      return;
    }
    s.cur = ev;
    // a stack belongs to the record right before it on its CPU: any other record ends the last mapping's chance
    if (ev.kind !== EventKind.Stack) this.stacks.other(ev.cpu);
    switch (ev.kind) {
      case EventKind.MapPage:
      case EventKind.MapResource:
        this.mapping.single(ev);
        break;
      case EventKind.UnmapPage:
      case EventKind.UnmapResource:
        this.unmapping.single(ev);
        break;
      case EventKind.MapSg:
        this.mapping.sg(ev);
        break;
      case EventKind.UnmapSg:
        this.unmapping.sg(ev);
        break;
      case EventKind.MapSgErr:
      case EventKind.AllocSgtErr:
        this.mapping.failed(ev);
        break;
      case EventKind.Alloc:
        this.mapping.alloc(ev, EntryType.Coherent);
        break;
      case EventKind.AllocPages:
        this.mapping.alloc(ev, EntryType.Noncoherent);
        break;
      case EventKind.Free:
        this.unmapping.free(ev, EntryType.Coherent);
        break;
      case EventKind.FreePages:
        this.unmapping.free(ev, EntryType.Noncoherent);
        break;
      case EventKind.AllocSgt:
        this.mapping.allocSgt(ev);
        break;
      case EventKind.FreeSgt:
        this.unmapping.freeSgt(ev);
        break;
      case EventKind.SyncSingleForCpu:
      case EventKind.SyncSingleForDevice:
        this.syncing.single(ev, ev.kind === EventKind.SyncSingleForCpu);
        break;
      case EventKind.SyncSgForCpu:
      case EventKind.SyncSgForDevice:
        this.syncing.sg(ev, ev.kind === EventKind.SyncSgForCpu);
        break;
      case EventKind.Stack:
        this.stacks.stack(ev.cpu, ev.stack);
        break;
      case EventKind.Unbind:
        this.side.unbind(ev.device, ev.text || 'pci');
        break;
      case EventKind.Lost:
        // coverage saw it; a stack block after it is a lost event's, not the last mapping's
        this.stacks.lost(ev.cpu);
        break;
      default:
        // CpuCutShort: coverage saw it; Marker: no check uses it.
        break;
    }
    this.tap.event(ev);
    s.cur = null;
  }

  // ------------------------------------------------------------------
  // Library calls with no tracepoint
  // ------------------------------------------------------------------

  /**
   * dma_mapping_error() was called for this address: the first unchecked entry
   * at (device, address) becomes checked (debug_dma_mapping_error()).
   */
  mappingError(device: string, dmaAddr: bigint): void {
    this.s.cov.startDirect();
    const dev = this.names.devices.intern(device);
    const [hi, lo] = split(dmaAddr);
    const t = this.s.entries;
    for (let e = t.head[bucketOf(hi, lo)]!; e >= 0; e = t.next(e)) {
      if (t.dev(e) !== dev || t.dmaHi(e) !== hi || t.dmaLo(e) !== lo) continue;
      if (t.mapErr(e) === MapErr.NotChecked) {
        t.setMapErr(e, MapErr.Checked);
        break;
      }
    }
  }

  /** The driver was unbound from the device (BUS_NOTIFY_UNBOUND_DRIVER): report leaked entries. */
  unbind(device: string, bus = 'pci'): void {
    this.s.cov.startDirect();
    this.side.unbind(this.names.devices.intern(device), bus);
  }

  /** The CPU is about to touch [phys, phys+len): the old debug_dma_assert_idle(). */
  assertIdle(phys: bigint, len = 4096n): boolean {
    this.s.cov.startDirect();
    return this.cachelining.assertIdle(phys, len);
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
  unmapResource(device: string, dmaAddr: bigint, size: number, dir: Dir, attrs = 0): void {
    this.direct(EventKind.UnmapResource, device, dmaAddr, size, dir, null, attrs);
  }
  syncSingleForCpu(device: string, dmaAddr: bigint, size: number, dir: Dir): void {
    this.direct(EventKind.SyncSingleForCpu, device, dmaAddr, size, dir, null, 0);
  }
  syncSingleForDevice(device: string, dmaAddr: bigint, size: number, dir: Dir): void {
    this.direct(EventKind.SyncSingleForDevice, device, dmaAddr, size, dir, null, 0);
  }
  allocCoherent(
    device: string,
    dmaAddr: bigint,
    size: number,
    virt: bigint,
    phys: bigint | null = null,
    attrs = 0,
  ): void {
    this.direct(EventKind.Alloc, device, dmaAddr, size, Dir.Bidirectional, phys, attrs, virt);
  }
  freeCoherent(device: string, dmaAddr: bigint, size: number, virt: bigint, attrs = 0): void {
    this.direct(EventKind.Free, device, dmaAddr, size, Dir.Bidirectional, null, attrs, virt);
  }

  /** kmem:mm_page_free of the 2^order pages at pfn (page-freed-while-mapped). */
  pageFree(pfn: bigint, order = 0): void {
    const ev = this.scratch();
    ev.kind = EventKind.PageFree;
    [ev.pfnHi, ev.pfnLo] = split(pfn);
    ev.order = order;
    this.handle(ev);
  }

  /** Feed a whole sg mapping directly: segments as [dma, length, phys]. */
  mapSg(device: string, nents: number, segments: ReadonlyArray<[bigint, number, bigint]>, dir: Dir, attrs = 0): void {
    const ev = this.scratch();
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
  unmapSg(device: string, physList: ReadonlyArray<bigint>, dir: Dir, attrs = 0): void {
    const ev = this.scratch();
    ev.kind = EventKind.UnmapSg;
    ev.device = this.names.devices.intern(device);
    ev.dir = dir;
    ev.attrs = attrs;
    ev.nents = physList.length;
    for (const p of physList) {
      const [h, l] = split(p);
      ev.sgPhys.push(h, l);
    }
    this.handle(ev);
  }

  private scratchEvent: DmaEvent | null = null;
  /** The reused event of direct calls, emptied; a direct session vouches for its own coverage. */
  private scratch(): DmaEvent {
    this.s.cov.startDirect();
    this.scratchEvent ??= new DmaEvent();
    const ev = this.scratchEvent;
    this.s.directEvent = ev;
    ev.resetPayload();
    ev.line = 0;
    return ev;
  }

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
    const ev = this.scratch();
    ev.kind = kind;
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

  // ------------------------------------------------------------------
  // Read-only state for renderers
  // ------------------------------------------------------------------

  /** The kernel profile in force, and the evidence for it. */
  profile(): ProfileChoice {
    return this.s.profileChoice();
  }

  get live(): number {
    return this.s.entries.live;
  }

  /** Events the input said were lost so far (cheap: for status lines). */
  get eventsLost(): number {
    return this.s.cov.lostEvents;
  }

  get eventCount(): number {
    return this.tap.eventCount;
  }

  get errorCount(): number {
    return this.report.errorCount;
  }

  get findingCounts(): ReadonlyMap<CheckId, number> {
    return this.report.findingCounts;
  }

  get severityCounts(): Readonly<{ error: number; unconfirmed: number; info: number }> {
    return this.report.severityCounts;
  }

  /** The entry table (read-only use: tests and benchmarks). */
  get entries() {
    return this.s.entries;
  }

  get cachelines() {
    return this.s.cachelines;
  }

  get physIndex() {
    return this.s.physIndex;
  }

  coverage(): Coverage {
    let unknownPhys = 0;
    const t = this.s.entries;
    for (const e of t.inDumpOrder()) if (!t.physKnown(e)) unknownPhys++;
    return this.s.cov.report(unknownPhys);
  }

  poolState(): PoolState {
    const { pool } = this.s;
    return {
      modelled: this.s.cov.poolModelled,
      preallocated: pool.prealloc,
      nrTotalEntries: pool.nrTotal,
      numFreeEntries: pool.numFree,
      minFreeEntries: pool.minFree,
      peakUsed: pool.peakUsed,
      disabled: this.s.poolDisabled,
    };
  }

  /** One device's live counters by interned id (undefined before its first call); read-only, for samplers. */
  deviceState(dev: number): Readonly<DevState> | undefined {
    return this.tap.deviceState(dev);
  }

  deviceCounts(): Map<string, DeviceCounts> {
    return this.tap.deviceCounts();
  }

  stats(): EngineStats {
    return this.tap.stats(this.report.findingCounts);
  }

  leaksAtEnd(): LeakGroup[] {
    return this.beyond.leaksAtEnd();
  }

  mappingInfo(e: number): MappingInfo {
    return this.report.mappingInfo(e);
  }

  /** The live entries in the kernel's dump order (dump_show()). */
  *dump(device: string | null = null): Generator<DumpEntry> {
    const t = this.s.entries;
    const keepsAttrs = this.s.kernel().keepsAttrs;
    const dev = device === null ? -1 : this.names.devices.intern(device);
    for (const e of t.inDumpOrder(dev)) {
      const known = t.physKnown(e);
      const name = this.names.devices.name(t.dev(e));
      const info = this.report.mappingInfo(e);
      yield {
        device: name,
        driver: this.config.drivers?.get(name) ?? null,
        type: TYPE_NAMES[t.type(e)] ?? '?',
        bucket: bucketOf(t.dmaHi(e), t.dmaLo(e)),
        phys: known ? `0x${hex16(t.physHi(e), t.physLo(e))}` : null,
        dma: hexNoPad(t.dmaHi(e), t.dmaLo(e)),
        dmaAddr: info.dmaAddr,
        size: t.size(e),
        cln: known ? pa(clnHiOf(t.physHi(e)), clnLoOf(t.physHi(e), t.physLo(e))) : null,
        direction: DIR_NAMES[t.dir(e)] ?? '?',
        mapError: MAP_ERR_NAMES[t.mapErr(e)] ?? '?',
        attrs: keepsAttrs ? t.attrs(e) : null,
        sgCallEnts: info.sgCallEnts,
        sgMappedEnts: info.sgMappedEnts,
        mappedAt: info.mappedAt,
        stack: info.stack,
      };
    }
  }
}

function split(v: bigint): [number, number] {
  const m = v & 0xffffffffffffffffn;
  return [Number(m >> 32n) >>> 0, Number(m & 0xffffffffn) >>> 0];
}
