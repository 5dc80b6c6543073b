// Shared by the input tests: a compact, complete serialization of a DmaEvent
// (every field, names resolved), fixture paths, and a parse-a-string helper
// that can feed the parser in chunks of any size.

import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Names } from '../../src/base/interner.js';
import { hex } from '../../src/base/u64.js';
import type { DmaEvent } from '../../src/engine/events.js';
import { TextParser } from '../../src/input/text-parser.js';
import { type ReadFileOptions, TraceDatParser } from '../../src/input/tracedat.js';

export const FIXTURES = resolve(process.cwd(), '../shared/fixtures/kernel-6.12');

export function fixture(scenario: string, file = 'trace.txt'): string {
  return join(FIXTURES, scenario, file);
}

/** Scenarios that have a plain trace.txt. */
export function textScenarios(): string[] {
  if (!existsSync(FIXTURES)) return [];
  return readdirSync(FIXTURES)
    .filter((d) => existsSync(join(FIXTURES, d, 'trace.txt')))
    .sort();
}

/** The 64-bit values hi[i]:lo[i] for i < n, in hex, comma-separated. */
export function hexList(hi: Uint32Array, lo: Uint32Array, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(hex(hi[i]!, lo[i]!));
  return out.join(',');
}

/** Microseconds as the kernel prints them (rounded). */
export function micros(ev: DmaEvent): number {
  if (ev.tsDigits === 9) return ev.tsSec * 1e6 + Math.floor((ev.tsNs + 500) / 1000);
  return ev.tsSec * 1e6 + Math.round(ev.tsNs / 1000);
}

/** The direction, attributes, address, phys and size fields of serialize(). */
export function addrFields(ev: DmaEvent): string[] {
  return [
    `dir=${ev.dir}/${ev.hasDir ? 1 : 0}`,
    `attrs=${ev.attrs}`,
    `a=${hex(ev.addrHi, ev.addrLo)}`,
    `p=${hex(ev.physHi, ev.physLo)}/${ev.hasPhys ? 1 : 0}`,
    `sz=${ev.size}`,
  ];
}

/** The scatterlist, error, pfn and lost-count fields of serialize(). */
export function sgFields(ev: DmaEvent): string[] {
  const sizes: number[] = [];
  for (let i = 0; i < ev.sgLen.count; i++) sizes.push(ev.sgLen.v[i]!);
  return [
    `n=${ev.nents}/${ev.ents}${ev.truncated ? 'T' : ''}`,
    `dma={${hexList(ev.sgDma.hi, ev.sgDma.lo, ev.sgDma.count)}}`,
    `len={${sizes.join(',')}}`,
    `phys={${hexList(ev.sgPhys.hi, ev.sgPhys.lo, ev.sgPhys.count)}}`,
    `err=${ev.err}`,
    `pfn=${hex(ev.pfnHi, ev.pfnLo)}/${ev.order}`,
    `lost=${ev.lost}`,
  ];
}

/** Every field of the event, names resolved, in one line. */
export function serialize(ev: DmaEvent, names: Names): string {
  return [
    `k=${ev.kind}`,
    `l=${ev.line}`,
    `ts=${ev.tsSec}.${ev.tsNs}/${ev.tsDigits}`,
    `cpu=${ev.cpu}`,
    `pid=${ev.pid}`,
    `comm=${ev.comm < 0 ? ev.comm : names.comms.name(ev.comm)}`,
    `dev=${ev.device < 0 ? ev.device : names.devices.name(ev.device)}`,
    ...addrFields(ev),
    `v=${hex(ev.virtHi, ev.virtLo)}/${ev.hasVirt ? 1 : 0}${ev.virtRaw ? 'r' : ''}`,
    ...sgFields(ev),
    `stack=${ev.stack < 0 ? ev.stack : JSON.stringify(names.stacks.name(ev.stack))}`,
    `text=${JSON.stringify(ev.text)}`,
    // a lost event in place of a line or record that could not be read
    ...(ev.damaged ? ['damaged'] : []),
  ].join(' ');
}

export interface Parsed {
  parser: TextParser;
  names: Names;
  events: DmaEvent[];
}

/** Parses bytes (or a string), feeding chunkSize bytes at a time (0 = all at once). */
export function parseBytes(input: Uint8Array | string, chunkSize = 0, file = 'test.txt'): Parsed {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input);
  const names = new Names();
  const events: DmaEvent[] = [];
  const parser = new TextParser({ names, file, sink: (ev) => events.push(ev.clone()) });
  if (chunkSize <= 0) parser.push(bytes);
  else for (let i = 0; i < bytes.length; i += chunkSize) parser.push(bytes.subarray(i, i + chunkSize));
  parser.end();
  return { parser, names, events };
}

/** Serializes a whole input's events (for sequence comparisons), without keeping the events. */
export function serializeAll(input: Uint8Array, chunkSize: number): { lines: string[]; parser: TextParser } {
  const names = new Names();
  const lines: string[] = [];
  const parser = new TextParser({ names, file: 'x', sink: (ev) => lines.push(serialize(ev, names)) });
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (chunkSize <= 0) parser.push(bytes);
  else for (let i = 0; i < bytes.length; i += chunkSize) parser.push(bytes.subarray(i, i + chunkSize));
  parser.end();
  return { lines, parser };
}

/** The "Event counts in trace.txt" table of a fixture README. */
export function readmeCounts(readme: string): Map<string, number> {
  const out = new Map<string, number>();
  const lines = readme.split('\n');
  const start = lines.findIndex((l) => l.startsWith('Event counts in trace.txt'));
  if (start < 0) return out;
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (!l.startsWith('  ') || l.trim() === '') break;
    const m = /^\s+(.+?)\s+(\d+)$/.exec(l);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** What reading a trace.dat gave: every event serialized, and the error that stopped it (null: none). */
export interface DatOutcome {
  lines: string[];
  error: unknown;
}

/** Reads a trace.dat file by position (readFile) with `opts`. */
export async function readDatFile(path: string, opts: ReadFileOptions = {}): Promise<DatOutcome> {
  const names = new Names();
  const lines: string[] = [];
  const parser = new TraceDatParser({ names, file: path, sink: (ev) => lines.push(serialize(ev, names)) });
  try {
    await parser.readFile(path, opts);
    return { lines, error: null };
  } catch (e) {
    return { lines, error: e };
  }
}
