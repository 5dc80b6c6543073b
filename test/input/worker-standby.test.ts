// A parsing worker started on standby (before the command line loads) is the
// worker the pipeline would start, and a run that takes it gives exactly what
// a run with a new worker gives; one nobody takes ends; and the launcher's
// guess follows the pipeline's own rule (threadedWorker), from the file's
// size and first bytes, never from its name.

import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { standByFor } from '../../src/cli/standby.js';
import type { Finding } from '../../src/engine/findings.js';
import {
  dropStandbys,
  standBy,
  standbyWaiting,
  THREADED_MIN_BYTES,
  THREADED_TEXT_MIN_BYTES,
  takeStandby,
  threadedWorker,
} from '../../src/input/worker-standby.js';
import { replay, summarize } from '../../src/pipeline.js';
import { fixturesOf } from '../helpers/fixtures.js';
import { fixture } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'dmadebug-standby-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => dropStandbys());

/** The script of the standby waiting to be taken, or null. */
function waitingScript(): string | null {
  return standbyWaiting()?.script ?? null;
}

/** Resolves once the waiting standby's thread has exited. */
function standbyExit(): Promise<void> {
  const w = standbyWaiting();
  assert.ok(w, 'a standby is waiting');
  return new Promise((resolve) => w.worker.once('exit', () => resolve()));
}

/** A sparse file of `size` bytes that starts with `head`. */
function sparse(name: string, head: number[], size: number): string {
  const path = join(tmp, name);
  const fd = openSync(path, 'w');
  writeSync(fd, Buffer.from(head), 0, head.length, 0);
  writeSync(fd, Buffer.from([0x0a]), 0, 1, size - 1);
  closeSync(fd);
  return path;
}

const DAT = [0x17, 0x08, 0x44, 0x74, 0x72, 0x61, 0x63, 0x69, 0x6e, 0x67, 0x00, 0x37];
const ZSTD = [0x28, 0xb5, 0x2f, 0xfd, 0x00];
const TEXT = [...Buffer.from('# tracer: nop\n')];

async function run(path: string, decodeThread?: boolean) {
  const findings: Finding[] = [];
  const r = await replay(path, {
    onFinding: (f) => findings.push(f),
    ...(decodeThread !== undefined ? { decodeThread } : {}),
  });
  return {
    findings,
    dump: [...r.engine.dump()],
    summary: summarize([path], r),
    events: r.parser.events,
    warnings: r.parser.warningList,
    facts: r.parser.facts,
    error: r.error?.message ?? null,
  };
}

describe('threadedWorker: the pipeline rule a standby guesses by', () => {
  it('a plain trace.dat from THREADED_MIN_BYTES, a compressed one never', () => {
    assert.equal(threadedWorker('tracedat', 'none', THREADED_MIN_BYTES), 'tracedat-worker.js');
    assert.equal(threadedWorker('tracedat', 'none', THREADED_MIN_BYTES - 1), null);
    assert.equal(threadedWorker('tracedat', 'zstd', 1 << 30), null);
  });
  it('text from THREADED_TEXT_MIN_BYTES, compressed text from a quarter of it', () => {
    assert.equal(threadedWorker('text', 'none', THREADED_TEXT_MIN_BYTES), 'text-worker.js');
    assert.equal(threadedWorker('text', 'none', THREADED_TEXT_MIN_BYTES - 1), null);
    assert.equal(threadedWorker('text', 'xz', THREADED_TEXT_MIN_BYTES / 4), 'text-worker.js');
    assert.equal(threadedWorker('text', 'gzip', THREADED_TEXT_MIN_BYTES / 4 - 1), null);
  });
});

