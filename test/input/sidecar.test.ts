// Side information from /proc/iomem and the sidecar file: the RAM that 7.x's
// `dma_map_resource called for RAM address` check sees as RAM (System RAM minus
// what PageReserved marks), the traced kernel's uname, and sidecars written
// before those were kept.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { machine, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { iomemConfig, sideConfig } from '../../src/cli/options.js';
import { InputError } from '../../src/input/errors.js';
import {
  collectSideInfo,
  kernelImageFromIomem,
  parseIomem,
  readSidecar,
  systemRamFromIomem,
} from '../../src/input/sidecar.js';
import { runDmadebug } from '../helpers/child.js';
import { kernelFixtures } from '../helpers/fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'dmadebug-side-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const RESOURCE_RAM = join(kernelFixtures('7.3'), 'bug-map-resource-ram', 'proc-iomem.txt');

describe('/proc/iomem', () => {
  it('parses nesting, ranges and names; unprivileged zero lines are left out', () => {
    const e = parseIomem(
      '00000000-00000000 : System RAM\n00100000-7ffdefff : System RAM\n  01000000-015388f7 : Kernel code\n',
    );
    assert.deepEqual(e, [
      { depth: 0, start: 0x100000n, end: 0x7ffdf000n, name: 'System RAM' },
      { depth: 1, start: 0x1000000n, end: 0x15388f8n, name: 'Kernel code' },
    ]);
  });

  it('System RAM minus the kernel image, in whole pages (kernel-7.3 bug-map-resource-ram)', () => {
    const ram = systemRamFromIomem(readFileSync(RESOURCE_RAM, 'utf8'));
    assert.deepEqual(ram, [
      // 00001000-0009fbff: the last page is only partly RAM, so it is not RAM to the page allocator
      { start: '0x1000', end: '0x9f000' },
      // 00100000-7ffdefff minus Kernel code, rodata, data and bss (each grown to whole pages);
      // the gaps between them (the text/rodata gap, init sections) are freed at boot: RAM
      { start: '0x100000', end: '0x1000000' },
      { start: '0x1539000', end: '0x1600000' },
      { start: '0x1848000', end: '0x1a00000' },
      { start: '0x21df000', end: '0x22da000' },
      { start: '0x2563000', end: '0x7ffdf000' },
    ]);
    // The page the fixture's driver mapped with dma_map_resource (README.txt: phys=0x9f11000) is RAM.
    const phys = 0x9f11000n;
    assert.ok(ram.some((r) => BigInt(r.start) <= phys && phys < BigInt(r.end)));
    // Its MMIO BAR (0000:00:02.0 at fea00000) and the kernel's text are not.
    for (const p of [0xfea00000n, 0x1000000n, 0x22da000n]) {
      assert.ok(!ram.some((r) => BigInt(r.start) <= p && p < BigInt(r.end)), p.toString(16));
    }
  });

  it('nested Reserved and Crash kernel ranges are cut out; top-level Reserved is no RAM anyway', () => {
    const text = [
      '00000000-00000fff : Reserved',
      '00001000-3fffffff : System RAM',
      '  02000000-02ffffff : Kernel code',
      '  10000000-100007ff : Reserved',
      '  20000000-2fffffff : Crash kernel',
      '  30000000-30000fff : ACPI Tables',
      '40000000-4fffffff : Reserved',
      '  40000000-4fffffff : System RAM',
    ].join('\n');
    assert.deepEqual(systemRamFromIomem(text), [
      { start: '0x1000', end: '0x2000000' },
      { start: '0x3000000', end: '0x10000000' },
      { start: '0x10001000', end: '0x20000000' },
      { start: '0x30000000', end: '0x40000000' },
    ]);
  });

  it('read without root (all addresses 0): nothing', () => {
    const text = '00000000-00000000 : System RAM\n  00000000-00000000 : Kernel code\n';
    assert.deepEqual(systemRamFromIomem(text), []);
    assert.deepEqual(kernelImageFromIomem(text), []);
    assert.deepEqual(iomemConfig(text), {});
  });

  it('iomemConfig gives the engine bigint ranges: kernel image and RAM', () => {
    const cfg = iomemConfig(readFileSync(RESOURCE_RAM, 'utf8'));
    assert.deepEqual(cfg.kernelImage, [
      { name: 'Kernel code', start: 0x1000000n, end: 0x15388f8n },
      { name: 'Kernel rodata', start: 0x1600000n, end: 0x1848000n },
    ]);
    assert.equal(cfg.systemRam?.length, 6);
    assert.deepEqual(cfg.systemRam?.[5], { start: 0x2563000n, end: 0x7ffdf000n });
  });
});

