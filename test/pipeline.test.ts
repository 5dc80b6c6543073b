// End-to-end pipeline properties on real traces: read-buffer size never changes
// a result, and a trace that starts late never cries wolf.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Finding } from '../src/engine/findings.js';
import { replay, summarize } from '../src/pipeline.js';
import { makePaint } from '../src/report/paint.js';
import { summaryText } from '../src/report/summary.js';
import { counterClockTrace, fixture } from './helpers/fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'dmadebug-pipe-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function run(path: string, chunkSize?: number) {
  const findings: Finding[] = [];
  const r = await replay(path, {
    onFinding: (f) => findings.push(f),
    ...(chunkSize !== undefined ? { chunkSize } : {}),
  });
  const dump = [...r.engine.dump()].map((e) => `${e.type} ${e.bucket} ${e.phys} ${e.dma} ${e.size} ${e.direction}`);
  return { r, findings, dump };
}

describe('read-buffer size', () => {
  for (const name of ['bug-sync-sg-nents', 'bug-unmap-size-stack']) {
    it(`${name}: read sizes from 13 bytes to 4 KiB give identical findings and dump`, async () => {
      const base = await run(fixture(name));
      // Byte-at-a-time pushes are covered by the parser tests; here every read goes through the source.
      for (const cs of [13, 64, 4096]) {
        const other = await run(fixture(name), cs);
        assert.deepEqual(other.findings, base.findings, `chunk size ${cs}`);
        assert.deepEqual(other.dump, base.dump, `chunk size ${cs}`);
        assert.equal(other.r.engine.eventCount, base.r.engine.eventCount);
      }
    });
  }
});

describe('a trace that starts late', () => {
  it('dropping the first half of a real trace gives no errors, only unconfirmed findings', async () => {
    const lines = readFileSync(fixture('real-devices-direct'), 'utf8').split('\n');
    const header = lines.filter((l) => l.startsWith('#'));
    const body = lines.filter((l) => !l.startsWith('#'));
    const late = join(tmp, 'late.txt');
    writeFileSync(late, [...header, ...body.slice(Math.floor(body.length / 2))].join('\n'));
    const { r, findings } = await run(late);
    const cov = r.engine.coverage();
    assert.equal(cov.fromBoot, false, cov.decidedBy);
    assert.equal(findings.filter((f) => f.severity === 'error').length, 0);
    assert.ok(
      findings.some((f) => f.severity === 'unconfirmed'),
      'the unmaps of earlier mappings are reported as unconfirmed',
    );
    assert.ok(cov.unknownUnmaps > 0);
  });

  it('the same late trace names a double unmap, unconfirmed (a twin mapping may predate the trace)', async () => {
    const lines = readFileSync(fixture('bug-unmap-size'), 'utf8').split('\n');
    const i = lines.findIndex((l) => l.includes('dma_unmap_page: 0000:00:02.0 dir=TO_DEVICE dma_addr=b20fc00'));
    const body = lines.slice(i - 2); // starts mid-run, at the map before it
    body.splice(3, 0, body[2]!); // the unmap, twice
    // the header says nothing was overwritten: the trace began late on both CPUs at once
    const header = lines.filter((l) => l.startsWith('#'));
    const late = join(tmp, 'late-double.txt');
    writeFileSync(late, [...header, ...body].join('\n'));
    const { r, findings } = await run(late);
    assert.equal(r.engine.coverage().fromBoot, false);
    assert.deepEqual(
      findings.filter((f) => f.severity !== 'info').map((f) => `${f.severity}:${f.check}`),
      ['unconfirmed:double-unmap', 'error:unmap-size-mismatch'],
    );
    // without any header nothing says whether each CPU kept its own window, nor how many CPUs there are
    const bare = join(tmp, 'late-double-bare.txt');
    writeFileSync(bare, body.join('\n'));
    const b = await run(bare);
    assert.deepEqual(
      b.findings.filter((f) => f.severity !== 'info').map((f) => `${f.severity}:${f.check}`),
      ['unconfirmed:double-unmap', 'unconfirmed:unmap-size-mismatch'],
    );
    assert.equal(
      findings.find((f) => f.check === 'double-unmap')!.message,
      'device driver tries to free DMA memory it has not allocated [device address=0x000000000b20fc00] [size=512 bytes]',
    );
  });

  it('a lossy trace_pipe stream (LOST EVENTS) reports nothing as an error', async () => {
    const { r, findings } = await run(fixture('real-devices-pipe-lost'));
    const cov = r.engine.coverage();
    assert.ok(cov.lossNotices > 0);
    assert.ok(cov.lostEvents > 0);
    assert.equal(findings.filter((f) => f.severity === 'error').length, 0);
  });
});

