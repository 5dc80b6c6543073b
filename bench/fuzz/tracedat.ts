// The `tracedat` target: small trace.dat files, mutated where the reader
// looks. Seeds:
//   - bench's generator (gen-tracedat.ts) with the fixtures' real 6.12 event
//     formats: version 6, version 7 uncompressed, version 7 zlib; 1-4 CPUs;
//     a few dozen to 400 dma/kmem events (small files: more inputs a second);
//   - the test writer (test/helpers/tracedat-writer.ts) for what the fixtures
//     lack: big-endian, 4-byte longs, an instance, absolute time stamps,
//     padding, missing-events bits, sub-buffers larger than a page;
//   - rarely (they are ~430 KB, zstd, and cost ~100 ms each), the smallest
//     real trace.dat fixtures of both kernels.
// Mutations are aimed at one region: the file header and metadata (sizes,
// option blocks, section headers), one CPU's data (page headers: time stamp
// and commit; records), or the options after the data (v7); plus truncation
// at and around region boundaries, and splicing two files.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prng } from '../../test/helpers/prng.js';
import { type WRecord, type WriterOptions, writeTraceDat } from '../../test/helpers/tracedat-writer.js';
import { generateTraceDat } from '../gen-tracedat.js';
import { commonFlags, interestingInt, mutateBytes, type Rng } from './mutate.js';
import { type FuzzCase, type FuzzTarget, fixtureFiles } from './target.js';

interface DatSeed {
  bytes: Uint8Array;
  /** Each CPU's data as [offset, end) (compressed v7: the chunks); empty when unknown. */
  cpus: Array<[number, number]>;
  /** Ring-buffer sub-buffer size when the CPU data is raw pages; 0 when compressed or unknown. */
  page: number;
  /** Little-endian integers? */
  le: boolean;
}

export class TraceDatTarget implements FuzzTarget {
  readonly name = 'tracedat';
  private seeds: DatSeed[] = [];
  private fixtures: DatSeed[] = [];

