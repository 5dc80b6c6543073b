// A fake tracefs for `live` tests (and bench/bench-live.ts): a temp directory
// with the enable files, events/header_page, header_event and the dma/kmem
// format files copied from a 6.12 fixture, trace_pipe and per_cpu/cpuN/
// trace_pipe_raw as FIFOs, and
// helpers to encode ring-buffer pages in that fixture's layout (the writer's
// standard events under the fixture's event ids; the layouts are checked to
// agree field by field).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FormatField, parseEventFormat } from '../../src/input/tracedat-format.js';
import { fixture } from './fixtures.js';
import { type EventDef, formatText, standardEvents, type WRecord } from './tracedat-writer.js';

export const FORMATS = fixture('bug-unmap-size', 'formats');

export function mkfifo(path: string): void {
  const r = spawnSync('mkfifo', [path]);
  assert.equal(r.status, 0, `mkfifo ${path}`);
}

export interface FakeTracefsOptions {
  cpus?: number;
  /** Make per_cpu/cpuN/trace_pipe_raw FIFOs (default true). */
  raw?: boolean;
  cmdlines?: string;
  /** Where header_page, header_event and dma/, kmem/ *.format come from (default FORMATS). */
  formatsDir?: string;
}

/** Builds the directory; returns it. The caller removes it. */
export function fakeTracefs(opts: FakeTracefsOptions = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'dmadebug-tracefs-raw-'));
  const formats = opts.formatsDir ?? FORMATS;
  const ev = join(dir, 'events');
  mkdirSync(ev, { recursive: true });
  copyFileSync(join(formats, 'header_page'), join(ev, 'header_page'));
  copyFileSync(join(formats, 'header_event'), join(ev, 'header_event'));
  for (const sys of ['dma', 'kmem']) {
    for (const f of readdirSync(join(formats, sys))) {
      const name = f.replace(/\.format$/, '');
      mkdirSync(join(ev, sys, name), { recursive: true });
      copyFileSync(join(formats, sys, f), join(ev, sys, name, 'format'));
      writeFileSync(join(ev, sys, name, 'enable'), '0\n');
    }
  }
  mkdirSync(join(dir, 'options'));
  writeFileSync(join(dir, 'options', 'stacktrace'), '0\n');
  writeFileSync(join(dir, 'tracing_on'), '0\n');
  if (opts.cmdlines !== undefined) writeFileSync(join(dir, 'saved_cmdlines'), opts.cmdlines);
  mkfifo(join(dir, 'trace_pipe'));
  for (let c = 0; c < (opts.cpus ?? 2); c++) {
    mkdirSync(join(dir, 'per_cpu', `cpu${c}`), { recursive: true });
    if (opts.raw !== false) mkfifo(join(dir, 'per_cpu', `cpu${c}`, 'trace_pipe_raw'));
  }
  return dir;
}

/** The enable files and tracing_on, in a fixed order, with their values. */
export function enableValues(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const sys of ['dma', 'kmem']) {
    for (const n of readdirSync(join(dir, 'events', sys)).sort()) {
      out[`${sys}/${n}`] = readFileSync(join(dir, 'events', sys, n, 'enable'), 'utf8').trim();
    }
  }
  out.tracing_on = readFileSync(join(dir, 'tracing_on'), 'utf8').trim();
  return out;
}

/**
 * The writer's standard events with the fixture's ids, for those the fixture
 * has; asserts the writer lays each out exactly as the fixture's format does.
 */
