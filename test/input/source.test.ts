// Input sources: plain files at any read size, gzip/zstd/xz (system tools and
// the JS decoders), stdin, trace.dat detection, and errors that name the file.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Names } from '../../src/base/interner.js';
import { EventKind, noInputFacts } from '../../src/engine/events.js';
import { InputError } from '../../src/input/errors.js';
import { type OpenOptions, onPath, openInput, parseTextEvents, readAhead } from '../../src/input/source.js';
import { TextParser } from '../../src/input/text-parser.js';
import { fixture, readmeCounts, serialize, serializeAll } from './helpers.js';

const SMALL = fixture('bug-unmap-size');
const have = existsSync(SMALL);
let dir = '';
let baseline: string[] = [];
const files: Record<string, string> = {};

/** Compresses SMALL with a system tool into dir; returns the path or '' when the tool is missing. */
function compress(tool: string, args: string[], ext: string): string {
  if (!onPath(tool)) return '';
  const out = join(dir, `trace.txt.${ext}`);
  writeFileSync(out, execFileSync(tool, [...args, SMALL], { maxBuffer: 64 << 20 }));
  return out;
}

async function eventsOf(path: string, opts: OpenOptions = {}) {
  const src = await openInput(path, opts);
  const names = new Names();
  const lines: string[] = [];
  const parser = new TextParser({ names, file: path, sink: (ev) => lines.push(serialize(ev, names)) });
  let chunks = 0;
  for await (const c of src.chunks) {
    parser.push(c);
    chunks++;
  }
  parser.end();
  return { src, lines, parser, chunks };
}

async function rejectsInput(p: Promise<unknown>, re: RegExp, file: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof InputError, `InputError, got ${String(e)}`);
    assert.equal(e.file, file);
    assert.match(e.message, re);
    assert.ok(e.message.startsWith(`${file}: `), e.message);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
}

