// trace.dat round trip: random events (seeded PRNG) written by the test-only
// encoder in every layout the fixtures lack (v6/v7, big-endian, 4-byte longs,
// zlib sections, absolute time stamps, time extends, padding, lost-event bits
// with and without counts, sub-buffers larger than a page, instances) must
// come back as exactly the expected events, in push mode at random chunk
// sizes and in readFile mode.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Names } from '../../src/base/interner.js';
import { type Dir, DmaEvent, EventKind as K } from '../../src/engine/events.js';
import { InputError } from '../../src/input/errors.js';
import { TraceDatParser } from '../../src/input/tracedat.js';
import { prng } from '../helpers/prng.js';
import { type WRecord, type WriterOptions, writeTraceDat } from '../helpers/tracedat-writer.js';
import { serialize } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'dmadebug-tracedat-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const KALLSYMS = [
  'ffffffff81000000 T _text',
  'ffffffff81001000 T trace_event_buffer_commit',
  'ffffffff81001200 T trace_event_raw_event_dma_map',
  'ffffffff81001400 T __traceiter_dma_map_page',
  'ffffffff81001600 T dma_map_page_attrs',
  'ffffffff81001900 T nvme_queue_rq',
  'ffffffff81002000 t helper_fn',
  'ffffffff81003000 T _etext',
  'ffffffffa0000000 t mod_probe\t[mymod]',
  'ffffffffa0000400 t mod_other\t[mymod]',
  '',
].join('\n');
/** name, address, size (0 = no end known), module */
const SYMS: Array<[string, bigint, number, string]> = [
  ['trace_event_buffer_commit', 0xffffffff81001000n, 0x200, ''],
  ['trace_event_raw_event_dma_map', 0xffffffff81001200n, 0x200, ''],
  ['__traceiter_dma_map_page', 0xffffffff81001400n, 0x200, ''],
  ['dma_map_page_attrs', 0xffffffff81001600n, 0x300, ''],
  ['nvme_queue_rq', 0xffffffff81001900n, 0x700, ''],
  ['helper_fn', 0xffffffff81002000n, 0x1000, ''],
  ['mod_probe', 0xffffffffa0000000n, 0x400, 'mymod'],
];
const MACHINE = new Set(['trace_event_buffer_commit', 'trace_event_raw_event_dma_map', '__traceiter_dma_map_page']);
const PRINTK = ['0xffffffffa0001000 : "bputs says hi\\n"', '0xffffffffa0001100 : "value %d %s %llx %u\\n"', ''].join(
  '\n',
);

const MMIO = 1 << 10;

interface Case {
  records: WRecord[];
  opts: WriterOptions;
  /** records whose dir is out of range for a non-alloc event: warnings, and lost events in their place */
  bad: Set<number>;
}

function u64(r: () => number, bits: number): bigint {
  let v = 0n;
  for (let b = 0; b < bits; b += 16) v = (v << 16n) | BigInt(Math.floor(r() * 65536));
  return BigInt.asUintN(bits, v);
}

