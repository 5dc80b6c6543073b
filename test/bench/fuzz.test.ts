// The fuzz harness itself (bench/fuzz.ts, `npm run fuzz`): each target makes
// and runs 150 inputs for a fixed seed with no failure (the fixed bugs stay
// fixed, and the harness runs end to end: seeds, runner, CLI confirmations,
// summary lines), and the same (seed, index) makes the same input (a saved
// failure can be replayed).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Rng } from '../../bench/fuzz/mutate.js';
import { SidecarTarget } from '../../bench/fuzz/sidecar.js';
import { fixtureRoot } from '../../bench/fuzz/target.js';
import { TextTarget } from '../../bench/fuzz/text.js';
import { TraceDatTarget } from '../../bench/fuzz/tracedat.js';

const out = mkdtempSync(join(tmpdir(), 'dmadebug-fuzz-test-'));
after(() => rmSync(out, { recursive: true, force: true }));
const skip = !existsSync(join(fixtureRoot(), 'kernel-7.3')) && 'no fixtures';

function fuzz(args: string[]): { code: number | null; err: string } {
  const r = spawnSync(process.execPath, ['dist/bench/fuzz.js', '--out', out, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, err: r.stderr };
}

describe('npm run fuzz', { skip }, () => {
  it('every target: 150 inputs of seed 7, no crash, hang or memory failure', () => {
    const r = fuzz(['--target', 'all', '--runs', '150', '--seed', '7', '--confirm-every', '75']);
    assert.equal(r.code, 0, r.err);
    for (const t of ['text', 'tracedat', 'json-sidecar']) {
      assert.match(
        r.err,
        new RegExp(
          `^fuzz ${t}: 150 inputs, 0 crashes, 0 hangs, 0 memory failures, [\\d.]+ s, \\d+ inputs/s \\(seed 7, 2 CLI runs\\)$`,
          'm',
        ),
      );
    }
  });

  it('an input is made again from (seed, index) alone', () => {
    for (const T of [TextTarget, TraceDatTarget, SidecarTarget]) {
      const a = new T();
      const b = new T();
      a.prepare(3);
      b.prepare(3);
      for (const i of [0, 17, 999]) {
        const x = a.make(new Rng(3, i));
        const y = b.make(new Rng(3, i));
        assert.deepEqual(y, x, `${a.name} input ${i}`);
      }
    }
  });

  it('usage errors exit 2', () => {
    assert.equal(fuzz(['--target', 'nope']).code, 2);
    assert.equal(fuzz(['--runs', 'x']).code, 2);
  });
});