describe('sources', { skip: !have && 'fixtures missing' }, () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'dmadebug-src-'));
    baseline = serializeAll(readFileSync(SMALL), 0).lines;
    files.gz = compress('gzip', ['-c'], 'gz');
    files.zst = compress('zstd', ['-q', '-c'], 'zst');
    files.xz = compress('xz', ['-c'], 'xz');
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('plain file: same events at any read size; size and bytesRead', async () => {
    for (const chunkSize of [4096, 65537, undefined]) {
      const r = await eventsOf(SMALL, chunkSize === undefined ? {} : { chunkSize });
      assert.equal(r.src.kind, 'text');
      assert.equal(r.src.compression, 'none');
      assert.equal(r.src.size, statSync(SMALL).size);
      assert.equal(r.src.bytesRead(), statSync(SMALL).size);
      assert.deepEqual(r.lines, baseline);
    }
    // a few bytes per read, on the first 12 KB (the whole file would take seconds of awaits)
    const head = join(dir, 'head.txt');
    const bytes = readFileSync(SMALL).subarray(0, 12_000);
    writeFileSync(head, bytes);
    const want = serializeAll(bytes, 0).lines;
    for (const chunkSize of [1, 7]) {
      const r = await eventsOf(head, { chunkSize });
      assert.ok(r.chunks >= 12_000 / chunkSize);
      assert.deepEqual(r.lines, want);
    }
  });

  for (const [ext, compression] of [
    ['gz', 'gzip'],
    ['zst', 'zstd'],
    ['xz', 'xz'],
  ] as const) {
    for (const decompressor of ['auto', 'builtin', 'system'] as const) {
      if (ext === 'gz' && decompressor !== 'auto') continue;
      test(`${compression} (${decompressor}): detected by magic, same events`, async (t) => {
        const path = files[ext]!;
        if (!path) {
          t.skip(`no ${compression} tool to make the test file`);
          return;
        }
        const r = await eventsOf(path, { decompressor, chunkSize: 4096 });
        assert.equal(r.src.compression, compression);
        assert.equal(r.src.kind, 'text');
        assert.equal(r.src.size, statSync(path).size);
        assert.equal(r.src.bytesRead(), statSync(path).size);
        assert.deepEqual(r.lines, baseline);
      });
    }
  }

  test('the name does not matter: a gzip file named .txt is gunzipped', async (t) => {
    if (!files.gz) {
      t.skip('no gzip');
      return;
    }
    const renamed = join(dir, 'looks-plain.txt');
    writeFileSync(renamed, readFileSync(files.gz));
    const r = await eventsOf(renamed);
    assert.equal(r.src.compression, 'gzip');
    assert.deepEqual(r.lines, baseline);
  });

  test("stdin ('-'): plain and compressed", async () => {
    const plain = await eventsOf('-', { stdin: createReadStream(SMALL, { highWaterMark: 61 }) });
    assert.equal(plain.src.compression, 'none');
    assert.equal(plain.src.size, undefined);
    assert.deepEqual(plain.lines, baseline);
    for (const ext of ['gz', 'zst', 'xz']) {
      const path = files[ext];
      if (!path) continue;
      const r = await eventsOf('-', { stdin: createReadStream(path) });
      assert.deepEqual(r.lines, baseline, ext);
      assert.equal(r.src.bytesRead(), statSync(path).size);
    }
  });

  test("stdin ('-') of a real process", async (t) => {
    if (!files.gz) {
      t.skip('no gzip');
      return;
    }
    const mod = resolve('dist/src/input/source.js');
    const script = `
      import { parseTextEvents } from ${JSON.stringify(mod)};
      let n = 0;
      for await (const ev of parseTextEvents('-')) n++;
      process.stdout.write(String(n));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    createReadStream(files.gz).pipe(child.stdin);
    let out = '';
    child.stdout.setEncoding('utf8');
    for await (const s of child.stdout) out += s;
    const code = await new Promise<number | null>((r) => child.on('close', r));
    assert.equal(code, 0);
    assert.equal(Number(out), baseline.length);
  });

  test('a named pipe (process substitution, FIFO) is read sequentially', async (t) => {
    if (!onPath('mkfifo') || !files.gz) {
      t.skip('no mkfifo or gzip');
      return;
    }
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', files.gz, fifo], { stdio: 'ignore' });
    const written = new Promise((res) => writer.on('close', res));
    const r = await eventsOf(fifo, { chunkSize: 4096 });
    assert.equal(await written, 0);
    assert.equal(r.src.size, undefined);
    assert.equal(r.src.compression, 'gzip');
    assert.deepEqual(r.lines, baseline);
  });

  test('trace.dat is recognised by its magic', async (t) => {
    const dat = fixture('bug-unmap-size', 'trace.dat');
    if (!existsSync(dat)) {
      t.skip('no trace.dat');
      return;
    }
    const src = await openInput(dat);
    assert.equal(src.kind, 'tracedat');
    assert.equal(src.compression, 'none');
    await src.close();
    // a gzipped trace.dat is still a trace.dat
    const gz = join(dir, 'trace.dat.gz');
    if (onPath('gzip')) {
      writeFileSync(gz, execFileSync('gzip', ['-c', dat], { maxBuffer: 256 << 20 }));
      const g = await openInput(gz);
      assert.equal(g.kind, 'tracedat');
      assert.equal(g.compression, 'gzip');
      await g.close();
    }
    // a trace.dat cut inside its magic is still a trace.dat (its reader says where it ends); other short files are text
    const kindOf = async (bytes: number[]) => {
      const p = join(dir, 'short.bin');
      writeFileSync(p, Uint8Array.from(bytes));
      const s = await openInput(p);
      await s.close();
      return s.kind;
    };
    assert.equal(await kindOf([...readFileSync(dat).subarray(0, 3)]), 'tracedat');
    assert.equal(await kindOf([0x17]), 'tracedat');
    assert.equal(await kindOf([0x17, 0x08, 0x45]), 'text');
    assert.equal(await kindOf([0x61, 0x62, 0x0a]), 'text');
    await assert.rejects(async () => {
      for await (const _ of parseTextEvents(dat)) {
        // nothing
      }
    }, /this is a trace\.dat, not text: read it with TraceDatParser or replay\(\)/);
  });

  test('close() without reading, and stopping early, release file and tools', async () => {
    for (const path of [SMALL, files.gz, files.zst, files.xz]) {
      if (!path) continue;
      const a = await openInput(path, { decompressor: 'auto' });
      await a.close();
      await a.close();
      const b = await openInput(path, { chunkSize: 1024 });
      let n = 0;
      for await (const _ of b.chunks) if (++n === 3) break;
      await b.close();
    }
  });

  test('tiny and empty files', async () => {
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '');
    const e = await eventsOf(empty);
    assert.equal(e.src.kind, 'text');
    assert.equal(e.lines.length, 0);
    const tiny = join(dir, 'tiny.txt');
    writeFileSync(tiny, 'x-1 [0] 1.5: mm_page_free: page=0 pfn=0x1 order=0');
    const t1 = await eventsOf(tiny, { chunkSize: 1 });
    assert.equal(t1.lines.length, 1);
    assert.equal(t1.parser.warnings, 0);
  });

  test('parseTextEvents yields copies that can be kept', async () => {
    const names = new Names();
    const kept = [];
    for await (const ev of parseTextEvents(SMALL, { names, chunkSize: 1000 })) kept.push(ev);
    assert.equal(new Set(kept).size, kept.length, 'distinct objects');
    assert.deepEqual(
      kept.map((e) => serialize(e, names)),
      baseline,
    );
  });

  test('missing file, directory: one-line InputError naming the file', async () => {
    const missing = join(dir, 'nope.txt');
    await rejectsInput(openInput(missing), /no such file/, missing);
    await rejectsInput(openInput(dir), /is a directory/, dir);
  });

  test('unreadable file: permission denied', async (t) => {
    if (process.getuid?.() === 0) {
      t.skip('root reads everything');
      return;
    }
    const locked = join(dir, 'locked.txt');
    writeFileSync(locked, 'x\n', { mode: 0o000 });
    await rejectsInput(openInput(locked), /permission denied/, locked);
  });

  const drain = async (path: string, opts: OpenOptions = {}) => {
    const src = await openInput(path, opts);
    for await (const _ of src.chunks) {
      // read it all
    }
  };

  /** A decompressor's complaint, placed: compressed bytes read when found, bytes out before it. */
  const placed = (what: string, at = '\\d+') =>
    new RegExp(
      `: compressed byte ${at}: corrupt ${what} data \\(.+\\), found by this byte; \\d+ bytes decompressed before it$`,
    );

  test('corrupt gzip data', async () => {
    const bad = join(dir, 'bad.gz');
    writeFileSync(bad, Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.alloc(64, 0x55)]));
    await rejectsInput(drain(bad), placed('gzip'), bad);
    if (files.gz) {
      const cut = join(dir, 'cut.gz');
      const whole = readFileSync(files.gz);
      writeFileSync(cut, whole.subarray(0, whole.length >> 1));
      await rejectsInput(drain(cut), placed('gzip', String(whole.length >> 1)), cut);
    }
  });

  for (const decompressor of ['builtin', 'system'] as const) {
    test(`corrupt zstd and xz data (${decompressor})`, async (t) => {
      if (decompressor === 'system' && (!onPath('zstd') || !onPath('xz'))) {
        t.skip('no zstd/xz on PATH');
        return;
      }
      const badZ = join(dir, `bad-${decompressor}.zst`);
      writeFileSync(badZ, Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(64, 0x55)]));
      await rejectsInput(drain(badZ, { decompressor }), placed('zstd'), badZ);
      for (const ext of ['zst', 'xz']) {
        if (!files[ext]) continue;
        const cut = join(dir, `cut-${decompressor}.${ext}`);
        const whole = readFileSync(files[ext]!);
        writeFileSync(cut, whole.subarray(0, whole.length >> 1));
        await rejectsInput(
          drain(cut, { decompressor }),
          placed(ext === 'xz' ? 'xz' : 'zstd', String(whole.length >> 1)),
          cut,
        );
      }
    });
  }

  test('storm trace.txt.zst: all 1.4 million events, counts as in the README', { timeout: 120_000 }, async (t) => {
    const path = fixture('storm', 'trace.txt.zst');
    if (!existsSync(path)) {
      t.skip('no storm fixture');
      return;
    }
    const src = await openInput(path);
    assert.equal(src.compression, 'zstd');
    const counts = new Map<number, number>();
    const parser = new TextParser({
      names: new Names(),
      file: path,
      sink: (ev) => counts.set(ev.kind, (counts.get(ev.kind) ?? 0) + 1),
    });
    for await (const c of src.chunks) parser.push(c);
    parser.end();
    assert.equal(parser.warnings, 0);
    assert.equal(parser.events, 1432736);
    assert.deepEqual(parser.facts, {
      ...noInputFacts(),
      overwritten: false,
      sawBufferHeader: true,
      overwriteKnown: true,
      overwrittenCount: 0,
      cpus: 2,
      mapEvents: 'page',
      mapEventsSource: 'line 6085: dma_map_page',
    });
    const table = readmeCounts(readFileSync(fixture('storm', 'README.txt'), 'utf8'));
    assert.equal(counts.get(EventKind.MapPage), table.get('dma_map_page'));
    assert.equal(counts.get(EventKind.MapSg), table.get('dma_map_sg'));
    assert.equal(counts.get(EventKind.SyncSingleForDevice), table.get('dma_sync_single_for_device'));
    assert.equal(counts.get(EventKind.PageFree), table.get('mm_page_free')! + table.get('mm_page_free_batched')!);
    assert.equal(src.bytesRead(), statSync(path).size);
  });
});

describe('readAhead', () => {
  /** Chunks of one reused Buffer (as a file source's are), filled with i; then, maybe, an error. */
  function reused(n: number, size: number, fail: Error | null, log: string[]): AsyncIterable<Uint8Array> {
    // a Buffer, whose slice() is a view, not a copy
    const buf = Buffer.alloc(size);
    return {
      async *[Symbol.asyncIterator]() {
        try {
          for (let i = 0; i < n; i++) {
            buf.fill(i);
            log.push(`read ${i}`);
            yield buf;
          }
          if (fail) throw fail;
        } finally {
          log.push('closed');
        }
      },
    };
  }

  async function all(it: AsyncIterable<Uint8Array>): Promise<number[]> {
    const out: number[] = [];
    for await (const c of it) out.push(c[0]!, c.length);
    return out;
  }

  test('below the limit: not big; the chunks come back whole and in order although the source reuses its buffer', async () => {
    const log: string[] = [];
    const r = await readAhead(reused(3, 10, null, log), 100);
    assert.equal(r.big, false);
    assert.deepEqual(log, ['read 0', 'read 1', 'read 2', 'closed']);
    assert.deepEqual(await all(r.chunks), [0, 10, 1, 10, 2, 10]);
  });

  test('at the limit: big; reading stops there, and the rest follows the copies', async () => {
    const log: string[] = [];
    const r = await readAhead(reused(5, 10, null, log), 20);
    assert.equal(r.big, true);
    assert.deepEqual(log, ['read 0', 'read 1']);
    assert.deepEqual(await all(r.chunks), [0, 10, 1, 10, 2, 10, 3, 10, 4, 10]);
    assert.equal(log.at(-1), 'closed');
  });

  test('a read error while reading ahead comes after the chunks before it', async () => {
    const broke = new InputError('pipe', 'byte 30', 'read failed: EIO');
    const r = await readAhead(reused(3, 10, broke, []), 100);
    assert.equal(r.big, false);
    const got: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const c of r.chunks) got.push(c[0]!);
      })(),
      (e: unknown) => e === broke,
    );
    assert.deepEqual(got, [0, 1, 2]);
  });

  test('a consumer that stops early releases the source', async () => {
    const log: string[] = [];
    const r = await readAhead(reused(10, 10, null, log), 20);
    for await (const c of r.chunks) if (c[0] === 2) break;
    assert.equal(log.at(-1), 'closed');
    assert.ok(!log.includes('read 4'), log.join(', '));
  });
});
