// The worker-to-checks wire format: every field of every kind of event, the
// sg lists, marker text and names survive a round trip, names are translated
// into a reader whose tables already hold other names, and records never
// straddle buffers.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Names } from '../../src/base/interner.js';
import { type Dir, DmaEvent, type EventKind, type InputFacts, noInputFacts } from '../../src/engine/events.js';
import { FACT_FIELDS, factsChanged, WireReader, WireWriter } from '../../src/input/event-wire.js';
import { prng } from '../helpers/prng.js';
import { serialize } from './helpers.js';

function randomEvent(ev: DmaEvent, names: Names, r: () => number, i: number): void {
  const u32 = () => Math.floor(r() * 4294967296) >>> 0;
  ev.resetPayload();
  ev.kind = Math.floor(r() * 24) as EventKind;
  ev.line = i + 1 + (i % 7 === 0 ? 2 ** 40 : 0);
  // (seconds past 2^32: a counter clock's u64 count div 10^9 reaches 18446744073)
  ev.tsSec = Math.floor(r() * (r() < 0.2 ? 18446744074 : 4e9));
  ev.tsNs = Math.floor(r() * 1e9);
  ev.tsDigits = r() < 0.1 ? 0 : r() < 0.5 ? 6 : 9;
  ev.cpu = Math.floor(r() * 300);
  ev.pid = Math.floor(r() * 2 ** 31) * (r() < 0.1 ? -1 : 1);
  ev.comm = r() < 0.1 ? -1 : names.comms.intern(`task-${Math.floor(r() * 20)}`);
  ev.device = r() < 0.1 ? -1 : names.devices.intern(`0000:00:${Math.floor(r() * 40)}.0`);
  ev.dir = Math.floor(r() * 4) as Dir;
  ev.hasDir = r() < 0.5;
  ev.attrs = u32();
  ev.addrHi = u32();
  ev.addrLo = u32();
  ev.physHi = u32();
  ev.physLo = u32();
  ev.hasPhys = r() < 0.5;
  ev.size = Math.floor(r() * 2 ** 53);
  ev.virtHi = u32();
  ev.virtLo = u32();
  ev.hasVirt = r() < 0.5;
  ev.virtRaw = r() < 0.5;
  ev.nents = Math.floor(r() * 300);
  ev.ents = Math.floor(r() * 300);
  ev.truncated = r() < 0.2;
  ev.damaged = r() < 0.1;
  const n = r() < 0.3 ? Math.floor(r() * (r() < 0.1 ? 5000 : 40)) : 0;
  for (let k = 0; k < n; k++) {
    ev.sgDma.push(u32(), u32());
    if (r() < 0.8) ev.sgPhys.push(u32(), u32());
    ev.sgLen.push(Math.floor(r() * 2 ** 40));
  }
  ev.err = -Math.floor(r() * 200);
  ev.pfnHi = u32();
  ev.pfnLo = u32();
  ev.order = Math.floor(r() * 11);
  ev.lost = Math.floor(r() * 2 ** 45);
  ev.stack = r() < 0.7 ? -1 : names.stacks.intern(`frame_${Math.floor(r() * 9)}+0x10/0x20\ncaller+0x1/0x2`);
  ev.text = r() < 0.1 ? `marker ✓ ${'x'.repeat(Math.floor(r() * 9000))}` : '';
  // Real events leave most groups of fields at their reset values, which the wire leaves out.
  if (r() < 0.5) ev.addrHi = ev.addrLo = 0;
  if (r() < 0.5) ev.physLo = r() < 0.5 ? 0 : ev.physLo;
  if (r() < 0.5) ev.physHi = 0;
  if (r() < 0.5) ev.size = 0;
  if (r() < 0.5) ev.virtHi = ev.virtLo = 0;
  if (r() < 0.5) {
    ev.nents = ev.ents = ev.err = 0;
    if (r() < 0.5) {
      ev.sgDma.clear();
      ev.sgPhys.clear();
      ev.sgLen.clear();
    }
  }
  if (r() < 0.5) ev.pfnHi = ev.pfnLo = ev.order = 0;
  if (r() < 0.5) ev.lost = 0;
}

