// Unit tests for block decompression (tracedat-inflate.ts): the WebAssembly
// zstd decoder gives byte for byte what fzstd gives, on frames made as
// trace-cmd makes them (no declared content size), and a block it cannot
// decode to its announced size is judged, and named, by fzstd as before.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { before, describe, test } from 'node:test';
import { onPath } from '../../src/input/source.js';
import { inflateBlock, zstdWasm, zstdWasmReady } from '../../src/input/tracedat-inflate.js';
import { chunkData } from './zstd-helpers.js';

/** A zstd frame of `data` from a stream, as trace-cmd writes them: no content size in its header. */
function frame(data: Uint8Array): Uint8Array {
  return new Uint8Array(execFileSync('zstd', ['-c', '-q'], { input: data }));
}

/** The block's bytes, or its error's message, through WebAssembly (true) or fzstd (false). */
function outcome(data: Uint8Array, usize: number, wasm: boolean): Uint8Array | string {
  try {
    return inflateBlock('zstd', data, usize, wasm);
  } catch (e) {
    return (e as Error).message;
  }
}

describe('zstd blocks', { skip: !onPath('zstd') && 'zstd is not on PATH (it makes the frames)' }, () => {
  before(() => zstdWasm());

  test('the WebAssembly decoder is made', () => {
    assert.equal(zstdWasmReady(), true);
  });

  test('sound frames: the same bytes through WebAssembly and fzstd, at every size up to past its limit', () => {
    const sizes = [1, 100, 4096, 12_345, 65_536, 1 << 20, (16 << 20) + 4096];
    for (const [k, size] of sizes.entries()) {
      const data = size > 1 << 20 ? new Uint8Array(size).fill(7) : chunkData(k, size);
      const f = frame(data);
      assert.equal(f[4]! >> 6, 0, 'no content size declared');
      const viaWasm = outcome(f, size, true);
      assert.ok(viaWasm instanceof Uint8Array, String(viaWasm));
      assert.deepEqual(viaWasm, data, `${size} bytes`);
      assert.deepEqual(outcome(f, size, false), data);
    }
  });

  test('a block it cannot decode to its announced size: fzstd judges it, with the same words', () => {
    const data = chunkData(99, 50_000);
    const f = frame(data);
    const broken = Uint8Array.from(f);
    const mid = Math.floor(f.length / 2);
    broken[mid] = broken[mid]! ^ 0xff;
    const cut = f.subarray(0, f.length - 100);
    const cases: Array<[string, Uint8Array, number]> = [
      ['announcing more than the frame holds', f, data.length + 4096],
      ['announcing less than the frame holds', f, data.length - 1],
      ['a broken frame', broken, data.length],
      ['a cut frame', cut, data.length],
    ];
    for (const [what, block, usize] of cases) {
      const viaFzstd = outcome(block, usize, false);
      assert.deepEqual(outcome(block, usize, true), viaFzstd, what);
    }
    // (and the announced-too-big case is an error, not bytes)
    assert.equal(typeof outcome(f, data.length + 4096, true), 'string');
  });
});
