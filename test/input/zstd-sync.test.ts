// The system-zstd path of small v7 trace.dat files (zstd-sync.ts): one zstd
// run per batch or metadata section gives back exactly the announced bytes or
// nothing, a bad chunk gets the same error as in process, a missing zstd
// binary falls back, and every fixture trace.dat reads the same, with the same
// errors when damaged, as with fzstd alone.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { InputError } from '../../src/input/errors.js';
import { onPath } from '../../src/input/source.js';
import { inflateBatch } from '../../src/input/tracedat-inflate.js';
import { ZstdSync } from '../../src/input/zstd-sync.js';
import { type DatOutcome, FIXTURES, readDatFile } from './helpers.js';
import { batch, chunkData } from './zstd-helpers.js';

const HAVE_ZSTD = onPath('zstd');
const dir = mkdtempSync(join(tmpdir(), 'dmadebug-zstdsync-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('ZstdSync', { skip: !HAVE_ZSTD && 'zstd is not on PATH' }, () => {
  test('a batch comes back whole, byte for byte, and a section as one block', async () => {
    const z = new ZstdSync();
    const chunks = [0, 1, 2, 3, 4].map((i) => chunkData(i, 1 + ((i * 7919) % 70000)));
    const b = batch(chunks);
    const r = await z.run(b.data, b.jobs);
    assert.deepEqual(
      r.errors,
      chunks.map(() => null),
    );
    assert.deepEqual(r.outs, chunks);
    const j = b.jobs[2]!;
    assert.deepEqual(z.block(b.data.subarray(j.off, j.off + j.csize), j.usize), chunks[2]);
  });

  test('a frame that yields other than its announced size: the same results as in process', async () => {
    const z = new ZstdSync();
    for (const delta of [4096, -1000]) {
      const chunks = [chunkData(1, 5000), chunkData(2, 6000), chunkData(3, 7000)];
      const b = batch(chunks);
      b.jobs[1]!.usize += delta;
      const r = await z.run(b.data, b.jobs);
      assert.deepEqual(r, inflateBatch('zstd', b.data, b.jobs), `announced ${delta} more`);
      assert.deepEqual(r.outs[0], chunks[0]);
      assert.equal(r.outs[1], null);
      assert.match(r.errors[1]!, /6000 bytes, expected/);
      const j = b.jobs[1]!;
      assert.equal(z.block(b.data.subarray(j.off, j.off + j.csize), j.usize), null);
    }
    // the tool is still used afterwards
    const c = batch([chunkData(4, 3000)]);
    assert.deepEqual((await z.run(c.data, c.jobs)).errors, [null]);
  });

  test('a broken frame fails only its chunk, as in process', async () => {
    const z = new ZstdSync();
    const b = batch([chunkData(7, 9000), chunkData(8, 9000)]);
    b.data[b.jobs[1]!.off] = 0x29; // spoil the second frame's magic
    const r = await z.run(b.data, b.jobs);
    assert.equal(r.errors[0], null);
    assert.match(r.errors[1]!, /no zstd frame magic/);
  });

  test('batches asked for together share one zstd run; a bad chunk among them fails only itself', async () => {
    // a zstd that counts its runs
    const log = join(dir, 'runs.log');
    const counting = join(dir, 'zstd-counting');
    writeFileSync(counting, `#!/bin/sh\necho run >> '${log}'\nexec zstd "$@"\n`, { mode: 0o755 });
    const runs = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').length - 1 : 0);
    const z = new ZstdSync(counting);
    const cpus = [0, 1, 2].map((c) => [chunkData(20 + c, 3000 + c), chunkData(30 + c, 5000 + c)]);
    const batches = cpus.map((chunks) => batch(chunks));
    const rs = await Promise.all(batches.map((b) => z.run(b.data, b.jobs)));
    assert.equal(runs(), 1);
    for (const [c, r] of rs.entries()) assert.deepEqual(r, { outs: cpus[c], errors: [null, null] });
    // a later batch: a run of its own
    assert.deepEqual((await z.run(batches[0]!.data, batches[0]!.jobs)).outs, cpus[0]);
    assert.equal(runs(), 2);
    // one spoilt frame: every batch of that run as in process, so only that chunk fails
    const spoilt = batch(cpus[1]!);
    spoilt.data[spoilt.jobs[1]!.off] = 0x29;
    const [good, bad] = await Promise.all([z.run(batches[0]!.data, batches[0]!.jobs), z.run(spoilt.data, spoilt.jobs)]);
    assert.deepEqual(good, { outs: cpus[0], errors: [null, null] });
    assert.deepEqual(bad!.outs[0], cpus[1]![0]);
    assert.match(bad!.errors[1]!, /no zstd frame magic/);
  });

  test('no zstd binary: decompressed in process', async () => {
    const z = new ZstdSync('dmadebug-no-such-zstd');
    const chunks = [chunkData(9, 1234), chunkData(10, 4321)];
    const b = batch(chunks);
    assert.deepEqual((await z.run(b.data, b.jobs)).outs, chunks);
    assert.equal(z.block(b.data.subarray(b.jobs[0]!.off), b.jobs[0]!.usize), null);
  });
});

/**
 * Read with the default decompressors (WebAssembly in process), with the
 * system zstd where WebAssembly is not used ('sync'), or with fzstd alone.
 */
function read(path: string, how: 'default' | 'sync' | 'fzstd'): Promise<DatOutcome> {
  if (how === 'default') return readDatFile(path, {});
  return readDatFile(path, how === 'sync' ? { zstdWasm: false } : { zstdWasm: false, zstdTool: false });
}

