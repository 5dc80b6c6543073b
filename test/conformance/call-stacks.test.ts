// The offending call's stack on real traces with kernel stacks, text and
// trace.dat of both kernels:
// - bug-unmap-size-stack: the finding's call stack is the kernel's own: frame
//   for frame the reliable frames of the WARNING's "Call Trace:" in dmesg
//   (the DMA API function itself aside: the tracepoint and dma-debug call
//   from different offsets in it; and the module's init function, whose
//   section was freed before the trace was read, so the trace has its
//   address). The mapping's stack agrees with dmesg's "DMA-API: Mapped at:".
// - real-devices-stack (a clean run): segment-length findings made on purpose
//   with --max-seg-size carry the stack of their dma_map_sg call, except the
//   boot-time ones (stacks were turned on for the workload only), and text
//   and trace.dat give the same stacks.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Finding } from '../../src/engine/findings.js';
import { replay } from '../../src/pipeline.js';
import { FIXTURE_KERNELS, kernelFixtures } from '../helpers/fixtures.js';

async function findingsOf(path: string, engine = {}): Promise<Finding[]> {
  const out: Finding[] = [];
  const r = await replay(path, { engine, onFinding: (f) => out.push(f) });
  assert.equal(r.error, null);
  return out;
}

/** dmesg frames after `marker` (a line containing it), '?' frames (unreliable) left out, up to a non-frame line. */
function dmesgFrames(dir: string, marker: string): string[] {
  const lines = readFileSync(join(dir, 'dmesg.txt'), 'utf8')
    .split('\n')
    .map((l) => l.replace(/^\[\s*[\d.]+\]\s?/, ''));
  const at = lines.findIndex((l) => l.includes(marker));
  assert.ok(at >= 0, marker);
  const frames: string[] = [];
  for (const l of lines.slice(at + 1)) {
    const x = l.trim();
    if (x === '<TASK>') continue;
    if (!/^(\? )?([\w.]+\+0x[0-9a-f]+\/0x[0-9a-f]+( \[\w+\])?|0x[0-9a-f]+)$/.test(x)) break;
    if (!x.startsWith('? ')) frames.push(x);
  }
  return frames;
}

for (const kernel of FIXTURE_KERNELS) {
  const root = kernelFixtures(kernel);
  const bug = join(root, 'bug-unmap-size-stack');
  const real = join(root, 'real-devices-stack');

  describe(`call stacks on ${kernel} fixtures`, { skip: !existsSync(bug) && 'fixtures not found' }, () => {
    it('bug-unmap-size-stack: the unmap’s stack is the kernel’s own call trace, in text and trace.dat', async () => {
      const [txt, dat] = [await findingsOf(join(bug, 'trace.txt')), await findingsOf(join(bug, 'trace.dat'))];
      assert.equal(txt.length, 1);
      assert.equal(dat.length, 1);
      const f = txt[0]!;
      assert.equal(f.check, 'unmap-size-mismatch');
      assert.deepEqual(dat[0]!.stack, f.stack, 'trace.dat has the same frames');
      assert.deepEqual(dat[0]!.mapping?.stack, f.mapping?.stack);
      const stack = f.stack!;
      assert.match(stack[0]!, /^dma_unmap_(page_attrs|phys)\+/);
      // dmesg: debug_dma_unmap_*, the DMA API function (another offset), then the callers
      const kernelTrace = dmesgFrames(bug, 'Call Trace:');
      assert.match(kernelTrace[0]!, /^debug_dma_unmap_/);
      assert.deepEqual(
        stack.slice(1).filter((x) => !x.startsWith('0x')),
        kernelTrace.slice(2).filter((x) => !x.startsWith('dmabug_init+')),
      );
      assert.ok(stack.includes('sc_unmap_size+0x98/0xd2 [dmabug]'));
      // the mapping's stack: dmesg's "Mapped at" keeps 5 frames, from debug_dma_map_*
      const mappedAt = dmesgFrames(bug, 'DMA-API: Mapped at:');
      assert.equal(mappedAt.length, 5);
      assert.deepEqual(f.mapping!.stack!.slice(1, 4), mappedAt.slice(2, 5));
    });

    it('real-devices-stack: every finding of the workload has its dma_map_sg call’s stack, the same in text and trace.dat', {
      skip: !existsSync(real) && 'no fixture',
      timeout: 300_000,
    }, async () => {
      // side information that makes every AHCI sg segment too long: real findings on real stacks
      const engine = {
        segmentLimits: new Map([['0000:00:1f.2', { maxSegmentSize: 512, segmentBoundary: 0xffffffffn }]]),
      };
      const txt = await findingsOf(join(real, 'trace.txt'), engine);
      const dat = await findingsOf(join(real, 'trace.dat'), engine);
      assert.ok(txt.length > 2000, String(txt.length));
      assert.equal(dat.length, txt.length);
      // stacks were turned on at the workload's start: the findings of boot have none, the rest all have one
      const firstStack = txt.findIndex((f) => f.stack !== null);
      assert.ok(firstStack >= 0);
      const workload = txt.slice(firstStack);
      assert.ok(txt.slice(0, firstStack).every((f) => f.stack === null));
      for (const f of workload) {
        assert.equal(f.check, 'sg-segment-too-long');
        assert.ok(f.stack !== null, `${f.at.ts}: no stack`);
        assert.match(f.stack[0]!, /^__dma_map_sg_attrs\+/, f.at.ts);
        assert.ok(
          f.stack.some((x) => x.startsWith('ata_qc_issue+')),
          `${f.at.ts}: ${f.stack.join(' ')}`,
        );
      }
      for (let i = 0; i < txt.length; i++) {
        assert.deepEqual(dat[i]!.stack, txt[i]!.stack, `finding ${i} at ${txt[i]!.at.ts}`);
      }
    });
  });
}
