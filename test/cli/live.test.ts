// `dmadebug live` against a fake tracefs: a temp directory with the enable
// files and a FIFO as trace_pipe. Checks that events get enabled, findings
// stream out, and tracefs is restored on end of stream and on SIGINT.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { collect } from '../helpers/child.js';
import { fixture } from '../helpers/fixtures.js';

const BIN = join(process.cwd(), 'bin', 'dmadebug.js');
const ENABLES = [
  'events/dma/dma_map_page/enable',
  'events/dma/dma_unmap_page/enable',
  'events/dma/dma_map_sg/enable',
  'events/kmem/mm_page_free/enable',
  'tracing_on',
  'options/stacktrace',
];

const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function fakeTracefs(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dmadebug-tracefs-'));
  made.push(dir);
  for (const f of ENABLES) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), '0\n');
  }
  const r = spawnSync('mkfifo', [join(dir, 'trace_pipe')]);
  assert.equal(r.status, 0, 'mkfifo');
  return dir;
}

function values(dir: string): string[] {
  return ENABLES.map((f) => readFileSync(join(dir, f), 'utf8').trim());
}

async function waitFor(cond: () => boolean, ms = 10000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('dmadebug live', () => {
  it('enables the events, empties the ring buffer, streams findings, restores tracefs at the end of the stream', async () => {
    const dir = fakeTracefs();
    writeFileSync(join(dir, 'trace'), 'events an earlier session left\n');
    const child = spawn(process.execPath, [BIN, 'live', '--json', '--stacktrace', dir], {
      env: { ...process.env, NO_COLOR: '1' },
    });
    const done = collect(child);
    const w = await open(join(dir, 'trace_pipe'), 'w');
    // The reader is open, so the events are on and the ring buffer is empty by now.
    assert.deepEqual(values(dir), ['1', '1', '1', '1', '1', '1']);
    assert.equal(readFileSync(join(dir, 'trace'), 'utf8'), '');
    await w.write(readFileSync(fixture('bug-unmap-size')));
    await w.close();
    const r = await done;
    assert.equal(r.code, 1, r.err);
    const lines = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines[0].check, 'unmap-size-mismatch');
    assert.equal(lines[lines.length - 1].type, 'summary');
    assert.deepEqual(values(dir), ['0', '0', '0', '0', '0', '0']);
    assert.match(r.err, /the stream ended/);
  });

  it('on SIGINT it restores tracefs, prints the summary and exits with the findings code', async () => {
    const dir = fakeTracefs();
    const child = spawn(process.execPath, [BIN, 'live', dir], { env: { ...process.env, NO_COLOR: '1' } });
    const done = collect(child);
    const w = await open(join(dir, 'trace_pipe'), 'w');
    const text = readFileSync(fixture('bug-unmap-dir'), 'utf8');
    await w.write(text);
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
    });
    await waitFor(() => out.includes('different direction'));
    child.kill('SIGINT');
    const r = await done;
    await w.close();
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /stopped by SIGINT/);
    assert.match(r.err, /1 error/);
    assert.deepEqual(values(dir), ['0', '0', '0', '0', '0', '0']);
  });

  it('without a tracefs: one line, exit 2', () => {
    const r = spawnSync(process.execPath, [BIN, 'live', join(tmpdir(), 'no-such-tracefs')], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /not a tracefs directory/);
  });
});
