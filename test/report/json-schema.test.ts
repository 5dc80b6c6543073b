// The JSON contract (report/json.ts) against its published schemas
// (schemas/*.schema.json, draft 2020-12, validated by ajv): every object that
// `check --json`, `stats --json` and `dump --json` print for every fixture of
// both kernels (trace.txt and trace.dat; not storm), and
// what `live --json` prints on both of its paths through a fake tracefs. Then
// the schemas themselves: the check-id enum is the catalogue, the other enums
// are the engine's names, every field has a description, and the validator
// rejects what the contract forbids.
//
// To stay within a minute on a loaded 2-core machine, each fixture is replayed
// once in this process and rendered by the functions the three commands print
// with; main() itself runs all three commands on four inputs, and must print
// exactly those objects (its output through -o: under `node --test` this
// process's stdout carries the runner's reports).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { main } from '../../src/cli/main.js';
import { CHECKS } from '../../src/engine/catalogue.js';
import { DIR_NAMES, MAP_ERR_NAMES, TYPE_NAMES } from '../../src/engine/model.js';
import { ARCH_NAMES, KERNEL_NAMES } from '../../src/engine/profiles.js';
import { Pipeline, summarize } from '../../src/pipeline.js';
import { entryJson, findingJson, JSON_SCHEMA_VERSION, statsJson, summaryJson } from '../../src/report/json.js';
import { collect } from '../helpers/child.js';
import { fakeTracefs, fixtureEvents, scenario } from '../helpers/fake-tracefs.js';
import { counterClockTrace, FIXTURE_KERNELS, fixture, fixtureDirs, kernelFixtures } from '../helpers/fixtures.js';
import { encodeCpuPages } from '../helpers/tracedat-writer.js';

type Ajv = Ajv2020;

const SCHEMAS = join(process.cwd(), 'schemas');
const TMP = mkdtempSync(join(tmpdir(), 'dmadebug-json-schema-'));
after(() => rmSync(TMP, { recursive: true, force: true }));
const BIN = join(process.cwd(), 'bin', 'dmadebug.js');
const ID = (name: string) => `urn:dmadebug:schema:${JSON_SCHEMA_VERSION}:${name}`;
/** The schema of each object type printed. */
const OF_TYPE: Record<string, string> = { finding: 'finding', summary: 'summary', stats: 'stats', entry: 'entry' };

type Json = Record<string, unknown>;

function loadSchemas(): { ajv: Ajv; schemas: Map<string, Json> } {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  const schemas = new Map<string, Json>();
  for (const f of readdirSync(SCHEMAS).filter((x) => x.endsWith('.schema.json'))) {
    const s = JSON.parse(readFileSync(join(SCHEMAS, f), 'utf8')) as Json;
    schemas.set(f.replace('.schema.json', ''), s);
    ajv.addSchema(s);
  }
  return { ajv, schemas };
}

/** A stand-in for stderr's write that keeps the text and reports success. */
function capture(keep: (s: string) => void): typeof process.stderr.write {
  return ((chunk: string | Uint8Array, a?: unknown, b?: unknown) => {
    keep(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const cb = typeof a === 'function' ? a : typeof b === 'function' ? b : null;
    if (cb) process.nextTick(cb as () => void);
    return true;
  }) as typeof process.stderr.write;
}

let outputs = 0;

/**
 * main(argv) in this process: its exit status, what it wrote to its output
 * and to stderr. The output goes to a file (-o): under `node --test` this
 * process's stdout carries the runner's own reports.
 */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const file = join(TMP, `out-${outputs++}.jsonl`);
  let err = '';
  const e = process.stderr.write;
  process.stderr.write = capture((s) => {
    err += s;
  });
  try {
    const [command, ...rest] = argv;
    const code = await main([command!, '-o', file, ...rest]);
    const out = existsSync(file) ? readFileSync(file, 'utf8') : '';
    rmSync(file, { force: true });
    return { code, out, err };
  } finally {
    process.stderr.write = e;
  }
}

/**
 * One replay through the pipeline the commands use, rendered by the functions
 * they print with: check's findings and summary, stats' object, dump's entries.
 */
