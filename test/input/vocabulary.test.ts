// The event vocabulary (src/events/vocabulary.ts) and both parsers on the
// 7.3 layouts:
// - the table against the kernels' own headers: every event of 6.12's and
//   7.3's dma.h has an entry, every attr name decode_dma_attrs() prints has
//   the bit dma-mapping.h gives it, and the MMIO rule;
// - hand-written 7.3 lines of every dma event (as 7.3's dma.h prints them,
//   with the 7.3 header's PREEMPT_LAZY flag letters) parse to the right kind,
//   attrs and fields, and the same records in a trace.dat (the writer, with
//   7.3's layouts, checked against the 7.3 fixture's format files when it is
//   there) decode to the same events;
// - facts.mapEvents: set by the first single-mapping event (text line or
//   ring-buffer record) before that event is handed on, and never changed.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { Names } from '../../src/base/interner.js';
import { hex } from '../../src/base/u64.js';
import { Dir, type DmaEvent, EventKind as K, noInputFacts } from '../../src/engine/events.js';
import {
  ALLOC_FAMILY,
  ATTR_ALLOC_CC_SHARED,
  ATTR_ALLOC_SINGLE_PAGES,
  ATTR_CC_SHARED,
  ATTR_FORCE_CONTIGUOUS,
  ATTR_MMIO,
  ATTR_NAMES,
  ATTR_NO_WARN,
  ATTR_SKIP_CPU_SYNC,
  ATTR_WEAK_ORDERING,
  kindOf,
  mapEventsOf,
  TRACED_EVENTS,
  tracedEventIndex,
} from '../../src/events/vocabulary.js';
import { buildPlans, RingRecords } from '../../src/input/ring-records.js';
import { TextParser } from '../../src/input/text-parser.js';
import { TraceDatParser } from '../../src/input/tracedat.js';
import { RecordDecoder } from '../../src/input/tracedat-decode.js';
import { type EventFormat, type FormatField, parseEventFormat } from '../../src/input/tracedat-format.js';
import { PageReader } from '../../src/input/tracedat-kbuffer.js';
import {
  type EventDef,
  encodeCpuPages,
  type FieldDef,
  formatText,
  ftraceEvents,
  type WRecord,
  type WValue,
  writeTraceDat,
} from '../helpers/tracedat-writer.js';
import { parseBytes } from './helpers.js';

const REFERENCE = resolve(process.cwd(), '../shared/reference');
const KERNELS = ['linux-6.12.118', 'linux-7.3.4'];
/** A 7.3 fixture's format files (events/dma/*.format as trace-cmd saved them). */
const FORMATS_73 = resolve(process.cwd(), '../shared/fixtures/kernel-7.3/bug-clean/formats');

function header(kernel: string, file: string): string | null {
  const p = join(REFERENCE, kernel, file);
  return existsSync(p) ? readFileSync(p, 'utf8') : null;
}

