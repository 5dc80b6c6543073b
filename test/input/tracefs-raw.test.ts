// RawLiveSource against a fake tracefs: per_cpu/cpuN/trace_pipe_raw FIFOs fed
// with ring-buffer pages in a 6.12 fixture's layout. The findings must equal a
// replay of the same records as a trace.dat (what `dmadebug check` gives),
// events must come out in time order across CPUs, missing-events bits must
// become lost-event coverage, and a throughput figure is printed. The same
// runs go through ThreadedRawLive (the source in a worker thread, what
// `live` uses), which must deliver the same events, counters and findings.

import assert from 'node:assert/strict';
import { rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Names } from '../../src/base/interner.js';
import { DmaDebugEngine } from '../../src/engine/engine.js';
import type { DmaEvent } from '../../src/engine/events.js';
import type { EventRef, Finding } from '../../src/engine/findings.js';
import { InputError } from '../../src/input/errors.js';
import { RawLiveSource, rawTracefsProblem, readTracefsMeta } from '../../src/input/tracefs-raw.js';
import { ThreadedRawLive } from '../../src/input/tracefs-raw-threaded.js';
import { replay } from '../../src/pipeline.js';
import { fakeTracefs, fixtureEvents, markLost, scenario } from '../helpers/fake-tracefs.js';
import { encodeCpuPages, type WRecord, writeTraceDat } from '../helpers/tracedat-writer.js';

const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

const CMDLINES = new Map([
  [100, 'kworker/0:1'],
  [101, 'insmod'],
]);
const cmdlinesText = [...CMDLINES].map(([p, c]) => `${p} ${c}\n`).join('');

interface RunResult {
  findings: Finding[];
  engine: DmaDebugEngine;
  src: RawLiveSource | ThreadedRawLive;
  order: Array<[number, number, number]>;
  ms: number;
}

/**
 * Runs a RawLiveSource (or, `threaded`, a ThreadedRawLive) over `cpuBytes`
 * written to the FIFOs (all CPUs at once, in `chunk`-byte writes).
 */
async function runRaw(dir: string, cpuBytes: Uint8Array[], chunk = 64 * 1024, threaded = false): Promise<RunResult> {
  const names = new Names();
  const findings: Finding[] = [];
  const engine = new DmaDebugEngine(names, (f) => findings.push(f), {});
  const order: Array<[number, number, number]> = [];
  let keepOrder = true;
  const sink = (ev: DmaEvent) => {
    if (keepOrder) order.push([ev.tsSec, ev.tsNs, ev.cpu]);
    if (order.length > 100_000) keepOrder = false;
    engine.handle(ev);
  };
  // as live: the buffer was emptied first, so nothing of it was overwritten before
  const src = threaded
    ? new ThreadedRawLive(dir, { names, sink, pollMs: 5, startsEmpty: true })
    : new RawLiveSource(dir, { names, sink, pollMs: 5 });
  src.facts.overwriteKnown = true;
  engine.attachInputFacts(src.facts);
  const t0 = performance.now();
  const running = src.run();
  await Promise.all(
    cpuBytes.map(async (bytes, cpu) => {
      const w = await open(join(dir, 'per_cpu', `cpu${cpu}`, 'trace_pipe_raw'), 'w');
      for (let off = 0; off < bytes.length; off += chunk) await w.write(bytes.subarray(off, off + chunk));
      await w.close();
    }),
  );
  await running;
  engine.inputDrained();
  return { findings, engine, src, order, ms: performance.now() - t0 };
}

function comparable(f: Finding): string {
  return JSON.stringify(f);
}

/**
 * A live finding with its places made a trace.dat file's: live counts a
 * record's offset in its CPU's trace_pipe_raw stream, a replay of a plain v6
 * file in the file, where that CPU's data starts at dataAt[cpu].
 */
function inFile(f: Finding, dataAt: number[]): Finding {
  const place = (r: EventRef): EventRef => {
    assert.equal(r.positions, 'cpu-data');
    return { ...r, line: r.line + dataAt[r.cpu]!, positions: 'file' };
  };
  return { ...f, at: place(f.at), mapping: f.mapping ? { ...f.mapping, mappedAt: place(f.mapping.mappedAt) } : null };
}

async function checkFindings(records: WRecord[], cpus: number): Promise<{ findings: Finding[]; dataAt: number[] }> {
  const dir = fakeTracefs({ cpus: 0 });
  made.push(dir);
  // trace-cmd's per-CPU stats: nothing overwritten, as in the live session (its buffer was emptied first)
  const stats = Array.from({ length: cpus }, () => 'entries: 0\noverrun: 0\n');
  const w = writeTraceDat(records, { version: 6, cpus, cmdlines: CMDLINES, stats });
  const path = join(dir, 'same.dat');
  writeFileSync(path, w.bytes);
  const findings: Finding[] = [];
  const r = await replay(path, { onFinding: (f) => findings.push(f) });
  assert.equal(r.error, null);
  return { findings, dataAt: w.dataAt };
}

