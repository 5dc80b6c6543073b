// The compact store of the findings the gate holds: a finding comes out of it
// as the Finding it went in as (with the mapping as it was when the finding was
// made), across pages, texts of every kind, a downgrade and a call stack that
// came meanwhile; it is let out in order only; memory follows what is held.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Names } from '../../src/base/interner.js';
import { EntryTable } from '../../src/engine/entries.js';
import { Dir, DmaEvent } from '../../src/engine/events.js';
import { HeldFindings } from '../../src/engine/held-findings.js';
import { EntryType } from '../../src/engine/model.js';

function event(line: number, sec: number, ns: number, cpu: number, pid: number, comm: number, digits = 6): DmaEvent {
  const ev = new DmaEvent();
  ev.line = line;
  ev.tsSec = sec;
  ev.tsNs = ns;
  ev.tsDigits = digits;
  ev.cpu = cpu;
  ev.pid = pid;
  ev.comm = comm;
  return ev;
}

function setup() {
  const names = new Names();
  const t = new EntryTable();
  const h = new HeldFindings();
  const dev = names.devices.intern('0000:00:02.0');
  const comm = names.comms.intern('fio');
  const stack = names.stacks.intern('dma_map_page_attrs+0x10\nnvme_queue_rq+0x20');
  return { names, t, h, dev, comm, stack };
}

