// What the engine reports. A Finding is made only when a check fires (rare), so
// it is a plain object that renderers can keep. It carries ids and numbers, not
// rendering: the message text is the kernel's (or ours, in the kernel's style),
// without the `DMA-API: <driver> <device>: ` prefix.

export type Severity = 'error' | 'unconfirmed' | 'info';

import type { CheckId } from './catalogue.js';
import type { InputPositions } from './events.js';

export { type CheckId, NOT_IN_KERNEL } from './catalogue.js';
export type { InputPositions };

/** Where an event happened in the input. */
export interface EventRef {
  /**
   * Its place in the input: the line (text), or its record's byte offset
   * (binary; `positions` says from where); 0 when unknown (library calls,
   * findings made after the input).
   */
  line: number;
  /** What `line` counts: text lines, offsets in the file, or in the CPU's (decompressed) data. */
  positions: InputPositions;
  /** Timestamp as printed, e.g. "12.345678"; "" when unknown. */
  ts: string;
  cpu: number;
  pid: number;
  /** Task name, "" when unknown. */
  comm: string;
}

/** A snapshot of the entry a finding is about. */
export interface MappingInfo {
  type: string;
  direction: string;
  /** DMA address, 0x + 16 hex digits. */
  dmaAddr: string;
  size: number;
  /** CPU physical address (0x + 16 hex digits), or null when the trace cannot tell. */
  physAddr: string | null;
  sgCallEnts: number;
  sgMappedEnts: number;
  mappedAt: EventRef;
  /** Stack frames where it was mapped, when the trace had them. */
  stack: string[] | null;
}

export interface Finding {
  check: CheckId;
  severity: Severity;
  message: string;
  /** Device name, or null (the overlap-limit warning names a cacheline, not a device). */
  device: string | null;
  /** Driver name when side information gave it, else null. */
  driver: string | null;
  /** The kernel prints this one without the `<driver> <device>: ` prefix. */
  bare: boolean;
  at: EventRef;
  /**
   * Stack frames of the call that made the finding (the unmap, the sync, the
   * free, the failing map), when the trace has one: the kernel stack recorded
   * right after that event on its CPU. null otherwise.
   */
  stack: string[] | null;
  mapping: MappingInfo | null;
  /** Why a finding is unconfirmed, or how a beyond-the-kernel finding is proven. */
  note: string | null;
  /** False when the kernel's error policy (driver filter, num_errors) would not have printed it. */
  shown: boolean;
  /**
   * The kernel prints this line on correct code (its own false positive): why.
   * Such a finding has the kernel's text, so it matches dmesg, but severity
   * info, and it never counts toward the exit status. null otherwise.
   */
  kernelFalsePositive: string | null;
}

export type FindingSink = (f: Finding) => void;

/**
 * A place in an input as words, without the input's name: `line 5992`, `cpu 1
 * offset 0x1a2b3c` (a record's byte offset in the file) or `cpu 1 data offset
 * 0x1a3c` (in that CPU's decompressed or streamed data); '' when unknown.
 */
export function positionText(positions: InputPositions, line: number, cpu: number): string {
  if (line <= 0) return '';
  if (positions === 'line') return `line ${line}`;
  const off = `0x${line.toString(16)}`;
  return positions === 'file' ? `cpu ${cpu} offset ${off}` : `cpu ${cpu} data offset ${off}`;
}
