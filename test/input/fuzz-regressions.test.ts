// Inputs the fuzzer (npm run fuzz, bench/fuzz.ts) found failing, made small by
// hand. Sidecar shapes are in sidecar.test.ts.
//
// A dma_map_page whose size is near 2^64 (a damaged trace.dat record; a text
// line can say 2^53): the physical index of page-freed-while-mapped registered
// the mapping in every 1 GiB unit it spans, 2^34 of them, and `check` ran for
// minutes until the kernel killed it for memory (17 inputs of the first
// tracedat run). Now it registers each unit a query can probe once.
//
// A text header `# entries-in-buffer/entries-written: 007/5963   #P:29999999`
// (a number mutated): coverage opened a window per CPU, 3 GB and a RangeError
// ("Map maximum size exceeded", an internal error). A `#P:` above any kernel's
// NR_CPUS is now not believed.
//
// A v7 trace.dat cut inside its ring-buffer data (so its layout is rebuilt by
// walking the data) whose CPU count option said 1962934274 CPUs: the rebuild
// added an empty CPU for each, and `check` ran until killed (tracedat input
// 239086 of seed 1). A CPU count above any kernel's is now not believed.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { replay } from '../../src/pipeline.js';
import { writeTraceDat } from '../helpers/tracedat-writer.js';

const tmp = mkdtempSync(join(tmpdir(), 'dmadebug-fuzzreg-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const line = (ts: string, text: string) => `          insmod-107     [001] .....     ${ts}: ${text}\n`;

describe('a mapping of a size near 2^64', () => {
  it('text (2^53 - 1 bytes): checked in well under a second, and a page freed inside it is still found', async () => {
    const size = '9007199254740991';
    const trace = join(tmp, 'huge.txt');
    writeFileSync(
      trace,
      line(
        '2.789369',
        `dma_map_page: 0000:00:02.0 dir=FROM_DEVICE dma_addr=bba7c00 size=${size} phys_addr=bba7c00 attrs=`,
      ) +
        line('2.789500', 'mm_page_free: page=000000007260e248 pfn=0xbbb7 order=0') +
        line('2.790269', `dma_unmap_page: 0000:00:02.0 dir=FROM_DEVICE dma_addr=bba7c00 size=${size} attrs=`),
    );
    const checks: string[] = [];
    const t0 = performance.now();
    const r = await replay(trace, { engine: { fromBoot: true }, onFinding: (f) => checks.push(f.check) });
    assert.ok(performance.now() - t0 < 2000, `took ${Math.round(performance.now() - t0)} ms`);
    assert.equal(r.error, null);
    assert.equal(r.engine.eventCount, 3);
    assert.ok(checks.includes('page-freed-while-mapped'), checks.join(','));
  });

  it('trace.dat (2^64 - 2^34 bytes, as the fuzzer made it): checked in well under a second', async () => {
    const dma = 0x43fdbe80n;
    const values = {
      device: '0000:00:02.0',
      phys_addr: dma,
      dma_addr: dma,
      size: 18446744052234717000n,
      dir: 2,
      attrs: 0,
    };
    const w = writeTraceDat(
      [
        { cpu: 0, ts: 5_000_000_000n, pid: 7, event: 'dma_map_page', values },
        { cpu: 0, ts: 5_000_001_000n, pid: 7, event: 'mm_page_free', values: { pfn: 0x43fdb, order: 0 } },
      ],
      { version: 6, cpus: 1 },
    );
    const trace = join(tmp, 'huge.dat');
    writeFileSync(trace, w.bytes);
    const t0 = performance.now();
    const r = await replay(trace);
    assert.ok(performance.now() - t0 < 2000, `took ${Math.round(performance.now() - t0)} ms`);
    assert.equal(r.error, null);
    assert.equal(r.engine.eventCount, 2);
  });
});

describe('a header that claims 29999999 CPUs', () => {
  it('is not believed: no internal error, the event is read', async () => {
    const trace = join(tmp, 'cpus.txt');
    writeFileSync(
      trace,
      '# tracer: nop\n#\n# entries-in-buffer/entries-written: 7/5963   #P:29999999\n#\n' +
        line('2.789369', 'dma_map_page: 0000:00:02.0 dir=TO_DEVICE dma_addr=bba7c00 size=512 phys_addr=bba7c00 attrs='),
    );
    const t0 = performance.now();
    const r = await replay(trace);
    assert.ok(performance.now() - t0 < 2000, `took ${Math.round(performance.now() - t0)} ms`);
    assert.equal(r.error, null);
    assert.equal(r.engine.eventCount, 1);
  });
});

describe("trace-cmd report's cpus= line that claims 4294967297 CPUs (found by the fuzzer)", () => {
  it('is not believed: no internal error, no 4-million-CPU windows, the event is read', async () => {
    for (const cpus of ['4294967297', '4294967']) {
      const trace = join(tmp, `report-cpus-${cpus}.txt`);
      writeFileSync(
        trace,
        `cpus=${cpus}\n${line('2.789369', 'dma_map_page: 0000:00:02.0 dir=TO_DEVICE dma_addr=bba7c00 size=512 phys_addr=bba7c00 attrs=')}`,
      );
      const t0 = performance.now();
      const r = await replay(trace);
      assert.ok(performance.now() - t0 < 2000, `took ${Math.round(performance.now() - t0)} ms`);
      assert.equal(r.error, null);
      assert.equal(r.engine.eventCount, 1);
    }
  });
});

describe('a cut v7 trace.dat whose CPU count option claims 1962934274 CPUs (found by the fuzzer)', () => {
  it('is not believed: the cut file is read in well under a second, with a note', async () => {
    const values = { device: '0000:00:02.0', phys_addr: 0x1000n, dma_addr: 0x1000n, size: 512n, dir: 1, attrs: 0 };
    const records = Array.from({ length: 400 }, (_, i) => ({
      cpu: i % 2,
      ts: 5_000_000_000n + BigInt(i) * 1000n,
      pid: 7,
      event: i % 4 < 2 ? 'dma_map_page' : 'dma_unmap_page',
      values,
    }));
    const count = new Uint8Array(4);
    new DataView(count.buffer).setUint32(0, 1962934274, true);
    const w = writeTraceDat(records, {
      version: 7,
      compression: 'zlib',
      cpus: 2,
      chunkPages: 1,
      extraOptions: [{ id: 8, data: count }], // a second CPUCOUNT option, the one that counts
    });
    const trace = join(tmp, 'cpucount.dat');
    writeFileSync(trace, w.bytes.subarray(0, w.dataAt[1]! + 8));
    const notes: string[] = [];
    const t0 = performance.now();
    const r = await replay(trace);
    notes.push(...(r.parser.notes ?? []));
    assert.ok(performance.now() - t0 < 2000, `took ${Math.round(performance.now() - t0)} ms`);
    assert.match(r.error?.message ?? '', /the file ends inside the ring-buffer data/);
    assert.ok(
      notes.some((n) => n.includes('the CPU count option says 1962934274 CPUs')),
      notes.join('\n'),
    );
    assert.ok(r.engine.eventCount > 0);
  });
});