function makeCase(seed: number): Case {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const version = pick([6, 7] as const);
  const longSize = pick([4, 8] as const);
  const pageSize = pick([4096, 4096, 8192]);
  const cpus = 1 + Math.floor(r() * 4);
  const opts: WriterOptions = {
    version,
    cpus,
    bigEndian: r() < 0.4,
    longSize,
    pageSize,
    subbufSize: r() < 0.3 ? pageSize * 2 : pageSize,
    compression: r() < 0.7 ? 'zlib' : 'none',
    chunkPages: 1 + Math.floor(r() * 5),
    rng: prng(seed * 7 + 1),
    absProb: r() < 0.5 ? 0.05 : 0,
    padProb: r() < 0.5 ? 0.05 : 0,
    lostProb: r() < 0.5 ? 0.2 : 0,
    longFormProb: r() < 0.5 ? 0.3 : 0,
    kallsyms: longSize === 8 ? KALLSYMS : KALLSYMS.replaceAll('ffffffff', ''),
    printk: longSize === 8 ? PRINTK : PRINTK.replaceAll('0xffffffff', '0x'),
    cmdlines: new Map([
      [100, 'kworker/0:1'],
      [200, 'dd'],
      [300, 'insmod'],
    ]),
  };
  if (r() < 0.25) opts.instance = 'oracle';
  const addrBits = longSize === 8 ? 64 : 32;
  const records: WRecord[] = [];
  const bad = new Set<number>();
  const perCpu: bigint[] = [];
  const base = r() < 0.3 ? (1n << 55n) + u64(r, 40) : u64(r, 34);
  for (let c = 0; c < cpus; c++) perCpu.push(base + u64(r, 20));
  const n = 50 + Math.floor(r() * 300);
  const devs = ['0000:00:02.0', '0000:00:03.0', 'virtio0', '0000:01:00.0'];
  for (let i = 0; i < n; i++) {
    const cpu = Math.floor(r() * cpus);
    const step = r() < 0.05 ? u64(r, 35) : r() < 0.1 ? 0n : u64(r, 14);
    perCpu[cpu] = perCpu[cpu]! + step;
    const ts = perCpu[cpu]!;
    const pid = pick([0, 100, 200, 300, 4242]);
    const device = pick(devs);
    const dir = r() < 0.05 ? 7 : Math.floor(r() * 4);
    const attrs = r() < 0.2 ? MMIO | 0x20 : r() < 0.3 ? 0x100 : 0;
    const sizeBits = longSize === 8 ? 40 : 31;
    const kind = Math.floor(r() * 16);
    const rec = (event: string, values: WRecord['values']): void => {
      records.push({ cpu, ts, pid, event, values });
    };
    const nlist = (k: number, bits: number): bigint[] => Array.from({ length: k }, () => u64(r, bits));
    switch (kind) {
      case 0:
      case 1:
        if (dir === 7) bad.add(records.length);
        rec('dma_map_page', {
          device,
          phys_addr: u64(r, 64),
          dma_addr: u64(r, 64),
          size: u64(r, sizeBits),
          dir,
          attrs,
        });
        break;
      case 2:
        if (dir === 7) bad.add(records.length);
        rec('dma_unmap_page', { device, addr: u64(r, 64), size: u64(r, sizeBits), dir, attrs });
        break;
      case 3:
        if (dir === 7) bad.add(records.length);
        rec('dma_map_phys', { device, phys_addr: u64(r, 64), dma_addr: u64(r, 64), size: u64(r, 16), dir, attrs });
        break;
      case 4: {
        if (dir === 7) bad.add(records.length);
        const k = Math.floor(r() * 6);
        const m = Math.max(0, k - Math.floor(r() * 2));
        rec('dma_map_sg', {
          device,
          full_nents: k + (r() < 0.1 ? 200 : 0),
          full_ents: m,
          truncated: r() < 0.1 ? 1 : 0,
          phys_addrs: nlist(k, 64),
          dma_addrs: nlist(m, 64),
          lengths: nlist(m, 20),
          dir,
          attrs,
        });
        break;
      }
      case 5:
        if (dir === 7) bad.add(records.length);
        rec('dma_unmap_sg', { device, addrs: nlist(Math.floor(r() * 5), 64), dir, attrs });
        break;
      case 6:
        rec('dma_alloc', {
          device,
          virt_addr: u64(r, addrBits),
          dma_addr: u64(r, 64),
          size: u64(r, 20),
          flags: 0x820,
          dir,
          attrs,
        });
        break;
      case 7:
        rec('dma_free', { device, virt_addr: u64(r, addrBits), dma_addr: u64(r, 64), size: u64(r, 20), dir, attrs });
        break;
      case 8:
        if (dir === 7) bad.add(records.length);
        rec('dma_sync_single_for_cpu', { device, dma_addr: u64(r, 64), size: u64(r, 20), dir });
        break;
      case 9: {
        if (dir === 7) bad.add(records.length);
        const k = Math.floor(r() * 4);
        rec('dma_sync_sg_for_device', { device, dma_addrs: nlist(k, 64), lengths: nlist(k, 16), dir });
        break;
      }
      case 10:
        if (dir === 7) bad.add(records.length);
        rec('dma_map_sg_err', { device, phys_addrs: nlist(2, 64), err: -Math.floor(r() * 20), dir, attrs });
        break;
      case 11:
        rec(pick(['mm_page_free', 'mm_page_free_batched']), { pfn: u64(r, addrBits - 12), order: Math.floor(r() * 4) });
        break;
      case 12:
        rec('sched_switch', { prev_pid: 1, next_pid: 2 });
        break;
      case 13: {
        const frames = [0xffffffff81001010n, 0xffffffff81001220n, 0xffffffff81001405n];
        frames.length = Math.floor(r() * 4);
        frames.push(0xffffffff81001633n, 0xffffffff81001a00n, 0xffffffffa0000044n, 0xffffffff81005000n);
        if (r() < 0.3) frames.push(0xffffffff81002fffn);
        const callers = frames.slice(0, 8).map((a) => (longSize === 4 ? a & 0xffffffffn : a));
        rec('kernel_stack', { size: callers.length, caller: callers });
        break;
      }
      case 14:
        rec('print', {
          ip: 0x81001900,
          buf: pick(['hello marker\n', 'dmadebug: unbind 0000:00:03.0 nvme pci\n', 'x']),
        });
        break;
      default: {
        if (r() < 0.5) {
          rec('bputs', { ip: 0x81001900, str: longSize === 8 ? 0xffffffffa0001000n : 0xa0001000n });
        } else {
          // vbin_printf layout of "value %d %s %llx %u": int, "abc\0", (4-aligned) u64, u32
          const le = !opts.bigEndian;
          const b = new Uint8Array(24);
          const dv = new DataView(b.buffer);
          dv.setInt32(0, -5, le);
          b.set([0x61, 0x62, 0x63, 0], 4);
          dv.setBigUint64(8, 0x1234567890abcdefn, le);
          if (!le) {
            // the kernel stores a u64 argument as two native u32 words
            dv.setUint32(8, 0x12345678, false);
            dv.setUint32(12, 0x90abcdef, false);
          }
          dv.setUint32(16, 7, le);
          rec('bprint', { ip: 0x81001900, fmt: longSize === 8 ? 0xffffffffa0001100n : 0xa0001100n, buf: b });
        }
      }
    }
  }
  // records of a CPU in time order; the writer keeps input order within a CPU
  return { records, opts, bad };
}