/** The events a dma.h defines: DEFINE_EVENT(class, name, ...), TRACE_EVENT(name, ...), DEFINE_*_EVENT(name). */
function headerEvents(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(
    /^(?:DEFINE_EVENT\(\s*\w+\s*,\s*(\w+)|TRACE_EVENT\(\s*(\w+)|DEFINE_\w+_EVENT\((\w+)\);)/gm,
  )) {
    const name = m[1] ?? m[2] ?? m[3]!;
    if (name !== 'name') out.add(name); // the macro bodies of 7.3's DEFINE_*_EVENT(name)
  }
  return [...out].sort();
}

describe('the vocabulary against the kernel headers', () => {
  for (const kernel of KERNELS) {
    const dmaH = header(kernel, 'include/trace/events/dma.h');
    const mappingH = header(kernel, 'include/linux/dma-mapping.h');
    test(`${kernel}: every dma.h event has an entry, and only dma.h events are dma entries`, {
      skip: dmaH === null ? `no ${kernel} reference` : false,
    }, () => {
      const names = headerEvents(dmaH!);
      assert.ok(names.length >= 16, names.join(' '));
      for (const n of names) {
        const i = tracedEventIndex(n);
        assert.ok(i >= 0, `${kernel}: ${n} is not in TRACED_EVENTS`);
        assert.equal(TRACED_EVENTS[i]!.system, 'dma', n);
      }
      assert.equal(mapEventsOf(names), kernel.startsWith('linux-7') ? 'phys' : 'page');
    });
    test(`${kernel}: every attr name decode_dma_attrs() prints has the bit dma-mapping.h gives it`, {
      skip: dmaH === null || mappingH === null ? `no ${kernel} reference` : false,
    }, () => {
      const bits = new Map<string, number>();
      for (const m of mappingH!.matchAll(/^#define\s+(__DMA_ATTR_\w+|DMA_ATTR_\w+)\s+\(1UL << (\d+)\)/gm)) {
        bits.set(m[1]!, 1 << Number(m[2]));
      }
      const printed = [...dmaH!.matchAll(/\{\s*(__DMA_ATTR_\w+|DMA_ATTR_\w+)\s*,\s*"(\w+)"\s*\}/g)];
      assert.ok(printed.length >= 8);
      const vocab = new Map(ATTR_NAMES);
      for (const [, macro, name] of printed) {
        assert.ok(bits.has(macro!), `${macro} is not defined in dma-mapping.h`);
        assert.equal(vocab.get(name!), bits.get(macro!), `${name} (${macro})`);
      }
      if (kernel.startsWith('linux-7')) assert.equal(printed.length, ATTR_NAMES.length, 'ATTR_NAMES is 7.3 exactly');
    });
  }

  test('dma entries: unique names, the *_phys marker and the kernel generation each proves', () => {
    assert.equal(new Set(TRACED_EVENTS.map((e) => e.name)).size, TRACED_EVENTS.length);
    const by = (n: string) => TRACED_EVENTS[tracedEventIndex(n)]!;
    assert.equal(tracedEventIndex('dma_map_single'), -1);
    for (const n of ['dma_map_phys', 'dma_unmap_phys']) {
      assert.equal(by(n).phys, true, n);
      assert.equal(by(n).mapEvents, 'phys', n);
    }
    for (const n of ['dma_map_page', 'dma_unmap_page', 'dma_map_resource', 'dma_unmap_resource']) {
      assert.equal(by(n).phys, false, n);
      assert.equal(by(n).mapEvents, 'page', n);
    }
    const others = TRACED_EVENTS.filter((e) => !/^dma_(un)?map_(page|resource|phys)$/.test(e.name));
    for (const e of others) assert.equal(e.mapEvents, null, e.name);
    assert.equal(by('mm_page_free_batched').system, 'kmem');
    assert.equal(by('dma_map_phys').kind, K.MapPage);
    assert.equal(by('dma_unmap_phys').kind, K.UnmapPage);
    assert.equal(by('dma_map_resource').kind, K.MapResource);
    assert.ok(ALLOC_FAMILY.has(K.FreeSgt) && !ALLOC_FAMILY.has(K.MapPage));
    assert.equal(mapEventsOf(['dma_alloc', 'dma_map_sg']), null);
    assert.equal(mapEventsOf(['dma_map_page', 'dma_map_phys']), 'phys');
  });

  test('kindOf: a *_phys event with DMA_ATTR_MMIO is a resource map/unmap; nothing else changes', () => {
    const by = (n: string) => TRACED_EVENTS[tracedEventIndex(n)]!;
    assert.equal(kindOf(by('dma_map_phys'), 0), K.MapPage);
    assert.equal(kindOf(by('dma_map_phys'), ATTR_SKIP_CPU_SYNC), K.MapPage);
    assert.equal(kindOf(by('dma_map_phys'), ATTR_MMIO), K.MapResource);
    assert.equal(kindOf(by('dma_unmap_phys'), 0), K.UnmapPage);
    assert.equal(kindOf(by('dma_unmap_phys'), ATTR_MMIO | ATTR_SKIP_CPU_SYNC), K.UnmapResource);
    // the 6.12 events are what their name says, whatever the attrs
    assert.equal(kindOf(by('dma_map_page'), ATTR_MMIO), K.MapPage);
    assert.equal(kindOf(by('dma_unmap_resource'), 0), K.UnmapResource);
    for (const e of TRACED_EVENTS) if (!e.phys) assert.equal(kindOf(e, 0xffff), e.kind, e.name);
  });
});

// ---------------------------------------------------------------- 7.3 layouts

const DEV = '0000:00:02.0';
const D = (name: string, type: string, signed = false): FieldDef => ({ name, type, signed });
const dev = D('device', '__data_loc char[]');

/** 7.3's dma.h layouts (TP_STRUCT__entry), ids as in the fixture's formats. */
function events73(): EventDef[] {
  const alloc = [
    dev,
    D('virt_addr', 'void *'),
    D('dma_addr', 'u64'),
    D('size', 'size_t'),
    D('flags', 'gfp_t'),
    D('dir', 'enum dma_data_direction'),
    D('attrs', 'unsigned long'),
  ];
  const free = [
    dev,
    D('virt_addr', 'void *'),
    D('dma_addr', 'u64'),
    D('size', 'size_t'),
    D('dir', 'enum dma_data_direction'),
    D('attrs', 'unsigned long'),
  ];
  const syncSingle = [dev, D('dma_addr', 'u64'), D('size', 'size_t'), D('dir', 'enum dma_data_direction')];
  const syncSg = [
    dev,
    D('dma_addrs', '__data_loc u64[]'),
    D('lengths', '__data_loc unsigned int[]'),
    D('dir', 'enum dma_data_direction'),
  ];
  const defs: Array<[string, string, number, FieldDef[]]> = [
    ['dma', 'dma_sync_sg_for_device', 126, syncSg],
    ['dma', 'dma_sync_sg_for_cpu', 127, syncSg],
    ['dma', 'dma_sync_single_for_device', 128, syncSingle],
    ['dma', 'dma_sync_single_for_cpu', 129, syncSingle],
    [
      'dma',
      'dma_unmap_sg',
      130,
      [dev, D('addrs', '__data_loc u64[]'), D('dir', 'enum dma_data_direction'), D('attrs', 'unsigned long')],
    ],
    [
      'dma',
      'dma_map_sg_err',
      131,
      [
        dev,
        D('phys_addrs', '__data_loc u64[]'),
        D('err', 'int', true),
        D('dir', 'enum dma_data_direction'),
        D('attrs', 'unsigned long'),
      ],
    ],
    [
      'dma',
      'dma_map_sg',
      132,
      [
        dev,
        D('full_nents', 'int', true),
        D('full_ents', 'int', true),
        D('truncated', 'bool'),
        D('phys_addrs', '__data_loc u64[]'),
        D('dma_addrs', '__data_loc u64[]'),
        D('lengths', '__data_loc unsigned int[]'),
        D('dir', 'enum dma_data_direction'),
        D('attrs', 'unsigned long'),
      ],
    ],
    [
      'dma',
      'dma_free_sgt',
      133,
      [
        dev,
        D('phys_addrs', '__data_loc u64[]'),
        D('dma_addr', 'u64'),
        D('size', 'size_t'),
        D('dir', 'enum dma_data_direction'),
      ],
    ],
    ['dma', 'dma_free_pages', 134, free],
    ['dma', 'dma_free', 135, free],
    [
      'dma',
      'dma_alloc_sgt',
      136,
      [
        dev,
        D('phys_addrs', '__data_loc u64[]'),
        D('dma_addr', 'u64'),
        D('size', 'size_t'),
        D('dir', 'enum dma_data_direction'),
        D('flags', 'gfp_t'),
        D('attrs', 'unsigned long'),
      ],
    ],
    ['dma', 'dma_alloc_sgt_err', 137, alloc],
    ['dma', 'dma_alloc_pages', 138, alloc],
    ['dma', 'dma_alloc', 139, alloc],
    [
      'dma',
      'dma_unmap_phys',
      140,
      [dev, D('addr', 'u64'), D('size', 'size_t'), D('dir', 'enum dma_data_direction'), D('attrs', 'unsigned long')],
    ],
    [
      'dma',
      'dma_map_phys',
      141,
      [
        dev,
        D('phys_addr', 'u64'),
        D('dma_addr', 'u64'),
        D('size', 'size_t'),
        D('dir', 'enum dma_data_direction'),
        D('attrs', 'unsigned long'),
      ],
    ],
    ['kmem', 'mm_page_free_batched', 250, [D('pfn', 'unsigned long')]],
    ['kmem', 'mm_page_free', 251, [D('pfn', 'unsigned long'), D('order', 'unsigned int')]],
  ];
  return defs.map(([system, name, id, fields]) => ({ system, name, id, fields }));
}

/** The format text of an event: the 7.3 fixture's file when it is there, else the writer's. */
function formatOf(def: EventDef): { text: string; real: boolean } {
  const p = join(FORMATS_73, def.system, `${def.name}.format`);
  if (existsSync(p)) return { text: readFileSync(p, 'latin1'), real: true };
  return { text: formatText(def, 8), real: false };
}

/** One 7.3 event: its text line's payload, the same record's values, and what both must decode to. */
interface Case {
  event: string;
  flags: string;
  text: string;
  values: Record<string, WValue>;
  want: Partial<Fields>;
}

interface Fields {
  kind: number;
  device: string;
  dir: number;
  hasDir: boolean;
  attrs: number;
  addr: string;
  phys: string | null;
  size: number;
  virtNull: boolean | null;
  nents: number;
  ents: number;
  truncated: boolean;
  sgDma: string[];
  sgLen: number[];
  sgPhys: string[];
  err: number;
  pfn: string;
  order: number;
}

function fields(ev: DmaEvent, names: Names): Fields {
  const list = (l: DmaEvent['sgDma']) => Array.from({ length: l.count }, (_, i) => hex(l.hi[i]!, l.lo[i]!));
  return {
    kind: ev.kind,
    device: ev.device < 0 ? '' : names.devices.name(ev.device),
    dir: ev.dir,
    hasDir: ev.hasDir,
    attrs: ev.attrs,
    addr: hex(ev.addrHi, ev.addrLo),
    phys: ev.hasPhys ? hex(ev.physHi, ev.physLo) : null,
    size: ev.size,
    virtNull: ev.hasVirt ? ev.virtHi === 0 && ev.virtLo === 0 : null,
    nents: ev.nents,
    ents: ev.ents,
    truncated: ev.truncated,
    sgDma: list(ev.sgDma),
    sgLen: Array.from(ev.sgLen.v.subarray(0, ev.sgLen.count)),
    sgPhys: list(ev.sgPhys),
    err: ev.err,
    pfn: hex(ev.pfnHi, ev.pfnLo),
    order: ev.order,
  };
}

/** The fields a case names, from an event. */
function picked(ev: DmaEvent, names: Names, want: Partial<Fields>): Partial<Fields> {
  const all = fields(ev, names);
  const out: Partial<Fields> = {};
  for (const k of Object.keys(want) as Array<keyof Fields>) (out as Record<string, unknown>)[k] = all[k];
  return out;
}

const BIDI = Dir.Bidirectional;
const TO = Dir.ToDevice;
const FROM = Dir.FromDevice;
const GFP_KERNEL = 0xcc0;
/** A 5-level direct-map pointer (7.3 on a CPU with LA57: 0xff11...). */
const VIRT = 0xff1100000b433800n;
const ALL_ATTRS = ATTR_NAMES.reduce((m, [, b]) => m | b, 0);

/** Every dma event of 7.3, as its dma.h prints it and as its record holds it. */
const CASES: Case[] = [
  {
    event: 'dma_map_phys',
    flags: '.l...',
    text: `${DEV} dir=TO_DEVICE dma_addr=b5a7200 size=512 phys_addr=b5a7200 attrs=`,
    values: { device: DEV, phys_addr: 0xb5a7200, dma_addr: 0xb5a7200, size: 512, dir: TO, attrs: 0 },
    want: { kind: K.MapPage, device: DEV, dir: TO, attrs: 0, addr: 'b5a7200', phys: 'b5a7200', size: 512 },
  },
  {
    event: 'dma_map_phys',
    flags: 'dNh2.',
    text: `${DEV} dir=BIDIRECTIONAL dma_addr=fee00000 size=4096 phys_addr=fee00000 attrs=MMIO`,
    values: { device: DEV, phys_addr: 0xfee00000, dma_addr: 0xfee00000, size: 4096, dir: BIDI, attrs: ATTR_MMIO },
    want: { kind: K.MapResource, dir: BIDI, attrs: ATTR_MMIO, addr: 'fee00000', phys: 'fee00000', size: 4096 },
  },
  {
    event: 'dma_map_phys',
    flags: 'b..4.',
    text: `${DEV} dir=FROM_DEVICE dma_addr=ffffffffffffffff size=64 phys_addr=fed00000 attrs=MMIO`,
    values: {
      device: DEV,
      phys_addr: 0xfed00000,
      dma_addr: 0xffffffffffffffffn,
      size: 64,
      dir: FROM,
      attrs: ATTR_MMIO,
    },
    want: { kind: K.MapResource, addr: 'ffffffffffffffff', attrs: ATTR_MMIO },
  },
  {
    event: 'dma_unmap_phys',
    flags: 'dlH1.',
    text: `${DEV} dir=TO_DEVICE dma_addr=b5a7200 size=512 attrs=SKIP_CPU_SYNC`,
    values: { device: DEV, addr: 0xb5a7200, size: 512, dir: TO, attrs: ATTR_SKIP_CPU_SYNC },
    want: { kind: K.UnmapPage, dir: TO, attrs: ATTR_SKIP_CPU_SYNC, addr: 'b5a7200', phys: null, size: 512 },
  },
  {
    event: 'dma_unmap_phys',
    flags: 'D.h4.',
    text: `${DEV} dir=BIDIRECTIONAL dma_addr=fee00000 size=4096 attrs=SKIP_CPU_SYNC|MMIO`,
    values: { device: DEV, addr: 0xfee00000, size: 4096, dir: BIDI, attrs: ATTR_SKIP_CPU_SYNC | ATTR_MMIO },
    want: { kind: K.UnmapResource, attrs: ATTR_SKIP_CPU_SYNC | ATTR_MMIO, addr: 'fee00000', size: 4096 },
  },
  {
    event: 'dma_map_sg',
    flags: 'd..2.',
    text:
      `0000:00:1f.2 dir=FROM_DEVICE nents=2/2 ents=1/1 dma_addrs={0xfff10000} sizes={0x2400} ` +
      'phys_addrs={0xabb8000,0xb01c000} attrs=WEAK_ORDERING|SKIP_CPU_SYNC',
    values: {
      device: '0000:00:1f.2',
      full_nents: 2,
      full_ents: 1,
      truncated: 0,
      phys_addrs: [0xabb8000, 0xb01c000],
      dma_addrs: [0xfff10000],
      lengths: [0x2400],
      dir: FROM,
      attrs: ATTR_WEAK_ORDERING | ATTR_SKIP_CPU_SYNC,
    },
    want: {
      kind: K.MapSg,
      device: '0000:00:1f.2',
      dir: FROM,
      attrs: ATTR_WEAK_ORDERING | ATTR_SKIP_CPU_SYNC,
      nents: 2,
      ents: 1,
      truncated: false,
      sgDma: ['fff10000'],
      sgLen: [0x2400],
      sgPhys: ['abb8000', 'b01c000'],
    },
  },
  {
    event: 'dma_unmap_sg',
    flags: 'd.h1.',
    text: '0000:00:1f.2 dir=FROM_DEVICE phys_addrs={0xabb8000,0xb01c000} attrs=WEAK_ORDERING|SKIP_CPU_SYNC',
    values: {
      device: '0000:00:1f.2',
      addrs: [0xabb8000, 0xb01c000],
      dir: FROM,
      attrs: ATTR_WEAK_ORDERING | ATTR_SKIP_CPU_SYNC,
    },
    want: {
      kind: K.UnmapSg,
      dir: FROM,
      attrs: ATTR_WEAK_ORDERING | ATTR_SKIP_CPU_SYNC,
      nents: 2,
      sgPhys: ['abb8000', 'b01c000'],
      sgDma: [],
    },
  },
  {
    event: 'dma_map_sg_err',
    flags: '.....',
    text: `${DEV} dir=TO_DEVICE dma_addrs={0xb000000,0xb001000} err=-5 attrs=NO_WARN`,
    values: { device: DEV, phys_addrs: [0xb000000, 0xb001000], err: -5, dir: TO, attrs: ATTR_NO_WARN },
    want: { kind: K.MapSgErr, dir: TO, attrs: ATTR_NO_WARN, err: -5, nents: 2, sgPhys: ['b000000', 'b001000'] },
  },
  {
    event: 'dma_alloc',
    flags: '.Bs4.',
    text:
      `${DEV} dir=BIDIRECTIONAL dma_addr=acb0000 size=1024 virt_addr=00000000cfaa9d84 ` +
      'flags=GFP_KERNEL|__GFP_ZERO|__GFP_NOWARN attrs=FORCE_CONTIGUOUS|ALLOC_CC_SHARED',
    values: {
      device: DEV,
      virt_addr: VIRT,
      dma_addr: 0xacb0000,
      size: 1024,
      flags: GFP_KERNEL | 0x100 | 0x2000,
      dir: BIDI,
      attrs: ATTR_FORCE_CONTIGUOUS | ATTR_ALLOC_CC_SHARED,
    },
    want: {
      kind: K.Alloc,
      dir: BIDI,
      hasDir: true,
      attrs: ATTR_FORCE_CONTIGUOUS | ATTR_ALLOC_CC_SHARED,
      addr: 'acb0000',
      size: 1024,
      virtNull: false,
      phys: null,
    },
  },
  {
    // 7.3 traces a failed allocation with dma_addr=0 and a NULL virt_addr
    event: 'dma_alloc',
    flags: '.l...',
    text: `${DEV} dir=BIDIRECTIONAL dma_addr=0 size=4096 virt_addr=0000000000000000 flags=GFP_KERNEL attrs=CC_SHARED`,
    values: { device: DEV, virt_addr: 0, dma_addr: 0, size: 4096, flags: GFP_KERNEL, dir: BIDI, attrs: ATTR_CC_SHARED },
    want: { kind: K.Alloc, attrs: ATTR_CC_SHARED, addr: '0', size: 4096, virtNull: true },
  },
  {
    event: 'dma_free',
    flags: '.l...',
    text:
      `${DEV} dir=BIDIRECTIONAL dma_addr=acb0000 size=1024 virt_addr=00000000cfaa9d84 ` +
      'attrs=FORCE_CONTIGUOUS|ALLOC_CC_SHARED',
    values: {
      device: DEV,
      virt_addr: VIRT,
      dma_addr: 0xacb0000,
      size: 1024,
      dir: BIDI,
      attrs: ATTR_FORCE_CONTIGUOUS | ATTR_ALLOC_CC_SHARED,
    },
    want: {
      kind: K.Free,
      dir: BIDI,
      attrs: ATTR_FORCE_CONTIGUOUS | ATTR_ALLOC_CC_SHARED,
      addr: 'acb0000',
      size: 1024,
      virtNull: false,
    },
  },
  {
    event: 'dma_alloc_pages',
    flags: '.....',
    text: `${DEV} dir=FROM_DEVICE dma_addr=ffffb000 size=4096 virt_addr=000000005081cb66 flags=GFP_KERNEL attrs=`,
    values: { device: DEV, virt_addr: VIRT, dma_addr: 0xffffb000, size: 4096, flags: GFP_KERNEL, dir: FROM, attrs: 0 },
    want: { kind: K.AllocPages, dir: FROM, hasDir: true, attrs: 0, addr: 'ffffb000', size: 4096, virtNull: false },
  },
  {
    event: 'dma_free_pages',
    flags: '.....',
    text: `${DEV} dir=FROM_DEVICE dma_addr=ffffb000 size=4096 virt_addr=000000005081cb66 attrs=`,
    values: { device: DEV, virt_addr: VIRT, dma_addr: 0xffffb000, size: 4096, dir: FROM, attrs: 0 },
    want: { kind: K.FreePages, dir: FROM, attrs: 0, addr: 'ffffb000', size: 4096 },
  },
  {
    event: 'dma_alloc_sgt',
    flags: '.....',
    text:
      `${DEV} dir=BIDIRECTIONAL dma_addr=ffff4000 size=16384 phys_addrs={0xb11b000,0xb18b000,0xb189000} ` +
      'flags=GFP_KERNEL attrs=ALLOC_SINGLE_PAGES',
    values: {
      device: DEV,
      phys_addrs: [0xb11b000, 0xb18b000, 0xb189000],
      dma_addr: 0xffff4000,
      size: 16384,
      dir: BIDI,
      flags: GFP_KERNEL,
      attrs: ATTR_ALLOC_SINGLE_PAGES,
    },
    want: {
      kind: K.AllocSgt,
      attrs: ATTR_ALLOC_SINGLE_PAGES,
      addr: 'ffff4000',
      size: 16384,
      nents: 3,
      sgPhys: ['b11b000', 'b18b000', 'b189000'],
    },
  },
  {
    event: 'dma_alloc_sgt_err',
    flags: '.....',
    text: `${DEV} dir=TO_DEVICE dma_addr=0 size=16384 virt_addr=0000000000000000 flags=GFP_KERNEL attrs=NO_WARN`,
    values: { device: DEV, virt_addr: 0, dma_addr: 0, size: 16384, flags: GFP_KERNEL, dir: TO, attrs: ATTR_NO_WARN },
    want: { kind: K.AllocSgtErr, dir: TO, attrs: ATTR_NO_WARN, addr: '0', size: 16384, virtNull: true },
  },
  {
    // 7.3's dma_free_sgt has no attrs
    event: 'dma_free_sgt',
    flags: '.....',
    text: `${DEV} dir=BIDIRECTIONAL dma_addr=ffff4000 size=16384 phys_addrs={0xb11b000,0xb18b000,0xb189000}`,
    values: {
      device: DEV,
      phys_addrs: [0xb11b000, 0xb18b000, 0xb189000],
      dma_addr: 0xffff4000,
      size: 16384,
      dir: BIDI,
    },
    want: {
      kind: K.FreeSgt,
      attrs: 0,
      addr: 'ffff4000',
      size: 16384,
      nents: 3,
      sgPhys: ['b11b000', 'b18b000', 'b189000'],
    },
  },
  {
    event: 'dma_sync_single_for_cpu',
    flags: '.....',
    text: `${DEV} dir=FROM_DEVICE dma_addr=ac83200 size=2048`,
    values: { device: DEV, dma_addr: 0xac83200, size: 2048, dir: FROM },
    want: { kind: K.SyncSingleForCpu, dir: FROM, addr: 'ac83200', size: 2048, attrs: 0 },
  },
  {
    event: 'dma_sync_single_for_device',
    flags: 'dl.2.',
    text: `${DEV} dir=TO_DEVICE dma_addr=ac83200 size=2048`,
    values: { device: DEV, dma_addr: 0xac83200, size: 2048, dir: TO },
    want: { kind: K.SyncSingleForDevice, dir: TO, addr: 'ac83200', size: 2048 },
  },
  {
    event: 'dma_sync_sg_for_cpu',
    flags: '.....',
    text: `${DEV} dir=FROM_DEVICE dma_addrs={0xffff4000} sizes={0x4000}`,
    values: { device: DEV, dma_addrs: [0xffff4000], lengths: [0x4000], dir: FROM },
    want: { kind: K.SyncSgForCpu, dir: FROM, nents: 1, sgDma: ['ffff4000'], sgLen: [0x4000] },
  },
  {
    event: 'dma_sync_sg_for_device',
    flags: '.....',
    text: `${DEV} dir=TO_DEVICE dma_addrs={0xffff4000,0xffff5060,0xffffffffffffffff} sizes={0x1000,0x3e8,0x0}`,
    values: {
      device: DEV,
      dma_addrs: [0xffff4000, 0xffff5060, 0xffffffffffffffffn],
      lengths: [0x1000, 0x3e8, 0],
      dir: TO,
    },
    want: {
      kind: K.SyncSgForDevice,
      dir: TO,
      nents: 3,
      sgDma: ['ffff4000', 'ffff5060', 'ffffffffffffffff'],
      sgLen: [0x1000, 0x3e8, 0],
    },
  },
  {
    event: 'dma_map_phys',
    flags: '.....',
    text: `${DEV} dir=TO_DEVICE dma_addr=c000000 size=64 phys_addr=c000000 attrs=${ATTR_NAMES.map(([n]) => n).join('|')}`,
    values: { device: DEV, phys_addr: 0xc000000, dma_addr: 0xc000000, size: 64, dir: TO, attrs: ALL_ATTRS },
    want: { kind: K.MapResource, attrs: ALL_ATTRS },
  },
  {
    event: 'mm_page_free',
    flags: '.l...',
    text: 'page=0000000054ed9bff pfn=0x7ff11 order=2',
    values: { pfn: 0x7ff11, order: 2 },
    want: { kind: K.PageFree, pfn: '7ff11', order: 2, device: '' },
  },
  {
    event: 'mm_page_free_batched',
    flags: '.....',
    text: 'page=0000000054ed9bff pfn=0x7ff12 order=0',
    values: { pfn: 0x7ff12 },
    want: { kind: K.PageFree, pfn: '7ff12', order: 0 },
  },
];

/** A 7.3 ftrace text line: task-pid, CPU, the five flag letters (PREEMPT_LAZY's `l` / `b` among them), time. */
function line73(i: number, c: Case): string {
  const head = `insmod-${108 + (i % 3)}`.padStart(16);
  const us = String(1_979_743 + i * 17).padStart(7, '0');
  return `${head}     [00${i % 2}] ${c.flags}     ${us.slice(0, -6)}.${us.slice(-6)}: ${c.event}: ${c.text}\n`;
}

function records73(): WRecord[] {
  return CASES.map((c, i) => ({
    cpu: 0,
    ts: 1_979_743_000n + BigInt(i * 17_000),
    pid: 108 + (i % 3),
    event: c.event,
    values: c.values,
  }));
}

describe('7.3 layouts: text', () => {
  test('every dma event as 7.3 prints it parses to the right kind, attrs and fields', () => {
    const text = CASES.map((c, i) => line73(i, c)).join('');
    const p = parseBytes(text);
    assert.deepEqual(p.parser.warningList, []);
    assert.equal(p.parser.skipped, 0);
    assert.equal(p.events.length, CASES.length);
    CASES.forEach((c, i) => {
      const ev = p.events[i]!;
      assert.deepEqual(picked(ev, p.names, c.want), c.want, `${i}: ${c.event} ${c.text}`);
      assert.equal(ev.line, i + 1);
      assert.equal(ev.cpu, i % 2);
      assert.equal(ev.pid, 108 + (i % 3));
      assert.equal(ev.tsSec * 1e6 + ev.tsNs / 1000, 1_979_743 + i * 17);
      if (ev.hasVirt) assert.equal(ev.virtRaw, false, 'the kernel text prints hashed pointers');
    });
  });

  test('trace-cmd report forms: glibc %p (0x raw pointers, (nil)) and the raw addr field of the unmap class', () => {
    const text =
      line73(0, { ...CASES[8]!, text: CASES[8]!.text.replace('00000000cfaa9d84', '0xff1100000b433800') }) +
      line73(1, { ...CASES[9]!, text: CASES[9]!.text.replace('0000000000000000', '(nil)') }) +
      line73(2, { ...CASES[3]!, text: `[FAILED TO PARSE] device=${DEV} addr=0xb5a7200 size=512 dir=1 attrs=0x20` });
    const p = parseBytes(text);
    assert.deepEqual(p.parser.warningList, []);
    const [a, failed, unmap] = p.events as [DmaEvent, DmaEvent, DmaEvent];
    assert.equal(a.virtRaw, true);
    assert.equal(hex(a.virtHi, a.virtLo), 'ff1100000b433800');
    assert.deepEqual(picked(failed, p.names, CASES[9]!.want), CASES[9]!.want);
    assert.deepEqual(picked(unmap, p.names, CASES[3]!.want), CASES[3]!.want);
  });
});

/** The writer's layouts of 7.3, checked against the 7.3 fixture's format files field by field when they exist. */
function checkedEvents73(): EventDef[] {
  const defs = events73();
  for (const def of defs) {
    const f = formatOf(def);
    if (!f.real) continue;
    const real: EventFormat | null = parseEventFormat(f.text, def.system, 8);
    const mine: EventFormat | null = parseEventFormat(formatText(def, 8), def.system, 8);
    assert.ok(real && mine, def.name);
    assert.equal(real.id, def.id, `${def.name} id`);
    const names = (x: EventFormat) => x.fields.map((y) => y.name).filter((n) => !n.startsWith('common_'));
    assert.deepEqual(names(mine), names(real), `${def.name} fields`);
    for (const rf of real.fields) {
      const mf: FormatField = mine.fields.find((x) => x.name === rf.name)!;
      assert.deepEqual([mf.offset, mf.size, mf.signed], [rf.offset, rf.size, rf.signed], `${def.name}.${rf.name}`);
    }
  }
  return defs;
}

describe('7.3 layouts: trace.dat', () => {
  test('the same records decode to the same events (writer v6 and v7, TraceDatParser)', async () => {
    const defs = checkedEvents73();
    for (const version of [6, 7] as const) {
      const w = writeTraceDat(records73(), { version, cpus: 1, events: [...defs, ...ftraceEvents()] });
      const names = new Names();
      const got: DmaEvent[] = [];
      const parser = new TraceDatParser({ names, file: 'x.dat', sink: (ev) => got.push(ev.clone()) });
      parser.push(w.bytes);
      parser.end();
      assert.deepEqual(parser.warningList, [], `v${version}`);
      assert.equal(got.length, CASES.length, `v${version}`);
      CASES.forEach((c, i) => {
        const ev = got[i]!;
        assert.deepEqual(picked(ev, names, c.want), c.want, `v${version} ${i}: ${c.event}`);
        if ('virt_addr' in c.values && c.values.virt_addr !== 0) {
          assert.equal(ev.virtRaw, true);
          assert.equal(hex(ev.virtHi, ev.virtLo), 'ff1100000b433800', '5-level pointers stay exact');
        }
      });
    }
  });

  test('ring-buffer records decoded with the 7.3 fixture formats set facts.mapEvents at the first dma_map_phys', () => {
    const defs = checkedEvents73();
    const formats = defs.map((d) => parseEventFormat(formatOf(d).text, d.system, 8)!);
    const names = new Names();
    const facts = noInputFacts();
    const seen: Array<[string, string | null]> = [];
    const events: DmaEvent[] = [];
    const out = new RingRecords({
      names,
      sink: (ev) => {
        seen.push([String(facts.mapEvents), facts.mapEventsSource]);
        events.push(ev.clone());
      },
      commName: () => 'insmod',
      warn: (m) => assert.fail(m),
      facts,
    });
    out.configure(true, new RecordDecoder(names, true, 8, () => null, new Map()), formats);
    const plans = buildPlans(formats, 8);
    // two allocations first: no evidence until the first dma_map_phys (event 3)
    const recs = records73();
    const order = [recs[8]!, recs[9]!, ...recs.slice(0, 8), ...recs.slice(10)].map((rec, i) => ({
      ...rec,
      ts: recs[i]!.ts,
    }));
    const { bytes } = encodeCpuPages(order, defs, 0);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const r = new PageReader(true, 8, 16);
    for (let base = 0; base < bytes.length; base += 4096) {
      assert.ok(r.load(bytes, dv, base, 4096), r.error);
      while (r.next()) {
        const id = out.recordId(r, 0);
        const plan = plans[id];
        assert.ok(plan, `plan for id ${id}`);
        out.emitRecord(r, 0, plan);
      }
    }
    assert.equal(events.length, CASES.length);
    assert.deepEqual(seen[0], ['null', null]);
    assert.deepEqual(seen[1], ['null', null]);
    // set before the first dma_map_phys is handed on, and never changed after
    for (let i = 2; i < seen.length; i++)
      assert.deepEqual(seen[i], ['phys', 'event 3: dma_map_phys'], `event ${i + 1}`);
    assert.equal(events[2]!.kind, K.MapPage);
    assert.equal(events[3]!.kind, K.MapResource);
  });

  test('facts already set (from formats) are not overwritten', () => {
    const defs = checkedEvents73();
    const formats = defs.map((d) => parseEventFormat(formatOf(d).text, d.system, 8)!);
    const names = new Names();
    const facts = { ...noInputFacts(), mapEvents: 'phys' as const, mapEventsSource: 'formats of trace.dat' };
    const out = new RingRecords({ names, sink: () => {}, commName: () => 'x', warn: assert.fail, facts });
    out.configure(true, new RecordDecoder(names, true, 8, () => null, new Map()), formats);
    const plans = buildPlans(formats, 8);
    const { bytes } = encodeCpuPages(records73(), defs, 0);
    const r = new PageReader(true, 8, 16);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let base = 0; base < bytes.length; base += 4096) {
      r.load(bytes, dv, base, 4096);
      while (r.next()) out.emitRecord(r, 0, plans[out.recordId(r, 0)]!);
    }
    assert.equal(out.events, CASES.length);
    assert.equal(facts.mapEventsSource, 'formats of trace.dat');
  });
});

describe('facts.mapEvents from a text trace', () => {
  const l = (event: string, payload: string, n: number) =>
    `${'kworker/0:1-42'.padStart(16)}     [000] .....     1.${String(n).padStart(6, '0')}: ${event}: ${payload}\n`;
  const alloc = `${DEV} dir=BIDIRECTIONAL dma_addr=acb0000 size=1024 virt_addr=00000000cfaa9d84 flags=GFP_KERNEL attrs=`;
  const mapPhys = `${DEV} dir=TO_DEVICE dma_addr=b5a7200 size=512 phys_addr=b5a7200 attrs=`;
  const unmapPhys = `${DEV} dir=TO_DEVICE dma_addr=b5a7200 size=512 attrs=`;

  test('set from the first single-mapping line, before that event is handed on, and not changed later', () => {
    const text =
      l('dma_alloc', alloc, 1) +
      l('mm_page_free', 'page=0000000054ed9bff pfn=0x7ff11 order=0', 2) +
      l('dma_unmap_phys', unmapPhys, 3) +
      l('dma_map_page', `${DEV} dir=TO_DEVICE dma_addr=1000 size=512 phys_addr=1000 attrs=`, 4) +
      l('dma_map_phys', mapPhys, 5);
    const names = new Names();
    const at: Array<string | null> = [];
    const parser = new TextParser({
      names,
      file: 't',
      sink: () => at.push(parser.facts.mapEventsSource),
    });
    parser.push(Buffer.from(text));
    parser.end();
    assert.deepEqual(at, [null, null, 'line 3: dma_unmap_phys', 'line 3: dma_unmap_phys', 'line 3: dma_unmap_phys']);
    assert.equal(parser.facts.mapEvents, 'phys');
  });

  test('6.12 names give page; a malformed first line is no evidence', () => {
    const text =
      l('dma_map_resource', `${DEV} dir=TO_DEVICE size=512 attrs=`, 1) +
      l('dma_map_resource', `${DEV} dir=BIDIRECTIONAL dma_addr=fee00000 size=4096 phys_addr=fee00000 attrs=`, 2);
    const p = parseBytes(text);
    assert.equal(p.parser.warnings, 1);
    assert.equal(p.parser.facts.mapEvents, 'page');
    assert.equal(p.parser.facts.mapEventsSource, 'line 2: dma_map_resource');
  });

  test('a trace with only dma_alloc lines leaves it null', () => {
    const text = l('dma_alloc', alloc, 1) + l('dma_alloc', alloc.replace('acb0000', 'acb1000'), 2);
    const p = parseBytes(text);
    assert.equal(p.events.length, 2);
    assert.equal(p.parser.facts.mapEvents, null);
    assert.equal(p.parser.facts.mapEventsSource, null);
  });
});
