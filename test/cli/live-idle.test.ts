// `dmadebug live` with an idle CPU: a finding waits for the next record of
// its CPU (its call's stack, if the trace has one), and when the source has
// nothing more to read (the idle tick) it goes out at once, with the stack
// that came, however long the CPU stays quiet. Text trace_pipe and binary
// trace_pipe_raw, writers kept open so that only the idle tick can send it.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { collect, runDmadebug } from '../helpers/child.js';
import { fakeTracefs, fixtureEvents } from '../helpers/fake-tracefs.js';
import { kernelFixtures } from '../helpers/fixtures.js';
import { encodeCpuPages, formatText, ftraceEvents, type WRecord } from '../helpers/tracedat-writer.js';

const BIN = join(process.cwd(), 'bin', 'dmadebug.js');
const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** Resolves once the child's stdout holds `want` (the run goes on); on a timeout the child is killed. */
function waitOut(child: ChildProcess, want: (out: string) => boolean, ms = 15_000): Promise<string> {
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out; stdout so far:\n${out}`));
    }, ms);
    child.stdout?.on('data', (d) => {
      out += d;
      if (want(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    });
  });
}

describe('live: a finding of an idle CPU goes out at the idle tick', () => {
  const STACK = join(kernelFixtures('7.3'), 'bug-unmap-size-stack', 'trace.txt');

  it('trace_pipe: the bad unmap and its stack block are the last lines; the writer stays open', {
    skip: !existsSync(STACK) && 'no fixture',
  }, async () => {
    // the trace up to the end of the stack block after the bad unmap
    const [finding] = runDmadebug(['check', '-q', '--json', STACK])
      .out.trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; source: { line: number }; stack: string[] });
    assert.ok(finding && finding.type === 'finding');
    const lines = readFileSync(STACK, 'utf8').split('\n');
    let end = finding.source.line; // 1-based line of the unmap = index of the line after it
    assert.match(lines[end]!, /<stack trace>$/);
    end++;
    while (lines[end]!.startsWith(' =>')) end++;
    const head = `${lines.slice(0, end).join('\n')}\n`;

    const dir = fakeTracefs({ cpus: 2, raw: false });
    made.push(dir);
    const child = spawn(process.execPath, [BIN, 'live', dir], { env: { ...process.env, NO_COLOR: '1' } });
    const done = collect(child);
    const w = await open(join(dir, 'trace_pipe'), 'w');
    await w.write(head);
    const out = await waitOut(child, (o) => o.includes('Mapped at'));
    child.kill('SIGINT');
    const r = await done;
    await w.close();
    assert.equal(r.code, 1, r.err);
    const text = out.split('\n');
    assert.match(text[0]!, /^DMA-API: pci 0000:00:02\.0: device driver frees DMA memory with different size/);
    assert.match(text[1]!, /^ {2}at 2\.479844 cpu 1 insmod-159 /);
    // the call's stack came with it: the block was read whole, and the idle tick closed it
    assert.equal(text[2], `   => ${finding.stack[0]}`);
    assert.equal(text[3], '   => dma_unmap_page_attrs+0x10/0x13');
  });

  it('trace_pipe_raw: the unmap (and its kernel stack) is the last record of its CPU; the writers stay open', async () => {
    const stackDef = ftraceEvents().find((e) => e.name === 'kernel_stack')!;
    const events = [...fixtureEvents(), stackDef];
    const dir = fakeTracefs({ cpus: 2, cmdlines: '100 kworker/0:1\n101 insmod\n' });
    made.push(dir);
    mkdirSync(join(dir, 'events', 'ftrace', 'kernel_stack'), { recursive: true });
    writeFileSync(join(dir, 'events', 'ftrace', 'kernel_stack', 'format'), formatText(stackDef, 8));
    const DEV = '0000:00:03.0';
    const t0 = 5_000_000_000n;
    // addresses below any kernel symbol: frames print as raw addresses
    const frames = [0x10n, 0x20n, 0x30n];
    const records: WRecord[] = [
      {
        cpu: 0,
        ts: t0,
        pid: 100,
        event: 'dma_map_page',
        values: { device: DEV, phys_addr: 0x7000000, dma_addr: 0x7000000, size: 1024, dir: 2, attrs: 0 },
      },
      { cpu: 0, ts: t0 + 100n, pid: 100, event: 'kernel_stack', values: { size: 3, caller: frames } },
      {
        cpu: 1,
        ts: t0 + 1000n,
        pid: 101,
        event: 'dma_unmap_page',
        values: { device: DEV, addr: 0x7000000, size: 512, dir: 2, attrs: 0 },
      },
      { cpu: 1, ts: t0 + 1100n, pid: 101, event: 'kernel_stack', values: { size: 2, caller: [0x40n, 0x50n] } },
    ];
    const child = spawn(process.execPath, [BIN, 'live', '--json', dir], { env: { ...process.env, NO_COLOR: '1' } });
    const done = collect(child);
    const ws = await Promise.all([0, 1].map((cpu) => open(join(dir, 'per_cpu', `cpu${cpu}`, 'trace_pipe_raw'), 'w')));
    await Promise.all(ws.map((w, cpu) => w.write(encodeCpuPages(records, events, cpu).bytes)));
    const out = await waitOut(child, (o) => o.includes('unmap-size-mismatch'));
    child.kill('SIGINT');
    const r = await done;
    for (const w of ws) await w.close();
    assert.equal(r.code, 1, r.err);
    const f = JSON.parse(out.trim().split('\n')[0]!) as {
      check: string;
      cpu: number;
      stack: string[] | null;
      mapping: { stack: string[] | null };
    };
    assert.equal(f.check, 'unmap-size-mismatch');
    assert.equal(f.cpu, 1);
    assert.equal(f.stack?.length, 2, JSON.stringify(f.stack));
    assert.equal(f.mapping.stack?.length, 3, JSON.stringify(f.mapping.stack));
  });
});