/** Every fixture trace.dat (v7, zstd). */
function datFiles(): string[] {
  if (!existsSync(FIXTURES)) return [];
  const out: string[] = [];
  for (const d of readdirSync(FIXTURES).sort()) {
    for (const f of ['trace.dat', 'trace-record.dat'])
      if (existsSync(join(FIXTURES, d, f))) out.push(join(FIXTURES, d, f));
  }
  return out;
}

describe('small trace.dat files through one zstd run each', { skip: !HAVE_ZSTD && 'zstd is not on PATH' }, () => {
  const files = datFiles();

  test('every fixture trace.dat: the same events by default (WebAssembly), through zstd runs and through fzstd alone', {
    timeout: 300_000,
  }, async (t) => {
    if (files.length === 0) {
      t.skip('no fixtures');
      return;
    }
    let events = 0;
    for (const f of files) {
      const byDefault = await read(f, 'default');
      const sync = await read(f, 'sync');
      const inProcess = await read(f, 'fzstd');
      const what = f.slice(FIXTURES.length + 1);
      assert.equal(byDefault.error, null, what);
      assert.equal(sync.error, null, what);
      assert.equal(inProcess.error, null, what);
      assert.deepEqual(byDefault.lines, inProcess.lines, what);
      assert.deepEqual(sync.lines, inProcess.lines, what);
      events += byDefault.lines.length;
    }
    assert.ok(events > 100_000, `${events} events in ${files.length} files`);
  });

  const stack = join(FIXTURES, 'real-devices-stack', 'trace.dat');
  // a zstd first on PATH that logs each run and runs the real one
  function loggingZstd(name: string): { bin: string; log: string } {
    const real = execFileSync('sh', ['-c', 'command -v zstd'], { encoding: 'utf8' }).trim();
    const bin = join(dir, `path-${name}`);
    mkdirSync(bin, { recursive: true });
    const log = join(dir, `${name}-runs.log`);
    writeFileSync(log, '');
    writeFileSync(join(bin, 'zstd'), `#!/bin/sh\necho run >> '${log}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
    return { bin, log };
  }

  test('by default a small file takes no zstd run: it decompresses through WebAssembly', {
    skip: !existsSync(stack),
    timeout: 60_000,
  }, () => {
    const { bin, log } = loggingZstd('default');
    const r = spawnSync(process.execPath, [join(process.cwd(), 'bin', 'dmadebug.js'), 'check', '-q', stack], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(log, 'utf8'), '');
  });

  test("without WebAssembly a small file takes two zstd runs: its big metadata sections together, then every CPU's data", {
    skip: !existsSync(stack),
    timeout: 60_000,
  }, async () => {
    const { bin, log } = loggingZstd('sync');
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      const r = await read(stack, 'sync');
      assert.equal(r.error, null);
      assert.ok(r.lines.length > 1000, `${r.lines.length} events`);
    } finally {
      process.env.PATH = path;
    }
    // event formats and kallsyms (>= 32 KiB compressed each), then both CPUs' data
    assert.equal(readFileSync(log, 'utf8'), 'run\nrun\n');
  });

  const direct = join(FIXTURES, 'real-devices-direct', 'trace.dat');
  test('damage in a metadata section or in the CPU data: the same error and events by default, through zstd runs and through fzstd alone', {
    skip: !existsSync(direct),
  }, async () => {
    const bytes = readFileSync(direct);
    const magic = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
    // frames, each after its [csize][usize] header: the biggest (a metadata section), and one in the CPU data
    const frames: Array<{ at: number; csize: number }> = [];
    for (let at = bytes.indexOf(magic, 8); at > 0; at = bytes.indexOf(magic, at + 1)) {
      const csize = bytes.readUInt32LE(at - 8);
      if (csize > 0 && at + csize <= bytes.length) frames.push({ at, csize });
    }
    const section = frames.reduce((a, b) => (b.csize > a.csize ? b : a));
    assert.ok(section.csize >= 32 * 1024, `biggest frame ${section.csize} bytes`);
    const chunk = frames.filter((f) => f.at > bytes.length * 0.6)[0]!;
    const cases: Array<[string, (b: Buffer) => void]> = [
      ['a broken section frame', (b) => (b[section.at + 9] = b[section.at + 9]! ^ 0xff)],
      [
        'a section announcing more than its frame holds',
        (b) => b.writeUInt32LE(b.readUInt32LE(section.at - 4) + 8, section.at - 4),
      ],
      ['a broken chunk frame', (b) => (b[chunk.at] = 0x29)],
      [
        'a chunk announcing more than its frame holds',
        (b) => b.writeUInt32LE(b.readUInt32LE(chunk.at - 4) + 4096, chunk.at - 4),
      ],
    ];
    for (const [what, spoil] of cases) {
      const b = Buffer.from(bytes);
      spoil(b);
      const path = join(dir, 'direct-damaged.dat');
      writeFileSync(path, b);
      const inProcess = await read(path, 'fzstd');
      assert.ok(inProcess.error instanceof InputError, `${what}: ${String(inProcess.error)}`);
      for (const how of ['default', 'sync'] as const) {
        const other = await read(path, how);
        assert.equal(String(other.error), String(inProcess.error), `${what} (${how})`);
        assert.deepEqual(other.lines, inProcess.lines, `${what} (${how})`);
      }
    }
  });
});
