// Kernel-style text for findings: the first line reads exactly like the
// kernel's warning (`DMA-API: <driver> <device>: <message>`), so existing greps
// keep working; the indented lines say where it happened (with the call's
// stack) and where the entry was mapped (with the mapping's stack), each stack
// cut at STACK_LINES unless fullStack. Unconfirmed findings are marked so they never pass for errors;
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

/**
 * The most lines a stack takes in text: longer stacks show STACK_LINES - 1
 * frames and `=> ... (N more frames)`; --full-stack shows every frame, and
 * JSON and the HTML report always carry all of them. Why 10: after the tracing
 * machinery is dropped, the first 9 frames of every stack in the real-device
 * fixtures (virtio-blk, virtio-net, nvme, ahci, e1000e on 6.12 and 7.3) reach
 * through the DMA API and the bus or virtqueue helpers to the driver's own
 * function and its caller; the deepest, 7.3's virtio-blk map, has
 * virtblk_add_req 8th and virtio_queue_rq 9th. Below that are the block,
 * network or IRQ layers, the same for every finding. The kernel itself keeps
 * 5 frames for "Mapped at"; two stacks of 10 keep a finding under 25 lines.
 */
export const STACK_LINES = 10;

export interface FormatOptions {
  /** Print every frame of both stacks (--full-stack). */
  fullStack?: boolean;
}

/** A stack's lines (`   => frame`), cut at STACK_LINES unless full. */
function stackLines(frames: readonly string[], full: boolean): string {
  const shown = !full && frames.length > STACK_LINES ? STACK_LINES - 1 : frames.length;
  let out = '';
  for (let i = 0; i < shown; i++) out += `   => ${frames[i]}\n`;
  if (shown < frames.length) out += `   => ... (${frames.length - shown} more frames)\n`;
  return out;
}

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

export function formatFinding(f: Finding, input: string, paint: Paint, opts: FormatOptions = {}): string {
  const full = opts.fullStack === true;
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
  if (f.stack) out += stackLines(f.stack, full);
  if (f.note) out += `  ${f.severity === 'unconfirmed' ? 'why' : 'note'}: ${f.note}\n`;
  if (f.mapping) {
    const m = f.mapping;
    if (m.mappedAt.line > 0 || m.mappedAt.ts) out += `  Mapped at ${where(m.mappedAt, input)}\n`;
    else out += '  Mapped at:\n';
    // a mapping made by the call itself (a map that fails a check): its stack is printed above
    if (m.stack && m.stack !== f.stack) out += stackLines(m.stack, full);
  }
  return out;
}