function split(ts: bigint): [number, number] {
  return [Number(ts / 1_000_000_000n), Number(ts % 1_000_000_000n)];
}

function frameOf(addr: bigint, longSize: number): string {
  for (const [name, a, size, mod] of SYMS) {
    const aa = longSize === 4 ? a & 0xffffffffn : a;
    if (addr >= aa && addr < aa + BigInt(size)) {
      return `${name}+0x${(addr - aa).toString(16)}/0x${size.toString(16)}${mod === '' ? '' : ` [${mod}]`}`;
    }
  }
  return `0x${addr.toString(16)}`;
}

/** The events a correct reader must produce, serialized. */
function expected(c: Case, pages: ReturnType<typeof writeTraceDat>['pages']): { lines: string[]; warnings: number } {
  const names = new Names();
  const longSize = c.opts.longSize ?? 8;
  const order = c.records.map((rec, i) => ({ rec, i }));
  order.sort((a, b) => (a.rec.ts < b.rec.ts ? -1 : a.rec.ts > b.rec.ts ? 1 : a.rec.cpu - b.rec.cpu || a.i - b.i));
  const lostBefore = new Map<number, number[]>();
  for (const p of pages) {
    if (p.lost === undefined) continue;
    const l = lostBefore.get(p.first) ?? [];
    l.push(p.lost ?? 0);
    lostBefore.set(p.first, l);
  }
  const out: string[] = [];
  let warnings = 0;
  const ev = new DmaEvent();
  const comm = (pid: number) => names.comms.intern(pid === 0 ? '<idle>' : (c.opts.cmdlines?.get(pid) ?? '<...>'));
  const hl = (v: bigint | number): [number, number] => {
    const x = BigInt.asUintN(64, BigInt(v));
    return [Number(x >> 32n), Number(x & 0xffffffffn)];
  };
  /** A Lost event of `cpu`: a page's notice of `count` events, or (`damaged`) a record that cannot be read. */
  const lostAt = (cpu: number, sec: number, ns: number, count: number, damaged: boolean) => {
    ev.resetPayload();
    ev.kind = K.Lost;
    ev.line = out.length + 1;
    ev.tsSec = sec;
    ev.tsNs = ns;
    ev.tsDigits = 9;
    ev.cpu = cpu;
    ev.pid = 0;
    ev.comm = -1;
    ev.lost = count;
    ev.damaged = damaged;
    out.push(serialize(ev, names));
  };
  // CPUs whose last record was another event's (sched_switch): a kernel_stack after it is that event's (-1)
  const foreign = new Set<number>();
  for (const { rec, i } of order) {
    const [sec, ns] = split(rec.ts);
    for (const lost of lostBefore.get(i) ?? []) {
      lostAt(rec.cpu, sec, ns, lost, false);
    }
    const v = rec.values;
    ev.resetPayload();
    const dev = () => {
      ev.device = names.devices.intern(v.device as string);
    };
    const dirOf = (alloc: boolean): boolean => {
      const d = Number(v.dir);
      if (d >= 0 && d <= 3) {
        ev.dir = d as Dir;
        ev.hasDir = true;
        return true;
      }
      return alloc;
    };
    const list = (dst: DmaEvent['sgDma'], xs: WRecord['values'][string]) => {
      for (const x of xs as bigint[]) dst.push(...hl(x));
    };
    let emit = true;
    switch (rec.event) {
      case 'dma_map_page':
      case 'dma_map_phys':
        ev.kind = rec.event === 'dma_map_phys' && (Number(v.attrs) & MMIO) !== 0 ? K.MapResource : K.MapPage;
        dev();
        [ev.physHi, ev.physLo] = hl(v.phys_addr as bigint);
        ev.hasPhys = true;
        [ev.addrHi, ev.addrLo] = hl(v.dma_addr as bigint);
        ev.size = Number(v.size);
        ev.attrs = Number(v.attrs);
        emit = dirOf(false);
        break;
      case 'dma_unmap_page':
        ev.kind = K.UnmapPage;
        dev();
        [ev.addrHi, ev.addrLo] = hl(v.addr as bigint);
        ev.size = Number(v.size);
        ev.attrs = Number(v.attrs);
        emit = dirOf(false);
        break;
      case 'dma_map_sg':
        ev.kind = K.MapSg;
        dev();
        ev.nents = Number(v.full_nents);
        ev.ents = Number(v.full_ents);
        ev.truncated = Number(v.truncated) !== 0;
        list(ev.sgPhys, v.phys_addrs!);
        list(ev.sgDma, v.dma_addrs!);
        for (const x of v.lengths as bigint[]) ev.sgLen.push(Number(x));
        ev.attrs = Number(v.attrs);
        emit = dirOf(false);
        break;
      case 'dma_unmap_sg':
        ev.kind = K.UnmapSg;
        dev();
        list(ev.sgPhys, v.addrs!);
        ev.nents = ev.sgPhys.count;
        ev.attrs = Number(v.attrs);
        emit = dirOf(false);
        break;
      case 'dma_alloc':
      case 'dma_free':
        ev.kind = rec.event === 'dma_alloc' ? K.Alloc : K.Free;
        dev();
        [ev.virtHi, ev.virtLo] = hl(v.virt_addr as bigint);
        ev.hasVirt = true;
        ev.virtRaw = true;
        [ev.addrHi, ev.addrLo] = hl(v.dma_addr as bigint);
        ev.size = Number(v.size);
        ev.attrs = Number(v.attrs);
        dirOf(true);
        break;
      case 'dma_sync_single_for_cpu':
        ev.kind = K.SyncSingleForCpu;
        dev();
        [ev.addrHi, ev.addrLo] = hl(v.dma_addr as bigint);
        ev.size = Number(v.size);
        emit = dirOf(false);
        break;
      case 'dma_sync_sg_for_device':
        ev.kind = K.SyncSgForDevice;
        dev();
        list(ev.sgDma, v.dma_addrs!);
        for (const x of v.lengths as bigint[]) ev.sgLen.push(Number(x));
        ev.nents = ev.sgDma.count;
        emit = dirOf(false);
        break;
      case 'dma_map_sg_err':
        ev.kind = K.MapSgErr;
        dev();
        list(ev.sgPhys, v.phys_addrs!);
        ev.nents = ev.sgPhys.count;
        ev.err = Number(v.err);
        ev.attrs = Number(v.attrs);
        emit = dirOf(false);
        break;
      case 'mm_page_free':
      case 'mm_page_free_batched':
        ev.kind = K.PageFree;
        [ev.pfnHi, ev.pfnLo] = hl(v.pfn as bigint);
        ev.order = rec.event === 'mm_page_free' ? Number(v.order) : 0;
        break;
      case 'sched_switch':
        foreign.add(rec.cpu);
        continue;
      case 'kernel_stack': {
        ev.kind = K.Stack;
        if (foreign.has(rec.cpu)) {
          ev.stack = -1;
          break;
        }
        const frames: string[] = [];
        let dropping = true;
        for (const a of v.caller as bigint[]) {
          const f = frameOf(a, longSize);
          if (dropping && MACHINE.has(f.slice(0, f.indexOf('+')))) continue;
          dropping = false;
          frames.push(f);
        }
        ev.stack = names.stacks.intern(frames.join('\n'));
        break;
      }
      case 'print': {
        const text = (v.buf as string).replace(/\n$/, '');
        ev.kind = K.Marker;
        ev.text = text;
        if (text.startsWith('dmadebug: unbind ')) {
          ev.kind = K.Unbind;
          ev.device = names.devices.intern('0000:00:03.0');
          ev.text = 'pci';
        }
        break;
      }
      case 'bputs':
        ev.kind = K.Marker;
        ev.text = 'bputs says hi';
        break;
      case 'bprint':
        ev.kind = K.Marker;
        ev.text = 'value -5 abc 1234567890abcdef 7';
        break;
      default:
        throw new Error(rec.event);
    }
    if (!emit) {
      // a dma record that cannot be read: a warning, and a lost event in its place
      warnings++;
      lostAt(rec.cpu, sec, ns, 1, true);
      continue;
    }
    if (ev.kind !== K.Stack) foreign.delete(rec.cpu);
    ev.line = out.length + 1;
    ev.tsSec = sec;
    ev.tsNs = ns;
    ev.tsDigits = 9;
    ev.cpu = rec.cpu;
    ev.pid = rec.pid;
    ev.comm = comm(rec.pid);
    out.push(serialize(ev, names));
  }
  return { lines: out, warnings };
}

