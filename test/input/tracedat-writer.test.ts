// The test writer's tools for writing a text trace's losses as trace.dat
// (test/property/tracedat-variants.ts), read back by the real reader: a
// sub-buffer forced to start at a record, with the missing-events bit with
// and without a count; damaged records (too short for an event id, a dma
// record cut before its device name); a pre-encoded record; and a kernel's
// format file taken as the writer's event definition, laid out as the kernel
// laid it out.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Names } from '../../src/base/interner.js';
import { type DmaEvent, EventKind as K } from '../../src/engine/events.js';
import { TraceDatParser } from '../../src/input/tracedat.js';
import { kernelFixtures } from '../helpers/fixtures.js';
import { encodeRecordOf, eventDefOf, formatText, type WRecord, writeTraceDat } from '../helpers/tracedat-writer.js';

const DEV = '0000:00:02.0';

function rec(cpu: number, ts: number, extra: Partial<WRecord> = {}): WRecord {
  return {
    cpu,
    ts: BigInt(ts),
    pid: 7,
    event: 'dma_map_page',
    values: { device: DEV, phys_addr: 0x1000n, dma_addr: BigInt(ts), size: 64, dir: 1, attrs: 0 },
    ...extra,
  };
}

/** What the reader hands on: kind, CPU, lost count and damage, per event. */
function read(records: WRecord[], version: 6 | 7): Array<Pick<DmaEvent, 'kind' | 'cpu' | 'lost' | 'damaged'>> {
  const { bytes } = writeTraceDat(records, { version, cpus: 2 });
  const out: Array<Pick<DmaEvent, 'kind' | 'cpu' | 'lost' | 'damaged'>> = [];
  const parser = new TraceDatParser({
    names: new Names(),
    file: 't.dat',
    sink: (ev) => out.push({ kind: ev.kind, cpu: ev.cpu, lost: ev.lost, damaged: ev.damaged }),
  });
  parser.push(bytes);
  parser.end();
  return out;
}

const map = (cpu: number) => ({ kind: K.MapPage, cpu, lost: 0, damaged: false });
const lost = (cpu: number, n: number, damaged = false) => ({ kind: K.Lost, cpu, lost: n, damaged });

describe('trace.dat writer: losses as the reader sees them', () => {
  for (const version of [6, 7] as const) {
    test(`v${version}: a forced sub-buffer with the missing-events bit, with and without a count`, () => {
      const got = read(
        [
          rec(0, 1000),
          rec(0, 2000, { pageBreak: { lost: 12 } }),
          rec(1, 2500),
          rec(0, 3000, { pageBreak: { lost: null } }),
          rec(0, 4000, { pageBreak: {} }),
        ],
        version,
      );
      assert.deepEqual(got, [map(0), lost(0, 12), map(0), map(1), lost(0, 0), map(0), map(0)]);
    });

    test(`v${version}: damaged records are lost events in their place; a pre-encoded record is as written`, () => {
      const r = rec(1, 2500);
      const got = read(
        [
          rec(0, 1000, { truncateTo: 0 }),
          rec(0, 2000, { truncateTo: 1 }),
          { ...r, values: {}, payload: encodeRecordOf(r, writerEvents()) },
          rec(1, 3000, { truncateTo: 12 }),
          rec(0, 4000),
        ],
        version,
      );
      assert.deepEqual(got, [lost(0, 1, true), lost(0, 1, true), map(1), lost(1, 1, true), map(0)]);
    });
  }

  test("a kernel's format file is laid out as the kernel laid it out", () => {
    for (const kernel of ['6.12', '7.3'] as const) {
      const dir = join(kernelFixtures(kernel), 'bug-clean', 'formats');
      for (const system of ['dma', 'kmem']) {
        for (const f of readdirSync(join(dir, system))) {
          const text = readFileSync(join(dir, system, f), 'latin1');
          const def = eventDefOf(system, text);
          const fields = (t: string) =>
            [...t.matchAll(/field:([^;]+);\s*offset:(\d+);\s*size:(\d+);/g)].map((m) => m[0]);
          assert.deepEqual(fields(formatText(def, 8)), fields(text), `${kernel} ${f}`);
        }
      }
    }
  });
});

function writerEvents() {
  return writeTraceDat([], { version: 6, cpus: 1 }).events;
}
