// The ftrace text parser: every dma:* layout from traces.md, trace-cmd report
// output, stacks, lost events, headers, bad lines, binary input, and the
// real fixtures (event counts per README, identical results at any chunk size).

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Names } from '../../src/base/interner.js';
import { hex } from '../../src/base/u64.js';
import { ATTR_MMIO, ATTR_SKIP_CPU_SYNC, Dir, type DmaEvent, EventKind, noInputFacts } from '../../src/engine/events.js';
import { InputError } from '../../src/input/errors.js';
import { MAX_LINE_BYTES, MAX_STACK_BYTES, MAX_WARNINGS_KEPT, TextParser } from '../../src/input/text-parser.js';
import { fixture, parseBytes, readmeCounts, serialize, serializeAll, textScenarios } from './helpers.js';

/** One ftrace line (kernel `trace` layout, with the flags column). */
function line(
  event: string,
  payload: string,
  o: { comm?: string; pid?: number; cpu?: number; ts?: string } = {},
): string {
  const comm = o.comm ?? 'insmod';
  const pid = o.pid ?? 103;
  const cpu = String(o.cpu ?? 0).padStart(3, '0');
  const head = `${comm}-${pid}`.padStart(24);
  return `${head} [${cpu}] ..... ${(o.ts ?? '2.968093').padStart(12)}: ${event}: ${payload}\n`;
}

function one(text: string): { ev: DmaEvent; p: ReturnType<typeof parseBytes> } {
  const p = parseBytes(text);
  assert.deepEqual(p.parser.warningList, [], 'no warnings');
  assert.equal(p.events.length, 1, 'one event');
  return { ev: p.events[0]!, p };
}

const addr = (ev: DmaEvent) => hex(ev.addrHi, ev.addrLo);
const phys = (ev: DmaEvent) => hex(ev.physHi, ev.physLo);
const virt = (ev: DmaEvent) => hex(ev.virtHi, ev.virtLo);
const sgDma = (ev: DmaEvent) => Array.from({ length: ev.sgDma.count }, (_, i) => hex(ev.sgDma.hi[i]!, ev.sgDma.lo[i]!));
const sgPhys = (ev: DmaEvent) =>
  Array.from({ length: ev.sgPhys.count }, (_, i) => hex(ev.sgPhys.hi[i]!, ev.sgPhys.lo[i]!));
const sgLen = (ev: DmaEvent) => Array.from(ev.sgLen.v.subarray(0, ev.sgLen.count));

describe('header', () => {
  test('task, pid, cpu, timestamp, comm interning', () => {
    const { ev, p } = one(
      line('dma_map_page', '0000:00:02.0 dir=TO_DEVICE dma_addr=fffff800 size=512 phys_addr=b86b800 attrs='),
    );
    assert.equal(ev.kind, EventKind.MapPage);
    assert.equal(ev.line, 1);
    assert.equal(ev.pid, 103);
    assert.equal(ev.cpu, 0);
    assert.equal(p.names.comms.name(ev.comm), 'insmod');
    assert.equal(ev.tsSec, 2);
    assert.equal(ev.tsNs, 968093000);
    assert.equal(ev.tsDigits, 6);
  });

  test('task names with spaces, dashes, slashes and <...>; pid is after the last dash', () => {
    const text =
      line('mm_page_free', 'page=0000000023689127 pfn=0x3706 order=1', { comm: 'kworker/u8:2', pid: 51, cpu: 1 }) +
      line('mm_page_free', 'page=0000000023689127 pfn=0x3706 order=1', { comm: 'my task-x', pid: 123 }) +
      line('mm_page_free', 'page=0000000023689127 pfn=0x3706 order=1', { comm: '<...>', pid: 4567 }) +
      line('mm_page_free', 'page=0000000023689127 pfn=0x3706 order=1', { comm: '<idle>', pid: 0 }) +
      line('mm_page_free', 'page=0000000023689127 pfn=0x3706 order=1', { comm: 'a[1]-b', pid: 9 });
    const p = parseBytes(text);
    assert.equal(p.parser.warnings, 0);
    const got = p.events.map((e) => `${p.names.comms.name(e.comm)}|${e.pid}|${e.cpu}`);
    assert.deepEqual(got, ['kworker/u8:2|51|1', 'my task-x|123|0', '<...>|4567|0', '<idle>|0|0', 'a[1]-b|9|0']);
  });

  test('record-tgid column, 9-digit timestamps, CRLF line ends', () => {
    const text =
      '            bash-1977  (   1977) [001] d..1.  12.345678901: mm_page_free: page=00 pfn=0x10 order=2\r\n' +
      '            bash-1978  (-------) [001] d..1.  12.345678902: mm_page_free: page=00 pfn=0x11 order=0\r\n';
    const p = parseBytes(text);
    assert.equal(p.parser.warnings, 0);
    assert.equal(p.events.length, 2);
    const [a, b] = p.events as [DmaEvent, DmaEvent];
    assert.equal(a.pid, 1977);
    assert.equal(a.cpu, 1);
    assert.equal(a.tsSec, 12);
    assert.equal(a.tsNs, 345678901);
    assert.equal(a.tsDigits, 9);
    assert.equal(a.order, 2);
    assert.equal(b.pid, 1978);
    assert.equal(hex(b.pfnHi, b.pfnLo), '11');
  });

  test('trace-cmd report: no flags column, padded event names', () => {
    const text =
      'version = 6\n' +
      'cpus=2\n' +
      'CPU 1 is empty\n' +
      '          insmod-103   [000]     2.968093: dma_map_page:         0000:00:02.0 dir=TO_DEVICE dma_addr=fffff800 size=512 phys_addr=b86b800 attrs=\n' +
      '          insmod-103   [000]     2.969513: dma_unmap_page:       0000:00:02.0 dir=TO_DEVICE dma_addr=fffff800 size=512 attrs=\n' +
      '          <idle>-0     [001]     0.476551: mm_page_free:         page=0xffffea00002931c0 pfn=0xa4c7 order=0\n';
    const p = parseBytes(text);
    assert.equal(p.parser.warnings, 0);
    assert.equal(p.parser.skipped, 3);
    assert.deepEqual(
      p.events.map((e) => e.kind),
      [EventKind.MapPage, EventKind.UnmapPage, EventKind.PageFree],
    );
    const m = p.events[0]!;
    assert.equal(p.names.devices.name(m.device), '0000:00:02.0');
    assert.equal(addr(m), 'fffff800');
    assert.equal(phys(m), 'b86b800');
    assert.equal(m.size, 512);
    assert.equal(p.events[2]!.cpu, 1);
  });
});

describe('counter clocks and wide header values', () => {
  const mapPage = '0000:00:02.0 dir=TO_DEVICE dma_addr=1000 size=512 phys_addr=1000 attrs=';

  test('a counter clock prints one u64 count: kept exactly as count div 10^9 and count mod 10^9', () => {
    const text =
      line('dma_map_page', mapPage, { ts: '12345' }) +
      line('dma_map_page', mapPage, { ts: '7009028572000' }) +
      line('dma_map_page', mapPage, { ts: '9007199254740993' }) +
      line('dma_map_page', mapPage, { ts: '18446744073709551615' });
    const p = parseBytes(text);
    assert.deepEqual(p.parser.warningList, []);
    assert.deepEqual(
      p.events.map((e) => [e.tsSec, e.tsNs, e.tsDigits]),
      [
        [0, 12345, 0],
        [7009, 28572000, 0],
        [9007199, 254740993, 0],
        [18446744073, 709551615, 0],
      ],
    );
  });

  test('a count past 2^64 - 1 or of 21 digits, or seconds of 16 digits, is no timestamp: a damaged line', () => {
    const text =
      line('dma_map_page', mapPage, { ts: '18446744073709551616' }) +
      line('dma_map_page', mapPage, { ts: '100000000000000000000' }) +
      line('dma_map_page', mapPage, { ts: '1234567890123456.000001' }) +
      line('dma_map_page', mapPage, { ts: '5' });
    const p = parseBytes(text);
    assert.deepEqual(
      p.events.map((e) => e.kind),
      [EventKind.Lost, EventKind.Lost, EventKind.Lost, EventKind.MapPage],
    );
    assert.deepEqual(
      p.parser.warningList.map((w) => w.line),
      [1, 2, 3],
    );
  });

  test('a pid an int cannot hold (the kernel prints pid_t) is no event header', () => {
    const p = parseBytes(
      line('dma_map_page', mapPage, { pid: 2147483648 }) + line('dma_map_page', mapPage, { pid: 2147483647 }),
    );
    assert.deepEqual(
      p.parser.warningList.map((w) => w.line),
      [1],
    );
    const good = p.events.filter((e) => e.kind === EventKind.MapPage);
    assert.equal(good.length, 1);
    assert.equal(good[0]!.pid, 2147483647);
  });
});

