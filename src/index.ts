// The library's face: parsers (streaming), the engine (feed events or call it
// directly, including the calls no tracepoint records), and the renderers.

export { Interner, Names } from './base/interner.js';
export { hex, hex16, parseHex64, toBigInt } from './base/u64.js';
export { CHECKS, type CheckDef, type Family, NOT_IN_KERNEL, type SeverityRule } from './engine/catalogue.js';
export {
  type Coverage,
  type DeviceCounts,
  DmaDebugEngine,
  type DumpEntry,
  defaultConfig,
  type EngineConfig,
  type PoolState,
  tsString,
} from './engine/engine.js';
export {
  AddrList,
  Dir,
  DmaEvent,
  EventKind,
  type EventSink,
  type InputFacts,
  SizeList,
} from './engine/events.js';
export type {
  CheckId,
  EventRef,
  Finding,
  FindingSink,
  InputPositions,
  MappingInfo,
  Severity,
} from './engine/findings.js';
export { DIR_NAMES, EntryType, MAP_ERR_NAMES, MapErr, TYPE_NAMES } from './engine/model.js';
export {
  ARCH_NAMES,
  ARCH_PROFILES,
  type ArchName,
  type ArchProfile,
  archForMachine,
  KERNEL_NAMES,
  KERNEL_PROFILES,
  type KernelName,
  type KernelProfile,
  kernelForRelease,
  type ProfileChoice,
} from './engine/profiles.js';
export * from './events/vocabulary.js';
export { InputError } from './input/errors.js';
export { kernelImageFromIomem, systemRamFromIomem } from './input/sidecar.js';
export { openInput, parseTextEvents } from './input/source.js';
export { TextParser } from './input/text-parser.js';
export { TraceDatParser } from './input/tracedat.js';
export { type FindingTally, type ReplayOptions, type ReplayResult, replay, summarize } from './pipeline.js';
export { ReportCollector } from './report/collect.js';
export { dumpLine } from './report/dump.js';
export { escapeHtml, loadReportAssets, type ReportAssets, renderHtml } from './report/html.js';
export {
  entryJson,
  type FindingJson,
  findingJson,
  JSON_SCHEMA_VERSION,
  type LocationJson,
  profileJson,
  type SourceJson,
  type SummaryData,
  statsJson,
  summaryJson,
} from './report/json.js';
export { colorFor, makePaint, type Paint } from './report/paint.js';
export type * from './report/report-data.js';
export { profileLine, summaryText } from './report/summary.js';
export { busName, type FormatOptions, formatFinding, STACK_LINES } from './report/text.js';
export { TimelineSampler } from './report/timeline.js';
