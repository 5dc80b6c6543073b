// Every way output can fail, for every command: -o to a missing directory,
// to a directory, to a file that refuses writes (EACCES, even for root), to
// /dev/full, and stdout on /dev/full give one line naming the path and exit 2,
// never a stack trace and never 1 (which CI reads as "DMA bugs found"); -o is
// opened before the trace is read (record: before the command runs; live:
// before tracefs is touched). A reader that closes the pipe early (EPIPE)
// ends the run quietly: nothing on stderr, the status of what was found by
// then (check, live: 1 with errors found; the others 0).

import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { outputError } from '../../src/cli/output.js';
import { collect } from '../helpers/child.js';
import { enableValues, fakeTracefs } from '../helpers/fake-tracefs.js';
import { fixture } from '../helpers/fixtures.js';

const BIN = join(process.cwd(), 'bin', 'dmadebug.js');
/** One finding and six live entries at the end: every command has something to write. */
const TRACE = fixture('bug-unmap-size');
const TMP = mkdtempSync(join(tmpdir(), 'dmadebug-output-'));
const made: string[] = [TMP];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

const ENV = { ...process.env, NO_COLOR: '1' };
const MISSING = join(TMP, 'no', 'such', 'out.txt');
/** A file the kernel refuses to open for writing even for root (sysctl files are 0444 and checked as such). */
const READ_ONLY = '/proc/sys/kernel/ostype';

function refusesWrites(path: string): boolean {
  try {
    closeSync(openSync(path, 'w'));
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EACCES';
  }
}
const eacces = refusesWrites(READ_ONLY) ? false : `${READ_ONLY} can be opened for writing here: no EACCES to test`;

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** Runs the CLI with stdout to `stdout` (a file descriptor) or a pipe. */
function run(args: string[], stdout?: number, stderr?: number): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: ENV,
    encoding: 'utf8',
    stdio: ['pipe', stdout ?? 'pipe', stderr ?? 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

/** With stdout on /dev/full. */
function runFull(args: string[]): Run {
  const fd = openSync('/dev/full', 'w');
  try {
    return run(args, fd);
  } finally {
    closeSync(fd);
  }
}

/** Exit 2 and exactly one line on stderr, the one given: no stack trace, no summary. */
function assertOutputError(r: Run, path: string, reason: string, code: string): void {
  assert.equal(r.err, `dmadebug: cannot write ${path}: ${reason} (${code})\n`);
  assert.equal(r.code, 2, r.err);
}

/**
 * Spawns the CLI with stdout piped and closes the pipe after the first chunk
 * (`| head -c ...`): its exit code and everything it wrote on stderr.
 */
async function closedEarly(args: string[], setup?: (child: ChildProcess) => void): Promise<Run & { got: number }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let got = 0;
  child.stdout!.once('data', (d: Buffer) => {
    got = d.length;
    child.stdout!.destroy();
  });
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  setup?.(child);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  return { code, out: '', err, got };
}

/** Resolves with the exit code, or rejects if the child still runs after `ms` (it waits for the input). */
function exitsWithin(child: ChildProcess, ms: number): Promise<Run> {
  const done = collect(child);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`still running after ${ms} ms: the output was not opened before the input was read`));
    }, ms);
    void done.then((r) => {
      clearTimeout(t);
      resolve(r);
    });
  });
}

/** A text trace of `n` unmaps with the wrong size: n error findings, ~270 bytes of output each. */
function manyFindings(n: number): string {
  const lines = ['# tracer: nop\n#\n'];
  let t = 1_000_000;
  const ts = () => `${Math.floor(t / 1e6)}.${String(t++ % 1e6).padStart(6, '0')}`;
  for (let i = 0; i < n; i++) {
    const a = (0xb000000 + i * 0x1000).toString(16);
    lines.push(
      `          insmod-102     [001] .....     ${ts()}: dma_map_page: 0000:00:02.0 dir=TO_DEVICE dma_addr=${a} size=1024 phys_addr=${a} attrs=\n`,
      `          insmod-102     [001] .....     ${ts()}: dma_unmap_page: 0000:00:02.0 dir=TO_DEVICE dma_addr=${a} size=512 attrs=\n`,
    );
  }
  return lines.join('');
}