describe('standBy: which worker, for which file', () => {
  it('looks at the first bytes and the size, not the name', () => {
    const dat = sparse('trace.txt', DAT, THREADED_MIN_BYTES);
    assert.equal(standBy([dat]), 'tracedat-worker.js');
    dropStandbys();
    const text = sparse('trace.dat', TEXT, THREADED_TEXT_MIN_BYTES);
    assert.equal(standBy([text]), 'text-worker.js');
    dropStandbys();
    const zst = sparse('big.zst', ZSTD, THREADED_TEXT_MIN_BYTES / 4);
    assert.equal(standBy([zst]), 'text-worker.js');
  });
  it('skips what the pipeline reads in its own thread, and what is no readable file', () => {
    const smallDat = sparse('small.dat', DAT, THREADED_MIN_BYTES - 1);
    const smallText = sparse('small.txt', TEXT, THREADED_TEXT_MIN_BYTES - 1);
    assert.equal(standBy([smallDat, smallText, tmp, join(tmp, 'missing'), '']), null);
    assert.equal(waitingScript(), null);
  });
  it('takes the first file that qualifies, and starts one worker only', () => {
    const small = sparse('small2.txt', TEXT, 100);
    const text = sparse('big2.txt', TEXT, THREADED_TEXT_MIN_BYTES);
    const dat = sparse('big2.dat', DAT, THREADED_MIN_BYTES);
    assert.equal(standBy([small, text, dat]), 'text-worker.js');
    assert.equal(standBy([dat]), null, 'a second standby');
    assert.equal(waitingScript(), 'text-worker.js');
  });
  it('the launcher asks only for commands that read traces, and passes the words that are no option', () => {
    const dat = sparse('cmd.dat', DAT, THREADED_MIN_BYTES);
    standByFor(['live', dat]);
    assert.equal(waitingScript(), null);
    standByFor(['check', '--format', 'json', '-q', dat]);
    assert.equal(waitingScript(), 'tracedat-worker.js');
  });
});

describe('takeStandby', () => {
  it('hands over only the worker running the script asked for, once', () => {
    standBy([sparse('take.dat', DAT, THREADED_MIN_BYTES)]);
    const text = new URL('../../src/input/text-worker.js', import.meta.url);
    assert.equal(takeStandby(text, {}), null);
    assert.notEqual(waitingScript(), null, 'still waiting for its taker');
    const dat = new URL('../../src/input/tracedat-worker.js', import.meta.url);
    const w = takeStandby(dat, { path: join(tmp, 'missing'), file: 'missing' });
    assert.ok(w);
    assert.equal(waitingScript(), null);
    assert.equal(takeStandby(dat, {}), null);
    return new Promise<void>((resolve, reject) => {
      w.on('message', (m: { type: string; error?: { detail: string } | null }) => {
        try {
          // the input it was handed is what it read: a missing file's error
          assert.equal(m.type, 'end');
          assert.match(m.error?.detail ?? '', /no such file/);
          resolve();
        } catch (e) {
          reject(e);
        } finally {
          void w.terminate();
        }
      });
    });
  });
  it('a standby nobody takes is ended', async () => {
    standBy([sparse('drop.dat', DAT, THREADED_MIN_BYTES)]);
    const gone = standbyExit();
    await dropStandbys();
    await gone;
    assert.equal(waitingScript(), null);
  });
});

describe('a run that takes a standby gives what a run with a new worker gives', () => {
  const k73 = fixturesOf('kernel-7.3');
  const dats = [fixture('real-devices-stack', 'trace.dat'), join(k73, 'bug-unmap-size', 'trace.dat')];
  for (const f of dats) {
    it(`trace.dat: ${f.split('/').slice(-3).join('/')}`, async () => {
      const fresh = await run(f, true);
      standBy([sparse('guess.dat', DAT, THREADED_MIN_BYTES)]);
      const taken = await run(f, true);
      assert.equal(waitingScript(), null, 'the run took it');
      assert.deepEqual(taken, fresh);
      assert.ok(fresh.events > 0);
    });
  }
  it('text: the compressed storm trace, which takes the worker by default', { timeout: 120_000 }, async () => {
    const f = fixture('storm', 'trace.txt.zst');
    standBy([f]);
    assert.equal(waitingScript(), 'text-worker.js');
    const taken = await run(f);
    assert.equal(waitingScript(), null, 'the run took it');
    const fresh = await run(f);
    assert.deepEqual(taken, fresh);
    assert.equal(fresh.events, 1432736);
  });
  it('a run that reads in its own thread ends the standby it did not take', async () => {
    standBy([sparse('unused.dat', DAT, THREADED_MIN_BYTES)]);
    const gone = standbyExit();
    await run(fixture('real-devices-stack', 'trace.dat'));
    assert.equal(waitingScript(), null);
    await gone;
  });
});
