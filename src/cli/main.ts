// The command line: dispatches to a command and maps the outcome to an exit
// code (0 clean, 1 errors found, 2 usage, input or output error; a reader
// that closes the output early ends the run quietly: see output.ts). Commands live in
// their own modules; everything else in the engine, parsers and renderers.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { InputError } from '../input/errors.js';
import { runCheck, runDump } from './check.js';
import { helpText } from './help.js';
import { runLive } from './live.js';
import { OPTIONS, UsageError, type Values } from './options.js';
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
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(helpText());
    return command === undefined ? 2 : 0;
  }
  if (command === '--version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, options: OPTIONS, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0] ?? 'bad arguments');
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(helpText(command));
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
    default:
      throw new UsageError(`unknown command '${command}' (commands: check, dump, stats, live, record, report)`);
  }
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
