// The command line as users run it: exit codes, stdout/stderr split, JSON
// schema, stdin, compressed inputs, bad inputs (one line, no stack trace).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { runDmadebug } from '../helpers/child.js';
import { fixture, kernelFixtures } from '../helpers/fixtures.js';

const dmadebug = runDmadebug;

const tmp = mkdtempSync(join(tmpdir(), 'dmadebug-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('exit codes and streams', () => {
  it('0 on a clean trace, summary on stderr only', () => {
    const r = dmadebug(['check', fixture('bug-clean')]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '');
    assert.match(r.err, /no errors/);
    assert.match(r.err, /coverage: from boot/);
  });

  it('1 with findings, printed like the kernel on stdout', () => {
    const r = dmadebug(['check', fixture('bug-unmap-size')]);
    assert.equal(r.code, 1);
    const first = r.out.split('\n')[0];
    assert.equal(
      first,
      'DMA-API: pci 0000:00:02.0: device driver frees DMA memory with different size [device address=0x000000000b513c00] [map size=1024 bytes] [unmap size=512 bytes]',
    );
    assert.match(r.out, /^ {2}at 2\.134502 cpu 1 insmod-102 \(.*trace\.txt:\d+\)$/m);
    assert.match(r.out, /^ {2}Mapped at 2\.134308 cpu 1 insmod-102 \(.*trace\.txt:\d+\)$/m);
  });

  it('Mapped at carries the stack when the trace has one', () => {
    const r = dmadebug(['check', fixture('bug-unmap-size-stack')]);
    assert.equal(r.code, 1);
    assert.match(r.out, / {3}=> dma_map_page_attrs/);
  });

  it('--device-driver gives the real driver name', () => {
    const r = dmadebug(['check', '--device-driver', '0000:00:02.0=dmabug', fixture('bug-unmap-size')]);
    assert.match(r.out, /^DMA-API: dmabug 0000:00:02\.0: device driver frees/);
  });

  it('2 for usage errors, with a one-line message', () => {
    for (const args of [['frobnicate'], ['check'], ['check', '--num-errors', 'x', 'f'], ['check', '--bogus', 'f']]) {
      const r = dmadebug(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.err, /^dmadebug: /);
      assert.doesNotMatch(r.err, /\n\s+at /);
    }
  });

  it('CMD --help is the page of that command; --help lists them all', () => {
    const all = dmadebug(['--help']);
    for (const c of ['check', 'dump', 'stats', 'live', 'record', 'report']) {
      assert.match(all.out, new RegExp(`^    dmadebug ${c} `, 'm'));
      const page = dmadebug([c, '--help']);
      assert.equal(page.code, 0);
      assert.match(page.out, new RegExp(`^NAME\n    dmadebug ${c} - `));
      assert.match(page.out, /\nEXIT STATUS\n/);
    }
    const check = dmadebug(['check', '--help']).out;
    assert.match(check, /--num-errors N/);
    assert.doesNotMatch(check, /--duration|--sysfs/);
    const live = dmadebug(['live', '--help']).out;
    assert.match(live, /--duration SECONDS/);
    assert.doesNotMatch(live, /--no-side|--instance/);
  });

  it('-h prints man-style help', () => {
    const r = dmadebug(['check', '-h']);
    assert.equal(r.code, 0);
    assert.match(r.out, /^NAME\n/);
    assert.match(r.out, /EXIT STATUS/);
  });
});