describe('findings held to the end of the input', () => {
  /**
   * A text trace whose header names 2 CPUs: n unmaps of addresses never mapped on CPU 0 (1 µs
   * apart from 1 s on), then `after`. While CPU 1 shows no event, every one of them waits for it.
   */
  function heldTrace(name: string, n: number, after: string[] = []): string {
    const header = readFileSync(fixture('bug-unmap-unmapped', 'trace.txt'), 'utf8').split('\n').slice(0, 12).join('\n');
    const lines = [header];
    for (let i = 0; i < n; i++) {
      const ts = (1 + i / 1e6).toFixed(6);
      const addr = (0x10000000 + i * 0x1000).toString(16);
      lines.push(
        `          insmod-109     [000] .....   ${ts}: dma_unmap_page: 0000:00:02.0 dir=TO_DEVICE dma_addr=${addr} size=512 attrs=`,
      );
    }
    const path = join(tmp, name);
    writeFileSync(path, `${[...lines, ...after].join('\n')}\n`);
    return path;
  }

  /** Replays with an onDrain that notes how many findings came since its last call (`rest`: after the last). */
  async function replaySlices(path: string, parseThread?: boolean) {
    const seen: string[] = [];
    const slices: number[] = [];
    let last = 0;
    const r = await replay(path, {
      onFinding: (f) => seen.push(f.message),
      onDrain: async () => {
        slices.push(seen.length - last);
        last = seen.length;
        await new Promise((resolve) => setImmediate(resolve));
      },
      ...(parseThread !== undefined ? { parseThread } : {}),
    });
    return { r, seen, slices, rest: seen.length - last };
  }

  it('go out a slice at a time, onDrain between slices, in order, all of them', async () => {
    const n = 10_000;
    const path = heldTrace('held.txt', n);
    const { r, seen, slices } = await replaySlices(path);
    assert.equal(r.error, null);
    assert.equal(seen.length, n);
    for (let i = 0; i < n; i += 997)
      assert.match(seen[i]!, new RegExp(`address=0x0*${(0x10000000 + i * 0x1000).toString(16)}\\]`));
    assert.deepEqual(slices, [4096, 4096], 'two full slices, then the last 1808 with nothing more to wait for');
    assert.equal(r.engine.severityCounts.error, n);
  });

  it('a CPU that shows up after a long silence lets its backlog out a slice per onDrain too, in order', async () => {
    const n = 20_000;
    // CPU 1 shows up: every error so far is final; then CPU 0 goes on with one more
    const path = heldTrace('late-cpu.txt', n, [
      '          insmod-109     [001] .....     2.000000: dma_unmap_page: 0000:00:02.0 dir=TO_DEVICE dma_addr=abc000 size=512 attrs=',
      '          insmod-109     [000] .....     2.000001: dma_unmap_page: 0000:00:02.0 dir=TO_DEVICE dma_addr=abd000 size=512 attrs=',
    ]);
    const base: string[] = [];
    await replay(path, { onFinding: (f) => base.push(f.message), parseThread: false });
    for (const parseThread of [false, true]) {
      const { r, seen, slices, rest } = await replaySlices(path, parseThread);
      assert.equal(r.error, null);
      assert.deepEqual(seen, base, 'the same findings, in the same order');
      assert.equal(seen.length, n + 2);
      // a chunk's turn lets out a slice, then a slice per onDrain: at most two between two calls
      assert.ok(slices.length >= 2, `the backlog went out in slices (${slices.join(', ')})`);
      assert.ok(Math.max(...slices, rest) <= 2 * 4096, `slices of ${slices.join(', ')}, then ${rest}`);
    }
  });
});

describe('a counter clock (x86-tsc, counter)', () => {
  const counts = (): string => counterClockTrace(fixture('bug-unmap-size'), join(tmp, 'tsc.txt'));

  it('keeps every count exact, in one thread and through the parsing worker alike', async () => {
    const path = counts();
    const results = [];
    for (const parseThread of [false, true]) {
      const findings: Finding[] = [];
      const r = await replay(path, { parseThread, onFinding: (f) => findings.push(f) });
      results.push({ r, findings });
    }
    const [one, two] = results as [(typeof results)[0], (typeof results)[0]];
    assert.deepEqual(two.findings, one.findings);
    const f = one.findings.find((x) => x.check === 'unmap-size-mismatch')!;
    assert.ok(f, 'the size mismatch is found');
    assert.match(f.at.ts, /^18000000\d{12}$/);
    assert.match(f.mapping!.mappedAt.ts, /^18000000\d{12}$/);
    assert.ok(BigInt(f.mapping!.mappedAt.ts) < BigInt(f.at.ts), 'mapped before it was unmapped');
    // counts of an unknown rate tell nothing of the time since boot
    const cov = one.r.engine.coverage();
    assert.equal(cov.fromBoot, false);
    assert.match(cov.decidedBy, /the trace clock is a counter/);
    assert.match(cov.firstTs!, /^18000000\d{12}$/);
    assert.deepEqual(two.r.engine.coverage(), cov);
    const text = summaryText(summarize([path], one.r), makePaint(false));
    assert.match(text, /events 18000000\d{12}\.\.18000000\d{12} \(counter clock counts, not seconds\)/);
  });
});