export function fixtureEvents(): EventDef[] {
  const out: EventDef[] = [];
  for (const def of standardEvents()) {
    let text: string;
    try {
      text = readFileSync(join(FORMATS, def.system, `${def.name}.format`), 'latin1');
    } catch {
      continue;
    }
    const real = parseEventFormat(text, def.system, 8);
    assert.ok(real, def.name);
    const mine = parseEventFormat(formatText(def, 8), def.system, 8);
    assert.ok(mine);
    for (const f of real.fields) {
      const m: FormatField | undefined = mine.fields.find((x) => x.name === f.name);
      assert.ok(m, `${def.name}: the writer has no ${f.name}`);
      assert.equal(m.offset, f.offset, `${def.name}.${f.name} offset`);
      assert.equal(m.size, f.size, `${def.name}.${f.name} size`);
    }
    out.push({ ...def, id: real.id });
  }
  return out;
}

const DEV = '0000:00:03.0';

/**
 * `rounds` rounds of DMA-API traffic spread over `cpus` CPUs, each mapping
 * made on one CPU and released on another a little later (so a merge that
 * ignored time would misreport), plus one unmap with the wrong size.
 */
export function scenario(rounds: number, cpus = 2, t0 = 5_000_000_000n): WRecord[] {
  const recs: WRecord[] = [];
  let t = t0;
  const at = (cpu: number, event: string, values: WRecord['values'], pid = 100 + cpu) => {
    recs.push({ cpu: cpu % cpus, ts: t, pid, event, values });
    t += 700n;
  };
  for (let i = 0; i < rounds; i++) {
    const a = 0x10000000 + (i % 4096) * 0x1000;
    const c = i % cpus;
    at(c, 'dma_map_page', { device: DEV, phys_addr: a, dma_addr: a, size: 512, dir: 1, attrs: 0 });
    at(c + 1, 'dma_sync_single_for_cpu', { device: DEV, dma_addr: a, size: 512, dir: 1 });
    at(c + 1, 'dma_unmap_page', { device: DEV, addr: a, size: 512, dir: 1, attrs: 0 });
    if (i % 8 === 0) {
      const d = 0x20000000 + (i % 4096) * 0x4000;
      at(c + 1, 'dma_map_sg', {
        device: DEV,
        full_nents: 2,
        full_ents: 2,
        truncated: 0,
        phys_addrs: [d, d + 0x2000],
        dma_addrs: [d, d + 0x2000],
        lengths: [2048, 4096],
        dir: 2,
        attrs: 0,
      });
      at(c, 'dma_unmap_sg', { device: DEV, addrs: [d, d + 0x2000], dir: 2, attrs: 0 });
      at(c, 'dma_alloc', {
        device: DEV,
        virt_addr: 0xffff888000000000n + BigInt(d),
        dma_addr: d + 0x8000,
        size: 1024,
        flags: 0,
        dir: 0,
        attrs: 0,
      });
      at(c + 1, 'dma_free', {
        device: DEV,
        virt_addr: 0xffff888000000000n + BigInt(d),
        dma_addr: d + 0x8000,
        size: 1024,
        dir: 0,
        attrs: 0,
      });
      at(c, 'mm_page_free', { pfn: 0x30000 + i, order: 0 });
    }
    if (i === Math.floor(rounds / 2)) {
      const b = 0x7000000;
      at(c, 'dma_map_page', { device: DEV, phys_addr: b, dma_addr: b, size: 1024, dir: 2, attrs: 0 });
      at(c + 1, 'dma_unmap_page', { device: DEV, addr: b, size: 512, dir: 2, attrs: 0 });
    }
  }
  return recs;
}

/** Sets the missing-events bit (with a stored count, or without) on sub-buffer `page` of a CPU's bytes. */
export function markLost(bytes: Uint8Array, page: number, count: number | null, subbuf = 4096): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const base = page * subbuf;
  const commit = dv.getUint32(base + 8, true);
  const size = commit & ((1 << 27) - 1);
  dv.setUint32(base + 8, (commit | 0x80000000 | (count === null ? 0 : 0x40000000)) >>> 0, true);
  if (count !== null) {
    assert.ok(16 + size + 8 <= subbuf, 'room for the lost count');
    dv.setBigUint64(base + 16 + size, BigInt(count), true);
  }
}
