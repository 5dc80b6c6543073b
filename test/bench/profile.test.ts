import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type CpuProfile, parseTaskStat, report, summarize, threadName, threadTable } from '../../bench/profile.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const profileJs = path.join(here, '..', '..', 'bench', 'profile.js');

/**
 * A profile of a worker: root -> main (the worker's script) -> outer -> inner,
 * plus idle and GC leaves. Samples: inner 3 ms, outer 1 ms, idle 2 ms, GC 1 ms.
 */
function fixture(): CpuProfile {
  const frame = (functionName: string, url = '', lineNumber = -1) => ({
    functionName,
    url,
    lineNumber,
    columnNumber: 0,
  });
  const w = 'file:///x/dist/bundle/cli/text-worker.js';
  const c = 'file:///x/dist/bundle/cli/chunk.js';
  return {
    startTime: 0,
    endTime: 8000, // 8 ms span
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 5, 6] },
      { id: 2, callFrame: frame('', w, 0), children: [3] },
      { id: 3, callFrame: frame('outer', c, 9), children: [4], positionTicks: [{ line: 11, ticks: 1 }] },
      { id: 4, callFrame: frame('inner', c, 19), positionTicks: [{ line: 21, ticks: 3 }] },
      { id: 5, callFrame: frame('(idle)') },
      { id: 6, callFrame: frame('(garbage collector)') },
    ],
    samples: [4, 4, 5, 3, 4, 5, 6],
    timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000],
  };
}

describe('bench/profile', () => {
  it('charges self and inclusive time, idle and GC, and names the thread by its worker script', () => {
    const s = summarize(fixture());
    assert.equal(s.name, 'text-worker');
    assert.equal(s.spanMs, 8);
    assert.equal(s.idleMs, 2);
    assert.equal(s.gcMs, 1);
    assert.deepEqual(
      s.self.map((c) => [c.key, c.ms]),
      [
        ['inner cli/chunk.js:20', 3],
        ['(idle)', 2],
        ['outer cli/chunk.js:10', 1],
        ['(garbage collector)', 1],
      ],
    );
    const incl = new Map(s.inclusive.map((c) => [c.key, c.ms]));
    assert.equal(incl.get('outer cli/chunk.js:10'), 4); // its own 1 + inner's 3
    assert.equal(incl.get('inner cli/chunk.js:20'), 3);
    assert.equal(incl.has('(idle)'), false, 'pseudo frames are not listed as inclusive');
    assert.equal(s.self[0]!.share, 3 / 8);
  });

  it('converts line ticks at the mean sampling interval and maps positions through the mapper', () => {
    const s = summarize(fixture(), 20, 20, (url, line) => ({ file: `${url}.ts`, line: line + 100 }));
    assert.deepEqual(
      s.lines.map((c) => [c.key, c.ms]),
      [
        ['inner cli/chunk.js.ts:121', 3],
        ['outer cli/chunk.js.ts:111', 1],
      ],
    );
    assert.match(s.self[0]!.key, /^inner cli\/chunk\.js\.ts:120$/);
  });

  it('calls a profile without a worker script main, and prints every thread', () => {
    const p = fixture();
    for (const n of p.nodes) n.callFrame.url = n.callFrame.url.replace('text-worker', 'main');
    assert.equal(threadName(p), 'main');
    const out = report([summarize(fixture(), 3, 2)]);
    assert.match(out, /^text-worker: 8 ms span, 6 busy, 2 idle, 1 in garbage collection$/m);
    assert.ok(out.includes('  self time\n     37.5%      3 ms  inner cli/chunk.js:20\n'), out);
    assert.match(out, /hottest lines/);
  });

  it('says how to use it, on stderr with status 2 when no trace is named', () => {
    const r = spawnSync(process.execPath, [profileJs], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^usage: npm run profile -- FILE/);
    const h = spawnSync(process.execPath, [profileJs, '--help'], { encoding: 'utf8' });
    assert.equal(h.status, 0);
    assert.match(h.stdout, /^usage: /);
  });

  it("reads a thread's CPU and start from /proc/PID/task/TID/stat, a name with spaces and parentheses included", () => {
    // fields 14-15 utime stime = 120 30, field 22 starttime = 5012
    const line =
      '4242 (V8 (Default) x) S 1 4242 4242 0 -1 4194560 10 0 0 0 120 30 0 0 20 0 9 0 5012 999 99 18446744073709551615';
    assert.deepEqual(parseTaskStat(line), { ticks: 150, start: 5012 });
    assert.equal(parseTaskStat('garbage'), null);
    const out = threadTable(
      [
        { tid: 7, cpuMs: 1000, startMs: 0 },
        { tid: 9, cpuMs: 700, startMs: 180 },
      ],
      7,
    );
    assert.match(out, /^CPU by thread \(\/proc, under the profiler\): 1700 ms in all$/m);
    assert.ok(out.includes('\n  main thread        1000 ms CPU, started at +0 ms\n'), out);
    assert.ok(out.includes('\n  thread 9            700 ms CPU, started at +180 ms\n'), out);
  });

  it('reads /proc of a real process: this one', () => {
    const st = parseTaskStat(readFileSync(`/proc/${process.pid}/task/${process.pid}/stat`, 'utf8'));
    assert.ok(st && st.ticks >= 0 && st.start > 0);
  });
});
