// The completion scripts as shells load them: bash sources the script and
// _dmadebug is driven through COMP_WORDS/COMP_CWORD as readline would; zsh
// checks the syntax and registers the function (skipped without zsh).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { COMMAND_NAMES } from '../../src/cli/help.js';
import { runDmadebug } from '../helpers/child.js';

const tmp = mkdtempSync(join(tmpdir(), 'dmadebug-completion-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const have = (shell: string) => spawnSync(shell, ['-c', 'exit 0']).status === 0;

/** A folder to complete in: two traces, a folder, another file. */
const cwd = join(tmp, 'work');
mkdirSync(join(cwd, 'traces'), { recursive: true });
writeFileSync(join(cwd, 'run.txt'), '');
writeFileSync(join(cwd, 'run.dat'), '');
writeFileSync(join(cwd, 'notes.md'), '');

describe('bash', () => {
  const script = join(tmp, 'dmadebug.bash');
  const printed = runDmadebug(['completion', 'bash']);
  writeFileSync(script, printed.out);

  /** COMPREPLY for the words typed so far (the last one is being completed), sorted. */
  function complete(...words: string[]): string[] {
    const prog = `source '${script}'
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')})
COMP_CWORD=${words.length - 1}
_dmadebug
printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = spawnSync('bash', ['--norc', '--noprofile', '-c', prog], { cwd, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', words.join(' '));
    return r.stdout
      .split('\n')
      .filter((l) => l !== '')
      .sort();
  }

  it('prints a script that registers _dmadebug for dmadebug', () => {
    assert.equal(printed.code, 0);
    const r = spawnSync('bash', ['--norc', '--noprofile', '-c', `source '${script}' && complete -p dmadebug`], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'complete -F _dmadebug dmadebug\n');
  });

  it('completes commands, then each command its own options', () => {
    assert.deepEqual(complete('dmadebug', ''), [...COMMAND_NAMES, '--help', '--version'].sort());
    assert.deepEqual(complete('dmadebug', 're'), ['record', 'report']);
    assert.deepEqual(complete('dmadebug', 'check', '--no-'), ['--no-color', '--no-side']);
    assert.deepEqual(complete('dmadebug', 'live', '--s'), ['--seg-boundary', '--stacktrace']);
    assert.deepEqual(complete('dmadebug', 'record', '--s'), ['--stacktrace', '--sysfs']);
    assert.deepEqual(complete('dmadebug', 'stats', '--c'), []);
    assert.ok(complete('dmadebug', 'check', '-').includes('-i'));
    assert.ok(!complete('dmadebug', 'live', '-').includes('-i'));
  });

  it('the values of enumerated options, after a space or after =', () => {
    assert.deepEqual(complete('dmadebug', 'check', '--kernel', ''), ['6.12', '7.3']);
    assert.deepEqual(complete('dmadebug', 'check', '--arch', '='), ['arm64', 'x86_64']);
    assert.deepEqual(complete('dmadebug', 'check', '--arch', '=', 'a'), ['arm64']);
    assert.deepEqual(complete('dmadebug', 'check', '--color', '=', ''), ['always', 'auto', 'never']);
    assert.deepEqual(complete('dmadebug', 'live', '--color', '=', 'n'), ['never']);
    // --color's value must follow '=': the next word is an input.
    assert.deepEqual(complete('dmadebug', 'check', '--color', 'run.'), ['run.dat', 'run.txt']);
  });

  it('file names for traces and FILE, directories for DIR and live, nothing for free values', () => {
    assert.deepEqual(complete('dmadebug', 'check', 'run'), ['run.dat', 'run.txt']);
    assert.deepEqual(complete('dmadebug', 'check', '-i', 'r'), ['run.dat', 'run.txt']);
    assert.deepEqual(complete('dmadebug', 'report', 'run.txt', '-o', 'n'), ['notes.md']);
    assert.deepEqual(complete('dmadebug', 'live', ''), ['traces']);
    assert.deepEqual(complete('dmadebug', 'record', '--tracefs', 't'), ['traces']);
    assert.deepEqual(complete('dmadebug', 'check', '--num-errors', ''), []);
    assert.deepEqual(complete('dmadebug', 'completion', ''), ['bash', 'zsh']);
    assert.deepEqual(complete('dmadebug', 'help', 'c'), ['check', 'completion']);
  });

  it('record: after --, the command to run and then its files', () => {
    assert.ok(complete('dmadebug', 'record', '-o', 'x', '--', 'bas').includes('bash'));
    assert.deepEqual(complete('dmadebug', 'record', '--', 'sh', 'no'), ['notes.md']);
  });
});

describe('zsh', { skip: !have('zsh') && 'zsh is not installed (Debian: apt install zsh)' }, () => {
  const script = join(tmp, '_dmadebug');
  writeFileSync(script, runDmadebug(['completion', 'zsh']).out);

  it('parses (zsh -n) and starts with #compdef', () => {
    assert.match(readFileSync(script, 'utf8'), /^#compdef dmadebug\n/);
    const r = spawnSync('zsh', ['-n', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  it('registers _dmadebug, sourced or autoloaded from $fpath', () => {
    const sourced = spawnSync(
      'zsh',
      ['-f', '-c', `autoload -Uz compinit && compinit -u -D && source '${script}' && print -r -- $_comps[dmadebug]`],
      { encoding: 'utf8' },
    );
    assert.equal(sourced.stdout, '_dmadebug\n', sourced.stderr);
    const autoloaded = spawnSync(
      'zsh',
      ['-f', '-c', `fpath=('${tmp}' $fpath); autoload -Uz compinit && compinit -u -D && print -r -- $_comps[dmadebug]`],
      { encoding: 'utf8' },
    );
    assert.equal(autoloaded.stdout, '_dmadebug\n', autoloaded.stderr);
  });
});

describe('dmadebug completion', () => {
  it('takes bash or zsh and nothing else', () => {
    for (const args of [['completion'], ['completion', 'fish'], ['completion', 'bash', 'zsh']]) {
      const r = runDmadebug(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.out, '');
      assert.match(r.err, /^dmadebug: completion takes bash or zsh/);
    }
  });

  it('the scripts in dist/completions are the ones the command prints', () => {
    assert.equal(readFileSync('dist/completions/dmadebug.bash', 'utf8'), runDmadebug(['completion', 'bash']).out);
    assert.equal(readFileSync('dist/completions/_dmadebug', 'utf8'), runDmadebug(['completion', 'zsh']).out);
  });
});