function viaPush(bytes: Uint8Array, chunk: number, instance?: string): { lines: string[]; parser: TraceDatParser } {
  const names = new Names();
  const lines: string[] = [];
  const parser = new TraceDatParser({
    names,
    file: 't.dat',
    sink: (ev) => lines.push(serialize(ev, names)),
    ...(instance !== undefined ? { instance } : {}),
  });
  for (let i = 0; i < bytes.length; i += chunk) parser.push(bytes.subarray(i, i + chunk));
  parser.end();
  return { lines, parser };
}

async function viaFile(bytes: Uint8Array, name: string): Promise<{ lines: string[]; parser: TraceDatParser }> {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  const names = new Names();
  const lines: string[] = [];
  const parser = new TraceDatParser({ names, file: path, sink: (ev) => lines.push(serialize(ev, names)) });
  await parser.readFile(path);
  return { lines, parser };
}

/**
 * The first event that differs, every field compared but `line`: a record's
 * byte offset, which record-offsets.test.ts checks byte by byte (the expected
 * events here number the records instead).
 */
function firstDiff(got: string[], want: string[]): string {
  const a = got.map(noLine);
  const b = want.map(noLine);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `event ${i + 1} of ${a.length}/${b.length}:\n  got      ${a[i]}\n  expected ${b[i]}`;
  }
  return '';
}