/** A text trace of `n` devices with one live mapping each: a long dump, a long stats table. */
function manyDevices(n: number): string {
  const lines = ['# tracer: nop\n#\n'];
  for (let i = 0; i < n; i++) {
    const dev = `0000:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}.0`;
    const a = (0xb000000 + i * 0x1000).toString(16);
    lines.push(
      `          insmod-102     [001] .....     1.${String(i).padStart(6, '0')}: dma_map_page: ${dev} dir=TO_DEVICE dma_addr=${a} size=1024 phys_addr=${a} attrs=\n`,
    );
  }
  return lines.join('');
}

const MANY_FINDINGS = join(TMP, 'many-findings.txt');
const MANY_DEVICES = join(TMP, 'many-devices.txt');
before(() => {
  writeFileSync(MANY_FINDINGS, manyFindings(20000));
  writeFileSync(MANY_DEVICES, manyDevices(4000));
});

/** The replaying commands, as they write to -o (report's argument list takes -o itself). */
const COMMANDS: Array<[string, string[]]> = [
  ['check', ['check', TRACE]],
  ['dump', ['dump', TRACE]],
  ['stats', ['stats', TRACE]],
  ['report', ['report', TRACE]],
];

describe('output errors: one line naming the path, exit 2', {
  skip: !existsSync(TRACE) && 'fixtures not found',
}, () => {
  for (const [name, args] of COMMANDS) {
    describe(name, () => {
      it('-o to a missing directory: ENOENT, and nothing is created', () => {
        assertOutputError(run([...args, '-o', MISSING]), MISSING, 'no such directory', 'ENOENT');
        assert.ok(!existsSync(join(TMP, 'no')));
      });

      it('-o to a directory: EISDIR', () => {
        assertOutputError(run([...args, '-o', TMP]), TMP, 'is a directory', 'EISDIR');
      });

      it('-o to a file that refuses writes (as root too): EACCES', { skip: eacces }, () => {
        assertOutputError(run([...args, '-o', READ_ONLY]), READ_ONLY, 'permission denied', 'EACCES');
      });

      it('-o /dev/full: ENOSPC from the write itself', () => {
        assertOutputError(run([...args, '-o', '/dev/full']), '/dev/full', 'no space left on device', 'ENOSPC');
      });

      it('stdout on /dev/full: ENOSPC named <stdout>', () => {
        const r = runFull(name === 'report' ? [...args, '-o', '-'] : args);
        assertOutputError(r, '<stdout>', 'no space left on device', 'ENOSPC');
      });

      it('-o is opened before the trace is read: it fails while stdin is still open', async () => {
        const child = spawn(process.execPath, [BIN, args[0]!, ...args.slice(1, -1), '-', '-o', MISSING], {
          env: ENV,
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        // stdin stays open: a command that read it first would wait for ever
        const r = await exitsWithin(child, 10000);
        child.stdin?.destroy();
        assertOutputError(r, MISSING, 'no such directory', 'ENOENT');
      });
    });
  }

  it('-o replaces an existing file: no tail of the old content is left', () => {
    const out = join(TMP, 'replaced.txt');
    writeFileSync(out, 'old content\n'.repeat(10000));
    const r = run(['check', TRACE, '-o', out]);
    assert.equal(r.code, 1, r.err);
    const text = readFileSync(out, 'utf8');
    assert.match(text, /^DMA-API: /);
    assert.doesNotMatch(text, /old content/);
    const clean = run(['check', '-q', fixture('bug-clean'), '-o', out]);
    assert.equal(clean.code, 0, clean.err);
    assert.equal(readFileSync(out, 'utf8'), '');
  });

  it('an input error leaves an existing -o file as it was, and removes one it made', () => {
    const bad = join(TMP, 'not-a-trace.txt');
    writeFileSync(bad, 'hello\n');
    for (const cmd of ['dump', 'stats']) {
      const out = join(TMP, `kept-${cmd}.txt`);
      writeFileSync(out, 'the last good output\n');
      const r = run([cmd, bad, '-o', out]);
      assert.equal(r.code, 2, r.err);
      assert.equal(readFileSync(out, 'utf8'), 'the last good output\n', cmd);
    }
    const made = join(TMP, 'made-dump.txt');
    assert.equal(run(['dump', bad, '-o', made]).code, 2);
    assert.ok(!existsSync(made));
  });

  it('nothing to write is no error: a clean check with stdout on /dev/full exits 0', () => {
    const r = runFull(['check', '-q', fixture('bug-clean')]);
    assert.equal(r.err, '');
    assert.equal(r.code, 0);
  });

  it('the line for other errors: EIO and the rest get a reason and their code', () => {
    const eio = Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO', errno: -5 });
    assert.equal(outputError('/mnt/x', eio).message, 'cannot write /mnt/x: input/output error (EIO)');
    const enxio = Object.assign(new Error('ENXIO: no such device or address, open'), { code: 'ENXIO', errno: -6 });
    assert.equal(outputError('/tmp/fifo', enxio).message, 'cannot write /tmp/fifo: no such device or address (ENXIO)');
  });

  it('--json goes the same way: stdout on /dev/full is one line, exit 2', () => {
    assertOutputError(runFull(['check', '--json', TRACE]), '<stdout>', 'no space left on device', 'ENOSPC');
  });

  it('help on /dev/full: one line, exit 2', () => {
    assertOutputError(runFull(['check', '--help']), '<stdout>', 'no space left on device', 'ENOSPC');
  });

  it('stderr on /dev/full: exit 2 (there is nowhere to say why), stdout still complete', () => {
    const fd = openSync('/dev/full', 'w');
    try {
      const r = run(['check', TRACE], undefined, fd);
      assert.equal(r.code, 2);
      assert.match(r.out, /^DMA-API: .*different size/);
    } finally {
      closeSync(fd);
    }
  });
});

describe('a reader that closes the pipe early (EPIPE): no message, no stack trace', () => {
  it('check: stops at once, exit 1 (errors were found by then)', async () => {
    const r = await closedEarly(['check', MANY_FINDINGS]);
    assert.ok(r.got > 0);
    assert.equal(r.err, '');
    assert.equal(r.code, 1);
  });

  it('check --json: exit 1, nothing on stderr', async () => {
    const r = await closedEarly(['check', '--json', MANY_FINDINGS]);
    assert.equal(r.err, '');
    assert.equal(r.code, 1);
  });

  it('dump: exit 0, nothing on stderr (not even the summary)', async () => {
    const r = await closedEarly(['dump', MANY_DEVICES]);
    assert.equal(r.err, '');
    assert.equal(r.code, 0);
  });

  it('stats: exit 0, nothing on stderr', async () => {
    const r = await closedEarly(['stats', MANY_DEVICES]);
    assert.equal(r.err, '');
    assert.equal(r.code, 0);
  });

  it('report -o -: exit 0, no "wrote" line', async () => {
    const r = await closedEarly(['report', MANY_DEVICES, '-o', '-']);
    assert.equal(r.err, '');
    assert.equal(r.code, 0);
  });
});

describe('live: output errors leave tracefs as it was', () => {
  const allOff = (dir: string) => Object.values(enableValues(dir)).every((x) => x === '0');
  const tracefs = () => {
    const dir = fakeTracefs({ raw: false });
    made.push(dir);
    writeFileSync(join(dir, 'trace'), 'events an earlier session left\n');
    return dir;
  };
  /** Feeds `text` to the fake trace_pipe; the reader may go away first. */
  const feed = async (dir: string, text: string) => {
    const w = await open(join(dir, 'trace_pipe'), 'w');
    try {
      await w.write(text);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw e;
    } finally {
      await w.close().catch(() => {});
    }
  };

  it('-o to a missing directory: one line, exit 2, before tracefs is touched', () => {
    const dir = tracefs();
    assertOutputError(run(['live', '-o', MISSING, dir]), MISSING, 'no such directory', 'ENOENT');
    assert.ok(allOff(dir));
    assert.equal(readFileSync(join(dir, 'trace'), 'utf8'), 'events an earlier session left\n');
  });

  it('-o to a directory: EISDIR, tracefs untouched', () => {
    const dir = tracefs();
    assertOutputError(run(['live', '-o', TMP, dir]), TMP, 'is a directory', 'EISDIR');
    assert.ok(allOff(dir));
  });

  it('-o /dev/full: one line, exit 2, tracefs restored', async () => {
    const dir = tracefs();
    const child = spawn(process.execPath, [BIN, 'live', '-q', '-o', '/dev/full', dir], { env: ENV });
    const done = collect(child);
    await feed(dir, readFileSync(TRACE, 'utf8'));
    const r = await done;
    assertOutputError(r, '/dev/full', 'no space left on device', 'ENOSPC');
    assert.ok(allOff(dir));
  });

  it('stdout on /dev/full: one line naming <stdout>, exit 2, tracefs restored', async () => {
    const dir = tracefs();
    const fd = openSync('/dev/full', 'w');
    const child = spawn(process.execPath, [BIN, 'live', '-q', dir], { env: ENV, stdio: ['ignore', fd, 'pipe'] });
    closeSync(fd);
    const done = collect(child);
    await feed(dir, readFileSync(TRACE, 'utf8'));
    const r = await done;
    assertOutputError(r, '<stdout>', 'no space left on device', 'ENOSPC');
    assert.ok(allOff(dir));
  });

  it('EPIPE: quiet, exit 1 (errors were found by then), tracefs restored', async () => {
    const dir = tracefs();
    let feeding: Promise<void> = Promise.resolve();
    const r = await closedEarly(['live', '-q', dir], () => {
      feeding = feed(dir, readFileSync(MANY_FINDINGS, 'utf8'));
    });
    await feeding;
    assert.equal(r.err, '');
    assert.equal(r.code, 1);
    assert.ok(allOff(dir));
  });
});

describe('record: the trace and its sidecar are opened before the command runs', () => {
  const system = () => {
    const root = mkdtempSync(join(tmpdir(), 'dmadebug-rec-out-'));
    made.push(root);
    const tracefs = fakeTracefs({ raw: false });
    made.push(tracefs);
    writeFileSync(join(tracefs, 'trace'), 'stale content from before\n');
    writeFileSync(join(tracefs, 'trace_marker'), '');
    const sysfs = join(root, 'sys');
    mkdirSync(join(sysfs, 'bus/pci/devices'), { recursive: true });
    const iomem = join(root, 'iomem');
    writeFileSync(iomem, '00100000-7ffdefff : System RAM\n');
    const ran = join(root, 'the-command-ran');
    const record = (out: string) =>
      run([
        'record',
        '-q',
        '--tracefs',
        tracefs,
        '--sysfs',
        sysfs,
        '--iomem',
        iomem,
        '-o',
        out,
        '--',
        'sh',
        '-c',
        `cat '${TRACE}' >> '${tracefs}/trace'; touch '${ran}'`,
      ]);
    return { root, tracefs, ran, record };
  };
  const untouched = (s: ReturnType<typeof system>) => {
    assert.ok(!existsSync(s.ran), 'the command must not run');
    assert.ok(Object.values(enableValues(s.tracefs)).every((x) => x === '0'));
    assert.equal(readFileSync(join(s.tracefs, 'trace'), 'utf8'), 'stale content from before\n');
  };

  it('-o to a missing directory: one line, exit 2, the command never runs, tracefs untouched', () => {
    const s = system();
    assertOutputError(s.record(MISSING), MISSING, 'no such directory', 'ENOENT');
    untouched(s);
  });

  it('-o to a directory: EISDIR, the command never runs', () => {
    const s = system();
    assertOutputError(s.record(s.root), s.root, 'is a directory', 'EISDIR');
    untouched(s);
  });

  it('-o to a file that refuses writes: EACCES, the command never runs', { skip: eacces }, () => {
    const s = system();
    assertOutputError(s.record(READ_ONLY), READ_ONLY, 'permission denied', 'EACCES');
    untouched(s);
  });

  it('a sidecar that cannot be made: the trace file it made is removed again', () => {
    const s = system();
    const out = join(s.root, 'run.txt');
    mkdirSync(`${out}.side.json`);
    assertOutputError(s.record(out), `${out}.side.json`, 'is a directory', 'EISDIR');
    assert.ok(!existsSync(out));
    untouched(s);
  });

  it('a full disk while saving (-o to a link to /dev/full): one line, exit 2, tracefs restored', () => {
    const s = system();
    const out = join(s.root, 'full.txt');
    symlinkSync('/dev/full', out);
    assertOutputError(s.record(out), out, 'no space left on device', 'ENOSPC');
    assert.ok(existsSync(s.ran));
    assert.ok(Object.values(enableValues(s.tracefs)).every((x) => x === '0'));
  });
});
