// The `json-sidecar` target: the side information `dmadebug record` writes as
// `<trace>.side.json` (read by readSidecar, turned into engine configuration
// by sideConfig, its unbinds applied at the end of the trace), and — under the
// same name, as the other file of side information — a /proc/iomem copy given
// with `--iomem` (iomemConfig). The trace is a small text trace made of the
// dma lines of a few fixtures, so the side information meets the devices and
// addresses it names.
//
// Sidecars start valid (built from the code's own SideInfo type and its iomem
// readers, with the trace's device names) and are mutated structurally (keys
// deleted, values of the wrong type, huge/negative/fractional numbers, long
// strings, deep nesting, prototype keys) and then, sometimes, bytewise.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { emptySideInfo, kernelImageFromIomem, type SideInfo, systemRamFromIomem } from '../../src/input/sidecar.js';
import { commonFlags, mutateBytes, type Rng } from './mutate.js';
import { type FuzzCase, type FuzzTarget, fixtureRoot } from './target.js';

/** Scenarios whose side information matters: kernel image maps, MMIO of RAM, unbinds, a plain run. */
const SCENARIOS = [
  ['kernel-6.12', 'bug-map-rodata', '6.12.117-amd64'],
  ['kernel-7.3', 'bug-map-resource-ram', '7.3.4-amd64'],
  ['kernel-7.3', 'bug-leak-unbind', '7.3.4-amd64'],
  ['kernel-6.12', 'bug-clean', '6.12.117-amd64'],
] as const;

interface SideSeed {
  trace: Uint8Array;
  iomem: string;
  side: SideInfo;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const WEIRD_VALUES: Json[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  2 ** 53 + 1,
  2 ** 64,
  '',
  '0x',
  '0x1',
  '0xffffffffffffffffffffffff',
  '-0x10',
  '1e3',
  'x'.repeat(1000),
  [],
  {},
  [null],
  { start: '0x0', end: '0x0' },
  { release: 7, machine: null },
  { name: 'Kernel code', start: 'zz', end: '0x1' },
  { device: '0000:00:1f.2', driver: 'ahci', bus: 'pci', atSeconds: 'soon', marker: 'yes' },
];

const KEYS = [
  'version',
  'drivers',
  'buses',
  'kernelImage',
  'systemRam',
  'kernel',
  'dmaMaskBits',
  'unbinds',
  'source',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'start',
  'end',
  'name',
  'release',
  'machine',
  'device',
  'driver',
  'bus',
  'marker',
  'atSeconds',
];

export class SidecarTarget implements FuzzTarget {
  readonly name = 'json-sidecar';
  private seeds: SideSeed[] = [];

  prepare(): void {
    for (const [kernel, scenario, release] of SCENARIOS) {
      const dir = join(fixtureRoot(), kernel, scenario);
      const lines = readFileSync(join(dir, 'trace.txt'), 'latin1').split('\n');
      const header = lines.filter((l) => l.startsWith('#')).slice(0, 12);
      const dma = lines.filter((l) => l.includes(': dma_') || l.includes('tracing_mark_write')).slice(0, 150);
      const trace = Buffer.from(`${[...header, ...dma].join('\n')}\n`, 'latin1');
      const iomem = readFileSync(join(dir, 'proc-iomem.txt'), 'utf8');
      const devices = [...new Set(dma.map((l) => /: dma_\w+: (\S+)/.exec(l)?.[1]).filter((d) => d !== undefined))];
      const side = emptySideInfo();
      for (const d of devices) {
        side.drivers[d] = d.includes(':') ? 'ahci' : 'virtio_net';
        side.buses[d] = 'pci';
        side.dmaMaskBits[d] = 64;
        side.unbinds.push({ device: d, driver: side.drivers[d]!, bus: 'pci', atSeconds: 3.5, marker: false });
      }
      side.kernelImage = kernelImageFromIomem(iomem);
      side.systemRam = systemRamFromIomem(iomem);
      side.kernel = { release, machine: 'x86_64' };
      this.seeds.push({ trace, iomem, side });
    }
  }