describe('tracefs trace_pipe_raw', () => {
  const events = fixtureEvents();

  test('metadata: header_page page size and the fixture formats', () => {
    const dir = fakeTracefs();
    made.push(dir);
    assert.equal(rawTracefsProblem(dir), '');
    const m = readTracefsMeta(dir);
    assert.equal(m.pageSize, 4096);
    assert.equal(m.header.longSize, 8);
    assert.ok(m.formats.some((f) => f.name === 'dma_map_page' && f.id === 150));
    assert.ok(m.formats.some((f) => f.name === 'mm_page_free'));
    const bare = fakeTracefs({ raw: false });
    made.push(bare);
    assert.match(rawTracefsProblem(bare), /trace_pipe_raw/);
  });

  for (const threaded of [false, true]) {
    const how = threaded ? ' (in a worker thread)' : '';
    test(`findings equal a replay of the same records; events in time order across CPUs${how}`, async () => {
      const records = scenario(400, 2);
      const dir = fakeTracefs({ cpus: 2, cmdlines: cmdlinesText });
      made.push(dir);
      const bytes = [0, 1].map((c) => encodeCpuPages(records, events, c).bytes);
      // small writes: pages arrive split across reads
      const r = await runRaw(dir, bytes, 1000, threaded);
      const { findings: expected, dataAt } = await checkFindings(records, 2);
      assert.ok(expected.length >= 1);
      assert.equal(expected[0]?.check, 'unmap-size-mismatch');
      // the same records at the same places: each CPU's stream offsets are the file's, less where its data starts
      assert.deepEqual(
        r.findings.map((f) => comparable(inFile(f, dataAt))),
        expected.map(comparable),
      );
      assert.equal(r.engine.eventCount, records.length);
      assert.equal(r.src.events, records.length);
      assert.equal(r.src.warnings, 0, JSON.stringify(r.src.warningList));
      for (let i = 1; i < r.order.length; i++) {
        const [s0, n0] = r.order[i - 1]!;
        const [s1, n1] = r.order[i]!;
        assert.ok(s1 > s0 || (s1 === s0 && n1 >= n0), `event ${i + 1} goes back in time`);
      }
      assert.ok(new Set(r.order.map((o) => o[2])).size === 2);
    });
  }

  test('an empty round sleeps 1 ms, then twice as long each time up to pollMs; data starts it over', async () => {
    const records = scenario(20, 1);
    const dir = fakeTracefs({ cpus: 1 });
    made.push(dir);
    const page = encodeCpuPages(records, events, 0).bytes.subarray(0, 4096);
    // the source's sleeps are its only timers while it runs; the test waits with the real setTimeout
    const realSetTimeout = globalThis.setTimeout;
    const wait = (ms: number) => new Promise<void>((r) => realSetTimeout(r, ms));
    const sleeps: number[] = [];
    globalThis.setTimeout = ((fn: () => void, ms?: number) => {
      sleeps.push(ms ?? 0);
      return realSetTimeout(fn, ms);
    }) as typeof setTimeout;
    const names = new Names();
    const src = new RawLiveSource(dir, { names, sink: () => {}, pollMs: 16 });
    const count = (ms: number) => sleeps.filter((x) => x === ms).length;
    const until = async (cond: () => boolean) => {
      for (const t0 = Date.now(); !cond(); await wait(2)) {
        if (Date.now() - t0 > 10_000) throw new Error(`timed out; sleeps ${sleeps.join(' ')}`);
      }
    };
    let w: Awaited<ReturnType<typeof open>> | null = null;
    let running: Promise<void> | null = null;
    try {
      running = src.run();
      await until(() => count(16) >= 2);
      const before = sleeps.length;
      w = await open(join(dir, 'per_cpu', 'cpu0', 'trace_pipe_raw'), 'w');
      await w.write(page);
      await until(() => src.lines > 0 && sleeps.slice(before).filter((x) => x === 16).length >= 2);
      src.stop();
      await running;
      assert.deepEqual(sleeps.slice(0, 6), [1, 2, 4, 8, 16, 16]);
      const after = sleeps.slice(before);
      const restart = after.lastIndexOf(1);
      assert.ok(restart >= 0, `no fresh 1 ms sleep after data: ${after.join(' ')}`);
      assert.deepEqual(after.slice(restart, restart + 5), [1, 2, 4, 8, 16]);
      assert.ok(sleeps.every((x) => x >= 1 && x <= 16));
    } finally {
      globalThis.setTimeout = realSetTimeout;
      src.stop();
      await running;
      await w?.close();
    }
  });

  for (const threaded of [false, true]) {
    const how = threaded ? ' (in a worker thread)' : '';
    test(`a missing-events bit becomes lost-event coverage${how}`, async () => {
      const records = scenario(300, 2);
      const dir = fakeTracefs({ cpus: 2 });
      made.push(dir);
      const c0 = encodeCpuPages(records, events, 0);
      const c1 = encodeCpuPages(records, events, 1);
      assert.ok(c0.pages.length >= 3);
      markLost(c0.bytes, 1, 7);
      markLost(c1.bytes, 2, null);
      const r = await runRaw(dir, [c0.bytes, c1.bytes], undefined, threaded);
      const cov = r.engine.coverage();
      assert.equal(cov.lostEvents, 7);
      // two Lost events (one counted, one not) besides the records
      assert.equal(r.src.events, records.length + 2);
    });

    test(`throughput through the FIFOs (printed, not asserted)${how}`, async (t) => {
      const records = scenario(60_000, 2);
      const dir = fakeTracefs({ cpus: 2 });
      made.push(dir);
      const bytes = [0, 1].map((c) => encodeCpuPages(records, events, c).bytes);
      const r = await runRaw(dir, bytes, undefined, threaded);
      assert.equal(r.src.events, records.length);
      const mb = (bytes[0]!.length + bytes[1]!.length) / 1e6;
      const rate = Math.round((records.length * 1000) / r.ms);
      t.diagnostic(
        `trace_pipe_raw${how}: ${records.length} events (${mb.toFixed(1)} MB of pages) in ${r.ms.toFixed(0)} ms = ${rate} events/s`,
      );
      assert.equal(r.findings.filter((f) => f.severity === 'error').length, 1);
    });

    test(`records of events it has no plan for are skipped${how}`, async () => {
      const records = scenario(10, 1);
      const dir = fakeTracefs({ cpus: 1 });
      made.push(dir);
      const other = events.map((e) => (e.name === 'dma_sync_single_for_cpu' ? { ...e, id: 999 } : e));
      const r = await runRaw(dir, [encodeCpuPages(records, other, 0).bytes], undefined, threaded);
      const syncs = records.filter((x) => x.event === 'dma_sync_single_for_cpu').length;
      assert.ok(syncs > 0);
      assert.equal(r.src.skipped, syncs);
      assert.equal(r.src.events, records.length - syncs);
      assert.ok(r.engine.eventCount > 0);
    });
  }
  test('in a worker thread: the idle tick comes after every event before it; stop() with the writers open ends run()', async () => {
    const records = scenario(200, 2);
    const dir = fakeTracefs({ cpus: 2 });
    made.push(dir);
    const bytes = [0, 1].map((c) => encodeCpuPages(records, events, c).bytes);
    const names = new Names();
    let got = 0;
    const atIdle: number[] = [];
    let idle: () => void = () => {};
    const firstIdle = new Promise<void>((r) => (idle = r));
    const src = new ThreadedRawLive(dir, {
      names,
      sink: () => got++,
      pollMs: 5,
      onIdle: () => {
        atIdle.push(got);
        idle();
      },
    });
    const running = src.run();
    const writers = await Promise.all(
      [0, 1].map((cpu) => open(join(dir, 'per_cpu', `cpu${cpu}`, 'trace_pipe_raw'), 'w')),
    );
    try {
      await Promise.all(writers.map((w, cpu) => w.write(bytes[cpu]!)));
      // everything written has been read and merged once the source finds nothing more: then it ticks
      await firstIdle;
      assert.equal(atIdle[0], records.length);
      // the kernel's stream has not ended (the writers are open): only stop() ends the run
      src.stop();
      await running;
    } finally {
      for (const w of writers) await w.close();
    }
    assert.equal(got, records.length);
    assert.equal(src.events, records.length);
    assert.equal(src.lines, records.length);
    assert.equal(src.warnings, 0);
    assert.equal(src.facts.positions, 'cpu-data');
  });

  test('in a worker thread: a tracefs the source cannot use is the same InputError, thrown by run()', async () => {
    const dir = fakeTracefs({ cpus: 1 });
    made.push(dir);
    unlinkSync(join(dir, 'events', 'header_page'));
    let inThread: unknown = null;
    try {
      new RawLiveSource(dir, { names: new Names(), sink: () => {} });
    } catch (e) {
      inThread = e;
    }
    assert.ok(inThread instanceof InputError);
    const src = new ThreadedRawLive(dir, { names: new Names(), sink: () => {} });
    await assert.rejects(src.run(), (e: unknown) => {
      assert.ok(e instanceof InputError);
      assert.equal(e.message, (inThread as InputError).message);
      return true;
    });
  });
});
