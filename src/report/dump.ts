// The debugfs `dma-api/dump` format: `<driver> <device> <type> idx <bucket>
// P=<%pa> D=<%llx> L=<%llx> cln=<%pa> <DIR> <map-error state>`, and on kernels
// whose entries keep their attrs (7.x) ` attrs=0x<%lx>` at the end. A physical
// address the trace cannot tell is printed as `unknown`, never guessed.

import type { DumpEntry } from '../engine/engine.js';
import { busName } from './text.js';

/** A dump entry; `attrs` is null (or absent) when the profile keeps no attrs. */
export type DumpEntryWithAttrs = DumpEntry & { attrs?: number | null };

export function dumpLine(e: DumpEntryWithAttrs): string {
  const driver = e.driver ?? busName(e.device);
  const size = Number.isSafeInteger(e.size) ? e.size.toString(16) : String(e.size);
  const attrs = typeof e.attrs === 'number' ? ` attrs=0x${e.attrs.toString(16)}` : '';
  return `${driver} ${e.device} ${e.type} idx ${e.bucket} P=${e.phys ?? 'unknown'} D=${e.dma} L=${size} cln=${e.cln ?? 'unknown'} ${e.direction} ${e.mapError}${attrs}\n`;
}
