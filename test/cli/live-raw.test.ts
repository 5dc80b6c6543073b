// `dmadebug live` on the binary path: a fake tracefs whose per_cpu/cpuN/
// trace_pipe_raw are FIFOs fed with ring-buffer pages. Checks the findings
// equal `dmadebug check` on the same records, SIGINT restores tracefs, and the
// fallback to the text trace_pipe (no trace_pipe_raw, or --text).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { collect } from '../helpers/child.js';
import { enableValues, fakeTracefs, fixtureEvents, scenario } from '../helpers/fake-tracefs.js';
import { fixture } from '../helpers/fixtures.js';
import { encodeCpuPages, writeTraceDat } from '../helpers/tracedat-writer.js';

const BIN = join(process.cwd(), 'bin', 'dmadebug.js');
const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function allOff(v: Record<string, string>): boolean {
  return Object.values(v).every((x) => x === '0');
}

/** JSON findings without the input name (it differs between check and live). */
function findingLines(out: string): unknown[] {
  return out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l.replace(/"file":"[^"]*"/g, '"file":""')))
    .filter((o) => o.type !== 'summary');
}

interface Source {
  cpu: number;
  offset: number;
  offset_in: string;
}

/**
 * Findings with each record's place made the file's: live counts a record's
 * offset in its CPU's trace_pipe_raw stream, check on a plain trace.dat in the
 * file, where that CPU's data starts at dataAt[cpu].
 */
function inFile(findings: unknown[], dataAt: number[]): unknown[] {
  const fix = (s: Source | null) => {
    if (!s) return;
    assert.equal(s.offset_in, 'cpu_data');
    s.offset += dataAt[s.cpu]!;
    s.offset_in = 'file';
  };
  for (const f of findings as Array<{
    source: Source | null;
    mapping: { mapped_at: { source: Source | null } } | null;
  }>) {
    fix(f.source);
    if (f.mapping) fix(f.mapping.mapped_at.source);
  }
  return findings;
}

describe('dmadebug live on trace_pipe_raw', () => {
  const events = fixtureEvents();

  it('streams the per-CPU pages; findings equal check on the same records; restores tracefs', async () => {
    const records = scenario(300, 2);
    const dir = fakeTracefs({ cpus: 2, cmdlines: '100 kworker/0:1\n101 insmod\n' });
    made.push(dir);
    const child = spawn(process.execPath, [BIN, 'live', '--json', dir], { env: { ...process.env, NO_COLOR: '1' } });
    const done = collect(child);
    await Promise.all(
      [0, 1].map(async (cpu) => {
        const w = await open(join(dir, 'per_cpu', `cpu${cpu}`, 'trace_pipe_raw'), 'w');
        await w.write(encodeCpuPages(records, events, cpu).bytes);
        await w.close();
      }),
    );
    const r = await done;
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /trace_pipe_raw \(binary/);
    assert.match(r.err, /the stream ended/);
    assert.ok(allOff(enableValues(dir)), JSON.stringify(enableValues(dir)));

    const dat = join(dir, 'same.dat');
    const written = writeTraceDat(records, {
      version: 6,
      cpus: 2,
      // as trace-cmd record writes them: nothing overwritten (live emptied the buffer first)
      stats: ['entries: 0\noverrun: 0\n', 'entries: 0\noverrun: 0\n'],
      cmdlines: new Map([
        [100, 'kworker/0:1'],
        [101, 'insmod'],
      ]),
    });
    writeFileSync(dat, written.bytes);
    const c = spawn(process.execPath, [BIN, 'check', '--json', dat], { env: { ...process.env, NO_COLOR: '1' } });
    const cr = await collect(c);
    assert.equal(cr.code, 1, cr.err);
    const mine = findingLines(r.out);
    assert.ok(mine.length >= 1);
    // the same records: live's offsets in each CPU's stream are check's in the file, less where that CPU's data starts
    assert.deepEqual(inFile(mine, written.dataAt), findingLines(cr.out));
    const summary = JSON.parse(r.out.trim().split('\n').pop()!);
    assert.equal(summary.type, 'summary');
    assert.equal(summary.events, records.length);
  });

  it('on SIGINT it drains what was read, restores tracefs and exits with the findings code', async () => {
    const records = scenario(50, 2);
    const dir = fakeTracefs({ cpus: 2 });
    made.push(dir);
    const child = spawn(process.execPath, [BIN, 'live', '--json', dir], { env: { ...process.env, NO_COLOR: '1' } });
    const done = collect(child);
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
    });
    // writers stay open: the streams never end on their own
    const ws = await Promise.all([0, 1].map((cpu) => open(join(dir, 'per_cpu', `cpu${cpu}`, 'trace_pipe_raw'), 'w')));
    assert.ok(Object.values(enableValues(dir)).every((x) => x === '1'));
    await Promise.all(ws.map((w, cpu) => w.write(encodeCpuPages(records, events, cpu).bytes)));
    const t0 = Date.now();
    while (!out.includes('unmap-size-mismatch')) {
      if (Date.now() - t0 > 10000) throw new Error('no finding');
      await new Promise((res) => setTimeout(res, 20));
    }
    child.kill('SIGINT');
    const r = await done;
    for (const w of ws) await w.close();
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /stopped by SIGINT/);
    assert.ok(allOff(enableValues(dir)));
    const summary = JSON.parse(r.out.trim().split('\n').pop()!);
    assert.equal(summary.events, records.length);
  });

  for (const why of ['no trace_pipe_raw', '--text'] as const) {
    it(`falls back to the text trace_pipe (${why})`, async () => {
      const dir = fakeTracefs({ cpus: 2, raw: why === '--text' });
      made.push(dir);
      const args = why === '--text' ? ['live', '--json', '--text', dir] : ['live', '--json', dir];
      const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1' } });
      const done = collect(child);
      const w = await open(join(dir, 'trace_pipe'), 'w');
      await w.write(readFileSync(fixture('bug-unmap-size')));
      await w.close();
      const r = await done;
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, why === '--text' ? /text, as asked/ : /text, no binary: no per_cpu\/cpuN\/trace_pipe_raw/);
      assert.equal((findingLines(r.out)[0] as { check: string }).check, 'unmap-size-mismatch');
      assert.ok(allOff(enableValues(dir)));
    });
  }
});