describe('bad input', () => {
  it('a missing file, a directory: exit 2, one line naming the file', () => {
    for (const p of [join(tmp, 'nope.txt'), tmp]) {
      const r = dmadebug(['check', p]);
      assert.equal(r.code, 2);
      const lines = r.err.trim().split('\n');
      assert.ok(
        lines.some((l) => l.startsWith('dmadebug: ') && l.includes(p)),
        r.err,
      );
      assert.doesNotMatch(r.err, /\n\s+at /);
    }
  });

  it('a text file that is not a trace (a dmesg): exit 2, one line', () => {
    const r = dmadebug(['check', fixture('bug-clean', 'dmesg.txt')]);
    assert.equal(r.code, 2);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, /dmesg\.txt: not an ftrace text trace/);
  });

  it('empty input is no trace: exit 2, one line (check, dump, stats; a file, stdin, an empty .gz)', () => {
    const empty = join(tmp, 'empty.txt');
    writeFileSync(empty, '');
    const gz = join(tmp, 'empty.gz');
    writeFileSync(gz, gzipSync(Buffer.alloc(0)));
    for (const [args, input] of [
      [['check', empty], undefined],
      [['dump', empty], undefined],
      [['stats', empty], undefined],
      [['check', '-'], ''],
      [['check', gz], undefined],
    ] as Array<[string[], string | undefined]>) {
      const r = dmadebug(args, input);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(
        r.err,
        /^dmadebug: .*: byte 0: the input is empty \(expected an ftrace text trace or a trace\.dat\)\n$/,
      );
    }
  });

  it("trace-cmd report of a trace with no events (only 'cpus=N') is a clean, empty trace", () => {
    const p = join(tmp, 'no-events.txt');
    writeFileSync(p, 'cpus=2\n');
    const r = dmadebug(['check', p]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /coverage: no events were read/);
  });

  it('--instance on text input: exit 2, one line saying it applies to trace.dat', () => {
    const r = dmadebug(['check', '--instance', 'oracle', fixture('bug-clean')]);
    assert.equal(r.code, 2);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, /--instance selects a buffer of a trace\.dat, and this input is text/);
    // a compressed trace.dat is still a trace.dat
    const gz = join(tmp, 'record.dat.gz');
    writeFileSync(gz, gzipSync(readFileSync(fixture('real-devices-direct', 'trace-record.dat'))));
    const ok = dmadebug(['check', '-q', '--instance', 'oracle', gz]);
    assert.equal(ok.code, 0, ok.err);
  });

  it('binary garbage: exit 2, one line, no stack trace', () => {
    const p = join(tmp, 'garbage.bin');
    const b = Buffer.alloc(4096);
    for (let i = 0; i < b.length; i++) b[i] = (i * 7919) & 0xff;
    writeFileSync(p, b);
    const r = dmadebug(['check', p]);
    assert.equal(r.code, 2);
    assert.match(r.err, /garbage\.bin/);
    assert.doesNotMatch(r.err, /\n\s+at /);
  });

  it('a malformed dma line is a counted lost event; findings on mappings made after it still come', () => {
    const src = readFileSync(fixture('bug-unmap-size'), 'utf8').split('\n');
    const i = src.findIndex((l) => l.includes('dma_map_page: 0000:00:02.0'));
    src.splice(
      i,
      0,
      '          insmod-102     [001] .....     2.132000: dma_map_page: 0000:00:02.0 dir=TO_DEVICE dma_addr=zz size=12',
    );
    const p = join(tmp, 'malformed.txt');
    writeFileSync(p, src.join('\n'));
    const r = dmadebug(['check', '-v', p]);
    assert.equal(r.code, 1);
    assert.match(r.out, /different size/);
    assert.match(r.err, /damaged: 1 line could not be read \(cpu1:1\)/);
    assert.match(r.err, new RegExp(`line ${i + 1}: dma_map_page: .*counted as a lost event on CPU 1`));
  });

  it('a truncated last line still yields every finding before it', () => {
    const full = readFileSync(fixture('bug-unmap-size'));
    const text = full.toString('utf8');
    const cut = text.indexOf('\n', text.indexOf('BAD-END')) + 40;
    const p = join(tmp, 'truncated.txt');
    writeFileSync(p, full.subarray(0, cut));
    const r = dmadebug(['check', p]);
    assert.equal(r.code, 1);
    assert.match(r.out, /different size/);
  });
});

