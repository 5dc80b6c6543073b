// JSON Lines: one object per finding, then one summary object. Timestamps are
// strings so nanosecond precision survives; addresses are hex strings.

import type { Coverage, DeviceCounts, LeakGroup, PoolState } from '../engine/engine.js';
import type { Finding } from '../engine/findings.js';
import type { ProfileChoice } from '../engine/profiles.js';

export const JSON_SCHEMA_VERSION = 1;

export function findingJson(f: Finding, input: string): string {
  return JSON.stringify({
    type: 'finding',
    check: f.check,
    severity: f.severity,
    message: f.message,
    device: f.device,
    driver: f.driver,
    ts: f.at.ts,
    cpu: f.at.cpu,
    pid: f.at.pid,
    comm: f.at.comm,
    source: { file: input, line: f.at.line },
    // The offending call's stack frames (the unmap, the sync, the free...), or null when the trace has none.
    stack: f.stack,
    note: f.note,
    // Why the kernel prints this line on correct code, or null: such a finding is never an error.
    kernel_false_positive: f.kernelFalsePositive,
    mapping: f.mapping
      ? {
          type: f.mapping.type,
          direction: f.mapping.direction,
          dma_addr: f.mapping.dmaAddr,
          size: f.mapping.size,
          phys_addr: f.mapping.physAddr,
          sg_call_ents: f.mapping.sgCallEnts,
          sg_mapped_ents: f.mapping.sgMappedEnts,
          mapped_at: {
            ts: f.mapping.mappedAt.ts,
            cpu: f.mapping.mappedAt.cpu,
            pid: f.mapping.mappedAt.pid,
            comm: f.mapping.mappedAt.comm,
            source: { file: input, line: f.mapping.mappedAt.line },
          },
          stack: f.mapping.stack,
        }
      : null,
  });
}

export interface SummaryData {
  inputs: string[];
  events: number;
  lines: number;
  skippedLines: number;
  badLines: number;
  findings: Record<string, number>;
  severities: { error: number; unconfirmed: number; info: number };
  /** Findings the kernel prints on correct code (counted in severities.info too). */
  kernelFalsePositives: number;
  errorCount: number;
  /** The kernel and arch profile the checks followed, and why. */
  profile: ProfileChoice;
  live: number;
  coverage: Coverage;
  pool: PoolState;
  devices: Record<string, DeviceCounts>;
  /** leak-at-end (info): mappings still live at the end, by device and call site. */
  leaks: LeakGroup[];
  driverNames: 'side-information' | 'bus-names';
}

export function summaryJson(s: SummaryData): string {
  return JSON.stringify({
    type: 'summary',
    schema: JSON_SCHEMA_VERSION,
    inputs: s.inputs,
    events: s.events,
    lines: s.lines,
    skipped_lines: s.skippedLines,
    bad_lines: s.badLines,
    findings: s.findings,
    severities: s.severities,
    kernel_false_positives: s.kernelFalsePositives,
    error_count: s.errorCount,
    profile: profileJson(s.profile),
    live: s.live,
    coverage: s.coverage,
    pool: s.pool,
    devices: s.devices,
    leak_at_end: s.leaks,
    driver_names: s.driverNames,
  });
}

/** The profile as JSON: `assumed` lists what no evidence decided ("kernel", "arch"). */
export function profileJson(p: ProfileChoice): Record<string, unknown> {
  const assumed: string[] = [];
  if (p.kernelAssumed) assumed.push('kernel');
  if (p.archAssumed) assumed.push('arch');
  return {
    kernel: p.kernel,
    arch: p.arch,
    kernel_evidence: p.kernelEvidence,
    arch_evidence: p.archEvidence,
    assumed,
    conflict: p.conflict,
  };
}