describe('dma_map_page / dma_map_resource (6.12)', () => {
  test('map_page, unmap_page, map_resource, unmap_resource', () => {
    const text =
      line('dma_map_page', '0000:00:02.0 dir=TO_DEVICE dma_addr=fffff800 size=512 phys_addr=b86b800 attrs=') +
      line('dma_unmap_page', '0000:00:02.0 dir=FROM_DEVICE dma_addr=fffff800 size=512 attrs=SKIP_CPU_SYNC') +
      line('dma_map_resource', '0000:00:02.0 dir=BIDIRECTIONAL dma_addr=ffffb000 size=4096 phys_addr=fea00000 attrs=') +
      line('dma_unmap_resource', '0000:00:02.0 dir=NONE dma_addr=ffffb000 size=4096 attrs=');
    const p = parseBytes(text);
    assert.equal(p.parser.warnings, 0);
    const [a, b, c, d] = p.events as [DmaEvent, DmaEvent, DmaEvent, DmaEvent];
    assert.equal(a.kind, EventKind.MapPage);
    assert.equal(a.dir, Dir.ToDevice);
    assert.equal(a.hasDir, true);
    assert.equal(a.hasPhys, true);
    assert.equal(a.attrs, 0);
    assert.equal(b.kind, EventKind.UnmapPage);
    assert.equal(b.dir, Dir.FromDevice);
    assert.equal(b.attrs, ATTR_SKIP_CPU_SYNC);
    assert.equal(b.hasPhys, false);
    assert.equal(c.kind, EventKind.MapResource);
    assert.equal(c.dir, Dir.Bidirectional);
    assert.equal(phys(c), 'fea00000');
    assert.equal(d.kind, EventKind.UnmapResource);
    assert.equal(d.dir, Dir.None);
    assert.equal(d.line, 4);
  });

  test('keys are read by name, not by position; unknown keys are ignored', () => {
    const { ev } = one(
      line(
        'dma_map_page',
        '0000:00:02.0 attrs= newkey=whatever size=512 phys_addr=1000 dir=TO_DEVICE dma_addr=2000 other={1,2}',
      ),
    );
    assert.equal(addr(ev), '2000');
    assert.equal(phys(ev), '1000');
    assert.equal(ev.size, 512);
    assert.equal(ev.dir, Dir.ToDevice);
  });
});

describe('6.18 dma_map_phys / dma_unmap_phys', () => {
  test('plain phys mappings are single mappings; MMIO makes them resource mappings', () => {
    const text =
      line('dma_map_phys', '0000:00:02.0 dir=TO_DEVICE dma_addr=fffff800 size=512 phys_addr=b86b800 attrs=') +
      line('dma_unmap_phys', '0000:00:02.0 dir=TO_DEVICE dma_addr=fffff800 size=512 attrs=') +
      line('dma_map_phys', '0000:00:02.0 dir=BIDIRECTIONAL dma_addr=fea00000 size=4096 phys_addr=fea00000 attrs=MMIO') +
      line('dma_unmap_phys', '0000:00:02.0 dir=BIDIRECTIONAL dma_addr=fea00000 size=4096 attrs=SKIP_CPU_SYNC|MMIO');
    const p = parseBytes(text);
    assert.equal(p.parser.warnings, 0);
    assert.deepEqual(
      p.events.map((e) => e.kind),
      [EventKind.MapPage, EventKind.UnmapPage, EventKind.MapResource, EventKind.UnmapResource],
    );
    assert.equal(p.events[2]!.attrs, ATTR_MMIO);
    assert.equal(p.events[3]!.attrs, ATTR_MMIO | ATTR_SKIP_CPU_SYNC);
  });
});

describe('alloc / free layouts', () => {
  test('6.12 merge: dma_alloc with phys_addr and no dir', () => {
    const { ev } = one(
      line('dma_alloc', '0000:00:02.0 dma_addr=fffff000 size=1024 phys_addr=b86b000 flags=GFP_KERNEL attrs='),
    );
    assert.equal(ev.kind, EventKind.Alloc);
    assert.equal(ev.hasDir, false);
    assert.equal(ev.hasPhys, true);
    assert.equal(phys(ev), 'b86b000');
    assert.equal(ev.hasVirt, false);
    assert.equal(ev.size, 1024);
  });

  test('6.13 backports: dir, virt_addr=%p, flags=', () => {
    const text =
      line(
        'dma_alloc',
        '0000:00:1f.2 dir=BIDIRECTIONAL dma_addr=fffe0000 size=91392 virt_addr=00000000b10595df flags=GFP_KERNEL|__GFP_ZERO attrs=',
      ) +
      line(
        'dma_free',
        '0000:00:1f.2 dir=BIDIRECTIONAL dma_addr=fffe0000 size=91392 virt_addr=00000000b10595df attrs=',
      ) +
      line(
        'dma_alloc_pages',
        '0000:00:02.0 dir=FROM_DEVICE dma_addr=ffffb000 size=4096 virt_addr=ffff888003a3c000 flags=GFP_KERNEL attrs=',
      ) +
      line(
        'dma_free_pages',
        '0000:00:02.0 dir=FROM_DEVICE dma_addr=ffffb000 size=4096 virt_addr=ffff888003a3c000 attrs=',
      );
    const p = parseBytes(text);
    assert.equal(p.parser.warnings, 0);
    const [a, f, ap, fp] = p.events as [DmaEvent, DmaEvent, DmaEvent, DmaEvent];
    assert.equal(a.kind, EventKind.Alloc);
    assert.equal(a.hasDir, true);
    assert.equal(a.dir, Dir.Bidirectional);
    assert.equal(a.hasVirt, true);
    assert.equal(a.virtRaw, false);
    assert.equal(virt(a), 'b10595df');
    assert.equal(a.hasPhys, false);
    assert.equal(f.kind, EventKind.Free);
    assert.equal(virt(f), 'b10595df');
    assert.equal(ap.kind, EventKind.AllocPages);
    assert.equal(ap.dir, Dir.FromDevice);
    assert.equal(virt(ap), 'ffff888003a3c000');
    assert.equal(fp.kind, EventKind.FreePages);
  });

  test('a garbage dir on coherent allocations is not a direction (and not an error)', () => {
    const { ev } = one(
      line(
        'dma_alloc',
        '0000:00:02.0 dir=0x7f dma_addr=fffff000 size=1024 virt_addr=00000000844f37e8 flags=GFP_KERNEL attrs=',
      ),
    );
    assert.equal(ev.hasDir, false);
    assert.equal(ev.dir, Dir.Bidirectional);
  });

  test('failed alloc (2026: dma_addr=0), virt_addr=(null) and (____ptrval____)', () => {
    const text =
      line(
        'dma_alloc',
        '0000:00:02.0 dir=BIDIRECTIONAL dma_addr=0 size=4096 virt_addr=(null) flags=GFP_KERNEL attrs=',
      ) +
      line(
        'dma_alloc',
        '0000:00:02.0 dir=BIDIRECTIONAL dma_addr=1000 size=4096 virt_addr=(____ptrval____) flags=none attrs=',
      );
    const p = parseBytes(text);
    assert.equal(p.parser.warnings, 0);
    const [a, b] = p.events as [DmaEvent, DmaEvent];
    assert.equal(addr(a), '0');
    assert.equal(a.size, 4096);
    assert.equal(a.hasVirt, true);
    assert.equal(virt(a), '0');
    assert.equal(b.hasVirt, false);
  });

  test('dma_alloc_sgt, dma_free_sgt, dma_alloc_sgt_err', () => {
    const text =
      line(
        'dma_alloc_sgt',
        '0000:00:02.0 dir=BIDIRECTIONAL dma_addr=ffff4000 size=16384 phys_addrs={0xbac7000,0xbac4000,0xbac3000,0xbac1000} flags=GFP_KERNEL attrs=',
      ) +
      line(
        'dma_free_sgt',
        '0000:00:02.0 dir=BIDIRECTIONAL dma_addr=ffff4000 size=16384 phys_addrs={0xbac7000,0xbac4000}',
      ) +
      line(
        'dma_alloc_sgt_err',
        '0000:00:02.0 dir=TO_DEVICE dma_addr=0 size=65536 virt_addr=0000000000000000 flags=GFP_KERNEL attrs=',
      );
    const p = parseBytes(text);
    assert.equal(p.parser.warnings, 0);
    const [a, f, e] = p.events as [DmaEvent, DmaEvent, DmaEvent];
    assert.equal(a.kind, EventKind.AllocSgt);
    assert.equal(addr(a), 'ffff4000');
    assert.equal(a.size, 16384);
    assert.deepEqual(sgPhys(a), ['bac7000', 'bac4000', 'bac3000', 'bac1000']);
    assert.equal(a.nents, 4);
    assert.equal(f.kind, EventKind.FreeSgt);
    assert.deepEqual(sgPhys(f), ['bac7000', 'bac4000']);
    assert.equal(e.kind, EventKind.AllocSgtErr);
    assert.equal(e.size, 65536);
    assert.equal(e.dir, Dir.ToDevice);
  });
});

