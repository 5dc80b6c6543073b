// Conformance with the real kernel: every fixture in ../shared/fixtures is one
// boot of a kernel with dma-debug on, a 6.12 LTS (kernel-6.12/) or a 7.3
// mainline one (kernel-7.3/). What that kernel printed (dmesg.txt) and held
// (dma-api-dump.txt, dma-api-values.txt) is the oracle. Checks the trace cannot
// see (checks.md "no") are left out; "side" checks are compared with the side
// information given here, as a recorder would supply it. Each fixture is read
// from trace.txt and from trace.dat, and the kernel profile is what the input
// shows (nothing here sets --kernel).
//
// A kernel false positive (the kernel's line on correct code, checks.md
// "Kernel versions") must be printed, as the kernel did, but flagged and never
// an error: so the kernel's warnings are matched by our errors plus our
// flagged findings.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type Finding, NOT_IN_KERNEL } from '../../src/engine/findings.js';
import { replay } from '../../src/pipeline.js';
import { EDU, KERNEL_FALSE_POSITIVES, LATE, sideFor, UNBOUND_AT_END } from '../helpers/fixture-side.js';
import { FIXTURE_KERNELS, fixtureDirs, kernelFixtures } from '../helpers/fixtures.js';

/** Kernel message prefixes of checks a trace cannot show (checks.md: "no"). */
const NOT_FROM_TRACE = [
  'device driver failed to check map error',
  'device driver maps memory from stack',
  'device driver maps memory from invalid area',
  'device driver maps memory from vmalloc area',
  // map-kernel-text never fires on x86_64 (checks.md); ours is map-kernel-image.
  'device driver maps memory from kernel text or rodata',
];

interface KernelWarning {
  device: string | null;
  message: string;
}

/** The `DMA-API: <driver> <device>: <message>` warnings in a dmesg, plus bare ones. */
export function kernelWarnings(dmesg: string): { warnings: KernelWarning[]; info: string[] } {
  const lines = dmesg.split('\n').map((l) => l.replace(/^\[\s*[\d.]+\]\s?/, ''));
  const warnings: KernelWarning[] = [];
  const info: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (!l.startsWith('DMA-API: ')) continue;
    const rest = l.slice('DMA-API: '.length);
    if (
      /^(preallocated \d+ debug entries|debugging enabled by kernel config|Mapped at:|debugging disabled on kernel command line)/.test(
        rest,
      )
    )
      continue;
    if (rest.startsWith('dma_debug_entry pool grown')) {
      info.push(rest);
      continue;
    }
    if (rest.startsWith('exceeded 7 overlapping') || rest.startsWith('debugging out of memory')) {
      warnings.push({ device: null, message: rest });
      continue;
    }
    const m = /^(\S+) (\S+): (.*)$/.exec(rest);
    if (!m) continue;
    let message = m[3]!;
    if (lines[i + 1]?.startsWith('One of leaked entries details:')) message += `\n${lines[++i]}`;
    if (NOT_FROM_TRACE.some((p) => message.startsWith(p))) continue;
    warnings.push({ device: m[2]!, message });
  }
  return { warnings, info };
}

/** Our message may say 0x<unknown> where the trace cannot carry an address (traces.md). */
function sameMessage(ours: string, kernel: string): boolean {
  if (ours === kernel) return true;
  if (!ours.includes('<unknown>')) return false;
  const re = new RegExp(`^${ours.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/<unknown>/g, '[0-9a-f]+')}$`);
  return re.test(kernel);
}

function multisetDiff(ours: KernelWarning[], kernel: KernelWarning[]): string[] {
  const left = [...kernel];
  const extra: string[] = [];
  for (const o of ours) {
    const i = left.findIndex((k) => k.device === o.device && sameMessage(o.message, k.message));
    if (i >= 0) left.splice(i, 1);
    else extra.push(`ours only: ${o.device} ${o.message}`);
  }
  return [...extra, ...left.map((k) => `kernel only: ${k.device} ${k.message}`)];
}

function values(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of readFileSync(join(dir, 'dma-api-values.txt'), 'utf8').split('\n')) {
    const i = l.indexOf('=');
    if (i > 0) out[l.slice(0, i)] = l.slice(i + 1).trim();
  }
  return out;
}

interface KernelDumpLine {
  type: string;
  bucket: number;
  phys: string;
  dma: string;
  size: string;
  cln: string;
  dir: string;
  /** ` attrs=0x..` at the end (7.x), or null. */
  attrs: string | null;
}

function kernelDump(dir: string): KernelDumpLine[] {
  const out: KernelDumpLine[] = [];
  for (const l of readFileSync(join(dir, 'dma-api-dump.txt'), 'utf8').split('\n')) {
    const m = /^\S+ \S+ (\S+) idx (\d+) P=(\S+) D=(\S+) L=(\S+) cln=(\S+) (DMA_\w+) /.exec(l);
    if (!m) continue;
    const attrs = / attrs=(0x[0-9a-f]+)\s*$/.exec(l)?.[1] ?? null;
    out.push({
      type: m[1]!,
      bucket: Number(m[2]),
      phys: m[3]!,
      dma: m[4]!,
      size: m[5]!,
      cln: m[6]!,
      dir: m[7]!,
      attrs,
    });
  }
  return out;
}

/** The page the bug-free-while-mapped driver freed while it was mapped (its README.txt). */
function freedWhileMappedPfn(dir: string): string {
  const m = /FREED WHILE MAPPED: pfn=(0x[0-9a-f]+)/.exec(readFileSync(join(dir, 'README.txt'), 'utf8'));
  assert.ok(m, 'README.txt names the pfn');
  return m[1]!;
}

