// Every kernel-7.3 fixture's trace.txt parses fully and exactly: no warnings,
// one event per dma/kmem line, and each dma line's kind, direction,
// addresses, size and attrs as an independent (slow, regex) reading of the
// line gives them from dma.h's print formats and the vocabulary's attr names.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { Names } from '../../src/base/interner.js';
import { hex } from '../../src/base/u64.js';
import { type DmaEvent, EventKind as K } from '../../src/engine/events.js';
import { ATTR_NAMES, kindOf, TRACED_EVENTS, tracedEventIndex } from '../../src/events/vocabulary.js';
import { TextParser } from '../../src/input/text-parser.js';

const FIXTURES_73 = resolve(process.cwd(), '../shared/fixtures/kernel-7.3');
const DIRS: Record<string, number> = { BIDIRECTIONAL: 0, TO_DEVICE: 1, FROM_DEVICE: 2, NONE: 3 };
const BITS = new Map(ATTR_NAMES);

function scenarios(): string[] {
  if (!existsSync(FIXTURES_73)) return [];
  return readdirSync(FIXTURES_73)
    .filter((d) => existsSync(join(FIXTURES_73, d, 'trace.txt')))
    .sort();
}

/** What a dma line says, read with regexes: kind, dir, dma_addr, phys_addr, size, attrs. */
function reference(event: string, payload: string): string {
  const kv = new Map<string, string>();
  for (const t of payload.trim().split(/ +/)) {
    const q = t.indexOf('=');
    if (q > 0) kv.set(t.slice(0, q), t.slice(q + 1));
  }
  let attrs = 0;
  for (const a of (kv.get('attrs') ?? '').split('|')) {
    if (a === '') continue;
    const bit = BITS.get(a);
    assert.ok(bit !== undefined, `attr ${a} is not in ATTR_NAMES`);
    attrs |= bit;
  }
  const kind = kindOf(TRACED_EVENTS[tracedEventIndex(event)]!, attrs);
  const h = (k: string) => (kv.has(k) ? BigInt(`0x${kv.get(k)}`).toString(16) : '-');
  return [
    kind,
    kv.has('dir') ? DIRS[kv.get('dir')!] : '-',
    h('dma_addr'),
    h('phys_addr'),
    kv.get('size') ?? '-',
    attrs,
  ].join(' ');
}

function mine(ev: DmaEvent, payload: string): string {
  const has = (k: string) => payload.includes(` ${k}=`);
  return [
    ev.kind,
    has('dir') ? ev.dir : '-',
    has('dma_addr') ? hex(ev.addrHi, ev.addrLo) : '-',
    has('phys_addr') ? hex(ev.physHi, ev.physLo) : '-',
    has('size') ? ev.size : '-',
    ev.attrs,
  ].join(' ');
}

describe('kernel-7.3 text fixtures parse fully and exactly', () => {
  const all = scenarios();
  if (all.length === 0) {
    test('fixtures', (t) => t.skip(`no fixtures at ${FIXTURES_73}`));
    return;
  }
  for (const scenario of all) {
    test(scenario, { timeout: 120_000 }, () => {
      const path = join(FIXTURES_73, scenario, 'trace.txt');
      const bytes = readFileSync(path);
      const names = new Names();
      const byLine = new Map<number, DmaEvent>();
      let pageFrees = 0;
      const parser = new TextParser({
        names,
        file: path,
        sink: (ev) => {
          if (ev.kind === K.PageFree) pageFrees++;
          else if (ev.kind < K.PageFree) byLine.set(ev.line, ev.clone());
        },
      });
      parser.push(bytes);
      parser.end();
      assert.deepEqual(parser.warningList, []);
      const lines = bytes.toString('latin1').split('\n');
      let dmaLines = 0;
      let pageFreeLines = 0;
      for (let i = 0; i < lines.length; i++) {
        const m = / (dma_\w+|mm_page_free\w*): (.*)$/.exec(lines[i]!);
        if (m === null) continue;
        assert.ok(tracedEventIndex(m[1]!) >= 0, `line ${i + 1}: unknown event ${m[1]}`);
        if (m[1]!.startsWith('mm_')) {
          pageFreeLines++;
          continue;
        }
        dmaLines++;
        const ev = byLine.get(i + 1);
        assert.ok(ev, `line ${i + 1} gave no event: ${lines[i]}`);
        assert.equal(mine(ev, ` ${m[2]}`), reference(m[1]!, m[2]!), `line ${i + 1}: ${lines[i]}`);
      }
      assert.equal(byLine.size, dmaLines);
      assert.equal(pageFrees, pageFreeLines);
      assert.ok(dmaLines > 0);
      assert.equal(parser.facts.mapEvents, 'phys');
    });
  }
});