describe('scatter-gather', () => {
  test('early form: no nents=, counts come from the lists', () => {
    const { ev } = one(
      line(
        'dma_map_sg',
        '0000:00:02.0 dir=FROM_DEVICE dma_addrs={0xffffc000,0xffffd000} sizes={0x800,0x1000} phys_addrs={0xb000000,0xb001000,0xb002000} attrs=',
      ),
    );
    assert.equal(ev.kind, EventKind.MapSg);
    assert.equal(ev.nents, 3);
    assert.equal(ev.ents, 2);
    assert.equal(ev.truncated, false);
    assert.deepEqual(sgDma(ev), ['ffffc000', 'ffffd000']);
    assert.deepEqual(sgLen(ev), [0x800, 0x1000]);
    assert.deepEqual(sgPhys(ev), ['b000000', 'b001000', 'b002000']);
  });

  test('newest form: nents=%d/%d ents=%d/%d, and [TRUNCATED] keeps the full counts', () => {
    const text =
      line(
        'dma_map_sg',
        '0000:00:1f.2 dir=FROM_DEVICE nents=1/1 ents=1/1 dma_addrs={0xfff3f680} sizes={0x200} phys_addrs={0xa78a680} attrs=',
      ) +
      line(
        'dma_map_sg',
        '0000:00:1f.2 dir=TO_DEVICE nents=2/200 ents=2/150 [TRUNCATED] dma_addrs={0x1000,0x2000} sizes={512,0x200} phys_addrs={0x5000,0x6000} attrs=WEAK_ORDERING',
      ) +
      line('dma_map_sg', '0000:00:1f.2 dir=TO_DEVICE nents=0/0 ents=0/0 dma_addrs={} sizes={} phys_addrs={} attrs=');
    const p = parseBytes(text);
    assert.equal(p.parser.warnings, 0);
    const [a, b, c] = p.events as [DmaEvent, DmaEvent, DmaEvent];
    assert.equal(a.nents, 1);
    assert.equal(a.ents, 1);
    assert.equal(a.truncated, false);
    assert.equal(b.nents, 200);
    assert.equal(b.ents, 150);
    assert.equal(b.truncated, true);
    assert.deepEqual(sgLen(b), [512, 512]);
    assert.equal(b.attrs, 1 << 1);
    assert.equal(c.sgDma.count, 0);
    assert.equal(c.sgPhys.count, 0);
  });

  test('dma_unmap_sg carries only physical addresses', () => {
    const { ev } = one(line('dma_unmap_sg', '0000:00:1f.2 dir=FROM_DEVICE phys_addrs={0xa78a680,0xa78b000} attrs='));
    assert.equal(ev.kind, EventKind.UnmapSg);
    assert.deepEqual(sgPhys(ev), ['a78a680', 'a78b000']);
    assert.equal(ev.sgDma.count, 0);
    assert.equal(ev.nents, 2);
  });

  test('dma_map_sg_err: the list labelled dma_addrs holds physical addresses', () => {
    const { ev } = one(
      line('dma_map_sg_err', '0000:00:02.0 dir=TO_DEVICE dma_addrs={0xb000000,0xb001000} err=-12 attrs='),
    );
    assert.equal(ev.kind, EventKind.MapSgErr);
    assert.deepEqual(sgPhys(ev), ['b000000', 'b001000']);
    assert.equal(ev.sgDma.count, 0);
    assert.equal(ev.err, -12);
    assert.equal(ev.nents, 2);
  });

  test('sync single and sync sg', () => {
    const text =
      line('dma_sync_single_for_cpu', '0000:00:02.0 dir=FROM_DEVICE dma_addr=ffffb800 size=1500') +
      line('dma_sync_single_for_device', '0000:00:02.0 dir=TO_DEVICE dma_addr=fffff800 size=512') +
      line(
        'dma_sync_sg_for_cpu',
        '0000:00:02.0 dir=FROM_DEVICE dma_addrs={0xffffc000,0xffffd000} sizes={0x800,0x1000}',
      ) +
      line(
        'dma_sync_sg_for_device',
        '0000:00:02.0 dir=TO_DEVICE dma_addrs={0xffff4000,0xffff5060,0xffff6800,0xffffffffffffffff} sizes={0x1000,0x3e8,0x840,0x0}',
      );
    const p = parseBytes(text);
    assert.equal(p.parser.warnings, 0);
    const [a, b, c, d] = p.events as [DmaEvent, DmaEvent, DmaEvent, DmaEvent];
    assert.equal(a.kind, EventKind.SyncSingleForCpu);
    assert.equal(a.size, 1500);
    assert.equal(b.kind, EventKind.SyncSingleForDevice);
    assert.equal(c.kind, EventKind.SyncSgForCpu);
    assert.equal(c.nents, 2);
    assert.equal(d.kind, EventKind.SyncSgForDevice);
    assert.deepEqual(sgDma(d), ['ffff4000', 'ffff5060', 'ffff6800', 'ffffffffffffffff']);
    assert.deepEqual(sgLen(d), [0x1000, 0x3e8, 0x840, 0]);
  });
});

