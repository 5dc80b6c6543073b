// Kernel profiles: each feature of profiles.ts with hand-written calls and
// lines, on the 6.12 and 7.3 profiles and on x86_64 against arm64, and how a
// profile is chosen from the input's evidence.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Names } from '../../src/base/interner.js';
import { DmaDebugEngine, type EngineConfig } from '../../src/engine/engine.js';
import { Dir, noInputFacts } from '../../src/engine/events.js';
import type { Finding } from '../../src/engine/findings.js';
import { archForMachine, kernelForRelease, resolveProfile } from '../../src/engine/profiles.js';
import {
  ATTR_CACHELINES_OVERLAP,
  ATTR_MMIO,
  ATTR_NO_KERNEL_MAPPING,
  ATTR_NO_WARN,
  ATTR_REQUIRE_COHERENT,
  ATTR_SKIP_CPU_SYNC,
} from '../../src/events/vocabulary.js';
import { TextParser } from '../../src/input/text-parser.js';

const DEV = '0000:00:02.0';

function setup(cfg: Partial<EngineConfig>) {
  const findings: Finding[] = [];
  const engine = new DmaDebugEngine(new Names(), (f) => findings.push(f), { fromBoot: true, ...cfg });
  return { engine, findings };
}

const msgs = (fs: Finding[]) =>
  fs.filter((f) => f.check !== 'overlap-exact').map((f) => `${f.severity}:${f.check}:${f.message}`);

/** Two FROM_DEVICE mappings on one cacheline, with the given attrs. */
function overlap(cfg: Partial<EngineConfig>, first: number, second: number): Finding[] {
  const { engine, findings } = setup(cfg);
  engine.mapPage(DEV, 0xb000000n, 64, Dir.FromDevice, 0xb000000n, first);
  engine.mapPage(DEV, 0xb000020n, 32, Dir.FromDevice, 0xb000020n, second);
  return findings;
}

const EEXIST = "error:cacheline-overlap:cacheline tracking EEXIST, overlapping mappings aren't supported";
const EEXIST_ARM = "unconfirmed:cacheline-overlap:cacheline tracking EEXIST, overlapping mappings aren't supported";

