// The held-findings bench section (bench/bench-held.ts) end to end on small counts: its traces hold
// every error to the end (a CPU that shows no event), dmadebug reports each of them once, through
// the pipe, and the section reads the peak RSS and the exit status it prints.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runHeld } from '../../bench/bench-held.js';

const dir = mkdtempSync(join(tmpdir(), 'dmadebug-held-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'dmadebug.js');

describe('bench-held', () => {
  it('every error of its traces comes out once, exit 1, with a peak RSS; the traces are removed', () => {
    const time = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
    for (const t of [time, null]) {
      const rows = runHeld({ dir, bin, counts: [300, 5000], time: t, log: () => {} });
      assert.deepEqual(
        rows.map((r) => [r.errors, r.outLines, r.exit]),
        [
          [300, 600, 'exit 1'],
          [5000, 10000, 'exit 1'],
        ],
      );
      for (const r of rows) {
        assert.ok(r.rssKiB > 10_000 && r.rssKiB < 2_000_000, `peak RSS ${r.rssKiB} KiB`);
        assert.ok(r.bytes > r.errors * 100);
      }
    }
    assert.deepEqual(readdirSync(dir), []);
  });
});