describe('trace-cmd [FAILED TO PARSE] raw fields', () => {
  test('dma_map_sg, dma_unmap_sg and mm_page_free exactly as Debian trace-cmd 3.1.6 prints them', () => {
    const text =
      'scsi_eh_0-40    [000]     2.065026: dma_map_sg:           [FAILED TO PARSE] device=0000:00:1f.2 full_nents=1 full_ents=1 truncated=0 phys_addrs=ARRAY[80, a6, 21, 0b, 00, 00, 00, 00] dma_addrs=ARRAY[80, a6, 21, 0b, 00, 00, 00, 00] lengths=ARRAY[00, 02, 00, 00] dir=2 attrs=0x0\n' +
      'scsi_eh_3-46    [001]     2.075551: dma_unmap_sg:         [FAILED TO PARSE] device=0000:00:1f.2 addrs=ARRAY[80, a6, 21, 0b, 00, 00, 00, 00] dir=2 attrs=0x0\n' +
      '<idle>-0        [000]     0.476551: mm_page_free:         [FAILED TO PARSE] pfn=0x24c6 order=0\n';
    const p = parseBytes(text);
    assert.deepEqual(p.parser.warningList, []);
    const [m, u, f] = p.events as [DmaEvent, DmaEvent, DmaEvent];
    assert.equal(m.kind, EventKind.MapSg);
    assert.equal(p.names.comms.name(m.comm), 'scsi_eh_0');
    assert.equal(m.pid, 40);
    assert.equal(p.names.devices.name(m.device), '0000:00:1f.2');
    assert.equal(m.nents, 1);
    assert.equal(m.ents, 1);
    assert.equal(m.truncated, false);
    assert.deepEqual(sgPhys(m), ['b21a680']);
    assert.deepEqual(sgDma(m), ['b21a680']);
    assert.deepEqual(sgLen(m), [512]);
    assert.equal(m.dir, Dir.FromDevice);
    assert.equal(m.hasDir, true);
    assert.equal(m.attrs, 0);
    assert.equal(u.kind, EventKind.UnmapSg);
    assert.equal(u.cpu, 1);
    assert.deepEqual(sgPhys(u), ['b21a680']);
    assert.equal(u.dir, Dir.FromDevice);
    assert.equal(f.kind, EventKind.PageFree);
    assert.equal(p.names.comms.name(f.comm), '<idle>');
    assert.equal(hex(f.pfnHi, f.pfnLo), '24c6');
    assert.equal(f.order, 0);
  });

  test('mm_page_free_batched has no order field in its raw form: order 0', () => {
    const p = parseBytes(
      'kswapd0-90      [001]     5.100200: mm_page_free_batched: [FAILED TO PARSE] page=0xffffea0000293180 pfn=0x24c6\n',
    );
    assert.deepEqual(p.parser.warningList, []);
    const [f] = p.events as [DmaEvent];
    assert.equal(f.kind, EventKind.PageFree);
    assert.equal(hex(f.pfnHi, f.pfnLo), '24c6');
    assert.equal(f.order, 0);
  });

  test('raw u64 fields print in decimal; multi-item arrays; truncated=1', () => {
    const text =
      'insmod-103 [000] 2.0: dma_map_page: [FAILED TO PARSE] device=0000:00:02.0 phys_addr=193378304 dma_addr=18446744073709551615 size=512 dir=1 attrs=0x20\n' +
      'insmod-103 [000] 2.1: dma_map_sg: [FAILED TO PARSE] device=0000:00:02.0 full_nents=300 full_ents=299 truncated=1 phys_addrs=ARRAY[00, 10, 00, 00, 00, 00, 00, 00, ff, ff, ff, ff, ff, ff, ff, ff] dma_addrs=ARRAY[] lengths=ARRAY[00, 10, 00, 00, 00, 02, 00, 00] dir=0 attrs=0x0\n';
    const p = parseBytes(text);
    assert.deepEqual(p.parser.warningList, []);
    const [a, b] = p.events as [DmaEvent, DmaEvent];
    assert.equal(addr(a), 'ffffffffffffffff');
    assert.equal(phys(a), 'b86b800');
    assert.equal(a.dir, Dir.ToDevice);
    assert.equal(a.attrs, ATTR_SKIP_CPU_SYNC);
    assert.equal(a.tsDigits, 1);
    assert.equal(a.tsNs, 0);
    assert.equal(b.tsNs, 100000000);
    assert.deepEqual(sgPhys(b), ['1000', 'ffffffffffffffff']);
    assert.equal(b.sgDma.count, 0);
    assert.deepEqual(sgLen(b), [4096, 512]);
    assert.equal(b.nents, 300);
    assert.equal(b.ents, 299);
    assert.equal(b.truncated, true);
  });

  test('a raw array whose byte count does not fit the item size is a bad line', () => {
    const p = parseBytes(
      'x-1 [000] 2.0: dma_unmap_sg: [FAILED TO PARSE] device=0000:00:02.0 addrs=ARRAY[80, a6, 21] dir=2 attrs=0x0\n',
    );
    assert.deepEqual(
      p.events.map((e) => e.kind),
      [EventKind.Lost],
    );
    assert.equal(p.parser.warnings, 1);
    assert.match(p.parser.warningList[0]!.message, /addrs=/);
  });
});

describe('kmem', () => {
  test('mm_page_free and mm_page_free_batched', () => {
    const text =
      line('mm_page_free', 'page=000000004dd0210d pfn=0x24c6 order=0') +
      line('mm_page_free', 'page=000000007b9cf147 pfn=0xa724 order=1') +
      line('mm_page_free_batched', 'page=000000007db53047 pfn=0xb3f3 order=0') +
      line('mm_page_free', 'page=0000000000000000 pfn=0xfffffffffffff order=10');
    const p = parseBytes(text);
    assert.equal(p.parser.warnings, 0);
    assert.deepEqual(
      p.events.map((e) => `${e.kind}:${hex(e.pfnHi, e.pfnLo)}/${e.order}:${e.device}`),
      ['19:24c6/0:-1', '19:a724/1:-1', '19:b3f3/0:-1', '19:fffffffffffff/10:-1'],
    );
  });
});

describe('64-bit values', () => {
  test('all-ones, high and IOVA addresses stay exact', () => {
    const text =
      line(
        'dma_map_page',
        '0000:00:02.0 dir=TO_DEVICE dma_addr=ffffffffffffffff size=512 phys_addr=fedcba9876543210 attrs=',
      ) +
      line('dma_map_page', '0000:00:03.0 dir=TO_DEVICE dma_addr=fffa0000 size=4096 phys_addr=100000000 attrs=') +
      line(
        'dma_map_page',
        '0000:00:03.0 dir=TO_DEVICE dma_addr=0000000000000001 size=9007199254740991 phys_addr=0 attrs=',
      );
    const p = parseBytes(text);
    assert.equal(p.parser.warnings, 0);
    const [a, b, c] = p.events as [DmaEvent, DmaEvent, DmaEvent];
    assert.equal(a.addrHi, 0xffffffff);
    assert.equal(a.addrLo, 0xffffffff);
    assert.equal(a.physHi, 0xfedcba98);
    assert.equal(a.physLo, 0x76543210);
    assert.equal(b.addrHi, 0);
    assert.equal(b.addrLo, 0xfffa0000);
    assert.equal(b.physHi, 1);
    assert.equal(b.physLo, 0);
    assert.equal(addr(c), '1');
    assert.equal(c.size, Number.MAX_SAFE_INTEGER);
  });

  test('values that do not fit are bad lines, never crashes', () => {
    const text =
      line('dma_map_page', '0000:00:02.0 dir=TO_DEVICE dma_addr=1ffffffffffffffff size=512 phys_addr=0 attrs=') +
      line('dma_map_page', '0000:00:02.0 dir=TO_DEVICE dma_addr=1000 size=9007199254740993 phys_addr=0 attrs=') +
      line('dma_map_page', '0000:00:02.0 dir=TO_DEVICE dma_addr=1000 size=99999999999999999999 phys_addr=0 attrs=') +
      line(
        'dma_map_sg',
        '0000:00:02.0 dir=TO_DEVICE nents=1/99999999999999999 ents=1/1 dma_addrs={0x1} sizes={0x1} phys_addrs={0x1} attrs=',
      ) +
      line(
        'dma_map_sg',
        '0000:00:02.0 dir=TO_DEVICE dma_addrs={0x1} sizes={0x20000000000000} phys_addrs={0x1} attrs=',
      ) +
      line('dma_sync_sg_for_cpu', '0000:00:02.0 dir=TO_DEVICE dma_addrs={0x10000000000000000} sizes={0x1}') +
      line('dma_map_page', '0000:00:02.0 dir=TO_DEVICE dma_addr=1000 size=512 phys_addr=0 attrs=');
    const p = parseBytes(text);
    const good = p.events.filter((e) => e.kind !== EventKind.Lost);
    assert.equal(good.length, 1);
    assert.equal(good[0]!.line, 7);
    assert.equal(p.events.length, 7, 'each bad line is a lost event');
    assert.deepEqual(
      p.parser.warningList.map((w) => w.line),
      [1, 2, 3, 4, 5, 6],
    );
    assert.match(p.parser.warningList[0]!.message, /^dma_map_page: .*dma_addr=/);
    assert.match(p.parser.warningList[1]!.message, /size=/);
    assert.match(p.parser.warningList[3]!.message, /nents=/);
    assert.match(p.parser.warningList[4]!.message, /sizes=/);
    assert.match(p.parser.warningList[5]!.message, /dma_addrs=/);
  });
});

