// The command line: dispatches to a command and maps the outcome to an exit
// code (0 clean, 1 errors found, 2 usage, input or output error; a reader
// that closes the output early ends the run quietly: see output.ts). Commands live in
// their own modules; everything else in the engine, parsers and renderers.

import { readFileSync } from 'node:fs';
import { InputError } from '../input/errors.js';
import { runCheck, runDump } from './check.js';
import { completionScript } from './completion.js';
import { COMMAND_NAMES, helpText, isCommand } from './help.js';
import { runLive } from './live.js';
import { parseCommandLine, UsageError } from './options.js';
import { outputFailureStatus, settleStdio, watchStdio } from './output.js';
import { runRecord } from './record.js';
import { runReport } from './report.js';
import { runStats } from './stats.js';

export async function main(argv: string[]): Promise<number> {
  watchStdio();
  let code: number;
  try {
    code = await run(argv);
  } catch (e) {
    code = failureStatus(e);
  }
  return settleStdio(code);
}

/** One line on stderr and exit 2 for usage, input and output errors (nothing for a closed reader). */
function failureStatus(e: unknown): number {
  if (e instanceof UsageError) {
    process.stderr.write(`dmadebug: ${e.message}\nTry 'dmadebug --help'.\n`);
    return 2;
  }
  if (e instanceof InputError) {
    process.stderr.write(`dmadebug: ${e.message}\n`);
    return 2;
  }
  const output = outputFailureStatus(e);
  if (output !== null) return output;
  throw e;
}

async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help') {
    process.stdout.write(helpText());
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-V') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (!isCommand(command)) {
    throw new UsageError(`unknown command '${command}' (commands: ${COMMAND_NAMES.join(', ')})`);
  }
  const { values, positionals } = parseCommandLine(command, rest);
  if (values.help) {
    process.stdout.write(helpText(command));
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  switch (command) {
    case 'check':
      return runCheck(values, positionals);
    case 'dump':
      return runDump(values, positionals);
    case 'stats':
      return runStats(values, positionals);
    case 'live':
      return runLive(values, positionals);
    case 'record':
      return runRecord(values, positionals);
    case 'report':
      return runReport(values, positionals, version());
    case 'completion':
      return runCompletion(positionals);
    case 'help':
      return runHelp(positionals);
  }
}

/** `dmadebug help [CMD]`: the page of CMD, or of all. */
function runHelp(positionals: string[]): number {
  const [cmd, extra] = positionals;
  if (extra !== undefined) throw new UsageError('help takes one command');
  if (cmd !== undefined && !isCommand(cmd)) {
    throw new UsageError(`help: no command '${cmd}' (commands: ${COMMAND_NAMES.join(', ')})`);
  }
  process.stdout.write(helpText(cmd));
  return 0;
}

/** `dmadebug completion bash|zsh`: the script on stdout. */
function runCompletion(positionals: string[]): number {
  const [shell, extra] = positionals;
  if (shell === undefined || extra !== undefined || (shell !== 'bash' && shell !== 'zsh')) {
    throw new UsageError(
      `completion takes bash or zsh${shell === undefined ? '' : `, not '${positionals.join(' ')}'`}`,
    );
  }
  process.stdout.write(completionScript(shell));
  return 0;
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    return `dmadebug ${pkg.version}`;
  } catch {
    return 'dmadebug';
  }
}