describe('kernel profiles: entry types and attrs', () => {
  it('6.12: map_page entries are single, resource maps resource; the dump has no attrs', () => {
    const { engine } = setup({ kernel: '6.12' });
    engine.mapPage(DEV, 0xb000000n, 4096, Dir.ToDevice, 0xb000000n, ATTR_NO_WARN);
    engine.mapResource(DEV, 0xfe000000n, 4096, Dir.ToDevice, 0xfe000000n);
    const d = [...engine.dump()];
    assert.deepEqual(
      d.map((x) => [x.type, x.attrs]),
      [
        ['single', null],
        ['resource', null],
      ],
    );
  });

  it('7.3: map_page and resource maps are both phy and keep their attrs', () => {
    const { engine } = setup({ kernel: '7.3' });
    engine.mapPage(DEV, 0xb000000n, 4096, Dir.ToDevice, 0xb000000n, ATTR_NO_WARN);
    engine.mapResource(DEV, 0xfe000000n, 4096, Dir.ToDevice, 0xfe000000n, ATTR_MMIO);
    const d = [...engine.dump()];
    assert.deepEqual(
      d.map((x) => [x.type, x.attrs]),
      [
        ['phy', ATTR_NO_WARN],
        ['phy', ATTR_MMIO],
      ],
    );
  });

  it('6.12: map_page unmapped as resource is the wrong function; 7.3: it is different attributes', () => {
    const old = setup({ kernel: '6.12' });
    old.engine.mapPage(DEV, 0xb5d3800n, 2048, Dir.Bidirectional, 0xb5d3800n);
    old.engine.unmapResource(DEV, 0xb5d3800n, 2048, Dir.Bidirectional);
    assert.deepEqual(msgs(old.findings), [
      'error:unmap-wrong-function:device driver frees DMA memory with wrong function [device address=0x000000000b5d3800] [size=2048 bytes] [mapped as single] [unmapped as resource]',
    ]);
    const cur = setup({ kernel: '7.3' });
    cur.engine.mapPage(DEV, 0xb5d3800n, 2048, Dir.Bidirectional, 0xb5d3800n);
    cur.engine.unmapResource(DEV, 0xb5d3800n, 2048, Dir.Bidirectional, ATTR_MMIO);
    assert.deepEqual(msgs(cur.findings), [
      'error:unmap-attrs-mismatch:device driver frees DMA memory with different attributes [device address=0x000000000b5d3800] [size=2048 bytes] [mapped with 0x0] [unmapped with 0x400]',
    ]);
  });

  it('7.3: only the attrs of DMA_ATTR_UNMAP_VALID must match (SKIP_CPU_SYNC and NO_WARN may differ)', () => {
    const { engine, findings } = setup({ kernel: '7.3' });
    engine.mapPage(DEV, 0xb000000n, 1024, Dir.ToDevice, 0xb000000n, ATTR_SKIP_CPU_SYNC);
    engine.unmapPage(DEV, 0xb000000n, 1024, Dir.ToDevice, ATTR_NO_WARN);
    assert.deepEqual(findings, []);
    engine.mapPage(DEV, 0xb000000n, 1024, Dir.ToDevice, 0xb000000n, ATTR_NO_KERNEL_MAPPING);
    engine.unmapPage(DEV, 0xb000000n, 1024, Dir.ToDevice, 0);
    assert.deepEqual(msgs(findings), [
      'error:unmap-attrs-mismatch:device driver frees DMA memory with different attributes [device address=0x000000000b000000] [size=1024 bytes] [mapped with 0x10] [unmapped with 0x0]',
    ]);
  });

  it('6.12 has no attrs check', () => {
    const { engine, findings } = setup({ kernel: '6.12' });
    engine.mapPage(DEV, 0xb000000n, 1024, Dir.ToDevice, 0xb000000n, ATTR_NO_KERNEL_MAPPING);
    engine.unmapPage(DEV, 0xb000000n, 1024, Dir.ToDevice, 0);
    assert.deepEqual(findings, []);
  });

  it('7.3: coherent frees compare attrs too, and map error names the type phy', () => {
    const { engine, findings } = setup({ kernel: '7.3', tracksMappingErrors: true });
    engine.allocCoherent(DEV, 0xc000000n, 4096, 0xffff88800c000000n, null, ATTR_NO_KERNEL_MAPPING);
    engine.freeCoherent(DEV, 0xc000000n, 4096, 0xffff88800c000000n, 0);
    engine.mapPage(DEV, 0xb4e9c00n, 1024, Dir.ToDevice, 0xb4e9c00n);
    engine.unmapPage(DEV, 0xb4e9c00n, 1024, Dir.ToDevice);
    assert.deepEqual(msgs(findings), [
      'error:unmap-attrs-mismatch:device driver frees DMA memory with different attributes [device address=0x000000000c000000] [size=4096 bytes] [mapped with 0x10] [unmapped with 0x0]',
      'error:map-error-not-checked:device driver failed to check map error[device address=0x000000000b4e9c00] [size=1024 bytes] [mapped as phy]',
    ]);
  });
});

