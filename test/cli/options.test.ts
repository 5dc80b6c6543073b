// Reading the command line: which options each command takes (help.ts's tags),
// -i/--input FILE in order, --color[=WHEN], numbers checked naming the option,
// `help CMD`, -V; every refusal one line on stderr and status 2.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMAND_NAMES, type Command, optionSpecs } from '../../src/cli/help.js';
import { colorMode, OPTIONS, optionCommands, parseCommandLine, UsageError } from '../../src/cli/options.js';
import { runDmadebug } from '../helpers/child.js';
import { kernelFixtures } from '../helpers/fixtures.js';

const TRACE = `${kernelFixtures('7.3')}/bug-unmap-size/trace.txt`;

function refused(command: Command, args: string[], message: RegExp): void {
  assert.throws(
    () => parseCommandLine(command, args),
    (e: unknown) => {
      assert.ok(e instanceof UsageError, String(e));
      assert.match(e.message, message);
      return true;
    },
  );
}

describe('options per command, from help.ts', () => {
  it('every declared option is tagged with its commands, and only known commands', () => {
    const tags = optionCommands();
    for (const key of Object.keys(OPTIONS)) assert.ok(tags.has(key), `--${key} has no row in help.ts`);
    for (const [key, cs] of tags) {
      assert.ok(key in OPTIONS, key);
      for (const c of cs) assert.ok(COMMAND_NAMES.includes(c), `${key}: ${c}`);
    }
  });

  it('an option of other commands is refused, naming it, the command and where it belongs', () => {
    refused(
      'check',
      ['--stacktrace', 'x'],
      /^--stacktrace does not apply to 'check' \(it is an option of live, record\)$/,
    );
    refused('record', ['-i', 'x'], /^-i does not apply to 'record'/);
    refused('dump', ['--color=always', 'x'], /^--color does not apply to 'dump' \(it is an option of check, live\)$/);
    refused('live', ['--no-side'], /^--no-side does not apply to 'live'/);
    refused('completion', ['-o', 'x', 'bash'], /^-o does not apply to 'completion'/);
  });

  it('each command accepts every option help.ts gives it', () => {
    const sample: Record<string, string> = {
      N: '3',
      BYTES: '65536',
      SECONDS: '1',
      'DEV=DRIVER': 'd=x',
      'DEV=N': 'd=4096',
      'DEV=MASK': 'd=0xfff',
      VER: '7.3',
      ARCH: 'arm64',
      WHEN: 'never',
    };
    for (const o of optionSpecs()) {
      for (const f of o.names) {
        for (const c of o.commands) {
          const arg = f.arg === undefined ? [] : [f.optional ? `${f.name}=${sample[f.arg]}` : f.name];
          if (f.arg !== undefined && !f.optional) arg.push(sample[f.arg] ?? 'value');
          assert.doesNotThrow(() => parseCommandLine(c, arg), `${c} ${arg.join(' ')}`);
        }
      }
    }
  });

  it('an unknown option names itself and where the options are listed', () => {
    refused('check', ['--bogus'], /^unknown option '--bogus' \('dmadebug help check' lists the options of check\)$/);
    refused('stats', ['-x'], /^unknown option '-x'/);
  });
});

describe('inputs', () => {
  it('-i FILE and --input FILE are inputs, in the order given among the plain ones', () => {
    assert.deepEqual(parseCommandLine('check', ['a', '-i', 'b', 'c', '--input=d', '-ie']).positionals, [
      'a',
      'b',
      'c',
      'd',
      'e',
    ]);
    assert.deepEqual(parseCommandLine('dump', ['-i', '-']).positionals, ['-']);
  });

  it('record keeps the words after -- for the command, options and all', () => {
    const r = parseCommandLine('record', ['-o', 'out.txt', '--', 'sh', '-c', 'exit 3', '--color', '-1']);
    assert.deepEqual(r.positionals, ['sh', '-c', 'exit 3', '--color', '-1']);
    assert.equal(r.values.output, 'out.txt');
  });

  it('check -i TRACE runs as check TRACE does', () => {
    const a = runDmadebug(['check', '-i', TRACE]);
    const b = runDmadebug(['check', TRACE]);
    assert.equal(a.code, 1, a.err);
    assert.equal(a.out, b.out);
    assert.match(a.out, /^DMA-API: pci 0000:00:02\.0: device driver frees DMA memory with different size/);
  });
});

