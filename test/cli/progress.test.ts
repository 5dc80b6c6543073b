// The progress line: throttled, one line rewritten in place, erased at the end.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Progress } from '../../src/cli/progress.js';

function fakeStream() {
  const writes: string[] = [];
  return { writes, stream: { write: (s: string) => writes.push(s) > 0 } as unknown as NodeJS.WriteStream };
}

describe('progress line', () => {
  it('shows percent of the total, is throttled to 4 updates a second, and is erased by done()', () => {
    const { writes, stream } = fakeStream();
    const p = new Progress(stream, 'dmadebug big.txt', 200 * 1048576);
    p.update(50 * 1048576, 1000);
    p.update(60 * 1048576, 2000); // within 250 ms: not written
    assert.deepEqual(writes, ['\r\x1b[Kdmadebug big.txt: 25% 50/200 MB, 1000 events']);
    p.done();
    assert.equal(writes[1], '\r\x1b[K');
  });

  it('without a known total it shows bytes only; nothing shown means nothing erased', () => {
    const { writes, stream } = fakeStream();
    new Progress(stream, 'x', undefined).done();
    assert.deepEqual(writes, []);
    const p = new Progress(stream, 'x', undefined);
    p.update(3 * 1048576, 7);
    assert.deepEqual(writes, ['\r\x1b[Kx: 3 MB, 7 events']);
  });
});