describe('dir and attrs', () => {
  test('numeric dir, prefixed and raw attrs, unknown attribute names ignored', () => {
    const text =
      line(
        'dma_map_page',
        '0000:00:02.0 dir=2 dma_addr=1 size=1 phys_addr=1 attrs=DMA_ATTR_SKIP_CPU_SYNC|WEAK_ORDERING',
      ) +
      line('dma_map_page', '0000:00:02.0 dir=3 dma_addr=1 size=1 phys_addr=1 attrs=0x420') +
      line('dma_map_page', '0000:00:02.0 dir=0 dma_addr=1 size=1 phys_addr=1 attrs=SKIP_CPU_SYNC|0x1000') +
      line('dma_map_page', '0000:00:02.0 dir=1 dma_addr=1 size=1 phys_addr=1 attrs=FUTURE_THING|NO_WARN') +
      line(
        'dma_map_page',
        '0000:00:02.0 dir=1 dma_addr=1 size=1 phys_addr=1 attrs=WRITE_COMBINE|NO_KERNEL_MAPPING|FORCE_CONTIGUOUS|ALLOC_SINGLE_PAGES|PRIVILEGED|CACHELINES_OVERLAP|REQUIRE_COHERENT',
      );
    const p = parseBytes(text);
    assert.deepEqual(p.parser.warningList, []);
    assert.deepEqual(
      p.events.map((e) => [e.dir, e.attrs]),
      [
        [Dir.FromDevice, (1 << 5) | (1 << 1)],
        [Dir.None, 0x420],
        [Dir.Bidirectional, (1 << 5) | 0x1000],
        [Dir.ToDevice, 1 << 8],
        [Dir.ToDevice, (1 << 2) | (1 << 4) | (1 << 6) | (1 << 7) | (1 << 9) | (1 << 11) | (1 << 12)],
      ],
    );
  });

  test('a bad dir on a streaming mapping is a bad line', () => {
    const p = parseBytes(
      line('dma_map_page', '0000:00:02.0 dir=SIDEWAYS dma_addr=1 size=1 phys_addr=1 attrs=') +
        line('dma_map_page', '0000:00:02.0 dir=7 dma_addr=1 size=1 phys_addr=1 attrs='),
    );
    assert.deepEqual(
      p.events.map((e) => e.kind),
      [EventKind.Lost, EventKind.Lost],
    );
    assert.equal(p.parser.warnings, 2);
    assert.match(p.parser.warningList[0]!.message, /dir=/);
    assert.match(p.parser.warningList[1]!.message, /dir=/);
  });
});

// From fixture real-devices-stack (and one synthetic trace-cmd kernel_stack block).
const STACK_SNIPPET = `              dd-177     [000] .....     9.259190: dma_map_sg: 0000:01:00.0 dir=TO_DEVICE nents=1/1 ents=1/1 dma_addrs={0xb5e0000} sizes={0x10000} phys_addrs={0xb5e0000} attrs=
              dd-177     [000] .....     9.259194: <stack trace>
 => trace_event_buffer_commit+0x1d4/0x1e3
 => do_trace_event_raw_event_dma_map_sg+0x1bf/0x1ce
 => trace_event_raw_event_dma_map_sg+0xc/0xf
 => __traceiter_dma_map_sg+0x46/0x62
 => __dma_map_sg_attrs+0x9c/0x133
 => dma_map_sgtable+0x18/0x24
 => nvme_prep_rq+0x2a8/0x7c8
          insmod-163     [001] .....     5.698295: <stack trace>
 => trace_event_buffer_commit+0x1d4/0x1e3
 => trace_event_raw_event_dma_alloc_class+0x101/0x110
 => trace_dma_alloc.constprop.0+0x5a/0x61
 => dma_alloc_attrs+0x212/0x241
 => dma_pool_alloc+0x27/0x5f
 => 0xffffffffa000a01e
          <idle>-0       [000] d.h..     9.300000: dma_unmap_sg: 0000:01:00.0 dir=TO_DEVICE phys_addrs={0xb5e0000} attrs=
          <idle>-0       [000] d.h..     9.300001: <stack trace>
 => trace_event_buffer_commit+0x1d4/0x1e3
 => do_trace_event_raw_event_dma_map_sg+0x1bf/0x1ce
 => trace_event_raw_event_dma_map_sg+0xc/0xf
 => __traceiter_dma_map_sg+0x46/0x62
 => __dma_map_sg_attrs+0x9c/0x133
 => dma_map_sgtable+0x18/0x24
 => nvme_prep_rq+0x2a8/0x7c8
              dd-177   [000]     9.400000: kernel_stack:         <stack trace >
=> __ftrace_trace_stack (ffffffff811c6a12)
=> trace_buffer_unlock_commit_regs (ffffffff811c7b00)
=> trace_event_buffer_commit (ffffffff811d0a34)
=> dma_map_page_attrs (ffffffff81234567)
=> nvme_map_data (ffffffffa0012345)
              dd-177     [000] .....     9.500000: <user stack trace>
 => <00007f1234567890>
 => <00007f1234560000>
              dd-177     [000] .....     9.600000: <stack trace>
 => trace_event_buffer_commit+0x1d4/0x1e3
 => dma_unmap_page_attrs+0x1/0x2`;

describe('stack traces', () => {
  test('frames of the tracing machinery are dropped; stacks are interned; cpu comes from the header', () => {
    const p = parseBytes(STACK_SNIPPET);
    assert.deepEqual(p.parser.warningList, []);
    const kinds = p.events.map((e) => e.kind);
    assert.deepEqual(kinds, [
      EventKind.MapSg,
      EventKind.Stack,
      EventKind.Stack,
      EventKind.UnmapSg,
      EventKind.Stack,
      EventKind.Stack,
      EventKind.Stack,
    ]);
    const [, s1, s2, , s3, s4, s5] = p.events as DmaEvent[];
    assert.equal(
      p.names.stacks.name(s1!.stack),
      '__dma_map_sg_attrs+0x9c/0x133\ndma_map_sgtable+0x18/0x24\nnvme_prep_rq+0x2a8/0x7c8',
    );
    assert.equal(s1!.cpu, 0);
    assert.equal(s1!.line, 2);
    assert.equal(s1!.tsNs, 259194000);
    assert.equal(p.names.comms.name(s1!.comm), 'dd');
    assert.equal(
      p.names.stacks.name(s2!.stack),
      'dma_alloc_attrs+0x212/0x241\ndma_pool_alloc+0x27/0x5f\n0xffffffffa000a01e',
    );
    assert.equal(s2!.cpu, 1);
    assert.equal(s2!.pid, 163);
    assert.equal(s3!.stack, s1!.stack, 'the same frames intern to the same id');
    assert.equal(
      p.names.stacks.name(s4!.stack),
      'dma_map_page_attrs (ffffffff81234567)\nnvme_map_data (ffffffffa0012345)',
    );
    // the last block is closed by end()
    assert.equal(p.names.stacks.name(s5!.stack), 'dma_unmap_page_attrs+0x1/0x2');
    // user stack header + its two frames are skipped
    assert.equal(p.parser.skipped, 3);
  });

  test("a block after another tracepoint's line of its CPU is that event's: a Stack with no frames (-1)", () => {
    const h = (cpu: number, ts: string) => `  insmod-103   [00${cpu}] .....  ${ts}:`;
    const p = parseBytes(
      `${h(1, '1.000001')} dma_unmap_page: 0000:00:02.0 dir=TO_DEVICE dma_addr=1000 size=512 attrs=\n` +
        `${h(1, '1.000002')} sched_switch: prev_comm=insmod prev_pid=103 ==> next_comm=swapper/1 next_pid=0\n` +
        // CPU 0's block is its own: only CPU 1 had another event
        `${h(0, '1.000003')} <stack trace>\n => cpu0_frame+0x1/0x2\n` +
        `${h(1, '1.000004')} <stack trace>\n => schedule+0x1/0x2\n` +
        `${h(1, '1.000005')} dma_map_page: 0000:00:02.0 dir=TO_DEVICE dma_addr=2000 size=512 phys_addr=2000 attrs=\n` +
        `${h(1, '1.000006')} <stack trace>\n => dma_map_page_attrs+0x1/0x2\n`,
    );
    const stacks = p.events
      .filter((e) => e.kind === EventKind.Stack)
      .map((e) => [e.cpu, e.stack < 0 ? -1 : p.names.stacks.name(e.stack)]);
    assert.deepEqual(stacks, [
      [0, 'cpu0_frame+0x1/0x2'],
      [1, -1],
      [1, 'dma_map_page_attrs+0x1/0x2'],
    ]);
  });

  test('idle(): a live source with nothing to read closes an open block whose last line is whole', () => {
    const names = new Names();
    const events: DmaEvent[] = [];
    const parser = new TextParser({ names, file: 'pipe', sink: (ev) => events.push(ev.clone()) });
    parser.push(Buffer.from('  x-1 [000] ..... 1.0: <stack trace>\n => first+0x1/0x2\n => sec'));
    assert.equal(parser.idle(), false, 'the last line is cut: more frames may follow');
    assert.equal(events.length, 0);
    parser.push(Buffer.from('ond+0x1/0x2\n'));
    assert.equal(events.length, 0);
    assert.equal(parser.idle(), true);
    assert.equal(events.length, 1);
    assert.equal(names.stacks.name(events[0]!.stack), 'first+0x1/0x2\nsecond+0x1/0x2');
    parser.idle();
    parser.end();
    assert.equal(events.length, 1, 'closed once');
  });

  test('an absurd stack block is capped, not grown without bound', () => {
    const frames = ' => some_function_name+0x10/0x20\n'.repeat(10_000);
    const p = parseBytes(`  x-1 [000] ..... 1.0: <stack trace>\n${frames}`);
    assert.equal(p.events.length, 1);
    const s = p.names.stacks.name(p.events[0]!.stack);
    assert.ok(s.length <= MAX_STACK_BYTES && s.length > MAX_STACK_BYTES - 64, String(s.length));
  });

  const stackTrace = fixture('real-devices-stack');
  test('the fixture stacks all start at the DMA API or its caller', {
    skip: !existsSync(stackTrace) && 'no fixture',
  }, () => {
    const path = stackTrace;
    const p = parseBytes(readFileSync(path));
    const firsts = new Set<string>();
    for (const e of p.events) {
      if (e.kind !== EventKind.Stack) continue;
      firsts.add(p.names.stacks.name(e.stack).split('\n')[0]!.replace(/\+.*/, ''));
    }
    for (const f of firsts) assert.doesNotMatch(f, /trace|traceiter/, f);
    assert.ok(firsts.has('__dma_map_sg_attrs'));
    assert.ok(firsts.has('dma_map_page_attrs'));
  });
});