describe('--color[=WHEN]', () => {
  const mode = (args: string[]) => colorMode(parseCommandLine('check', [...args, 'x']).values);

  it('auto by default; --color alone is always; --no-color never; the last one wins', () => {
    assert.equal(mode([]), 'auto');
    assert.equal(mode(['--color']), 'always');
    assert.equal(mode(['--color=always']), 'always');
    assert.equal(mode(['--color=never']), 'never');
    assert.equal(mode(['--color=auto']), 'auto');
    assert.equal(mode(['--no-color']), 'never');
    assert.equal(mode(['--color', '--no-color']), 'never');
    assert.equal(mode(['--no-color', '--color=always']), 'always');
  });

  it('a value follows = (as for GNU ls): --color never leaves never an input', () => {
    const r = parseCommandLine('check', ['--color', 'never']);
    assert.equal(colorMode(r.values), 'always');
    assert.deepEqual(r.positionals, ['never']);
  });

  it('another WHEN is refused, naming the values', () => {
    refused('check', ['--color=sometimes'], /^--color takes auto, always or never, not 'sometimes'$/);
    refused('live', ['--color='], /^--color takes auto, always or never, not ''$/);
  });

  it('--color=always colours findings on a pipe, whatever NO_COLOR says', () => {
    const r = runDmadebug(['check', '-q', '--color=always', TRACE]);
    assert.match(r.out, /\x1b\[/);
    assert.doesNotMatch(runDmadebug(['check', '-q', '--color=never', TRACE]).out, /\x1b\[/);
  });
});

describe('numbers', () => {
  it('negative, fractional, malformed and huge numbers are refused naming the option', () => {
    const cases: Array<[Command, string[], RegExp]> = [
      ['check', ['--num-errors', '-1'], /^--num-errors takes a whole number, not '-1'$/],
      ['check', ['--num-errors=-1'], /^--num-errors takes a whole number, not '-1'$/],
      ['check', ['--num-errors', '1.5'], /^--num-errors takes a whole number, not '1\.5'$/],
      ['check', ['--num-errors', '0x10'], /^--num-errors takes a whole number, not '0x10'$/],
      ['check', ['--num-errors', ''], /^--num-errors takes a whole number, not ''$/],
      ['dump', ['--entries', '-5'], /^--entries takes a whole number, not '-5'$/],
      ['dump', ['--entries', '0'], /^--entries must be at least 1, not '0'$/],
      ['stats', ['--entries', '99999999999999999999'], /^--entries takes a whole number below 2\^53/],
      ['report', ['--chunk-size', '-.5'], /^--chunk-size takes a whole number, not '-\.5'$/],
      ['report', ['--chunk-size', '1e6'], /^--chunk-size takes a whole number, not '1e6'$/],
      ['live', ['--duration', '-3'], /^--duration takes seconds \(e\.g\. 10 or 0\.5\), not '-3'$/],
      ['live', ['--duration', '0'], /^--duration takes seconds/],
      ['live', ['--duration', '1e3'], /^--duration takes seconds/],
      ['live', ['--duration', 'Infinity'], /^--duration takes seconds/],
      ['live', ['--duration', '99999999'], /^--duration takes seconds/],
    ];
    for (const [c, args, message] of cases) refused(c, args, message);
  });

  it('good numbers pass: 0 errors, decimal seconds', () => {
    assert.equal(parseCommandLine('check', ['--num-errors', '0']).values['num-errors'], '0');
    assert.equal(parseCommandLine('live', ['--duration', '0.5']).values.duration, '0.5');
  });

  it('--max-seg-size and --seg-boundary: decimal or 0x, within the kernel types, named when wrong', () => {
    for (const [args, message] of [
      [['--max-seg-size', 'd=-1'], /^--max-seg-size takes DEV=BYTES, 1 to 4294967295 \(or 0x\.\.\.\), not 'd=-1'$/],
      [['--max-seg-size', 'd=1e3'], /^--max-seg-size takes DEV=BYTES/],
      [['--max-seg-size', 'd=0'], /^--max-seg-size takes DEV=BYTES/],
      [['--max-seg-size', 'd=4294967296'], /^--max-seg-size takes DEV=BYTES/],
      [['--seg-boundary', 'd=-1'], /^--seg-boundary takes DEV=MASK, e\.g\. 0xfff \(at most 64 bits\), not 'd=-1'$/],
      [['--seg-boundary', 'd=0x1ffffffffffffffff'], /^--seg-boundary takes DEV=MASK/],
      [['--seg-boundary', 'd=fff'], /^--seg-boundary takes DEV=MASK/],
    ] as Array<[string[], RegExp]>) {
      const r = runDmadebug(['check', ...args, TRACE]);
      // stderr in the message: a child that failed otherwise (once seen under load: exit 1) says why
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err.split('\n')[0]?.replace(/^dmadebug: /, '') ?? '', message);
    }
    const ok = runDmadebug([
      'check',
      '-q',
      '--max-seg-size',
      '0000:00:02.0=0x10000',
      '--seg-boundary',
      '0000:00:02.0=0xffffffff',
      TRACE,
    ]);
    assert.equal(ok.code, 1, ok.err);
  });

  it('a missing value and a value given to a flag say so', () => {
    refused('check', ['--driver'], /^--driver needs a value$/);
    refused(
      'check',
      ['--driver', '--json'],
      /^--driver needs a value \(one that starts with '-' is written --driver=VALUE\)$/,
    );
    refused('check', ['--json=yes'], /^--json takes no value$/);
  });
});

describe('help, version, unknown commands', () => {
  it('help CMD is the page of CMD; help alone the main page; help of no such command is refused', () => {
    for (const c of COMMAND_NAMES) {
      const r = runDmadebug(['help', c]);
      assert.equal(r.code, 0, c);
      assert.equal(r.out, runDmadebug([c, '--help']).out, c);
      assert.match(r.out, new RegExp(`^NAME\n    dmadebug ${c} - `));
    }
    assert.equal(runDmadebug(['help']).out, runDmadebug(['--help']).out);
    const bad = runDmadebug(['help', 'frobnicate']);
    assert.equal(bad.code, 2);
    assert.match(
      bad.err,
      /^dmadebug: help: no command 'frobnicate' \(commands: check, dump, stats, live, record, report, completion, help\)\n/,
    );
  });

  it('-V and --version, alone or after a command, print the version', () => {
    const { version } = JSON.parse(
      runDmadebug(['--version'])
        .out.replace(/^dmadebug /, '{"version":"')
        .replace(/\n$/, '"}'),
    );
    for (const args of [['--version'], ['-V'], ['check', '--version'], ['stats', '-V']]) {
      const r = runDmadebug(args);
      assert.equal(r.code, 0, args.join(' '));
      assert.equal(r.out, `dmadebug ${version}\n`, args.join(' '));
    }
  });

  it('every refusal is one line and a pointer to the help, status 2, no stack', () => {
    for (const args of [
      ['check', '--stacktrace', TRACE],
      ['check', '--entries', '-1', TRACE],
      ['help', 'x'],
      ['completion', 'fish'],
      ['frob'],
    ]) {
      const r = runDmadebug(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.out, '');
      assert.match(r.err, /^dmadebug: [^\n]+\nTry 'dmadebug --help'\.\n$/, args.join(' '));
    }
  });
});