describe('held findings', () => {
  it('gives back the finding it was given, with the mapping as it was when it was made', () => {
    const { names, t, h, dev, comm, stack } = setup();
    const mapped = event(7, 2, 5000, 1, 42, comm);
    const e = t.create(dev, 0x1, 0xfffff000, 2 ** 40, EntryType.Single, Dir.ToDevice, 0, mapped);
    t.setPhys(e, 0x2, 0x80000040);
    t.setStack(e, stack);
    t.link(e);
    const now = event(2 ** 40 + 3, 9, 123456789, 3, 2_147_483_647, -1, 9); // (the most pid_t holds: 10 digits)
    const id = h.put(
      'unmap-size-mismatch',
      'error',
      'some message',
      dev,
      'nvme',
      false,
      'a note',
      true,
      null,
      'file',
      now,
      t,
      e,
      6,
    );
    // the entry changes (is freed and its slot reused) while the finding is held
    t.release(e);
    const other = t.create(dev, 0, 0x1000, 64, EntryType.Coherent, Dir.FromDevice, 0, event(99, 1, 0, 0, 1, -1));
    assert.equal(other, e);
    assert.deepEqual(h.take(id, names), {
      check: 'unmap-size-mismatch',
      severity: 'error',
      message: 'some message',
      device: '0000:00:02.0',
      driver: 'nvme',
      bare: false,
      at: { line: 2 ** 40 + 3, positions: 'file', ts: '9.123456789', cpu: 3, pid: 2_147_483_647, comm: '' },
      stack: null,
      mapping: {
        type: 'single',
        direction: 'DMA_TO_DEVICE',
        dmaAddr: '0x00000001fffff000',
        size: 2 ** 40,
        physAddr: '0x0000000280000040',
        sgCallEnts: 0,
        sgMappedEnts: 0,
        mappedAt: { line: 7, positions: 'file', ts: '2.000005', cpu: 1, pid: 42, comm: 'fio' },
        stack: ['dma_map_page_attrs+0x10', 'nvme_queue_rq+0x20'],
      },
      note: 'a note',
      shown: true,
      kernelFalsePositive: null,
    });
    assert.equal(h.size, 0);
  });

  it('a finding made by no event, about no mapping, with no note', () => {
    const { names, t, h } = setup();
    const id = h.put('pool-grown', 'info', 'grown', -1, null, true, null, false, 'why not', 'line', null, t, -1, 6);
    const f = h.take(id, names);
    assert.deepEqual(f.at, { line: 0, positions: 'line', ts: '', cpu: 0, pid: 0, comm: '' });
    assert.equal(f.device, null);
    assert.equal(f.mapping, null);
    assert.equal(f.note, null);
    assert.equal(f.bare, true);
    assert.equal(f.shown, false);
    assert.equal(f.kernelFalsePositive, 'why not');
  });

  it('a downgrade and the call stack that came meanwhile; the mapping made by that call gets its stack', () => {
    const { names, t, h, dev, comm, stack } = setup();
    const call = event(11, 3, 0, 2, 5, comm);
    const e = t.create(dev, 0, 0x2000, 512, EntryType.Single, Dir.FromDevice, 0, call);
    t.link(e);
    const a = h.put(
      'cacheline-overlap',
      'error',
      'made by the map',
      dev,
      null,
      false,
      null,
      true,
      null,
      'line',
      call,
      t,
      e,
      6,
    );
    const b = h.put(
      'unmap-not-mapped',
      'error',
      'another',
      dev,
      null,
      false,
      'old note',
      true,
      null,
      'line',
      event(12, 3, 1, 0, 5, comm),
      t,
      e,
      6,
    );
    h.setCallStack(a, stack);
    h.setCallStack(b, stack);
    h.downgrade(b, 'CPU 1 lost events');
    const fa = h.take(a, names);
    assert.deepEqual(fa.stack, ['dma_map_page_attrs+0x10', 'nvme_queue_rq+0x20']);
    assert.equal(fa.mapping!.stack, fa.stack, 'the same call made the mapping');
    const fb = h.take(b, names);
    assert.equal(fb.severity, 'unconfirmed');
    assert.equal(fb.note, 'CPU 1 lost events');
    assert.deepEqual(fb.stack, fa.stack);
    assert.equal(fb.mapping!.stack, null, 'made by another call (line 11, the finding is at line 12)');
  });

  it('keeps every text exactly over many pages: non-ASCII, lone surrogates, empty and long ones, downgrades', () => {
    const { names, t, h, dev, comm } = setup();
    const texts = (i: number): [string, string | null] => {
      switch (i % 6) {
        case 0:
          return [`plain ${i}`, null];
        case 1:
          return [`ünïcødé ${i} 🐛`, `note ${i}`];
        case 2:
          return [`lone \ud800 surrogate ${i}`, `and \udc00 in the note ${i}`];
        case 3:
          return ['', ''];
        case 4:
          return ['x'.repeat(5000 + i), `n${i}`];
        default:
          return [`m${i}`, 'ok \udfff'];
      }
    };
    const e = t.create(dev, 0, 0x4000, 4096, EntryType.Single, Dir.ToDevice, 0, null);
    t.link(e);
    const n = 3 * 4096 + 17;
    let taken = 0;
    const check = (id: number) => {
      const f = h.take(id, names);
      const [m, note] = texts(id);
      assert.equal(f.message, m);
      assert.equal(f.note, id % 7 === 0 ? `down ${id}` : note);
      assert.equal(f.severity, id % 7 === 0 ? 'unconfirmed' : 'info');
      assert.equal(f.at.line, id + 1);
      assert.equal(f.mapping !== null, id % 3 === 0);
      taken++;
    };
    let peak = 0;
    for (let i = 0; i < n; i++) {
      const [m, note] = texts(i);
      h.put(
        'cacheline-overlap',
        'info',
        m,
        dev,
        null,
        false,
        note,
        true,
        null,
        'line',
        event(i + 1, i, 0, 0, 1, comm),
        t,
        i % 3 === 0 ? e : -1,
        6,
      );
      // a late notice turns some unconfirmed, in the page being filled or in a packed one
      if (i % 7 === 3 && i >= 3 && i - 3 >= taken) h.downgrade(i - 3, `down ${i - 3}`);
      peak = Math.max(peak, h.bytes);
      // let some out as it goes: the oldest page empties while later ones fill
      if (i % 5 === 4) check(taken);
    }
    assert.equal(h.size, n - taken);
    while (taken < n) check(taken);
    assert.equal(h.size, 0);
    assert.ok(h.bytes < peak / 4, `memory follows what is held: ${h.bytes} bytes now, ${peak} at the most`);
  });

  it('lets findings out in the order they were made only', () => {
    const { names, t, h } = setup();
    const a = h.put('pool-grown', 'info', 'a', -1, null, false, null, true, null, 'line', null, t, -1, 6);
    const b = h.put('pool-grown', 'info', 'b', -1, null, false, null, true, null, 'line', null, t, -1, 6);
    assert.throws(() => h.take(b, names), /out of order/);
    assert.equal(h.take(a, names).message, 'a');
    assert.equal(h.take(b, names).message, 'b');
    assert.throws(() => h.take(b + 1, names), /out of order/);
  });

  it("a snapshot now (the dump's) is the one a finding about the entry carries", () => {
    const { names, t, h, dev, comm, stack } = setup();
    const e = t.create(
      dev,
      0xffffffff,
      0xfffff000,
      8192,
      EntryType.Sg,
      Dir.Bidirectional,
      0,
      event(3, 1, 999, 1, 2, comm, 9),
    );
    t.setSg(e, 3, 2);
    t.setStack(e, stack);
    t.link(e);
    const now = h.mappingNow(t, e, 9, names, 'cpu-data');
    const id = h.put('leak-at-unbind', 'info', 'leak', dev, null, false, null, true, null, 'cpu-data', null, t, e, 9);
    assert.deepEqual(h.take(id, names).mapping, now);
    assert.equal(now.sgCallEnts, 3);
    assert.equal(now.sgMappedEnts, 2);
    assert.equal(now.mappedAt.ts, '1.000000999');
    assert.equal(now.dmaAddr, '0xfffffffffffff000');
  });
});