function noLine(l: string): string {
  return l.replace(/ l=\d+/, '');
}

describe('trace.dat round trip (seeded random files)', () => {
  for (let seed = 1; seed <= 60; seed++) {
    test(`seed ${seed}`, async () => {
      const c = makeCase(seed);
      const w = writeTraceDat(c.records, c.opts);
      const exp = expected(c, w.pages);
      const r = prng(seed + 1000);
      const chunk = [1 + Math.floor(r() * 64), 4096, 1 + Math.floor(r() * 70000)][seed % 3]!;
      const pushed = viaPush(w.bytes, chunk);
      const what = JSON.stringify({
        ...c.opts,
        rng: undefined,
        kallsyms: undefined,
        printk: undefined,
        cmdlines: undefined,
      });
      assert.equal(firstDiff(pushed.lines, exp.lines), '', `push(${chunk}) ${what}`);
      // warnings: bad records; reading an instance is a note, not a warning
      assert.equal(pushed.parser.warnings, exp.warnings, what);
      assert.equal(pushed.parser.notes.length, c.opts.instance !== undefined ? 1 : 0, what);
      assert.equal(pushed.parser.lines, c.records.length);
      const read = await viaFile(w.bytes, `seed${seed}.dat`);
      assert.equal(firstDiff(read.lines, exp.lines), '', `readFile ${what}`);
      // the records' places too: the same offsets read by position as pushed in pieces
      assert.deepEqual(read.lines, pushed.lines, `readFile ${what}`);
    });
  }
});

