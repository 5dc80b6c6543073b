// KTAP output (src/report/ktap.ts): the structure Documentation/dev-tools/ktap.rst
// asks for (version line, plan, numbered results, subtests indented by two
// spaces, a parent failing when a subtest does), checked by a small reader
// here on the golden files and on made-up findings; and the kernel's own
// parser, tools/testing/kunit/kunit_parser.py, run on the golden files when
// python3 and a kernel source are at hand (KUNIT_PARSER_DIR=<dir with
// kunit_parser.py>, or Debian's linux-source package under /usr/src, as
// .ci/run installs it); it skips with a message otherwise.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InputError } from '../../src/input/errors.js';
import { FAMILIES } from '../../src/report/families.js';
import { KTAP_TESTS, ktapName } from '../../src/report/ktap.js';
import { finding, render, summaryData } from '../helpers/format-data.js';

interface KtapTest {
  name: string;
  ok: boolean;
  directive: string | null;
  diagnostics: string[];
  subtests: KtapTest[];
}

/**
 * A strict KTAP v1 reader for dmadebug's output: every line is a version,
 * subtest header, plan, result or `# ` diagnostic line at its level's
 * indentation; numbers run from 1 to the plan; a parent's result is not ok
 * exactly when a subtest's is (SKIP does not count) and carries the name its
 * `# Subtest:` line gave. Throws on anything else.
 */
function readKtap(text: string): KtapTest {
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  const lines = text.slice(0, -1).split('\n');
  let pos = 0;
  const block = (indent: string): { header: string | null; tests: KtapTest[]; trailing: string[] } => {
    assert.equal(lines[pos], `${indent}KTAP version 1`, `line ${pos + 1}: version line`);
    pos++;
    let header: string | null = null;
    if (lines[pos]?.startsWith(`${indent}# Subtest: `)) header = lines[pos++]!.slice(indent.length + 11);
    const plan = /^1\.\.(\d+)$/.exec(lines[pos]?.slice(indent.length) ?? '');
    assert.ok(plan && lines[pos]!.startsWith(indent), `line ${pos + 1}: plan, got ${JSON.stringify(lines[pos])}`);
    pos++;
    const count = Number(plan![1]);
    const tests: KtapTest[] = [];
    let diagnostics: string[] = [];
    while (tests.length < count) {
      const line = lines[pos];
      assert.ok(line !== undefined, `${count - tests.length} tests missing`);
      if (line.startsWith(`${indent}  KTAP version 1`)) {
        const sub = block(`${indent}  `);
        const result = resultLine(lines[pos], indent, tests.length + 1);
        pos++;
        assert.equal(result.name, sub.header, 'the parent result names its Subtest');
        const failed = sub.tests.some((t) => !t.ok && t.directive !== 'SKIP');
        assert.equal(result.ok, !failed, `${result.name}: parent result follows its subtests`);
        tests.push({ ...result, diagnostics: [...diagnostics, ...sub.trailing], subtests: sub.tests });
        diagnostics = [];
      } else if (line.startsWith(`${indent}# `)) {
        diagnostics.push(line.slice(indent.length + 2));
        pos++;
      } else {
        const result = resultLine(line, indent, tests.length + 1);
        pos++;
        tests.push({ ...result, diagnostics, subtests: [] });
        diagnostics = [];
      }
    }
    // diagnostics after the last result (the summary), until the parent's result
    const trailing = diagnostics;
    while (pos < lines.length && lines[pos]!.startsWith(`${indent}# `))
      trailing.push(lines[pos++]!.slice(indent.length + 2));
    return { header, tests, trailing };
  };
  const top = block('');
  assert.equal(pos, lines.length, `line ${pos + 1}: nothing may follow the last test`);
  return {
    name: 'main',
    ok: top.tests.every((t) => t.ok),
    directive: null,
    diagnostics: top.trailing,
    subtests: top.tests,
  };
}