  prepare(seed: number): void {
    const dir = mkdtempSync(join(tmpdir(), 'dmadebug-fuzz-seeds-'));
    try {
      const gen: Array<[6 | 7, boolean, number, number]> = [
        [6, false, 1, 30],
        [6, false, 2, 150],
        [6, false, 4, 400],
        [7, false, 1, 50],
        [7, false, 2, 200],
        [7, true, 1, 60],
        [7, true, 2, 150],
        [7, true, 4, 400],
      ];
      gen.forEach(([version, zlib, cpus, events], i) => {
        const out = join(dir, `g${i}.dat`);
        const st = generateTraceDat({ events, live: 16, out, version, zlib, cpus, seed: seed + i });
        this.seeds.push({
          bytes: readFileSync(out),
          cpus: st.cpuData.map((c) => [c.offset, c.offset + c.size]),
          page: zlib ? 0 : 4096,
          le: true,
        });
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const exotic: WriterOptions[] = [
      { version: 6, cpus: 2, bigEndian: true },
      { version: 6, cpus: 2, longSize: 4, absProb: 0.2, padProb: 0.2 },
      { version: 7, cpus: 2, compression: 'none', lostProb: 0.5, longFormProb: 0.3 },
      { version: 7, cpus: 3, compression: 'zlib', chunkPages: 1, instance: 'dmabuf' },
      { version: 7, cpus: 1, compression: 'none', subbufSize: 8192, absProb: 0.1 },
      { version: 7, cpus: 2, compression: 'zlib', extraInstance: 'other', bigEndian: true },
    ];
    exotic.forEach((o, i) => {
      const rng = prng(seed * 31 + i);
      const w = writeTraceDat(records(60 + i * 30, o.cpus, rng), { ...o, rng, cmdlines: new Map([[7, 'insmod']]) });
      const page = o.version === 6 || o.compression === 'none' ? (o.subbufSize ?? o.pageSize ?? 4096) : 0;
      const cpus: Array<[number, number]> = w.dataAt.map((at, c) => [at, w.dataAt[c + 1] ?? w.bytes.length]);
      this.seeds.push({ bytes: w.bytes, cpus, page, le: !o.bigEndian });
    });
    // the smallest real files of each kernel
    const real = fixtureFiles('trace.dat', 600_000)
      .map((p) => ({ p, b: readFileSync(p) }))
      .sort((a, b) => a.b.length - b.b.length);
    for (const kernel of ['kernel-6.12', 'kernel-7.3']) {
      for (const f of real.filter((r) => r.p.includes(`/${kernel}/`)).slice(0, 3)) {
        this.fixtures.push({ bytes: f.b, cpus: [], page: 0, le: true });
      }
    }
  }

  make(rng: Rng): FuzzCase {
    const real = this.fixtures.length > 0 && rng.chance(0.002);
    const s = real ? rng.pick(this.fixtures) : rng.pick(this.seeds);
    let b = s.bytes;
    const ops = rng.chance(0.05) ? 0 : rng.logUniform(4);
    for (let k = 0; k < ops; k++) b = this.mutate(rng, s, b);
    // a fixture's compressed data is expensive and mutation mostly stops at its header: cut it short too
    if (real && rng.chance(0.8)) b = b.slice(0, rng.int(b.length));
    return { files: [{ name: 'trace.dat', bytes: b }], args: commonFlags(rng) };
  }

  private mutate(rng: Rng, s: DatSeed, b: Uint8Array): Uint8Array {
    const first = s.cpus[0]?.[0] ?? Math.min(b.length, 4096);
    // mostly changes that keep every offset: the reader then gets past them to what was changed
    const inPlace = rng.chance(0.8);
    const bytes = (lo: number, hi: number) => mutateBytes(rng, b, lo, hi, undefined, inPlace);
    switch (rng.int(16)) {
      case 0:
        // the file header: magic, version, endianness, long and page size
        return bytes(0, Math.min(64, first));
      case 1:
      case 2:
      case 3:
        // metadata: header_page/header_event, formats, kallsyms, options, v7 section headers
        return bytes(0, first);
      case 4:
      case 5:
      case 6:
      case 7:
      case 8:
      case 9: {
        // one CPU's data: a page header (time stamp, commit) or its records
        const c = s.cpus.length > 0 ? rng.pick(s.cpus) : ([first, b.length] as [number, number]);
        if (s.page > 0 && rng.chance(0.5)) {
          const pages = Math.max(1, Math.floor((c[1] - c[0]) / s.page));
          const at = c[0] + rng.int(pages) * s.page;
          if (rng.chance(0.6)) return setField(rng, b, at + rng.pick([0, 8]), rng.pick([4, 8]), s.le);
          return bytes(at, at + 16);
        }
        return bytes(c[0], c[1]);
      }
      case 10:
      case 11: {
        // what follows the data (v7: options, the BUFFER option) or the last CPU's tail
        const last = s.cpus.at(-1)?.[0] ?? first;
        return bytes(last, b.length);
      }
      case 12: {
        // truncate at or near a region boundary
        const marks = [first, ...s.cpus.flat(), b.length];
        const m = rng.pick(marks) + rng.range(-24, 24);
        return b.slice(0, Math.max(0, Math.min(b.length, m)));
      }
      case 13: {
        // splice: this file's head, another seed's tail
        const o = rng.pick(this.seeds).bytes;
        const at = rng.int(b.length);
        const from = rng.int(o.length);
        const out = new Uint8Array(at + o.length - from);
        out.set(b.subarray(0, at));
        out.set(o.subarray(from), at);
        return out;
      }
      default:
        return bytes(0, b.length);
    }
  }
}

/** An interesting integer written over a field (a page header's time stamp or commit). */
function setField(rng: Rng, b: Uint8Array, at: number, width: number, le: boolean): Uint8Array {
  const o = Uint8Array.from(b);
  const v = interestingInt(rng, width);
  for (let k = 0; k < width && at + k < o.length; k++) {
    o[le ? at + k : at + width - 1 - k] = Number((v >> BigInt(8 * k)) & 0xffn);
  }
  return o;
}

/** dma_map_page/unmap_page pairs, syncs and page frees on `cpus` CPUs, time rising per CPU. */
function records(n: number, cpus: number, r: () => number): WRecord[] {
  const ts = Array.from({ length: cpus }, () => 5_000_000_000n);
  const out: WRecord[] = [];
  const live: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const cpu = Math.floor(r() * cpus);
    ts[cpu] = ts[cpu]! + BigInt(1 + Math.floor(r() * 50_000));
    const base = { cpu, ts: ts[cpu]!, pid: 7 };
    const x = r();
    if (x < 0.2) {
      out.push({ ...base, event: 'mm_page_free', values: { pfn: Math.floor(r() * 1e6), order: 0 } });
    } else if (x < 0.6 || live.length === 0) {
      const dma = BigInt(i + 1) << 12n;
      live.push(dma);
      const values = { device: '0000:00:02.0', phys_addr: dma, dma_addr: dma, size: 4096, dir: 1, attrs: 0 };
      out.push({ ...base, event: 'dma_map_page', values });
    } else {
      const dma = live.splice(Math.floor(r() * live.length), 1)[0]!;
      const values = { device: '0000:00:02.0', addr: dma, size: 4096, dir: 1, attrs: 0 };
      out.push({ ...base, event: 'dma_unmap_page', values });
    }
  }
  return out;
}