describe('trace.dat writer layouts, one by one', () => {
  const variants: Array<[string, Partial<WriterOptions>]> = [
    ['v6 little-endian 8-byte longs', { version: 6, bigEndian: false, longSize: 8 }],
    ['v6 big-endian 4-byte longs', { version: 6, bigEndian: true, longSize: 4 }],
    [
      'v7 zlib, sub-buffers of two pages, chunks splitting them',
      { version: 7, compression: 'zlib', pageSize: 4096, subbufSize: 8192, chunkPages: 3 },
    ],
    ['v7 uncompressed, big-endian', { version: 7, compression: 'none', bigEndian: true }],
    ['v7 lost events with and without counts', { version: 7, lostProb: 0.6 }],
    ['v6 absolute stamps and padding everywhere', { version: 6, absProb: 0.5, padProb: 0.5 }],
    ['v7 instance only', { version: 7, instance: 'oracle' }],
    ['__rel_loc strings and arrays', { version: 7, relLoc: true }],
    ['v6 instance only', { version: 6, instance: 'oracle' }],
  ];
  for (const [name, v] of variants) {
    test(name, async () => {
      // values and pre-encoded trace_printk arguments depend on long size and byte order
      const c = makeCaseLike(v);
      Object.assign(c.opts, v);
      const w = writeTraceDat(c.records, c.opts);
      const exp = expected(c, w.pages);
      const pushed = viaPush(w.bytes, 1000);
      assert.equal(firstDiff(pushed.lines, exp.lines), '');
      const read = await viaFile(w.bytes, 'variant.dat');
      assert.equal(firstDiff(read.lines, exp.lines), '');
      if (v.lostProb)
        assert.ok(
          pushed.lines.some((l) => l.startsWith(`k=${K.Lost} `)),
          'some lost events',
        );
    });
  }

  test('an instance can be chosen by name, and a missing one is an InputError', () => {
    const c = makeCase(77);
    c.opts.version = 7;
    delete c.opts.instance;
    c.opts.extraInstance = 'second';
    const w = writeTraceDat(c.records, c.opts);
    const top = viaPush(w.bytes, 5000);
    const second = viaPush(w.bytes, 5000, 'second');
    assert.equal(second.parser.bufferName, 'second');
    assert.equal(top.parser.bufferName, '');
    assert.deepEqual(
      second.lines.map((l) => l.replace(/ l=\d+/, '')),
      top.lines.map((l) => l.replace(/ l=\d+/, '')),
    );
    assert.throws(
      () => viaPush(w.bytes, 5000, 'nope'),
      (e: unknown) => e instanceof InputError && /no buffer instance "nope"/.test((e as Error).message),
    );
  });
});

function makeCaseLike(v: Partial<WriterOptions>): Case {
  for (let s = 5000; ; s++) {
    const c = makeCase(s);
    if (v.longSize !== undefined && c.opts.longSize !== v.longSize) continue;
    if (v.bigEndian !== undefined && !!c.opts.bigEndian !== v.bigEndian) continue;
    return c;
  }
}