describe('lost events and buffer headers', () => {
  test('CPU:N [LOST M EVENTS] and trace-cmd EVENTS DROPPED', () => {
    const text =
      line('mm_page_free', 'page=0 pfn=0x1 order=0', { ts: '5.000001' }) +
      'CPU:1 [LOST 2432 EVENTS]\n' +
      'CPU:0 [902 EVENTS DROPPED]\n' +
      'CPU:3 [EVENTS DROPPED]\n';
    const p = parseBytes(text);
    assert.equal(p.parser.warnings, 0);
    const lost = p.events.filter((e) => e.kind === EventKind.Lost);
    assert.deepEqual(
      lost.map((e) => [e.cpu, e.lost, e.line, e.tsSec, e.tsNs]),
      [
        [1, 2432, 2, 5, 1000],
        [0, 902, 3, 5, 1000],
        [3, 0, 4, 5, 1000],
      ],
    );
  });

  test('entries-in-buffer header: overwritten ring buffer', () => {
    const none = noInputFacts();
    const a = parseBytes('# tracer: nop\n#\n# entries-in-buffer/entries-written: 2630/56173   #P:2\n#\n');
    assert.deepEqual(a.parser.facts, {
      ...none,
      overwritten: true,
      sawBufferHeader: true,
      overwriteKnown: true,
      overwrittenCount: 56173 - 2630,
      cpus: 2,
    });
    assert.equal(a.parser.skipped, 3);
    const b = parseBytes('# entries-in-buffer/entries-written: 5986/5986   #P:2\n');
    assert.deepEqual(b.parser.facts, {
      ...none,
      overwritten: false,
      sawBufferHeader: true,
      overwriteKnown: true,
      overwrittenCount: 0,
      cpus: 2,
    });
    const c = parseBytes(line('mm_page_free', 'page=0 pfn=0x1 order=0'));
    assert.deepEqual(c.parser.facts, none);
  });
});

describe('markers', () => {
  test('trace_printk (raw and symbolic ip), tracing_mark_write, trace-cmd print/bprint', () => {
    const text =
      '          insmod-103     [000] .....     2.967090: 0xffffffffa000202a: dmabug: BAD-BEGIN unmap-size\n' +
      '          insmod-163     [000] .....     5.701880: sc_unmap_size+0x61/0xd2 [dmabug]: dmabug: BAD-END unmap-size\n' +
      '            init-1       [001] .....     2.934324: tracing_mark_write: ORACLE-WORKLOAD-BEGIN bug-clean-iommu\n' +
      '            init-1       [001] .....     5.640606: tracing_mark_write+0xcd/0x209: ORACLE-STEP disk nvme0n1: O_DIRECT\n' +
      '            init-1   [001]     5.640607: print:                tracing_mark_write: hello: world\n' +
      '          insmod-103   [000]     5.640608: bprint:               dmabug_probe: dmabug: scenario clean start\n' +
      '          insmod-103   [000]     5.640609: bprint:               sc_x+0x1/0x2 [dmabug]: dmabug: x\n';
    const p = parseBytes(text);
    assert.equal(p.parser.warnings, 0);
    assert.ok(p.events.every((e) => e.kind === EventKind.Marker));
    assert.deepEqual(
      p.events.map((e) => e.text),
      [
        'dmabug: BAD-BEGIN unmap-size',
        'dmabug: BAD-END unmap-size',
        'ORACLE-WORKLOAD-BEGIN bug-clean-iommu',
        'ORACLE-STEP disk nvme0n1: O_DIRECT',
        'hello: world',
        'dmabug: scenario clean start',
        'dmabug: x',
      ],
    );
    assert.equal(p.names.comms.name(p.events[0]!.comm), 'insmod');
    assert.equal(p.events[2]!.cpu, 1);
  });
});

