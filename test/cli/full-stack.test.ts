// `check` prints a finding's two stacks (the offending call's under "at", the
// mapping's under "Mapped at"), each cut at 10 lines, and every frame with
// --full-stack; --json carries both in full (`stack`, `mapping.stack`), and
// `stack` is null when the trace has no stacks. Text and JSON agree.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runDmadebug } from '../helpers/child.js';
import { FIXTURE_KERNELS, kernelFixtures } from '../helpers/fixtures.js';

interface JsonFinding {
  type: string;
  ts: string;
  cpu: number;
  pid: number;
  comm: string;
  message: string;
  source: Source;
  stack: string[] | null;
  mapping: { stack: string[] | null; mapped_at: { ts: string; cpu: number; source: Source } } | null;
}

/** A JSON place: a text line, or a trace.dat record's CPU and offset (in the file, or in the CPU's data). */
interface Source {
  line?: number;
  cpu?: number;
  offset?: number;
  offset_in?: 'file' | 'cpu_data';
}

/** How text output names a JSON place. */
function place(trace: string, s: Source): string {
  if (s.line !== undefined) return `${trace}:${s.line}`;
  return `${trace} cpu ${s.cpu} ${s.offset_in === 'cpu_data' ? 'data offset' : 'offset'} 0x${s.offset!.toString(16)}`;
}

function findings(args: string[]): JsonFinding[] {
  const r = runDmadebug(['check', '-q', '--json', ...args]);
  return r.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as JsonFinding)
    .filter((o) => o.type === 'finding');
}

/** The text `check` should print for f, from its JSON: stacks cut at 10 lines unless full. */
function expectedText(f: JsonFinding, trace: string, full: boolean): string {
  const cut = (frames: string[]) => {
    const shown = !full && frames.length > 10 ? 9 : frames.length;
    const out = frames.slice(0, shown).map((x) => `   => ${x}`);
    if (shown < frames.length) out.push(`   => ... (${frames.length - shown} more frames)`);
    return out;
  };
  const m = f.mapping!;
  return [
    `DMA-API: pci 0000:00:02.0: ${f.message}`,
    `  at ${f.ts} cpu ${f.cpu} ${f.comm}-${f.pid} (${place(trace, f.source)})`,
    ...cut(f.stack!),
    `  Mapped at ${m.mapped_at.ts} cpu ${m.mapped_at.cpu} ${f.comm}-${f.pid} (${place(trace, m.mapped_at.source)})`,
    ...cut(m.stack!),
    '',
  ].join('\n');
}

for (const kernel of FIXTURE_KERNELS) {
  const dir = join(kernelFixtures(kernel), 'bug-unmap-size-stack');
  describe(`check: the finding's stacks (${kernel})`, { skip: !existsSync(dir) && 'fixtures not found' }, () => {
    for (const file of ['trace.txt', 'trace.dat']) {
      const trace = join(dir, file);
      it(`${file}: both stacks, cut at 10 lines; --full-stack prints every frame; --json has both whole`, () => {
        const [f] = findings([trace]);
        assert.ok(f);
        assert.ok(f.stack && f.stack.length > 20, 'the call stack, whole');
        assert.match(f.stack[0]!, /^dma_unmap_/);
        assert.ok(f.mapping?.stack && f.mapping.stack.length > 20, 'the mapping stack, whole');
        assert.match(f.mapping.stack[0]!, /^dma_map_/);

        const short = runDmadebug(['check', '-q', trace]);
        assert.equal(short.code, 1, short.err);
        assert.equal(short.out, expectedText(f, trace, false));
        const lines = short.out.split('\n');
        assert.match(lines[11]!, /^ {3}=> \.\.\. \(\d+ more frames\)$/);

        const full = runDmadebug(['check', '-q', '--full-stack', trace]);
        assert.equal(full.code, 1, full.err);
        assert.equal(full.out, expectedText(f, trace, true));
        assert.ok(!full.out.includes('more frames'));
      });
    }
  });
}

describe('check --json: the stack key', () => {
  const plain = join(kernelFixtures('7.3'), 'bug-unmap-size');
  it('is null (and present) when the trace has no stacks', { skip: !existsSync(plain) && 'no fixture' }, () => {
    const [f] = findings([join(plain, 'trace.txt')]);
    assert.ok(f);
    assert.ok('stack' in f);
    assert.equal(f.stack, null);
    assert.equal(f.mapping?.stack, null);
  });

  it('--full-stack is in check --help', () => {
    const r = runDmadebug(['check', '--help']);
    assert.match(r.out, /--full-stack {11}Print every frame of a finding's stacks/);
  });
});