describe('event wire', () => {
  it('round-trips every field, with names translated into a reader that already has names', () => {
    const r = prng(7);
    const wNames = new Names();
    const rNames = new Names();
    // the reader's tables start with other names, so ids must be mapped, not assumed equal
    rNames.devices.intern('side-info-device');
    rNames.comms.intern('someone');
    const facts: InputFacts = { ...noInputFacts(), overwritten: false, sawBufferHeader: false, overwrittenCount: 0 };
    const reader = new WireReader(rNames, facts);
    const expected: string[] = [];
    const got: string[] = [];
    const out = new DmaEvent();
    let batches = 0;
    const writer = new WireWriter(
      wNames,
      (buf, words) => {
        batches++;
        reader.read(buf, words, out, (ev) => got.push(serialize(ev, rNames)));
      },
      () => new Int32Array(1 << 12), // small buffers: many batches, some records bigger than one
    );
    writer.facts({ ...noInputFacts(), overwritten: true, sawBufferHeader: true, overwrittenCount: 12345 });
    const ev = new DmaEvent();
    for (let i = 0; i < 3000; i++) {
      randomEvent(ev, wNames, r, i);
      expected.push(serialize(ev, wNames));
      writer.event(ev);
    }
    writer.send();
    assert.ok(batches > 100, `${batches} batches`);
    assert.equal(got.length, expected.length);
    assert.deepEqual(got, expected);
    assert.deepEqual(facts, { ...noInputFacts(), overwritten: true, sawBufferHeader: true, overwrittenCount: 12345 });
  });

  it("carries a merge's quiet-CPU promises in their place among the events, any second exactly", () => {
    const names = new Names();
    const got: string[] = [];
    const reader = new WireReader(new Names(), noInputFacts(), (cpu, sec, ns) => got.push(`quiet ${cpu} ${sec} ${ns}`));
    const writer = new WireWriter(
      names,
      (buf, words) => reader.read(buf, words, new DmaEvent(), (ev) => got.push(`event ${ev.cpu}`)),
      () => new Int32Array(64),
    );
    const ev = new DmaEvent();
    ev.kind = 19 as EventKind;
    const want: string[] = [];
    for (const [i, [sec, ns]] of [
      [9, 270_000_001],
      [2 ** 40 + 1, 999_999_999],
      [Number.POSITIVE_INFINITY, 0],
    ].entries()) {
      ev.cpu = i;
      writer.event(ev);
      writer.quiet(7, sec!, ns!);
      want.push(`event ${i}`, `quiet 7 ${sec} ${ns}`);
    }
    writer.send();
    assert.deepEqual(got, want);
  });

  it('sends nothing for an empty batch', () => {
    let sent = 0;
    const w = new WireWriter(
      new Names(),
      () => sent++,
      () => new Int32Array(16),
    );
    w.send();
    assert.equal(sent, 0);
  });

  it('sends the facts again when any field changed, and only then', () => {
    const base = noInputFacts();
    const keys = Object.keys(base).sort();
    assert.deepEqual(Object.keys(FACT_FIELDS).sort(), keys);
    assert.equal(factsChanged(base, { ...base }), false);
    const other: { [K in keyof InputFacts]: InputFacts[K] } = {
      positions: 'cpu-data',
      overwritten: true,
      sawBufferHeader: true,
      overwriteKnown: true,
      overwrittenCount: 1,
      cpus: 2,
      overwrittenCpus: [1],
      kernelRelease: '6.12.0',
      machine: 'x86_64',
      kernelSource: 'x',
      mapEvents: 'phys',
      mapEventsSource: 'line 1: dma_map_phys',
    };
    for (const k of keys as Array<keyof InputFacts>) {
      assert.notDeepEqual(other[k], base[k], k);
      assert.equal(factsChanged({ ...base, [k]: other[k] }, base), true, k);
    }
    const sent: Array<{ buf: Int32Array; words: number }> = [];
    const w = new WireWriter(
      new Names(),
      (buf, words) => sent.push({ buf, words }),
      () => new Int32Array(1 << 12),
    );
    const f = noInputFacts();
    w.factsIfChanged(f);
    w.send();
    w.factsIfChanged(f);
    w.send(); // unchanged: nothing to send
    f.cpus = 4;
    w.factsIfChanged(f);
    w.send();
    w.factsIfChanged({ ...f });
    w.send();
    assert.equal(sent.length, 2);
    const got = noInputFacts();
    const r = new WireReader(new Names(), got);
    for (const b of sent) r.read(b.buf, b.words, new DmaEvent(), () => assert.fail('no event was sent'));
    assert.deepEqual(got, f);
  });
});
