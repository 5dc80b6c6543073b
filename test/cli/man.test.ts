// The man page and --help come from the same tables (help.ts) and cannot
// drift: every command and every option is in both, and the page renders
// with man(1) without warnings. Also: parseArgs's declarations (options.ts)
// and help.ts's rows agree on every option's names and whether it takes a value.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { COMMAND_NAMES, commandSpecs, optionSpecs } from '../../src/cli/help.js';
import { manPage, roffText } from '../../src/cli/man.js';
import { OPTIONS } from '../../src/cli/options.js';
import { runDmadebug } from '../helpers/child.js';

const tmp = mkdtempSync(join(tmpdir(), 'dmadebug-man-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const haveMan = spawnSync('man', ['--version'], { encoding: 'utf8' }).status === 0;

/** The page as man(1) shows it, plain text (no pager, no bold), and what groff said on stderr. */
function render(page: string): { text: string; err: string } {
  const file = join(tmp, 'dmadebug.1');
  writeFileSync(file, page);
  const r = spawnSync('man', ['--warnings', '-l', file], {
    encoding: 'utf8',
    env: { ...process.env, MANWIDTH: '100', MAN_KEEP_FORMATTING: '', LC_ALL: 'C.UTF-8', MANPAGER: 'cat', PAGER: 'cat' },
  });
  assert.equal(r.status, 0, r.stderr);
  return { text: r.stdout.replace(/.\x08/g, ''), err: r.stderr };
}

/** Words as the help prints them and as man renders them: runs of space joined. */
const squeeze = (s: string) => s.replace(/\s+/g, ' ');

describe('one source for --help, the man page and the parser', () => {
  it("options.ts's declarations and help.ts's rows agree (names, short letters, takes a value)", () => {
    const specs = optionSpecs();
    const declared = new Map(Object.entries(OPTIONS));
    const seen = new Set<string>();
    for (const o of specs) {
      for (const f of o.names) {
        if (f.name.startsWith('--')) {
          const key = f.name.slice(2);
          const d = declared.get(key);
          assert.ok(d, `${f.name} is in help.ts but not in options.ts`);
          assert.equal(d.type === 'string', f.arg !== undefined, `${f.name}: value or flag`);
          seen.add(key);
        } else {
          const key = [...declared].find(([, d]) => 'short' in d && d.short === f.name.slice(1))?.[0];
          assert.ok(key, `${f.name} is in help.ts but no option of options.ts has it as its short name`);
          assert.ok(
            o.names.some((n) => n.name === `--${key}`),
            `${f.name} and --${key} are one option: one row in help.ts`,
          );
        }
      }
    }
    for (const key of declared.keys()) assert.ok(seen.has(key), `--${key} is declared but has no row in help.ts`);
  });

  it('every command and every option of the tables is in --help and in the rendered man page', {
    skip: !haveMan && 'man(1) is not installed (Debian: apt install man-db)',
  }, () => {
    const help = runDmadebug(['--help']).out;
    const { text: man, err } = render(manPage('0.0.0-test'));
    assert.equal(err, '', 'groff and man say nothing about the page');
    for (const c of commandSpecs()) {
      assert.match(help, new RegExp(`^ {4}${c.name}\\b`, 'm'), `--help lists ${c.name}`);
      assert.match(man, new RegExp(`^ {7}${c.name}\\b`, 'm'), `the man page lists ${c.name}`);
      assert.ok(man.includes(c.synopsis.replace(/ {2,}/g, ' ')), `synopsis of ${c.name}`);
      assert.ok(squeeze(man).includes(squeeze(c.text)), `the man page says what --help says of ${c.name}`);
    }
    for (const o of optionSpecs()) {
      if (o.hidden) {
        for (const f of o.names) assert.ok(!help.includes(f.name) && !man.includes(f.name), `${f.name} is hidden`);
        continue;
      }
      assert.match(help, new RegExp(`^ {4}${o.flags.replace(/[[\]]/g, '\\$&')}(\\s|$)`, 'm'), `--help: ${o.flags}`);
      assert.match(man, new RegExp(`^ {7}${o.flags.replace(/[[\]]/g, '\\$&')}(\\s|$)`, 'm'), `man: ${o.flags}`);
      assert.ok(squeeze(man).includes(squeeze(o.text)), `the man page's text of ${o.flags}`);
      assert.ok(squeeze(help).includes(squeeze(o.text)), `the help's text of ${o.flags}`);
    }
    for (const section of [
      'NAME',
      'SYNOPSIS',
      'DESCRIPTION',
      'COMMANDS',
      'OPTIONS',
      'OUTPUT',
      'EXIT STATUS',
      'EXAMPLES',
    ]) {
      assert.match(help, new RegExp(`^${section}$`, 'm'), section);
      assert.match(man, new RegExp(`^${section}$`, 'm'), section);
    }
  });

  it('each command page lists the options tagged with it, and only those', () => {
    const visible = optionSpecs().filter((s) => !s.hidden);
    for (const c of COMMAND_NAMES) {
      const page = runDmadebug(['help', c]).out.split('\n');
      for (const flags of new Set(visible.map((o) => o.flags))) {
        // A flag may have a row per group of commands (--iomem: the engine's, record's).
        const tagged = visible.some((o) => o.flags === flags && o.commands.includes(c));
        const listed = page.some((l) => l === `    ${flags}` || l.startsWith(`    ${flags} `));
        assert.equal(listed, tagged, `${c}: ${flags}`);
      }
    }
  });

  it('the built page in dist/man is the one the tables give', () => {
    const built = 'dist/man/dmadebug.1';
    assert.ok(existsSync(built), 'npm run build writes dist/man/dmadebug.1');
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    assert.equal(readFileSync(built, 'utf8'), manPage(version));
  });
});

describe('roff', () => {
  it('escapes hyphens and backslashes, guards control characters at a line start', () => {
    const r = roffText("    --json and a\\b\n    'quoted' start\n    .dot start");
    assert.equal(r, "\\-\\-json and a\\eb\n\\&'quoted' start\n\\&.dot start");
  });

  it('keeps indented and column lines as they are, fills prose, a blank line is a new paragraph', () => {
    const r = roffText('    Prose one\n    continues.\n        verbatim  line\n    0  column\n\n    Next.');
    assert.equal(r, 'Prose one\ncontinues.\n.RS 4\n.nf\nverbatim  line\n0  column\n.fi\n.RE\n.PP\nNext.');
  });
});