describe("kernel profiles: the 7.3 kernel's own false positives", () => {
  it('twin mappings that differ only in attrs, each unmapped with its own: both lines flagged, info', () => {
    const { engine, findings } = setup({ kernel: '7.3' });
    engine.mapPage(DEV, 0xbc34000n, 1024, Dir.ToDevice, 0xbc34000n, 0);
    engine.mapPage(DEV, 0xbc34000n, 1024, Dir.ToDevice, 0xbc34000n, ATTR_NO_KERNEL_MAPPING);
    engine.unmapPage(DEV, 0xbc34000n, 1024, Dir.ToDevice, ATTR_NO_KERNEL_MAPPING);
    engine.unmapPage(DEV, 0xbc34000n, 1024, Dir.ToDevice, 0);
    assert.deepEqual(
      findings.map((f) => [f.severity, f.check, f.kernelFalsePositive !== null]),
      [
        ['info', 'unmap-attrs-mismatch', true],
        ['info', 'unmap-attrs-mismatch', true],
      ],
    );
    assert.match(findings[0]!.message, /\[mapped with 0x0\] \[unmapped with 0x10\]$/);
    assert.match(findings[1]!.message, /\[mapped with 0x10\] \[unmapped with 0x0\]$/);
    assert.equal(engine.errorCount, 0);
    assert.equal(engine.live, 0);
  });

  it('a twin unmapped with attrs neither has is a real error', () => {
    const { engine, findings } = setup({ kernel: '7.3' });
    engine.mapPage(DEV, 0xbc34000n, 1024, Dir.ToDevice, 0xbc34000n, 0);
    engine.mapPage(DEV, 0xbc34000n, 1024, Dir.ToDevice, 0xbc34000n, ATTR_NO_KERNEL_MAPPING);
    engine.unmapPage(DEV, 0xbc34000n, 1024, Dir.ToDevice, ATTR_REQUIRE_COHERENT);
    assert.deepEqual(
      findings.map((f) => [f.severity, f.kernelFalsePositive]),
      [['error', null]],
    );
  });

  it('dma_free_noncontiguous unmaps with attrs 0; dma_alloc_noncontiguous allows only ALLOC_SINGLE_PAGES, which may differ', () => {
    const { engine, findings } = setup({ kernel: '7.3' });
    const p = new TextParser({ names: engine.names, sink: (ev) => engine.handle(ev), file: 't' });
    engine.attachInputFacts(p.facts);
    p.push(
      new TextEncoder().encode(
        [
          `  a-1 [000] ..... 1.000000: dma_alloc_sgt: ${DEV} dir=FROM_DEVICE dma_addr=d000000 size=8192 phys_addrs={0xd000000,0xd001000} flags=GFP_KERNEL attrs=ALLOC_SINGLE_PAGES`,
          `  a-1 [000] ..... 1.000100: dma_free_sgt: ${DEV} dir=FROM_DEVICE dma_addr=d000000 size=8192 phys_addrs={0xd000000,0xd001000}`,
          '',
        ].join('\n'),
      ),
    );
    p.end();
    assert.deepEqual(findings, []);
    assert.equal(engine.live, 0);
  });

  it('arm64: EEXIST against a released first mapping whose entry was reused is flagged when every live mapping is cache-clean', () => {
    const { engine, findings } = setup({ kernel: '7.3', arch: 'arm64' });
    engine.mapPage(DEV, 0xb000000n, 32, Dir.FromDevice, 0xb000000n, ATTR_CACHELINES_OVERLAP); // A: first on the line
    engine.mapPage(DEV, 0xb000020n, 32, Dir.FromDevice, 0xb000020n, ATTR_CACHELINES_OVERLAP); // B: clean overlap, exempt
    engine.unmapPage(DEV, 0xb000000n, 32, Dir.FromDevice, ATTR_CACHELINES_OVERLAP); // A goes; the tree keeps its entry
    engine.mapPage(DEV, 0xe000000n, 4096, Dir.ToDevice, 0xe000000n, 0); // D elsewhere reuses A's entry
    engine.mapPage(DEV, 0xb000010n, 16, Dir.FromDevice, 0xb000010n, ATTR_CACHELINES_OVERLAP); // C: clean, like B
    const eexist = findings.filter((f) => f.check === 'cacheline-overlap');
    assert.deepEqual(
      eexist.map((f) => [f.severity, f.message]),
      [['info', "cacheline tracking EEXIST, overlapping mappings aren't supported"]],
    );
    assert.match(eexist[0]!.kernelFalsePositive ?? '', /released entry/);
    assert.equal(engine.errorCount, 0);
    // the same without the reuse: the entry still holds A's clean attrs, and the kernel says nothing
    const quiet = setup({ kernel: '7.3', arch: 'arm64' });
    quiet.engine.mapPage(DEV, 0xb000000n, 32, Dir.FromDevice, 0xb000000n, ATTR_CACHELINES_OVERLAP);
    quiet.engine.mapPage(DEV, 0xb000020n, 32, Dir.FromDevice, 0xb000020n, ATTR_CACHELINES_OVERLAP);
    quiet.engine.unmapPage(DEV, 0xb000000n, 32, Dir.FromDevice, ATTR_CACHELINES_OVERLAP);
    quiet.engine.mapPage(DEV, 0xb000010n, 16, Dir.FromDevice, 0xb000010n, ATTR_CACHELINES_OVERLAP);
    assert.deepEqual(
      quiet.findings.filter((f) => f.check === 'cacheline-overlap'),
      [],
    );
  });
});