describe('skipped and bad lines', () => {
  test('comments, blank lines and unknown events are skipped and counted; non-trace text is listed', () => {
    const text =
      '# tracer: nop\n' +
      '\n' +
      '   \n' +
      'random text from a bug report\n' +
      line('sched_switch', 'prev_comm=a prev_pid=1 ==> next_comm=b next_pid=2') +
      line('dma_future_event', '0000:00:02.0 whatever=1') +
      line('dma_fence_init', 'driver=i915 timeline=signaled context=2 seqno=0') +
      '\n' +
      'more random text from a bug report, long enough to reach where event names begin\n' +
      line('mm_page_free', 'page=0 pfn=0x1 order=0');
    const p = parseBytes(text);
    assert.equal(p.parser.lines, 10);
    assert.equal(p.parser.skipped, 7);
    assert.equal(p.parser.events, 1);
    assert.deepEqual(p.parser.warningList, [
      { line: 4, message: 'not an event line' },
      { line: 9, message: 'not an event line' },
    ]);
    assert.equal(p.parser.damagedLines, 0);
  });

  test('among event lines, a short non-event line or one of blanks may be an event line cut short: a loss on every CPU', () => {
    const text =
      line('mm_page_free', 'page=0 pfn=0x1 order=0') +
      'random text\n' +
      '        \n' +
      line('mm_page_free', 'page=0 pfn=0x1 order=0');
    const p = parseBytes(text);
    assert.deepEqual(
      p.events.map((e) => (e.kind === EventKind.Lost ? `lost cpu${e.cpu} ${e.damaged}` : String(e.kind))),
      [String(EventKind.PageFree), 'lost cpu-1 true', 'lost cpu-1 true', String(EventKind.PageFree)],
    );
    assert.deepEqual(
      p.parser.warningList.map((w) => w.line),
      [2, 3],
    );
    assert.match(p.parser.warningList[0]!.message, /cut short\?.*on every CPU/);
  });

  test('a malformed dma line is a warning with its line number; parsing goes on', () => {
    const text =
      line('dma_map_page', '0000:00:02.0 dir=TO_DEVICE dma_addr=1000 size=512 phys_addr=1000 attrs=') +
      line('dma_map_page', '0000:00:02.0 dir=TO_DEVICE size=512 phys_addr=1000 attrs=') +
      line('dma_map_page', '0000:00:02.0 dir=TO_DEVICE dma_addr=1000 size=12x4 phys_addr=1000 attrs=') +
      line('dma_map_page', '0000:00:02.0 dir=TO_DEVICE dma_addr=zz size=512 phys_addr=1000 attrs=') +
      line('dma_map_sg', '0000:00:02.0 dir=TO_DEVICE dma_addrs={0x1,0x2 sizes={0x1} phys_addrs={0x1} attrs=') +
      line('dma_unmap_sg', '') +
      line('mm_page_free', 'page=0 pfn=0x1 order=x') +
      line('dma_unmap_page', '0000:00:02.0 dir=TO_DEVICE dma_addr=1000 size=512 attrs=');
    const p = parseBytes(text);
    // each bad line is a lost event (count 1, damaged) on its CPU, in its place
    assert.deepEqual(
      p.events.map((e) => `${e.line}:${e.kind === EventKind.Lost ? `lost ${e.lost} cpu${e.cpu} ${e.damaged}` : 'ok'}`),
      [
        '1:ok',
        '2:lost 1 cpu0 true',
        '3:lost 1 cpu0 true',
        '4:lost 1 cpu0 true',
        '5:lost 1 cpu0 true',
        '6:lost 1 cpu0 true',
        '7:lost 1 cpu0 true',
        '8:ok',
      ],
    );
    assert.equal(p.parser.warnings, 6);
    assert.equal(p.parser.damagedLines, 6);
    const w = p.parser.warningList;
    assert.deepEqual(
      w.map((x) => x.line),
      [2, 3, 4, 5, 6, 7],
    );
    assert.equal(w[0]!.message, 'dma_map_page: expected dma_addr= (damaged line: counted as a lost event on CPU 0)');
    assert.match(w[1]!.message, /^dma_map_page: .*size=/);
    assert.match(w[2]!.message, /^dma_map_page: expected a 64-bit hex number after dma_addr=/);
    assert.match(w[3]!.message, /^dma_map_sg: .*dma_addrs=/);
    assert.match(w[4]!.message, /^dma_unmap_sg: expected a device name/);
    assert.match(w[5]!.message, /^mm_page_free: .*order=/);
  });

  test('only the first warnings keep their text', () => {
    const bad = line('dma_map_page', '0000:00:02.0 dir=TO_DEVICE size=512 attrs=');
    const p = parseBytes(bad.repeat(MAX_WARNINGS_KEPT + 500));
    assert.equal(p.parser.warnings, MAX_WARNINGS_KEPT + 500);
    assert.equal(p.parser.warningList.length, MAX_WARNINGS_KEPT);
  });

  test('the last line without a newline is parsed, and flagged when it was cut short', () => {
    const good = line('dma_map_page', '0000:00:02.0 dir=TO_DEVICE dma_addr=1000 size=512 phys_addr=1000 attrs=');
    const a = parseBytes(good.slice(0, -1));
    assert.equal(a.events.length, 1);
    assert.equal(a.parser.warnings, 0);
    assert.equal(a.parser.lines, 1);

    const cut = good.slice(0, good.indexOf('size=51') + 'size=51'.length);
    const b = parseBytes(good + cut);
    assert.deepEqual(
      b.events.map((e) => e.kind),
      [EventKind.MapPage, EventKind.Lost],
    );
    assert.equal(b.parser.warnings, 1);
    assert.equal(b.parser.warningList[0]!.line, 2);
    assert.match(b.parser.warningList[0]!.message, /cut short/);

    const cutAttr = line('dma_unmap_page', '0000:00:02.0 dir=TO_DEVICE dma_addr=1000 size=512 attrs=SKIP_CP').slice(
      0,
      -1,
    );
    const c = parseBytes(cutAttr);
    assert.deepEqual(
      c.events.map((e) => e.kind),
      [EventKind.Lost],
    );
    assert.equal(c.parser.warnings, 1);

    const pf = parseBytes(line('mm_page_free', 'page=0 pfn=0x1 order=0').slice(0, -1));
    assert.equal(pf.events.length, 1);
    assert.equal(pf.parser.warnings, 0);
  });

  test('plain Uint8Array chunks (not Buffers) work the same', () => {
    const text = line('dma_map_page', '0000:00:02.0 dir=TO_DEVICE dma_addr=1000 size=512 phys_addr=1000 attrs=').repeat(
      3,
    );
    const bytes = new TextEncoder().encode(text);
    const names = new Names();
    let n = 0;
    const parser = new TextParser({ names, file: 'u8', sink: () => n++ });
    for (let i = 0; i < bytes.length; i += 5) parser.push(bytes.slice(i, i + 5));
    parser.end();
    assert.equal(n, 3);
    assert.equal(parser.warnings, 0);
  });

  test('end() is idempotent; push() after end() throws', () => {
    const p = parseBytes('');
    p.parser.end();
    assert.throws(() => p.parser.push(Buffer.from('x')));
  });
});

describe('input that is not text', () => {
  test('NUL bytes are an InputError naming file and line', () => {
    const text = Buffer.concat([
      Buffer.from(line('mm_page_free', 'page=0 pfn=0x1 order=0')),
      Buffer.from('  insmod-1 [000] ..... 1.0: mm_page_free: page=0\u0000\u0000 pfn=0x1 order=0\n'),
    ]);
    for (const cs of [0, 1, 7]) {
      assert.throws(
        () => parseBytes(text, cs, 'trace.txt'),
        (e: unknown) => {
          assert.ok(e instanceof InputError);
          assert.equal(e.file, 'trace.txt');
          assert.equal(e.where, 'line 2');
          assert.match(e.message, /^trace\.txt: line 2: binary data/);
          assert.doesNotMatch(e.message, /\n/);
          return true;
        },
      );
    }
  });

  test('NUL bytes late in a chunk: every whole line before them is parsed first', () => {
    const good = Array.from({ length: 50 }, (_, i) =>
      line('mm_page_free', `page=0 pfn=0x${(i + 1).toString(16)} order=0`),
    );
    const text = Buffer.concat([
      Buffer.from(good.join('')),
      Buffer.from('  insmod-1 [000] ..... 1.0: mm_page_free: page=0 pf\u0000n=0x1 order=0\n'),
      Buffer.from(good.join('')),
    ]);
    for (const cs of [0, 1, 7, 4096]) {
      const names = new Names();
      let events = 0;
      const parser = new TextParser({ names, file: 'trace.txt', sink: () => events++ });
      assert.throws(
        () => {
          if (cs === 0) parser.push(text);
          else for (let i = 0; i < text.length; i += cs) parser.push(text.subarray(i, i + cs));
        },
        (e: unknown) => e instanceof InputError && e.where === 'line 51',
        `chunk size ${cs}`,
      );
      assert.equal(events, 50, `chunk size ${cs}: the 50 lines before the damage`);
    }
  });

  test('control bytes at the start (a binary file) are an InputError', () => {
    const dat = Buffer.from([0x17, 0x08, 0x44, 0x74, 0x72, 0x61, 0x63, 0x69, 0x6e, 0x67, 0x36, 0x0a]);
    assert.throws(() => parseBytes(dat, 0, 'trace.dat'), /trace\.dat: line 1: binary data/);
    assert.throws(() => parseBytes(dat, 1, 'trace.dat'), InputError);
  });

  test('a line longer than 1 MiB is an InputError', () => {
    const long = `# ${'x'.repeat(MAX_LINE_BYTES + 10)}\nnext\n`;
    assert.throws(() => parseBytes(long), /test\.txt: line 1: line longer than/);
    assert.throws(() => parseBytes(long, 65536), /test\.txt: line 1: line longer than/);
    const tail = `ok\n${'y'.repeat(MAX_LINE_BYTES + 1)}`;
    assert.throws(() => parseBytes(tail, 4096), /line 2: line longer than/);
  });
});