describe('sidecar', () => {
  const write = (name: string, data: unknown) => {
    const p = join(tmp, name);
    writeFileSync(p, JSON.stringify(data));
    return p;
  };

  it('a version-1 sidecar from before kernel and systemRam were kept still reads', () => {
    const p = write('old.side.json', {
      version: 1,
      drivers: { '0000:00:02.0': 'dmabug' },
      buses: { '0000:00:02.0': 'pci' },
      kernelImage: [],
      dmaMaskBits: {},
      unbinds: [],
    });
    const s = readSidecar(p)!;
    assert.equal(s.kernel, null);
    assert.deepEqual(s.systemRam, []);
    const cfg = sideConfig(s);
    assert.equal(cfg.sideKernel, undefined);
    assert.equal(cfg.systemRam, undefined);
    assert.equal(cfg.drivers?.get('0000:00:02.0'), 'dmabug');
  });

  it("the recorder's uname and RAM go to the engine, the sidecar named as the source", () => {
    const p = write('new.side.json', {
      version: 1,
      drivers: {},
      buses: {},
      kernelImage: [],
      systemRam: [{ start: '0x100000', end: '0x7ffdf000' }],
      kernel: { release: '7.3.4-amd64', machine: 'x86_64' },
      dmaMaskBits: {},
      unbinds: [],
    });
    const cfg = sideConfig(readSidecar(p)!);
    assert.deepEqual(cfg.sideKernel, { release: '7.3.4-amd64', machine: 'x86_64', source: p });
    assert.deepEqual(cfg.systemRam, [{ start: 0x100000n, end: 0x7ffdf000n }]);
  });

  it('a malformed kernel or systemRam is an input error naming the file', () => {
    const base = { version: 1, drivers: {}, buses: {}, kernelImage: [], dmaMaskBits: {}, unbinds: [] };
    for (const [name, extra] of [
      ['k.side.json', { kernel: { release: 7 } }],
      ['r.side.json', { systemRam: [{ start: 'x', end: '0x10' }] }],
      ['r2.side.json', { systemRam: {} }],
    ] as const) {
      const p = write(name, { ...base, ...extra });
      assert.throws(
        () => readSidecar(p),
        (e: unknown) => e instanceof InputError && e.message.includes(p),
      );
    }
  });

  // Found by the fuzzer (npm run fuzz -- --target json-sidecar): each of these reached sideConfig or
  // applyUnbinds unchecked and ended `check` with a TypeError/SyntaxError ("internal error").
  const FUZZ_SHAPES: Array<[string, Record<string, unknown>, string]> = [
    ['unbinds not a list', { unbinds: 5 }, 'unbinds'],
    ['an unbind that is null', { unbinds: [null] }, 'unbinds'],
    ['an unbind without marker', { unbinds: [{ device: 'd', driver: 'x', bus: 'pci', atSeconds: 1 }] }, 'unbinds'],
    ['kernelImage not a list', { kernelImage: {} }, 'kernelImage'],
    ['a kernel range with 1e3', { kernelImage: [{ name: 'Kernel code', start: '1e3', end: '0x10' }] }, 'kernelImage'],
    [
      'a kernel range with 0x-',
      { kernelImage: [{ name: 'Kernel code', start: '0x-15388f8', end: '0x1' }] },
      'kernelImage',
    ],
    ['a kernel range without end', { kernelImage: [{ name: 'Kernel code', start: '0x1' }] }, 'kernelImage'],
    ['a kernel range without name', { kernelImage: [{ start: '0x1', end: '0x2' }] }, 'kernelImage'],
    ['drivers null', { drivers: null }, 'side-information file'],
    ['drivers a list', { drivers: ['ahci'] }, 'side-information file'],
    ['a driver that is a number', { drivers: { '0000:00:02.0': 7 } }, 'drivers'],
    ['buses a string', { buses: 'pci' }, 'buses'],
    ['dmaMaskBits of strings', { dmaMaskBits: { '0000:00:02.0': '64' } }, 'dmaMaskBits'],
  ];

  it('every field check uses is checked: a wrong shape is an input error naming the file and the key', () => {
    const base = { version: 1, drivers: {}, buses: {}, kernelImage: [], dmaMaskBits: {}, unbinds: [] };
    FUZZ_SHAPES.forEach(([what, extra, key], i) => {
      const p = write(`fuzz${i}.side.json`, { ...base, ...extra });
      assert.throws(
        () => readSidecar(p),
        (e: unknown) => e instanceof InputError && e.message.includes(p) && e.message.includes(key),
        what,
      );
    });
  });

  it('check on a trace whose sidecar has a wrong shape: one line naming the sidecar, exit 2', () => {
    const trace = join(tmp, 'fuzz.txt');
    writeFileSync(
      trace,
      '          insmod-107     [001] .....     2.789369: dma_map_page: 0000:00:02.0 dir=TO_DEVICE dma_addr=bba7c00 size=512 phys_addr=bba7c00 attrs=\n',
    );
    const base = { version: 1, drivers: {}, buses: {}, kernelImage: [], dmaMaskBits: {}, unbinds: [] };
    for (const [what, extra] of FUZZ_SHAPES) {
      writeFileSync(`${trace}.side.json`, JSON.stringify({ ...base, ...extra }));
      const r = runDmadebug(['check', trace]);
      assert.equal(r.code, 2, what);
      assert.match(
        r.err,
        /^dmadebug: \S+fuzz\.txt\.side\.json: (its "\w+" is not|not a dmadebug side-information file)[^\n]*\n$/,
        what,
      );
    }
  });

  it('collectSideInfo records the running kernel and the RAM', () => {
    const iomem = join(tmp, 'iomem');
    writeFileSync(iomem, '00100000-7ffdefff : System RAM\n  01000000-017fffff : Kernel code\n');
    const s = collectSideInfo(join(tmp, 'no-sysfs'), iomem);
    assert.deepEqual(s.kernel, { release: release(), machine: machine() });
    assert.deepEqual(s.systemRam, [
      { start: '0x100000', end: '0x1000000' },
      { start: '0x1800000', end: '0x7ffdf000' },
    ]);
    assert.deepEqual(
      s.kernelImage.map((k) => k.name),
      ['Kernel code'],
    );
  });
});