describe('kernel profiles: cacheline tracking', () => {
  it('6.12 reports EEXIST on x86_64; 7.3 never does on x86_64 (cache alignment 1 < L1_CACHE_BYTES)', () => {
    assert.deepEqual(msgs(overlap({ kernel: '6.12', arch: 'x86_64' }, 0, 0)), [EEXIST]);
    assert.deepEqual(msgs(overlap({ kernel: '7.3', arch: 'x86_64' }, 0, 0)), []);
  });

  it('7.3 on arm64 reports EEXIST (ARCH_DMA_MINALIGN covers the L1 line), unconfirmed: swiotlb may be active', () => {
    const f = overlap({ kernel: '7.3', arch: 'arm64' }, 0, 0).filter((x) => x.check === 'cacheline-overlap');
    assert.deepEqual(
      f.map((x) => [x.severity, x.message]),
      [['unconfirmed', "cacheline tracking EEXIST, overlapping mappings aren't supported"]],
    );
    assert.match(f[0]!.note ?? '', /swiotlb/);
    assert.equal(overlap({ kernel: '6.12', arch: 'arm64' }, 0, 0)[0]!.severity, 'unconfirmed');
  });

  it('7.3: both sides cache-clean (CACHELINES_OVERLAP or REQUIRE_COHERENT) is no EEXIST; one side is not enough', () => {
    const arm = { kernel: '7.3', arch: 'arm64' } as const;
    assert.deepEqual(msgs(overlap(arm, ATTR_CACHELINES_OVERLAP, ATTR_CACHELINES_OVERLAP)), []);
    assert.deepEqual(msgs(overlap(arm, ATTR_REQUIRE_COHERENT, ATTR_CACHELINES_OVERLAP)), []);
    assert.deepEqual(msgs(overlap(arm, 0, ATTR_CACHELINES_OVERLAP)), [EEXIST_ARM]);
    assert.deepEqual(msgs(overlap(arm, ATTR_CACHELINES_OVERLAP, 0)), [EEXIST_ARM]);
    assert.deepEqual(msgs(overlap(arm, 0, ATTR_SKIP_CPU_SYNC)), []);
    // 6.12 has no cache-clean attrs
    assert.deepEqual(msgs(overlap({ kernel: '6.12' }, ATTR_CACHELINES_OVERLAP, ATTR_CACHELINES_OVERLAP)), [EEXIST]);
  });

  it('the overlap limit still warns on 7.3 x86_64, but not for a cache-clean mapping', () => {
    for (const [attrs, want] of [
      [0, 1],
      [ATTR_CACHELINES_OVERLAP, 0],
    ] as const) {
      const { engine, findings } = setup({ kernel: '7.3', arch: 'x86_64' });
      for (let i = 0; i < 9; i++)
        engine.mapPage(DEV, 0xb000000n + BigInt(i) * 4n, 4, Dir.FromDevice, 0xb000000n + BigInt(i) * 4n, attrs);
      const limit = findings.filter((f) => f.check === 'cacheline-overlap-limit');
      assert.equal(limit.length, want, `attrs ${attrs}`);
      if (want) assert.equal(limit[0]!.message, 'exceeded 7 overlapping mappings of cacheline 0x00000000002c0000');
    }
  });
});

describe('kernel profiles: MMIO maps of RAM (7.3, side information)', () => {
  const systemRam = [{ start: 0x100000n, end: 0x7ffdf000n }];
  it('an MMIO map of a RAM page is reported with the phys address; MMIO outside RAM is not', () => {
    const { engine, findings } = setup({ kernel: '7.3', systemRam });
    engine.mapResource(DEV, 0x9f11000n, 4096, Dir.Bidirectional, 0x9f11000n, ATTR_MMIO);
    engine.mapResource(DEV, 0xfe000000n, 4096, Dir.Bidirectional, 0xfe000000n, ATTR_MMIO);
    assert.deepEqual(msgs(findings), [
      'error:map-resource-ram:dma_map_resource called for RAM address 0x0000000009f11000',
    ]);
  });
  it('6.12 has no such check, and without System RAM ranges 7.3 cannot make it', () => {
    const old = setup({ kernel: '6.12', systemRam });
    old.engine.mapResource(DEV, 0x9f11000n, 4096, Dir.Bidirectional, 0x9f11000n);
    assert.deepEqual(old.findings, []);
    const bare = setup({ kernel: '7.3' });
    bare.engine.mapResource(DEV, 0x9f11000n, 4096, Dir.Bidirectional, 0x9f11000n, ATTR_MMIO);
    assert.deepEqual(bare.findings, []);
  });
});