async function render(path: string): Promise<{ check: string; stats: string; dump: string }> {
  let check = '';
  const p = new Pipeline(path, {
    onFinding: (f) => {
      if (f.shown) check += `${findingJson(f, path)}\n`;
    },
  });
  const r = (await p.run()).result();
  assert.equal(r.error, null, `${path}: ${r.error?.message}`);
  check += `${summaryJson(summarize([path], r))}\n`;
  const stats = `${statsJson(r.engine.stats(), path, r.engine.coverage())}\n`;
  let dump = '';
  for (const e of r.engine.dump()) dump += `${entryJson(e, path)}\n`;
  return { check, stats, dump };
}

function summaryOf(check: string): Json {
  return JSON.parse(check.trim().split('\n').at(-1)!) as Json;
}

/** Validates each JSON line by its type's schema; returns the objects. */
function validateLines(ajv: Ajv, out: string, where: string): Json[] {
  const objs: Json[] = [];
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const o = JSON.parse(line) as Json;
    const name = OF_TYPE[String(o.type)];
    assert.ok(name, `${where}: an object of type ${String(o.type)}`);
    const v = ajv.getSchema(ID(name))!;
    assert.ok(v(o), `${where}: ${name} ${JSON.stringify(v.errors?.slice(0, 3))}\n${line.slice(0, 400)}`);
    objs.push(o);
  }
  return objs;
}

/**
 * Every fixture input of both kernels: trace.txt and trace.dat where present.
 * Not storm (1.43 M events, only a trace.dat): 4 s of CPU for 13 k findings of
 * the shapes bug-overlap-eexist and bug-overlap-limit already print.
 */
function inputs(): Array<{ name: string; path: string }> {
  const out: Array<{ name: string; path: string }> = [];
  for (const k of FIXTURE_KERNELS) {
    const root = kernelFixtures(k);
    for (const d of fixtureDirs(root)) {
      if (d === 'storm') continue;
      for (const f of ['trace.txt', 'trace.dat']) {
        const path = fixture(d, f, root);
        if (!existsSync(path)) continue;
        out.push({ name: `${k}/${d}/${f}`, path });
      }
    }
  }
  return out;
}

const ALL = inputs();