describe('fixtures', () => {
  const CHUNKED = ['bug-unmap-size', 'bug-unmap-size-stack', 'real-devices-pipe-lost', 'real-devices-stack'];
  for (const scenario of CHUNKED) {
    test(`${scenario}: identical events at chunk sizes 1, 3, 7, 64, 4096 and whole`, { timeout: 300_000 }, (t) => {
      const path = fixture(scenario);
      if (!existsSync(path)) {
        t.skip('fixture missing');
        return;
      }
      const bytes = readFileSync(path);
      const base = serializeAll(bytes, 0);
      assert.equal(base.parser.warnings, 0);
      assert.ok(base.lines.length > 1000);
      for (const cs of [1, 3, 7, 64, 4096, 1 << 20]) {
        const r = serializeAll(bytes, cs);
        assert.equal(r.lines.length, base.lines.length, `event count at chunk size ${cs}`);
        for (let i = 0; i < r.lines.length; i++) {
          if (r.lines[i] !== base.lines[i]) assert.equal(r.lines[i], base.lines[i], `event ${i} at chunk size ${cs}`);
        }
        assert.equal(r.parser.lines, base.parser.lines);
        assert.equal(r.parser.skipped, base.parser.skipped);
        assert.deepEqual(r.parser.facts, base.parser.facts);
      }
    });
  }

  test('event counts per kind equal every README table', () => {
    const scenarios = textScenarios();
    if (scenarios.length === 0) return;
    const kindOf: Record<string, number> = {
      dma_map_page: EventKind.MapPage,
      dma_unmap_page: EventKind.UnmapPage,
      dma_map_resource: EventKind.MapResource,
      dma_unmap_resource: EventKind.UnmapResource,
      dma_map_sg: EventKind.MapSg,
      dma_unmap_sg: EventKind.UnmapSg,
      dma_map_sg_err: EventKind.MapSgErr,
      dma_alloc: EventKind.Alloc,
      dma_free: EventKind.Free,
      dma_alloc_pages: EventKind.AllocPages,
      dma_free_pages: EventKind.FreePages,
      dma_alloc_sgt: EventKind.AllocSgt,
      dma_free_sgt: EventKind.FreeSgt,
      dma_alloc_sgt_err: EventKind.AllocSgtErr,
      dma_sync_single_for_cpu: EventKind.SyncSingleForCpu,
      dma_sync_single_for_device: EventKind.SyncSingleForDevice,
      dma_sync_sg_for_cpu: EventKind.SyncSgForCpu,
      dma_sync_sg_for_device: EventKind.SyncSgForDevice,
      mm_page_free: EventKind.PageFree,
      mm_page_free_batched: EventKind.PageFree,
      'trace_printk(bprint)': EventKind.Marker,
      tracing_mark_write: EventKind.Marker,
      '<stack trace> blocks': EventKind.Stack,
    };
    let checked = 0;
    for (const scenario of scenarios) {
      const table = readmeCounts(readFileSync(fixture(scenario, 'README.txt'), 'utf8'));
      if (table.size === 0) continue;
      const want = new Map<number, number>();
      for (const [name, n] of table) {
        const k = kindOf[name];
        assert.ok(k !== undefined, `${scenario}: unknown README row ${name}`);
        want.set(k, (want.get(k) ?? 0) + n);
      }
      const got = new Map<number, number>();
      const p = parseBytes(readFileSync(fixture(scenario)));
      assert.deepEqual(p.parser.warningList, [], scenario);
      for (const e of p.events) if (e.kind !== EventKind.Lost) got.set(e.kind, (got.get(e.kind) ?? 0) + 1);
      assert.deepEqual(
        [...got].sort((a, b) => a[0] - b[0]),
        [...want].sort((a, b) => a[0] - b[0]),
        scenario,
      );
      checked++;
    }
    assert.ok(checked >= 4, `checked ${checked} fixtures`);
  });

  test('real-devices-pipe-lost: 32 LOST lines, 140988 events lost', (t) => {
    const path = fixture('real-devices-pipe-lost');
    if (!existsSync(path)) {
      t.skip('fixture missing');
      return;
    }
    const p = parseBytes(readFileSync(path));
    const lost = p.events.filter((e) => e.kind === EventKind.Lost);
    assert.equal(lost.length, 32);
    assert.equal(
      lost.reduce((s, e) => s + e.lost, 0),
      140988,
    );
    assert.equal(p.parser.facts.sawBufferHeader, false);
  });

  test('mutated fixture lines never crash, and still parse the same at any chunk size', (t) => {
    const path = fixture('bug-unmap-size-stack');
    if (!existsSync(path)) {
      t.skip('fixture missing');
      return;
    }
    const src = readFileSync(path).subarray(0, 600_000);
    const bytes = Buffer.from(src);
    // xorshift32 with a fixed seed: the same mutations every run
    let x = 0x9e3779b9;
    const rnd = (n: number) => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    const alphabet = Buffer.from(' =:,{}[]()|/+-.0123456789abcdefxXGTFNDL_\r');
    for (let i = 0; i < 20_000; i++) bytes[rnd(bytes.length)] = alphabet[rnd(alphabet.length)]!;
    const whole = serializeAll(bytes, 0);
    assert.ok(whole.parser.warnings > 0, 'mutations make bad lines');
    assert.ok(whole.lines.length > 1000, 'most lines still parse');
    for (const cs of [13, 4096]) {
      const r = serializeAll(bytes, cs);
      assert.deepEqual(r.lines, whole.lines);
      assert.deepEqual(r.parser.warningList, whole.parser.warningList);
    }
  });

  test('serialization covers the event (sanity for the chunk tests)', () => {
    const p = parseBytes(
      line('dma_map_page', '0000:00:02.0 dir=TO_DEVICE dma_addr=fffff800 size=512 phys_addr=b86b800 attrs='),
    );
    assert.equal(
      serialize(p.events[0]!, p.names),
      'k=1 l=1 ts=2.968093000/6 cpu=0 pid=103 comm=insmod dev=0000:00:02.0 dir=1/1 attrs=0 a=fffff800 p=b86b800/1 sz=512 v=0/0 n=0/0 dma={} len={} phys={} err=0 pfn=0/0 lost=0 stack=-1 text=""',
    );
  });
});

describe('payload keys in the order the last line of the event had (the fast way)', () => {
  const DEV = '0000:00:02.0';
  /** Each line alone, in a parser of its own (no order learned), against all of them in one parser. */
  function sameAsAlone(payloads: string[]): ReturnType<typeof parseBytes> {
    const lines = payloads.map((p, i) =>
      line('dma_map_page', `${DEV} ${p}`, { ts: `3.${String(i).padStart(6, '0')}` }),
    );
    const together = parseBytes(lines.join(''));
    const alone = lines.map((l) => parseBytes(l));
    assert.deepEqual(
      together.events.map((ev) => serialize(ev, together.names).replace(/ l=\d+ ts=\S+/, '')),
      alone.flatMap((a) => a.events.map((ev) => serialize(ev, a.names).replace(/ l=\d+ ts=\S+/, ''))),
    );
    assert.deepEqual(
      together.parser.warningList.map((w) => w.message),
      alone.flatMap((a) => a.parser.warningList.map((w) => w.message)),
    );
    return together;
  }
  const GOOD = 'dir=TO_DEVICE dma_addr=fffff800 size=512 phys_addr=b86b800 attrs=';

  test('other orders, longer keys that start with a learned one, and unknown keys read as they do alone', () => {
    const p = sameAsAlone([
      GOOD,
      'dma_addr=fffff800 dir=TO_DEVICE size=512 phys_addr=b86b800 attrs=',
      GOOD,
      'dir=TO_DEVICE dma_addrs=fffff800 dma_addr=fffff800 size=512 phys_addr=b86b800 attrs=',
      GOOD,
      'dir=TO_DEVICE new_key=1 dma_addr=fffff800 size=512 phys_addr=b86b800 attrs=',
      GOOD,
      'dir=TO_DEVICE dma_addr fffff800 size=512 phys_addr=b86b800 attrs=',
      GOOD,
    ]);
    assert.equal(p.events.filter((ev) => ev.kind === EventKind.MapPage).length, 7);
  });

  test('a key twice, or mangled, after the order was learned is still damage', () => {
    const p = sameAsAlone([
      GOOD,
      'dir=TO_DEVICE dma_addr=fffff800 dma_addr=fffff800 size=512 phys_addr=b86b800 attrs=',
      GOOD,
      'dir=TO_DEVICE dma_adds=fffff800 size=512 phys_addr=b86b800 attrs=',
      GOOD,
      'dir=TO_DEVICE dma_addr=fffff800 size=512 phys_addr=b86b800',
    ]);
    assert.deepEqual(
      p.parser.warningList.map((w) => w.line),
      [2, 4, 6],
    );
    assert.match(p.parser.warningList[0]!.message, /dma_addr= twice/);
  });
});