describe('choosing the profile', () => {
  it('maps releases and machines to profiles', () => {
    assert.equal(kernelForRelease('6.12.117-amd64'), '6.12');
    assert.equal(kernelForRelease('6.17.9'), '6.12');
    assert.equal(kernelForRelease('6.18.1'), '7.3');
    assert.equal(kernelForRelease('7.3.4-amd64'), '7.3');
    assert.equal(kernelForRelease('junk'), null);
    assert.equal(archForMachine('aarch64'), 'arm64');
    assert.equal(archForMachine('x86_64'), 'x86_64');
    assert.equal(archForMachine('riscv64'), null);
  });

  it('evidence order: --kernel, then uname, then the map events; else an assumption that says so', () => {
    const none = {
      kernel: null,
      arch: null,
      kernelRelease: null,
      machine: null,
      kernelSource: null,
      mapEvents: null,
      mapEventsSource: null,
    } as const;
    const bare = resolveProfile(none);
    assert.equal(bare.kernel, '7.3');
    assert.equal(bare.kernelAssumed, true);
    assert.match(bare.kernelEvidence, /assumed/);
    const uname = resolveProfile({
      ...none,
      kernelRelease: '6.12.117-amd64',
      kernelSource: 'trace.dat uname option',
      mapEvents: 'phys',
    });
    assert.equal(uname.kernel, '6.12');
    assert.match(uname.kernelEvidence, /trace.dat uname option: kernel 6.12.117-amd64/);
    const events = resolveProfile({ ...none, mapEvents: 'page', mapEventsSource: 'line 12: dma_map_page' });
    assert.equal(events.kernel, '6.12');
    assert.equal(events.kernelAssumed, false);
    assert.equal(resolveProfile({ ...none, kernel: '7.3', kernelRelease: '6.12.1' }).kernel, '7.3');
  });

  it('a text trace decides at its first map event, even after allocs', () => {
    const { engine } = setup({});
    const facts = noInputFacts();
    engine.attachInputFacts(facts);
    engine.allocCoherent(DEV, 0xc000000n, 4096, 0xffff88800c000000n);
    facts.mapEvents = 'page';
    facts.mapEventsSource = 'line 3: dma_map_page';
    engine.mapPage(DEV, 0xb000000n, 4096, Dir.ToDevice, 0xb000000n);
    const c = engine.profile();
    assert.equal(c.kernel, '6.12');
    assert.equal(c.kernelAssumed, false);
    assert.deepEqual([...engine.dump()].map((d) => d.type).sort(), ['coherent', 'single']);
  });

  it('map events that disagree with a recorder uname are reported as a conflict', () => {
    const { engine } = setup({ sideKernel: { release: '6.12.117-amd64', machine: 'x86_64', source: 'run.side.json' } });
    const facts = noInputFacts();
    engine.attachInputFacts(facts);
    facts.mapEvents = 'phys';
    facts.mapEventsSource = 'line 9: dma_map_phys';
    engine.mapPage(DEV, 0xb000000n, 4096, Dir.ToDevice, 0xb000000n);
    const c = engine.profile();
    assert.equal(c.kernel, '6.12');
    assert.match(
      c.conflict ?? '',
      /line 9: dma_map_phys shows dma_map_phys events \(a 7\.3 kernel\), but the profile came from run\.side\.json: kernel 6\.12\.117-amd64/,
    );
  });

  it('the recorder sidecar is evidence; the input overrides it', () => {
    const side = { release: '7.3.4-amd64', machine: 'aarch64', source: 'trace.dat.side.json' };
    const a = setup({ sideKernel: side });
    assert.deepEqual([a.engine.profile().kernel, a.engine.profile().arch], ['7.3', 'arm64']);
  });
});