for (const kernel of FIXTURE_KERNELS) {
  const root = kernelFixtures(kernel);
  const scenarios = fixtureDirs(root).filter((d) => existsSync(join(root, d, 'trace.txt')));

  describe(`conformance with Linux ${kernel} on every fixture`, () => {
    it('finds the fixtures', () => {
      assert.ok(scenarios.length >= 30, `only ${scenarios.length} fixtures under ${root}`);
    });

    for (const name of scenarios) {
      const dir = join(root, name);
      for (const file of ['trace.txt', 'trace.dat']) {
        if (!existsSync(join(dir, file))) continue;
        it(`${kernel} ${name} (${file})`, async () => {
          const findings: Finding[] = [];
          const r = await replay(join(dir, file), {
            engine: sideFor(kernel, dir, name),
            onFinding: (f) => findings.push(f),
          });
          assert.equal(r.error, null, r.error?.message);
          if (UNBOUND_AT_END[kernel].has(name)) r.engine.unbind(EDU);
          const p = r.engine.profile();
          // Said with every comparison below: a wrong profile explains any of them.
          const profile = `profile ${p.kernel}/${p.arch} (${p.kernelEvidence}; ${p.archEvidence})`;
          const cov = r.engine.coverage();
          const isLate = LATE[kernel].has(name);
          assert.equal(cov.fromBoot, !isLate, `coverage decided: ${cov.decidedBy}`);

          const dmesg = kernelWarnings(readFileSync(join(dir, 'dmesg.txt'), 'utf8'));
          const ours = findings
            .filter((f) => (f.severity === 'error' || f.kernelFalsePositive !== null) && !NOT_IN_KERNEL.has(f.check))
            .map((f) => ({ device: f.bare ? null : f.device, message: f.message }));
          assert.deepEqual(
            multisetDiff(ours, dmesg.warnings),
            [],
            `findings differ from the kernel's in ${name}, ${profile}`,
          );
          // Kernel false positives: flagged, info, and exactly the known ones.
          const flagged = findings.filter((f) => f.kernelFalsePositive !== null);
          for (const f of flagged) assert.equal(f.severity, 'info', `a kernel false positive is info: ${f.message}`);
          assert.equal(
            flagged.length,
            KERNEL_FALSE_POSITIVES[kernel][name] ?? 0,
            `kernel false positives in ${name}, ${profile}`,
          );
          // The pool-growth info lines match too.
          assert.deepEqual(
            findings.filter((f) => f.check === 'pool-grown').map((f) => f.message),
            dmesg.info,
          );
          // Ours beyond the kernel: the one page freed while mapped, and none freed after its unmap.
          const freedWhileMapped = findings.filter((f) => f.check === 'page-freed-while-mapped');
          if (name === 'bug-free-while-mapped') {
            assert.equal(freedWhileMapped.length, 1, 'one page-freed-while-mapped');
            assert.equal(freedWhileMapped[0]!.severity, 'error');
            assert.ok(
              freedWhileMapped[0]!.message.includes(`[pfn=${freedWhileMappedPfn(dir)}] `),
              freedWhileMapped[0]!.message,
            );
          } else if (name === 'bug-free-after-unmap') {
            assert.equal(freedWhileMapped.length, 0, 'no page-freed-while-mapped after the unmap');
          }
          if (isLate) {
            // A late, lossy trace proves nothing about unknown addresses.
            assert.equal(findings.filter((f) => f.severity === 'error').length, 0);
            return;
          }
          // The entry pool counters equal debugfs's.
          const v = values(dir);
          const pool = r.engine.poolState();
          assert.equal(String(pool.nrTotalEntries), v.nr_total_entries, 'nr_total_entries');
          assert.equal(String(pool.numFreeEntries), v.num_free_entries, 'num_free_entries');
          assert.equal(String(pool.minFreeEntries), v.min_free_entries, 'min_free_entries');

          // The dump, entry for entry and in order.
          const kd = kernelDump(dir);
          const od = [...r.engine.dump()];
          assert.equal(od.length, kd.length, `live entries, ${profile}`);
          for (let i = 0; i < kd.length; i++) {
            const k = kd[i]!;
            // DumpEntry.attrs: the entry's attrs where the profile keeps them (7.x), else null.
            const o = od[i]!;
            const at = `${name} dump line ${i + 1}, ${profile}`;
            assert.equal(o.type, k.type, at);
            assert.equal(o.bucket, k.bucket, at);
            assert.equal(o.dma, k.dma, at);
            assert.equal(o.size.toString(16), k.size, at);
            assert.equal(o.direction, k.dir, at);
            if (kernel === '6.12') {
              assert.equal(k.attrs, null, `${at}: 6.12 prints no attrs`);
              assert.equal(o.attrs, null, `${at}: 6.12 keeps no attrs`);
            } else {
              assert.notEqual(k.attrs, null, `${at}: 7.3 prints attrs`);
              assert.equal(o.attrs === null ? null : `0x${o.attrs.toString(16)}`, k.attrs, `${at}: attrs`);
            }
            if (o.phys !== null) {
              assert.equal(o.phys, k.phys, at);
              assert.equal(o.cln, k.cln, at);
            } else {
              // Only coherent memory may have an unknown physical address (traces.md).
              assert.ok(o.type === 'coherent' || o.type === 'noncoherent', at);
              // trace.dat carries the raw virt_addr: only IOMMU-remapped buffers stay unknown.
              if (file === 'trace.dat') assert.ok(k.dma.startsWith('fff'), `${at}: P unknown from trace.dat`);
            }
          }
        });
      }
    }
  });
}