describe('the JSON contract against its schemas', { skip: ALL.length === 0 && 'fixtures not found' }, () => {
  let ajv: Ajv;
  before(() => {
    ajv = loadSchemas().ajv;
  });

  it('check, stats and dump --json of every fixture of both kernels validate', async () => {
    const seen = { finding: 0, summary: 0, stats: 0, entry: 0, binarySources: 0, lineSources: 0 };
    for (const input of ALL) {
      const out = await render(input.path);
      const objs = validateLines(ajv, out.check, `${input.name} check`);
      const summary = objs.at(-1)!;
      assert.equal(summary.type, 'summary', input.name);
      assert.deepEqual(summary.inputs, [input.path]);
      for (const o of objs) {
        seen[o.type as 'finding' | 'summary']++;
        const mapping = o.mapping as Json | null | undefined;
        const places = [o.source, (mapping?.mapped_at as Json | undefined)?.source] as Array<Json | null | undefined>;
        for (const s of places) {
          if (!s) continue;
          assert.equal(s.file, input.path);
          // a trace.dat's records are found by CPU and byte offset, never by a line
          if (input.path.endsWith('.dat')) {
            assert.ok('offset' in s && !('line' in s), `${input.name}: ${JSON.stringify(s)}`);
            seen.binarySources++;
          } else {
            assert.ok('line' in s, `${input.name}: ${JSON.stringify(s)}`);
            seen.lineSources++;
          }
        }
      }
      const stats = validateLines(ajv, out.stats, `${input.name} stats`);
      assert.equal(stats.length, 1);
      seen.stats++;
      const entries = validateLines(ajv, out.dump, `${input.name} dump`);
      // as many entries as check's summary says are live
      assert.equal(entries.length, summary.live, input.name);
      seen.entry += entries.length;
    }
    // the run did see each kind, and places of both sorts
    for (const [k, n] of Object.entries(seen)) assert.ok(n > 0, `no ${k} seen`);
  });

  it("a counter clock's 20-digit counts validate as timestamps (check, stats, dump)", async () => {
    const trace = counterClockTrace(fixture('bug-unmap-size'), join(TMP, 'tsc.txt'));
    const out = await render(trace);
    const objs = validateLines(ajv, out.check, 'counter clock check');
    assert.match(String(objs[0]!.ts), /^18000000\d{12}$/);
    validateLines(ajv, out.stats, 'counter clock stats');
    assert.ok(validateLines(ajv, out.dump, 'counter clock dump').length > 0);
  });

  it('the commands print exactly those objects (main() on a text and a trace.dat fixture of each kernel)', async () => {
    const some = ALL.filter((x) => /^(6\.12\/bug-unmap-size-stack|7\.3\/bug-leak-many-smallpool)\//.test(x.name));
    assert.ok(some.length >= 4, some.map((x) => x.name).join(' '));
    for (const input of some) {
      const want = await render(input.path);
      for (const cmd of ['check', 'stats', 'dump'] as const) {
        const r = await run([cmd, '--json', '-q', input.path]);
        assert.equal(
          r.code,
          cmd === 'check' && Number(summaryOf(want.check).error_count) > 0 ? 1 : 0,
          `${input.name} ${cmd}: ${r.err}`,
        );
        assert.equal(r.out, want[cmd], `${input.name} ${cmd}`);
      }
    }
  });

  const made: string[] = [];
  after(() => {
    for (const d of made) rmSync(d, { recursive: true, force: true });
  });

  it('live --json validates, on trace_pipe_raw (CPU data offsets) and on the text trace_pipe (lines)', async () => {
    const events = fixtureEvents();
    const records = scenario(200, 2);
    // binary: per-CPU pages into the FIFOs
    const raw = fakeTracefs({ cpus: 2, cmdlines: '100 kworker/0:1\n101 insmod\n' });
    made.push(raw);
    const child = spawn(process.execPath, [BIN, 'live', '--json', raw], { env: { ...process.env, NO_COLOR: '1' } });
    const done = collect(child);
    await Promise.all(
      [0, 1].map(async (cpu) => {
        const w = await open(join(raw, 'per_cpu', `cpu${cpu}`, 'trace_pipe_raw'), 'w');
        await w.write(encodeCpuPages(records, events, cpu).bytes);
        await w.close();
      }),
    );
    const r = await done;
    assert.equal(r.code, 1, r.err);
    const objs = validateLines(ajv, r.out, 'live raw');
    const f = objs.find((o) => o.check === 'unmap-size-mismatch')!;
    assert.ok(f, r.out);
    assert.equal((f.source as Json).offset_in, 'cpu_data');
    assert.equal(objs.at(-1)!.type, 'summary');

    // text: a fixture's trace.txt into trace_pipe
    const text = fakeTracefs({ cpus: 2, raw: false });
    made.push(text);
    const child2 = spawn(process.execPath, [BIN, 'live', '--json', text], { env: { ...process.env, NO_COLOR: '1' } });
    const done2 = collect(child2);
    const w = await open(join(text, 'trace_pipe'), 'w');
    await w.write(readFileSync(fixture('bug-unmap-size')));
    await w.close();
    const r2 = await done2;
    assert.equal(r2.code, 1, r2.err);
    const objs2 = validateLines(ajv, r2.out, 'live text');
    assert.ok('line' in ((objs2[0] as Json).source as Json));
    assert.equal(objs2.at(-1)!.type, 'summary');
  });
});

describe('the schemas', () => {
  const { ajv, schemas } = loadSchemas();
  const common = schemas.get('common')!;
  const defs = common.$defs as Record<string, Json>;

  it('are draft 2020-12, each with its $id, a title and a description', () => {
    assert.deepEqual([...schemas.keys()].sort(), ['common', 'entry', 'finding', 'stats', 'summary']);
    for (const [name, s] of schemas) {
      assert.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema', name);
      assert.equal(s.$id, ID(name));
      assert.ok(typeof s.title === 'string' && typeof s.description === 'string', name);
      if (name === 'common') continue;
      const p = s.properties as Record<string, Json>;
      assert.deepEqual(p.type, { description: p.type!.description, const: name === 'entry' ? 'entry' : name });
      assert.equal(p.schema!.const, JSON_SCHEMA_VERSION);
    }
  });

  it("enumerate exactly the catalogue's check ids", () => {
    assert.deepEqual([...(defs.check_id!.enum as string[])].sort(), Object.keys(CHECKS).sort());
  });

  it("enumerate the engine's directions, entry types, map-error states, kernels and architectures", () => {
    assert.deepEqual(defs.direction!.enum, [...DIR_NAMES]);
    assert.deepEqual(defs.entry_type!.enum, [...TYPE_NAMES]);
    assert.deepEqual(defs.map_error!.enum, [...MAP_ERR_NAMES]);
    const p = defs.profile!.properties as Record<string, Json>;
    assert.deepEqual(p.kernel!.enum, [...KERNEL_NAMES]);
    assert.deepEqual(p.arch!.enum, [...ARCH_NAMES]);
  });

  it('describe every field, list it as required, and allow no other (the descriptions are the documentation)', () => {
    const described = (x: Json): boolean => {
      if (typeof x.description === 'string' && x.description.length > 0) return true;
      const ref = x.$ref;
      if (typeof ref !== 'string') return false;
      const def = defs[ref.slice(ref.indexOf('#/$defs/') + 8)];
      return def !== undefined && typeof def.description === 'string';
    };
    const walk = (x: unknown, path: string): void => {
      if (Array.isArray(x)) for (const [i, y] of x.entries()) walk(y, `${path}[${i}]`);
      if (x === null || typeof x !== 'object') return;
      const o = x as Json;
      if (o.properties) {
        assert.equal(o.additionalProperties, false, `${path}: additionalProperties`);
        const req = new Set(o.required as string[]);
        for (const [k, v] of Object.entries(o.properties as Record<string, Json>)) {
          assert.match(k, /^[a-z][a-z0-9_]*$/, `${path}.${k}: snake_case`);
          assert.ok(described(v), `${path}.${k}: no description`);
          // only a finding's `stack` (added by a later writer) may be left out
          assert.ok(req.has(k) || (path === 'finding' && k === 'stack'), `${path}.${k}: not required`);
        }
      }
      for (const [k, v] of Object.entries(o)) if (k !== 'enum' && k !== 'const') walk(v, `${path}.${k}`);
    };
    for (const [name, s] of schemas) walk(s, name);
  });

  it('reject what the contract forbids', () => {
    const finding = {
      type: 'finding',
      schema: JSON_SCHEMA_VERSION,
      check: 'unmap-size-mismatch',
      severity: 'error',
      message: 'device driver frees DMA memory with different size',
      device: '0000:00:02.0',
      driver: null,
      ts: '5.701900952',
      cpu: 0,
      pid: 163,
      comm: 'insmod',
      source: { file: 'trace.dat', cpu: 0, offset: 140484, offset_in: 'cpu_data' },
      note: null,
      kernel_false_positive: null,
      mapping: null,
    };
    const v = ajv.getSchema(ID('finding'))!;
    assert.ok(v(finding), JSON.stringify(v.errors));
    assert.ok(v({ ...finding, stack: ['dma_unmap_page_attrs+0x1/0x2'] }), 'the offending call stack (optional)');
    assert.ok(v({ ...finding, stack: null }));
    const bad: Array<[string, Json]> = [
      ['camelCase key', { ...finding, kernelFalsePositive: null }],
      ['unknown check', { ...finding, check: 'made-up' }],
      ['numeric timestamp', { ...finding, ts: 5.7 }],
      ['a line and an offset at once', { ...finding, source: { ...finding.source, line: 9447 } }],
      ['an offset from nowhere', { ...finding, source: { ...finding.source, offset_in: 'chunk' } }],
      ['an offset without its CPU', { ...finding, source: { file: 'trace.dat', offset: 1, offset_in: 'file' } }],
      ['a stack of numbers', { ...finding, stack: [1, 2] }],
      ['another schema version', { ...finding, schema: 1 }],
      [
        'an address without its 16 digits',
        {
          ...finding,
          mapping: {
            entry_type: 'single',
            direction: 'DMA_TO_DEVICE',
            dma_addr: '0xbbddc00',
            size: 1,
            phys_addr: null,
            sg_call_ents: 0,
            sg_mapped_ents: 0,
            mapped_at: { ts: null, cpu: null, pid: null, comm: null, source: null },
            stack: null,
          },
        },
      ],
    ];
    for (const [why, o] of bad) assert.equal(v(o), false, why);
  });
});
