// GitHub workflow commands (src/report/github.ts): one command per line, the
// levels (::error for what fails, ::warning unconfirmed, ::notice info), the
// properties (file, line for text traces only, title) and GitHub's escaping,
// read back the way the runner reads them (split at the first `::` after the
// properties, properties at `,` and the first `=`, then %-decoding).

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InputError } from '../../src/input/errors.js';
import { findingText } from '../../src/report/format.js';
import { escapeData, escapeProperty } from '../../src/report/github.js';
import { finding, render, summaryData } from '../helpers/format-data.js';

interface Command {
  level: string;
  props: Record<string, string>;
  message: string;
}

const decode = (s: string) =>
  s
    .replaceAll('%0D', '\r')
    .replaceAll('%0A', '\n')
    .replaceAll('%3A', ':')
    .replaceAll('%2C', ',')
    .replaceAll('%25', '%');

/** Every line of `out` as a workflow command. */
function commands(out: string): Command[] {
  assert.ok(out === '' || out.endsWith('\n'));
  return out
    .split('\n')
    .slice(0, -1)
    .map((line) => {
      const m = /^::(error|warning|notice)(?: ([^:]*))?::(.*)$/.exec(line);
      assert.ok(m, `a workflow command: ${line}`);
      const props: Record<string, string> = {};
      for (const kv of (m[2] ?? '').split(',').filter((x) => x !== '')) {
        const i = kv.indexOf('=');
        props[kv.slice(0, i)] = decode(kv.slice(i + 1));
      }
      assert.doesNotMatch(m[3]!, /[\r\n]/);
      return { level: m[1]!, props, message: decode(m[3]!) };
    });
}

describe('GitHub workflow commands', () => {
  it("escape as GitHub's toolkit does", () => {
    assert.equal(escapeData('50% a\r\nb: c, d'), '50%25 a%0D%0Ab: c, d');
    assert.equal(escapeProperty('50% a\r\nb: c, d'), '50%25 a%0D%0Ab%3A c%2C d');
  });

  it('levels, properties and the finding as the message', () => {
    const err = finding();
    const unconfirmed = finding({ check: 'sync-not-mapped', severity: 'unconfirmed', note: 'lost events' });
    const info = finding({ check: 'map-failed', severity: 'info', mapping: null });
    const fp = finding({ check: 'unmap-attrs-mismatch', severity: 'info', kernelFalsePositive: 'a twin' });
    const cmds = commands(render('github', [{ label: 'dir,x/a:b.txt', findings: [err, unconfirmed, info, fp] }]));
    assert.deepEqual(
      cmds.map((c) => c.level),
      ['error', 'warning', 'notice', 'notice', 'notice'],
    );
    assert.deepEqual(cmds[0]!.props, { file: 'dir,x/a:b.txt', line: '12', title: 'dmadebug: unmap-size-mismatch' });
    assert.equal(cmds[0]!.message, findingText(err, 'dir,x/a:b.txt').trimEnd());
    assert.equal(cmds[3]!.props.title, 'dmadebug: unmap-attrs-mismatch (kernel false positive)');
    // the last notice is the summary
    assert.deepEqual(cmds[4]!.props, { title: 'dmadebug: dir,x/a:b.txt' });
    assert.match(cmds[4]!.message, /^dmadebug: no errors, 0 unconfirmed/);
  });

  it('a trace.dat has no lines, stdin no file; --fail-on unconfirmed makes an unconfirmed finding an ::error', () => {
    const f = finding({ severity: 'unconfirmed', check: 'sync-not-mapped' });
    const dat = commands(
      render('github', [{ label: 't.dat', kind: 'tracedat', findings: [f] }], { failOn: 'unconfirmed' }),
    );
    assert.equal(dat[0]!.level, 'error');
    assert.deepEqual(dat[0]!.props, { file: 't.dat', title: 'dmadebug: sync-not-mapped' });
    const stdin = commands(render('github', [{ label: '<stdin>', findings: [f] }]));
    assert.equal(stdin[0]!.level, 'warning');
    assert.deepEqual(stdin[0]!.props, { title: 'dmadebug: sync-not-mapped' });
  });

  it('--min-severity error: no warnings or notices for findings; the summary notice says what was hidden', () => {
    const findings = [finding({ severity: 'unconfirmed' }), finding({ severity: 'info', check: 'map-failed' })];
    const cmds = commands(render('github', [{ label: 'a.txt', findings }], { minSeverity: 'error' }));
    assert.equal(cmds.length, 1);
    assert.match(
      cmds[0]!.message,
      /\n {2}hidden by --min-severity error: 1 unconfirmed, 1 info \(counted above, not printed\)\n/,
    );
  });

  it('an input that cannot be read is an ::error naming it, with no summary of nothing', () => {
    const err = new InputError('b.dat', 'byte 0', 'the input is empty');
    const cmds = commands(render('github', [{ label: 'b.dat', summary: summaryData({ events: 0 }), error: err }]));
    assert.deepEqual(cmds, [
      {
        level: 'error',
        props: { file: 'b.dat', title: 'dmadebug: the input could not be read' },
        message: 'b.dat: byte 0: the input is empty',
      },
    ]);
  });

  it('the golden files are workflow commands, one per line', () => {
    const dir = join(process.cwd(), 'test', 'golden', 'github');
    const files = existsSync(dir) ? readdirSync(dir) : [];
    assert.ok(files.length >= 9);
    for (const f of files) {
      const cmds = commands(readFileSync(join(dir, f), 'utf8'));
      assert.ok(cmds.length > 0, f);
    }
    const two = commands(readFileSync(join(dir, 'errors-6.12-stack.github'), 'utf8'));
    assert.equal(two[0]!.level, 'error');
    assert.equal(two[0]!.props.file, 'kernel-6.12/bug-unmap-size-stack/trace.txt');
    assert.match(two[0]!.message, /\n {3}=> dma_map_page_attrs/);
  });
});
