// /proc/kallsyms as trace.dat stores it, read into the table that turns stack
// addresses into ftrace's `name+0xoff/0xsize [mod]`: which lines count, sizes
// up to the next symbol of the same module, the first of several aliases.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kallsyms } from '../../src/input/tracedat-format.js';

const TEXT = [
  'ffffffff81000000 T _stext',
  'ffffffff81000000 T _text',
  'ffffffff81000010 t  spaced\t\r',
  'ffffffff81000020 TT two-letter-type',
  'ffffffff81000030 a absolute',
  'ffffffff81000034 U undefined',
  '  ffffffff81000038 t leading-space',
  '1ffffffff81000038 T seventeen-digits',
  'ffffffff81000040 t after',
  'ffffffff81000048 t',
  'ffffffffa0000000 t foo\t[mod1]',
  'ffffffffa0000100 t bar [mod1]',
  'ffffffffa0000200 t baz [mod1',
  'ffffffffa0000300 t qux []',
  '0 T zero',
  'ffffffffa0000400 t tail',
].join('\n');

describe('Kallsyms', () => {
  const k = new Kallsyms(TEXT);
  const at = (lo: number) => k.lookup(0xffffffff, lo);

  it('takes code symbols of well-formed lines only', () => {
    // _stext _text spaced after foo bar baz qux tail
    assert.equal(k.size, 9);
  });

  it('names the first alias, with the size up to the next symbol kept', () => {
    assert.equal(at(0x81000004), '_stext+0x4/0x10');
    assert.equal(at(0x81000012), 'spaced+0x2/0x30');
  });

  it('sizes a module symbol by the next of its module only', () => {
    assert.equal(at(0xa0000010), 'foo+0x10/0x100 [mod1]');
    assert.equal(at(0xa0000110), null, 'the next symbol, baz, has no module: its bracket is not closed');
    assert.equal(at(0x81000044), null, 'after: the next symbol is a module one');
    assert.equal(at(0xa0000204), 'baz+0x4/0x100', 'qux, with an empty [], has no module either');
  });

  it('has nothing before the first symbol or past the last', () => {
    assert.equal(k.lookup(0xffffffff, 0x80000000), null);
    assert.equal(at(0xa0000404), null);
  });
});