describe('damaged lines', () => {
  const clean = join(kernelFixtures('6.12'), 'bug-clean', 'trace.txt');

  it('a from-boot fixture with one dma_map_page line cut short: no errors, exit 0 (was 2 proven errors, exit 1)', () => {
    const src = readFileSync(clean, 'utf8').split('\n');
    const i = src.findIndex((l) => l.includes(': dma_map_page: 0000:00:02.0 dir=TO_DEVICE dma_addr=bba7c00'));
    assert.ok(i > 0);
    src[i] = src[i]!.slice(0, src[i]!.indexOf(' dir=') + ' di'.length); // `… dma_map_page: 0000:00:02.0 di`
    const p = join(tmp, 'cut-map.txt');
    writeFileSync(p, src.join('\n'));
    const r = dmadebug(['check', '-v', p]);
    assert.equal(r.code, 0, r.out + r.err);
    // its sync and unmap find no mapping: unconfirmed, not errors
    assert.equal((r.out.match(/^\[unconfirmed\] DMA-API: /gm) ?? []).length, 2, r.out);
    assert.doesNotMatch(r.out, /^DMA-API: /m);
    assert.match(r.err, /^dmadebug: no errors, 2 unconfirmed/m);
    assert.match(
      r.err,
      new RegExp(`: line ${i + 1}: dma_map_page: .*\\(damaged line: counted as a lost event on CPU 1\\)`),
    );
    assert.match(r.err, /coverage: from boot, with gaps /);
    assert.match(r.err, /damaged: 1 line could not be read \(cpu1:1\)/);
    const j = dmadebug(['check', '--json', p]);
    const summary = JSON.parse(j.out.trim().split('\n').at(-1)!);
    assert.equal(summary.error_count, 0);
    assert.equal(summary.coverage.from_boot, true);
    assert.equal(summary.coverage.complete, false);
    assert.equal(summary.coverage.damaged_lines, 1);
    assert.deepEqual(summary.coverage.damaged_by_cpu, { 1: 1 });
    assert.equal(summary.coverage.loss_notices, 0);
  });

  it('-v lists a garbage line with its number; the undamaged fixture says nothing of damage', () => {
    const src = readFileSync(clean, 'utf8').split('\n');
    src.splice(1, 0, 'hello from a bug report');
    const p = join(tmp, 'garbage-line.txt');
    writeFileSync(p, src.join('\n'));
    const r = dmadebug(['check', '-v', p]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /garbage-line\.txt: line 2: not an event line$/m);
    assert.match(r.err, /1 malformed lines skipped \(-v lists them\)/);
    assert.match(r.err, /coverage: from boot \(/, 'a line before the first event hides no event');
    const ok = dmadebug(['check', '-v', clean]);
    assert.doesNotMatch(ok.err, /damaged|malformed|with gaps|not an event line/);
  });

  it('-v lists the first 1000 skipped lines, then how many more', () => {
    const src = readFileSync(clean, 'utf8').split('\n');
    src.splice(1, 0, ...Array.from({ length: 1500 }, (_, k) => `garbage ${k}`));
    const p = join(tmp, 'much-garbage.txt');
    writeFileSync(p, src.join('\n'));
    const r = dmadebug(['check', '-v', p]);
    assert.equal(r.code, 0, r.err);
    const listed = r.err.split('\n').filter((l) => l.endsWith(': not an event line'));
    assert.equal(listed.length, 1000);
    assert.match(listed[999]!, /: line 1001: not an event line$/);
    assert.match(r.err, /much-garbage\.txt: and 500 more lines skipped \(only the first 1000 are listed\)/);
  });
});

describe('inputs', () => {
  it('stdin (-) gives the same findings as the file', () => {
    const a = dmadebug(['check', '--json', fixture('bug-sync-sg-nents')]);
    const b = dmadebug(['check', '--json', '-'], readFileSync(fixture('bug-sync-sg-nents')));
    const strip = (s: string) =>
      s
        .split('\n')
        .filter((l) => l.includes('"finding"'))
        .map((l) => {
          const o = JSON.parse(l);
          delete o.source;
          if (o.mapping) delete o.mapping.mapped_at.source;
          return JSON.stringify(o);
        });
    assert.equal(b.code, 1);
    assert.deepEqual(strip(b.out), strip(a.out));
    assert.equal(strip(a.out).length, 3);
  });

  for (const [tool, ext] of [
    ['gzip', 'gz'],
    ['zstd', 'zst'],
    ['xz', 'xz'],
  ] as const) {
    it(`${tool}-compressed input is detected by its magic bytes`, () => {
      const p = join(tmp, `t-${tool}`);
      mkdirSync(p, { recursive: true });
      const plain = join(p, 'trace');
      copyFileSync(fixture('bug-unmap-dir'), plain);
      const c = spawnSync(tool, ['-q', '-k', '-f', plain]);
      assert.equal(c.status, 0, `${tool} missing?`);
      // The name does not matter: rename away the extension.
      const renamed = join(p, 'trace-compressed');
      copyFileSync(`${plain}.${ext}`, renamed);
      const r = dmadebug(['check', renamed]);
      assert.equal(r.code, 1, r.err);
      assert.match(r.out, /different direction/);
    });
  }
});

describe('JSON output', () => {
  it('one finding object per line, then a summary object', () => {
    const r = dmadebug(['check', '--json', fixture('bug-sync-cpu-readonly')]);
    assert.equal(r.code, 1);
    const objs = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const findings = objs.filter((o) => o.type === 'finding');
    assert.deepEqual(
      findings.map((f) => f.check),
      ['sync-direction-mismatch', 'sync-read-only-for-cpu'],
    );
    const f = findings[0];
    assert.equal(f.severity, 'error');
    assert.equal(f.device, '0000:00:02.0');
    assert.equal(f.driver, null);
    assert.equal(typeof f.ts, 'string');
    assert.equal(typeof f.cpu, 'number');
    assert.equal(typeof f.pid, 'number');
    assert.equal(typeof f.comm, 'string');
    assert.equal(typeof f.source.line, 'number');
    assert.equal(f.mapping.dma_addr, '0x000000000b897c00');
    assert.equal(f.mapping.direction, 'DMA_TO_DEVICE');
    assert.ok(!f.message.startsWith('DMA-API'));
    const s = objs[objs.length - 1];
    assert.equal(s.type, 'summary');
    assert.equal(typeof s.events, 'number');
    assert.deepEqual(s.findings, { 'sync-direction-mismatch': 1, 'sync-read-only-for-cpu': 1 });
    assert.equal(s.live, 6);
    assert.equal(s.coverage.from_boot, true);
  });
});

describe('dump', () => {
  it('prints the live entries in the kernel format', () => {
    const r = dmadebug(['dump', fixture('bug-unmap-size')]);
    assert.equal(r.code, 0);
    const kernel = readFileSync(fixture('bug-unmap-size', 'dma-api-dump.txt'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ').slice(1, 10).join(' '));
    const ours = r.out
      .trim()
      .split('\n')
      .map((l) => l.split(' ').slice(1, 10).join(' '));
    assert.deepEqual(ours, kernel);
  });

  it('marks a physical address it cannot know as unknown', () => {
    const r = dmadebug(['dump', fixture('bug-clean-iommu')]);
    assert.equal(r.code, 0);
    assert.match(r.out, /coherent idx 16288 P=unknown D=fff40000 L=16500 cln=unknown DMA_BIDIRECTIONAL/);
  });
});

describe('options', () => {
  it('--num-errors 1 shows one error like a fresh debug kernel', () => {
    const r = dmadebug(['check', '--num-errors', '1', fixture('bug-sync-sg-nents')]);
    assert.equal(r.code, 1);
    assert.equal((r.out.match(/^DMA-API:/gm) ?? []).length, 1);
  });

  it('--entries predicts the pool growth line', () => {
    const r = dmadebug(['check', '--entries', '256', fixture('bug-leak-many-smallpool')]);
    assert.match(r.out, /^DMA-API: dma_debug_entry pool grown to 512 \(200%\)$/m);
  });

  it('--not-from-boot makes an unknown unmap unconfirmed (exit 0)', () => {
    const r = dmadebug(['check', '--not-from-boot', fixture('bug-unmap-unmapped')]);
    assert.equal(r.code, 0);
    assert.match(
      r.out,
      /^\[unconfirmed\] DMA-API: pci 0000:00:02\.0: device driver tries to free DMA memory it has not allocated/m,
    );
  });

  it('-o writes findings to a file', () => {
    const p = join(tmp, 'out.txt');
    const r = dmadebug(['check', '-o', p, fixture('bug-unmap-dir')]);
    assert.equal(r.code, 1);
    assert.equal(r.out, '');
    assert.match(readFileSync(p, 'utf8'), /different direction/);
  });

  it('-q prints no summary', () => {
    const r = dmadebug(['check', '-q', fixture('bug-clean')]);
    assert.equal(r.err, '');
  });
});
