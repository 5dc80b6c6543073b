// Kernel-style text for findings: the first line reads exactly like the
// kernel's warning (`DMA-API: <driver> <device>: <message>`), so existing greps
// keep working; the indented lines say where it happened and where the entry
// was mapped. Unconfirmed findings are marked so they never pass for errors;
// a line the kernel prints on correct code (a kernel false positive) reads as
// the kernel's, followed by a note saying so and why.

import { type EventRef, type Finding, positionText } from '../engine/findings.js';
import type { Paint } from './paint.js';

/** The bus a device name belongs to, for the `<driver>` column when no driver is known. */
export function busName(device: string): string {
  const b = device.charCodeAt(4) === 0x3a && device.length === 12 && device[7] === ':' && device[10] === '.';
  if (b) return 'pci';
  let i = device.length;
  while (i > 0 && device.charCodeAt(i - 1) >= 0x30 && device.charCodeAt(i - 1) <= 0x39) i--;
  const stem = device.slice(0, i);
  if (stem === 'virtio' && i < device.length) return 'virtio';
  return '?';
}

export function driverLabel(f: Pick<Finding, 'driver' | 'device'>): string {
  if (f.driver) return f.driver;
  return f.device ? busName(f.device) : 'NULL';
}

/** Frames of a "Mapped at" stack printed in text. */
const STACK_FRAMES = 12;

/**
 * An event's place in its input: `trace.txt:5992` (a text line), `trace.dat
 * cpu 1 offset 0x1a2b3c` (a record's byte offset in the file) or `trace.dat
 * cpu 1 data offset 0x1a3c` (in that CPU's decompressed data: a compressed
 * trace.dat; live: its trace_pipe_raw stream); '' when it has none.
 */
export function sourceText(r: Pick<EventRef, 'line' | 'positions' | 'cpu'>, input: string): string {
  if (r.line <= 0) return '';
  return r.positions === 'line' ? `${input}:${r.line}` : `${input} ${positionText(r.positions, r.line, r.cpu)}`;
}

function where(r: EventRef, input: string): string {
  const parts: string[] = [];
  if (r.ts) parts.push(r.ts);
  parts.push(`cpu ${r.cpu}`);
  if (r.comm || r.pid) parts.push(`${r.comm || '?'}-${r.pid}`);
  const src = sourceText(r, input);
  return parts.join(' ') + (src !== '' ? ` (${src})` : '');
}

/** The kernel's warning line: `DMA-API: <driver> <device>: <message>` (bare ones without driver and device). */
export function warningLine(f: Pick<Finding, 'bare' | 'message' | 'driver' | 'device'>): string {
  return f.bare ? `DMA-API: ${f.message}` : `DMA-API: ${driverLabel(f)} ${f.device ?? 'NULL'}: ${f.message}`;
}

export function formatFinding(f: Finding, input: string, paint: Paint): string {
  const head = warningLine(f);
  let out: string;
  if (f.kernelFalsePositive !== null) {
    // The kernel's own line, unprefixed so it greps like dmesg; the note says it is not an error.
    out = `${paint.dim(head)}\n  ${paint.warn('kernel false positive')}: the kernel prints this on correct code: ${f.kernelFalsePositive}\n`;
  } else if (f.severity === 'unconfirmed') out = `${paint.warn('[unconfirmed]')} ${head}\n`;
  // Kernel info lines (pool growth) read as the kernel prints them; our own info is marked.
  else if (f.severity === 'info') out = `${paint.dim(f.bare ? head : `[info] ${head}`)}\n`;
  else out = `${paint.error(head.slice(0, 8))}${head.slice(8)}\n`;
  if (f.at.line > 0 || f.at.ts) out += `  at ${where(f.at, input)}\n`;
  if (f.note) out += `  ${f.severity === 'unconfirmed' ? 'why' : 'note'}: ${f.note}\n`;
  if (f.mapping) {
    const m = f.mapping;
    if (m.mappedAt.line > 0 || m.mappedAt.ts) out += `  Mapped at ${where(m.mappedAt, input)}\n`;
    else out += '  Mapped at:\n';
    if (m.stack) {
      // The kernel keeps 5 frames; a few more show the caller. --json has them all.
      const shown = m.stack.length > STACK_FRAMES ? STACK_FRAMES - 1 : m.stack.length;
      for (let i = 0; i < shown; i++) out += `   => ${m.stack[i]}\n`;
      if (shown < m.stack.length) out += `   => ... (${m.stack.length - shown} more frames)\n`;
    }
  }
  return out;
}