  make(rng: Rng): FuzzCase {
    const s = rng.pick(this.seeds);
    const files = [{ name: 'trace.txt', bytes: s.trace }];
    const args = commonFlags(rng);
    if (rng.chance(0.25)) {
      // --iomem: a /proc/iomem copy, mutated as text and bytes (and no sidecar, or the valid one)
      let text = s.iomem;
      for (let k = rng.logUniform(6); k > 0; k--) text = mutateIomem(rng, text);
      let bytes: Uint8Array = Buffer.from(text, 'latin1');
      if (rng.chance(0.3)) bytes = mutateBytes(rng, bytes);
      files.push({ name: 'iomem.txt', bytes });
      args.push('--iomem', '@iomem.txt');
      if (rng.chance(0.3)) files.push({ name: 'trace.txt.side.json', bytes: Buffer.from(JSON.stringify(s.side)) });
      return { files, args };
    }
    let v = JSON.parse(JSON.stringify(s.side)) as Json;
    for (let k = rng.chance(0.1) ? 0 : rng.logUniform(6); k > 0; k--) v = mutateJson(rng, v, 0);
    let text = JSON.stringify(v, null, rng.chance(0.5) ? 2 : undefined) ?? 'undefined';
    if (rng.chance(0.1)) text = textMutation(rng, text);
    let bytes: Uint8Array = Buffer.from(text, 'latin1');
    for (let k = rng.chance(0.7) ? 0 : rng.logUniform(3); k > 0; k--) bytes = mutateBytes(rng, bytes);
    files.push({ name: 'trace.txt.side.json', bytes });
    return { files, args };
  }
}

function weird(rng: Rng): Json {
  if (rng.chance(0.1)) return Object.fromEntries([[rng.pick(KEYS), weird(rng)]]);
  return structuredClone(rng.pick(WEIRD_VALUES));
}

/** One structural change somewhere in `v`; returns the new value. */
function mutateJson(rng: Rng, v: Json, depth: number): Json {
  const deeper = depth < 6 && v !== null && typeof v === 'object' && rng.chance(0.75);
  if (deeper) {
    if (Array.isArray(v)) {
      if (v.length === 0 || rng.chance(0.2)) {
        const out = v.slice();
        switch (rng.int(3)) {
          case 0:
            out.push(weird(rng));
            break;
          case 1:
            if (out.length > 0) out.splice(rng.int(out.length), 1);
            break;
          default:
            for (let k = rng.logUniform(rng.chance(0.05) ? 20000 : 8); k > 0 && out.length > 0; k--)
              out.push(structuredClone(out[rng.int(out.length)]!));
        }
        return out;
      }
      const i = rng.int(v.length);
      const out = v.slice();
      out[i] = mutateJson(rng, out[i]!, depth + 1);
      return out;
    }
    const keys = Object.keys(v);
    const out: { [k: string]: Json } = { ...v };
    if (keys.length === 0 || rng.chance(0.25)) {
      if (keys.length > 0 && rng.chance(0.5)) delete out[rng.pick(keys)];
      else Object.defineProperty(out, rng.pick(KEYS), { value: weird(rng), enumerable: true, writable: true });
      return out;
    }
    const k = rng.pick(keys);
    out[k] = mutateJson(rng, out[k]!, depth + 1);
    return out;
  }
  // replace this value
  if (typeof v === 'string' && rng.chance(0.5)) {
    switch (rng.int(4)) {
      case 0:
        return v.slice(0, rng.int(v.length + 1));
      case 1:
        return v + rng.pick(['0', 'f', 'ffffffffffffffff', 'g', ' ', '\u0000', '\u00ff']);
      case 2:
        return v.length > 4096 ? v : v.repeat(rng.logUniform(2000));
      default:
        return v.replace(/^0x/, rng.pick(['', '0X', '-0x', '0x-', '0b']));
    }
  }
  if (typeof v === 'number' && rng.chance(0.5)) return rng.pick([-v, v * 1e300, v + 0.5, 2 ** 31, 2 ** 32, -(2 ** 63)]);
  return weird(rng);
}

/** Text-level damage that JSON.stringify cannot make: deep nesting, duplicate keys, cut. */
function textMutation(rng: Rng, text: string): string {
  const at = rng.int(text.length + 1);
  switch (rng.int(3)) {
    case 0: {
      const n = rng.logUniform(rng.chance(0.1) ? 200_000 : 100);
      return `${text.slice(0, at)}${'['.repeat(n)}${']'.repeat(n)}${text.slice(at)}`;
    }
    case 1:
      return text.replace(/^\{/, '{"drivers": 5, "version": 1, ');
    default:
      return text.slice(0, at);
  }
}

/** One line-level change of /proc/iomem text. */
function mutateIomem(rng: Rng, text: string): string {
  const lines = text.split('\n');
  const i = rng.int(lines.length);
  const l = lines[i] ?? '';
  switch (rng.int(7)) {
    case 0:
      lines.splice(i, 1);
      break;
    case 1:
      lines.splice(i, 0, l, l);
      break;
    case 2:
      lines[i] = l.replace(
        /[0-9a-f]{8,}/,
        rng.pick(['0', 'ffffffffffffffff', 'ffffffffffffffffffffffff', '00000000', 'fffff']),
      );
      break;
    case 3:
      lines[i] = `${' '.repeat(rng.int(12))}${l.trimStart()}`;
      break;
    case 4:
      lines[i] = l.replace(
        /: .*/,
        `: ${rng.pick(['Kernel code', 'Kernel rodata', 'System RAM', 'Reserved', 'Crash kernel', 'Kernel bss', ''])}`,
      );
      break;
    case 5: {
      // start after end
      const m = /^( *)([0-9a-f]+)-([0-9a-f]+)( : .*)$/.exec(l);
      if (m) lines[i] = `${m[1]}${m[3]}-${m[2]}${m[4]}`;
      break;
    }
    default:
      lines.splice(
        i,
        0,
        `${rng.u32().toString(16)}-${rng.u32().toString(16)} : ${rng.pick(['System RAM', 'Kernel code', 'Kernel rodata'])}`,
      );
  }
  return lines.join('\n');
}