function resultLine(
  line: string | undefined,
  indent: string,
  n: number,
): { name: string; ok: boolean; directive: string | null } {
  const m = /^(ok|not ok) (\d+) ([^#]+?)(?: # (SKIP|ERROR)(?: (.*))?)?$/.exec(line?.slice(indent.length) ?? '');
  assert.ok(m && line!.startsWith(indent) && !line!.startsWith(`${indent} `), `result line expected: ${line}`);
  assert.equal(Number(m[2]), n, `tests are numbered from 1: ${line}`);
  return { name: m[3]!, ok: m[1] === 'ok', directive: m[4] ?? null };
}

const GOLDEN = join(process.cwd(), 'test', 'golden', 'ktap');
const goldens = existsSync(GOLDEN) ? readdirSync(GOLDEN).filter((f) => f.endsWith('.ktap')) : [];
const families = [...FAMILIES.map((f) => f.id), 'trace'];

describe('KTAP structure', () => {
  it('the golden files are KTAP v1 with one test per family and one for the trace', () => {
    assert.ok(goldens.length >= 9);
    for (const g of goldens) {
      const t = readKtap(readFileSync(join(GOLDEN, g), 'utf8'));
      const inputs = t.subtests[0]!.subtests.length > 0 ? t.subtests : [t];
      for (const input of inputs) {
        assert.deepEqual(
          input.subtests.map((s) => s.name),
          families,
          g,
        );
      }
    }
  });

  it('one input: the families at the top; errors fail their family, unconfirmed and info do not', () => {
    const out = render('ktap', [
      {
        label: 'a.txt',
        findings: [
          finding(),
          finding({ check: 'page-freed-while-mapped', severity: 'unconfirmed', note: 'events were lost' }),
          finding({ check: 'map-failed', severity: 'info', mapping: null }),
        ],
      },
    ]);
    const t = readKtap(out);
    assert.equal(t.subtests.length, KTAP_TESTS);
    const by = new Map(t.subtests.map((s) => [s.name, s]));
    assert.equal(by.get('unmap')!.ok, false);
    assert.equal(by.get('memory')!.ok, true, 'unconfirmed does not fail');
    assert.match(by.get('memory')!.diagnostics[0]!, /^\[unconfirmed\] DMA-API: pci 0000:00:02\.0: /);
    assert.match(by.get('map')!.diagnostics[0]!, /^\[info\] DMA-API: /);
    assert.equal(by.get('map')!.ok, true);
    assert.deepEqual(by.get('unmap')!.diagnostics, [
      'DMA-API: pci 0000:00:02.0: device driver frees DMA memory with different size [device address=0x0000000000001000] [map size=4096 bytes] [unmap size=2048 bytes]',
      '  at 1.000002 cpu 0 insmod-42 (a.txt:12)',
      '  Mapped at 1.000001 cpu 0 insmod-42 (a.txt:10)',
    ]);
    assert.match(t.diagnostics[0]!, /^dmadebug: no errors/, 'the summary closes the output');
  });

  it('--fail-on unconfirmed fails the family of an unconfirmed finding; a kernel false positive never fails', () => {
    const findings = [
      finding({ check: 'page-freed-while-mapped', severity: 'unconfirmed' }),
      finding({ check: 'unmap-attrs-mismatch', severity: 'info', kernelFalsePositive: 'a twin' }),
    ];
    const t = readKtap(render('ktap', [{ label: 'a.txt', findings }], { failOn: 'unconfirmed' }));
    const by = new Map(t.subtests.map((s) => [s.name, s]));
    assert.equal(by.get('memory')!.ok, false);
    assert.equal(by.get('unmap')!.ok, true);
    assert.match(by.get('unmap')!.diagnostics[1]!, /^ {2}kernel false positive: /);
  });

  it('--min-severity hides findings from the diagnostics; the summary says so', () => {
    const findings = [finding({ check: 'map-failed', severity: 'info' })];
    const t = readKtap(render('ktap', [{ label: 'a.txt', findings }], { minSeverity: 'error' }));
    assert.deepEqual(t.subtests[0]!.diagnostics, []);
    assert.ok(t.diagnostics.some((d) => d === '  hidden by --min-severity error: 1 info (counted above, not printed)'));
  });

  it('several inputs: one subtest each, named by file; an unreadable one is SKIP and ERROR', () => {
    const err = new InputError('b.dat', 'byte 0', 'the input is empty');
    const out = render('ktap', [
      { label: 'a.txt', findings: [finding()] },
      { label: 'b.dat', kind: 'tracedat', summary: summaryData({ events: 0 }), error: err },
      { label: 'c.txt' },
    ]);
    const t = readKtap(out);
    assert.deepEqual(
      t.subtests.map((s) => [s.name, s.ok]),
      [
        ['a.txt', false],
        ['b.dat', false],
        ['c.txt', true],
      ],
    );
    const b = t.subtests[1]!.subtests;
    assert.ok(b.slice(0, -1).every((s) => s.ok && s.directive === 'SKIP'));
    assert.equal(b.at(-1)!.directive, 'ERROR');
    assert.match(out, /^ {2}not ok 10 trace # ERROR the input is empty$/m);
    assert.match(out, /^ {2}# b\.dat: byte 0: the input is empty$/m);
  });

  it('control characters in a comm and # in a file name cannot break a line or a name', () => {
    const f = finding({
      at: { line: 3, positions: 'line', ts: '1.0', cpu: 0, pid: 7, comm: 'evil\r\x1b[31m\nok 1 x' },
    });
    const out = render('ktap', [{ label: 'we#ird.txt', findings: [f] }, { label: 'b.txt' }]);
    const t = readKtap(out);
    assert.equal(t.subtests[0]!.name, 'we\\x23ird.txt');
    // a line break in a comm (trace.dat comms are any 16 bytes) starts another diagnostic line, never a result
    assert.match(out, /^ {2}# {3}at 1\.0 cpu 0 evil\\x0d\\x1b\[31m\n {2}# ok 1 x-7 \(we#ird\.txt:3\)$/m);
    assert.equal(ktapName(' a#b\tc '), 'a\\x23b\\x09c');
  });
});

/** The directory of kunit_parser.py (and kunit_printer.py), or why there is none. */
function kunitParser(): { dir: string } | { skip: string } {
  if (spawnSync('python3', ['--version']).status !== 0) return { skip: 'python3 is not installed' };
  const env = process.env.KUNIT_PARSER_DIR;
  if (env) return existsSync(join(env, 'kunit_parser.py')) ? { dir: env } : { skip: `no kunit_parser.py in ${env}` };
  const src = existsSync('/usr/src')
    ? readdirSync('/usr/src')
        .filter((f) => /^linux-source-[\d.]+\.tar\.xz$/.test(f))
        .sort()
    : [];
  const tarball = src.at(-1);
  if (!tarball) {
    return {
      skip: "no kernel source: set KUNIT_PARSER_DIR to a tree's tools/testing/kunit, or apt-get install linux-source-6.12 (as .ci/run does)",
    };
  }
  const dir = join(tmpdir(), `dmadebug-kunit-${tarball.replace(/\.tar\.xz$/, '')}`);
  if (!existsSync(join(dir, 'kunit_parser.py'))) {
    mkdirSync(dir, { recursive: true });
    const x = spawnSync(
      'tar',
      [
        '-xJf',
        join('/usr/src', tarball),
        '-C',
        dir,
        '--strip-components=4',
        '--wildcards',
        '*/tools/testing/kunit/kunit_parser.py',
        '*/tools/testing/kunit/kunit_printer.py',
      ],
      { encoding: 'utf8' },
    );
    if (x.status !== 0) return { skip: `cannot extract kunit_parser.py from ${tarball}: ${x.stderr.trim()}` };
  }
  return { dir };
}

/** Runs kunit_parser.parse_run_tests on a file; the parsed tree as JSON. */
const DRIVER = `
import sys, json
sys.path.insert(0, sys.argv[1])
import kunit_parser
with open(sys.argv[2]) as f:
    test = kunit_parser.parse_run_tests(f.readlines())
def tree(t):
    return {'name': t.name, 'status': t.status.name, 'errors': t.counts.errors, 'sub': [tree(s) for s in t.subtests]}
sys.stdout.write('\\nRESULT ' + json.dumps({'status': test.status.name, 'errors': test.counts.errors, 'failed': test.counts.failed, 'tree': tree(test)}) + '\\n')
`;

interface KunitTree {
  name: string;
  status: string;
  errors: number;
  sub: KunitTree[];
}

const parser = kunitParser();

describe("the kernel's KTAP parser (kunit_parser.py)", { skip: 'skip' in parser ? parser.skip : false }, () => {
  it('reads every golden file without a parse error, with the results dmadebug wrote', () => {
    const dir = (parser as { dir: string }).dir;
    for (const g of goldens) {
      const file = join(GOLDEN, g);
      const r = spawnSync('python3', ['-c', DRIVER, dir, file], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
      assert.ok(line, `${g}: ${r.stdout}`);
      const got = JSON.parse(line.slice(7)) as { status: string; errors: number; tree: KunitTree };
      assert.equal(got.errors, 0, `${g}: kunit_parser found errors:\n${r.stdout}`);
      const ours = readKtap(readFileSync(file, 'utf8'));
      const same = (k: KunitTree, t: KtapTest): void => {
        assert.equal(k.sub.length, t.subtests.length, `${g}: ${t.name}`);
        k.sub.forEach((s, i) => {
          const o = t.subtests[i]!;
          assert.equal(s.name, o.name, g);
          const want = o.directive === 'SKIP' ? 'SKIPPED' : o.ok ? 'SUCCESS' : 'FAILURE';
          assert.equal(s.status, want, `${g}: ${o.name}`);
          same(s, o);
        });
      };
      same(got.tree, ours);
      assert.equal(got.status, ours.ok ? 'SUCCESS' : 'FAILURE', g);
    }
  });
});
