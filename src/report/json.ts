// JSON Lines: one object per finding, then one summary object. Timestamps are
// strings so nanosecond precision survives; addresses are hex strings.

import type { Coverage, DeviceCounts, LeakGroup, PoolState } from '../engine/engine.js';
import type { Finding } from '../engine/findings.js';

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
    note: f.note,
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
  errorCount: number;
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
    error_count: s.errorCount,
    live: s.live,
    coverage: s.coverage,
    pool: s.pool,
    devices: s.devices,
    leak_at_end: s.leaks,
    driver_names: s.driverNames,
  });
}
