// The debugfs `dma-api/dump` format of the fixtures' kernel (6.12 with
// backports): `<driver> <device> <type> idx <bucket> P=<%pa> D=<%llx> L=<%llx>
// cln=<%pa> <DIR> <map-error state>`. A physical address the trace cannot tell
// is printed as `unknown`, never guessed.

import type { DumpEntry } from '../engine/engine.js';
import { busName } from './text.js';

export function dumpLine(e: DumpEntry): string {
  const driver = e.driver ?? busName(e.device);
  const size = Number.isSafeInteger(e.size) ? e.size.toString(16) : String(e.size);
  return `${driver} ${e.device} ${e.type} idx ${e.bucket} P=${e.phys ?? 'unknown'} D=${e.dma} L=${size} cln=${e.cln ?? 'unknown'} ${e.direction} ${e.mapError}\n`;
}
